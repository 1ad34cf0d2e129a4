//! The plain CONNECT encoder: the common CONNECT — without properties (and a will without
//! them), every field within the rules — written with one reservation by word stores and short
//! copies into the buffer's spare room ([`wire::try_put_frame`]). Anything else, every error
//! among it, is left to the general encoder (`Connect::encode_checked`), which the tests here
//! compare it with.

use crate::header::ProtocolVersion;
use crate::wire;

use super::connect::{flag, Connect};

impl Connect {
    /// The common CONNECT — without properties (and a will without them), every field within
    /// the rules — written with one reservation by word stores and short copies (callgrind,
    /// `profile encode_connect`: 496 → 376 instructions). `None` (nothing appended) for
    /// anything else, which [`Self::encode_checked`] writes or refuses with its error.
    pub(crate) fn encode_plain(&self, buf: &mut bytes::BytesMut) -> Option<usize> {
        let v5 = self.protocol == ProtocolVersion::V5;
        if self.properties.get().is_some_and(|p| !p.is_empty())
            || (!v5 && self.password.is_some() && self.username.is_none())
        {
            return None;
        }
        // The (empty) property blocks of MQTT 5: one length byte each.
        let block = usize::from(v5);
        let client_id = self.client_id.as_bytes();
        // The strings' lengths only: their U+0000 check runs as they are copied.
        let mut body = 10 + block + wire::scanned_string_len(client_id).ok()?;
        let mut flags = if self.clean_start {
            flag::CLEAN_START
        } else {
            0
        };
        if let Some(will) = &self.will {
            if will.properties.get().is_some_and(|p| !p.is_empty()) {
                return None;
            }
            crate::topic::validate_name(&will.topic).ok()?;
            body += block
                + wire::string_len(will.topic.as_bytes()).ok()?
                + wire::binary_len(&will.payload).ok()?;
            flags |= flag::WILL | ((will.qos as u8) << flag::WILL_QOS_SHIFT);
            if will.retain {
                flags |= flag::WILL_RETAIN;
            }
        }
        if let Some(u) = &self.username {
            body += wire::scanned_string_len(u.as_bytes()).ok()?;
            flags |= flag::USERNAME;
        }
        if let Some(p) = &self.password {
            body += wire::binary_len(p).ok()?;
            flags |= flag::PASSWORD;
        }
        let total = wire::total_len(body).ok()?;
        let written: Result<usize, wire::HasNul> = wire::try_put_frame(buf, total, |frame| {
            // Fixed header and the protocol name's length; then the name, level, flags
            // and keep-alive: one word each.
            let (header, n) = crate::varint::header_word(0x10, body as u32);
            frame.store((header | 0x0400 << (8 * n)).to_le_bytes(), n + 2);
            let [hi, lo] = self.keep_alive.to_be_bytes();
            let level = self.protocol.level();
            frame.store([b'M', b'Q', b'T', b'T', level, flags, hi, lo], 8);
            let empty_block = |frame: &mut wire::Frame<'_>| {
                if v5 {
                    frame.store([0u8], 1);
                }
            };
            empty_block(frame);
            frame.prefixed_text(client_id)?;
            if let Some(will) = &self.will {
                empty_block(frame);
                frame.prefixed(will.topic.as_bytes());
                frame.prefixed(&will.payload);
            }
            if let Some(u) = &self.username {
                frame.prefixed_text(u.as_bytes())?;
            }
            if let Some(p) = &self.password {
                frame.prefixed(p);
            }
            Ok(())
        });
        written.ok()
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::String;
    use alloc::vec;

    use proptest::prelude::*;

    use bytes::Bytes;

    use super::*;
    use crate::packet::connect::LastWill;
    use crate::QoS;

    /// Both encoders on one CONNECT: the plain one writes exactly what the general one does,
    /// or declines and appends nothing.
    fn agree(connect: &Connect) -> Result<(), TestCaseError> {
        let mut plain = bytes::BytesMut::from(&b"xy"[..]);
        let mut checked = plain.clone();
        let a = connect.encode_plain(&mut plain);
        let b = connect.encode_checked(&mut checked);
        if a.is_some() {
            prop_assert_eq!(a, b.clone().ok(), "{:?}", connect);
            prop_assert_eq!(&plain, &checked, "{:?}", connect);
        } else {
            prop_assert_eq!(&plain[..], b"xy");
        }
        prop_assert_eq!(connect.encode(&mut bytes::BytesMut::new()), b);
        Ok(())
    }

    /// Strings near every rule: empty, U+0000 (in every word of the copy), non-ASCII, around
    /// the copy's word sizes, and one too long for its two-byte length.
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => "[a-z0-9/+#-]{0,40}",
            1 => Just(String::from("a\0b")),
            1 => "[a-z]{0,20}\0[a-z]{0,20}",
            1 => Just(String::from("é")),
            1 => (65_535usize..65_537).prop_map(|n| "a".repeat(n)),
        ]
    }

    fn any_connect() -> impl Strategy<Value = Connect> {
        let will = (
            text(),
            proptest::collection::vec(any::<u8>(), 0..20),
            0u8..3,
            any::<bool>(),
            any::<bool>(),
        );
        (
            any::<bool>(),
            text(),
            any::<bool>(),
            any::<u16>(),
            proptest::option::of(will),
            proptest::option::of(text()),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            any::<bool>(),
        )
            .prop_map(|(v5, id, clean, keep_alive, will, user, password, props)| {
                let version = if v5 {
                    ProtocolVersion::V5
                } else {
                    ProtocolVersion::V311
                };
                let mut c = Connect::new(version, id);
                c.clean_start = clean;
                c.keep_alive = keep_alive;
                c.will = will.map(|(topic, payload, qos, retain, will_props)| {
                    let mut w = LastWill::new(topic, payload)
                        .with_qos(QoS::from_u8(qos).unwrap_or(QoS::AtMostOnce))
                        .with_retain(retain);
                    if will_props {
                        w.properties.message_expiry_interval = Some(5);
                    }
                    w
                });
                c.username = user.map(Into::into);
                c.password = password.map(Into::into);
                if props {
                    c.properties.session_expiry_interval = Some(60);
                }
                c
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn plain_connect_encode_agrees_with_the_checked_encoder(connect in any_connect()) {
            agree(&connect)?;
        }
    }

    /// The in-place CONNECT encoder (`wire::try_put_frame` and its `unsafe` code, run under
    /// Miri in CI) against the general one, on the usual shapes of both versions.
    #[test]
    fn in_place_encode_of_connect_matches_the_checked_encoder() {
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let mut c = Connect::new(version, "bench-client-0001");
            c.keep_alive = 30;
            let mut with_will = c.clone();
            with_will.will = Some(LastWill::new("status/bench", vec![1u8; 30]).with_retain(true));
            with_will.username = Some("user".into());
            with_will.password = Some(Bytes::from_static(b"password"));
            let mut empty_id = Connect::new(version, "");
            empty_id.username = Some("u".into());
            for connect in [c, with_will, empty_id] {
                let mut plain = bytes::BytesMut::from(&b"xy"[..]);
                let mut checked = plain.clone();
                let a = connect.encode_plain(&mut plain);
                assert!(a.is_some(), "{connect:?}");
                assert_eq!(a, connect.encode_checked(&mut checked).ok());
                assert_eq!(plain, checked);
            }
        }
    }
}
