//! Parsing: the `#[actor(..)]` arguments, and the handler attributes found (and
//! stripped) on the methods of the impl block. No semantic rule lives here.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Attribute, ImplItem, ImplItemFn, ItemImpl};

use crate::ctxt::Ctxt;

/// The arguments of `#[actor(..)]`.
#[derive(Default)]
pub struct ActorArgs {
    /// `crate = path`: where the `ergo` crate is (default `::ergo`).
    pub krate: Option<syn::Path>,
}

/// Which attribute marked a method.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// `#[handle_call]`
    Call,
    /// `#[handle_cast]`
    Cast,
    /// `#[handle_info]`
    Info,
    /// `#[init]`
    Init,
    /// `#[terminate]`
    Terminate,
}

impl Kind {
    /// Every handler attribute, by name.
    pub const ALL: [Kind; 5] = [
        Kind::Call,
        Kind::Cast,
        Kind::Info,
        Kind::Init,
        Kind::Terminate,
    ];

    /// The attribute's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Call => "handle_call",
            Kind::Cast => "handle_cast",
            Kind::Info => "handle_info",
            Kind::Init => "init",
            Kind::Terminate => "terminate",
        }
    }

    fn from_attr(attr: &Attribute) -> Option<Kind> {
        let last = attr.path().segments.last()?;
        Kind::ALL.into_iter().find(|k| last.ident == k.name())
    }

    /// True for the handlers that receive messages (and so may be `local`).
    pub fn is_message(self) -> bool {
        matches!(self, Kind::Call | Kind::Cast | Kind::Info)
    }
}

/// A method carrying a handler attribute, as written (attribute removed).
pub struct RawHandler {
    /// The attribute.
    pub kind: Kind,
    /// The attribute, as written (for error spans).
    pub attr: TokenStream,
    /// `local`: the handler's messages never leave the node (no serde needed).
    pub local: bool,
    /// The method, attributes other than the handler attribute kept.
    pub func: ImplItemFn,
}

/// Parses `#[actor(crate = path)]`.
pub fn actor_args(cx: &Ctxt, args: TokenStream) -> ActorArgs {
    let mut out = ActorArgs::default();
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("crate") {
            let path: syn::Path = meta.value()?.parse()?;
            if out.krate.replace(path).is_some() {
                return Err(meta.error("`crate` is given more than once"));
            }
            Ok(())
        } else {
            let name = quote::ToTokens::to_token_stream(&meta.path).to_string();
            Err(meta.error(format!(
                "unknown argument `{}` in `#[actor]`: the only argument is \
                 `crate = path` (where the `ergo` crate is, if it was renamed)",
                name.replace(' ', "")
            )))
        }
    });
    if let Err(err) = syn::parse::Parser::parse2(parser, args) {
        cx.syn_error(err);
    }
    out
}

/// Finds the handler methods of `item`, strips their handler attributes (so the impl
/// can be emitted as plain Rust) and parses the attributes' arguments.
pub fn handlers(cx: &Ctxt, item: &mut ItemImpl) -> Vec<RawHandler> {
    let mut out = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(func) = impl_item else {
            let attrs: &mut Vec<Attribute> = match impl_item {
                ImplItem::Const(c) => &mut c.attrs,
                ImplItem::Type(t) => &mut t.attrs,
                ImplItem::Macro(m) => &mut m.attrs,
                _ => continue,
            };
            attrs.retain(|attr| match Kind::from_attr(attr) {
                Some(kind) => {
                    cx.error_spanned_by(
                        attr,
                        format!(
                            "`#[{}]` goes on a method (`fn`) of the `#[actor]` impl block",
                            kind.name()
                        ),
                    );
                    false
                }
                None => true,
            });
            continue;
        };
        let mut found: Option<(Kind, TokenStream, bool)> = None;
        let mut kept = Vec::with_capacity(func.attrs.len());
        for attr in std::mem::take(&mut func.attrs) {
            let Some(kind) = Kind::from_attr(&attr) else {
                kept.push(attr);
                continue;
            };
            let local = attr_args(cx, kind, &attr);
            match &found {
                Some((first, _, _)) => cx.error_spanned_by(
                    &attr,
                    format!(
                        "a method has one handler attribute; this one is already `#[{}]` \
                         (write a separate method for each kind of message)",
                        first.name()
                    ),
                ),
                None => found = Some((kind, attr.to_token_stream(), local)),
            }
        }
        func.attrs = kept;
        if let Some((kind, attr, local)) = found {
            out.push(RawHandler {
                kind,
                attr,
                local,
                func: func.clone(),
            });
        }
    }
    out
}

/// Parses a handler attribute's arguments; returns the `local` flag.
fn attr_args(cx: &Ctxt, kind: Kind, attr: &Attribute) -> bool {
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return false;
    }
    let mut local = false;
    let result = attr.parse_nested_meta(|meta| {
        if kind.is_message() && meta.path.is_ident("local") {
            if local {
                return Err(meta.error("`local` is given more than once"));
            }
            local = true;
            return Ok(());
        }
        let name = quote::ToTokens::to_token_stream(&meta.path)
            .to_string()
            .replace(' ', "");
        let allowed = if kind.is_message() {
            "the only argument is `local` (the handler's messages never leave this node, \
             so they need not be serializable)"
        } else {
            "it takes no arguments"
        };
        Err(meta.error(format!(
            "unknown argument `{name}` in `#[{}]`: {allowed}",
            kind.name()
        )))
    });
    if let Err(err) = result {
        cx.syn_error(err);
    }
    local
}
