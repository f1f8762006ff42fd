//! Every built module `.so` exports exactly the module ABI symbols, and every symbol it needs
//! is provided by the target's /usr/sbin/kamailio, its libsrdb1.so.1 (5.6 only: 6.0 has the DB
//! API in the core and Debian 13 ships no libsrdb1) or the system libraries it links, as the
//! target's system resolves them (for 6.0, the libraries of the Debian 13 root).

mod harness;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The modules this workspace builds (the shipped ones and the test-only one).
const MODULES: &[&str] = &["presence_xcapdiff", "xcap_client", "xcap_server", "pua", "presence_xml", "kamtest"];
const ABI: &[&str] = &["exports", "module_flags", "module_version"];
/// Modules with KEMI exports also have `mod_register`, which registers them at load time.
const WITH_KEMI: &[&str] = &["xcap_server", "pua", "presence_xml", "kamtest"];
const LIBSRDB1: &str = "/usr/lib/x86_64-linux-gnu/kamailio/libsrdb1.so.1";
const LIB_DIRS: &[&str] = &["/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu/kamailio"];

/// (name, type letter) of the dynamic symbols nm reports; versions stripped.
fn dynsyms(path: &Path, args: &[&str]) -> Vec<(String, String)> {
    let out = Command::new("nm").arg("-D").args(args).arg(path).output().expect("run nm");
    assert!(out.status.success(), "nm failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let (t, n) = match f.as_slice() {
                [_, t, n] | [t, n] => (*t, *n),
                _ => return None,
            };
            Some((n.split('@').next().unwrap().to_string(), t.to_string()))
        })
        .collect()
}

/// The DT_NEEDED names of `so`.
fn needed_names(so: &Path) -> Vec<String> {
    let out = Command::new("readelf").args(["-d", "-W"]).arg(so).output().expect("run readelf");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| Some(l.split('[').nth(1)?.split(']').next()?.to_string()))
        .collect()
}

/// The shared libraries `so` needs, found in the target system's library directories and
/// followed transitively, as its dynamic loader would (the rpath of libsrdb1 included).
fn needed_libs(so: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    let mut todo = needed_names(so);
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let path = LIB_DIRS
            .iter()
            .map(|d| harness::sys_path(d).join(&name))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{} needs {name}, which Kamailio {}'s system does not have", so.display(), harness::TARGET));
        todo.extend(needed_names(&path));
        found.push(path);
    }
    found
}

#[test]
fn modules_export_only_the_module_abi() {
    for m in MODULES {
        let so = harness::module_so(m);
        let mut defined: Vec<String> = dynsyms(&so, &["--defined-only"]).into_iter().map(|(n, _)| n).collect();
        defined.sort();
        let mut expected: Vec<&str> = ABI.to_vec();
        if WITH_KEMI.contains(m) {
            expected.insert(1, "mod_register");
        }
        assert_eq!(defined, expected, "{} exports more or less than the module ABI", so.display());
        for (n, t) in dynsyms(&so, &["--defined-only"]) {
            if n == "mod_register" {
                assert_eq!(t, "T", "mod_register in {} is not a function", so.display());
            } else {
                // The loader dereferences these as data.
                assert!(matches!(t.as_str(), "D" | "B" | "R"), "{n} in {} is of type {t}, not data", so.display());
            }
        }
    }
}

#[test]
fn the_test_module_finds_the_db_api_where_the_target_has_it() {
    let libs = needed_libs(&harness::module_so("kamtest"));
    let linked = libs.iter().any(|l| l.ends_with("kamailio/libsrdb1.so.1"));
    if harness::is_6_0() {
        // 6.0's core exports the DB API, and a module that needs libsrdb1 does not load there.
        assert!(!linked, "{libs:?}");
        assert!(!harness::sys_path(LIBSRDB1).exists(), "the Debian 13 root has a libsrdb1");
    } else {
        assert!(linked, "{libs:?}");
    }
}

#[test]
fn every_undefined_symbol_has_a_provider() {
    let binary = harness::sys_path("/usr/sbin/kamailio");
    let kamailio: HashSet<String> = dynsyms(&binary, &["--defined-only"]).into_iter().map(|(n, _)| n).collect();
    let srdb1: HashSet<String> = if harness::is_6_0() {
        HashSet::new()
    } else {
        dynsyms(&harness::sys_path(LIBSRDB1), &["--defined-only"]).into_iter().map(|(n, _)| n).collect()
    };
    assert!(kamailio.contains("find_export"), "provider symbol tables look wrong");
    // The DB API: in libsrdb1 on 5.6, in the core on 6.0.
    assert!(srdb1.contains("db_bind_mod") != kamailio.contains("db_bind_mod"), "the DB API is in neither or both places");
    for m in MODULES {
        let so = harness::module_so(m);
        let libs = needed_libs(&so);
        let undefined = dynsyms(&so, &["--undefined-only"]);
        // The DB API lives only in libsrdb1, which modules are not given globally: a module
        // that uses it must load it itself (DT_NEEDED, found through the rpath).
        let uses_db = undefined.iter().any(|(n, _)| srdb1.contains(n) && !kamailio.contains(n));
        if uses_db {
            assert!(libs.iter().any(|l| l.ends_with("libsrdb1.so.1")), "{} uses the DB API but does not load libsrdb1.so.1: {libs:?}", so.display());
        }
        let mut system: HashSet<String> = HashSet::new();
        for l in libs.iter().filter(|l| !l.ends_with("libsrdb1.so.1")) {
            system.extend(dynsyms(l, &["--defined-only"]).into_iter().map(|(n, _)| n));
        }
        let mut unresolved = Vec::new();
        for (name, t) in undefined {
            // Weak references (gmon, ITM, cxa_finalize) may stay unresolved.
            if t == "w" || t == "v" {
                continue;
            }
            if !(kamailio.contains(&name) || srdb1.contains(&name) || system.contains(&name)) {
                unresolved.push(name);
            }
        }
        assert!(unresolved.is_empty(), "{} needs symbols nobody provides: {unresolved:?}", so.display());
    }
}
