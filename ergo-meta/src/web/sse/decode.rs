//! The `text/event-stream` parser of the SSE client: bytes in (cut anywhere), events
//! out, as the HTML standard describes (lines end with CRLF, LF or CR; `data` lines
//! join with newlines; `:` starts a comment; an unknown field is ignored). A line or
//! an event longer than the limit is an error, so a peer cannot grow the buffer
//! without bound.

use std::time::Duration;

use super::SseMessage;

/// Why an event stream was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    /// A line, or an event's data, is longer than the limit.
    #[error("an event stream line or event exceeds {0} bytes")]
    TooLong(usize),
}

/// An incremental event-stream parser.
#[derive(Debug)]
pub struct SseDecoder {
    limit: usize,
    line: Vec<u8>,
    /// The previous chunk ended with CR: an LF starting this one belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
    retry: Option<Duration>,
}

impl SseDecoder {
    /// A parser refusing lines and events over `limit` bytes.
    pub fn new(limit: usize) -> SseDecoder {
        SseDecoder {
            limit,
            line: Vec::new(),
            after_cr: false,
            event: None,
            data: String::new(),
            has_data: false,
            id: None,
            retry: None,
        }
    }

    /// Feeds `bytes`; each complete event goes to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseMessage>) -> Result<(), SseError> {
        for &b in bytes {
            if std::mem::take(&mut self.after_cr) && b == b'\n' {
                continue;
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.line_done(&line, out)?;
                    self.line = line;
                    self.line.clear();
                }
                _ => {
                    if self.line.len() >= self.limit {
                        return Err(SseError::TooLong(self.limit));
                    }
                    self.line.push(b);
                }
            }
        }
        Ok(())
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<SseMessage>) -> Result<(), SseError> {
        if line.is_empty() {
            if self.has_data {
                let mut data = std::mem::take(&mut self.data);
                if data.ends_with('\n') {
                    data.pop();
                }
                out.push(SseMessage {
                    event: self.event.take(),
                    data,
                    id: self.id.clone(),
                    retry: self.retry.take(),
                });
            } else {
                self.event = None;
                self.data.clear();
            }
            self.has_data = false;
            return Ok(());
        }
        if line[0] == b':' {
            return Ok(());
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (&line[..], ""),
        };
        match field {
            "event" => self.event = Some(value.to_string()),
            "data" => {
                if self.data.len() + value.len() + 1 > self.limit {
                    return Err(SseError::TooLong(self.limit));
                }
                self.data.push_str(value);
                self.data.push('\n');
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_string()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The id of the last event seen (what a reconnect sends as `Last-Event-ID`).
    pub fn last_event_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

/// Writes `msg` in the event-stream format (used by tests, and by anything that writes
/// a stream by hand).
pub fn encode(msg: &SseMessage) -> String {
    let mut out = String::new();
    if let Some(event) = &msg.event {
        out.push_str(&format!("event: {event}\n"));
    }
    if let Some(id) = &msg.id {
        out.push_str(&format!("id: {id}\n"));
    }
    if let Some(retry) = msg.retry {
        out.push_str(&format!("retry: {}\n", retry.as_millis()));
    }
    for line in msg.data.split('\n') {
        out.push_str(&format!("data: {line}\n"));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(chunks: &[&[u8]]) -> Result<Vec<SseMessage>, SseError> {
        let mut d = SseDecoder::new(1024);
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c, &mut out)?;
        }
        Ok(out)
    }

    #[test]
    fn the_standard_examples() {
        let got = decode_all(&[b": comment\r\ndata: YHOO\ndata: +2\r\rdata:10\n\nevent: add\nid: 7\nretry: 50\ndata\n\n"]).unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].data, "YHOO\n+2");
        assert_eq!(got[1].data, "10");
        assert_eq!(got[2].event.as_deref(), Some("add"));
        assert_eq!(got[2].id.as_deref(), Some("7"));
        assert_eq!(got[2].retry, Some(Duration::from_millis(50)));
        assert_eq!(got[2].data, "");
    }

    #[test]
    fn a_crlf_cut_between_chunks_is_one_line_end() {
        let got = decode_all(&[b"data: a\r", b"\n\r", b"\n"]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].data, "a");
    }

    #[test]
    fn an_endless_line_is_refused() {
        let long = vec![b'x'; 2000];
        assert_eq!(decode_all(&[&long]), Err(SseError::TooLong(1024)));
    }

    fn messages() -> impl Strategy<Value = SseMessage> {
        (
            proptest::option::of("[a-z]{1,8}"),
            "[a-zA-Z0-9 \n:]{0,40}",
            proptest::option::of("[0-9a-f]{1,6}"),
            proptest::option::of(0u64..10_000),
        )
            .prop_map(|(event, data, id, retry)| SseMessage {
                event,
                data,
                id,
                retry: retry.map(Duration::from_millis),
            })
    }

    proptest! {
        /// Encoded events, the stream cut anywhere, decode to the same events.
        #[test]
        fn encoded_events_survive_any_cut(
            msgs in proptest::collection::vec(messages(), 0..6),
            cuts in proptest::collection::vec(0usize..2000, 0..10),
        ) {
            let stream: String = msgs.iter().map(encode).collect();
            let bytes = stream.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.push(bytes.len());
            cuts.sort_unstable();
            let mut d = SseDecoder::new(1 << 16);
            let mut out = Vec::new();
            let mut start = 0;
            for cut in cuts {
                d.feed(&bytes[start..cut], &mut out).unwrap();
                start = cut;
            }
            // Ids persist from one event to the next, as the standard says.
            let mut id = None;
            let want: Vec<SseMessage> = msgs
                .into_iter()
                .map(|mut m| {
                    if m.id.is_some() { id = m.id.clone(); } else { m.id = id.clone(); }
                    m
                })
                .collect();
            prop_assert_eq!(out, want);
        }

        /// Any bytes: no panic, and the buffer stays within the limit.
        #[test]
        fn any_bytes_are_parsed_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let mut d = SseDecoder::new(256);
            let mut out = Vec::new();
            let _ = d.feed(&bytes, &mut out);
            prop_assert!(d.line.len() <= 256 && d.data.len() <= 257);
        }
    }
}
