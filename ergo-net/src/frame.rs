//! Frames of the native protocol: `[u32 length][u8 flags][postcard header][payload]`.
//!
//! The header says what the frame is; the payload is a message, request or reply
//! encoded with the target actor's own wire table, so it is decoded only by the
//! process it is for. Flag bit 0: everything after the flags byte is lz4-compressed
//! with its size in front; that size is checked against the limit before any
//! allocation, as the length is before the frame is read.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use ergo_runtime::dist::RemoteError;
use ergo_runtime::Atom;
use ergo_runtime::Reason;

/// Flag: the rest of the frame is compressed.
pub const COMPRESSED: u8 = 1;

/// A name as it crosses the wire: plain text, the same bytes as an [`Atom`], but decoding
/// it interns nothing. The receiver resolves it with [`Atom::existing`] (a name it has
/// never interned names nothing there), so names a peer makes up do not grow the
/// node's atom table.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
#[serde(transparent)]
pub struct WireName(pub String);

impl WireName {
    /// The wire form of `atom`.
    pub fn of(atom: Atom) -> WireName {
        WireName(atom.as_str().to_string())
    }

    /// The atom of this name, if this node ever interned it.
    pub fn existing(&self) -> Option<Atom> {
        Atom::existing(&self.0)
    }
}

/// A process on the receiving node, as a frame names it.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq, Debug)]
pub enum WireTarget {
    /// A pid number and the creation it must match.
    Pid {
        /// The pid number.
        id: u64,
        /// The node incarnation it belongs to.
        creation: u32,
    },
    /// A registered name.
    Name(WireName),
}

/// What a frame is. Pids of the sending node travel as numbers (the receiver knows the
/// sender's name and creation from the handshake); references likewise.
#[derive(Serialize, Deserialize, Clone, PartialEq, Debug)]
pub enum Header {
    /// An asynchronous message; `ack` ≠ 0 asks for an [`Header::Ack`] (important delivery).
    Send {
        from: u64,
        to: WireTarget,
        priority: u8,
        ack: u64,
    },
    /// A request; the reply comes back as [`Header::Reply`] with the same tag.
    Call {
        from: u64,
        to: WireTarget,
        priority: u8,
        tag: u64,
    },
    /// A reply; the payload is the encoded reply when `status` is `Ok`.
    Reply {
        tag: u64,
        status: Result<(), RemoteError>,
    },
    /// The target's mailbox accepted (or refused) an important message.
    Ack {
        tag: u64,
        status: Result<(), RemoteError>,
    },
    /// An exit signal from a process of the sender (of its incarnation
    /// `from_creation`) to one of the receiver (of the receiver's incarnation
    /// `to_creation`: a signal for a former incarnation's process reaches nobody).
    Exit {
        from: u64,
        from_creation: u32,
        to: u64,
        to_creation: u32,
        reason: Reason,
        link: bool,
    },
    /// Adds the receiver's half of a link.
    Link {
        from: u64,
        to: u64,
        to_creation: u32,
    },
    /// Removes the receiver's half of a link.
    Unlink {
        from: u64,
        to: u64,
        to_creation: u32,
    },
    /// Starts a monitor by a process of the sender.
    Monitor {
        watcher: u64,
        target: WireTarget,
        reference: u64,
    },
    /// Stops it.
    Demonitor {
        watcher: u64,
        target: u64,
        reference: u64,
    },
    /// A monitored process of the sender terminated. `reference` was made by the receiver.
    Down {
        watcher: u64,
        reference: u64,
        pid: u64,
        /// The incarnation `pid` belongs to (that of a stale pid when it is the reason).
        pid_creation: u32,
        name: Option<WireName>,
        reason: Reason,
    },
    /// Asks for the pid and actor type registered under `name`.
    Lookup { tag: u64, name: WireName },
    /// Answers a lookup: the pid number and the actor type's name.
    Found {
        tag: u64,
        found: Option<(u64, String)>,
    },
    /// Spawns a process from an enabled factory; the payload is the encoded init args.
    Spawn {
        tag: u64,
        factory: String,
        name: Option<WireName>,
    },
    /// Answers a spawn with the new pid number.
    Spawned {
        tag: u64,
        result: Result<u64, RemoteError>,
    },
    /// Keepalive.
    Ping,
    /// Keepalive answer.
    Pong,
    /// Starts a loaded application the receiver allows remote starts of; answered with
    /// [`Header::Spawned`] carrying the root process.
    StartApp { tag: u64, name: WireName },
    /// An untyped message of a registered type (`ergo::register_message`), named by
    /// `kind` (a type name, not interned); the receiver decodes it if it handles it.
    SendAny {
        from: u64,
        to: WireTarget,
        priority: u8,
        kind: String,
    },
}

