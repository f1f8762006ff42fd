//! The records of one bucket: an array of slots, each the record's tag (a hash of its
//! presentity URI) next to the record itself, boxed in the store's allocator. A search by
//! presentity reads the tags, which lie side by side, and follows a box only where its tag
//! matches: a bucket's records are many separate allocations, and following each of them to
//! compare it costs a cache miss per record. Iteration runs newest first. The array's length
//! is a function of the number of records alone (whole chunks of slots, grown and shrunk a
//! chunk at a time), so records that come and go leave the memory as it was.

use allocator_api2::alloc::{AllocError, Allocator};
use allocator_api2::boxed::Box;
use allocator_api2::vec::Vec as AVec;

/// Slots per chunk of the array.
const CHUNK: usize = 8;

/// The array's capacity for `len` records.
fn capacity_for(len: usize) -> usize {
    len.div_ceil(CHUNK) * CHUNK
}

/// A record's tag and the record.
type Slot<T, A> = (u32, Box<T, A>);

/// The array is a vector even while empty (no allocation then), never an `Option`: a bucket
/// lives in shared memory, and every byte of what is stored there is written, so that a
/// process reading a bucket that another process filled reads no byte it could see as
/// uninitialised. (`None` would write only the vector's pointer word; a checker such as
/// valgrind, which follows the writes of one process only, then takes its length and
/// capacity for uninitialised in every process but the one that filled the bucket.)
pub struct Slots<T, A: Allocator> {
    v: AVec<Slot<T, A>, A>,
}

impl<T, A: Allocator + Clone> Slots<T, A> {
    pub fn new_in(alloc: A) -> Self {
        Slots { v: AVec::new_in(alloc) }
    }

    pub fn len(&self) -> usize {
        self.v.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds `value` with `tag`. On failure the slots are unchanged.
    pub fn push(&mut self, tag: u32, value: T) -> Result<(), AllocError> {
        let v = &mut self.v;
        let boxed = Box::try_new_in(value, v.allocator().clone())?;
        if v.len() == v.capacity() {
            v.try_reserve_exact(capacity_for(v.len() + 1) - v.len()).map_err(|_| AllocError)?;
        }
        v.push((tag, boxed));
        Ok(())
    }

    fn slots(&self) -> &[Slot<T, A>] {
        &self.v
    }

    fn slots_mut(&mut self) -> &mut [Slot<T, A>] {
        &mut self.v
    }

    /// Every value, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots().iter().rev().map(|(_, b)| &**b)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.slots_mut().iter_mut().rev().map(|(_, b)| &mut **b)
    }

    /// The values tagged `tag`, newest first.
    pub fn tagged(&self, tag: u32) -> impl Iterator<Item = &T> {
        self.slots().iter().rev().filter(move |(t, _)| *t == tag).map(|(_, b)| &**b)
    }

    pub fn tagged_mut(&mut self, tag: u32) -> impl Iterator<Item = &mut T> {
        self.slots_mut().iter_mut().rev().filter(move |(t, _)| *t == tag).map(|(_, b)| &mut **b)
    }

    /// Keeps the values for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        self.retain_slots(|_, v| keep(v));
    }

    /// Removes the values tagged `tag` for which `remove` is true; looks at no other value.
    pub fn remove_tagged(&mut self, tag: u32, mut remove: impl FnMut(&T) -> bool) {
        self.retain_slots(|t, v| t != tag || !remove(v));
    }

    fn retain_slots(&mut self, mut keep: impl FnMut(u32, &T) -> bool) {
        let v = &mut self.v;
        v.retain(|(t, b)| keep(*t, b));
        if v.is_empty() {
            // The array goes back to the allocator.
            self.v = AVec::new_in(self.v.allocator().clone());
        } else if v.capacity() > capacity_for(v.len()) {
            v.shrink_to(capacity_for(v.len()));
        }
    }
}

impl<T, A: Allocator + Clone + Default> Default for Slots<T, A> {
    fn default() -> Self {
        Self::new_in(A::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::alloc::Global;

    #[test]
    fn push_iterate_retain_newest_first() {
        let mut s: Slots<u32, Global> = Slots::new_in(Global);
        for i in 0..10 {
            s.push(i % 2, i).unwrap();
        }
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), (0..10).rev().collect::<Vec<_>>());
        assert_eq!(s.tagged(1).copied().collect::<Vec<_>>(), vec![9, 7, 5, 3, 1]);
        s.retain(|v| v % 3 != 0);
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![8, 7, 5, 4, 2, 1]);
        assert_eq!(s.len(), 6);
        for v in s.tagged_mut(0) {
            *v *= 10;
        }
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![80, 7, 5, 40, 20, 1]);
        // Only the tagged values are looked at.
        let mut seen = Vec::new();
        s.remove_tagged(1, |v| {
            seen.push(*v);
            *v == 7
        });
        assert_eq!(seen, vec![1, 5, 7]);
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![80, 5, 40, 20, 1]);
        s.retain(|_| false);
        assert!(s.is_empty() && s.iter().next().is_none());
    }

    #[test]
    fn the_array_length_follows_the_number_of_records() {
        let mut s: Slots<u64, Global> = Slots::new_in(Global);
        let cap = |s: &Slots<u64, Global>| s.v.capacity();
        assert_eq!(cap(&s), 0, "an empty bucket holds no array");
        for i in 0..1000 {
            s.push(i as u32, i).unwrap();
            assert_eq!(cap(&s), capacity_for(s.len()));
        }
        s.retain(|v| *v < 10);
        assert_eq!((s.len(), cap(&s)), (10, 16));
        s.remove_tagged(3, |_| true);
        assert_eq!((s.len(), cap(&s)), (9, 16));
        s.retain(|v| *v < 8);
        assert_eq!((s.len(), cap(&s)), (7, 8));
        // A record that comes and goes leaves the array as it was.
        s.push(99, 99).unwrap();
        s.push(98, 98).unwrap();
        assert_eq!(cap(&s), 16);
        s.remove_tagged(99, |_| true);
        s.remove_tagged(98, |_| true);
        assert_eq!((s.len(), cap(&s)), (7, 8));
        s.retain(|_| false);
        assert_eq!((s.len(), cap(&s)), (0, 0), "an emptied bucket gives its array back");
        s.push(1, 1).unwrap();
        assert_eq!((s.len(), cap(&s)), (1, 8));
    }
}
