//! Arbitrary bytes into both decoders, both protocol versions. Whatever decodes must encode
//! again and decode to the same packet; nothing may panic.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mqtt_proto::{decode, decode_ref, ProtocolVersion};

fuzz_target!(|data: &[u8]| {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        if let Ok(Some((_, used))) = decode_ref(data, version, 1 << 20) {
            assert!(used <= data.len());
        }
        let mut buf = BytesMut::from(data);
        while let Ok(Some(packet)) = decode(&mut buf, version, 1 << 20) {
            let mut again = BytesMut::new();
            packet
                .encode(version, &mut again)
                .expect("a decoded packet encodes");
            let back = decode(&mut again, version, 1 << 20)
                .expect("re-decodes")
                .expect("whole");
            assert_eq!(back, packet);
        }
    }
});
