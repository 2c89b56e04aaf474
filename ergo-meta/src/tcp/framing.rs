//! Splitting a TCP byte stream into frames: raw chunks, fixed-length frames, or frames
//! whose length is read from a header; a frame longer than the maximum is an error that
//! closes the connection.

use bytes::{Bytes, BytesMut};

use crate::meta::MetaError;

/// How a connection's byte stream is cut into the `Data` messages its worker gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Whatever one read returned (at most the read buffer's size).
    Raw,
    /// Frames of exactly this many bytes.
    Fixed(usize),
    /// Frames that start with a header of `size` bytes holding, at byte `offset`, the
    /// big-endian length (`length_size`: 1, 2 or 4 bytes) of the payload — or of the
    /// whole frame when `includes_header`. A frame is delivered with its header.
    Header {
        /// The header's size in bytes.
        size: usize,
        /// Where in the header the length starts.
        offset: usize,
        /// The length's size: 1, 2 or 4 bytes.
        length_size: usize,
        /// The length counts the header too.
        includes_header: bool,
    },
}

impl Framing {
    /// A header that is just a big-endian payload length of `length_size` bytes.
    pub fn length_prefixed(length_size: usize) -> Framing {
        Framing::Header {
            size: length_size,
            offset: 0,
            length_size,
            includes_header: false,
        }
    }

    pub(crate) fn check(&self, max_len: usize) -> Result<(), MetaError> {
        match *self {
            Framing::Raw => Ok(()),
            Framing::Fixed(0) => Err(MetaError::BadOptions("a fixed frame length of 0".into())),
            Framing::Fixed(n) if n > max_len => Err(MetaError::BadOptions(format!(
                "fixed frames of {n} bytes exceed the maximum length {max_len}"
            ))),
            Framing::Fixed(_) => Ok(()),
            Framing::Header {
                size,
                offset,
                length_size,
                ..
            } => {
                if ![1, 2, 4].contains(&length_size) {
                    return Err(MetaError::BadOptions(format!(
                        "a length of {length_size} bytes (1, 2 or 4)"
                    )));
                }
                if offset + length_size > size {
                    return Err(MetaError::BadOptions(format!(
                        "the length (bytes {offset}..{}) lies outside the {size}-byte header",
                        offset + length_size
                    )));
                }
                if size > max_len {
                    return Err(MetaError::BadOptions(format!(
                        "a {size}-byte header exceeds the maximum length {max_len}"
                    )));
                }
                Ok(())
            }
        }
    }
}

/// Why a peer's bytes cannot be framed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The header announces a frame longer than the maximum.
    #[error("a frame of {len} bytes exceeds the maximum of {max}")]
    TooLong {
        /// The announced length (header included).
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The header's length counts the header but is smaller than it.
    #[error("a frame length of {len} is shorter than its {header}-byte header")]
    TooShort {
        /// The announced length.
        len: usize,
        /// The header's size.
        header: usize,
    },
}

/// Cuts frames off the front of a read buffer.
#[derive(Clone, Debug)]
pub struct Decoder {
    framing: Framing,
    max_len: usize,
}

impl Decoder {
    /// A decoder for `framing` and frames of at most `max_len` bytes.
    pub fn new(framing: Framing, max_len: usize) -> Decoder {
        Decoder { framing, max_len }
    }

