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
/// stub `Actor` impl so code using the actor does not fail a second time.
pub fn fallback(item: &ItemImpl, krate: &syn::Path, stub: bool, err: syn::Error) -> TokenStream {
    let errors = err.into_compile_error();
    let stub = stub.then(|| {
        let self_ty = &item.self_ty;
        quote! {
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
        }
    });
    quote! {
        #errors
        #item
        #stub
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
