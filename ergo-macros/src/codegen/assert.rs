//! Spanned trait-bound assertions: an argument that is not `Send + 'static` is reported
//! at the user's type. Other bounds are checked at the user's type where they are used:
//! serializability by the enums' serde field attributes, a reply that is not `Send` by
//! the spanned `send_reply` call, an error type that is not `Display` by the spanned
//! `Reason::error` path.

use proc_macro2::TokenStream;
use quote::quote_spanned;
use syn::spanned::Spanned;
use syn::Type;

use crate::model::Actor;
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
        let checked = match h.kind {
            Kind::Call | Kind::Init => true,
            Kind::Cast | Kind::Info => h.signal().is_none(),
            Kind::Terminate => false,
        };
        if checked {
            for p in h.values() {
                check("assert_sendable", &p.ty);
            }
        }
    }
    if out.is_empty() {
        return TokenStream::new();
    }
    quote_spanned! {proc_macro2::Span::call_site()=>
        const _: () = { #(#out)* };
    }
}
