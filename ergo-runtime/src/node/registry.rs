//! Registered names and aliases of a node's processes.

use parking_lot::RwLock;
use rustc_hash::FxHashMap;

use crate::error::NameError;
use crate::pid::{Alias, Atom, Pid};

use super::Node;

#[derive(Default)]
pub(crate) struct Registry {
    names: RwLock<FxHashMap<Atom, Pid>>,
    aliases: RwLock<FxHashMap<Alias, Pid>>,
}

impl Registry {
    pub(crate) fn register(&self, node: &Node, name: Atom, pid: Pid) -> Result<(), NameError> {
        let process = node.process(pid).ok_or(NameError::NoProcess)?;
        let mut names = self.names.write();
        if names.contains_key(&name) {
            return Err(NameError::Taken(name));
        }
        // The side lock is taken inside the names lock; termination takes them in the
        // other order only one at a time, so there is no cycle.
        process
            .core()
            .with_live_side(|side| match side.name {
                Some(existing) => Err(NameError::AlreadyNamed(existing)),
                None => {
                    side.name = Some(name);
                    Ok(())
                }
            })
            .ok_or(NameError::NoProcess)??;
        names.insert(name, pid);
        Ok(())
    }

    pub(crate) fn unregister(&self, node: &Node, name: Atom) -> Result<(), NameError> {
        let pid = self.names.write().remove(&name).ok_or(NameError::Unknown)?;
        if let Some(process) = node.process(pid) {
            process.core().with_live_side(|side| {
                if side.name == Some(name) {
                    side.name = None;
                }
            });
        }
        Ok(())
    }

    pub(crate) fn whereis(&self, name: Atom) -> Option<Pid> {
        self.names.read().get(&name).copied()
    }

    /// Drops `name` if it still points at `pid` (the process terminated).
    pub(crate) fn forget_name(&self, name: Atom, pid: Pid) {
        let mut names = self.names.write();
        if names.get(&name) == Some(&pid) {
            names.remove(&name);
        }
    }

    pub(crate) fn create_alias(&self, node: &Node, pid: Pid) -> Result<Alias, NameError> {
        let process = node.process(pid).ok_or(NameError::NoProcess)?;
        let alias = Alias(node.make_ref());
        process
            .core()
            .with_live_side(|side| side.aliases.push(alias))
            .ok_or(NameError::NoProcess)?;
        self.aliases.write().insert(alias, pid);
        Ok(alias)
    }

    pub(crate) fn delete_alias(
        &self,
        node: &Node,
        alias: Alias,
        owner: Pid,
    ) -> Result<(), NameError> {
        let mut aliases = self.aliases.write();
        match aliases.get(&alias) {
            None => return Err(NameError::Unknown),
            Some(pid) if *pid != owner => return Err(NameError::NotOwner),
            Some(_) => {}
        }
        aliases.remove(&alias);
        drop(aliases);
        if let Some(process) = node.process(owner) {
            process
                .core()
                .with_live_side(|side| side.aliases.retain(|a| *a != alias));
        }
        Ok(())
    }

    pub(crate) fn alias_owner(&self, alias: Alias) -> Option<Pid> {
        self.aliases.read().get(&alias).copied()
    }

    pub(crate) fn forget_alias(&self, alias: Alias) {
        self.aliases.write().remove(&alias);
    }

    pub(crate) fn name_count(&self) -> usize {
        self.names.read().len()
    }

    pub(crate) fn alias_count(&self) -> usize {
        self.aliases.read().len()
    }
}
