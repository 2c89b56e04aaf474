//! The rules: what an `#[actor]` impl block and its handlers may look like. Every
//! broken rule is recorded in the [`Ctxt`] with the span of the offending code and a
//! message saying what is allowed.

use std::collections::HashMap;

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{ItemImpl, Type};

use crate::ctxt::Ctxt;
use crate::model::{self, Actor, Handler, ParamKind, Receiver, Ret};
use crate::parse::Kind;
use crate::reserved;

/// Rules on the impl block itself. Returns false if no actor can be generated at all.
pub fn impl_block(cx: &Ctxt, item: &ItemImpl) -> bool {
    let mut ok = true;
    if let Some((_, path, _)) = &item.trait_ {
        cx.error_spanned_by(
            path,
            "`#[actor]` goes on an inherent impl block holding the handlers \
             (`impl Counter { .. }`), not on a trait impl",
        );
        ok = false;
    }
    if !item.generics.params.is_empty() || item.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &item.generics,
            "generic actors are not supported: the generated message enums and handle \
             need concrete types. Use a concrete actor type (a type alias or a wrapper \
             struct around the generic one), or implement `ergo::Actor` by hand",
        );
        ok = false;
    }
    match model::last_segment(&item.self_ty) {
        Some(seg) if seg.arguments.is_none() || !ok => {}
        Some(seg) => {
            cx.error_spanned_by(
                &seg.arguments,
                "`#[actor]` needs a plain type name (`impl Counter`): the generated items \
                 are named after it (`CounterCall`, `CounterHandle`, ..). Wrap a generic \
                 type in a struct of its own",
            );
            ok = false;
        }
        None => {
            cx.error_spanned_by(
                &item.self_ty,
                "`#[actor]` goes on the impl block of a named struct or enum (`impl Counter`)",
            );
            ok = false;
        }
    }
    ok
}

/// Rules on the handlers. Returns, per handler, whether it broke none of them (the
/// fallback expansion still gives the valid ones their handle methods).
pub fn actor(cx: &Ctxt, actor: &Actor) -> Vec<bool> {
    let mut valid = Vec::with_capacity(actor.handlers.len());
    for h in &actor.handlers {
        let before = cx.len();
        handler(cx, actor, h);
        valid.push(cx.len() == before);
    }
    duplicates(cx, actor, &mut valid);
    valid
}

