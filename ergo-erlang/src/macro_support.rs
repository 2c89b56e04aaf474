//! Not public API: what the code `#[actor]` generates refers to (through
//! `ergo::__private::erlang`) to map terms onto an actor's handlers.
//!
//! The probes use autoref specialization: for a concrete type `T`,
//! `(&&FromProbe::<T>::NEW).read_term_probe(t)` converts with [`FromTerm`] when `T`
//! implements it and yields `None` otherwise, so an actor whose messages are not all
//! term-convertible still compiles (those handlers are just unreachable from Erlang).

use std::marker::PhantomData;

use crate::convert::{FromTerm, IntoTerm, StateTerm};
pub use crate::dist::GenCast;
pub use crate::term::Term;

/// Probe for reading a `T` from a term.
pub struct FromProbe<T>(PhantomData<fn() -> T>);

impl<T> FromProbe<T> {
    /// The probe.
    pub const NEW: FromProbe<T> = FromProbe(PhantomData);
}

/// Chosen when `T: FromTerm`.
pub trait ViaFromTerm<T> {
    /// Converts.
    fn read_term_probe(&self, term: &Term) -> Option<T>;
}
impl<T: FromTerm> ViaFromTerm<T> for &FromProbe<T> {
    fn read_term_probe(&self, term: &Term) -> Option<T> {
        T::from_term(term).ok()
    }
}

/// Chosen otherwise.
pub trait NoFromTerm<T> {
    /// Cannot convert.
    fn read_term_probe(&self, term: &Term) -> Option<T>;
}
impl<T> NoFromTerm<T> for FromProbe<T> {
    fn read_term_probe(&self, _: &Term) -> Option<T> {
        None
    }
}

/// Probe for writing a `T` as a term.
pub struct IntoProbe<T>(PhantomData<fn(T)>);

impl<T> IntoProbe<T> {
    /// The probe.
    pub const NEW: IntoProbe<T> = IntoProbe(PhantomData);
}

/// Chosen when `T: IntoTerm`.
pub trait ViaIntoTerm<T> {
    /// Converts, or gives the value back.
    fn write_term_probe(&self, value: T) -> Result<Term, T>;
}
impl<T: IntoTerm> ViaIntoTerm<T> for &IntoProbe<T> {
    fn write_term_probe(&self, value: T) -> Result<Term, T> {
        Ok(value.into_term())
    }
}

/// Chosen otherwise.
pub trait NoIntoTerm<T> {
    /// Gives the value back.
    fn write_term_probe(&self, value: T) -> Result<Term, T>;
}
impl<T> NoIntoTerm<T> for IntoProbe<T> {
    fn write_term_probe(&self, value: T) -> Result<Term, T> {
        Err(value)
    }
}

/// Probe for an actor's state as a term (when the actor implements [`StateTerm`]).
pub struct StateProbe<'a, T>(pub &'a T);

/// Chosen when `T: StateTerm`.
pub trait ViaStateTerm {
    /// The state as a boxed [`Term`].
    fn state_value_probe(&self) -> Option<Box<dyn std::any::Any + Send>>;
}
impl<T: StateTerm> ViaStateTerm for &StateProbe<'_, T> {
    fn state_value_probe(&self) -> Option<Box<dyn std::any::Any + Send>> {
        Some(Box::new(self.0.state_term()))
    }
}

/// Chosen otherwise.
pub trait NoStateTerm {
    /// None.
    fn state_value_probe(&self) -> Option<Box<dyn std::any::Any + Send>>;
}
impl<T> NoStateTerm for StateProbe<'_, T> {
    fn state_value_probe(&self) -> Option<Box<dyn std::any::Any + Send>> {
        None
    }
}

/// The arguments of a message addressed to handler `name` with `arity` arguments,
/// by the convention of `#[actor]`: `name` or `{name}` for none, `{name, A1, .., An}`
/// otherwise.
pub fn match_message<'t>(term: &'t Term, name: &str, arity: usize) -> Option<&'t [Term]> {
    match term {
        Term::Atom(a) if arity == 0 && a == name => Some(&[]),
        Term::Tuple(items)
            if items.len() == arity + 1 && items.first().is_some_and(|t| t.is_atom(name)) =>
        {
            Some(&items[1..])
        }
        _ => None,
    }
}

/// `TypeId::of::<Term>()`.
pub fn term_type_id() -> std::any::TypeId {
    std::any::TypeId::of::<Term>()
}