    /// The next whole frame in `buf`, removed from it; `Ok(None)` until one is complete.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        match self.framing {
            Framing::Raw if buf.is_empty() => Ok(None),
            Framing::Raw => Ok(Some(buf.split().freeze())),
            Framing::Fixed(n) if buf.len() >= n => Ok(Some(buf.split_to(n).freeze())),
            Framing::Fixed(_) => Ok(None),
            Framing::Header {
                size,
                offset,
                length_size,
                includes_header,
            } => {
                if buf.len() < size {
                    return Ok(None);
                }
                let len = buf[offset..offset + length_size]
                    .iter()
                    .fold(0usize, |acc, b| (acc << 8) | *b as usize);
                let total = if includes_header {
                    if len < size {
                        return Err(FrameError::TooShort { len, header: size });
                    }
                    len
                } else {
                    size + len
                };
                if total > self.max_len {
                    return Err(FrameError::TooLong {
                        len: total,
                        max: self.max_len,
                    });
                }
                if buf.len() < total {
                    buf.reserve(total - buf.len());
                    return Ok(None);
                }
                Ok(Some(buf.split_to(total).freeze()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header4() -> Framing {
        Framing::Header {
            size: 6,
            offset: 2,
            length_size: 4,
            includes_header: true,
        }
    }

    #[test]
    fn options_are_checked() {
        assert!(Framing::Fixed(0).check(10).is_err());
        assert!(Framing::Fixed(11).check(10).is_err());
        assert!(Framing::length_prefixed(3).check(10).is_err());
        assert!(Framing::Header {
            size: 2,
            offset: 1,
            length_size: 2,
            includes_header: false
        }
        .check(10)
        .is_err());
        assert!(header4().check(100).is_ok());
    }

    #[test]
    fn a_header_frame_waits_for_its_payload_and_keeps_its_header() {
        let d = Decoder::new(Framing::length_prefixed(2), 100);
        let mut buf = BytesMut::from(&[0u8, 3, b'a', b'b'][..]);
        assert_eq!(d.decode(&mut buf), Ok(None));
        buf.extend_from_slice(b"cX");
        assert_eq!(
            d.decode(&mut buf).unwrap().unwrap(),
            &[0u8, 3, b'a', b'b', b'c'][..]
        );
        assert_eq!(&buf[..], b"X");
    }

    #[test]
    fn too_long_and_too_short_frames_are_refused() {
        let d = Decoder::new(Framing::length_prefixed(1), 10);
        let mut buf = BytesMut::from(&[200u8][..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(FrameError::TooLong { len: 201, max: 10 })
        );
        let d = Decoder::new(header4(), 100);
        let mut buf = BytesMut::from(&[0u8, 0, 0, 0, 0, 5][..]);
        assert_eq!(
            d.decode(&mut buf),
            Err(FrameError::TooShort { len: 5, header: 6 })
        );
    }

    fn framings() -> impl Strategy<Value = Framing> {
        prop_oneof![
            Just(Framing::Raw),
            (1usize..9).prop_map(Framing::Fixed),
            prop_oneof![Just(1usize), Just(2), Just(4)].prop_map(Framing::length_prefixed),
            Just(header4()),
        ]
    }

    proptest! {
        /// Any bytes, cut anywhere: the decoder never panics, and yields the same frames
        /// (or the same error) as when it sees the stream whole.
        #[test]
        fn cutting_the_stream_changes_nothing(
            framing in framings(),
            data in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(0usize..300, 0..8),
        ) {
            let d = Decoder::new(framing, 64);
            let whole = {
                let mut buf = BytesMut::from(&data[..]);
                let mut out = Vec::new();
                let res = loop {
                    match d.decode(&mut buf) {
                        Ok(Some(f)) => out.extend_from_slice(&f),
                        Ok(None) => break Ok(()),
                        Err(e) => break Err(e),
                    }
                };
                (out, res)
            };
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.push(data.len());
            cuts.sort_unstable();
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            let mut start = 0;
            let mut res = Ok(());
            'feed: for cut in cuts {
                buf.extend_from_slice(&data[start..cut]);
                start = cut;
                loop {
                    match d.decode(&mut buf) {
                        Ok(Some(f)) => {
                            prop_assert!(f.len() <= 64 || framing == Framing::Raw);
                            out.extend_from_slice(&f)
                        }
                        Ok(None) => break,
                        Err(e) => { res = Err(e); break 'feed; }
                    }
                }
            }
            prop_assert_eq!((out, res), whole);
        }
    }
}
