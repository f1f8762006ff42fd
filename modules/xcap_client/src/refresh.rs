//! What to do with a mirrored document once the XCAP server was asked about it again, by
//! the periodic refresh or by the `xcap_client.refreshXcapDoc` RPC.

use xcap::etag;

use crate::fetch::{Condition, FetchError, Fetched};
use crate::url::{self, UrlError};
use crate::xid::Xid;

/// A row of the `xcap` table kept up to date by this module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDoc {
    pub username: String,
    pub domain: String,
    pub doc_type: i32,
    pub doc: String,
    /// As stored: bare, or quoted with a line ending in rows from earlier deployments.
    pub etag: Option<String>,
    pub doc_uri: String,
    pub port: u16,
}

impl StoredDoc {
    /// The owner as the update callbacks receive it: `sip:user@domain`.
    pub fn xid(&self) -> Xid {
        Xid {
            user: self.username.clone(),
            domain: self.domain.clone(),
        }
    }

    /// The URL to ask: the stored one, with the row's port applied as [`url::with_port`] does.
    pub fn fetch_url(&self) -> Result<String, UrlError> {
        url::with_port(&self.doc_uri, self.port)
    }

    /// Asks only for a changed document when a usable tag is stored; without one a plain GET
    /// still refreshes the row rather than failing on every poll.
    pub fn condition(&self) -> Condition<'_> {
        match self.etag.as_deref().and_then(etag::opaque) {
            Some(tag) => Condition::IfNoneMatch(tag),
            None => Condition::None,
        }
    }
}

/// The decision for one document.
#[derive(Debug)]
pub enum Refresh {
    /// Nothing to store, nobody to tell.
    Unchanged,
    /// Same document under a new tag: store the tag so the next poll can get a 304; the
    /// content did not change, so the callbacks are not run.
    Retagged { etag: Option<String> },
    /// A new document: store it with the tag it came with, then run the callbacks with it.
    Updated { doc: String, etag: Option<String> },
    /// The server no longer has the document: delete the row. A deleted document must not keep
    /// applying (stale rules would still authorize watchers), and nothing is lost: when
    /// presence_xml or rls next miss the row they ask `getNewDoc` for it again.
    Gone,
    /// The server could not be asked or gave no usable answer: keep the row as it is, log the
    /// error, and try again on the next refresh.
    Failed(FetchError),
}

/// Decides from the stored row, if any (an RPC may name a document no row mirrors), and
/// the result of fetching it.
pub fn decide(stored: Option<&StoredDoc>, fetched: Result<Fetched, FetchError>) -> Refresh {
    let (body, new_tag) = match fetched {
        Err(error) => return Refresh::Failed(error),
        Ok(Fetched::NotModified) => return Refresh::Unchanged,
        Ok(Fetched::NotFound) => return Refresh::Gone,
        Ok(Fetched::Document { body, etag }) => (body, etag),
    };
    let Some(stored) = stored.filter(|stored| stored.doc == body) else {
        return Refresh::Updated {
            doc: body,
            etag: new_tag,
        };
    };
    let old_tag = stored.etag.as_deref().and_then(etag::opaque);
    if old_tag == new_tag.as_deref() {
        Refresh::Unchanged
    } else {
        Refresh::Retagged { etag: new_tag }
    }
}

#[cfg(test)]
mod tests;
