//! [`Term`]: an Erlang value as the External Term Format carries it, with the
//! identifiers it can hold ([`ErlPid`], [`ErlRef`], [`ErlPort`]) and a few constructors.

use std::fmt;

use ergo_runtime::{Atom, Pid};

/// An Erlang term.
///
/// Lists are kept flat: a proper list is [`Term::List`] (the empty list is `List(vec![])`,
/// Erlang's `[]`), a list whose tail is not `[]` is [`Term::ImproperList`]. A string sent
/// by Erlang as `STRING_EXT` (`"abc"`) is a list of small integers, as in Erlang.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// An atom (`ok`, `'hello world'`). Not interned: atoms from the network cost
    /// only their own memory.
    Atom(String),
    /// An integer that fits in an `i64`.
    Integer(i64),
    /// An integer that does not fit in an `i64`.
    BigInt(BigInt),
    /// A float.
    Float(f64),
    /// A binary (`<<"abc">>`, an Elixir string).
    Binary(Vec<u8>),
    /// A bitstring whose length is not a multiple of 8: `bits` (1..=7) bits of the
    /// last byte are used (the most significant ones).
    BitBinary {
        /// The bytes, the last one partially used.
        bytes: Vec<u8>,
        /// How many bits of the last byte belong to the bitstring (1..=7).
        bits: u8,
    },
    /// A proper list (`[]` when empty).
    List(Vec<Term>),
    /// `[H1, H2 | Tail]` with a tail that is not a list; never empty.
    ImproperList(Vec<Term>, Box<Term>),
    /// A tuple.
    Tuple(Vec<Term>),
    /// A map, in the order the pairs were decoded or built.
    Map(Vec<(Term, Term)>),
    /// A process id.
    Pid(ErlPid),
    /// A port id.
    Port(ErlPort),
    /// A reference.
    Ref(ErlRef),
    /// A closure (`NEW_FUN_EXT`), kept opaque: its encoded bytes after the tag.
    Fun(OpaqueFun),
    /// An export fun, `fun Module:Function/Arity`.
    Export {
        /// The module.
        module: String,
        /// The function.
        function: String,
        /// The arity.
        arity: u8,
    },
}

/// An integer too large for `i64`: sign and little-endian magnitude (no trailing zero
/// bytes, never zero).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BigInt {
    /// True when negative.
    pub negative: bool,
    /// The magnitude, least significant byte first.
    pub magnitude: Vec<u8>,
}

impl BigInt {
    /// Builds an integer term from sign and magnitude: an `i64` when it fits.
    pub fn into_term(negative: bool, mut magnitude: Vec<u8>) -> Term {
        while magnitude.last() == Some(&0) {
            magnitude.pop();
        }
        if magnitude.len() <= 16 {
            let mut buf = [0u8; 16];
            buf[..magnitude.len()].copy_from_slice(&magnitude);
            let m = u128::from_le_bytes(buf);
            let v = if negative {
                0i128.checked_sub_unsigned(m)
            } else {
                i128::try_from(m).ok()
            };
            if let Some(v) = v.and_then(|v| i64::try_from(v).ok()) {
                return Term::Integer(v);
            }
        }
        Term::BigInt(BigInt {
            negative,
            magnitude,
        })
    }

    /// The value as an `i128`, when it fits.
    pub fn to_i128(&self) -> Option<i128> {
        if self.magnitude.len() > 16 {
            return None;
        }
        let mut buf = [0u8; 16];
        buf[..self.magnitude.len()].copy_from_slice(&self.magnitude);
        let m = u128::from_le_bytes(buf);
        if self.negative {
            0i128.checked_sub_unsigned(m)
        } else {
            i128::try_from(m).ok()
        }
    }
}

/// A process id of any node: the node's name, the process number and serial (two
/// 32-bit halves, 15 and 13 bits on a pre-OTP-26 node) and the node's creation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ErlPid {
    /// `name@host` of the node the process lives on.
    pub node: String,
    /// The process number.
    pub id: u32,
    /// The serial.
    pub serial: u32,
    /// The creation (incarnation) of the node.
    pub creation: u32,
}

impl ErlPid {
    /// The same process as an ergo [`Pid`]: id = serial << 32 | number.
    pub fn to_pid(&self) -> Pid {
        Pid::new(
            Atom::new(&self.node),
            (u64::from(self.serial) << 32) | u64::from(self.id),
            self.creation,
        )
    }

    /// An ergo [`Pid`] as an Erlang pid (the inverse of [`ErlPid::to_pid`]).
    pub fn from_pid(pid: Pid) -> ErlPid {
        ErlPid {
            node: pid.node().as_str().to_string(),
            id: pid.id() as u32,
            serial: (pid.id() >> 32) as u32,
            creation: pid.creation(),
        }
    }
}

impl fmt::Display for ErlPid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}.{}>", self.node, self.id, self.serial)
    }
}

