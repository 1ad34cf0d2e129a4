//! A set of packet identifiers as a 65536-bit bitmap: constant time, no allocation after
//! creation.

use alloc::boxed::Box;
use alloc::vec;

/// Set of `u16` packet identifiers.
#[derive(Clone, PartialEq, Eq)]
pub struct IdSet {
    words: Box<[u64]>,
    len: usize,
}

impl IdSet {
    /// An empty set.
    pub fn new() -> Self {
        Self {
            words: vec![0u64; 1024].into_boxed_slice(),
            len: 0,
        }
    }

    fn slot(id: u16) -> (usize, u64) {
        (usize::from(id >> 6), 1u64 << (id & 63))
    }

    /// Adds `id`; false if it was present.
    pub fn insert(&mut self, id: u16) -> bool {
        let (w, bit) = Self::slot(id);
        let Some(word) = self.words.get_mut(w) else {
            return false;
        };
        if *word & bit != 0 {
            return false;
        }
        *word |= bit;
        self.len += 1;
        true
    }

    /// Removes `id`; false if it was absent.
    pub fn remove(&mut self, id: u16) -> bool {
        let (w, bit) = Self::slot(id);
        let Some(word) = self.words.get_mut(w) else {
            return false;
        };
        if *word & bit == 0 {
            return false;
        }
        *word &= !bit;
        self.len -= 1;
        true
    }

    /// True if `id` is in the set.
    pub fn contains(&self, id: u16) -> bool {
        let (w, bit) = Self::slot(id);
        self.words.get(w).is_some_and(|word| word & bit != 0)
    }

    /// Number of identifiers in the set.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Removes everything.
    pub fn clear(&mut self) {
        self.words.fill(0);
        self.len = 0;
    }

    /// The members, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        (0..=u16::MAX).filter(|id| self.contains(*id))
    }
}

impl Default for IdSet {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for IdSet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::IdSet;

    #[test]
    fn insert_remove_contains_len() {
        let mut s = IdSet::new();
        assert!(s.insert(1) && s.insert(65_535) && s.insert(64));
        assert!(!s.insert(1));
        assert_eq!(s.len(), 3);
        assert!(s.contains(64) && !s.contains(63));
        assert!(s.remove(64) && !s.remove(64));
        assert_eq!(s.iter().collect::<alloc::vec::Vec<_>>(), [1, 65_535]);
        s.clear();
        assert!(s.is_empty());
    }
}
