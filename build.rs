//! Generates the Kamailio bindings, compiles the C shim, and derives the module version
//! strings from the headers, checked against the installed `kamailio` binary.
//!
//! Inputs (never the network): `KAMAILIO_SRC`, the unpacked source tree that
//! `kamailio-headers/fetch.sh` prints; without it, that script's default cache location.
//! `KAMAILIO_BIN` (default `/usr/sbin/kamailio`) is the binary the version strings must match.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The define set Debian's Kamailio 5.6.3 build uses for modules on x86_64. It decides struct
/// layouts (sip_msg, tm), the lock implementation and the allocator entry points.
const DEFINES: &[(&str, Option<&str>)] = &[
    ("PKG_MALLOC", None),
    ("SHM_MMAP", None),
    ("DNS_IP_HACK", None),
    ("USE_MCAST", None),
    ("USE_TCP", None),
    ("DISABLE_NAGLE", None),
    ("HAVE_RESOLV_RES", None),
    ("USE_DNS_CACHE", None),
    ("USE_DNS_FAILOVER", None),
    ("USE_DST_BLOCKLIST", None),
    ("USE_NAPTR", None),
    ("WITH_XAVP", None),
    ("MEM_JOIN_FREE", None),
    ("F_MALLOC", None),
    ("Q_MALLOC", None),
    ("TLSF_MALLOC", None),
    ("DBG_SR_MEMORY", None),
    ("USE_TLS", None),
    ("TLS_HOOKS", None),
    ("USE_CORE_STATS", None),
    ("STATISTICS", None),
    ("MALLOC_STATS", None),
    ("USE_SCTP", None),
    ("FAST_LOCK", None),
    ("ADAPTIVE_WAIT", None),
    ("ADAPTIVE_WAIT_LOOPS", Some("1024")),
    ("CC_GCC_LIKE_ASM", None),
    ("HAVE_GETHOSTBYNAME2", None),
    ("HAVE_UNION_SEMUN", None),
    ("HAVE_SCHED_YIELD", None),
    ("HAVE_MSG_NOSIGNAL", None),
    ("HAVE_MSGHDR_MSG_CONTROL", None),
    ("HAVE_ALLOCA_H", None),
    ("HAVE_TIMEGM", None),
    ("HAVE_SCHED_SETSCHEDULER", None),
    ("HAVE_IP_MREQN", None),
    ("USE_RAW_SOCKS", None),
    ("HAVE_EPOLL", None),
    ("HAVE_SIGIO_RT", None),
    ("SIGINFO64_WORKARROUND", None),
    ("USE_FUTEX", None),
    ("HAVE_SELECT", None),
    ("KSR_PTHREAD_MUTEX_SHARED", None),
    ("__CPU_x86_64", None),
    ("__OS_linux", None),
    ("NAME", Some("\"kamailio\"")),
    ("VERSION", Some("\"5.6.3\"")),
    ("ARCH", Some("\"x86_64\"")),
    ("OS", Some("linux_")),
    ("OS_QUOTED", Some("\"linux\"")),
    ("COMPILER", Some("\"gcc 12.2.0\"")),
    ("VERSIONVAL", Some("5006003")),
    ("MOD_NAME", Some("\"kamailio-rs\"")),
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let shim_dir = manifest.join("kamailio-headers");
    let tree = kamailio_tree(&manifest);
    let src = tree.join("src");

    println!("cargo:rerun-if-env-changed=KAMAILIO_SRC");
    println!("cargo:rerun-if-env-changed=KAMAILIO_BIN");
    for f in ["wrapper.h", "shim.h", "shim.c"] {
        println!("cargo:rerun-if-changed={}", shim_dir.join(f).display());
    }

    let includes = [src.clone(), shim_dir.clone(), PathBuf::from("/usr/include/libxml2")];
    let define_args: Vec<String> = DEFINES
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("-D{k}={v}"),
            None => format!("-D{k}"),
        })
        .collect();

    // The C shim for macros and inline code.
    let mut shim = cc::Build::new();
    shim.file(shim_dir.join("shim.c")).flag("-pthread").warnings(false);
    for (k, v) in DEFINES {
        shim.define(k, *v);
    }
    for i in &includes {
        shim.include(i);
    }
    shim.compile("kamailio_shim");

    // module_version / module_flags, preprocessed from the headers with the define set.
    let (full_version, compile_flags) = version_strings(&out, &includes);
    check_against_binary(&full_version, &compile_flags);
    std::fs::write(
        out.join("version.rs"),
        format!(
            "/// `SER_FULL_VERSION` of the Kamailio the bindings were built for.\n\
             pub const SER_FULL_VERSION: &::core::ffi::CStr = c{full_version:?};\n\
             /// `SER_COMPILE_FLAGS` of the Kamailio the bindings were built for.\n\
             pub const SER_COMPILE_FLAGS: &::core::ffi::CStr = c{compile_flags:?};\n"
        ),
    )
    .unwrap();

    // Bindings.
    let mut clang_args = define_args.clone();
    clang_args.extend(includes.iter().map(|i| format!("-I{}", i.display())));
    clang_args.push("-pthread".into());
    let bindings = bindgen::Builder::default()
        .header(shim_dir.join("wrapper.h").display().to_string())
        .clang_args(&clang_args)
        .allowlist_file(".*/src/core/.*")
        .allowlist_file(".*/src/lib/srdb1/.*")
        .allowlist_file(".*/src/modules/(sl|tm|presence|pua|xcap_client|presence_xml)/.*")
        .allowlist_file(".*/kamailio-headers/shim.h")
        .blocklist_item("_ksr_slog_func")
        .opaque_type("gen_lock_t")
        .opaque_type("pthread_.*")
        .derive_default(true)
        .derive_debug(false)
        .layout_tests(true)
        .generate_comments(false)
        .prepend_enum_name(false)
        .generate()
        .expect("bindgen failed on kamailio-headers/wrapper.h");
    bindings.write_to_file(out.join("bindings.rs")).unwrap();

    // db_bind_mod and friends live in Kamailio's private libsrdb1.
    println!("cargo:rustc-link-search=native=/usr/lib/x86_64-linux-gnu/kamailio");
    println!("cargo:rustc-link-lib=dylib:+verbatim=libsrdb1.so.1");
}