fn handler(cx: &Ctxt, actor: &Actor, h: &Handler) {
    let name = h.name();
    let attr = h.kind.name();
    let sig = &h.sig;
    if let Some(t) = &sig.constness {
        cx.error_spanned_by(
            t,
            format!("a `#[{attr}]` handler is a plain `fn` or `async fn`, not a `const fn`"),
        );
    }
    if let Some(t) = &sig.unsafety {
        cx.error_spanned_by(
            t,
            format!("a `#[{attr}]` handler is a plain `fn` or `async fn`, not an `unsafe fn`"),
        );
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(
            abi,
            format!("a `#[{attr}]` handler is a plain `fn` or `async fn`, without `extern`"),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        cx.error_spanned_by(
            &sig.generics,
            format!(
                "a `#[{attr}]` handler cannot be generic: its arguments and reply become \
                 variants of the actor's message enums, which need concrete types"
            ),
        );
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(v, "handlers cannot be variadic");
    }
    receiver(cx, h);

    let mut context = None;
    let mut token = None;
    let mut values = 0usize;
    for p in &h.params {
        match &p.kind {
            ParamKind::Context { ref_mut, actor: of } => {
                if context.replace(p).is_some() {
                    cx.error_spanned_by(
                        &p.ty,
                        format!(
                            "`{name}` already takes the context: a handler has at most one \
                             `ctx: &mut Context<Self>` parameter"
                        ),
                    );
                    continue;
                }
                if !ref_mut {
                    cx.error_spanned_by(
                        &p.ty,
                        "take the context as `ctx: &mut Context<Self>` (a mutable borrow: \
                         the runtime keeps it)",
                    );
                }
                if let Some(of) = of {
                    if !is_self(of, actor) {
                        cx.error_spanned_by(
                            of,
                            format!(
                                "this is the context of another actor: a handler of `{}` \
                                 gets `&mut Context<Self>` (or `&mut Context<{}>`)",
                                actor.ident, actor.ident
                            ),
                        );
                    }
                }
            }
            ParamKind::ReplyTo(_) => {
                if token.replace(p).is_some() {
                    cx.error_spanned_by(
                        &p.ty,
                        "a call is answered once: a call handler takes at most one \
                         `ReplyTo<T>` token",
                    );
                }
            }
            ParamKind::Reason if h.kind == Kind::Terminate => {}
            ParamKind::Reason | ParamKind::Value => {
                values += 1;
                value_param(cx, h, &p.ty, values);
            }
        }
    }
    if h.kind == Kind::Info && values == 0 {
        cx.error_spanned_by(
            sig,
            format!(
                "a `#[handle_info]` handler takes the message it handles: \
                 `fn {name}(&mut self, msg: T)` (optionally with `ctx: &mut Context<Self>`); \
                 `T` may be any owned type, or `Down` / `Exit` for monitor and exit signals"
            ),
        );
    }
    if h.kind == Kind::Terminate {
        if let Some(a) = &sig.asyncness {
            cx.error_spanned_by(
                a,
                "`#[terminate]` cannot be async: it runs while the process ends. \
                 Write `fn terminate(&mut self, reason: &Reason)`",
            );
        }
    }
    ret(cx, h);
}

fn receiver(cx: &Ctxt, h: &Handler) {
    let name = h.name();
    let attr = h.kind.name();
    match &h.receiver {
        Receiver::MutRef => {}
        Receiver::Missing => cx.error_spanned_by(
            &h.sig.ident,
            format!(
                "`#[{attr}]` handlers take `&mut self` first: `fn {name}(&mut self, ..)` \
                 (they run inside the actor and may change its state)"
            ),
        ),
        Receiver::SharedRef(tokens) => cx.error_spanned_by(
            tokens,
            format!(
                "`#[{attr}]` handlers take `&mut self`, not `&self`: \
                 `fn {name}(&mut self, ..)`"
            ),
        ),
        Receiver::Value(tokens) => cx.error_spanned_by(
            tokens,
            format!(
                "`#[{attr}]` handlers take `&mut self`, not `self` by value: the actor lives \
                 on after the handler. To stop the process, take `ctx: &mut Context<Self>` \
                 and call `ctx.stop(reason)`"
            ),
        ),
        Receiver::Typed(tokens) => cx.error_spanned_by(
            tokens,
            format!("`#[{attr}]` handlers take `&mut self` (typed receivers such as `self: Box<Self>` are not supported)"),
        ),
    }
}

fn value_param(cx: &Ctxt, h: &Handler, ty: &Type, nth: usize) {
    let attr = h.kind.name();
    match h.kind {
        Kind::Terminate => {
            cx.error_spanned_by(
                ty,
                "`#[terminate]` takes `&mut self`, and optionally `ctx: &mut Context<Self>` \
                 and `reason: &Reason`; nothing else",
            );
            return;
        }
        Kind::Info if nth > 1 => {
            cx.error_spanned_by(
                ty,
                "a `#[handle_info]` handler takes exactly one message: \
                 `fn on_tick(&mut self, msg: Tick)`. To receive several values, put them \
                 in one type (a struct or a tuple)",
            );
            return;
        }
        _ => {}
    }
    if contains_impl_trait(ty) {
        cx.error_spanned_by(
            ty,
            "handler parameters need concrete types (`impl Trait` cannot be stored in a message)",
        );
    } else if borrows(ty) {
        let what = if h.kind == Kind::Init {
            "init arguments are given at spawn and move into the new process"
        } else {
            "a message travels to another process (maybe another node)"
        };
        cx.error_spanned_by(
            ty,
            format!(
                "`#[{attr}]` parameters must be owned types: {what}, so it cannot borrow. \
                 Use `String` for `&str`, `Vec<T>` for `&[T]`, `T` for `&T`"
            ),
        );
    }
}

fn ret(cx: &Ctxt, h: &Handler) {
    let attr = h.kind.name();
    let name = h.name();
    match h.kind {
        Kind::Call if h.reply_token().is_some() => {
            if !matches!(h.ret, Ret::Unit(_)) {
                cx.error_at(
                    h.ret.span(),
                    format!(
                        "`{name}` answers through its `ReplyTo` token, so it returns nothing: \
                         remove the return type, or drop the token and return the reply"
                    ),
                );
            }
            if let Some(t) = h.reply_token() {
                if borrows(t) {
                    cx.error_spanned_by(
                        t,
                        "the reply is sent to the caller, another process: it must be an \
                         owned type (`String` for `&str`, `Vec<T>` for `&[T]`)",
                    );
                }
            }
        }
        Kind::Call => match &h.ret {
            Ret::ResultAlias(t) => cx.error_spanned_by(
                t,
                "write the error type out: `Result<T, E>`. The caller gets `Ok(T)`, or \
                 `Err(CallError::Handler(E))`; the macro must see `E` to type the call",
            ),
            Ret::Value(t) | Ret::Result { whole: t, .. } if borrows(t) => {
                let lead = if h.is_async() {
                    "an async handler's reply cannot borrow from the actor or its arguments: \
                     it is sent to the caller, another process"
                } else {
                    "the reply is sent to the caller, another process, so it cannot borrow"
                };
                cx.error_spanned_by(
                    t,
                    format!(
                        "{lead}. Return an owned type: `String` for `&str`, `Vec<T>` for \
                         `&[T]`, `T` (cloned) for `&T`"
                    ),
                );
            }
            _ => {}
        },
        Kind::Cast | Kind::Info | Kind::Init => {
            let bad = match &h.ret {
                Ret::ResultAlias(t) => Some(t.span()),
                r if !r.is_unit_like() => Some(r.span()),
                _ => None,
            };
            if let Some(span) = bad {
                let why = match h.kind {
                    Kind::Init => "`#[init]` returns nothing, or `Result<(), E>` with \
                                   `E: Display` (an `Err` fails the spawn)"
                        .to_string(),
                    _ => format!(
                        "`#[{attr}]` handlers answer nobody: return nothing, or \
                         `Result<(), E>` with `E: Display` to stop the process on `Err`. \
                         To answer the sender, make it a `#[handle_call]`"
                    ),
                };
                cx.error_at(span, why);
            }
        }
        Kind::Terminate => {
            if !matches!(h.ret, Ret::Unit(_)) {
                cx.error_at(h.ret.span(), "`#[terminate]` returns nothing");
            }
        }
    }
}

fn duplicates(cx: &Ctxt, actor: &Actor, valid: &mut [bool]) {
    let mut seen = Seen::default();
    for (i, h) in actor.handlers.iter().enumerate() {
        let before = cx.len();
        seen.check(cx, h);
        if cx.len() != before {
            valid[i] = false;
        }
    }
}

/// What the handlers before the one being checked took: names, variants, info types,
/// init and terminate.
#[derive(Default)]
struct Seen<'a> {
    names: HashMap<String, &'a Handler>,
    calls: HashMap<String, &'a Handler>,
    messages: HashMap<String, &'a Handler>,
    infos: HashMap<String, &'a Handler>,
    init: Option<&'a Handler>,
    terminate: Option<&'a Handler>,
}

