//! Identifiers: interned [`Atom`]s, process ids ([`Pid`]), [`Alias`]es and [`Ref`]s.

use std::fmt;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An interned string (node names, registered names): copying and comparing it is
/// comparing a `u32`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Atom(u32);

#[derive(Default)]
struct Interner {
    ids: FxHashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
}

fn interner() -> &'static RwLock<Interner> {
    static INTERNER: OnceLock<RwLock<Interner>> = OnceLock::new();
    INTERNER.get_or_init(Default::default)
}

impl Atom {
    /// Interns `name` (atoms are never freed, as in Erlang: intern names, not data).
    pub fn new(name: &str) -> Atom {
        if let Some(&id) = interner().read().ids.get(name) {
            return Atom(id);
        }
        let mut table = interner().write();
        if let Some(&id) = table.ids.get(name) {
            return Atom(id);
        }
        let id = u32::try_from(table.names.len()).expect("atom table overflow");
        let name: Arc<str> = Arc::from(name);
        table.names.push(name.clone());
        table.ids.insert(name, id);
        Atom(id)
    }

    /// The atom of `name` if it was interned already; never interns (for names that
    /// arrive from the network, which must not grow the table without bound).
    pub fn existing(name: &str) -> Option<Atom> {
        interner().read().ids.get(name).map(|&id| Atom(id))
    }

    /// The interned text.
    pub fn as_str(&self) -> Arc<str> {
        interner().read().names[self.0 as usize].clone()
    }
}

impl From<&str> for Atom {
    fn from(name: &str) -> Atom {
        Atom::new(name)
    }
}

impl From<String> for Atom {
    fn from(name: String) -> Atom {
        Atom::new(&name)
    }
}

impl From<&String> for Atom {
    fn from(name: &String) -> Atom {
        Atom::new(name)
    }
}

impl fmt::Display for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str())
    }
}

impl fmt::Debug for Atom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "'{}'", self.as_str())
    }
}

impl Serialize for Atom {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_str())
    }
}

impl<'de> Deserialize<'de> for Atom {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Atom, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Atom::new(&name))
    }
}

/// A process id: the node it lives on, a number unique on that node, and the node's
/// creation (incarnation). `Copy`, 16 bytes, compared as integers.
///
/// Prints as `<XXXXXXXX.number.serial>`, the node name hashed with CRC-32 so logs stay
/// short and stable (the number and serial are the two halves of the id); `{:?}` adds
/// the node name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Pid {
    node: Atom,
    creation: u32,
    id: u64,
}

impl Pid {
    /// Builds a pid; normally only the runtime does this.
    pub fn new(node: Atom, id: u64, creation: u32) -> Pid {
        Pid { node, id, creation }
    }
    /// The node the process lives on.
    pub fn node(&self) -> Atom {
        self.node
    }
    /// The number of the process on its node.
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The incarnation of the node that spawned the process.
    pub fn creation(&self) -> u32 {
        self.creation
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash = crc32fast::hash(self.node.as_str().as_bytes());
        write!(f, "<{hash:08X}.{}.{}>", self.id as u32, self.id >> 32)
    }
}

impl fmt::Debug for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}@{}", self.node)
    }
}

/// A reference unique on its node: monitor refs, call tags, timer handles.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Ref {
    node: Atom,
    creation: u32,
    id: u64,
}

impl Ref {
    pub(crate) fn new(node: Atom, creation: u32, id: u64) -> Ref {
        Ref { node, creation, id }
    }
    /// The node that made the reference.
    pub fn node(&self) -> Atom {
        self.node
    }

    /// Its number on that node.
    pub fn id(&self) -> u64 {
        self.id
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash = crc32fast::hash(self.node.as_str().as_bytes());
        write!(f, "Ref#<{hash:08X}.{}.{}>", self.id, self.creation)
    }
}

impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An extra address of a process, created and deleted at run time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Alias(pub(crate) Ref);

impl fmt::Display for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hash = crc32fast::hash(self.0.node.as_str().as_bytes());
        write!(f, "Alias#<{hash:08X}.{}.{}>", self.0.id, self.0.creation)
    }
}

impl fmt::Debug for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How a message is addressed: by pid, by registered name, or by alias.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Target {
    /// A process id.
    Pid(Pid),
    /// A name registered on the local node.
    Name(Atom),
    /// An alias.
    Alias(Alias),
    /// A name registered on another node (Erlang's `{Name, Node}`).
    Remote {
        /// The registered name.
        name: Atom,
        /// The node it is registered on.
        node: Atom,
    },
}

impl From<(&str, &str)> for Target {
    /// `(name, node)`: a name registered on another node.
    fn from((name, node): (&str, &str)) -> Target {
        Target::Remote {
            name: Atom::new(name),
            node: Atom::new(node),
        }
    }
}

impl From<Pid> for Target {
    fn from(pid: Pid) -> Target {
        Target::Pid(pid)
    }
}
impl From<Atom> for Target {
    fn from(name: Atom) -> Target {
        Target::Name(name)
    }
}
impl From<&str> for Target {
    fn from(name: &str) -> Target {
        Target::Name(Atom::new(name))
    }
}
impl From<Alias> for Target {
    fn from(alias: Alias) -> Target {
        Target::Alias(alias)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Pid(p) => write!(f, "{p}"),
            Target::Name(n) => write!(f, "'{n}'"),
            Target::Alias(a) => write!(f, "{a}"),
            Target::Remote { name, node } => write!(f, "{{'{name}', '{node}'}}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_intern_and_pids_print_stably() {
        let a = Atom::new("demo@127.0.0.1");
        assert_eq!(a, Atom::from("demo@127.0.0.1"));
        assert_eq!(&*a.as_str(), "demo@127.0.0.1");
        let pid = Pid::new(a, 42, 7);
        assert_eq!(pid.to_string(), Pid::new(a, 42, 7).to_string());
        assert!(pid.to_string().ends_with(".42.0>"), "{pid}");
        assert!(Pid::new(a, (3 << 32) | 9, 7).to_string().ends_with(".9.3>"));
        assert_eq!(std::mem::size_of::<Pid>(), 16);
    }
}
