//! `supervisor!`: a declarative supervision tree, built as `#[actor]` is —
//! `parse` reads the tokens, `check` validates and lowers them to the `model`
//! (errors collected in a `Ctxt`, each at the user's span), `codegen` emits the code.

mod check;
mod codegen;
mod model;
mod parse;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;

/// Expands `supervisor! { .. }`.
pub fn expand(input: TokenStream) -> TokenStream {
    let input: parse::Input = match syn::parse2(input) {
        Ok(input) => input,
        Err(err) => return err.into_compile_error(),
    };
    let cx = Ctxt::new();
    let model = check::lower(&cx, input);
    match (cx.check(), model) {
        (Ok(()), Some(model)) => codegen::expand(&model),
        (Err(err), _) => err.into_compile_error(),
        (Ok(()), None) => TokenStream::new(),
    }
}
