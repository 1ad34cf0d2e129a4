//! [`TopicName`] and [`TopicFilter`]: topic strings checked once, when they are built, so
//! that encoding a PUBLISH or a SUBSCRIBE copies them without checking them again (a packet
//! kept for a retry, a session resumed or a subscription renewed on every reconnect is checked
//! once, not at every send). The decoder builds them from the strings it has already checked.
//!
//! ```
//! use mqtt_proto::{EncodeError, TopicFilter, TopicName};
//!
//! let name = TopicName::new("sensors/kitchen/temp")?;
//! assert_eq!(name, "sensors/kitchen/temp");
//! assert_eq!(TopicName::new("sensors/+/temp"), Err(EncodeError::WildcardInTopicName));
//!
//! let filter = TopicFilter::new("sensors/+/temp")?;
//! assert!(mqtt_proto::topic::matches(&filter, &name));
//! assert_eq!(TopicFilter::new("sensors/#/temp"), Err(EncodeError::InvalidTopicFilter));
//! # Ok::<(), EncodeError>(())
//! ```

use alloc::string::String;
use core::fmt;

use bytes::Bytes;

use crate::bytestr::ByteStr;
use crate::error::EncodeError;

/// The longest string a two-byte length prefix can carry.
const MAX_LEN: usize = u16::MAX as usize;

/// A topic name a PUBLISH may carry: UTF-8, at most 65,535 bytes, without `+`, `#` or U+0000
/// [MQTT-3.3.2-2], [MQTT-4.7.3-2], non-empty [MQTT-4.7.3-1] — checked when it is built.
///
/// The one empty name is [`TopicName::default`], for an MQTT 5 PUBLISH whose Topic Alias
/// stands for its topic (the encoder refuses it without one).
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct TopicName(ByteStr);

impl TopicName {
    /// Checks `name` and wraps it (no copy for a `String`, a `ByteStr` or `Bytes`-backed text).
    #[inline]
    pub fn new(name: impl Into<ByteStr>) -> Result<Self, EncodeError> {
        let name = name.into();
        let bytes = name.as_bytes();
        if bytes.is_empty() {
            return Err(EncodeError::EmptyTopicName);
        }
        if bytes.len() > MAX_LEN {
            return Err(EncodeError::StringTooLong(bytes.len()));
        }
        crate::topic::scan_name(bytes).map_err(|e| EncodeError::from_topic(&e))?;
        Ok(Self(name))
    }

    /// A name the decoder has already checked (or the empty one of an aliased PUBLISH).
    pub(crate) fn from_checked(name: ByteStr) -> Self {
        Self(name)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// The name as a plain [`ByteStr`].
    pub fn into_inner(self) -> ByteStr {
        self.0
    }
}

/// A topic filter a SUBSCRIBE may carry: UTF-8, non-empty, at most 65,535 bytes, `+` only as a
/// whole level and `#` only as the whole last level [MQTT-4.7.1-1], [MQTT-4.7.1-2], no U+0000
/// [MQTT-4.7.3-2], and a `$share/ShareName/filter` with a valid share name and filter
/// [MQTT-4.8.2-1], [MQTT-4.8.2-2] — checked when it is built.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TopicFilter(ByteStr);

impl TopicFilter {
    /// Checks `filter` and wraps it (no copy for a `String`, a `ByteStr` or `Bytes`-backed
    /// text).
    pub fn new(filter: impl Into<ByteStr>) -> Result<Self, EncodeError> {
        let filter = filter.into();
        let bytes = filter.as_bytes();
        if bytes.len() > MAX_LEN {
            return Err(EncodeError::StringTooLong(bytes.len()));
        }
        crate::topic::check_filter(bytes).map_err(|e| EncodeError::from_filter(&e))?;
        Ok(Self(filter))
    }

    /// A filter the decoder has already checked.
    pub(crate) fn from_checked(filter: ByteStr) -> Self {
        Self(filter)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        self.0.as_bytes()
    }

    /// True for a `$share/ShareName/filter` shared subscription.
    pub fn is_shared(&self) -> bool {
        crate::topic::is_shared_bytes(self.as_bytes())
    }

    /// The filter as a plain [`ByteStr`].
    pub fn into_inner(self) -> ByteStr {
        self.0
    }
}

/// The conversions and comparisons both types share: each is a checked [`ByteStr`].
macro_rules! checked_string {
    ($ty:ident) => {
        impl $ty {
            /// Length in bytes (without reading the text as a `str`).
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// True when empty (only [`TopicName::default`] is).
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl core::ops::Deref for $ty {
            type Target = str;
            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        // Hashed as its text, so that maps keyed by it can be searched with a `&str`
        // (`Borrow<str>`); equality and order (bytewise) already agree with `str`'s.
        impl core::hash::Hash for $ty {
            fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
                self.as_str().hash(state);
            }
        }

        impl core::borrow::Borrow<str> for $ty {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = EncodeError;
            fn try_from(s: &str) -> Result<Self, EncodeError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = EncodeError;
            fn try_from(s: String) -> Result<Self, EncodeError> {
                Self::new(s)
            }
        }

        impl TryFrom<ByteStr> for $ty {
            type Error = EncodeError;
            fn try_from(s: ByteStr) -> Result<Self, EncodeError> {
                Self::new(s)
            }
        }

        impl From<$ty> for ByteStr {
            fn from(s: $ty) -> ByteStr {
                s.0
            }
        }

        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

checked_string!(TopicName);
checked_string!(TopicFilter);

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    #[test]
    fn a_name_is_refused_for_each_rule_it_breaks() {
        assert_eq!(TopicName::new(""), Err(EncodeError::EmptyTopicName));
        assert_eq!(TopicName::new("a/+"), Err(EncodeError::WildcardInTopicName));
        assert_eq!(TopicName::new("#"), Err(EncodeError::WildcardInTopicName));
        assert_eq!(TopicName::new("a\0b"), Err(EncodeError::NullCharacter));
        let long = "a".repeat(MAX_LEN + 1);
        assert_eq!(
            TopicName::new(long),
            Err(EncodeError::StringTooLong(MAX_LEN + 1))
        );
        let longest = TopicName::new("a".repeat(MAX_LEN)).map(|n| n.len());
        assert_eq!(longest, Ok(MAX_LEN));
        assert_eq!(
            TopicName::new("$SYS/a b/ü").map(|n| n.to_string()),
            Ok("$SYS/a b/ü".into())
        );
        assert!(TopicName::default().is_empty());
    }

    #[test]
    fn a_filter_is_refused_for_each_rule_it_breaks() {
        for (filter, error) in [
            ("", EncodeError::InvalidTopicFilter),
            ("a/#/b", EncodeError::InvalidTopicFilter),
            ("a+", EncodeError::InvalidTopicFilter),
            ("a/\0", EncodeError::NullCharacter),
            ("$share//a", EncodeError::InvalidTopicFilter),
            ("$share/g", EncodeError::InvalidTopicFilter),
        ] {
            assert_eq!(TopicFilter::new(filter), Err(error), "{filter:?}");
        }
        let long = "a".repeat(MAX_LEN + 1);
        assert_eq!(
            TopicFilter::new(long),
            Err(EncodeError::StringTooLong(MAX_LEN + 1))
        );
        for good in ["#", "+", "a/+/b/#", "$share/g/a/+", "$SYS/#"] {
            let filter = TopicFilter::new(good);
            assert_eq!(filter.as_ref().map(TopicFilter::as_str), Ok(good));
            assert_eq!(
                filter.map(|f| f.is_shared()),
                Ok(good.starts_with("$share/"))
            );
        }
    }
}
