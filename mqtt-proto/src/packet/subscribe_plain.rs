//! The plain SUBSCRIBE encoder: the common SUBSCRIBE — without properties, every option within
//! the rules — written with one reservation by word stores into the buffer's spare room
//! ([`wire::try_put_frame`]); the filters are copied, not scanned (each is a
//! [`TopicFilter`](crate::TopicFilter), checked when it was built). Anything else, every error
//! among it, is left to the general encoder (`Subscribe::encode_checked`), which the tests here
//! compare it with.

use crate::header::ProtocolVersion;
use crate::topic;
use crate::wire;

use super::subscribe::Subscribe;

/// Why the plain encoder declines (the general encoder then finds the error, if any).
struct NotPlain;

impl Subscribe {
    /// The common SUBSCRIBE — without properties, every option within the rules — in one
    /// pass over the filters. `None` (nothing appended) for anything else, which
    /// [`Self::encode_checked`] writes or refuses with its error.
    #[inline]
    pub(crate) fn encode_plain(
        &self,
        version: ProtocolVersion,
        buf: &mut bytes::BytesMut,
    ) -> Option<usize> {
        if self.packet_id == 0 || self.subscriptions.is_empty() || !self.properties.is_empty() {
            return None;
        }
        let v5 = version == ProtocolVersion::V5;
        // Packet identifier and (MQTT 5) the empty property block's length byte.
        let head = 2 + usize::from(v5);
        let body = self
            .subscriptions
            .iter()
            .fold(head, |n, s| n + 3 + s.filter.len());
        let total = wire::total_len(body).ok()?;
        let written = wire::try_put_frame(buf, total, |frame| {
            // Fixed header, packet identifier and the property length (0) in one word.
            let (header, n) = crate::varint::header_word(0x82, body as u32);
            let id = u64::from(self.packet_id.swap_bytes());
            frame.store((header | id << (8 * n)).to_le_bytes(), n + head);
            for s in &self.subscriptions {
                let (filter, options) = (s.filter.as_bytes(), s.options.to_byte());
                // MQTT 3.1.1 has only the QoS bits; No Local is refused on a shared filter. The
                // filter itself was checked when its `TopicFilter` was built; that its length
                // fits the two-byte prefix is said again for the compiler, which then drops the
                // entry's inner bounds checks.
                if filter.len() > usize::from(u16::MAX)
                    || (!v5 && options > 0b11)
                    || (options & 0b100 != 0 && topic::is_shared_bytes(filter))
                {
                    return Err(NotPlain);
                }
                frame.entry(filter, options);
            }
            Ok(())
        });
        written.ok()
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec::Vec;

    use proptest::prelude::*;

    use super::*;
    use crate::packet::subscribe::{RetainHandling, Subscription, SubscriptionOptions};
    use crate::QoS;

    /// Both encoders on one SUBSCRIBE: the plain one writes exactly what the general one does,
    /// or declines and appends nothing.
    fn agree(sub: &Subscribe, version: ProtocolVersion) -> Result<(), TestCaseError> {
        let mut plain = bytes::BytesMut::from(&b"xy"[..]);
        let mut checked = plain.clone();
        let a = sub.encode_plain(version, &mut plain);
        let b = sub.encode_checked(version, &mut checked);
        if a.is_some() {
            prop_assert_eq!(a, b.clone().ok(), "{:?}", sub);
            prop_assert_eq!(&plain, &checked, "{:?}", sub);
        } else {
            prop_assert_eq!(&plain[..], b"xy");
        }
        let mut again = bytes::BytesMut::new();
        prop_assert_eq!(sub.encode(version, &mut again), b);
        Ok(())
    }

    /// Filters near every rule: wildcards in and out of place, U+0000, shared subscriptions
    /// (good and bad share names), lengths around the word size, and one too long for its
    /// two-byte length (a `TopicFilter` refuses the bad ones; the SUBSCRIBE strategy keeps the
    /// others).
    fn filter() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => "[a-c/+#]{0,30}",
            2 => "[a-z0-9]{1,9}(/[a-z0-9+]{1,9}){0,4}(/#)?",
            1 => "\\$share/[a-z+#/]{0,4}/[a-c/+#]{0,12}",
            1 => "[a-c/]{0,12}\0[a-c/+]{0,12}",
            1 => (65_535usize..65_537).prop_map(|n| "a".repeat(n)),
        ]
    }

    /// Valid filters (what a `TopicFilter` holds): levels of up to 8 bytes and `+`, maybe
    /// `/#`, shared ones, the longest.
    fn valid_filter() -> impl Strategy<Value = crate::TopicFilter> {
        let level = prop_oneof![3 => "[a-c]{0,8}", 1 => Just(String::from("+"))];
        let levels =
            (proptest::collection::vec(level, 1..6), any::<bool>()).prop_map(|(levels, hash)| {
                let filter = levels.join("/");
                match (hash, filter.is_empty()) {
                    (false, _) => filter,
                    (true, true) => String::from("#"),
                    (true, false) => filter + "/#",
                }
            });
        prop_oneof![
            8 => levels.clone(),
            1 => levels.prop_map(|f| String::from("$share/g/") + &f),
            1 => Just("a".repeat(65_535)),
        ]
        .prop_filter_map("a valid filter", |f| crate::TopicFilter::new(f).ok())
    }

    fn options() -> impl Strategy<Value = SubscriptionOptions> {
        (0u8..3, any::<bool>(), any::<bool>(), 0u8..3).prop_map(|(qos, no_local, rap, rh)| {
            SubscriptionOptions {
                max_qos: QoS::from_u8(qos).unwrap_or(QoS::AtMostOnce),
                no_local,
                retain_as_published: rap,
                retain_handling: match rh {
                    0 => RetainHandling::SendAtSubscribe,
                    1 => RetainHandling::SendIfNew,
                    _ => RetainHandling::DoNotSend,
                },
            }
        })
    }

    fn any_subscribe() -> impl Strategy<Value = Subscribe> {
        let subscription = (
            valid_filter(),
            prop_oneof![3 => Just(None), 1 => options().prop_map(Some)],
        );
        (
            prop_oneof![9 => 1u16.., 1 => Just(0u16)],
            proptest::collection::vec(subscription, 0..6),
            any::<bool>(),
        )
            .prop_map(|(id, subs, props)| {
                let subscriptions: Vec<Subscription> = subs
                    .into_iter()
                    .map(|(f, options)| Subscription {
                        filter: f,
                        options: options
                            .unwrap_or_else(|| SubscriptionOptions::new(QoS::AtLeastOnce)),
                    })
                    .collect();
                let mut s = Subscribe::new(id, subscriptions);
                if props {
                    s.properties.subscription_identifier = Some(7);
                }
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn plain_subscribe_encode_agrees_with_the_checked_encoder(
            sub in any_subscribe(),
            v5 in any::<bool>(),
        ) {
            let version = if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 };
            agree(&sub, version)?;
        }

        /// A `TopicFilter` is built exactly from the strings the decoder accepts as filters.
        #[test]
        fn a_topic_filter_is_built_from_what_the_decoder_accepts(f in filter()) {
            let decodable = topic::validate_filter(&f).is_ok() && u16::try_from(f.len()).is_ok();
            prop_assert_eq!(crate::TopicFilter::new(f.as_str()).is_ok(), decodable, "{:?}", f);
        }
    }

    /// The in-place SUBSCRIBE encoder (`wire::try_put_frame`, `Frame::entry` and their
    /// `unsafe` code, run under Miri in CI) takes the usual shapes, byte for byte as the
    /// general one writes them: filters of every length class of the entry's copy (1-3, 4-8,
    /// 9-16, 17-32 bytes and longer, at both ends of each), wildcards at either end, a shared
    /// subscription, both versions, a body needing two length bytes.
    #[test]
    fn in_place_encode_of_subscribe_matches_the_checked_encoder() {
        let filters = [
            "a",
            "a/b",
            "+",
            "#",
            "a/+/c/d",
            "sensors/",
            "sensors/+",
            "+/sensors/#",
            "sensors/1/+/temperature",
            "$share/g/a/+/b",
            "0123456789abcdef/+",
            "ab",
            "abcd",
            "0123456789abcdef",
            "0123456789abcdef/",
            "0123456789abcdef/0123456789abcde",
            "0123456789abcdef/0123456789abcdef",
            "0123456789abcdef/0123456789abcdef/+/#",
        ];
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            for many in [1, 10] {
                let subs = filters
                    .iter()
                    .cycle()
                    .take(filters.len() * many)
                    .map(|f| {
                        let filter = crate::TopicFilter::new(*f).expect("a valid filter");
                        Subscription::new(filter, QoS::ExactlyOnce)
                    })
                    .collect();
                let sub = Subscribe::new(7, subs);
                let mut plain = bytes::BytesMut::from(&b"xy"[..]);
                let mut checked = plain.clone();
                let a = sub.encode_plain(version, &mut plain);
                assert!(a.is_some(), "{version:?} {many}");
                assert_eq!(a, sub.encode_checked(version, &mut checked).ok());
                assert_eq!(plain, checked);
            }
        }
    }
}
