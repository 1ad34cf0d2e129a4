//! Helpers shared by the codec tests.

#![allow(dead_code)]

use bytes::BytesMut;
use mqtt_proto::{decode, decode_ref, EncodeError, Packet, ProtocolVersion};

/// Bytes from space-separated hex pairs.
pub fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
        .collect()
}

pub const MAX: usize = 1 << 20;

/// Checks that `bytes` decodes only once complete, whichever byte the input is cut at, with
/// both decoders, and returns the owned packet.
pub fn decode_streaming(bytes: &[u8], version: ProtocolVersion) -> Packet {
    for cut in 0..bytes.len() {
        assert_eq!(
            decode_ref(&bytes[..cut], version, MAX),
            Ok(None),
            "prefix of {cut} bytes"
        );
        let mut buf = BytesMut::from(&bytes[..cut]);
        assert_eq!(
            decode(&mut buf, version, MAX),
            Ok(None),
            "owned prefix of {cut} bytes"
        );
        assert_eq!(buf.len(), cut, "nothing consumed at {cut}");
        buf.extend_from_slice(&bytes[cut..]);
        let packet = decode(&mut buf, version, MAX)
            .expect("valid")
            .expect("complete");
        assert!(buf.is_empty());
        let (view, used) = decode_ref(bytes, version, MAX)
            .expect("valid")
            .expect("complete");
        assert_eq!(used, bytes.len());
        assert_eq!(view.packet_type(), packet.packet_type());
    }
    let mut buf = BytesMut::from(bytes);
    decode(&mut buf, version, MAX)
        .expect("valid")
        .expect("complete")
}

/// Encodes `packet`, checking that `encoded_len` is exact.
pub fn encode(packet: &Packet, version: ProtocolVersion) -> Vec<u8> {
    let len = packet.encoded_len(version).expect("encodable");
    let mut buf = BytesMut::new();
    let written = packet.encode(version, &mut buf).expect("encodable");
    assert_eq!((written, buf.len()), (len, len), "encoded_len is exact");
    let mut slice = vec![0; len];
    assert_eq!(packet.encode_to_slice(version, &mut slice), Ok(len));
    let short = len - 1;
    assert_eq!(
        packet.encode_to_slice(version, &mut slice[..short]),
        Err(EncodeError::BufferTooSmall {
            needed: u32::try_from(len).expect("a packet's size fits a u32"),
            available: u32::try_from(short).expect("shorter"),
        }),
        "one byte short"
    );
    assert_eq!(slice, buf.to_vec(), "slice and BytesMut encodings agree");
    buf.to_vec()
}
