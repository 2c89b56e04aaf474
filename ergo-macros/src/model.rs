//! The model: each handler's signature lowered into what the code generator needs
//! (receiver, context, reply token, message arguments, reply shape). Lowering records
//! what it sees without judging it; `check` holds the rules.

use heck::ToUpperCamelCase;
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, GenericArgument, Ident, PathArguments, ReturnType, Type};

use crate::parse::{ActorArgs, Kind, RawHandler};

/// The actor: its type, where `ergo` is, and its handlers.
pub struct Actor {
    /// The `impl` block's self type, as written.
    pub self_ty: Type,
    /// The type's name (last path segment): prefix of the generated items.
    pub ident: Ident,
    /// The path of the `ergo` crate.
    pub krate: syn::Path,
    /// Every handler, in source order.
    pub handlers: Vec<Handler>,
}

impl Actor {
    /// The handlers of one kind.
    pub fn of(&self, kind: Kind) -> impl Iterator<Item = &Handler> {
        self.handlers.iter().filter(move |h| h.kind == kind)
    }

    /// A generated item's name: the actor's name plus `suffix`.
    pub fn item(&self, suffix: &str) -> Ident {
        format_ident!("{}{}", self.ident, suffix)
    }
}

/// One handler method.
pub struct Handler {
    /// Which attribute marked it.
    pub kind: Kind,
    /// The attribute, as written (for error spans).
    pub attr: TokenStream,
    /// `#[handle_*(local)]`.
    pub local: bool,
    /// The method's signature, as written.
    pub sig: syn::Signature,
    /// The method's receiver.
    pub receiver: Receiver,
    /// Every parameter after the receiver, in order.
    pub params: Vec<Param>,
    /// What it returns.
    pub ret: Ret,
    /// The enum variant named after it (`add` → `Add`).
    pub variant: Ident,
    /// The method's doc comments (copied onto the handle's method).
    pub docs: Vec<syn::Attribute>,
}

impl Handler {
    /// The method's name.
    pub fn name(&self) -> &Ident {
        &self.sig.ident
    }

    /// True for `async fn`.
    pub fn is_async(&self) -> bool {
        self.sig.asyncness.is_some()
    }

    /// `Down` or `Exit` for a `#[handle_info]` of a runtime signal.
    pub fn signal(&self) -> Option<Signal> {
        if self.kind != Kind::Info {
            return None;
        }
        let seg = last_segment(&self.values().next()?.ty)?;
        if !seg.arguments.is_none() {
            return None;
        }
        if seg.ident == "Down" {
            Some(Signal::Down)
        } else if seg.ident == "Exit" {
            Some(Signal::Exit)
        } else {
            None
        }
    }

    /// The parameters that travel in the message.
    pub fn values(&self) -> impl Iterator<Item = &Param> {
        self.params
            .iter()
            .filter(|p| matches!(p.kind, ParamKind::Value))
    }

    /// The reply token's type argument, for a call handler that answers through one.
    pub fn reply_token(&self) -> Option<&Type> {
        self.params.iter().find_map(|p| match &p.kind {
            ParamKind::ReplyTo(t) => Some(t),
            _ => None,
        })
    }

    /// What the caller of a call handler receives: `(ok, Some(err))` for a `Result`.
    pub fn reply(&self) -> Option<(Type, Option<Type>)> {
        if let Some(t) = self.reply_token() {
            return Some(match split_result(t) {
                Some((ok, err)) => (ok, Some(err)),
                None => (t.clone(), None),
            });
        }
        match &self.ret {
            Ret::Unit(_) => Some((syn::parse_quote!(()), None)),
            Ret::Value(t) => Some((t.clone(), None)),
            Ret::Result { ok, err, .. } => Some((ok.clone(), Some(err.clone()))),
            Ret::ResultAlias(_) => None,
        }
    }

    /// The type stored in the reply enum's variant.
    pub fn reply_variant_type(&self) -> Type {
        if let Some(t) = self.reply_token() {
            return t.clone();
        }
        match &self.ret {
            Ret::Unit(_) => syn::parse_quote!(()),
            Ret::Value(t) | Ret::Result { whole: t, .. } | Ret::ResultAlias(t) => t.clone(),
        }
    }
}

/// A runtime signal an info handler may take instead of a message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// A monitor's `Down` (dispatched from `Actor::handle_down`).
    Down,
    /// A trapped exit signal (dispatched from `Actor::handle_exit`).
    Exit,
}

/// How the method takes `self`.
pub enum Receiver {
    /// `&mut self`: the only accepted form.
    MutRef,
    /// `&self` (its tokens, for the error's span)
    SharedRef(TokenStream),
    /// `self` or `mut self`
    Value(TokenStream),
    /// `self: Type`
    Typed(TokenStream),
    /// No receiver at all.
    Missing,
}

/// A parameter after the receiver.
pub struct Param {
    /// A name for it in generated code (its own if it is a plain identifier).
    pub ident: Ident,
    /// Its type, as written.
    pub ty: Type,
    /// What it is.
    pub kind: ParamKind,
}

/// What a parameter is, judged from its type.
pub enum ParamKind {
    /// A `Context`: `ref_mut` is true for `&mut Context<..>`; `actor` is its argument.
    Context {
        /// Taken as `&mut`.
        ref_mut: bool,
        /// The type argument of `Context`.
        actor: Option<Type>,
    },
    /// A reply token `ReplyTo<T>` (call handlers only).
    ReplyTo(Type),
    /// `&Reason` (terminate only).
    Reason,
    /// Anything else: part of the message.
    Value,
}

