//! Routing received messages to the handlers of matching topic filters.

use std::sync::Arc;

use mqtt_proto::topic;

use transport_core::Message;

/// A message handler.
pub(crate) type Handler = Arc<dyn Fn(&Message) + Send + Sync>;

/// Per-filter handlers and a default for messages no filter matches.
#[derive(Default, Clone)]
pub(crate) struct Router {
    routes: Vec<(String, Handler)>,
    default: Option<Handler>,
}

impl Router {
    /// Adds (or replaces) the handler of `filter`.
    pub(crate) fn add(&mut self, filter: &str, handler: Handler) {
        self.routes.retain(|(f, _)| f != filter);
        self.routes.push((filter.to_string(), handler));
    }

    pub(crate) fn remove(&mut self, filter: &str) {
        self.routes.retain(|(f, _)| f != filter);
    }

    pub(crate) fn set_default(&mut self, handler: Handler) {
        self.default = Some(handler);
    }

    /// The handlers to call for a message on `topic_name`: every matching filter's, else the
    /// default.
    pub(crate) fn handlers_for(&self, topic_name: &str) -> Vec<Handler> {
        let matched: Vec<Handler> = self
            .routes
            .iter()
            .filter(|(f, _)| topic::matches(f, topic_name))
            .map(|(_, h)| h.clone())
            .collect();
        if matched.is_empty() {
            self.default.iter().cloned().collect()
        } else {
            matched
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn wildcards_shared_filters_and_default() {
        let hits = Arc::new([
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
            AtomicUsize::new(0),
        ]);
        let handler = |i: usize| -> Handler {
            let hits = hits.clone();
            Arc::new(move |_: &Message| {
                hits[i].fetch_add(1, Ordering::SeqCst);
            })
        };
        let mut r = Router::default();
        r.add("cmd/#", handler(0));
        r.add("cmd/+/reboot", handler(1));
        r.add("$share/g/jobs/+", handler(2));
        r.set_default(handler(3));
        assert_eq!(r.handlers_for("cmd/a/reboot").len(), 2);
        assert_eq!(r.handlers_for("jobs/1").len(), 1);
        assert_eq!(r.handlers_for("other").len(), 1, "default");
        r.remove("cmd/#");
        assert_eq!(r.handlers_for("cmd/x").len(), 1, "default after removal");
    }
}
