//! The checked model of a `supervisor!` declaration, ready for code generation.

use syn::{Attribute, Expr, Ident, Type, Visibility};

/// The four strategies, by their `supervisor!` names.
#[allow(clippy::enum_variant_names)] // the names OTP users know
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    OneForOne,
    AllForOne,
    RestForOne,
    SimpleOneForOne,
}

impl Strategy {
    pub const ALL: [(&'static str, Strategy); 4] = [
        ("one_for_one", Strategy::OneForOne),
        ("all_for_one", Strategy::AllForOne),
        ("rest_for_one", Strategy::RestForOne),
        ("simple_one_for_one", Strategy::SimpleOneForOne),
    ];

    pub fn variant(self) -> &'static str {
        match self {
            Strategy::OneForOne => "OneForOne",
            Strategy::AllForOne => "AllForOne",
            Strategy::RestForOne => "RestForOne",
            Strategy::SimpleOneForOne => "SimpleOneForOne",
        }
    }
}

/// A child's shutdown.
pub enum Shutdown {
    BrutalKill,
    Infinity,
    Millis(u64),
}

/// One checked child.
pub struct Child {
    pub name: Ident,
    pub ty: Type,
    pub value: Option<Expr>,
    pub args: Option<Expr>,
    /// `Permanent`, `Transient` or `Temporary`.
    pub restart: Option<&'static str>,
    pub significant: bool,
    pub shutdown: Option<Shutdown>,
    pub docs: Vec<Attribute>,
}

/// A checked declaration.
pub struct Supervisor {
    pub attrs: Vec<Attribute>,
    pub vis: Visibility,
    pub name: Ident,
    pub strategy: Strategy,
    pub intensity: Option<Expr>,
    pub period_ms: Option<u64>,
    /// `Never`, `AnySignificant` or `AllSignificant`.
    pub auto_shutdown: Option<&'static str>,
    pub children: Vec<Child>,
}
