//! Decoding: bytes to [`Term`]. Never panics; every count is checked against the
//! remaining input before anything is allocated for it; nesting is bounded.

use std::io::Read;

use super::{tag, DecodeError, VERSION};
use crate::term::{BigInt, ErlPid, ErlPort, ErlRef, OpaqueFun, Term};

/// How deep terms may nest (tuples in lists in maps ...); deeper input is refused
/// instead of exhausting the stack.
pub const MAX_DEPTH: usize = 512;

/// The largest size a compressed term may declare once uncompressed (64 MiB).
pub const MAX_UNCOMPRESSED: u32 = 64 << 20;

/// Decodes one complete term: the version byte 131, the term, nothing after it.
pub fn decode(bytes: &[u8]) -> Result<Term, DecodeError> {
    let (term, used) = decode_prefix(bytes)?;
    if used != bytes.len() {
        return Err(DecodeError::Trailing(bytes.len() - used));
    }
    Ok(term)
}

/// Decodes the term at the start of `bytes` (version byte included) and says how many
/// bytes it took: the distribution protocol sends a control term and a message back
/// to back.
pub fn decode_prefix(bytes: &[u8]) -> Result<(Term, usize), DecodeError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let version = r.u8()?;
    if version != VERSION {
        return Err(DecodeError::BadVersion(version));
    }
    if r.peek() == Some(tag::COMPRESSED) {
        let at = r.pos;
        r.pos += 1;
        let size = r.u32()?;
        if size > MAX_UNCOMPRESSED {
            return Err(DecodeError::Malformed {
                what: "compressed term too large",
                at,
            });
        }
        let rest = &bytes[r.pos..];
        // Read at most `size + 1` bytes: the buffer grows with what zlib really
        // produces, never to the declared size up front.
        let mut out = Vec::new();
        let mut z = flate2::read::ZlibDecoder::new(rest).take(u64::from(size) + 1);
        if z.read_to_end(&mut out).is_err() || out.len() != size as usize {
            return Err(DecodeError::Malformed {
                what: "bad compressed data",
                at,
            });
        }
        let consumed = z.into_inner().total_in() as usize;
        let mut inner = Reader { buf: &out, pos: 0 };
        let term = inner.term(0)?;
        if inner.pos != out.len() {
            return Err(DecodeError::Trailing(out.len() - inner.pos));
        }
        return Ok((term, r.pos + consumed));
    }
    let term = r.term(0)?;
    Ok((term, r.pos))
}

/// Decodes the term at the start of `bytes` written without a version byte (as the
/// distribution protocol does after a distribution header) and says how many bytes it
/// took.
pub fn decode_bare_prefix(bytes: &[u8]) -> Result<(Term, usize), DecodeError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let term = r.term(0)?;
    Ok((term, r.pos))
}

