//! The process table: a sharded slab. A pid number encodes its shard, its slot and the
//! slot's generation, so lookups are an index and a compare, spawns never rehash, and a
//! reused slot never answers for a dead pid.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::process::core::AnyProcess;

const SHARD_BITS: u32 = 6;
const SHARDS: usize = 1 << SHARD_BITS;
const INDEX_BITS: u32 = 32 - SHARD_BITS;
const NO_FREE: u32 = u32::MAX;

enum Slot {
    Occupied(u32, Arc<dyn AnyProcess>),
    Vacant(u32, u32),
}

struct Shard {
    slots: Vec<Slot>,
    free: u32,
    len: usize,
}

pub(crate) struct ProcessTable {
    shards: Box<[Mutex<Shard>]>,
}

fn split(id: u64) -> (usize, usize, u32) {
    let shard = (id as usize) & (SHARDS - 1);
    let index = ((id as u32) >> SHARD_BITS) as usize;
    let generation = (id >> 32) as u32;
    (shard, index, generation)
}

fn join(shard: usize, index: usize, generation: u32) -> u64 {
    (u64::from(generation) << 32) | ((index as u64) << SHARD_BITS) | shard as u64
}

impl ProcessTable {
    pub(crate) fn new() -> Self {
        ProcessTable {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        slots: Vec::new(),
                        free: NO_FREE,
                        len: 0,
                    })
                })
                .collect(),
        }
    }

    /// Inserts the process `make` builds for the id it is given (never 0: that is the
    /// node's own id). `hint` spreads inserts over the shards.
    pub(crate) fn insert_with<P: AnyProcess>(
        &self,
        hint: u64,
        make: impl FnOnce(u64) -> Arc<P>,
    ) -> Arc<P> {
        let shard_no = (hint as usize) & (SHARDS - 1);
        let mut shard = self.shards[shard_no].lock();
        let (index, generation) = match shard.free {
            NO_FREE => {
                let index = shard.slots.len();
                assert!(index < (1 << INDEX_BITS), "process table shard full");
                shard.slots.push(Slot::Vacant(1, NO_FREE));
                (index, 1)
            }
            free => {
                let index = free as usize;
                let Slot::Vacant(generation, next) = shard.slots[index] else {
                    unreachable!("free list points at a vacant slot")
                };
                shard.free = next;
                (index, generation)
            }
        };
        let process = make(join(shard_no, index, generation));
        shard.slots[index] = Slot::Occupied(generation, process.clone());
        shard.len += 1;
        process
    }

    pub(crate) fn get(&self, id: u64) -> Option<Arc<dyn AnyProcess>> {
        let (shard, index, generation) = split(id);
        match self.shards[shard].lock().slots.get(index) {
            Some(Slot::Occupied(g, p)) if *g == generation => Some(p.clone()),
            _ => None,
        }
    }

    pub(crate) fn remove(&self, id: u64) -> Option<Arc<dyn AnyProcess>> {
        let (shard_no, index, generation) = split(id);
        let mut shard = self.shards[shard_no].lock();
        match shard.slots.get(index) {
            Some(Slot::Occupied(g, _)) if *g == generation => {}
            _ => return None,
        }
        let next_generation = generation.wrapping_add(1).max(1);
        let free = shard.free;
        let old = std::mem::replace(&mut shard.slots[index], Slot::Vacant(next_generation, free));
        shard.free = index as u32;
        shard.len -= 1;
        match old {
            Slot::Occupied(_, p) => Some(p),
            Slot::Vacant(..) => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().len).sum()
    }

    /// A snapshot of every process.
    pub(crate) fn all(&self) -> Vec<Arc<dyn AnyProcess>> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            all.extend(shard.lock().slots.iter().filter_map(|s| match s {
                Slot::Occupied(_, p) => Some(p.clone()),
                Slot::Vacant(..) => None,
            }));
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_never_zero() {
        assert_eq!(split(join(5, 1234, 7)), (5, 1234, 7));
        assert_ne!(join(0, 0, 1), 0);
    }
}
