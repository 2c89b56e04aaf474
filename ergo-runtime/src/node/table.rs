//! The process table: pid number → process, sharded so spawns and lookups on different
//! shards never contend.

use std::sync::Arc;

use parking_lot::Mutex;
use rustc_hash::FxHashMap;

use crate::process::core::AnyProcess;

const SHARDS: usize = 64;

pub(crate) struct ProcessTable {
    shards: Box<[Mutex<FxHashMap<u64, Arc<dyn AnyProcess>>>]>,
}

impl ProcessTable {
    pub(crate) fn new() -> Self {
        ProcessTable {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard(&self, id: u64) -> &Mutex<FxHashMap<u64, Arc<dyn AnyProcess>>> {
        &self.shards[(id as usize) % SHARDS]
    }

    pub(crate) fn insert(&self, id: u64, process: Arc<dyn AnyProcess>) {
        self.shard(id).lock().insert(id, process);
    }

    pub(crate) fn get(&self, id: u64) -> Option<Arc<dyn AnyProcess>> {
        self.shard(id).lock().get(&id).cloned()
    }

    pub(crate) fn remove(&self, id: u64) -> Option<Arc<dyn AnyProcess>> {
        self.shard(id).lock().remove(&id)
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len()).sum()
    }

    /// A snapshot of every process.
    pub(crate) fn all(&self) -> Vec<Arc<dyn AnyProcess>> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            all.extend(shard.lock().values().cloned());
        }
        all
    }
}
