//! Documents from the RFCs' examples, for the tests.

/// RFC 4826 §3.3, with a second top-level list.
pub(super) const RESOURCE_LISTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <list name="friends">
  <entry uri="sip:bill@example.com">
   <display-name>Bill Doe</display-name>
  </entry>
  <entry-ref ref="resource-lists/users/sip:bill@example.com/index/~~/resource-lists/list%5b@name=%22list1%22%5d/entry%5b@uri=%22sip:petri@example.com%22%5d"/>
  <list name="close-friends">
   <display-name>Close Friends</display-name>
   <entry uri="sip:joe@example.com">
    <display-name>Joe Smith</display-name>
   </entry>
   <entry uri="sip:nancy@example.com">
    <display-name>Nancy Gross</display-name>
   </entry>
   <external anchor="http://xcap.example.org/resource-lists/users/sip:a@example.org/index/~~/resource-lists/list%5b@name=%22mkting%22%5d">
    <display-name>Marketing</display-name>
   </external>
  </list>
 </list>
 <list name="coworkers">
  <display-name>Co-workers</display-name>
 </list>
 <list name="empty"/>
</resource-lists>
"#;

/// RFC 4826 §4.3.
pub(super) const RLS_SERVICES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rls-services xmlns="urn:ietf:params:xml:ns:rls-services"
   xmlns:rl="urn:ietf:params:xml:ns:resource-lists"
   xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <service uri="sip:mybuddies@example.com">
  <resource-list>http://xcap.example.com/resource-lists/users/sip:joe@example.com/index/~~/resource-lists/list%5b@name=%22l1%22%5d</resource-list>
  <packages>
   <package>presence</package>
  </packages>
 </service>
 <service uri="sip:marketing@example.com">
   <list name="marketing">
     <rl:entry uri="sip:joe@example.com"/>
     <rl:entry uri="sip:sudhir@example.com"/>
   </list>
   <packages>
     <package>presence</package>
   </packages>
 </service>
</rls-services>
"#;

/// RFC 5025 §7.
pub(super) const PRES_RULES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules"
 xmlns:pr="urn:ietf:params:xml:ns:pres-rules"
 xmlns:cr="urn:ietf:params:xml:ns:common-policy">
 <cr:rule id="a">
  <cr:conditions>
   <cr:identity>
    <cr:one id="sip:user@example.com"/>
   </cr:identity>
  </cr:conditions>
  <cr:actions>
   <pr:sub-handling>allow</pr:sub-handling>
  </cr:actions>
  <cr:transformations>
   <pr:provide-devices>
    <pr:class>forwarding</pr:class>
   </pr:provide-devices>
   <pr:provide-persons>
    <pr:all-persons/>
   </pr:provide-persons>
   <pr:provide-activities>true</pr:provide-activities>
   <pr:provide-user-input>bare</pr:provide-user-input>
   <pr:provide-unknown-attribute
    ns="urn:vendor-specific:foo-namespace"
    name="foo">true</pr:provide-unknown-attribute>
  </cr:transformations>
 </cr:rule>
</cr:ruleset>
"#;

/// A pidf-manipulation document as RFC 4827 §4 describes it: PIDF (RFC 3863) with the data
/// model and RPID extensions after the tuples, where PIDF's wildcard takes them.
pub(super) const PIDF: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
 xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
 xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
 entity="pres:someone@example.com">
 <tuple id="bs35r9">
  <status>
   <basic>open</basic>
  </status>
  <dm:deviceID>mac:8asd7d7d70</dm:deviceID>
  <contact priority="0.8">im:someone@mobilecarrier.net</contact>
  <note xml:lang="en">Don't Disturb Please!</note>
  <timestamp>2005-10-27T16:49:29Z</timestamp>
 </tuple>
 <tuple id="eg92n8">
  <status>
   <basic>open</basic>
  </status>
  <contact priority="1.0">mailto:someone@example.com</contact>
 </tuple>
 <note>I'll be in Tokyo next week</note>
 <dm:person id="p1">
  <rpid:activities>
   <rpid:on-the-phone/>
  </rpid:activities>
 </dm:person>
</presence>
"#;

/// RFC 4745 §14's conditions (identity with one, many and except; sphere; validity) in a
/// pres-rules document.
pub(super) const COMMON_POLICY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ruleset xmlns="urn:ietf:params:xml:ns:common-policy"
 xmlns:pr="urn:ietf:params:xml:ns:pres-rules">
 <rule id="f3g44r1">
  <conditions>
   <sphere value="work"/>
   <identity>
    <one id="sip:alice@example.com"/>
    <one id="tel:+1-212-555-1234"/>
    <many domain="example.org">
     <except id="sip:bob@example.org"/>
    </many>
   </identity>
   <validity>
    <from>2003-08-15T10:20:00.000-05:00</from>
    <until>2003-09-15T10:20:00.000-05:00</until>
   </validity>
  </conditions>
  <actions>
   <pr:sub-handling>allow</pr:sub-handling>
  </actions>
  <transformations>
   <pr:provide-services>
    <pr:all-services/>
   </pr:provide-services>
   <pr:provide-note>true</pr:provide-note>
  </transformations>
 </rule>
 <rule id="r2"/>
</ruleset>
"#;
