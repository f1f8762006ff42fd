//! xcap_client: fetches XCAP documents for presence_xml and rls through the `bind_xcap` API.