impl<'a> Seen<'a> {
    /// The rules across handlers, for `h` against those before it.
    fn check(&mut self, cx: &Ctxt, h: &'a Handler) {
        let name = h.name().to_string();
        if let Some(first) = self.names.get(&name) {
            cx.error_spanned_by(
                h.name(),
                format!(
                    "duplicate handler name `{name}` (also a `#[{}]` above): each handler \
                     names a message variant and a method of the handle, so names must be \
                     unique within the actor",
                    first.kind.name()
                ),
            );
            return;
        }
        self.names.insert(name.clone(), h);
        if matches!(h.kind, Kind::Call | Kind::Cast) {
            if let Some(what) = reserved::collision(&name, false) {
                cx.error_spanned_by(
                    h.name(),
                    format!(
                        "a call or cast handler cannot be named `{name}`: `actor_ref.{name}(..)` \
                         would call {what}, not the handler. Rename the handler"
                    ),
                );
            }
        }
        let variants = match h.kind {
            Kind::Call => Some(&mut self.calls),
            Kind::Cast | Kind::Info => Some(&mut self.messages),
            _ => None,
        };
        if let Some(variants) = variants {
            let v = h.variant.to_string();
            if let Some(first) = variants.get(&v) {
                cx.error_spanned_by(
                    h.name(),
                    format!(
                        "`{name}` and `{}` both become the variant `{v}` of a generated \
                         enum: rename one",
                        first.name()
                    ),
                );
            } else {
                variants.insert(v, h);
            }
        }
        match h.kind {
            Kind::Info => {
                if let Some(p) = h.values().next() {
                    let key = p.ty.to_token_stream().to_string();
                    if let Some(first) = self.infos.get(&key) {
                        cx.error_spanned_by(
                            &p.ty,
                            format!(
                                "`{}` already handles messages of this type: one \
                                 `#[handle_info]` handler per message type",
                                first.name()
                            ),
                        );
                    } else {
                        self.infos.insert(key, h);
                    }
                }
            }
            Kind::Init | Kind::Terminate => {
                let slot = if h.kind == Kind::Init {
                    &mut self.init
                } else {
                    &mut self.terminate
                };
                if let Some(first) = slot.replace(h) {
                    cx.error_spanned_by(
                        &h.attr,
                        format!(
                            "an actor has at most one `#[{}]` (already `{}`)",
                            h.kind.name(),
                            first.name()
                        ),
                    );
                }
            }
            _ => {}
        }
    }
}

/// `Self`, or the actor's own name.
fn is_self(ty: &Type, actor: &Actor) -> bool {
    match model::last_segment(ty) {
        Some(seg) => seg.arguments.is_none() && (seg.ident == "Self" || seg.ident == actor.ident),
        None => false,
    }
}

/// True if the type borrows: a reference or a lifetime, other than `'static`.
pub fn borrows(ty: &Type) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        let mut iter = tokens.into_iter().peekable();
        while let Some(tt) = iter.next() {
            let borrows = match tt {
                // `&` alone borrows; `&'static` does not (the lifetime is checked next).
                TokenTree::Punct(p) if p.as_char() == '&' => {
                    !matches!(iter.peek(), Some(TokenTree::Punct(q)) if q.as_char() == '\'')
                }
                TokenTree::Punct(p) if p.as_char() == '\'' => {
                    !matches!(iter.peek(), Some(TokenTree::Ident(i)) if i == "static")
                }
                TokenTree::Group(g) => walk(g.stream()),
                _ => false,
            };
            if borrows {
                return true;
            }
        }
        false
    }
    walk(ty.to_token_stream())
}

fn contains_impl_trait(ty: &Type) -> bool {
    fn walk(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(i) => i == "impl",
            TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}
