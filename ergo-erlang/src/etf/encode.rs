//! Encoding: [`Term`] to bytes, in the forms OTP 25 itself sends (UTF-8 atoms, the
//! smallest integer form, `STRING_EXT` for short lists of bytes, `NEW_PID_EXT`,
//! `NEWER_REFERENCE_EXT`, `NEW_FLOAT_EXT`).

use super::{tag, EncodeError, VERSION};
use crate::term::{BigInt, Term};

/// The longest atom OTP accepts, in characters.
pub const MAX_ATOM_CHARS: usize = 255;

/// Encodes `term` with the leading version byte.
pub fn encode(term: &Term) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode_into(term, &mut out)?;
    Ok(out)
}

/// Appends `term`, with its version byte, to `out`.
pub fn encode_into(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(VERSION);
    put(term, out)
}

/// Appends `term` without a version byte (the form terms take after a distribution
/// header).
pub fn encode_bare_into(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    put(term, out)
}

/// Binaries at least this long are left out of the buffer by the `*_lifted` encoders.
pub(crate) const LIFTED: usize = 16 * 1024;

/// Binaries an encoding left where they are: each is `(position in the buffer, bytes)`,
/// its bytes belonging at that position (so the encoded form is the buffer with each
/// binary inserted at its position, in order). A writer sends them from the terms
/// themselves (a vectored write) instead of copying them first.
pub(crate) type Lifted<'t> = Vec<(usize, &'t [u8])>;

/// [`encode_into`], leaving binaries of [`LIFTED`] bytes or more in `lifted`.
pub(crate) fn encode_lifted<'t>(
    term: &'t Term,
    out: &mut Vec<u8>,
    lifted: &mut Lifted<'t>,
) -> Result<(), EncodeError> {
    out.push(VERSION);
    put_with(term, out, Some(lifted))
}

/// [`encode_bare_into`], leaving binaries of [`LIFTED`] bytes or more in `lifted`.
pub(crate) fn encode_bare_lifted<'t>(
    term: &'t Term,
    out: &mut Vec<u8>,
    lifted: &mut Lifted<'t>,
) -> Result<(), EncodeError> {
    put_with(term, out, Some(lifted))
}

fn len32(n: usize, what: &'static str) -> Result<[u8; 4], EncodeError> {
    u32::try_from(n)
        .map(u32::to_be_bytes)
        .map_err(|_| EncodeError::TooLong(what))
}

/// Writes an atom as `SMALL_ATOM_UTF8_EXT` or `ATOM_UTF8_EXT`. OTP refuses atoms of
/// more than 255 characters (and drops the connection that carries one).
pub(crate) fn put_atom(name: &str, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let b = name.as_bytes();
    if b.len() > MAX_ATOM_CHARS {
        let chars = name.chars().count();
        if chars > MAX_ATOM_CHARS {
            return Err(EncodeError::AtomTooLong(chars));
        }
    }
    if let Ok(n) = u8::try_from(b.len()) {
        out.push(tag::SMALL_ATOM_UTF8);
        out.push(n);
    } else {
        let n = u16::try_from(b.len()).map_err(|_| EncodeError::AtomTooLong(b.len()))?;
        out.push(tag::ATOM_UTF8);
        out.extend_from_slice(&n.to_be_bytes());
    }
    out.extend_from_slice(b);
    Ok(())
}

fn put_big(negative: bool, magnitude: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if let Ok(n) = u8::try_from(magnitude.len()) {
        out.push(tag::SMALL_BIG);
        out.push(n);
    } else {
        out.push(tag::LARGE_BIG);
        out.extend_from_slice(&len32(magnitude.len(), "integer")?);
    }
    out.push(u8::from(negative));
    out.extend_from_slice(magnitude);
    Ok(())
}

fn put(term: &Term, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    put_with(term, out, None)
}

