#!/usr/bin/env python3
"""Summarises the valgrind memcheck logs of one ci/memcheck.sh run of one Kamailio target
(one log per Kamailio process) as a Markdown section, and says whether our modules are clean.

usage: memcheck-report.py TARGET LOGDIR RESULTS REPO > section.md

RESULTS holds one line per test binary run: `name exit passed failed seconds`. REPO is the
repository root: a frame whose source file lies under it is ours. Each error (and each
definite leak, when leak checking was on) is attributed to:
  - the first frame of ours in its stack (and the module .so it runs in): a source file under REPO (its crate: modules/<name>,
    libs/<name>, or the foundation crate for src/), or Rust code of the standard library or a
    dependency (/rustc/..., a cargo registry), which only our modules contain: then to the
    nearest frame under REPO above it, else to "(Rust, module unknown)";
  - else the first frame outside valgrind's own preload: its object (or source file) and
    function, listed as stock Kamailio or system libraries.
The last line of the output is `memcheck TARGET: OURS errors in our modules, OTHERS elsewhere`.
Exit status: 0 when our modules have no error, 1 otherwise.
"""
import collections
import os
import re
import sys

PREFIX = re.compile(r"^(?:==|--)(\d+)(?:==|--) ?(.*)$")
FRAME = re.compile(r"^\s+(?:at|by) 0x[0-9A-Fa-f]+: (.*?)(?: \((?:in )?(.*)\))?$")
LEAK = re.compile(r"are definitely lost in loss record")
OUR_LIBS = {"xcap_server", "xcap_client", "presence_xml", "pua", "presence_xcapdiff"}


def crate_of(path, repo):
    """Our crate a source path belongs to, or None."""
    if not path.startswith(repo + "/"):
        return None
    rel = path[len(repo) + 1:].split("/")
    if len(rel) > 2 and rel[0] in ("modules", "libs", "test-modules"):
        return rel[1]
    if rel[0] == "src":
        return "kamailio (foundation crate)"
    return rel[0]


def is_our_object(path, repo):
    """A module file of ours: built in the repository's target directory, or the link to it
    in a test server's scratch module directory (/tmp/krs-*/modules/<name>.so)."""
    return path.startswith(repo + "/") or ("/krs-" in path and "/modules/" in path)


def is_rust_elsewhere(path):
    return path.startswith("/rustc/") or "/.cargo/registry/" in path or "/.cargo/git/" in path


def is_valgrind(where):
    return "vgpreload_" in where or "vg_replace_" in where or where.startswith("/usr/libexec/valgrind")


def loaded_module(frames, repo):
    """The module of ours (the .so) a stack runs in: the first frame in modules/<name>/ or in a
    lib<name>.so of ours. Shared crates (the foundation, libs/) are linked into each module."""
    for func, where in frames:
        path = (where or "").split(":")[0]
        rel = path[len(repo) + 1:].split("/") if path.startswith(repo + "/") else []
        if len(rel) > 2 and rel[0] == "modules":
            return rel[1]
        m = re.match(r"(?:lib)?(\w+)\.so$", os.path.basename(path))
        if m and m.group(1) in OUR_LIBS and is_our_object(path, repo):
            return m.group(1)
    return None


def attribute(frames, repo):
    """(ours, module or object, function) for a stack of (function, where) frames."""
    ours, where, func = attribute_frame(frames, repo)
    if ours:
        module = loaded_module(frames, repo)
        if module and module != where:
            where = f"{where} in {module}.so"
    return ours, where, func


def attribute_frame(frames, repo):
    for i, (func, where) in enumerate(frames):
        path = where.split(":")[0] if where else ""
        base = os.path.basename(path)
        m = re.match(r"(?:lib)?(\w+)\.so$", base)
        if crate_of(path, repo) or (m and m.group(1) in OUR_LIBS and is_our_object(path, repo)):
            return True, crate_of(path, repo) or m.group(1), func
        if is_rust_elsewhere(path):
            for f2, w2 in frames[i + 1:]:
                c = crate_of((w2 or "").split(":")[0], repo)
                if c:
                    return True, c, f"{func} (called from {f2})"
            return True, "(Rust, module unknown)", func
    for i, (func, where) in enumerate(frames):
        if where and is_valgrind(where):
            continue
        if func == "???" and not where:
            continue
        obj = where.split(":")[0] if where else "?"
        if func == "???":
            # No symbol there: the first named function of the same object, if any.
            func = next((f"{f2} (via ???)" for f2, w2 in frames[i + 1:] if w2 == where and f2 != "???"), func)
        # A system library's frame: name the Kamailio function (core or stock module) that
        # called into it, too.
        if "kamailio" not in obj:
            caller = next((f"{f2} in {os.path.basename(w2)}" for f2, w2 in frames[i + 1:] if "kamailio" in (w2 or "")), None)
            if caller:
                func = f"{func} (called from {caller})"
        return False, obj, func
    return False, "?", frames[0][0] if frames else "?"


