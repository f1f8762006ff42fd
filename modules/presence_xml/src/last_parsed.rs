//! The document parsed last in this process, kept parsed: presence asks for a new watcher's
//! status (`auth_status`) and then for its filtered body (`apply_auth`) with the same pres-rules
//! document, which is so parsed once. Keyed by the document's bytes, so a changed document is
//! parsed again; a document that fails to parse is not kept.

use std::cell::RefCell;
use std::rc::Rc;

pub struct LastParsed<T> {
    last: RefCell<Option<(Vec<u8>, Rc<T>)>>,
}

impl<T> LastParsed<T> {
    pub const fn new() -> Self {
        LastParsed { last: RefCell::new(None) }
    }

    /// `doc` parsed: the kept value when `doc` is the document parsed last, else `parse(doc)`.
    pub fn get_or_parse<E>(&self, doc: &[u8], parse: impl FnOnce(&[u8]) -> Result<T, E>) -> Result<Rc<T>, E> {
        if let Some((kept, value)) = &*self.last.borrow() {
            if kept.as_slice() == doc {
                return Ok(Rc::clone(value));
            }
        }
        let value = Rc::new(parse(doc)?);
        *self.last.borrow_mut() = Some((doc.to_vec(), Rc::clone(&value)));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn the_same_document_is_parsed_once_and_a_changed_one_again() {
        let parses = Cell::new(0);
        let cache = LastParsed::new();
        let parse = |d: &[u8]| -> Result<usize, ()> {
            parses.set(parses.get() + 1);
            Ok(d.len())
        };
        assert_eq!(*cache.get_or_parse(b"abc", parse).unwrap(), 3);
        assert_eq!(*cache.get_or_parse(b"abc", parse).unwrap(), 3);
        assert_eq!(parses.get(), 1);
        assert_eq!(*cache.get_or_parse(b"abcd", parse).unwrap(), 4);
        assert_eq!(*cache.get_or_parse(b"abc", parse).unwrap(), 3);
        assert_eq!(parses.get(), 3);
    }

    #[test]
    fn a_document_that_fails_is_not_kept() {
        let parses = Cell::new(0);
        let cache: LastParsed<usize> = LastParsed::new();
        let fail = |_: &[u8]| -> Result<usize, &str> {
            parses.set(parses.get() + 1);
            Err("bad")
        };
        assert!(cache.get_or_parse(b"x", fail).is_err());
        assert!(cache.get_or_parse(b"x", fail).is_err());
        assert_eq!(parses.get(), 2);
    }
}
