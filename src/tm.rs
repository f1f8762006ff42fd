//! The tm module's API (`load_tm`), for modules that send requests statefully.

use crate::{api, sys, Error};

/// The bound tm API (the C struct, 560 bytes, all function pointers).
#[derive(Clone, Copy)]
pub struct TmApi(pub sys::tm_binds);

impl Default for TmApi {
    fn default() -> Self {
        TmApi(sys::tm_binds::default())
    }
}

impl TmApi {
    /// Binds tm (it must be loaded); `load_tm` is exported with NO_SCRIPT (-1) parameters.
    pub fn bind() -> Result<TmApi, Error> {
        api::bind::<sys::tm_binds>(c"load_tm", -1).map(TmApi).ok_or_else(|| Error::from("cannot bind the tm module (is tm.so loaded?)"))
    }

    /// The raw function table, for the request senders.
    pub fn raw(&self) -> &sys::tm_binds {
        &self.0
    }
}
