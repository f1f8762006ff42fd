#!/usr/bin/python3
"""The HTTP side of ci/soak.sh's load, against one Kamailio (test-configs/soak.cfg):

- XCAP: GET, PUT (a third with If-Match) and DELETE of the resource-lists documents of
  XCAP_USERS users (x1, x2, ...), and GETs of one element in them, at XCAP_RATE requests/s.
  The client knows which documents exist and their entity tags, so it knows the answer to
  expect: 200/201 for a PUT, 200 (with the last ETag) or 404 for a GET, 200 for a DELETE.
- pres-rules: a PUT of one of three rule sets (allow all, allow sip: services only, polite-block
  one watcher) for one of the HOT presentities h1, h2, ... at RULES_RATE/s; the route then
  updates and notifies that presentity's watchers.
- pua: at PUA_RATE/s a publication life through pua_rpc (`pua.publish` over JSON-RPC, which
  answers once the PUBLISH has its final reply): publish (Expires 30), modify after 5 s,
  refresh after 10 s, and after 15 s, for every other life, the removal (Expires 0); the
  others expire. Half of them publish for the HOT presentities, so their watchers get NOTIFYs.
  pua sends the PUBLISHes to this same Kamailio's presence.

`setup` PUTs the first pres-rules of every HOT presentity (the SIPp watchers come after);
`run` runs the load for --seconds (then finishes the pua lives started). Every answer is
checked; the counts and the first error lines go to --out (JSON, and <out>.errors).
One thread, requests one after another (a new connection each), on a fixed schedule.
"""
import argparse
import heapq
import http.client
import json
import random
import signal
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["setup", "run"])
ap.add_argument("--http-port", type=int, required=True)
ap.add_argument("--sip-port", type=int, required=True)
ap.add_argument("--seconds", type=float, default=60)
ap.add_argument("--xcap-rate", type=float, default=20)
ap.add_argument("--xcap-users", type=int, default=200)
ap.add_argument("--rules-rate", type=float, default=0.5)
ap.add_argument("--pua-rate", type=float, default=2)
ap.add_argument("--hot", type=int, default=10)
ap.add_argument("--pua-users", type=int, default=50)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--out", required=True)
args = ap.parse_args()

HOST = "127.0.0.1"
DOMAIN = "127.0.0.1"
TIMEOUT = 15
rnd = random.Random(args.seed)
counts = {}
errors = []


def count(key, n=1):
    counts[key] = counts.get(key, 0) + n


def error(kind, what):
    count("errors:" + kind)
    if len(errors) < 200:
        errors.append(f"{time.strftime('%H:%M:%S')} {kind}: {what}")


def request(method, path, body=None, headers=None):
    """One request on a new connection: (status, headers dict lower-cased, body) or None."""
    try:
        c = http.client.HTTPConnection(HOST, args.http_port, timeout=TIMEOUT)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data
    except (OSError, http.client.HTTPException) as e:
        error("http", f"{method} {path}: {e!r}")
        return None


# ---------------------------------------------------------------- documents

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar"]


def resource_lists(n):
    entries = "".join(
        f'    <entry uri="sip:{NAMES[i % len(NAMES)]}{i}@example.com">\n      <display-name>{NAMES[i % len(NAMES)].title()} {i}</display-name>\n    </entry>\n'
        for i in range(n)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">\n'
        f'  <list name="friends">\n{entries}  </list>\n'
        '  <list name="colleagues">\n    <entry uri="sip:boss@example.org"/>\n  </list>\n'
        "</resource-lists>\n"
    ).encode()


RULES_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<cr:ruleset xmlns="urn:ietf:params:xml:ns:pres-rules" xmlns:cr="urn:ietf:params:xml:ns:common-policy">\n'
)
ALLOW_ALL = (
    '  <cr:rule id="all">\n    <cr:conditions><cr:identity><cr:many domain="127.0.0.1"/></cr:identity></cr:conditions>\n'
    "    <cr:actions><sub-handling>allow</sub-handling></cr:actions>\n"
    "    <cr:transformations><provide-services><all-services/></provide-services>"
    "<provide-persons><all-persons/></provide-persons><provide-devices><all-devices/></provide-devices>"
    "<provide-all-attributes/></cr:transformations>\n  </cr:rule>\n"
)
ALLOW_SIP = (
    '  <cr:rule id="sip-only">\n    <cr:conditions><cr:identity><cr:many domain="127.0.0.1"/></cr:identity></cr:conditions>\n'
    "    <cr:actions><sub-handling>allow</sub-handling></cr:actions>\n"
    "    <cr:transformations><provide-services><service-uri-scheme>sip</service-uri-scheme></provide-services>"
    "<provide-persons><all-persons/></provide-persons><provide-devices><all-devices/></provide-devices>"
    "<provide-activities>true</provide-activities></cr:transformations>\n  </cr:rule>\n"
)
POLITE_W1 = (
    '  <cr:rule id="polite">\n    <cr:conditions><cr:identity><cr:one id="sip:w1@127.0.0.1"/></cr:identity></cr:conditions>\n'
    "    <cr:actions><sub-handling>polite-block</sub-handling></cr:actions>\n    <cr:transformations/>\n  </cr:rule>\n"
)
RULES = [
    (RULES_HEAD + ALLOW_ALL + "</cr:ruleset>\n").encode(),
    (RULES_HEAD + ALLOW_SIP + "</cr:ruleset>\n").encode(),
    (RULES_HEAD + POLITE_W1 + ALLOW_ALL + "</cr:ruleset>\n").encode(),
]


