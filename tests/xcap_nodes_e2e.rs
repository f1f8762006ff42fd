//! Several Kamailio nodes with our xcap_server on one shared database, the way operators grow
//! past one machine: three nodes on one PostgreSQL, and again on one MariaDB, written to at the
//! same moment through different nodes. No acknowledged change is lost, no entity tag is
//! handed out twice, and a service URI stays unique across users. (SQLite is a file of one
//! machine: one node, its own lock.) The same holds between the workers of one node, which
//! hold no lock across the database's round trips where the driver counts changed rows.
//!
//! Each race runs its requests from one thread per node, released together by a barrier.

mod harness;

use std::sync::Barrier;

use harness::{Kamailio, Setup, SipReply};

const NODES: usize = 3;
const DOC: &str = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
const RL: &str = "application/resource-lists+xml";
const RLS: &str = "application/rls-services+xml";

/// Three nodes on one fresh database of this thread's back end.
fn nodes() -> Vec<Kamailio> {
    let start = |db: Option<harness::db::TestDb>| {
        let mut s = Setup::new("xcap.cfg", &["xcap_server"]);
        s.schemas = &["presence"];
        s.db = db;
        Kamailio::start(s)
    };
    let first = start(None);
    let db = first.database();
    let mut all = vec![first];
    all.extend((1..NODES).map(|_| start(Some(db.clone()))));
    all
}

fn put(k: &Kamailio, path: &str, ctype: &str, body: &str, headers: &[&str]) -> SipReply {
    let ct = format!("Content-Type: {ctype}");
    let mut args = vec!["-X", "PUT", "-H", &ct, "--data-binary", body];
    for h in headers {
        args.extend(["-H", *h]);
    }
    k.http(&args, path)
}

/// A resource-lists document whose list "friends" holds these URIs.
fn lists(uris: &[String]) -> String {
    let entries: String = uris.iter().map(|u| format!("<entry uri=\"{u}\"/>")).collect();
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<resource-lists xmlns=\"urn:ietf:params:xml:ns:resource-lists\"><list name=\"friends\">{entries}</list></resource-lists>\n")
}

/// Runs `request(node index)` on every node at once; the replies in node order.
fn race(nodes: &[Kamailio], request: impl Fn(usize, &Kamailio) -> SipReply + Sync) -> Vec<SipReply> {
    let barrier = Barrier::new(nodes.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = nodes
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (barrier, request) = (&barrier, &request);
                s.spawn(move || {
                    barrier.wait();
                    request(i, k)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("request thread")).collect()
    })
}

fn etag(r: &SipReply) -> String {
    r.header("ETag").unwrap_or_else(|| panic!("no ETag in {r:?}")).to_string()
}

/// Every node answers GET with the same document and entity tag; the table has one row.
fn assert_one_version(nodes: &[Kamailio], body: &str) -> String {
    let first = nodes[0].http(&[], DOC);
    assert_eq!((first.code, first.body.as_str()), (200, body));
    for k in &nodes[1..] {
        let r = k.http(&[], DOC);
        assert_eq!((r.code, r.body.as_str(), etag(&r)), (200, body, etag(&first)), "another node reads another version");
    }
    assert_eq!(nodes[0].sql("SELECT COUNT(*) FROM xcap;").trim(), "1");
    etag(&first)
}

on_every_backend!(element_puts_from_many_clients_through_one_node_are_all_kept);

