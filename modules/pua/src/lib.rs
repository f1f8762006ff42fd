//! pua: the presence user agent. Consumers (pua_usrloc, pua_dialoginfo, pua_reginfo, pua_bla,
//! pua_xmpp, pua_rpc, rls, presence_xcapdiff) send PUBLISH and SUBSCRIBE through its
//! `bind_pua` API; it keeps the publications and subscription dialogs, refreshes them before
//! they expire and persists them in the `pua` table.

pub mod db_store;
pub mod events;
pub mod headers;
mod module;
pub mod packed;
pub mod pending;
pub mod persist;
pub mod record;
pub mod reply;
pub mod slots;
mod stats;
pub mod store;
mod ua;
