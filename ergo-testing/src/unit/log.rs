//! Log capture: while a handler runs, `tracing` events on its thread become
//! [`Effect::Log`] records of the harness.

use std::fmt::{self, Write as _};
use std::sync::Arc;

use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};

use super::record::{Effect, LogLine, Recorder};

struct Capture(Arc<Recorder>);

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: LayerContext<'_, S>) {
        let mut line = Fields::default();
        event.record(&mut line);
        self.0.record(Effect::Log(LogLine {
            level: *event.metadata().level(),
            message: line.message,
            fields: line.fields,
        }));
    }
}

#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(String, String)>,
}

impl Visit for Fields {
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

/// The dispatcher a harness runs its handlers under.
pub(crate) fn dispatch(recorder: Arc<Recorder>) -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(Capture(recorder)))
}