/// Eight clients at once, five element PUTs each, every one inserting an entry of its own into
/// the same list, through the workers of one node: the document ends with all forty.
fn element_puts_from_many_clients_through_one_node_are_all_kept() {
    const CLIENTS: usize = 8;
    let mut s = Setup::new("xcap.cfg", &["xcap_server"]);
    s.schemas = &["presence"];
    let k = Kamailio::start(s);
    assert_eq!(put(&k, DOC, RL, &lists(&[]), &[]).code, 201);
    let uri = |i: usize, j: usize| format!("sip:c{i}-{j}@example.com");
    let clients: Vec<&Kamailio> = (0..CLIENTS).map(|_| &k).collect();
    let barrier = Barrier::new(CLIENTS);
    std::thread::scope(|s| {
        for (i, k) in clients.iter().enumerate() {
            let (barrier, uri) = (&barrier, &uri);
            s.spawn(move || {
                barrier.wait();
                for j in 0..5 {
                    let sel = format!("{DOC}/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22{}%22%5D", uri(i, j));
                    let r = put(k, &sel, "application/xcap-el+xml", &format!("<entry uri=\"{}\"/>", uri(i, j)), &[]);
                    assert_eq!(r.code, 201, "client {i}, entry {j}: {r:?}");
                }
            });
        }
    });
    let end = k.http(&[], DOC);
    for i in 0..CLIENTS {
        for j in 0..5 {
            assert!(end.body.contains(&format!("\"{}\"", uri(i, j))), "entry {} lost:\n{}", uri(i, j), end.body);
        }
    }
    assert_one_version(&[k], &end.body);
}

on_server_backends!(
    conditional_puts_through_every_node_succeed_once_per_entity_tag,
    unconditional_puts_through_every_node_leave_one_of_the_bodies,
    element_puts_through_every_node_are_all_kept,
    a_service_uri_raced_by_two_users_on_two_nodes_goes_to_one,
);