/// Where the unpacked Kamailio source tree is.
fn kamailio_tree(manifest: &Path) -> PathBuf {
    if let Some(p) = env::var_os("KAMAILIO_SRC") {
        let p = PathBuf::from(p);
        assert!(
            p.join("src/core/sr_module.h").is_file(),
            "KAMAILIO_SRC={} holds no Kamailio source tree (src/core/sr_module.h missing)",
            p.display()
        );
        return p;
    }
    // The default location of kamailio-headers/fetch.sh, computed without running it.
    let version = Command::new("dpkg-query")
        .args(["-W", "-f=${Version}", "kamailio"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let upstream = version.split('-').next().unwrap_or("").to_string();
    let cache = env::var_os("KAMAILIO_SRC_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env::var("HOME").unwrap_or_default()).join(".cache"))
            .join("kamailio-src")
    });
    let tree = cache.join(&version).join(format!("kamailio-{upstream}"));
    if version.is_empty() || !tree.join("src/core/sr_module.h").is_file() {
        panic!(
            "\n\nThe Kamailio headers are missing. Run `{}` and pass the path it prints as \
             KAMAILIO_SRC (looked in {}).\n\n",
            manifest.join("kamailio-headers/fetch.sh").display(),
            tree.display()
        );
    }
    tree
}

/// Preprocesses SER_FULL_VERSION and SER_COMPILE_FLAGS with the pinned define set.
fn version_strings(out: &Path, includes: &[PathBuf]) -> (String, String) {
    let probe = out.join("version_probe.c");
    std::fs::write(
        &probe,
        "#include \"core/ver_defs.h\"\nKSR_FULL_VERSION SER_FULL_VERSION\nKSR_COMPILE_FLAGS SER_COMPILE_FLAGS\n",
    )
    .unwrap();
    let mut b = cc::Build::new();
    b.file(&probe).cargo_metadata(false);
    for (k, v) in DEFINES {
        b.define(k, *v);
    }
    for i in includes {
        b.include(i);
    }
    let expanded = String::from_utf8(b.expand()).expect("preprocessor output is not UTF-8");
    // The flags macro spans several lines once expanded; join everything after each marker.
    let joined = expanded
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    let take = |marker: &str, until: Option<&str>| -> String {
        let start = joined.find(marker).unwrap_or_else(|| panic!("{marker} not in probe output"))
            + marker.len();
        let rest = &joined[start..];
        let end = until.and_then(|u| rest.find(u)).unwrap_or(rest.len());
        concat_c_literals(&rest[..end])
    };
    (take("KSR_FULL_VERSION", Some("KSR_COMPILE_FLAGS")), take("KSR_COMPILE_FLAGS", None))
}

/// Concatenates adjacent C string literals ("a" "b" -> ab); these strings have no escapes.
fn concat_c_literals(s: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in s.chars() {
        match (c, inside) {
            ('"', _) => inside = !inside,
            (c, true) => out.push(c),
            _ => {}
        }
    }
    out
}

/// Fails the build when the installed Kamailio would refuse to load the modules.
fn check_against_binary(full_version: &str, compile_flags: &str) {
    let bin = env::var("KAMAILIO_BIN").unwrap_or_else(|_| "/usr/sbin/kamailio".into());
    let output = Command::new(&bin).arg("-V").output().unwrap_or_else(|e| {
        panic!("cannot run `{bin} -V` ({e}); the modules are built for the installed Kamailio")
    });
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (bin_version, bin_flags) = (field("version:"), field("flags:"));
    let mut problems = Vec::new();
    if bin_version != full_version {
        problems.push(format!("version: headers give {full_version:?}, {bin} says {bin_version:?}"));
    }
    if bin_flags != compile_flags {
        let ours: Vec<&str> = compile_flags.split(", ").collect();
        let theirs: Vec<&str> = bin_flags.split(", ").collect();
        let missing: Vec<_> = theirs.iter().filter(|f| !ours.contains(f)).collect();
        let extra: Vec<_> = ours.iter().filter(|f| !theirs.contains(f)).collect();
        problems.push(format!(
            "flags differ: the binary has {missing:?} that the define set lacks, and the define \
             set has {extra:?} that the binary lacks (order matters too)"
        ));
    }
    if !problems.is_empty() {
        panic!(
            "\n\nThe Kamailio headers and define set do not match {bin}; it would refuse to load \
             the modules:\n  {}\n\n",
            problems.join("\n  ")
        );
    }
}
