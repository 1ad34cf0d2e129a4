//! Arbitrary bytes into both decoders, both protocol versions. The borrowed view, made owned
//! (its lazily read property blocks read), must be what the owned decoder returns; a CONNECT
//! read as its own type (`decode_connect_ref`) what `decode_ref` reads; whatever decodes must
//! encode again and decode to the same packet; nothing may panic.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mqtt_proto::{decode, decode_connect_ref, decode_ref, IntoOwned, Packet, ProtocolVersion};

fuzz_target!(|data: &[u8]| {
    if data.first().is_some_and(|b| b >> 4 == 1) {
        let general = decode_ref(data, ProtocolVersion::V5, 1 << 20);
        let own = decode_connect_ref(data, 1 << 20);
        match general {
            Ok(Some((Packet::Connect(connect), used))) => {
                assert_eq!(own, Ok(Some((*connect, used))))
            }
            general => assert_eq!(own, general.map(|_| None)),
        }
    }
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        if let Ok(Some((view, used))) = decode_ref(data, version, 1 << 20) {
            assert!(used <= data.len());
            let frame = bytes::Bytes::copy_from_slice(&data[..used]);
            let owned = decode(&mut BytesMut::from(&data[..used]), version, 1 << 20)
                .expect("the owned decoder takes what the borrowed one took")
                .expect("whole");
            assert_eq!(view.into_owned(&frame), owned);
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