/// A handler's return type.
#[allow(clippy::large_enum_variant)] // a few per handler, at compile time
pub enum Ret {
    /// Nothing, or `()`.
    Unit(Span),
    /// Some `T`.
    Value(Type),
    /// `Result<T, E>` spelled out.
    Result {
        /// The whole type.
        whole: Type,
        /// `T`.
        ok: Type,
        /// `E`.
        err: Type,
    },
    /// A one-argument `Result<T>` alias: the error type is not visible.
    ResultAlias(Type),
}

impl Ret {
    /// The span to point at for this return type.
    pub fn span(&self) -> Span {
        match self {
            Ret::Unit(span) => *span,
            Ret::Value(t) | Ret::Result { whole: t, .. } | Ret::ResultAlias(t) => t.span(),
        }
    }

    /// True for `()` and `Result<(), E>`, what a handler that answers nobody returns.
    pub fn is_unit_like(&self) -> bool {
        match self {
            Ret::Unit(_) => true,
            Ret::Result { ok, .. } => is_unit(ok),
            _ => false,
        }
    }
}

/// Lowers the parsed handlers.
pub fn lower(args: &ActorArgs, self_ty: &Type, raw: Vec<RawHandler>) -> Option<Actor> {
    let ident = type_ident(self_ty)?.clone();
    let krate = args
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::ergo));
    let handlers = raw.into_iter().map(lower_handler).collect();
    Some(Actor {
        self_ty: self_ty.clone(),
        ident,
        krate,
        handlers,
    })
}

fn lower_handler(raw: RawHandler) -> Handler {
    let sig = raw.func.sig;
    let mut receiver = Receiver::Missing;
    let mut params = Vec::new();
    for (i, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(r) => {
                let tokens = r.to_token_stream();
                receiver = if r.colon_token.is_some() {
                    Receiver::Typed(tokens)
                } else {
                    match &r.reference {
                        Some(_) if r.mutability.is_some() => Receiver::MutRef,
                        Some(_) => Receiver::SharedRef(tokens),
                        None => Receiver::Value(tokens),
                    }
                }
            }
            FnArg::Typed(pt) => {
                let ident = match &*pt.pat {
                    syn::Pat::Ident(p) if p.subpat.is_none() => p.ident.clone(),
                    _ => format_ident!("arg{}", i),
                };
                let ident = Ident::new(&ident.to_string(), pt.pat.span());
                let ty = (*pt.ty).clone();
                let kind = classify(&ty, raw.kind);
                params.push(Param { ident, ty, kind });
            }
        }
    }
    let ret = match &sig.output {
        ReturnType::Default => Ret::Unit(sig.paren_token.span.close()),
        ReturnType::Type(_, ty) if is_unit(ty) => Ret::Unit(ty.span()),
        ReturnType::Type(_, ty) => match last_segment(ty) {
            Some(seg) if seg.ident == "Result" => match split_result(ty) {
                Some((ok, err)) => Ret::Result {
                    whole: (**ty).clone(),
                    ok,
                    err,
                },
                None => Ret::ResultAlias((**ty).clone()),
            },
            _ => Ret::Value((**ty).clone()),
        },
    };
    let variant = Ident::new(
        &sig.ident
            .to_string()
            .trim_start_matches("r#")
            .to_upper_camel_case(),
        sig.ident.span(),
    );
    let docs = raw
        .func
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .cloned()
        .collect();
    Handler {
        docs,
        kind: raw.kind,
        attr: raw.attr,
        local: raw.local,
        sig,
        receiver,
        params,
        ret,
        variant,
    }
}

fn classify(ty: &Type, kind: Kind) -> ParamKind {
    let (inner, reference) = match peel(ty) {
        Type::Reference(r) => (&*r.elem, Some(r.mutability.is_some())),
        other => (other, None),
    };
    if let Some(seg) = last_segment(inner) {
        if seg.ident == "Context" {
            return ParamKind::Context {
                ref_mut: reference == Some(true),
                actor: first_type_arg(&seg.arguments).cloned(),
            };
        }
        if seg.ident == "Reason" && reference == Some(false) {
            return ParamKind::Reason;
        }
        if seg.ident == "ReplyTo" && reference.is_none() && kind == Kind::Call {
            if let Some(t) = first_type_arg(&seg.arguments) {
                return ParamKind::ReplyTo(t.clone());
            }
        }
    }
    ParamKind::Value
}

/// Removes parentheses and invisible groups around a type.
pub fn peel(ty: &Type) -> &Type {
    match ty {
        Type::Paren(p) => peel(&p.elem),
        Type::Group(g) => peel(&g.elem),
        other => other,
    }
}

/// The last segment of a path type.
pub fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match peel(ty) {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        _ => None,
    }
}

/// The name of a path type (its last segment).
pub fn type_ident(ty: &Type) -> Option<&Ident> {
    last_segment(ty).map(|s| &s.ident)
}

fn first_type_arg(args: &PathArguments) -> Option<&Type> {
    type_args(args).into_iter().next()
}

fn type_args(args: &PathArguments) -> Vec<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `Result<T, E>` → `(T, E)`.
pub fn split_result(ty: &Type) -> Option<(Type, Type)> {
    let seg = last_segment(ty)?;
    if seg.ident != "Result" {
        return None;
    }
    match type_args(&seg.arguments)[..] {
        [ok, err] => Some((ok.clone(), err.clone())),
        _ => None,
    }
}

/// `()`.
pub fn is_unit(ty: &Type) -> bool {
    matches!(peel(ty), Type::Tuple(t) if t.elems.is_empty())
}