def doc_path(auid, user):
    return f"/xcap-root/{auid}/users/sip:{user}@{DOMAIN}/index"


CT = {"resource-lists": "application/resource-lists+xml", "pres-rules": "application/auth-policy+xml"}


def expect(what, r, codes):
    """Counts the answer: ok when it is one of codes, else an error. True when the request did
    what was asked (its code is the expected one, or another 2xx where a 2xx was expected, such
    as a 200 for a PUT that created a document), so that the client's picture of the documents
    follows the server's and one wrong code does not make every later answer look wrong."""
    if r is None:
        return False
    status = r[0]
    if status in codes:
        count(f"ok:{what}")
        return True
    error("status", f"{what}: {status} (expected {'/'.join(map(str, codes))}): {r[2][:200]!r}")
    return 200 <= status < 300 and any(200 <= c < 300 for c in codes)


# ---------------------------------------------------------------- XCAP load

etags = {}  # user -> ETag of the document as last written (absent: no document)


def xcap_op():
    u = f"x{rnd.randint(1, args.xcap_users)}"
    path = doc_path("resource-lists", u)
    p = rnd.random()
    if u in etags:
        if p < 0.45:
            r = request("GET", path)
            if expect("xcap GET", r, (200,)) and r[1].get("etag", "").strip('"') != etags[u]:
                error("etag", f"GET {path}: ETag {r[1].get('etag')} but the last PUT gave {etags[u]}")
        elif p < 0.55:
            sel = path + '/~~/resource-lists/list%5b@name=%22colleagues%22%5d'
            r = request("GET", sel)
            expect("xcap GET element", r, (200,))
        elif p < 0.85:
            hdrs = {"Content-Type": CT["resource-lists"]}
            if rnd.random() < 0.33:
                hdrs["If-Match"] = f'"{etags[u]}"'
            r = request("PUT", path, resource_lists(rnd.randint(1, 12)), hdrs)
            if expect("xcap PUT replace", r, (200,)):
                etags[u] = r[1].get("etag", "").strip('"')
        else:
            r = request("DELETE", path)
            if expect("xcap DELETE", r, (200,)):
                del etags[u]
    else:
        if p < 0.7:
            r = request("PUT", path, resource_lists(rnd.randint(1, 12)), {"Content-Type": CT["resource-lists"]})
            if expect("xcap PUT new", r, (201,)):
                etags[u] = r[1].get("etag", "").strip('"')
        else:
            r = request("GET", path)
            expect("xcap GET absent", r, (404,))


rules_docs = set()


def rules_put(user, variant, codes):
    r = request("PUT", doc_path("pres-rules", user), RULES[variant], {"Content-Type": CT["pres-rules"]})
    if expect("pres-rules PUT", r, codes):
        rules_docs.add(user)


# ---------------------------------------------------------------- pua through pua_rpc

rpc_id = 0


def pua_publish(uri, expires, pid, etag, body):
    """pua.publish; the result object, or None (counted as an error)."""
    global rpc_id
    rpc_id += 1
    params = [uri, str(expires), "presence", ".", pid, etag or ".", ".", "."]
    if body is not None:
        params.append(body)
    req = json.dumps({"jsonrpc": "2.0", "method": "pua.publish", "params": params, "id": rpc_id}).encode()
    r = request("POST", "/RPC", req, {"Content-Type": "application/json"})
    if r is None:
        return None
    if r[0] != 200:
        error("status", f"pua.publish {uri}: HTTP {r[0]}: {r[2][:200]!r}")
        return None
    try:
        answer = json.loads(r[2])
    except ValueError:
        error("rpc", f"pua.publish {uri}: not JSON: {r[2][:200]!r}")
        return None
    if "error" in answer or not isinstance(answer.get("result"), dict):
        error("rpc", f"pua.publish {uri} (expires {expires}, etag {etag}): {r[2][:300]!r}")
        return None
    return answer["result"]


