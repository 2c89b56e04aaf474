//! Code generation from a checked model, and the fallback emitted when checks fail.

mod assert;
mod dispatch;
mod enums;
mod erlang;
mod handle;

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::quote;
use syn::ItemImpl;

use crate::model::Actor;

/// Everything `#[actor]` emits for a valid impl block: the user's impl (handler
/// attributes removed), the enums, the `Actor` impl, the handle and the assertions.
pub fn expand(item: &ItemImpl, actor: &Actor) -> TokenStream {
    let enums = enums::enums(actor);
    let actor_impl = dispatch::actor_impl(actor);
    let handle = handle::handle(actor);
    let assertions = assert::assertions(actor);
    quote! {
        #item
        #enums
        const _: () = {
            #actor_impl
        };
        #handle
        #assertions
    }
}

/// What `#[actor]` emits when the impl block has errors: the errors, the user's impl
/// (so the IDE and the rest of the crate keep working) and, when the type is known, a
/// stub `Actor` impl so code using the actor does not fail a second time. With the
/// handlers read (`model`: the actor and which handlers broke no rule), the stub has
/// the generated enums (empty), `Handles` for the valid info types and the handle with
/// a method per valid call and cast handler (bodies `unreachable!()`, as thiserror's
/// fallback does): only the real errors are reported, not every call site of a good
/// handler.
pub fn fallback(
    item: &ItemImpl,
    krate: &syn::Path,
    stub: bool,
    model: Option<(&Actor, &[bool])>,
    err: syn::Error,
) -> TokenStream {
    let errors = err.into_compile_error();
    let self_ty = &item.self_ty;
    let stub = match (stub, model) {
        (false, _) => None,
        (true, None) => Some(quote! {
            impl #krate::Actor for #self_ty {
                type Message = ();
                type Call = ();
                type Reply = ();
                type Args = ();
                fn handle_message(&mut self, _: &mut #krate::Context<Self>, _: ()) -> #krate::Step<Self> {
                    ::core::unreachable!()
                }
                fn handle_call(
                    &mut self,
                    _: &mut #krate::Context<Self>,
                    _: (),
                    _: #krate::ReplyTo<()>,
                ) -> #krate::Step<Self> {
                    ::core::unreachable!()
                }
            }
        }),
        (true, Some((actor, valid))) => Some(stub_actor(actor, valid)),
    };
    quote! {
        #errors
        #item
        #stub
    }
}

/// The stub of an actor whose handlers were read: empty enums, an `Actor` impl that
/// is never run, `Handles` for the valid info types, and the handle.
fn stub_actor(actor: &Actor, valid: &[bool]) -> TokenStream {
    let krate = &actor.krate;
    let self_ty = &actor.self_ty;
    let (call, reply, message) = (
        actor.item("Call"),
        actor.item("Reply"),
        actor.item("Message"),
    );
    let ok = |i: usize| valid.get(i).copied().unwrap_or(false);
    let only_send = dispatch::only_send(actor);
    let handles = actor
        .handlers
        .iter()
        .enumerate()
        .filter(|(i, h)| ok(*i) && h.kind == crate::parse::Kind::Info && h.signal().is_none())
        .filter_map(|(_, h)| h.values().next().map(|p| &p.ty))
        .map(|ty| {
            quote! {
                impl #krate::Handles<#ty> for #self_ty #only_send {
                    fn into_message(_: #ty) -> #message {
                        ::core::unreachable!()
                    }
                }
            }
        });
    // The init's arguments, if the init is valid: `spawn_with` call sites type-check.
    let args = actor
        .handlers
        .iter()
        .enumerate()
        .find(|(_, h)| h.kind == crate::parse::Kind::Init)
        .filter(|(i, _)| ok(*i))
        .map_or_else(|| quote!(()), |(_, h)| dispatch::args_type(h));
    let handle = handle::stub_handle(actor, ok);
    quote! {
        #[allow(dead_code, unreachable_pub)]
        pub enum #call {}
        #[allow(dead_code, unreachable_pub)]
        pub enum #reply {}
        #[allow(dead_code, unreachable_pub)]
        pub enum #message {}

        impl #krate::Actor for #self_ty {
            type Message = #message;
            type Call = #call;
            type Reply = #reply;
            type Args = #args;
            fn handle_message(&mut self, _: &mut #krate::Context<Self>, msg: #message) -> #krate::Step<Self> {
                match msg {}
            }
            fn handle_call(
                &mut self,
                _: &mut #krate::Context<Self>,
                req: #call,
                _: #krate::ReplyTo<#reply>,
            ) -> #krate::Step<Self> {
                match req {}
            }
        }

        impl #krate::Handles<#message> for #self_ty #only_send {
            fn into_message(msg: #message) -> #message {
                msg
            }
        }

        #(#handles)*

        #handle
    }
}

/// Gives every token of `tokens` the span `span`, so that an error rustc reports on
/// the expression (a trait bound on a path) lands on the user's code.
pub fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}
