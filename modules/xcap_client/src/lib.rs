//! xcap_client: fetches XCAP documents for presence_xml and rls through the `bind_xcap` API.

pub mod answer;
pub mod backoff;
pub mod fetch;
mod module;
pub mod refresh;
mod stats;
mod store;
#[cfg(test)]
mod test_http;
pub mod url;
pub mod xid;
