//! The `bind_libxml_api` table (`libxml_api_t`, 32 bytes): node and attribute lookups by
//! name over the caller's own libxml2 documents, for rls and pua_xmpp. Names and namespace
//! prefixes compare case-insensitively; strings returned are libxml2 memory the caller
//! releases with `xmlFree`.

use std::ffi::{c_char, c_int};

use crate::guard::guard;
use crate::{log, sys};

#[link(name = "xml2")]
extern "C" {
    fn xmlStrcasecmp(a: *const u8, b: *const u8) -> c_int;
    fn xmlNodeGetContent(node: *const sys::xmlNode) -> *mut u8;
}

/// Fills the consumer's table; returns 0 (the `bind_libxml_api` convention).
pub fn fill_api(api: &mut sys::libxml_api_t) -> i32 {
    api.xmlDocGetNodeByName = Some(doc_get_node_by_name);
    api.xmlNodeGetNodeByName = Some(node_get_node_by_name);
    api.xmlNodeGetNodeContentByName = Some(node_get_node_content_by_name);
    api.xmlNodeGetAttrContentByName = Some(node_get_attr_content_by_name);
    0
}

/// # Safety
/// `a` and `b` are NULL or NUL-terminated.
unsafe fn same_name(a: *const u8, b: *const c_char) -> bool {
    // SAFETY: xmlStrcasecmp accepts NULL (it never matches a non-NULL string).
    !a.is_null() && !b.is_null() && unsafe { xmlStrcasecmp(a, b as *const u8) } == 0
}

/// The first node named `name` (with namespace prefix `ns`, when given) in a depth-first,
/// pre-order walk of `start`, its descendants and its following siblings. Iterative, so a
/// deeply nested document cannot exhaust the stack.
///
/// # Safety
/// `start` is NULL or a node of a live libxml2 tree; `name`/`ns` are NULL or NUL-terminated.
unsafe fn find(start: *mut sys::xmlNode, name: *const c_char, ns: *const c_char) -> *mut sys::xmlNode {
    let mut cur = start;
    // SAFETY: walking the links of a live tree; `start`'s parent bounds the climb back up.
    unsafe {
        let top = start.as_ref().map_or(std::ptr::null_mut(), |n| n.parent);
        while let Some(n) = cur.as_ref() {
            let ns_ok = ns.is_null() || n.ns.as_ref().is_some_and(|x| same_name(x.prefix, ns));
            if same_name(n.name, name) && ns_ok {
                return cur;
            }
            if !n.children.is_null() {
                cur = n.children;
                continue;
            }
            // No children: the next sibling, or the next sibling of the nearest ancestor.
            let mut up = cur;
            cur = std::ptr::null_mut();
            while let Some(u) = up.as_ref() {
                if !u.next.is_null() {
                    cur = u.next;
                    break;
                }
                up = u.parent;
                if up == top {
                    break;
                }
            }
        }
    }
    std::ptr::null_mut()
}

unsafe extern "C" fn node_get_node_by_name(node: *mut sys::xmlNode, name: *const c_char, ns: *const c_char) -> *mut sys::xmlNode {
    // SAFETY: the caller passes a node of its document and NUL-terminated names.
    guard(log::module_name(), "xmlNodeGetNodeByName", std::ptr::null_mut(), || unsafe { find(node, name, ns) })
}

unsafe extern "C" fn doc_get_node_by_name(doc: *mut sys::xmlDoc, name: *const c_char, ns: *const c_char) -> *mut sys::xmlNode {
    guard(log::module_name(), "xmlDocGetNodeByName", std::ptr::null_mut(), || {
        // SAFETY: the caller passes its document.
        unsafe { doc.as_ref().map_or(std::ptr::null_mut(), |d| find(d.children, name, ns)) }
    })
}

/// The text of the first node `find` finds, as a new libxml2 string.
///
/// # Safety
/// As [`find`].
unsafe fn node_content(node: *mut sys::xmlNode, name: *const c_char, ns: *const c_char) -> *mut c_char {
    // SAFETY: as documented; the content is a new libxml2 string.
    unsafe {
        match find(node, name, ns).as_ref() {
            Some(n) if !n.children.is_null() => xmlNodeGetContent(n.children) as *mut c_char,
            _ => std::ptr::null_mut(),
        }
    }
}