/// A port id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ErlPort {
    /// The node.
    pub node: String,
    /// The port number (up to 64 bits with `V4_PORT_EXT`).
    pub id: u64,
    /// The node's creation.
    pub creation: u32,
}

/// A reference: node, creation and 1 to 5 32-bit words.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ErlRef {
    /// The node that made it.
    pub node: String,
    /// The node's creation.
    pub creation: u32,
    /// The id words (1..=5).
    pub ids: Vec<u32>,
}

impl fmt::Display for ErlRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#Ref<{}", self.node)?;
        for id in self.ids.iter().rev() {
            write!(f, ".{id}")?;
        }
        f.write_str(">")
    }
}

/// A closure from another node, carried opaquely (it can be stored and sent back,
/// not called).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OpaqueFun {
    /// The `NEW_FUN_EXT` body after the tag byte (starting with its `Size` field).
    pub bytes: Vec<u8>,
}

impl Term {
    /// An atom.
    pub fn atom(name: &str) -> Term {
        Term::Atom(name.to_owned())
    }

    /// A tuple.
    pub fn tuple(items: impl IntoIterator<Item = Term>) -> Term {
        Term::Tuple(items.into_iter().collect())
    }

    /// A proper list.
    pub fn list(items: impl IntoIterator<Item = Term>) -> Term {
        Term::List(items.into_iter().collect())
    }

    /// A binary holding `text` (an Elixir string).
    pub fn binary(text: impl AsRef<[u8]>) -> Term {
        Term::Binary(text.as_ref().to_vec())
    }

    /// `[]`.
    pub fn nil() -> Term {
        Term::List(Vec::new())
    }

    /// The atom's name, if this is an atom.
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, if this is a tuple.
    pub fn as_tuple(&self) -> Option<&[Term]> {
        match self {
            Term::Tuple(t) => Some(t),
            _ => None,
        }
    }

    /// True for the atom `name`.
    pub fn is_atom(&self, name: &str) -> bool {
        self.as_atom() == Some(name)
    }

    /// A short name of the term's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Term::Atom(_) => "atom",
            Term::Integer(_) | Term::BigInt(_) => "integer",
            Term::Float(_) => "float",
            Term::Binary(_) => "binary",
            Term::BitBinary { .. } => "bitstring",
            Term::List(_) => "list",
            Term::ImproperList(..) => "improper list",
            Term::Tuple(_) => "tuple",
            Term::Map(_) => "map",
            Term::Pid(_) => "pid",
            Term::Port(_) => "port",
            Term::Ref(_) => "reference",
            Term::Fun(_) => "fun",
            Term::Export { .. } => "export fun",
        }
    }
}

impl From<Pid> for Term {
    fn from(pid: Pid) -> Term {
        Term::Pid(ErlPid::from_pid(pid))
    }
}

impl fmt::Display for Term {
    /// Erlang syntax (approximately: binaries print as `<<"text">>` when they are text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(f: &mut fmt::Formatter<'_>, items: &[Term]) -> fmt::Result {
            for (i, t) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{t}")?;
            }
            Ok(())
        }
        match self {
            Term::Atom(a) => {
                let plain = a.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && a.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '@');
                if plain {
                    f.write_str(a)
                } else {
                    write!(f, "'{}'", a.replace('\'', "\\'"))
                }
            }
            Term::Integer(i) => write!(f, "{i}"),
            Term::BigInt(b) => match b.to_i128() {
                Some(v) => write!(f, "{v}"),
                None => write!(f, "<bigint {} bytes>", b.magnitude.len()),
            },
            Term::Float(x) => write!(f, "{x:?}"),
            Term::Binary(b) => match std::str::from_utf8(b) {
                Ok(s) => write!(f, "<<{s:?}>>"),
                Err(_) => write!(f, "<<{} bytes>>", b.len()),
            },
            Term::BitBinary { bytes, bits } => {
                write!(
                    f,
                    "<<{} bits>>",
                    (bytes.len() * 8).saturating_sub(8) + *bits as usize
                )
            }
            Term::List(items) => {
                f.write_str("[")?;
                seq(f, items)?;
                f.write_str("]")
            }
            Term::ImproperList(items, tail) => {
                f.write_str("[")?;
                seq(f, items)?;
                write!(f, "|{tail}]")
            }
            Term::Tuple(items) => {
                f.write_str("{")?;
                seq(f, items)?;
                f.write_str("}")
            }
            Term::Map(pairs) => {
                f.write_str("#{")?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{k} => {v}")?;
                }
                f.write_str("}")
            }
            Term::Pid(p) => write!(f, "{p}"),
            Term::Port(p) => write!(f, "#Port<{}.{}>", p.node, p.id),
            Term::Ref(r) => write!(f, "{r}"),
            Term::Fun(_) => f.write_str("#Fun<>"),
            Term::Export {
                module,
                function,
                arity,
            } => write!(f, "fun {module}:{function}/{arity}"),
        }
    }
}
