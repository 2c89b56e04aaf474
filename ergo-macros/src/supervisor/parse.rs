//! Reads the tokens of `supervisor! { .. }` into a syntax tree that keeps every span;
//! meanings (strategy names, policies, durations) are checked later, in `check`.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{braced, parenthesized, Attribute, Expr, Ident, Token, Type, Visibility};

/// `#[doc] pub Name: strategy(options) { children }`.
pub struct Input {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub strategy: Ident,
    pub options: Vec<Opt>,
    pub children: Vec<RawChild>,
    pub brace: Span,
}

/// `key = value` inside the strategy's parentheses.
pub struct Opt {
    pub key: Ident,
    pub value: Expr,
}

/// `#[attrs] name: Type (= expr)?`.
pub struct RawChild {
    pub attrs: Vec<Attribute>,
    pub name: Ident,
    pub ty: Type,
    pub value: Option<Expr>,
}

impl Parse for Opt {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        Ok(Opt { key, value })
    }
}

impl Parse for RawChild {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty: Type = input.parse()?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        Ok(RawChild {
            attrs,
            name,
            ty,
            value,
        })
    }
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let strategy: Ident = input.parse()?;
        let mut options = Vec::new();
        if input.peek(syn::token::Paren) {
            let content;
            parenthesized!(content in input);
            let opts: Punctuated<Opt, Token![,]> =
                content.parse_terminated(Opt::parse, Token![,])?;
            options = opts.into_iter().collect();
        }
        let content;
        let brace = braced!(content in input);
        let children: Punctuated<RawChild, Token![,]> =
            content.parse_terminated(RawChild::parse, Token![,])?;
        Ok(Input {
            attrs,
            vis,
            name,
            strategy,
            options,
            children: children.into_iter().collect(),
            brace: brace.span.join(),
        })
    }
}
