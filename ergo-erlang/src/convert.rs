//! [`FromTerm`] and [`IntoTerm`]: how Rust values and Erlang terms map onto each other,
//! implemented for the common Rust types.
//!
//! | Rust | Erlang |
//! |---|---|
//! | integers (`i8`..`i128`, `u8`..`u128`, `usize`, `isize`) | integer (range-checked) |
//! | `f64`, `f32` | float (an integer is accepted when decoding) |
//! | `bool` | `true` / `false` |
//! | `String`, `&str` | binary (UTF-8); a charlist is accepted when decoding |
//! | [`Charlist`] | charlist (`"hello"` in Erlang, `~c"hello"` in Elixir) |
//! | `()` | `ok` |
//! | `Option<T>` | `undefined` (or `nil` when decoding) / the value |
//! | `Result<T, E>` | `{ok, T}` / `{error, E}` |
//! | `Vec<T>` | proper list |
//! | tuples up to 8 | tuples |
//! | `HashMap`, `BTreeMap` | map |
//! | [`Pid`], [`ErlPid`] | pid |
//! | [`Atom`] | atom |
//! | [`Term`] | itself |

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

use ergo_runtime::{Atom, Pid};
use thiserror::Error;

use crate::term::{BigInt, ErlPid, ErlRef, Term};

/// A term that does not have the shape a Rust type needs.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
#[error("expected {expected}, got {got}")]
pub struct TermError {
    /// What the Rust type needs.
    pub expected: &'static str,
    /// The term received (shortened).
    pub got: String,
}

impl TermError {
    /// An error for `term`, which is not a `expected`.
    pub fn new(expected: &'static str, term: &Term) -> TermError {
        let mut got = term.to_string();
        if got.len() > 200 {
            let mut cut = 200;
            while !got.is_char_boundary(cut) {
                cut -= 1;
            }
            got.truncate(cut);
            got.push_str("...");
        }
        TermError { expected, got }
    }
}

/// A Rust value that can be read from a term.
pub trait FromTerm: Sized {
    /// Reads the value, or says why the term does not fit.
    fn from_term(term: &Term) -> Result<Self, TermError>;
}

/// A Rust value that can be written as a term.
pub trait IntoTerm {
    /// The term.
    fn into_term(self) -> Term;
}

impl FromTerm for Term {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        Ok(term.clone())
    }
}
impl IntoTerm for Term {
    fn into_term(self) -> Term {
        self
    }
}

fn integer(term: &Term) -> Option<i128> {
    match term {
        Term::Integer(i) => Some(i128::from(*i)),
        Term::BigInt(b) => b.to_i128(),
        _ => None,
    }
}

fn i128_term(v: i128) -> Term {
    match i64::try_from(v) {
        Ok(i) => Term::Integer(i),
        Err(_) => BigInt::into_term(v < 0, v.unsigned_abs().to_le_bytes().to_vec()),
    }
}

macro_rules! ints {
    ($($t:ty),*) => {$(
        impl FromTerm for $t {
            fn from_term(term: &Term) -> Result<Self, TermError> {
                integer(term)
                    .and_then(|v| <$t>::try_from(v).ok())
                    .ok_or_else(|| TermError::new(concat!("an integer in the range of ", stringify!($t)), term))
            }
        }
        impl IntoTerm for $t {
            fn into_term(self) -> Term {
                i128_term(self as i128)
            }
        }
    )*};
}
ints!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, usize);

impl FromTerm for u128 {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::BigInt(b) if !b.negative && b.magnitude.len() <= 16 => {
                let mut buf = [0u8; 16];
                buf[..b.magnitude.len()].copy_from_slice(&b.magnitude);
                Ok(u128::from_le_bytes(buf))
            }
            _ => integer(term)
                .and_then(|v| u128::try_from(v).ok())
                .ok_or_else(|| TermError::new("an integer in the range of u128", term)),
        }
    }
}
impl IntoTerm for u128 {
    fn into_term(self) -> Term {
        BigInt::into_term(false, self.to_le_bytes().to_vec())
    }
}

