//! [`Boxed`]: how the owned form holds a part that most packets lack (PUBLISH, CONNECT and
//! will properties).
//!
//! Inline, MQTT 5 PUBLISH properties took 160 of a `Publish`'s 232 bytes, moved and dropped
//! field by field with every message although almost no message has any. Boxed and kept only
//! when present, they cost one pointer; an absent box reads as the empty value.

use alloc::boxed::Box;
use core::fmt;
use core::ops::{Deref, DerefMut};

/// A value with a shared empty instance, which an absent [`Boxed`] reads as.
pub trait EmptyValue: Default + 'static {
    /// The empty value (what `Default::default()` gives), shared.
    fn empty() -> &'static Self;
}

/// A part most values lack: boxed when present, a null pointer when absent (which reads as the
/// empty `T`). Reading goes through [`Deref`]; writing through [`DerefMut`] allocates the box
/// the first time. [`Boxed::get_mut`] changes a present value without ever allocating.
///
/// An absent value and a present empty one are equal.
#[derive(Clone)]
pub struct Boxed<T>(Option<Box<T>>);

impl<T> Boxed<T> {
    /// An absent value (reads as empty).
    pub const fn none() -> Self {
        Self(None)
    }

    /// `value`, boxed.
    pub fn new(value: T) -> Self {
        Self(Some(Box::new(value)))
    }

    /// The value when present (it may still be empty: set, then cleared).
    pub fn get(&self) -> Option<&T> {
        self.0.as_deref()
    }

    /// The value when present, to change it without allocating.
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.0.as_deref_mut()
    }

    /// True when nothing is stored (no allocation behind it).
    pub fn is_absent(&self) -> bool {
        self.0.is_none()
    }

    /// The box, if any.
    pub fn into_box(self) -> Option<Box<T>> {
        self.0
    }
}

impl<T> Default for Boxed<T> {
    fn default() -> Self {
        Self::none()
    }
}

impl<T> From<Option<Box<T>>> for Boxed<T> {
    fn from(value: Option<Box<T>>) -> Self {
        Self(value)
    }
}

impl<T> From<T> for Boxed<T> {
    fn from(value: T) -> Self {
        Self::new(value)
    }
}

impl<T: EmptyValue> Deref for Boxed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(v) => v,
            None => T::empty(),
        }
    }
}

impl<T: EmptyValue> DerefMut for Boxed<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Default + PartialEq> PartialEq for Boxed<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self.get(), other.get()) {
            (Some(a), Some(b)) => a == b,
            (None, None) => true,
            (Some(v), None) | (None, Some(v)) => *v == T::default(),
        }
    }
}

impl<T: Default + Eq> Eq for Boxed<T> {}

impl<T: Default + fmt::Debug> fmt::Debug for Boxed<T> {
    /// Like the value itself (an absent one as the empty value).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Some(v) => v.fmt(f),
            None => T::default().fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::properties::PublishProperties;
    use alloc::format;

    #[test]
    fn absent_reads_as_empty_and_equals_a_present_empty_value() {
        let absent: Boxed<PublishProperties> = Boxed::none();
        assert!(absent.is_absent());
        assert_eq!(absent.topic_alias, None);
        assert!(absent.is_empty());
        let empty = Boxed::new(PublishProperties::default());
        assert!(!empty.is_absent());
        assert_eq!(absent, empty);
        assert_eq!(format!("{absent:?}"), format!("{empty:?}"));
    }

    #[test]
    fn a_write_through_deref_mut_boxes_the_value_and_get_mut_never_does() {
        let mut p: Boxed<PublishProperties> = Boxed::none();
        if let Some(v) = p.get_mut() {
            v.topic_alias = Some(1);
        }
        assert!(p.is_absent());
        p.topic_alias = Some(3);
        assert!(!p.is_absent());
        assert_eq!(p.get().and_then(|v| v.topic_alias), Some(3));
        assert_ne!(p, Boxed::none());
        if let Some(v) = p.get_mut() {
            v.topic_alias = None;
        }
        assert_eq!(p, Boxed::none());
    }
}
