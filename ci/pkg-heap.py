#!/usr/bin/env python3
"""Sums up a q_malloc pkg heap dump of one Kamailio process (the qm_status lines that
`mem_summary=1` and `mem_dump_pkg=<pid>` make it log, with mem_status_mode 1 so that free
fragments are listed too).

    pkg-heap.py DUMP                 one heap: fragments, free lists, live allocations
    pkg-heap.py DUMP_A DUMP_B        two heaps side by side (A then B), and what differs

For each heap: the fragments in address order (used and free), the free fragments by size,
the live allocations grouped by the function that made them (count and bytes), and the
cost of a first-fit search as q_malloc does it: for the sizes of the live allocations, the
free-list buckets and free fragments it passes before it finds one that fits (the empty
buckets between a small request and the first non-empty bucket are what the search walks
when the heap has no free fragment of about the size asked for)."""
import re
import sys
from collections import Counter, defaultdict

ROUNDTO = 8
OPT_FACTOR = 14
OPTIMIZE = 1 << OPT_FACTOR
HASH_SIZE = OPTIMIZE // ROUNDTO + (64 - OPT_FACTOR) + 1


def big_hash(s):
    return OPTIMIZE // ROUNDTO + s.bit_length() - 1 - OPT_FACTOR + 1


def get_hash(s):
    return s // ROUNDTO if s <= OPTIMIZE else big_hash(s)


FRAG = re.compile(r"\s(\d+)\. ([AN])\s+address=\S+ frag=(\S+) size=(\d+) used=(\d+)")
FROM = re.compile(r"(alloc'd|freed) from ([^:]+): ([^:]+): ([^(]+)\((\d+)\)")
HEAD = re.compile(r"(heap size|used|max used)=.*")


def parse(path):
    frags, head = [], []
    cur = None
    for line in open(path, errors="replace"):
        m = FRAG.search(line)
        if m:
            cur = {"free": m.group(2) == "A", "addr": int(m.group(3), 16), "size": int(m.group(4)), "where": "?"}
            frags.append(cur)
            continue
        m = FROM.search(line)
        if m and cur is not None:
            cur["where"] = f"{m.group(3).strip()}:{m.group(4).strip()}"
            continue
        m = HEAD.search(line)
        if m:
            head.append(m.group(0))
    return frags, head


def search_cost(frags, sizes):
    """Buckets and fragments a first-fit search passes, summed over `sizes` (as q_malloc's
    qm_find_free does on these free lists; the lists' order is taken as address order)."""
    buckets = defaultdict(list)
    for f in frags:
        if f["free"]:
            buckets[get_hash(f["size"])].append(f["size"])
    occupied = sorted(buckets)
    tot_b = tot_f = 0
    import bisect
    for s in sizes:
        s = (s + ROUNDTO - 1) // ROUNDTO * ROUNDTO
        h0 = get_hash(s)
        i = bisect.bisect_left(occupied, h0)
        passed_f = 0
        found = None
        while i < len(occupied):
            h = occupied[i]
            for fs in buckets[h]:
                passed_f += 1
                if fs >= s:
                    found = h
                    break
            if found is not None:
                break
            i += 1
        end = found if found is not None else HASH_SIZE
        tot_b += end - h0
        tot_f += passed_f
    n = max(len(sizes), 1)
    return tot_b / n, tot_f / n


def summary(path):
    frags, head = parse(path)
    used = [f for f in frags if not f["free"]]
    free = [f for f in frags if f["free"]]
    by = defaultdict(lambda: [0, 0])
    for f in used:
        by[f["where"]][0] += 1
        by[f["where"]][1] += f["size"]
    free_small = [f["size"] for f in free if f["size"] <= OPTIMIZE]
    free_big = [f["size"] for f in free if f["size"] > OPTIMIZE]
    return {
        "head": head,
        "frags": len(frags),
        "used": len(used),
        "used_bytes": sum(f["size"] for f in used),
        "free": len(free),
        "free_small": len(free_small),
        "free_small_bytes": sum(free_small),
        "free_big": sorted(free_big),
        "by": by,
        "cost": search_cost(frags, [f["size"] for f in used]),
        "cost_small": search_cost(frags, [s for s in (16, 32, 64, 128, 256, 512, 1024, 2048) for _ in range(1)]),
    }