/// The value of the node's first attribute named `name`, as a new libxml2 string.
///
/// # Safety
/// `node` is NULL or a node of a live tree; `name` is NULL or NUL-terminated.
unsafe fn attr_content(node: *mut sys::xmlNode, name: *const c_char) -> *mut c_char {
    // SAFETY: attributes are a linked list of the same tree.
    unsafe {
        let Some(n) = node.as_ref() else { return std::ptr::null_mut() };
        let mut a = n.properties;
        while let Some(attr) = a.as_ref() {
            if same_name(attr.name, name) {
                return if attr.children.is_null() { std::ptr::null_mut() } else { xmlNodeGetContent(attr.children) as *mut c_char };
            }
            a = attr.next;
        }
        std::ptr::null_mut()
    }
}

unsafe extern "C" fn node_get_node_content_by_name(node: *mut sys::xmlNode, name: *const c_char, ns: *const c_char) -> *mut c_char {
    // SAFETY: the caller passes a node of its document and NUL-terminated names.
    guard(log::module_name(), "xmlNodeGetNodeContentByName", std::ptr::null_mut(), || unsafe { node_content(node, name, ns) })
}

unsafe extern "C" fn node_get_attr_content_by_name(node: *mut sys::xmlNode, name: *const c_char) -> *mut c_char {
    // SAFETY: as above.
    guard(log::module_name(), "xmlNodeGetAttrContentByName", std::ptr::null_mut(), || unsafe { attr_content(node, name) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    extern "C" {
        fn xmlReadMemory(buf: *const c_char, size: c_int, url: *const c_char, enc: *const c_char, opts: c_int) -> *mut sys::xmlDoc;
        fn xmlFreeDoc(doc: *mut sys::xmlDoc);
    }

    fn with_doc(xml: &str, f: impl FnOnce(*mut sys::xmlDoc)) {
        // SAFETY: parsing a buffer we own; the document is freed after use.
        unsafe {
            let d = xmlReadMemory(xml.as_ptr() as *const c_char, xml.len() as c_int, std::ptr::null(), std::ptr::null(), 0);
            assert!(!d.is_null());
            f(d);
            xmlFreeDoc(d);
        }
    }

    fn take(p: *mut c_char) -> Option<String> {
        // SAFETY: a libxml2 string or NULL; freed here.
        (!p.is_null()).then(|| unsafe {
            let s = CStr::from_ptr(p).to_string_lossy().into_owned();
            crate::xml::free(p as *mut _);
            s
        })
    }

    const DOC: &str = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" entity="sip:a@b">
<tuple id="t1"><status><basic>open</basic></status></tuple>
<dm:person id="p1"><note>In a meeting</note></dm:person>
<tuple id="t2"><status><BASIC>closed</BASIC></status></tuple></presence>"#;

    #[test]
    fn finds_nodes_depth_first_by_name_and_prefix() {
        with_doc(DOC, |d| unsafe {
            let basic = find((*d).children, c"basic".as_ptr(), std::ptr::null());
            assert!(!basic.is_null());
            assert_eq!(take(node_content((*d).children, c"Basic".as_ptr(), std::ptr::null())).as_deref(), Some("open"));
            let person = find((*d).children, c"person".as_ptr(), c"DM".as_ptr());
            assert!(!person.is_null());
            assert!(find((*d).children, c"person".as_ptr(), c"other".as_ptr()).is_null());
            assert_eq!(take(attr_content(person, c"ID".as_ptr())).as_deref(), Some("p1"));
            assert!(attr_content(person, c"missing".as_ptr()).is_null());
            // From the second tuple on, the walk sees only what follows.
            let t1 = find((*d).children, c"tuple".as_ptr(), std::ptr::null());
            let t2 = find((*t1).next, c"tuple".as_ptr(), std::ptr::null());
            assert_eq!(take(attr_content(t2, c"id".as_ptr())).as_deref(), Some("t2"));
            assert!(find((*d).children, c"nothing".as_ptr(), std::ptr::null()).is_null());
            assert!(attr_content(std::ptr::null_mut(), c"id".as_ptr()).is_null());
        });
    }

    #[test]
    fn a_nested_document_is_walked_to_the_bottom() {
        let xml = format!("{}<x>deep</x>{}", "<a>".repeat(200), "</a>".repeat(200));
        with_doc(&xml, |d| unsafe {
            assert_eq!(take(node_content((*d).children, c"x".as_ptr(), std::ptr::null())).as_deref(), Some("deep"));
        });
    }
}
