//! DISCONNECT (section 3.14) and AUTH (MQTT 5 section 3.15): a reason code and properties,
//! both omitted on the wire when they are Success / empty.

use bytes::{BufMut, Bytes};

use crate::error::EncodeError;
use crate::header::{PacketType, ProtocolVersion};
use crate::properties::{self, AuthProperties, DisconnectProperties};
use crate::reason::ReasonCode;
use crate::storage::{Borrowed, IntoOwned, Owned, Storage};
use crate::wire::{self, PResult};

macro_rules! reason_packet {
    ($(#[$doc:meta])* $name:ident, $props:ident, $packet:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name<S: Storage = Owned> {
            /// Reason code (MQTT 5; always `Success` in 3.1.1).
            pub reason_code: ReasonCode,
            /// Properties (MQTT 5).
            pub properties: $props<S>,
        }

        impl<S: Storage> Default for $name<S> {
            fn default() -> Self {
                Self { reason_code: ReasonCode::Success, properties: $props::default() }
            }
        }

        impl $name<Owned> {
            /// A packet with `reason_code` and no properties.
            pub fn new(reason_code: ReasonCode) -> Self {
                Self { reason_code, properties: $props::default() }
            }
        }

        impl<'a> $name<Borrowed<'a>> {
            pub(crate) fn parse(body: &'a [u8], version: ProtocolVersion) -> PResult<'a, Self> {
                let mut packet = Self::default();
                if version == ProtocolVersion::V311 || body.is_empty() {
                    return Ok((body, packet));
                }
                let (rest, code) = wire::reason_code(PacketType::$packet)(body)?;
                packet.reason_code = code;
                if rest.is_empty() {
                    return Ok((rest, packet));
                }
                let (rest, properties) = $props::parse(rest, PacketType::$packet)?;
                packet.properties = properties;
                Ok((rest, packet))
            }
        }

        impl $name<Owned> {
            /// Body length and property length, after validation (shortest form).
            pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
                let packet = PacketType::$packet;
                if !self.reason_code.is_valid_for(packet) {
                    return Err(EncodeError::InvalidReasonCode { packet, code: self.reason_code as u8 });
                }
                let props = self.properties.body_len()?;
                match version {
                    _ if props == 0 && self.reason_code == ReasonCode::Success => Ok((0, 0)),
                    ProtocolVersion::V311 => Err(EncodeError::V5OnlyFeature { packet }),
                    ProtocolVersion::V5 if props == 0 => Ok((1, 0)),
                    ProtocolVersion::V5 => Ok((1 + properties::block_len(props)?, props)),
                }
            }

            pub(crate) fn put(&self, sizes: (usize, usize), buf: &mut impl BufMut) {
                wire::put_header(buf, (PacketType::$packet as u8) << 4, sizes.0);
                if sizes.0 > 0 {
                    buf.put_u8(self.reason_code as u8);
                }
                if sizes.0 > 1 {
                    self.properties.put(buf, sizes.1);
                }
            }
        }

        impl<'a> IntoOwned for $name<Borrowed<'a>> {
            type Owned = $name<Owned>;
            fn into_owned(self, frame: &Bytes) -> $name<Owned> {
                $name { reason_code: self.reason_code, properties: self.properties.into_owned(frame) }
            }
        }
    };
}

reason_packet! {
    /// DISCONNECT: the last packet on a connection, from either side. In MQTT 5 it carries
    /// why (e.g. `ServerShuttingDown`, `SessionTakenOver`).
    Disconnect, DisconnectProperties, Disconnect
}

reason_packet! {
    /// AUTH (MQTT 5 only): a step of extended authentication.
    Auth, AuthProperties, Auth
}
