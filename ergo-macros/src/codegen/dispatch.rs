//! The `Actor` impl: the dispatch `match` of each message kind onto the handlers, init
//! and terminate, `Handles<T>` for every message type, and `message_from_any`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::respan;
use crate::model::{Actor, Handler, ParamKind, Ret, Signal};
use crate::parse::Kind;

/// The where clause of every generated impl of a trait that extends `Actor`
/// (`Handles`, `HasHandle`): it holds for every actor, as `Actor: Send`; for a state
/// that is not `Send` it makes those impls conditional instead of failing them, so the
/// one error is the `Actor` impl's ("`Rc<..>` cannot be sent between threads safely").
/// The binder keeps the bound from being checked as a trivially false one.
pub fn only_send(actor: &Actor) -> TokenStream {
    let self_ty = &actor.self_ty;
    quote!(where for<'__ergo> #self_ty: ::core::marker::Send)
}

/// The `Actor` impl and the `Handles` impls.
pub fn actor_impl(actor: &Actor) -> TokenStream {
    let krate = &actor.krate;
    let self_ty = &actor.self_ty;
    let only_send = only_send(actor);
    let call = actor.item("Call");
    let reply = actor.item("Reply");
    let message = actor.item("Message");

    let call_arms = actor.of(Kind::Call).map(|h| {
        let v = &h.variant;
        let pat = bindings(h);
        let body = invoke(actor, h);
        quote! { #call::#v #pat => { #body } }
    });
    let message_handlers: Vec<&Handler> = actor
        .handlers
        .iter()
        .filter(|h| h.kind == Kind::Cast || (h.kind == Kind::Info && h.signal().is_none()))
        .collect();
    let message_arms = message_handlers.iter().map(|h| {
        let v = &h.variant;
        let pat = bindings(h);
        let body = invoke(actor, h);
        quote! { #message::#v #pat => { #body } }
    });
    let signals = actor.of(Kind::Info).filter_map(|h| {
        let body = invoke(actor, h);
        let (method, ty) = match h.signal()? {
            Signal::Down => (quote!(handle_down), quote!(#krate::Down)),
            Signal::Exit => (quote!(handle_exit), quote!(#krate::Exit)),
        };
        Some(quote! {
            fn #method(&mut self, ctx: &mut #krate::Context<Self>, __a0: #ty) -> #krate::Step<Self> {
                #body
            }
        })
    });

    let init = actor.of(Kind::Init).next().map(|h| init(actor, h));
    let args = match actor.of(Kind::Init).next() {
        Some(h) => args_type(h),
        None => quote!(()),
    };
    let terminate = actor.of(Kind::Terminate).next().map(|h| {
        let name = h.name();
        let args = h.params.iter().map(|p| match p.kind {
            ParamKind::Context { .. } => quote!(&mut *ctx),
            _ => quote!(reason),
        });
        quote! {
            fn terminate(&mut self, ctx: &mut #krate::Context<Self>, reason: &#krate::Reason) {
                <#self_ty>::#name(self, #(#args),*)
            }
        }
    });

    let infos: Vec<(&Handler, &syn::Type)> = message_handlers
        .iter()
        .filter(|h| h.kind == Kind::Info)
        .filter_map(|h| Some((*h, &h.values().next()?.ty)))
        .collect();
    let from_any = infos.iter().map(|(h, ty)| {
        let v = &h.variant;
        quote! {
            let msg = match msg.downcast::<#ty>() {
                ::core::result::Result::Ok(m) => return ::core::result::Result::Ok(#message::#v(*m)),
                ::core::result::Result::Err(m) => m,
            };
        }
    });
    // Untyped messages from other nodes, by the registered type's name.
    let from_wire = infos.iter().filter(|(h, _)| !h.local).map(|(h, ty)| {
        let v = &h.variant;
        quote! {
            if kind == ::core::any::type_name::<#ty>() {
                return ::core::option::Option::Some(
                    #krate::wire::decode_as::<#ty>(bytes).map(#message::#v),
                );
            }
        }
    });
    let handles = infos.iter().map(|(h, ty)| {
        let v = &h.variant;
        quote_spanned! {ty.span()=>
            impl #krate::Handles<#ty> for #self_ty #only_send {
                fn into_message(msg: #ty) -> #message {
                    #message::#v(msg)
                }
            }
        }
    });

    // Erlang term conversions only where the facade has Erlang interop.
    let (erlang_calls, erlang_messages) = if cfg!(feature = "erlang") {
        (
            super::erlang::call_items(actor),
            super::erlang::message_conversions(actor),
        )
    } else {
        Default::default()
    };

    quote! {
        impl #krate::Actor for #self_ty {
            type Message = #message;
            type Call = #call;
            type Reply = #reply;
            type Args = #args;

            #init

            #[allow(unused_variables, unreachable_code)]
            fn handle_message(&mut self, ctx: &mut #krate::Context<Self>, msg: #message) -> #krate::Step<Self> {
                match msg { #(#message_arms)* }
            }

            #[allow(unused_variables, unreachable_code)]
            fn handle_call(
                &mut self,
                ctx: &mut #krate::Context<Self>,
                req: #call,
                __reply: #krate::ReplyTo<#reply>,
            ) -> #krate::Step<Self> {
                match req { #(#call_arms)* }
            }

            #(#signals)*

            #terminate

            #erlang_calls

            fn debug_state(&self) -> ::core::option::Option<::std::string::String> {
                #[allow(unused_imports)]
                use #krate::system::{NoDebug as _, ViaDebug as _};
                (&&#krate::system::DebugProbe(self)).debug_text()
            }

            fn wire() -> ::core::option::Option<&'static #krate::Wire<Self>> {
                #[allow(unused_imports)]
                use #krate::wire::{NoWire as _, ViaPostcard as _};
                (&#krate::wire::WireProbe::<Self>::new()).wire()
            }

            #[allow(unused_variables)]
            fn message_from_wire(
                kind: &str,
                bytes: &[u8],
            ) -> ::core::option::Option<::core::result::Result<#message, #krate::WireError>> {
                #(#from_wire)*
                ::core::option::Option::None
            }

            fn message_from_any(
                msg: ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>,
            ) -> ::core::result::Result<#message, ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>> {
                let msg = match msg.downcast::<#message>() {
                    ::core::result::Result::Ok(m) => return ::core::result::Result::Ok(*m),
                    ::core::result::Result::Err(m) => m,
                };
                #erlang_messages
                #(#from_any)*
                ::core::result::Result::Err(msg)
            }
        }

        impl #krate::Handles<#message> for #self_ty #only_send {
            fn into_message(msg: #message) -> #message {
                msg
            }
        }

        #(#handles)*
    }
}

/// The actor's `Args`: the init handler's arguments (none → `()`, one → its type,
/// several → a tuple).
pub fn args_type(init: &Handler) -> TokenStream {
    let tys: Vec<_> = init.values().map(|p| &p.ty).collect();
    match &tys[..] {
        [one] => quote!(#one),
        many => quote!((#(#many),*)),
    }
}

/// The pattern binding a variant's fields: `(__a0, __a1)`, or nothing.
fn bindings(h: &Handler) -> TokenStream {
    let names: Vec<_> = h.values().enumerate().map(|(i, _)| arg(i)).collect();
    if names.is_empty() {
        quote!()
    } else {
        quote!((#(#names),*))
    }
}

fn arg(i: usize) -> syn::Ident {
    format_ident!("__a{}", i)
}

/// The arguments passed to the user's method, in its order. `ctx` is the expression of
/// the `&mut Context<Self>`.
fn call_args(actor: &Actor, h: &Handler, ctx: &TokenStream) -> Vec<TokenStream> {
    let reply = actor.item("Reply");
    let mut i = 0;
    h.params
        .iter()
        .map(|p| match p.kind {
            ParamKind::Context { .. } => ctx.clone(),
            ParamKind::ReplyTo(_) => {
                let v = &h.variant;
                quote!(__reply.map(#reply::#v))
            }
            ParamKind::Reason | ParamKind::Value => {
                let a = arg(i);
                i += 1;
                quote!(#a)
            }
        })
        .collect()
}

/// A `Step<Self>` expression running handler `h` on the bound arguments (`__a0..`,
/// `__reply`), sync or async.
fn invoke(actor: &Actor, h: &Handler) -> TokenStream {
    let krate = &actor.krate;
    let self_ty = &actor.self_ty;
    let name = h.name();
    let reply = actor.item("Reply");
    let v = &h.variant;
    let answers = h.kind == Kind::Call && h.reply_token().is_none();
    let stops_on_err = !answers && matches!(h.ret, Ret::Result { .. });
    // Spanned at the user's types: a reply that is not `Send`, or an error that is not
    // `Display`, is reported there.
    let reply_span = match h.reply_token() {
        Some(t) => t.span(),
        None => h.ret.span(),
    };
    let send_reply = respan(quote!(#krate::__private::send_reply), reply_span);
    // `reason_error` turns the handler's `Err(e)` (bound to `e`) into a `Reason`.
    let reason_error = match &h.ret {
        Ret::Result { err, .. } => respan(
            quote!(#krate::__private::stop_reason::<#err>(e)),
            err.span(),
        ),
        _ => quote!(#krate::Reason::error(e)),
    };
    if !h.is_async() {
        let args = call_args(actor, h, &quote!(&mut *ctx));
        let call = quote!(<#self_ty>::#name(self, #(#args),*));
        if answers {
            quote! {
                let __value = #call;
                #send_reply(__reply, #reply::#v(__value));
                #krate::Step::Continue
            }
        } else if stops_on_err {
            quote! {
                match #call {
                    ::core::result::Result::Ok(_) => #krate::Step::Continue,
                    ::core::result::Result::Err(e) => #krate::Step::Stop(#reason_error),
                }
            }
        } else {
            quote! {
                #call;
                #krate::Step::Continue
            }
        }
    } else {
        let args = call_args(actor, h, &quote!(&mut __ctx));
        let call = quote!(<#self_ty>::#name(&mut __actor, #(#args),*).await);
        let finish = if answers {
            quote! { #send_reply(__reply, #reply::#v(__value)); }
        } else if stops_on_err {
            quote! {
                if let ::core::result::Result::Err(e) = __value {
                    __ctx.stop(#reason_error);
                }
            }
        } else {
            quote! { let () = __value; }
        };
        // Spanned at the `async` keyword: a handler future that is not `Send` is
        // reported at the user's method.
        let span = h.sig.asyncness.map_or(Span::call_site(), |a| a.span());
        let run = respan(quote!(#krate::Step::run_async), span);
        quote! {
            #run(move |mut __actor: Self, mut __ctx: #krate::Context<Self>| async move {
                let __value = #call;
                #finish
                (__actor, __ctx)
            })
        }
    }
}

fn init(actor: &Actor, h: &Handler) -> TokenStream {
    let krate = &actor.krate;
    let self_ty = &actor.self_ty;
    let name = h.name();
    let n = h.values().count();
    let unpack = match n {
        0 => quote!(let () = args;),
        1 => quote!(let __a0 = args;),
        _ => {
            let names = (0..n).map(arg);
            quote!(let (#(#names),*) = args;)
        }
    };
    let args = call_args(actor, h, &quote!(ctx));
    let call = quote!(<#self_ty>::#name(self, #(#args),*));
    let result = match &h.ret {
        Ret::Result { err, .. } => {
            let reason_error = respan(
                quote!(#krate::__private::stop_reason::<#err>(e)),
                err.span(),
            );
            quote!(match __value {
                ::core::result::Result::Ok(()) => ::core::result::Result::Ok(()),
                ::core::result::Result::Err(e) => ::core::result::Result::Err(#reason_error),
            })
        }
        _ => quote!({
            let () = __value;
            ::core::result::Result::Ok(())
        }),
    };
    let body = if h.is_async() {
        quote! {
            async move {
                let __value = #call.await;
                #result
            }
        }
    } else {
        quote! {
            let __value = #call;
            let __result = #result;
            async move { __result }
        }
    };
    quote! {
        fn init(
            &mut self,
            ctx: &mut #krate::Context<Self>,
            args: Self::Args,
        ) -> impl ::core::future::Future<Output = ::core::result::Result<(), #krate::Reason>> + ::core::marker::Send {
            #unpack
            #body
        }
    }
}