/// A frame that cannot be used.
#[derive(Error, Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Longer than the limit (checked before reading it).
    #[error("frame of {0} bytes exceeds the limit of {1}")]
    TooLarge(usize, usize),
    /// Declares a decompressed size above the limit (checked before decompressing).
    #[error("frame decompresses to {0} bytes, above the limit of {1}")]
    DecompressedTooLarge(usize, usize),
    /// Not a valid frame.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

/// Appends a frame: length, flags, header, then whatever `payload` writes. Frames whose
/// body exceeds `compress_above` (0 = never) are compressed.
pub fn encode(
    buf: &mut Vec<u8>,
    header: &Header,
    compress_above: usize,
    payload: impl FnOnce(&mut Vec<u8>) -> Result<(), ergo_runtime::wire::WireError>,
) -> Result<(), ergo_runtime::wire::WireError> {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0, 0, 0, 0]);
    if !fast::encode(buf, header) {
        let encoded = postcard::to_extend(header, std::mem::take(buf))
            .map_err(|e| ergo_runtime::wire::WireError::Encode(e.to_string()));
        match encoded {
            Ok(full) => *buf = full,
            Err(e) => return Err(e),
        }
    }
    if let Err(e) = payload(buf) {
        buf.truncate(start);
        return Err(e);
    }
    let body = start + 5;
    if compress_above != 0 && buf.len() - body > compress_above {
        let compressed = lz4_flex::compress_prepend_size(&buf[body..]);
        buf.truncate(body);
        buf.extend_from_slice(&compressed);
        buf[start + 4] = COMPRESSED;
    }
    let len = u32::try_from(buf.len() - start - 4)
        .map_err(|_| ergo_runtime::wire::WireError::Encode("frame larger than 4 GiB".into()))?;
    buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// Checks a frame length read from the wire.
pub fn check_len(len: usize, max: usize) -> Result<(), FrameError> {
    if len > max {
        Err(FrameError::TooLarge(len, max))
    } else if len == 0 {
        Err(FrameError::Malformed("empty frame".into()))
    } else {
        Ok(())
    }
}

/// Parses a frame body (everything after the length): the header and the payload.
pub fn decode(body: &[u8], max: usize) -> Result<(Header, Cow<'_, [u8]>), FrameError> {
    let (&flags, rest) = body
        .split_first()
        .ok_or_else(|| FrameError::Malformed("empty frame".into()))?;
    let rest: Cow<'_, [u8]> = if flags & COMPRESSED != 0 {
        let size = rest
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| FrameError::Malformed("truncated size".into()))?;
        if size > max {
            return Err(FrameError::DecompressedTooLarge(size, max));
        }
        let out = lz4_flex::decompress_size_prepended(rest)
            .map_err(|e| FrameError::Malformed(format!("bad compression: {e}")))?;
        Cow::Owned(out)
    } else if flags != 0 {
        return Err(FrameError::Malformed(format!("unknown flags {flags:#x}")));
    } else {
        Cow::Borrowed(rest)
    };
    let (header, used) = match fast::decode(&rest) {
        Some(decoded) => decoded,
        None => match postcard::take_from_bytes::<Header>(&rest) {
            Ok((header, tail)) => (header, rest.len() - tail.len()),
            Err(e) => return Err(FrameError::Malformed(e.to_string())),
        },
    };
    let payload = match rest {
        Cow::Borrowed(b) => Cow::Borrowed(&b[used..]),
        Cow::Owned(mut v) => {
            v.drain(..used);
            Cow::Owned(v)
        }
    };
    Ok((header, payload))
}

/// The headers of nearly every frame (a send, a call, a successful reply to a process
/// named by pid), encoded and decoded by hand to exactly postcard's bytes: the same
/// format, without serde's generic machinery per message. Anything else, and anything
/// the hand decoder is not sure of, goes through postcard.
pub mod fast {
    use super::{Header, WireTarget};

    // Postcard's variant indices (declaration order).
    const SEND: u8 = 0;
    const CALL: u8 = 1;
    const REPLY: u8 = 2;
    const PID: u8 = 0;
    const OK: u8 = 0;

    fn varint(buf: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        buf.push(v as u8);
    }