def show(name, s):
    print(f"## {name}")
    for h in s["head"]:
        print(f"- {h}")
    print(f"- fragments {s['frags']}: used {s['used']} ({s['used_bytes']} bytes), free {s['free']} "
          f"(small {s['free_small']}, {s['free_small_bytes']} bytes; big {len(s['free_big'])}: {s['free_big'][:6]})")
    b, f = s["cost"]
    bs, fs = s["cost_small"]
    print(f"- first-fit search for the live allocations' sizes: {b:.1f} buckets, {f:.1f} free fragments passed on average")
    print(f"- first-fit search for 16..2048 bytes: {bs:.1f} buckets, {fs:.1f} free fragments passed on average")


CALL = re.compile(r"\((\d+)\).*qm_(malloc|free|realloc)\((0x[0-9a-f]+), (\S+?)(?:, (\d+))?\),? called from (?:[^:(]+: )?([^:(]+): ([^(]+)\(")
HIT = re.compile(r"\((\d+)\).*qm_malloc\((0x[0-9a-f]+), (\d+)\) returns .* on (\d+) -th hit")


def allocs(path, heap):
    """Calls per (operation, caller) on the pkg heap `heap`, and the fragments passed."""
    calls, passed, n_malloc = Counter(), 0, 0
    for line in open(path, errors="replace"):
        m = CALL.search(line)
        if m and m.group(3) == heap:
            calls[(m.group(2), f"{m.group(6).strip()}:{m.group(7).strip()}")] += 1
            continue
        m = HIT.search(line)
        if m and m.group(2) == heap:
            passed += int(m.group(4))
            n_malloc += 1
    return calls, passed, n_malloc


def compare_allocs(a_path, b_path, a_heap, b_heap):
    a, pa, na = allocs(a_path, a_heap)
    b, pb, nb = allocs(b_path, b_heap)
    print(f"- A: {sum(a.values())} calls, {na} mallocs, {pa} free fragments passed in all")
    print(f"- B: {sum(b.values())} calls, {nb} mallocs, {pb} free fragments passed in all")
    print()
    print("| operation, caller | A | B |\n|---|---:|---:|")
    for k in sorted(set(a) | set(b), key=lambda k: -abs(a[k] - b[k])):
        if a[k] != b[k]:
            print(f"| {k[0]} {k[1]} | {a[k]} | {b[k]} |")


def main():
    if sys.argv[1] == "--allocs":
        compare_allocs(*sys.argv[2:6])
        return
    names = sys.argv[1:]
    sums = [summary(p) for p in names]
    for n, s in zip(names, sums):
        show(n, s)
        print()
    if len(sums) == 1:
        rows = sorted(sums[0]["by"].items(), key=lambda kv: -kv[1][1])[:25]
        print("| allocated by | count | bytes |\n|---|---:|---:|")
        for w, (c, b) in rows:
            print(f"| {w} | {c} | {b} |")
        return
    a, b = sums
    keys = set(a["by"]) | set(b["by"])
    rows = sorted(keys, key=lambda k: -abs(a["by"].get(k, [0, 0])[1] - b["by"].get(k, [0, 0])[1]))
    print("| allocated by | count A | bytes A | count B | bytes B |\n|---|---:|---:|---:|---:|")
    for k in rows[:30]:
        ca, ba = a["by"].get(k, [0, 0])
        cb, bb = b["by"].get(k, [0, 0])
        if (ca, ba) != (cb, bb):
            print(f"| {k} | {ca} | {ba} | {cb} | {bb} |")


main()