impl FromTerm for f64 {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Float(x) => Ok(*x),
            _ => integer(term)
                .map(|i| i as f64)
                .ok_or_else(|| TermError::new("a float", term)),
        }
    }
}
impl IntoTerm for f64 {
    fn into_term(self) -> Term {
        Term::Float(self)
    }
}
impl FromTerm for f32 {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        f64::from_term(term).map(|x| x as f32)
    }
}
impl IntoTerm for f32 {
    fn into_term(self) -> Term {
        Term::Float(f64::from(self))
    }
}

impl FromTerm for bool {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term.as_atom() {
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            _ => Err(TermError::new("true or false", term)),
        }
    }
}
impl IntoTerm for bool {
    fn into_term(self) -> Term {
        Term::atom(if self { "true" } else { "false" })
    }
}

/// Reads a charlist (a proper list of Unicode code points).
fn charlist(term: &Term) -> Option<String> {
    match term {
        Term::List(items) => items
            .iter()
            .map(|t| match t {
                Term::Integer(i) => u32::try_from(*i).ok().and_then(char::from_u32),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

impl FromTerm for String {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Binary(b) => String::from_utf8(b.clone())
                .map_err(|_| TermError::new("a UTF-8 binary or a charlist", term)),
            _ => charlist(term).ok_or_else(|| TermError::new("a UTF-8 binary or a charlist", term)),
        }
    }
}
impl IntoTerm for String {
    fn into_term(self) -> Term {
        Term::Binary(self.into_bytes())
    }
}
impl IntoTerm for &str {
    fn into_term(self) -> Term {
        Term::binary(self)
    }
}

/// Text sent as an Erlang charlist (`"hello"` in Erlang, `~c"hello"` in Elixir) rather
/// than a binary.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Charlist(pub String);

impl FromTerm for Charlist {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        String::from_term(term).map(Charlist)
    }
}
impl IntoTerm for Charlist {
    fn into_term(self) -> Term {
        Term::List(
            self.0
                .chars()
                .map(|c| Term::Integer(i64::from(u32::from(c))))
                .collect(),
        )
    }
}

impl FromTerm for () {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        if term.is_atom("ok") {
            Ok(())
        } else {
            Err(TermError::new("ok", term))
        }
    }
}
impl IntoTerm for () {
    fn into_term(self) -> Term {
        Term::atom("ok")
    }
}

impl<T: FromTerm> FromTerm for Option<T> {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term.as_atom() {
            Some("undefined" | "nil") => Ok(None),
            _ => T::from_term(term).map(Some),
        }
    }
}
impl<T: IntoTerm> IntoTerm for Option<T> {
    fn into_term(self) -> Term {
        match self {
            Some(v) => v.into_term(),
            None => Term::atom("undefined"),
        }
    }
}

impl<T: FromTerm, E: FromTerm> FromTerm for Result<T, E> {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term.as_tuple() {
            Some([tag, v]) if tag.is_atom("ok") => T::from_term(v).map(Ok),
            Some([tag, e]) if tag.is_atom("error") => E::from_term(e).map(Err),
            _ => Err(TermError::new("{ok, _} or {error, _}", term)),
        }
    }
}
impl<T: IntoTerm, E: IntoTerm> IntoTerm for Result<T, E> {
    fn into_term(self) -> Term {
        match self {
            Ok(v) => Term::tuple([Term::atom("ok"), v.into_term()]),
            Err(e) => Term::tuple([Term::atom("error"), e.into_term()]),
        }
    }
}

impl<T: FromTerm> FromTerm for Vec<T> {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::List(items) => items.iter().map(T::from_term).collect(),
            _ => Err(TermError::new("a proper list", term)),
        }
    }
}
impl<T: IntoTerm> IntoTerm for Vec<T> {
    fn into_term(self) -> Term {
        Term::List(self.into_iter().map(IntoTerm::into_term).collect())
    }
}

impl<T: FromTerm> FromTerm for Box<T> {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        T::from_term(term).map(Box::new)
    }
}
impl<T: IntoTerm> IntoTerm for Box<T> {
    fn into_term(self) -> Term {
        (*self).into_term()
    }
}

