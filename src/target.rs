//! The Kamailio series this build of the foundation is for. The few behaviours that differ
//! between the series are chosen from this constant, so module crates branch on a value (the
//! other branch compiles away) and never on a cfg of their own.

/// A Kamailio series whose module ABI this project supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    /// Kamailio 5.6 (Debian 12).
    V5_6,
    /// Kamailio 6.0 (Debian 13).
    V6_0,
}

/// The series the bindings were generated for (`KAMAILIO_TARGET` at build time).
pub const SERIES: Series = if cfg!(kamailio_target = "6.0") { Series::V6_0 } else { Series::V5_6 };

impl Series {
    /// "5.6" or "6.0".
    pub const fn name(self) -> &'static str {
        match self {
            Series::V5_6 => "5.6",
            Series::V6_0 => "6.0",
        }
    }

    /// True from Kamailio 6.0 on.
    pub const fn at_least_6_0(self) -> bool {
        matches!(self, Series::V6_0)
    }
}
