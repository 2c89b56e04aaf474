//! Spanned trait-bound assertions: a type that cannot travel in a message, a reply that
//! is not `Send`, an error that is not `Display` — each reported at the user's type.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::spanned::Spanned;
use syn::Type;

use crate::model::{Actor, Ret};
use crate::parse::Kind;

/// One `const _` holding every assertion.
pub fn assertions(actor: &Actor) -> TokenStream {
    let krate = &actor.krate;
    let mut out = Vec::new();
    let mut check = |helper: &str, ty: &Type| {
        let helper = syn::Ident::new(helper, ty.span());
        out.push(quote_spanned! {ty.span()=>
            let _ = #krate::__private::#helper::<#ty>;
        });
    };
    for h in &actor.handlers {
        let travel = if h.local {
            "assert_local"
        } else {
            "assert_message"
        };
        match h.kind {
            Kind::Call => {
                for p in h.values() {
                    check(travel, &p.ty);
                }
                match (h.reply_token(), &h.ret) {
                    (Some(t), _) => check(
                        if h.local {
                            "assert_local"
                        } else {
                            "assert_reply"
                        },
                        t,
                    ),
                    (None, Ret::Value(t) | Ret::Result { whole: t, .. }) => check(
                        if h.local {
                            "assert_local"
                        } else {
                            "assert_reply"
                        },
                        t,
                    ),
                    _ => {}
                }
            }
            Kind::Cast | Kind::Info => {
                if h.signal().is_none() {
                    for p in h.values() {
                        check(travel, &p.ty);
                    }
                }
                if let Ret::Result { err, .. } = &h.ret {
                    check("assert_display", err);
                }
            }
            Kind::Init => {
                for p in h.values() {
                    check("assert_init_arg", &p.ty);
                }
                if let Ret::Result { err, .. } = &h.ret {
                    check("assert_display", err);
                }
            }
            Kind::Terminate => {}
        }
    }
    if out.is_empty() {
        return TokenStream::new();
    }
    quote_spanned! {proc_macro2::Span::call_site()=>
        const _: () = { #(#out)* };
    }
}