/// Rounds of If-Match PUTs, one per node, all naming the current entity tag, each adding its
/// own entry to the document it read: exactly one succeeds per round and the others get 412,
/// so the entity tags form one chain, and the final document holds every winner's entry.
fn conditional_puts_through_every_node_succeed_once_per_entity_tag() {
    const ROUNDS: usize = 30;
    let nodes = nodes();
    let mut kept: Vec<String> = Vec::new();
    let first = put(&nodes[0], DOC, RL, &lists(&kept), &[]);
    assert_eq!(first.code, 201, "{first:?}");
    let mut tag = etag(&first);
    let (mut won, mut refused) = (0, 0);
    for round in 0..ROUNDS {
        let if_match = format!("If-Match: {tag}");
        let mine = |i: usize| format!("sip:r{round}-n{i}@example.com");
        let replies = race(&nodes, |i, k| {
            let mut uris = kept.clone();
            uris.push(mine(i));
            put(k, DOC, RL, &lists(&uris), &[&if_match])
        });
        let winners: Vec<usize> = (0..NODES).filter(|i| replies[*i].code == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: one PUT per entity tag succeeds: {replies:?}");
        for (i, r) in replies.iter().enumerate() {
            assert!(r.code == 200 || r.code == 412, "round {round}, node {i}: {r:?}");
        }
        won += 1;
        refused += NODES - 1;
        kept.push(mine(winners[0]));
        let next = etag(&replies[winners[0]]);
        assert_ne!(next, tag);
        tag = next;
    }
    println!("{ROUNDS} rounds of {NODES} conditional PUTs: {won} succeeded, {refused} got 412");
    assert_eq!(assert_one_version(&nodes, &lists(&kept)), tag);
}

/// Ten PUTs per node, every node at once, each a body of its own: the document ends as one of
/// the bodies (never a mix) and every node reads it with the same entity tag.
fn unconditional_puts_through_every_node_leave_one_of_the_bodies() {
    let nodes = nodes();
    let body = |i: usize, j: usize| lists(&[format!("sip:n{i}-{j}@example.com"), format!("sip:n{i}-{j}-b@example.com")]);
    let replies = race(&nodes, |i, k| {
        let mut last = None;
        for j in 0..10 {
            let r = put(k, DOC, RL, &body(i, j), &[]);
            assert!(r.code == 200 || r.code == 201, "node {i}, PUT {j}: {r:?}");
            last = Some(r);
        }
        last.unwrap()
    });
    assert!(replies.iter().filter(|r| r.code == 201).count() <= 1, "one creation at most: {replies:?}");
    let end = nodes[0].http(&[], DOC);
    let candidates: Vec<String> = (0..NODES).flat_map(|i| (0..10).map(move |j| body(i, j))).collect();
    assert!(candidates.contains(&end.body), "a body that was PUT, whole:\n{}", end.body);
    assert_one_version(&nodes, &end.body);
}

/// Ten element PUTs per node, every node at once, each inserting an entry of its own into the
/// same list: the document ends with all thirty.
fn element_puts_through_every_node_are_all_kept() {
    let nodes = nodes();
    assert_eq!(put(&nodes[0], DOC, RL, &lists(&[]), &[]).code, 201);
    let uri = |i: usize, j: usize| format!("sip:n{i}-{j}@example.com");
    race(&nodes, |i, k| {
        for j in 0..10 {
            let sel = format!("{DOC}/~~/resource-lists/list%5B@name=%22friends%22%5D/entry%5B@uri=%22{}%22%5D", uri(i, j));
            let r = put(k, &sel, "application/xcap-el+xml", &format!("<entry uri=\"{}\"/>", uri(i, j)), &[]);
            assert_eq!(r.code, 201, "node {i}, entry {j}: {r:?}");
        }
        SipReply::parse("SIP/2.0 200 OK\r\n\r\n")
    });
    let end = nodes[0].http(&[], DOC);
    for i in 0..NODES {
        for j in 0..10 {
            assert!(end.body.contains(&format!("\"{}\"", uri(i, j))), "entry {} lost:\n{}", uri(i, j), end.body);
        }
    }
    assert_one_version(&nodes, &end.body);
}

/// Alice's and bob's rls-services documents PUT at the same moment through two nodes, both
/// defining the same service URI: one is stored, the other gets 409 uniqueness-failure. Two
/// hundred rounds, each with a new URI; no URI ever ends in two documents.
fn a_service_uri_raced_by_two_users_on_two_nodes_goes_to_one() {
    const ROUNDS: usize = 200;
    let nodes = nodes();
    let doc = |user: &str| format!("/xcap-root/rls-services/users/sip:{user}@example.com/index");
    let rls = |uri: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rls-services xmlns=\"urn:ietf:params:xml:ns:rls-services\" \
             xmlns:rl=\"urn:ietf:params:xml:ns:resource-lists\"><service uri=\"{uri}\"><list name=\"l\">\
             <rl:entry uri=\"sip:carol@example.com\"/></list><packages><package>presence</package></packages></service>\
             </rls-services>\n"
        )
    };
    let mut wins = [0usize; 2];
    for round in 0..ROUNDS {
        let service = format!("sip:svc{round}@example.com");
        let replies = race(&nodes[..2], |i, k| put(k, &doc(["alice", "bob"][i]), RLS, &rls(&service), &[]));
        let stored: Vec<usize> = (0..2).filter(|i| matches!(replies[*i].code, 200 | 201)).collect();
        assert_eq!(stored.len(), 1, "round {round}: one of the two is stored: {replies:?}");
        let loser = &replies[1 - stored[0]];
        assert_eq!(loser.code, 409, "round {round}: {loser:?}");
        assert!(loser.body.contains("<uniqueness-failure"), "round {round}: {}", loser.body);
        wins[stored[0]] += 1;
    }
    println!("{ROUNDS} races for a service URI: alice (node 1) won {}, bob (node 2) won {}, 409 for the other each time", wins[0], wins[1]);
    // The final documents: no URI in both.
    let a = nodes[2].http(&[], &doc("alice")).body;
    let b = nodes[2].http(&[], &doc("bob")).body;
    let uri_of = |d: &str| d.split("service uri=\"").nth(1).and_then(|r| r.split('"').next()).map(String::from);
    assert_ne!(uri_of(&a), uri_of(&b), "alice:\n{a}\nbob:\n{b}");
}