def read_block(lines, i):
    """The error whose heading is lines[i]: (kind, frames, aux, next index), or None."""
    line = lines[i]
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if not line or line.startswith((" ", "Warning")) or not FRAME.match(nxt):
        return None
    kind = line
    if LEAK.search(kind):
        kind = "definitely lost (leak)"
    elif kind.startswith(("Invalid", "Use of", "Argument")):
        kind = re.sub(r"\d[\d,]*", "N", kind)
    frames = []
    i += 1
    while i < len(lines) and FRAME.match(lines[i]):
        m = FRAME.match(lines[i])
        frames.append((m.group(1), m.group(2) or ""))
        i += 1
    aux = lines[i].strip() if i < len(lines) and lines[i].startswith(" ") else ""
    return kind, frames, aux, i


def parse_log(path):
    """(complete, errors, suppressions): errors as (kind, frames, aux, count), count being how
    often it occurred in the process (valgrind prints each context once, and with -s lists
    the counts at exit); suppressions as {name: count}."""
    lines = []
    with open(path, errors="replace") as f:
        for raw in f:
            m = PREFIX.match(raw.rstrip("\n"))
            if m:
                lines.append(m.group(2))
    errors = []
    counts = {}
    complete = False
    suppressions = collections.Counter()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("ERROR SUMMARY:"):
            complete = True
        m = re.match(r"used_suppression:\s+(\d+) (\S+)", line)
        if m:
            suppressions[m.group(2)] += int(m.group(1))
        m = re.match(r"(\d+) errors in context \d+ of \d+:", line)
        if m and i + 1 < len(lines):
            # The list at exit (-s): the same contexts again, with their counts.
            block = read_block(lines, i + 1)
            if block:
                counts[(block[0], tuple(block[1]))] = int(m.group(1))
                i = block[3]
                continue
        if not complete:
            block = read_block(lines, i)
            if block:
                errors.append(block[:3])
                i = block[3]
                continue
        i += 1
    errors = [(k, f, a, counts.get((k, tuple(f)), 1)) for k, f, a in errors]
    return complete, errors, suppressions


def main():
    target, logdir, results, repo = sys.argv[1:5]
    repo = os.path.realpath(repo)
    runs = []
    with open(results) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 5:
                runs.append((parts[0], int(parts[1]), int(parts[2]), int(parts[3]), int(parts[4])))
    logs = sorted(os.path.join(logdir, n) for n in os.listdir(logdir) if n.endswith(".log"))
    ours = collections.Counter()
    others = collections.Counter()
    examples = {}
    incomplete = 0
    suppressed = collections.Counter()
    occurrences = collections.Counter()
    summary_suppressed = 0
    commands = collections.Counter()
    for log in logs:
        complete, errors, supp = parse_log(log)
        incomplete += not complete
        suppressed.update(supp)
        with open(log, errors="replace") as f:
            m = re.search(r"ERROR SUMMARY: .*suppressed: (\d+) from", f.read())
            summary_suppressed += int(m.group(1)) if m else 0
        with open(log, errors="replace") as f:
            m = re.search(r"== Command: (\S+)", f.read(4096))
            commands[m.group(1) if m else "?"] += 1
        for kind, frames, aux, count in errors:
            mine, where, func = attribute(frames, repo)
            key = (kind, where, func)
            (ours if mine else others)[key] += 1
            occurrences[key] += count
            examples.setdefault(key, (log, frames[:12], aux))

    out = []
    seconds = sum(r[4] for r in runs)
    out.append(f"## Kamailio {target}\n")
    out.append(f"- Test binaries: {', '.join(r[0] for r in runs) or '(none)'}")
    out.append(f"- Tests: {sum(r[2] for r in runs)} passed, {sum(r[3] for r in runs)} failed; "
               f"{seconds} s in all ({seconds // 60} min {seconds % 60} s)")
    out.append(f"- Processes checked: {len(logs)} ("
               + ", ".join(f"{n} of {c}" for c, n in sorted(commands.items())) + f"); "
               f"{incomplete} without valgrind's closing summary (killed before their exit)")
    out.append(f"- Errors in our modules: **{sum(ours.values())}**; elsewhere: {sum(others.values())} "
               "(reports: each distinct stack once per process that printed it; occurrences: with its repeats)")
    out.append("- Suppressed (ci/memcheck.supp): "
               + (", ".join(f"{name} {n}" for name, n in suppressed.most_common())
                  or f"{summary_suppressed} (valgrind ran without -s: no names)") + "\n")
    out.append("| test binary | exit | passed | failed | seconds |")
    out.append("| --- | --- | --- | --- | --- |")
    for r in runs:
        out.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} |")
    out.append("")
    for title, table in (("Our modules", ours), ("Stock Kamailio and system libraries", others)):
        out.append(f"### {title}\n")
        if not table:
            out.append("No errors.\n")
            continue
        out.append("| reports | occurrences | kind | module / object | function |")
        out.append("| --- | --- | --- | --- | --- |")
        for key, n in table.most_common():
            kind, where, func = key
            out.append(f"| {n} | {occurrences[key]} | {kind} | `{where}` | `{func}` |")
        out.append("")
        for key, _ in table.most_common(10):
            log, frames, aux = examples[key]
            out.append(f"First seen in `{os.path.basename(log)}`: {key[0]}")
            out.append("```")
            out.extend(f"  {fn} ({w})" for fn, w in frames)
            if aux:
                out.append(f"  {aux}")
            out.append("```")
        out.append("")
    print("\n".join(out))
    print(f"memcheck {target}: {sum(ours.values())} errors in our modules, {sum(others.values())} elsewhere")
    return 1 if ours else 0


if __name__ == "__main__":
    sys.exit(main())
