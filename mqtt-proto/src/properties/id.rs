//! Property identifiers (MQTT 5 section 2.2.2.2) and the shape of their values.

#![allow(missing_docs)]

pub const PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
pub const MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
pub const CONTENT_TYPE: u8 = 0x03;
pub const RESPONSE_TOPIC: u8 = 0x08;
pub const CORRELATION_DATA: u8 = 0x09;
pub const SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
pub const SESSION_EXPIRY_INTERVAL: u8 = 0x11;
pub const ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
pub const SERVER_KEEP_ALIVE: u8 = 0x13;
pub const AUTHENTICATION_METHOD: u8 = 0x15;
pub const AUTHENTICATION_DATA: u8 = 0x16;
pub const REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
pub const WILL_DELAY_INTERVAL: u8 = 0x18;
pub const REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
pub const RESPONSE_INFORMATION: u8 = 0x1A;
pub const SERVER_REFERENCE: u8 = 0x1C;
pub const REASON_STRING: u8 = 0x1F;
pub const RECEIVE_MAXIMUM: u8 = 0x21;
pub const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
pub const TOPIC_ALIAS: u8 = 0x23;
pub const MAXIMUM_QOS: u8 = 0x24;
pub const RETAIN_AVAILABLE: u8 = 0x25;
pub const USER_PROPERTY: u8 = 0x26;
pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;
pub const WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
pub const SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
pub const SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;

/// How many bytes a value takes, for the properties that are not lists or varints.
pub(crate) enum Width {
    Fixed(usize),
    /// Two-byte length prefix then data (strings, binary data).
    Prefixed,
}

/// The value shape of a defined property; `None` for an identifier the spec does not define.
/// User Property and Subscription Identifier are handled by their callers.
pub(crate) fn width(pid: u8) -> Option<Width> {
    Some(match pid {
        PAYLOAD_FORMAT_INDICATOR
        | REQUEST_PROBLEM_INFORMATION
        | REQUEST_RESPONSE_INFORMATION
        | MAXIMUM_QOS
        | RETAIN_AVAILABLE
        | WILDCARD_SUBSCRIPTION_AVAILABLE
        | SUBSCRIPTION_IDENTIFIER_AVAILABLE
        | SHARED_SUBSCRIPTION_AVAILABLE => Width::Fixed(1),
        SERVER_KEEP_ALIVE | RECEIVE_MAXIMUM | TOPIC_ALIAS_MAXIMUM | TOPIC_ALIAS => Width::Fixed(2),
        MESSAGE_EXPIRY_INTERVAL
        | SESSION_EXPIRY_INTERVAL
        | WILL_DELAY_INTERVAL
        | MAXIMUM_PACKET_SIZE => Width::Fixed(4),
        CONTENT_TYPE
        | RESPONSE_TOPIC
        | CORRELATION_DATA
        | ASSIGNED_CLIENT_IDENTIFIER
        | AUTHENTICATION_METHOD
        | AUTHENTICATION_DATA
        | RESPONSE_INFORMATION
        | SERVER_REFERENCE
        | REASON_STRING => Width::Prefixed,
        _ => return None,
    })
}

/// True for identifiers the specification defines.
pub(crate) fn is_defined(pid: u32) -> bool {
    u8::try_from(pid)
        .is_ok_and(|p| p == USER_PROPERTY || p == SUBSCRIPTION_IDENTIFIER || width(p).is_some())
}

/// Properties for which 0 is a Protocol Error.
pub(crate) fn must_be_non_zero(pid: u8) -> bool {
    matches!(
        pid,
        RECEIVE_MAXIMUM | TOPIC_ALIAS | MAXIMUM_PACKET_SIZE | SUBSCRIPTION_IDENTIFIER
    )
}
