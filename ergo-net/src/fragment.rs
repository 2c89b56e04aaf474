//! Fragmentation of large messages. A frame whose body (after compression) is larger
//! than the fragment size leaves as fragments, each a frame of its own:
//! `[u32 length][u8 flags = FRAGMENT][u64 id][u32 total][u32 offset][bytes]`, where
//! `total` is the whole body's size and `offset` where these bytes go. The receiver
//! reassembles the body and handles it as the frame it was.
//!
//! The sender checks a message against the largest one the peer accepts (told in its
//! handshake) before anything is queued. The receiver keeps at most `max_assemblies`
//! partial messages per connection, each for at most `assembly_timeout`, and drops a
//! message announced above its limit without reading it into memory; fragments out of
//! order or past their total break the framing (the connection closes).

use std::time::{Duration, Instant};

use thiserror::Error;

use crate::frame::COMPRESSED;

/// Flag: this frame is a fragment of a larger one.
pub const FRAGMENT: u8 = 2;
/// Bytes of a fragment's header after the length: flags, id, total, offset.
pub const HEAD: usize = 1 + 8 + 4 + 4;

/// The size of the message in a frame body, before compression.
pub fn message_size(body: &[u8]) -> usize {
    match body.split_first() {
        Some((flags, rest)) if flags & COMPRESSED != 0 && rest.len() >= 4 => {
            u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize
        }
        Some((_, rest)) => rest.len(),
        None => 0,
    }
}

/// Finishes the frame just encoded at `buf[start..]`: refuses it (removing it) if its
/// message is larger than `max`, splits it into fragments of `fragment` bytes if its
/// body is larger than that (numbered by `id`).
pub fn finish(
    buf: &mut Vec<u8>,
    start: usize,
    max: usize,
    fragment: usize,
    id: impl FnOnce() -> u64,
) -> Result<(), TooLarge> {
    let size = message_size(&buf[start + 4..]);
    if size > max {
        buf.truncate(start);
        return Err(TooLarge { size, max });
    }
    let len = buf.len() - start - 4;
    if len <= fragment {
        return Ok(());
    }
    let Ok(total) = u32::try_from(len) else {
        buf.truncate(start);
        return Err(TooLarge { size, max });
    };
    let body = buf.split_off(start + 4);
    buf.truncate(start);
    buf.reserve(len + len.div_ceil(fragment) * (HEAD + 4));
    let id = id();
    for (i, chunk) in body.chunks(fragment).enumerate() {
        let frame_len = (HEAD + chunk.len()) as u32;
        buf.extend_from_slice(&frame_len.to_be_bytes());
        buf.push(FRAGMENT);
        buf.extend_from_slice(&id.to_le_bytes());
        buf.extend_from_slice(&total.to_le_bytes());
        buf.extend_from_slice(&((i * fragment) as u32).to_le_bytes());
        buf.extend_from_slice(chunk);
    }
    Ok(())
}

/// A message larger than the peer accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    /// Its size before compression.
    pub size: usize,
    /// The limit.
    pub max: usize,
}

/// Fragments that break the framing.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
pub enum FragmentError {
    /// A fragment header cut short.
    #[error("truncated fragment header")]
    Truncated,
    /// A fragment not where the message stands (out of order, or a continuation of a
    /// message never begun).
    #[error("fragment {id} at offset {offset}, expected {expected}")]
    OutOfOrder {
        /// The message.
        id: u64,
        /// Where the fragment says it goes.
        offset: u64,
        /// Where the message stands.
        expected: u64,
    },
    /// Bytes beyond the announced total, or a total that changed.
    #[error("fragment {0} overruns its message")]
    Overrun(u64),
}

/// True if frame body `body` is a fragment of a larger message.
pub fn is_fragment(body: &[u8]) -> bool {
    body.first().is_some_and(|flags| flags & FRAGMENT != 0)
}

/// What one fragment made of the assembly.
#[derive(Debug, PartialEq, Eq)]
pub enum Assembled {
    /// The fragment completed a message: its whole frame body.
    Whole(Vec<u8>),
    /// A fragment was taken; nothing to handle yet.
    Partial,
    /// A message was dropped (announced above the limit, timed out, or evicted by a
    /// newer one past the cap); the text says which.
    Dropped(String),
}

