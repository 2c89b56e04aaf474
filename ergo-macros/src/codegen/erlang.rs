//! Erlang term conversions of an actor's messages, by convention: `call_from_any` and
//! `reply_into_any` for gen_server calls, and the cast / info part of
//! `message_from_any`.
//!
//! A term reaches handler `name` when it is the atom `name` or the tuple `{name}` (no
//! arguments) or `{name, A1, .., An}` (n arguments, each read with `FromTerm`). A
//! handler whose only argument is a `Term` takes, whole, any term no other handler of
//! its kind took. Argument and reply types without `FromTerm` / `IntoTerm` compile and
//! are simply unreachable from Erlang (autoref-specialized probes).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{type_ident, Actor, Handler};
use crate::parse::Kind;

/// True for a handler taking a single `Term`: the catch-all of its kind.
fn is_catch_all(h: &Handler) -> bool {
    let mut values = h.values();
    match (values.next(), values.next()) {
        (Some(p), None) => {
            type_ident(&p.ty).is_some_and(|i| i == "Term")
                && crate::model::last_segment(&p.ty).is_some_and(|s| s.arguments.is_none())
        }
        _ => false,
    }
}

fn reachable(h: &Handler) -> bool {
    !h.local
}

/// `return Ok(#enum_::V(..))` when `term` has the shape of handler `h`.
fn typed_arm(actor: &Actor, h: &Handler, enum_: &syn::Ident, term: &TokenStream) -> TokenStream {
    let e = erl(actor);
    let v = &h.variant;
    let name = h.name().to_string();
    let tys: Vec<&syn::Type> = h.values().map(|p| &p.ty).collect();
    let n = tys.len();
    if n == 0 {
        return quote! {
            if #e::match_message(#term, #name, 0).is_some() {
                return ::core::result::Result::Ok(#enum_::#v);
            }
        };
    }
    let names: Vec<syn::Ident> = (0..n).map(|i| format_ident!("__e{}", i)).collect();
    let idx = 0..n;
    quote! {
        if let ::core::option::Option::Some(__args) = #e::match_message(#term, #name, #n) {
            if let (#(::core::option::Option::Some(#names),)*) =
                (#((&&#e::FromProbe::<#tys>::NEW).read_term_probe(&__args[#idx]),)*)
            {
                return ::core::result::Result::Ok(#enum_::#v(#(#names),*));
            }
        }
    }
}

fn erl(actor: &Actor) -> TokenStream {
    let krate = &actor.krate;
    quote!(#krate::__private::erlang)
}

/// `call_from_any` and `reply_into_any` for the `Actor` impl.
pub fn call_items(actor: &Actor) -> TokenStream {
    let e = erl(actor);
    let krate = &actor.krate;
    let call = actor.item("Call");
    let reply = actor.item("Reply");
    let calls: Vec<&Handler> = actor.of(Kind::Call).filter(|h| reachable(h)).collect();
    let term = quote!(&*__term);
    let arms = calls
        .iter()
        .filter(|h| !is_catch_all(h))
        .map(|h| typed_arm(actor, h, &call, &term));
    let catch_all = calls.iter().find(|h| is_catch_all(h)).map(|h| {
        let v = &h.variant;
        quote!(return ::core::result::Result::Ok(#call::#v(*__term));)
    });
    let reply_arms = actor.of(Kind::Call).map(|h| {
        let v = &h.variant;
        if h.local {
            return quote!(#reply::#v(__v) => #reply::#v(__v),);
        }
        let ty = h.reply_variant_type();
        quote! {
            #reply::#v(__v) => match (&&#e::IntoProbe::<#ty>::NEW).write_term_probe(__v) {
                ::core::result::Result::Ok(__t) => return ::std::boxed::Box::new(__t),
                ::core::result::Result::Err(__v) => #reply::#v(__v),
            },
        }
    });
    quote! {
        #[allow(unreachable_code, unused_imports, unused_variables)]
        fn call_from_any(
            req: ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>,
        ) -> ::core::result::Result<#call, ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>> {
            let req = match req.downcast::<#call>() {
                ::core::result::Result::Ok(c) => return ::core::result::Result::Ok(*c),
                ::core::result::Result::Err(r) => r,
            };
            match req.downcast::<#e::Term>() {
                ::core::result::Result::Ok(__term) => {
                    use #e::{NoFromTerm as _, ViaFromTerm as _};
                    #(#arms)*
                    #catch_all
                    ::core::result::Result::Err(__term)
                }
                ::core::result::Result::Err(r) => ::core::result::Result::Err(r),
            }
        }

        #[allow(unreachable_code, unused_imports, unused_variables)]
        fn reply_into_any(
            reply: #reply,
            want: ::core::any::TypeId,
        ) -> ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send> {
            if want == #e::term_type_id() {
                use #e::{NoIntoTerm as _, ViaIntoTerm as _};
                let __back: #reply = match reply { #(#reply_arms)* };
                return #krate::__private::box_reply::<Self>(__back);
            }
            #krate::__private::box_reply::<Self>(reply)
        }

        fn state_value(
            &self,
        ) -> ::core::option::Option<::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>> {
            #[allow(unused_imports)]
            use #e::{NoStateTerm as _, ViaStateTerm as _};
            (&&#e::StateProbe(self)).state_value_probe()
        }
    }
}

/// Statements for the start of `message_from_any` (on `msg`): a `GenCast` goes to the
/// cast handlers, a plain `Term` to the info handlers whose type reads from it.
pub fn message_conversions(actor: &Actor) -> TokenStream {
    let e = erl(actor);
    let message = actor.item("Message");
    let casts: Vec<&Handler> = actor.of(Kind::Cast).filter(|h| reachable(h)).collect();
    let term = quote!(&__cast.0);
    let cast_arms = casts
        .iter()
        .filter(|h| !is_catch_all(h))
        .map(|h| typed_arm(actor, h, &message, &term));
    let cast_catch_all = casts.iter().find(|h| is_catch_all(h)).map(|h| {
        let v = &h.variant;
        quote!(return ::core::result::Result::Ok(#message::#v(__cast.0));)
    });
    let info_arms = actor
        .of(Kind::Info)
        .filter(|h| reachable(h) && h.signal().is_none() && !is_catch_all(h))
        .filter_map(|h| {
            let v = &h.variant;
            let ty = &h.values().next()?.ty;
            Some(quote! {
                if let ::core::option::Option::Some(__v) =
                    (&&#e::FromProbe::<#ty>::NEW).read_term_probe(&__term)
                {
                    return ::core::result::Result::Ok(#message::#v(__v));
                }
            })
        });
    quote! {
        let msg = match msg.downcast::<#e::GenCast>() {
            ::core::result::Result::Ok(__cast) => {
                #[allow(unused_imports)]
                use #e::{NoFromTerm as _, ViaFromTerm as _};
                let __cast = *__cast;
                #(#cast_arms)*
                #cast_catch_all
                #[allow(unreachable_code)]
                let __back: ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send> =
                    ::std::boxed::Box::new(__cast);
                __back
            }
            ::core::result::Result::Err(m) => m,
        };
        let msg = match msg.downcast::<#e::Term>() {
            ::core::result::Result::Ok(__term) => {
                #[allow(unused_imports)]
                use #e::{NoFromTerm as _, ViaFromTerm as _};
                #(#info_arms)*
                let __back: ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send> = __term;
                __back
            }
            ::core::result::Result::Err(m) => m,
        };
    }
}
