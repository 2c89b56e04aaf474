//! Checks a parsed `supervisor!` and lowers it to the model: every error is recorded
//! at the span of the user's tokens (a duplicate child name, an unknown strategy,
//! option or policy, a malformed period), all reported at once.

use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitInt, Meta};

use super::model::{Child, Shutdown, Strategy, Supervisor};
use super::parse::{Input, RawChild};
use crate::ctxt::Ctxt;

/// Lowers `input`; `None` if there were errors (recorded in `cx`).
pub fn lower(cx: &Ctxt, input: Input) -> Option<Supervisor> {
    let strategy = Strategy::ALL
        .iter()
        .find(|(name, _)| input.strategy == name)
        .map(|(_, s)| *s);
    if strategy.is_none() {
        cx.error_spanned_by(
            &input.strategy,
            format!(
                "unknown strategy `{}`: expected one of `one_for_one`, `all_for_one`, `rest_for_one`, `simple_one_for_one`",
                input.strategy
            ),
        );
    }
    let mut intensity = None;
    let mut period_ms = None;
    let mut auto_shutdown = None;
    for opt in input.options {
        match opt.key.to_string().as_str() {
            "intensity" => intensity = Some(opt.value),
            "period" => period_ms = duration_ms(cx, &opt.value, "period"),
            "auto_shutdown" => {
                auto_shutdown = word(cx, &opt.value).and_then(|w| match w.as_str() {
                    "never" => Some("Never"),
                    "any_significant" => Some("AnySignificant"),
                    "all_significant" => Some("AllSignificant"),
                    _ => {
                        cx.error_spanned_by(
                            &opt.value,
                            format!("unknown auto_shutdown `{w}`: expected `never`, `any_significant` or `all_significant`"),
                        );
                        None
                    }
                })
            }
            other => cx.error_spanned_by(
                &opt.key,
                format!("unknown supervisor option `{other}`: expected `intensity`, `period` or `auto_shutdown`"),
            ),
        }
    }
    let mut children: Vec<Child> = Vec::new();
    for raw in input.children {
        if children.iter().any(|c| c.name == raw.name) {
            cx.error_spanned_by(
                &raw.name,
                format!(
                    "duplicate child name `{}` (also declared above): child names are ids within the supervisor and registered names, so they must be unique",
                    raw.name
                ),
            );
            continue;
        }
        let accessor = if strategy == Some(Strategy::SimpleOneForOne) {
            format!("start_{}", raw.name)
        } else {
            raw.name.to_string()
        };
        if let Some(what) = crate::reserved::collision(&accessor, true) {
            cx.error_spanned_by(
                &raw.name,
                format!(
                    "`{}` cannot name a child: its accessor `sup.{accessor}(..)` would call {what}. Rename the child",
                    raw.name
                ),
            );
        }
        children.push(child(cx, raw));
    }
    if strategy == Some(Strategy::SimpleOneForOne) && children.len() != 1 {
        cx.error_at(
            input.brace,
            format!(
                "a `simple_one_for_one` supervisor declares exactly one child (the template of its instances), not {}",
                children.len()
            ),
        );
    }
    Some(Supervisor {
        attrs: input.attrs,
        vis: input.vis,
        name: input.name,
        strategy: strategy?,
        intensity,
        period_ms,
        auto_shutdown,
        children,
    })
}

fn child(cx: &Ctxt, raw: RawChild) -> Child {
    let mut c = Child {
        name: raw.name,
        ty: raw.ty,
        value: raw.value,
        args: None,
        restart: None,
        significant: false,
        shutdown: None,
        docs: Vec::new(),
    };
    for attr in raw.attrs {
        let path = attr.path();
        if path.is_ident("doc") {
            c.docs.push(attr);
        } else if path.is_ident("significant") {
            c.significant = true;
        } else if path.is_ident("restart") {
            let policy = attr.parse_args::<Expr>().ok();
            c.restart = policy.as_ref().and_then(|p| word(cx, p)).and_then(|w| {
                match w.as_str() {
                    "permanent" => Some("Permanent"),
                    "transient" => Some("Transient"),
                    "temporary" => Some("Temporary"),
                    _ => {
                        cx.error_spanned_by(
                            &policy,
                            format!("unknown restart policy `{w}`: expected `permanent`, `transient` or `temporary`"),
                        );
                        None
                    }
                }
            });
            if policy.is_none() {
                cx.error_spanned_by(
                    &attr,
                    "expected `#[restart(permanent | transient | temporary)]`",
                );
            }
        } else if path.is_ident("shutdown") {
            match attr.parse_args::<Expr>() {
                Ok(e) => {
                    c.shutdown = match &e {
                        Expr::Path(p) if p.path.is_ident("brutal_kill") => Some(Shutdown::BrutalKill),
                        Expr::Path(p) if p.path.is_ident("infinity") => Some(Shutdown::Infinity),
                        _ => duration_ms(cx, &e, "shutdown").map(Shutdown::Millis),
                    }
                }
                Err(_) => cx.error_spanned_by(
                    &attr,
                    "expected `#[shutdown(brutal_kill | infinity | <duration>)]`, e.g. `#[shutdown(500ms)]`",
                ),
            }
        } else if path.is_ident("args") {
            match &attr.meta {
                Meta::List(_) => match attr.parse_args::<Expr>() {
                    Ok(e) => c.args = Some(e),
                    Err(e) => cx.syn_error(e),
                },
                _ => cx.error_spanned_by(&attr, "expected `#[args(<init arguments>)]`"),
            }
        } else {
            cx.error_spanned_by(
                &attr,
                "unknown child attribute: expected `#[restart(..)]`, `#[significant]`, `#[shutdown(..)]`, `#[args(..)]` or a doc comment",
            );
        }
    }
    c
}

fn word(cx: &Ctxt, e: &Expr) -> Option<String> {
    match e {
        Expr::Path(p) if p.path.get_ident().is_some() => p.path.get_ident().map(|i| i.to_string()),
        _ => {
            cx.error_spanned_by(e, "expected a single word");
            None
        }
    }
}

/// A duration literal: `5s`, `500ms`, `2m` (an integer with a unit suffix).
fn duration_ms(cx: &Ctxt, e: &Expr, what: &str) -> Option<u64> {
    let malformed = |span: proc_macro2::Span| {
        cx.error_at(
            span,
            format!(
                "malformed {what}: expected an integer with a unit, like `500ms`, `5s` or `1m`"
            ),
        );
        None
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = e
    else {
        return malformed(e.span());
    };
    let factor = match lit.suffix() {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        _ => return malformed(lit.span()),
    };
    match digits(lit) {
        Some(n) => n.checked_mul(factor).or_else(|| malformed(lit.span())),
        None => malformed(lit.span()),
    }
}

fn digits(lit: &LitInt) -> Option<u64> {
    lit.base10_digits().parse().ok()
}
