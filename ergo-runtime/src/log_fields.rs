//! A log event's fields as text: what captures of log lines (a test's recording, the
//! Observer's log page) keep of each `tracing` event.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};

/// The message of a `tracing` event and its other fields, rendered as text. Fill it
/// with `event.record(&mut fields)`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LogFields {
    /// The `message` field.
    pub message: String,
    /// The other fields, name and value, in the order they were recorded.
    pub fields: Vec<(String, String)>,
}

impl Visit for LogFields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.fields
                .push((field.name().to_owned(), format!("{value:?}")));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.fields
                .push((field.name().to_owned(), value.to_owned()));
        }
    }
}