struct Assembly {
    id: u64,
    total: usize,
    got: usize,
    /// `None` for a message being skipped (announced above the limit).
    body: Option<Vec<u8>>,
    started: Instant,
}

/// The partial messages of one connection.
pub struct Assembler {
    parts: Vec<Assembly>,
    max_message: usize,
    max_assemblies: usize,
    timeout: Duration,
}

impl Assembler {
    /// At most `max_assemblies` partial messages, each at most `max_message` bytes
    /// (before compression; the compressed body may be a little larger) and
    /// `timeout` old.
    pub fn new(max_message: usize, max_assemblies: usize, timeout: Duration) -> Assembler {
        Assembler {
            parts: Vec::new(),
            max_message,
            max_assemblies: max_assemblies.max(1),
            timeout,
        }
    }

    /// Partial messages held.
    pub fn len(&self) -> usize {
        self.parts.len()
    }

    /// True if none is held.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Takes the fragment in frame body `body` (see [`is_fragment`]): adds it to its
    /// message, and when that completes, gives the message's whole frame body.
    pub fn take(&mut self, body: &[u8]) -> Result<Assembled, FragmentError> {
        if body.len() < HEAD {
            return Err(FragmentError::Truncated);
        }
        let id = u64::from_le_bytes(body[1..9].try_into().unwrap_or_default());
        let total = u32::from_le_bytes(body[9..13].try_into().unwrap_or_default()) as usize;
        let offset = u32::from_le_bytes(body[13..17].try_into().unwrap_or_default()) as usize;
        let chunk = &body[HEAD..];
        let mut dropped = None;
        let now = Instant::now();
        let timeout = self.timeout;
        if let Some(old) = self
            .parts
            .iter()
            .position(|a| a.id != id && now.duration_since(a.started) > timeout)
        {
            let old = self.parts.swap_remove(old);
            dropped = Some(format!(
                "message {} incomplete after {:?} ({} of {} bytes)",
                old.id, timeout, old.got, old.total
            ));
        }
        let index = match self.parts.iter().position(|a| a.id == id) {
            Some(i) => i,
            None => {
                if offset != 0 {
                    return Err(FragmentError::OutOfOrder {
                        id,
                        offset: offset as u64,
                        expected: 0,
                    });
                }
                if self.parts.len() >= self.max_assemblies {
                    let oldest = (0..self.parts.len())
                        .min_by_key(|&i| self.parts[i].started)
                        .unwrap_or(0);
                    let old = self.parts.swap_remove(oldest);
                    dropped = Some(format!(
                        "message {} evicted: more than {} partial messages",
                        old.id, self.max_assemblies
                    ));
                }
                // Room for the flags byte and lz4's size prefix over the limit.
                let skip = total > self.max_message + 16;
                if skip {
                    dropped = Some(format!(
                        "message {id} of {total} bytes refused: above the limit of {}",
                        self.max_message
                    ));
                }
                self.parts.push(Assembly {
                    id,
                    total,
                    got: 0,
                    body: (!skip).then(|| Vec::with_capacity(chunk.len())),
                    started: now,
                });
                self.parts.len() - 1
            }
        };
        let part = &mut self.parts[index];
        if offset != part.got {
            return Err(FragmentError::OutOfOrder {
                id,
                offset: offset as u64,
                expected: part.got as u64,
            });
        }
        if total != part.total || part.got + chunk.len() > part.total || chunk.is_empty() {
            return Err(FragmentError::Overrun(id));
        }
        part.got += chunk.len();
        if let Some(whole) = &mut part.body {
            whole.extend_from_slice(chunk);
        }
        if part.got < part.total {
            return Ok(dropped.map_or(Assembled::Partial, Assembled::Dropped));
        }
        let done = self.parts.swap_remove(index);
        match done.body {
            Some(whole) => Ok(Assembled::Whole(whole)),
            None => Ok(dropped.map_or(Assembled::Partial, Assembled::Dropped)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(buf: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < buf.len() {
            let len = u32::from_be_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
            out.push(buf[at + 4..at + 4 + len].to_vec());
            at += 4 + len;
        }
        out
    }

    fn plain_frame(body_len: usize) -> Vec<u8> {
        let mut buf = vec![0; 4];
        buf.push(0);
        buf.extend((0..body_len - 1).map(|i| i as u8));
        let len = (buf.len() - 4) as u32;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        buf
    }

    #[test]
    fn split_and_reassembled() {
        let original = plain_frame(10_000);
        let mut buf = b"xy".to_vec();
        buf.extend_from_slice(&original);
        finish(&mut buf, 2, 1 << 20, 1024, || 7).unwrap();
        assert_eq!(&buf[..2], b"xy");
        let parts = frames(&buf[2..]);
        assert_eq!(parts.len(), 10);
        let mut asm = Assembler::new(1 << 20, 4, Duration::from_secs(30));
        for (i, part) in parts.into_iter().enumerate() {
            assert!(is_fragment(&part));
            let r = asm.take(&part).unwrap();
            if i < 9 {
                assert_eq!(r, Assembled::Partial);
            } else {
                assert_eq!(r, Assembled::Whole(original[4..].to_vec()));
            }
        }
        assert!(asm.is_empty());
    }

    #[test]
    fn too_large_is_refused_at_the_sender_and_skipped_at_the_receiver() {
        let mut buf = plain_frame(5000);
        assert_eq!(
            finish(&mut buf, 0, 1000, 1024, || 1),
            Err(TooLarge {
                size: 4999,
                max: 1000
            })
        );
        assert!(buf.is_empty());
        let mut buf = plain_frame(5000);
        finish(&mut buf, 0, 1 << 20, 1024, || 1).unwrap();
        let mut asm = Assembler::new(1000, 4, Duration::from_secs(30));
        let results: Vec<_> = frames(&buf)
            .into_iter()
            .map(|p| asm.take(&p).unwrap())
            .collect();
        assert!(matches!(results[0], Assembled::Dropped(_)));
        assert!(results[1..].iter().all(|r| *r == Assembled::Partial));
        assert!(asm.is_empty());
    }

    #[test]
    fn out_of_order_and_overruns_break_the_framing() {
        let mut buf = plain_frame(3000);
        finish(&mut buf, 0, 1 << 20, 1024, || 1).unwrap();
        let parts = frames(&buf);
        let mut asm = Assembler::new(1 << 20, 4, Duration::from_secs(30));
        assert!(matches!(
            asm.take(&parts[1]),
            Err(FragmentError::OutOfOrder { .. })
        ));
        let mut asm = Assembler::new(1 << 20, 4, Duration::from_secs(30));
        asm.take(&parts[0]).unwrap();
        assert!(matches!(
            asm.take(&parts[0]),
            Err(FragmentError::OutOfOrder { .. })
        ));
        assert_eq!(asm.take(&[FRAGMENT, 1]), Err(FragmentError::Truncated));
    }

    #[test]
    fn the_cap_evicts_the_oldest() {
        let mut asm = Assembler::new(1 << 20, 2, Duration::from_secs(30));
        for id in 0..3u64 {
            let mut buf = plain_frame(3000);
            finish(&mut buf, 0, 1 << 20, 1024, || id).unwrap();
            let r = asm.take(&frames(&buf)[0]).unwrap();
            assert_eq!(matches!(r, Assembled::Dropped(_)), id == 2, "{r:?}");
        }
        assert_eq!(asm.len(), 2);
    }

    #[test]
    fn any_bytes_never_panic() {
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut asm = Assembler::new(1 << 16, 4, Duration::from_secs(30));
        for n in 0..100_000usize {
            let mut body: Vec<u8> = (0..(n % 40))
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed as u8
                })
                .collect();
            if let Some(f) = body.first_mut() {
                *f |= FRAGMENT;
            }
            if body.len() > 16 {
                body[13..17].copy_from_slice(&0u32.to_le_bytes());
            }
            let _ = asm.take(&body);
            assert!(asm.len() <= 4);
        }
    }
}