def pidf(uri, basic, note, n):
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="{uri}">'
        f'<tuple id="pua{n}"><status><basic>{basic}</basic></status><contact>sip:pua{n}@127.0.0.1</contact>'
        f"<note>{note}</note></tuple></presence>"
    )


class PuaLife:
    def __init__(self, n):
        self.n = n
        user = f"h{rnd.randint(1, args.hot)}" if n % 2 else f"a{rnd.randint(1, args.pua_users)}"
        self.uri = f"sip:{user}@{DOMAIN}:{args.sip_port}"
        self.id = f"soak{n}"
        self.remove = (n // 2) % 2 == 0  # every other life of each kind is removed
        self.etag = None

    def step(self, k):
        """Runs step k; returns the delay (s) to the next one, or None at the end."""
        if k == 0:
            res = pua_publish(self.uri, 30, self.id, None, pidf(self.uri, "open", "Available", self.n))
            what, nxt = "pua publish", 5
        elif k == 1:
            res = pua_publish(self.uri, 30, self.id, self.etag, pidf(self.uri, "closed", "Away", self.n))
            what, nxt = "pua modify", 5
        elif k == 2:
            res = pua_publish(self.uri, 30, self.id, self.etag, None)
            what, nxt = "pua refresh", (5 if self.remove else None)
        else:
            res = pua_publish(self.uri, 0, self.id, self.etag, None)
            if res is not None:
                count("ok:pua remove")
            return None
        if res is None:
            return None  # the life ends with its error
        etag = res.get("SIP-ETag") or res.get("etag")
        if not etag:
            error("rpc", f"{what} {self.uri}: no SIP-ETag in {res}")
            return None
        count("ok:" + what)
        self.etag = etag
        return nxt


# ---------------------------------------------------------------- main

def write_out(extra):
    out = dict(counts=counts, **extra)
    out["errors"] = sum(v for k, v in counts.items() if k.startswith("errors:"))
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
    with open(args.out + ".errors", "w") as f:
        f.write("".join(e + "\n" for e in errors))


if args.mode == "setup":
    for h in range(1, args.hot + 1):
        rules_put(f"h{h}", 0, (201,))
    write_out({"pres_rules_docs": len(rules_docs)})
    sys.exit(0)

rules_docs = {f"h{h}" for h in range(1, args.hot + 1)}  # written by setup
start = time.monotonic()
end = start + args.seconds
queue = []  # (due, seq, kind, payload)
seq = 0


def schedule(due, kind, payload=None):
    global seq
    seq += 1
    heapq.heappush(queue, (due, seq, kind, payload))


if args.xcap_rate > 0:
    schedule(start, "xcap")
if args.rules_rate > 0:
    schedule(start + 0.5 / args.rules_rate, "rules")
if args.pua_rate > 0:
    schedule(start + 0.25, "pua-new", 0)
lives = {}
late_max = 0.0
variant = 0
stopped = False


def on_term(signum, frame):
    raise KeyboardInterrupt


# ci/soak.sh stops a client that fell behind with SIGTERM: it still writes what it counted.
signal.signal(signal.SIGTERM, on_term)
try:
    while queue:
        due, _, kind, payload = heapq.heappop(queue)
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        else:
            late_max = max(late_max, now - due)
        if kind == "xcap":
            xcap_op()
            if due + 1 / args.xcap_rate < end:
                schedule(due + 1 / args.xcap_rate, "xcap")
        elif kind == "rules":
            variant = (variant + 1) % len(RULES)
            rules_put(f"h{rnd.randint(1, args.hot)}", variant, (200,))
            if due + 1 / args.rules_rate < end:
                schedule(due + 1 / args.rules_rate, "rules")
        elif kind == "pua-new":
            n = payload
            count("pua lives")
            lives[n] = PuaLife(n)
            schedule(due, "pua-step", (n, 0))
            if due + 1 / args.pua_rate < end:
                schedule(due + 1 / args.pua_rate, "pua-new", n + 1)
        elif kind == "pua-step":
            n, k = payload
            delay = lives[n].step(k)
            if delay is None:
                del lives[n]
            else:
                schedule(due + delay, "pua-step", (n, k + 1))

except KeyboardInterrupt:
    stopped = True

write_out(
    {
        "xcap_docs_live": len(etags) + len(rules_docs),
        "resource_lists_live": len(etags),
        "pres_rules_docs": len(rules_docs),
        "seconds": round(time.monotonic() - start, 1),
        "late_max_s": round(late_max, 3),
        "stopped": stopped,
    }
)
