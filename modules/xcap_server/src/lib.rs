//! xcap_server: an RFC 4825 XCAP server inside Kamailio (documents in the `xcap` table,
//! requests through xhttp).
