//! [`StoredPublish`]: a QoS 1/2 message as the session holds it while it waits in the queue or
//! in flight.

use alloc::boxed::Box;
use alloc::collections::VecDeque;

use bytes::Bytes;
use mqtt_proto::{Publish, PublishProperties, QoS, TopicName};

/// A PUBLISH kept by the session: the same fields as [`Publish`], the properties boxed and
/// absent for the many messages that carry none (as `Publish` holds them too), and an empty
/// set not kept. A held message takes 80 bytes beside its topic and payload: thousands of
/// unacknowledged messages stay small, and moving one costs little.
///
/// ```
/// use mqtt_engine::StoredPublish;
/// use mqtt_proto::{Publish, QoS, TopicName};
///
/// let mut publish = Publish::new(TopicName::new("a/b")?, &b"hello"[..]).with_qos(QoS::AtLeastOnce);
/// publish.packet_id = Some(7);
/// let stored = StoredPublish::from(publish.clone());
/// assert!(stored.properties().is_none());
/// assert_eq!(stored.into_publish(), publish);
/// # Ok::<(), mqtt_proto::EncodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPublish {
    /// Topic name (always the full name: topic aliases are applied when sending).
    pub topic: TopicName,
    /// Application payload.
    pub payload: Bytes,
    /// Packet identifier (`Some` for QoS 1/2).
    pub packet_id: Option<u16>,
    /// Quality of service.
    pub qos: QoS,
    /// Retained message.
    pub retain: bool,
    /// Set when the message is sent again.
    pub dup: bool,
    properties: Option<Box<PublishProperties>>,
}

impl StoredPublish {
    /// The MQTT 5 properties, `None` when the message has none.
    pub fn properties(&self) -> Option<&PublishProperties> {
        self.properties.as_deref()
    }

    /// The message as a [`Publish`] (clones share the topic and payload memory).
    pub fn to_publish(&self) -> Publish {
        self.clone().into_publish()
    }

    /// The message as a [`Publish`].
    pub fn into_publish(self) -> Publish {
        Publish {
            dup: self.dup,
            qos: self.qos,
            retain: self.retain,
            topic: self.topic,
            packet_id: self.packet_id,
            properties: self.properties.into(),
            payload: self.payload,
        }
    }
}

impl From<Publish> for StoredPublish {
    // Inlined: measured with callgrind when a `Publish` was 232 bytes (a call moved it).
    #[allow(clippy::inline_always)]
    #[inline(always)]
    fn from(p: Publish) -> Self {
        let Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            properties,
            payload,
        } = p;
        // An empty set (present after being set and cleared) is not kept.
        let properties = properties.into_box().filter(|p| !p.is_empty());
        Self {
            topic,
            payload,
            packet_id,
            qos,
            retain,
            dup,
            properties,
        }
    }
}

impl From<StoredPublish> for Publish {
    fn from(p: StoredPublish) -> Self {
        p.into_publish()
    }
}

/// Appends to a long-lived queue of held messages, growing it by a quarter instead of
/// doubling: thousands of waiting messages then leave at most a quarter of the buffer unused
/// (doubling can leave half), still with amortized constant-time appends.
pub(crate) fn push_growing<T>(queue: &mut VecDeque<T>, item: T) {
    if queue.len() == queue.capacity() {
        queue.reserve_exact(queue.capacity() / 4 + 16);
    }
    queue.push_back(item);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_survive_the_round_trip_and_the_entry_stays_small() {
        let mut p =
            Publish::new("t".try_into().expect("topic"), &b"x"[..]).with_qos(QoS::ExactlyOnce);
        p.packet_id = Some(3);
        p.dup = true;
        p.retain = true;
        p.properties.content_type = Some("text/plain".into());
        let stored = StoredPublish::from(p.clone());
        assert_eq!(
            stored.properties().and_then(|q| q.content_type.clone()),
            Some("text/plain".into())
        );
        assert_eq!(stored.to_publish(), p);
        assert!(core::mem::size_of::<StoredPublish>() <= 80);
    }

    /// Empty properties (set, then cleared) are not kept, whether their lists hold memory or not.
    #[test]
    fn empty_properties_are_not_kept_whatever_their_lists_hold() {
        let plain = Publish::new("t".try_into().expect("topic"), &b"x"[..]);
        let mut with_room = plain.clone();
        with_room.properties.user_properties = alloc::vec::Vec::with_capacity(4);
        with_room.properties.subscription_identifiers = alloc::vec::Vec::with_capacity(2);
        for p in [plain, with_room] {
            let stored = StoredPublish::from(p.clone());
            assert!(stored.properties().is_none());
            assert_eq!(stored.into_publish(), p);
        }
    }
}