fn put_with<'t>(
    term: &'t Term,
    out: &mut Vec<u8>,
    mut lifted: Option<&mut Lifted<'t>>,
) -> Result<(), EncodeError> {
    match term {
        Term::Atom(a) => put_atom(a, out)?,
        Term::Integer(i) => {
            if let Ok(b) = u8::try_from(*i) {
                out.push(tag::SMALL_INTEGER);
                out.push(b);
            } else if let Ok(v) = i32::try_from(*i) {
                out.push(tag::INTEGER);
                out.extend_from_slice(&v.to_be_bytes());
            } else {
                let m = i.unsigned_abs().to_le_bytes();
                let len = 8 - m.iter().rev().take_while(|&&b| b == 0).count();
                put_big(*i < 0, &m[..len], out)?;
            }
        }
        Term::BigInt(BigInt {
            negative,
            magnitude,
        }) => put_big(*negative, magnitude, out)?,
        Term::Float(x) => {
            out.push(tag::NEW_FLOAT);
            out.extend_from_slice(&x.to_bits().to_be_bytes());
        }
        Term::Binary(b) => {
            out.push(tag::BINARY);
            out.extend_from_slice(&len32(b.len(), "binary")?);
            match lifted {
                Some(lifted) if b.len() >= LIFTED => lifted.push((out.len(), b)),
                _ => out.extend_from_slice(b),
            }
        }
        Term::BitBinary { bytes, bits } => {
            if bytes.is_empty() || !(1..=7).contains(bits) {
                return Err(EncodeError::BadBits(*bits));
            }
            out.push(tag::BIT_BINARY);
            out.extend_from_slice(&len32(bytes.len(), "bitstring")?);
            out.push(*bits);
            out.extend_from_slice(bytes);
        }
        Term::List(items) if items.is_empty() => out.push(tag::NIL),
        Term::List(items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|t| match t {
                    Term::Integer(i) => u8::try_from(*i).ok(),
                    _ => None,
                })
                .collect();
            match bytes {
                Some(b) if b.len() <= usize::from(u16::MAX) => {
                    out.push(tag::STRING);
                    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
                    out.extend_from_slice(&b);
                }
                _ => {
                    out.push(tag::LIST);
                    out.extend_from_slice(&len32(items.len(), "list")?);
                    for t in items {
                        put_with(t, out, lifted.as_deref_mut())?;
                    }
                    out.push(tag::NIL);
                }
            }
        }
        Term::ImproperList(items, tail) => {
            if items.is_empty() {
                return Err(EncodeError::EmptyImproperList);
            }
            out.push(tag::LIST);
            out.extend_from_slice(&len32(items.len(), "list")?);
            for t in items {
                put_with(t, out, lifted.as_deref_mut())?;
            }
            put_with(tail, out, lifted.as_deref_mut())?;
        }
        Term::Tuple(items) => {
            if let Ok(n) = u8::try_from(items.len()) {
                out.push(tag::SMALL_TUPLE);
                out.push(n);
            } else {
                out.push(tag::LARGE_TUPLE);
                out.extend_from_slice(&len32(items.len(), "tuple")?);
            }
            for t in items {
                put_with(t, out, lifted.as_deref_mut())?;
            }
        }
        Term::Map(pairs) => {
            out.push(tag::MAP);
            out.extend_from_slice(&len32(pairs.len(), "map")?);
            let mut keys = Vec::with_capacity(if pairs.len() > 1 { pairs.len() } else { 0 });
            for (k, v) in pairs {
                let start = out.len();
                // Keys are compared as encoded bytes (below): they stay inline.
                put(k, out)?;
                if pairs.len() > 1 {
                    keys.push(start..out.len());
                }
                put_with(v, out, lifted.as_deref_mut())?;
            }
            // OTP refuses a map with a key twice (and drops the connection).
            if keys.len() > 1 {
                let mut encoded: Vec<&[u8]> = keys.into_iter().map(|r| &out[r]).collect();
                encoded.sort_unstable();
                if encoded.windows(2).any(|w| w[0] == w[1]) {
                    return Err(EncodeError::DuplicateMapKey);
                }
            }
        }
        Term::Pid(p) => {
            out.push(tag::NEW_PID);
            put_atom(&p.node, out)?;
            out.extend_from_slice(&p.id.to_be_bytes());
            out.extend_from_slice(&p.serial.to_be_bytes());
            out.extend_from_slice(&p.creation.to_be_bytes());
        }
        Term::Port(p) => {
            match u32::try_from(p.id) {
                Ok(id) => {
                    out.push(tag::NEW_PORT);
                    put_atom(&p.node, out)?;
                    out.extend_from_slice(&id.to_be_bytes());
                }
                Err(_) => {
                    out.push(tag::V4_PORT);
                    put_atom(&p.node, out)?;
                    out.extend_from_slice(&p.id.to_be_bytes());
                }
            }
            out.extend_from_slice(&p.creation.to_be_bytes());
        }
        Term::Ref(r) => {
            if !(1..=5).contains(&r.ids.len()) {
                return Err(EncodeError::BadReference(r.ids.len()));
            }
            out.push(tag::NEWER_REFERENCE);
            out.extend_from_slice(&(r.ids.len() as u16).to_be_bytes());
            put_atom(&r.node, out)?;
            out.extend_from_slice(&r.creation.to_be_bytes());
            for id in &r.ids {
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
        Term::Fun(f) => {
            let declared = f
                .bytes
                .get(..4)
                .and_then(|s| <[u8; 4]>::try_from(s).ok())
                .map(u32::from_be_bytes);
            if f.bytes.len() < 29 || declared != u32::try_from(f.bytes.len()).ok() {
                return Err(EncodeError::BadFun);
            }
            out.push(tag::NEW_FUN);
            out.extend_from_slice(&f.bytes);
        }
        Term::Export {
            module,
            function,
            arity,
        } => {
            out.push(tag::EXPORT);
            put_atom(module, out)?;
            put_atom(function, out)?;
            out.push(tag::SMALL_INTEGER);
            out.push(*arity);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The buffer with each lifted binary put back at its position.
    fn joined(out: &[u8], lifted: &Lifted<'_>) -> Vec<u8> {
        let mut whole = Vec::new();
        let mut from = 0;
        for &(at, bytes) in lifted {
            whole.extend_from_slice(&out[from..at]);
            whole.extend_from_slice(bytes);
            from = at;
        }
        whole.extend_from_slice(&out[from..]);
        whole
    }

    #[test]
    fn lifted_binaries_put_back_give_the_inline_encoding() {
        let big = |b: u8| Term::Binary(vec![b; LIFTED + usize::from(b)]);
        let term = Term::tuple([
            Term::atom("reply"),
            big(1),
            Term::List(vec![Term::Binary(vec![9; 10]), big(2)]),
            Term::Map(vec![(big(3), big(4)), (Term::atom("k"), Term::Integer(1))]),
        ]);
        let inline = encode(&term).unwrap();
        let (mut out, mut lifted) = (Vec::new(), Vec::new());
        encode_lifted(&term, &mut out, &mut lifted).unwrap();
        // The small binary and the map key stay in the buffer; 1, 2 and 4 are lifted.
        let sizes: Vec<usize> = lifted.iter().map(|(_, b)| b.len()).collect();
        assert_eq!(sizes, [LIFTED + 1, LIFTED + 2, LIFTED + 4]);
        assert_eq!(joined(&out, &lifted), inline);
        assert_eq!(out.len() + sizes.iter().sum::<usize>(), inline.len());
    }
}
