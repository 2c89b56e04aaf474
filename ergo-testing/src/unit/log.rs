//! Log capture: while a handler runs, `tracing` events on its thread become
//! [`Effect::Log`] records of the harness.

use std::sync::Arc;

use tracing::{Dispatch, Event, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer, SubscriberExt};

use super::record::{Effect, LogLine, Recorder};

struct Capture(Arc<Recorder>);

impl<S: Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &Event<'_>, _: LayerContext<'_, S>) {
        let mut line = ergo_runtime::LogFields::default();
        event.record(&mut line);
        self.0.record(Effect::Log(LogLine {
            level: *event.metadata().level(),
            message: line.message,
            fields: line.fields,
        }));
    }
}

/// The dispatcher a harness runs its handlers under.
pub(crate) fn dispatch(recorder: Arc<Recorder>) -> Dispatch {
    Dispatch::new(tracing_subscriber::registry().with(Capture(recorder)))
}