    /// Appends `header` as postcard would; false (nothing appended) for a header it
    /// does not handle.
    pub fn encode(buf: &mut Vec<u8>, header: &Header) -> bool {
        match header {
            Header::Send {
                from,
                to: WireTarget::Pid { id, creation },
                priority,
                ack: tag,
            }
            | Header::Call {
                from,
                to: WireTarget::Pid { id, creation },
                priority,
                tag,
            } => {
                buf.push(if matches!(header, Header::Send { .. }) {
                    SEND
                } else {
                    CALL
                });
                varint(buf, *from);
                buf.push(PID);
                varint(buf, *id);
                varint(buf, u64::from(*creation));
                buf.push(*priority);
                varint(buf, *tag);
                true
            }
            Header::Reply {
                tag,
                status: Ok(()),
            } => {
                buf.push(REPLY);
                varint(buf, *tag);
                buf.push(OK);
                true
            }
            _ => false,
        }
    }

    /// Reads a varint of at most `max` bytes (9 for a u64, fewer than postcard allows;
    /// 5 for a u32, checked to fit by the caller), so every value read here is one
    /// postcard reads alike; `None` beyond.
    fn take(bytes: &[u8], at: &mut usize, max: usize) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..max {
            let b = *bytes.get(*at)?;
            *at += 1;
            v |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// The header at the start of `bytes` and its length, if it is one [`encode`]
    /// writes and reads unambiguously; `None` means "ask postcard".
    pub fn decode(bytes: &[u8]) -> Option<(Header, usize)> {
        let mut at = 1;
        match *bytes.first()? {
            kind @ (SEND | CALL) => {
                let from = take(bytes, &mut at, 9)?;
                if *bytes.get(at)? != PID {
                    return None;
                }
                at += 1;
                let id = take(bytes, &mut at, 9)?;
                let creation = u32::try_from(take(bytes, &mut at, 5)?).ok()?;
                let priority = *bytes.get(at)?;
                at += 1;
                let tag = take(bytes, &mut at, 9)?;
                let to = WireTarget::Pid { id, creation };
                let header = if kind == SEND {
                    Header::Send {
                        from,
                        to,
                        priority,
                        ack: tag,
                    }
                } else {
                    Header::Call {
                        from,
                        to,
                        priority,
                        tag,
                    }
                };
                Some((header, at))
            }
            REPLY => {
                let tag = take(bytes, &mut at, 9)?;
                if *bytes.get(at)? != OK {
                    return None;
                }
                Some((
                    Header::Reply {
                        tag,
                        status: Ok(()),
                    },
                    at + 1,
                ))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(header: &Header, payload: &[u8], compress_above: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        encode(&mut buf, header, compress_above, |b| {
            b.extend_from_slice(payload);
            Ok(())
        })
        .unwrap();
        buf
    }

    #[test]
    fn round_trip_plain_and_compressed() {
        let header = Header::Send {
            from: 7,
            to: WireTarget::Name(WireName("counter".into())),
            priority: 2,
            ack: 0,
        };
        for compress in [0, 16] {
            let payload = vec![42u8; 1000];
            let buf = frame(&header, &payload, compress);
            let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            assert_eq!(len, buf.len() - 4);
            if compress != 0 {
                assert!(buf.len() < 200, "compressed: {}", buf.len());
            }
            let (h, p) = decode(&buf[4..], 1 << 20).unwrap();
            assert_eq!(h, header);
            assert_eq!(&*p, &payload[..]);
        }
    }

    #[test]
    fn limits_are_checked_before_allocating() {
        assert_eq!(check_len(10, 5), Err(FrameError::TooLarge(10, 5)));
        // A compressed frame claiming a huge decompressed size.
        let mut body = vec![COMPRESSED];
        body.extend_from_slice(&u32::MAX.to_le_bytes());
        body.extend_from_slice(&[0; 8]);
        assert!(matches!(
            decode(&body, 1 << 20),
            Err(FrameError::DecompressedTooLarge(_, _))
        ));
    }

    /// A small deterministic generator, so the property runs without extra crates.
    fn bytes(seed: &mut u64, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                *seed as u8
            })
            .collect()
    }

    #[test]
    fn decoding_any_bytes_never_panics() {
        let mut seed = 0x9E37_79B9_7F4A_7C15;
        let valid = frame(&Header::Ping, b"", 0);
        for round in 0..200_000 {
            let n = (round % 64) + 1;
            let mut body = bytes(&mut seed, n);
            if round % 3 == 0 {
                // Mutations of a valid frame reach deeper into the header decoder.
                body = valid[4..].to_vec();
                let i = (seed as usize) % body.len();
                body[i] ^= (seed >> 8) as u8;
                body.extend(bytes(&mut seed, round % 8));
            }
            let _ = decode(&body, 1 << 16);
        }
    }
}