/// Decodes one complete term written without a version byte, nothing after it.
pub fn decode_bare(bytes: &[u8]) -> Result<Term, DecodeError> {
    let (term, used) = decode_bare_prefix(bytes)?;
    if used != bytes.len() {
        return Err(DecodeError::Trailing(bytes.len() - used));
    }
    Ok(term)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Eof(self.buf.len()));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A count of items each taking at least `min_size` bytes: refused if the rest of
    /// the input cannot hold that many.
    fn count(&self, n: u64, min_size: u64, at: usize) -> Result<usize, DecodeError> {
        if n.saturating_mul(min_size) > self.remaining() as u64 {
            return Err(DecodeError::BadLength { len: n, at });
        }
        usize::try_from(n).map_err(|_| DecodeError::BadLength { len: n, at })
    }

    /// One term. Kept small: containers recurse through [`Reader::container`], every
    /// other tag is read by [`Reader::leaf`], so deep nesting costs little stack.
    fn term(&mut self, depth: usize) -> Result<Term, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        match self.peek() {
            Some(tag::SMALL_TUPLE | tag::LARGE_TUPLE | tag::LIST | tag::MAP) => {
                self.container(depth)
            }
            _ => self.leaf(),
        }
    }

    #[inline(never)]
    fn container(&mut self, depth: usize) -> Result<Term, DecodeError> {
        let at = self.pos;
        let t = self.u8()?;
        match t {
            tag::SMALL_TUPLE => {
                let n = u64::from(self.u8()?);
                Ok(Term::Tuple(self.terms(n, at, depth)?))
            }
            tag::LARGE_TUPLE => {
                let n = u64::from(self.u32()?);
                Ok(Term::Tuple(self.terms(n, at, depth)?))
            }
            tag::LIST => self.list(at, depth),
            _ => {
                let n = self.u32()?;
                let n = self.count(u64::from(n), 2, at)?;
                let mut pairs = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.term(depth + 1)?;
                    let v = self.term(depth + 1)?;
                    pairs.push((k, v));
                }
                Ok(Term::Map(pairs))
            }
        }
    }

    #[inline(never)]
    fn leaf(&mut self) -> Result<Term, DecodeError> {
        let at = self.pos;
        let t = self.u8()?;
        Ok(match t {
            tag::SMALL_INTEGER => Term::Integer(i64::from(self.u8()?)),
            tag::INTEGER => Term::Integer(i64::from(self.u32()? as i32)),
            tag::SMALL_BIG => {
                let n = u64::from(self.u8()?);
                self.big(n, at)?
            }
            tag::LARGE_BIG => {
                let n = u64::from(self.u32()?);
                self.big(n, at)?
            }
            tag::NEW_FLOAT => Term::Float(f64::from_bits(self.u64()?)),
            tag::FLOAT => {
                let text = self.take(31)?;
                let end = text.iter().position(|&b| b == 0).unwrap_or(31);
                let parsed = std::str::from_utf8(&text[..end])
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok());
                match parsed {
                    Some(x) => Term::Float(x),
                    None => {
                        return Err(DecodeError::Malformed {
                            what: "bad float text",
                            at,
                        })
                    }
                }
            }
            tag::ATOM_UTF8 | tag::ATOM | tag::SMALL_ATOM_UTF8 | tag::SMALL_ATOM => {
                self.pos = at;
                Term::Atom(self.atom()?)
            }
            tag::NIL => Term::List(Vec::new()),
            tag::STRING => {
                let n = usize::from(self.u16()?);
                let bytes = self.take(n)?;
                Term::List(bytes.iter().map(|&b| Term::Integer(i64::from(b))).collect())
            }
            tag::BINARY => {
                let n = self.u32()?;
                let n = self.count(u64::from(n), 1, at)?;
                Term::Binary(self.take(n)?.to_vec())
            }
            tag::BIT_BINARY => {
                let n = self.u32()?;
                let bits = self.u8()?;
                let n = self.count(u64::from(n), 1, at)?;
                let bytes = self.take(n)?.to_vec();
                match (n, bits) {
                    (_, 8) | (0, 0) => Term::Binary(bytes),
                    (1.., 1..=7) => Term::BitBinary { bytes, bits },
                    _ => {
                        return Err(DecodeError::Malformed {
                            what: "bad bit count",
                            at,
                        })
                    }
                }
            }
            tag::NEW_PID | tag::PID => {
                let node = self.atom()?;
                let id = self.u32()?;
                let serial = self.u32()?;
                let creation = if t == tag::PID {
                    u32::from(self.u8()?)
                } else {
                    self.u32()?
                };
                Term::Pid(ErlPid {
                    node,
                    id,
                    serial,
                    creation,
                })
            }
            tag::NEW_PORT | tag::PORT | tag::V4_PORT => {
                let node = self.atom()?;
                let id = if t == tag::V4_PORT {
                    self.u64()?
                } else {
                    u64::from(self.u32()?)
                };
                let creation = if t == tag::PORT {
                    u32::from(self.u8()?)
                } else {
                    self.u32()?
                };
                Term::Port(ErlPort { node, id, creation })
            }
            tag::REFERENCE => {
                let node = self.atom()?;
                let id = self.u32()?;
                let creation = u32::from(self.u8()?);
                Term::Ref(ErlRef {
                    node,
                    creation,
                    ids: vec![id],
                })
            }
            tag::NEW_REFERENCE | tag::NEWER_REFERENCE => {
                let n = usize::from(self.u16()?);
                if !(1..=5).contains(&n) {
                    return Err(DecodeError::Malformed {
                        what: "reference length not in 1..=5",
                        at,
                    });
                }
                let node = self.atom()?;
                let creation = if t == tag::NEW_REFERENCE {
                    u32::from(self.u8()?)
                } else {
                    self.u32()?
                };
                let mut ids = Vec::with_capacity(n);
                for _ in 0..n {
                    ids.push(self.u32()?);
                }
                Term::Ref(ErlRef {
                    node,
                    creation,
                    ids,
                })
            }
            tag::EXPORT => {
                let module = self.atom()?;
                let function = self.atom()?;
                let a = self.pos;
                if self.u8()? != tag::SMALL_INTEGER {
                    return Err(DecodeError::Malformed {
                        what: "export arity is not a small integer",
                        at: a,
                    });
                }
                Term::Export {
                    module,
                    function,
                    arity: self.u8()?,
                }
            }
            tag::NEW_FUN => {
                // Size counts itself and everything after the tag.
                let size = self.u32()? as usize;
                // Minimum: size 4, arity 1, uniq 16, index 4, numfree 4.
                if size < 29 || size - 4 > self.remaining() {
                    return Err(DecodeError::Malformed {
                        what: "bad fun size",
                        at,
                    });
                }
                self.pos -= 4;
                Term::Fun(OpaqueFun {
                    bytes: self.take(size)?.to_vec(),
                })
            }
            other => return Err(DecodeError::BadTag { tag: other, at }),
        })
    }

    fn terms(&mut self, n: u64, at: usize, depth: usize) -> Result<Vec<Term>, DecodeError> {
        let n = self.count(n, 1, at)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.term(depth + 1)?);
        }
        Ok(items)
    }

    /// `LIST_EXT`; a tail that is itself a `LIST_EXT` is followed in a loop (no
    /// recursion), so the list comes out flat.
    fn list(&mut self, at: usize, depth: usize) -> Result<Term, DecodeError> {
        let mut items = Vec::new();
        let mut at = at;
        loop {
            let n = self.u32()?;
            let n = self.count(u64::from(n), 1, at)?;
            items.reserve(n);
            for _ in 0..n {
                items.push(self.term(depth + 1)?);
            }
            match self.peek() {
                Some(tag::LIST) => {
                    at = self.pos;
                    self.pos += 1;
                }
                Some(tag::NIL) => {
                    self.pos += 1;
                    return Ok(Term::List(items));
                }
                _ => {
                    let tail = self.term(depth + 1)?;
                    return Ok(match tail {
                        Term::List(rest) => {
                            items.extend(rest);
                            Term::List(items)
                        }
                        Term::ImproperList(rest, tail) => {
                            items.extend(rest);
                            Term::ImproperList(items, tail)
                        }
                        tail if items.is_empty() => tail,
                        tail => Term::ImproperList(items, Box::new(tail)),
                    });
                }
            }
        }
    }

    fn big(&mut self, n: u64, at: usize) -> Result<Term, DecodeError> {
        let sign = self.u8()?;
        let n = self.count(n, 1, at)?;
        let magnitude = self.take(n)?.to_vec();
        Ok(BigInt::into_term(sign != 0, magnitude))
    }

    fn atom(&mut self) -> Result<String, DecodeError> {
        let at = self.pos;
        let t = self.u8()?;
        let (n, utf8) = match t {
            tag::ATOM_UTF8 => (usize::from(self.u16()?), true),
            tag::SMALL_ATOM_UTF8 => (usize::from(self.u8()?), true),
            tag::ATOM => (usize::from(self.u16()?), false),
            tag::SMALL_ATOM => (usize::from(self.u8()?), false),
            other => return Err(DecodeError::BadTag { tag: other, at }),
        };
        let bytes = self.take(n)?;
        if utf8 {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| DecodeError::BadAtom(at))
        } else {
            Ok(bytes.iter().map(|&b| char::from(b)).collect())
        }
    }
}
