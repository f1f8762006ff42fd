//! presence_xml: the XML events of the presence server. It authorizes watchers from the
//! presentity's pres-rules (kept in the `xcap` table by xcap_server, or fetched through
//! xcap_client), builds NOTIFY bodies from the presentity's PIDF publications and checks
//! PUBLISHed documents.

pub mod servers;
mod events;
mod last_parsed;
mod module;
mod stats;
mod store;
