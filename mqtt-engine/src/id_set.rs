//! A set of packet identifiers: up to 8 inline, then a 65536-bit bitmap (constant time)
//! allocated once, when more are in use at the same time, and kept. An idle client (thousands
//! of them in one process) or one with a few messages in flight holds no bitmap; a busy one
//! allocates it once, never per message.

use alloc::boxed::Box;
use alloc::vec;

/// Identifiers kept inline before the bitmap is allocated.
const INLINE: usize = 8;

/// Set of `u16` packet identifiers.
#[derive(Clone, Eq)]
pub struct IdSet {
    /// The bitmap, once more than [`INLINE`] identifiers were in the set at once.
    words: Box<[u64]>,
    /// Members while `words` is not allocated (the first `len` entries).
    inline: [u16; INLINE],
    len: usize,
}

impl IdSet {
    /// An empty set (allocates nothing).
    pub fn new() -> Self {
        Self {
            words: Box::default(),
            inline: [0; INLINE],
            len: 0,
        }
    }

    fn slot(id: u16) -> (usize, u64) {
        (usize::from(id >> 6), 1u64 << (id & 63))
    }

    fn spilled(&self) -> bool {
        !self.words.is_empty()
    }

    /// Adds `id`; false if it was present.
    pub fn insert(&mut self, id: u16) -> bool {
        if !self.spilled() {
            if self.inline[..self.len].contains(&id) {
                return false;
            }
            if self.len < INLINE {
                self.inline[self.len] = id;
                self.len += 1;
                return true;
            }
            // Past a few at once: the bitmap, allocated once and kept.
            self.words = vec![0u64; 1024].into_boxed_slice();
            for member in self.inline {
                let (w, bit) = Self::slot(member);
                if let Some(word) = self.words.get_mut(w) {
                    *word |= bit;
                }
            }
        }
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
        if !self.spilled() {
            let Some(i) = self.inline[..self.len].iter().position(|m| *m == id) else {
                return false;
            };
            self.len -= 1;
            self.inline.swap(i, self.len);
            return true;
        }
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
        if !self.spilled() {
            return self.inline[..self.len].contains(&id);
        }
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

impl PartialEq for IdSet {
    /// Same members (an unallocated bitmap equals an all-zero one).
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
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

    #[test]
    fn agrees_with_a_btreeset_through_spilling_and_back() {
        let mut set = IdSet::new();
        let mut model = alloc::collections::BTreeSet::new();
        let mut x: u32 = 12_345;
        for step in 0..20_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            // Few distinct ids early (inline), many later (bitmap).
            let range = if step < 5_000 { 12 } else { 70_000 };
            let id = ((x >> 8) % range) as u16;
            if (x >> 4).is_multiple_of(3) {
                assert_eq!(set.remove(id), model.remove(&id));
            } else {
                assert_eq!(set.insert(id), model.insert(id));
            }
            assert_eq!(set.len(), model.len());
            assert_eq!(set.contains(id), model.contains(&id));
        }
        assert!(set.iter().eq(model.iter().copied()));
        let mut other = IdSet::new();
        for id in &model {
            other.insert(*id);
        }
        assert!(set == other);
    }
}
