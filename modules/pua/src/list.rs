//! A singly linked list in any allocator: the records of one bucket. Each record is its own
//! allocation, so removing one gives its memory back at once (a vector would keep its slot).

use allocator_api2::alloc::{AllocError, Allocator};
use allocator_api2::boxed::Box;

struct Node<T, A: Allocator> {
    value: T,
    next: Link<T, A>,
}

type Link<T, A> = Option<Box<Node<T, A>, A>>;

pub struct List<T, A: Allocator> {
    head: Link<T, A>,
    len: usize,
}

impl<T, A: Allocator> List<T, A> {
    pub const fn new() -> Self {
        List { head: None, len: 0 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `value` at the front. On failure the list is unchanged.
    pub fn push(&mut self, value: T, alloc: A) -> Result<(), AllocError> {
        let slot = Box::<Node<T, A>, A>::try_new_uninit_in(alloc)?;
        let node = Box::write(slot, Node { value, next: self.head.take() });
        self.head = Some(node);
        self.len += 1;
        Ok(())
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        std::iter::successors(self.head.as_deref(), |n| n.next.as_deref()).map(|n| &n.value)
    }

    pub fn iter_mut(&mut self) -> IterMut<'_, T, A> {
        IterMut { next: self.head.as_deref_mut() }
    }

    /// Keeps the values for which `keep` is true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let mut cur = &mut self.head;
        loop {
            match cur {
                None => break,
                Some(node) if keep(&node.value) => cur = &mut cur.as_mut().expect("checked above").next,
                Some(_) => {
                    let node = Box::into_inner(cur.take().expect("checked above"));
                    *cur = node.next;
                    self.len -= 1;
                }
            }
        }
    }
}

impl<T, A: Allocator> Default for List<T, A> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, A: Allocator> Drop for List<T, A> {
    // Iterative, so a long list cannot exhaust the stack.
    fn drop(&mut self) {
        let mut cur = self.head.take();
        while let Some(node) = cur {
            cur = Box::into_inner(node).next;
        }
    }
}

pub struct IterMut<'a, T, A: Allocator> {
    next: Option<&'a mut Node<T, A>>,
}

impl<'a, T, A: Allocator> Iterator for IterMut<'a, T, A> {
    type Item = &'a mut T;
    fn next(&mut self) -> Option<&'a mut T> {
        self.next.take().map(|n| {
            self.next = n.next.as_deref_mut();
            &mut n.value
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use allocator_api2::alloc::Global;

    #[test]
    fn push_iterate_retain() {
        let mut l: List<u32, Global> = List::new();
        for i in 0..10 {
            l.push(i, Global).unwrap();
        }
        assert_eq!(l.iter().copied().collect::<Vec<_>>(), (0..10).rev().collect::<Vec<_>>());
        l.retain(|v| v % 3 != 0);
        assert_eq!(l.iter().copied().collect::<Vec<_>>(), vec![8, 7, 5, 4, 2, 1]);
        assert_eq!(l.len(), 6);
        for v in l.iter_mut() {
            *v *= 10;
        }
        assert_eq!(l.iter().next(), Some(&80));
        l.retain(|_| false);
        assert!(l.is_empty() && l.iter().next().is_none());
    }

    #[test]
    fn a_long_list_drops_without_recursion() {
        let mut l: List<u64, Global> = List::new();
        for i in 0..1_000_000 {
            l.push(i, Global).unwrap();
        }
        drop(l);
    }
}
