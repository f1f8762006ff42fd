//! Every built module `.so` exports exactly the module ABI symbols, and every symbol it needs
//! is provided by /usr/sbin/kamailio, libsrdb1.so.1 or the system libraries it links.

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

/// The shared libraries `so` needs, as resolved by the loader.
fn needed_libs(so: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(so).output().expect("run ldd");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // "name => /path (addr)", or "/path (addr)" for the dynamic loader itself.
        .filter_map(|l| l.split("=>").last())
        .filter_map(|r| r.split_whitespace().next())
        .filter(|p| p.starts_with('/'))
        .map(PathBuf::from)
        .collect()
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
fn the_test_module_uses_the_db_api_through_libsrdb1() {
    let libs = needed_libs(&harness::module_so("kamtest"));
    assert!(libs.iter().any(|l| l.ends_with("kamailio/libsrdb1.so.1")), "{libs:?}");
}

#[test]
fn every_undefined_symbol_has_a_provider() {
    let kamailio: HashSet<String> = dynsyms(Path::new(harness::KAMAILIO), &["--defined-only"]).into_iter().map(|(n, _)| n).collect();
    let srdb1: HashSet<String> = dynsyms(Path::new(LIBSRDB1), &["--defined-only"]).into_iter().map(|(n, _)| n).collect();
    assert!(kamailio.contains("find_export") && srdb1.contains("db_bind_mod"), "provider symbol tables look wrong");
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
