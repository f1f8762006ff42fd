//! The events pua publishes and subscribes to: the ones it registers itself and those
//! consumers add, with what is done to a body before it is published.

use std::sync::Mutex;

use kamailio::pua::event;
use kamailio::pua_api::{BodyProcessor, Publish};

use presence_docs::publish as body;

/// What happens to a body before it is sent.
#[derive(Clone, Copy, Debug)]
pub enum Processor {
    /// Sent as given.
    PassThrough,
    /// PIDF: tuple and person ids made present and stable.
    Presence,
    /// The document element's `version` set to the publication's version.
    Version(&'static str),
    /// A consumer's own processor.
    External(BodyProcessor),
}

#[derive(Clone, Debug)]
pub struct Event {
    pub flag: i32,
    pub name: String,
    pub content_type: String,
    pub processor: Processor,
}

/// Registered before the workers fork (our mod_init, then consumers' mod_init): every process
/// inherits the same list.
static EVENTS: Mutex<Vec<Event>> = Mutex::new(Vec::new());

/// Adds an event unless one of that name exists. Returns 0 (the API's convention).
pub fn add(flag: i32, name: &str, content_type: &str, processor: Processor) -> i32 {
    let Ok(mut l) = EVENTS.lock() else { return -1 };
    if !l.iter().any(|e| e.name == name) {
        l.push(Event { flag, name: name.to_string(), content_type: content_type.to_string(), processor });
    }
    0
}

/// The event with this flag.
pub fn get(flag: i32) -> Option<Event> {
    EVENTS.lock().ok()?.iter().rev().find(|e| e.flag == flag).cloned()
}

/// The events pua provides from the start. `dialog` and `reg` bodies get their version
/// rewritten only when the operator asks for it. `as-feature-event` (passed through) exists
/// with Kamailio 6.0's pua, whose `presence_dfks` publishes it.
pub fn register_builtin(dlginfo_version: bool, reginfo_version: bool, feature_event: bool) {
    let maybe = |on: bool, root| if on { Processor::Version(root) } else { Processor::PassThrough };
    add(event::PRESENCE, "presence", "application/pidf+xml", Processor::Presence);
    add(event::DIALOG, "dialog", "application/dialog-info+xml", maybe(dlginfo_version, "dialog-info"));
    add(event::BLA, "dialog;sla", "application/dialog-info+xml", Processor::Version("dialog-info"));
    add(event::MSGSUM, "message-summary", "application/simple-message-summary", Processor::PassThrough);
    add(event::PWINFO, "presence.winfo", "", Processor::PassThrough);
    add(event::REGINFO, "reg", "application/reginfo+xml", maybe(reginfo_version, "reginfo"));
    add(event::XCAPDIFF, "xcap-diff", "application/xcap-diff+xml", Processor::PassThrough);
    if feature_event {
        add(event::DFKS, "as-feature-event", "application/x-as-feature-event+xml", Processor::PassThrough);
    }
}

/// The body to send and the tuple id to keep for a publication at `version`.
pub fn process(ev: &Event, p: &Publish, body: &[u8], version: i32, tuple_id: &[u8], new_id: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    match ev.processor {
        Processor::External(f) => match f.run(p, body, version) {
            Ok(Some(b)) => Ok((b, tuple_id.to_vec())),
            Ok(None) => Ok((body.to_vec(), tuple_id.to_vec())),
            Err(e) => Err(e.to_string()),
        },
        own => process_own(own, body, version, tuple_id, new_id),
    }
}

/// [`process`] for pua's own processors, which are plain Rust (a consumer's runs only through
/// [`process`]).
pub fn process_own(processor: Processor, body: &[u8], version: i32, tuple_id: &[u8], new_id: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    match processor {
        Processor::PassThrough => Ok((body.to_vec(), tuple_id.to_vec())),
        Processor::Presence => {
            let stored = (!tuple_id.is_empty()).then_some(tuple_id);
            body::presence(body, stored, new_id).map_err(|e| e.to_string())
        }
        Processor::Version(root) => Ok((body::set_root_version(body, root, version).map_err(|e| e.to_string())?, tuple_id.to_vec())),
        Processor::External(_) => Err("a consumer's body processor runs through process".to_string()),
    }
}