macro_rules! tuples {
    ($($n:literal => ($($t:ident $i:tt),+);)*) => {$(
        impl<$($t: FromTerm),+> FromTerm for ($($t,)+) {
            fn from_term(term: &Term) -> Result<Self, TermError> {
                match term.as_tuple() {
                    Some(items) if items.len() == $n => Ok(($($t::from_term(&items[$i])?,)+)),
                    _ => Err(TermError::new(concat!("a tuple of ", $n), term)),
                }
            }
        }
        impl<$($t: IntoTerm),+> IntoTerm for ($($t,)+) {
            fn into_term(self) -> Term {
                Term::Tuple(vec![$(self.$i.into_term()),+])
            }
        }
    )*};
}
tuples! {
    1 => (A 0);
    2 => (A 0, B 1);
    3 => (A 0, B 1, C 2);
    4 => (A 0, B 1, C 2, D 3);
    5 => (A 0, B 1, C 2, D 3, E 4);
    6 => (A 0, B 1, C 2, D 3, E 4, F 5);
    7 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    8 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
}

impl<K: FromTerm + Eq + Hash, V: FromTerm, S: std::hash::BuildHasher + Default> FromTerm
    for HashMap<K, V, S>
{
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Map(pairs) => pairs
                .iter()
                .map(|(k, v)| Ok((K::from_term(k)?, V::from_term(v)?)))
                .collect(),
            _ => Err(TermError::new("a map", term)),
        }
    }
}
impl<K: IntoTerm, V: IntoTerm, S> IntoTerm for HashMap<K, V, S> {
    fn into_term(self) -> Term {
        Term::Map(
            self.into_iter()
                .map(|(k, v)| (k.into_term(), v.into_term()))
                .collect(),
        )
    }
}
impl<K: FromTerm + Ord, V: FromTerm> FromTerm for BTreeMap<K, V> {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Map(pairs) => pairs
                .iter()
                .map(|(k, v)| Ok((K::from_term(k)?, V::from_term(v)?)))
                .collect(),
            _ => Err(TermError::new("a map", term)),
        }
    }
}
impl<K: IntoTerm, V: IntoTerm> IntoTerm for BTreeMap<K, V> {
    fn into_term(self) -> Term {
        Term::Map(
            self.into_iter()
                .map(|(k, v)| (k.into_term(), v.into_term()))
                .collect(),
        )
    }
}

impl FromTerm for ErlPid {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Pid(p) => Ok(p.clone()),
            _ => Err(TermError::new("a pid", term)),
        }
    }
}
impl IntoTerm for ErlPid {
    fn into_term(self) -> Term {
        Term::Pid(self)
    }
}
impl FromTerm for Pid {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        ErlPid::from_term(term).map(|p| p.to_pid())
    }
}
impl IntoTerm for Pid {
    fn into_term(self) -> Term {
        Term::from(self)
    }
}
impl FromTerm for ErlRef {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        match term {
            Term::Ref(r) => Ok(r.clone()),
            _ => Err(TermError::new("a reference", term)),
        }
    }
}
impl IntoTerm for ErlRef {
    fn into_term(self) -> Term {
        Term::Ref(self)
    }
}
impl FromTerm for Atom {
    fn from_term(term: &Term) -> Result<Self, TermError> {
        term.as_atom()
            .map(Atom::new)
            .ok_or_else(|| TermError::new("an atom", term))
    }
}
impl IntoTerm for Atom {
    fn into_term(self) -> Term {
        Term::Atom(self.as_str().to_string())
    }
}

/// An actor's state as a term, for `sys:get_state/1` and `sys:get_status/1` from
/// Erlang (as a gen_server's state): `#[actor]` uses it when the actor implements it;
/// otherwise Erlang sees the actor's `Debug` text (a binary), or `undefined`.
///
/// ```
/// use ergo_erlang::{IntoTerm, StateTerm, Term};
/// struct Counter { count: i64 }
/// impl StateTerm for Counter {
///     fn state_term(&self) -> Term {
///         Term::tuple([Term::atom("count"), self.count.into_term()])
///     }
/// }
/// ```
pub trait StateTerm {
    /// The state as a term.
    fn state_term(&self) -> Term;
}
