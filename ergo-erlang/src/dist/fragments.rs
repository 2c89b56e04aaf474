//! Distribution fragments (`DFLAG_FRAGMENTS`): a message larger than a fragment goes
//! out as a first fragment (`131, 69, SequenceId, FragmentId, 0, data`) and
//! continuations (`131, 70, SequenceId, FragmentId, data`), the fragment id counting
//! down to 1; [`Reassembly`] puts arriving ones back together, bounded in the number
//! of messages under way and in their total size.

use rustc_hash::FxHashMap;

/// The data size of one fragment this node sends (OTP sends 64 KiB fragments; any
/// size is accepted). Larger than OTP's: a message up to 1 MiB goes in one frame,
/// without the copies splitting costs.
pub(crate) const FRAGMENT_SIZE: usize = 1 << 20;

/// How many fragmented messages may be under way at once on one connection.
const MAX_SEQUENCES: usize = 1024;

/// The distribution header of a whole (not fragmented) message without atom cache
/// references.
pub(crate) const WHOLE_HEADER: [u8; 3] = [131, 68, 0];

/// Appends the fragment frames of `data` (a control message and its message, bare)
/// of sequence `seq` to `out`, each behind its 4-byte length.
pub(crate) fn split_into(seq: u64, data: &[u8], out: &mut Vec<u8>) {
    let n = data.len().div_ceil(FRAGMENT_SIZE);
    out.reserve(data.len() + n * 23);
    for (i, chunk) in data.chunks(FRAGMENT_SIZE).enumerate() {
        let id = (n - i) as u64;
        let header = if i == 0 { 19 } else { 18 };
        out.extend_from_slice(&((chunk.len() + header) as u32).to_be_bytes());
        out.push(131);
        out.push(if i == 0 { 69 } else { 70 });
        out.extend_from_slice(&seq.to_be_bytes());
        out.extend_from_slice(&id.to_be_bytes());
        if i == 0 {
            out.push(0); // no atom cache references
        }
        out.extend_from_slice(chunk);
    }
}

/// The fragment frames of `data`, each without its length (for tests).
#[cfg(test)]
fn split(seq: u64, data: &[u8]) -> Vec<Vec<u8>> {
    let mut framed = Vec::new();
    split_into(seq, data, &mut framed);
    let mut frames = Vec::new();
    let mut at = 0;
    while at < framed.len() {
        let len = u32::from_be_bytes(framed[at..at + 4].try_into().unwrap()) as usize;
        frames.push(framed[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
    }
    frames
}

/// What a frame was.
pub(crate) enum Arrival {
    /// Not a fragment: handle the frame as it is.
    Whole,
    /// A fragment of a message not complete yet.
    Pending,
    /// The last fragment: the whole message's data (control and message, bare).
    Done(Vec<u8>),
}

/// A message under way.
struct Partial {
    next: u64,
    data: Vec<u8>,
}

/// The fragmented messages under way on one connection.
#[derive(Default)]
pub(crate) struct Reassembly {
    partial: FxHashMap<u64, Partial>,
    /// Bytes held over all partial messages.
    held: usize,
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl Reassembly {
    /// Takes one frame. An error means the peer broke the protocol (the connection
    /// closes): an unknown sequence, a fragment out of order, too many messages under
    /// way, or more than `max_message` bytes in them.
    pub(crate) fn accept(&mut self, frame: &[u8], max_message: usize) -> Result<Arrival, String> {
        let kind = match frame {
            [131, k @ (69 | 70), ..] => *k,
            _ => return Ok(Arrival::Whole),
        };
        let (Some(seq), Some(id)) = (u64_at(frame, 2), u64_at(frame, 10)) else {
            return Err("a truncated fragment header".into());
        };
        if id == 0 {
            return Err("a fragment numbered 0".into());
        }
        let chunk = if kind == 69 {
            match frame.get(18) {
                Some(0) => &frame[19..],
                Some(_) => return Err("atom cache references (not negotiated)".into()),
                None => return Err("a truncated fragment header".into()),
            }
        } else {
            &frame[18..]
        };
        if self.held + chunk.len() > max_message {
            return Err(format!("fragmented messages over {max_message} bytes"));
        }
        if kind == 69 {
            if self.partial.contains_key(&seq) {
                return Err("a sequence started twice".into());
            }
            if id == 1 {
                return Ok(Arrival::Done(chunk.to_vec()));
            }
            if self.partial.len() >= MAX_SEQUENCES {
                return Err("too many fragmented messages under way".into());
            }
            self.held += chunk.len();
            let data = chunk.to_vec();
            self.partial.insert(seq, Partial { next: id - 1, data });
            return Ok(Arrival::Pending);
        }
        let Some(p) = self.partial.get_mut(&seq) else {
            return Err("a fragment of an unknown sequence".into());
        };
        if p.next != id {
            return Err("a fragment out of order".into());
        }
        self.held += chunk.len();
        p.data.extend_from_slice(chunk);
        if id > 1 {
            p.next = id - 1;
            return Ok(Arrival::Pending);
        }
        let done = self
            .partial
            .remove(&seq)
            .map(|p| p.data)
            .unwrap_or_default();
        self.held -= done.len();
        Ok(Arrival::Done(done))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_fragments_reassemble() {
        let data: Vec<u8> = (0..(FRAGMENT_SIZE * 3 + 17)).map(|i| i as u8).collect();
        let frames = split(7, &data);
        assert_eq!(frames.len(), 4);
        let mut r = Reassembly::default();
        let mut out = None;
        for f in &frames {
            match r.accept(f, 1 << 30).unwrap() {
                Arrival::Pending => {}
                Arrival::Done(d) => out = Some(d),
                Arrival::Whole => panic!("a fragment taken as whole"),
            }
        }
        assert_eq!(out.unwrap(), data);
        assert_eq!(r.held, 0);
    }

    proptest::proptest! {
        /// Any sequence of frames is taken or refused, never a panic, and what is
        /// held stays within the limit.
        #[test]
        fn arbitrary_frames_never_panic(
            frames in proptest::collection::vec(
                (proptest::prop_oneof![proptest::strategy::Just(69u8), proptest::strategy::Just(70u8), proptest::num::u8::ANY],
                 0u64..4, 0u64..4, proptest::collection::vec(proptest::num::u8::ANY, 0..40)),
                0..20)
        ) {
            let mut r = Reassembly::default();
            for (kind, seq, id, data) in frames {
                let mut f = vec![131, kind];
                f.extend_from_slice(&seq.to_be_bytes());
                f.extend_from_slice(&id.to_be_bytes());
                f.extend_from_slice(&data);
                let _ = r.accept(&f, 100);
                proptest::prop_assert!(r.held <= 100);
            }
        }
    }

    #[test]
    fn bad_fragments_are_errors() {
        let data = vec![1u8; FRAGMENT_SIZE * 2];
        let frames = split(1, &data);
        // A continuation without its start.
        assert!(Reassembly::default().accept(&frames[1], 1 << 30).is_err());
        // Over the size limit.
        assert!(Reassembly::default().accept(&frames[0], 10).is_err());
        // Truncated header.
        assert!(Reassembly::default()
            .accept(&[131, 69, 0], 1 << 30)
            .is_err());
        // A whole frame passes through.
        assert!(matches!(
            Reassembly::default().accept(&[112, 131], 1 << 30),
            Ok(Arrival::Whole)
        ));
    }
}
