//! Generates the Kamailio bindings, compiles the C shim, and derives the module version
//! strings from the headers, checked against the installed `kamailio` binary.
//!
//! Inputs (never the network):
//! - `KAMAILIO_TARGET`: the Kamailio series to build for, `5.6` (default, Debian 12) or `6.0`
//!   (Debian 13). The header tree and the binary must be of that series.
//! - `KAMAILIO_SRC`: the unpacked source tree that `kamailio-headers/fetch.sh` prints; without
//!   it, that script's default cache location.
//! - `KAMAILIO_BIN`: the binary the version strings must match; default `/usr/sbin/kamailio`
//!   for 5.6 and the Debian 13 root's wrapper (`ci/kamailio-root.sh`) for 6.0.
//!
//! Outputs besides the bindings: the cfg `kamailio_target` ("5.6" or "6.0") for the few places
//! of the foundation whose C layout differs, and the build-time environment `KAMAILIO_TARGET`
//! and `KAMAILIO_BIN` for the tests.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kamailio series this tree builds for.
#[derive(Clone, Copy, PartialEq)]
enum Target {
    V5_6,
    V6_0,
}

impl Target {
    fn from_env() -> Target {
        match env::var("KAMAILIO_TARGET").as_deref() {
            Err(_) | Ok("") | Ok("5.6") => Target::V5_6,
            Ok("6.0") => Target::V6_0,
            Ok(other) => panic!("\n\nKAMAILIO_TARGET={other} is not a supported target (5.6 or 6.0)\n\n"),
        }
    }

    fn series(self) -> &'static str {
        match self {
            Target::V5_6 => "5.6",
            Target::V6_0 => "6.0",
        }
    }

    /// The define set Debian's build of this series uses for modules on x86_64: the common
    /// set with this series' differences, and the version itself.
    fn defines(self, version: &Version) -> Vec<(&'static str, Option<String>)> {
        let mut d: Vec<(&'static str, Option<String>)> =
            DEFINES.iter().map(|(k, v)| (*k, v.map(str::to_string))).collect();
        match self {
            Target::V5_6 => {
                d.push(("WITH_XAVP", None));
                d.push(("SIGINFO64_WORKARROUND", None));
                d.push(("COMPILER", Some("\"gcc 12.2.0\"".into())));
            }
            Target::V6_0 => {
                d.push(("SIGINFO64_WORKAROUND", None));
                d.push(("COMPILER", Some("\"gcc 14.2.0\"".into())));
            }
        }
        d.push(("VERSION", Some(format!("\"{}\"", version.dotted()))));
        d.push(("VERSIONVAL", Some(version.val().to_string())));
        d
    }
}

/// A Kamailio version as its Makefile.defs states it.
struct Version(u32, u32, u32);

impl Version {
    fn dotted(&self) -> String {
        format!("{}.{}.{}", self.0, self.1, self.2)
    }
    fn series(&self) -> String {
        format!("{}.{}", self.0, self.1)
    }
    fn val(&self) -> u32 {
        self.0 * 1_000_000 + self.1 * 1000 + self.2
    }
}

/// The version of a source tree, from `VERSION`, `PATCHLEVEL` and `SUBLEVEL` of src/Makefile.defs.
fn tree_version(tree: &Path) -> Version {
    let defs = std::fs::read_to_string(tree.join("src/Makefile.defs"))
        .unwrap_or_else(|e| panic!("cannot read {}/src/Makefile.defs: {e}", tree.display()));
    let field = |name: &str| -> u32 {
        defs.lines()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == name).then(|| v.trim().parse().ok()).flatten()
            })
            .unwrap_or_else(|| panic!("no {name} in {}/src/Makefile.defs", tree.display()))
    };
    Version(field("VERSION"), field("PATCHLEVEL"), field("SUBLEVEL"))
}

/// The define set common to Debian's 5.6 and 6.0 builds for modules on x86_64. It decides
/// struct layouts (sip_msg, tm), the lock implementation and the allocator entry points.
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
    ("USE_FUTEX", None),
    ("HAVE_SELECT", None),
    ("KSR_PTHREAD_MUTEX_SHARED", None),
    ("__CPU_x86_64", None),
    ("__OS_linux", None),
    ("NAME", Some("\"kamailio\"")),
    ("ARCH", Some("\"x86_64\"")),
    ("OS", Some("linux_")),
    ("OS_QUOTED", Some("\"linux\"")),
    ("MOD_NAME", Some("\"kamailio-rs\"")),
];

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let shim_dir = manifest.join("kamailio-headers");
    let target = Target::from_env();
    let tree = kamailio_tree(&manifest, target);
    let version = tree_version(&tree);
    if version.series() != target.series() {
        panic!(
            "\n\nKAMAILIO_TARGET={} but the headers in {} are Kamailio {}; fetch the matching \
             tree with `KAMAILIO_TARGET={} bash kamailio-headers/fetch.sh`\n\n",
            target.series(),
            tree.display(),
            version.dotted(),
            target.series()
        );
    }
    let defines = target.defines(&version);
    let src = tree.join("src");

    println!("cargo:rerun-if-env-changed=KAMAILIO_TARGET");
    println!("cargo:rerun-if-env-changed=KAMAILIO_SRC");
    println!("cargo:rerun-if-env-changed=KAMAILIO_BIN");
    println!("cargo:rerun-if-changed={}", tree.join("src/Makefile.defs").display());
    for f in ["wrapper.h", "shim.h", "shim.c"] {
        println!("cargo:rerun-if-changed={}", shim_dir.join(f).display());
    }
    println!("cargo::rustc-check-cfg=cfg(kamailio_target, values(\"5.6\", \"6.0\"))");
    println!("cargo:rustc-cfg=kamailio_target=\"{}\"", target.series());
    let bin = kamailio_bin(&manifest, target);
    println!("cargo:rustc-env=KAMAILIO_TARGET={}", target.series());
    println!("cargo:rustc-env=KAMAILIO_BIN={bin}");

    let includes = [src.clone(), shim_dir.clone(), PathBuf::from("/usr/include/libxml2")];
    let define_args: Vec<String> = defines
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("-D{k}={v}"),
            None => format!("-D{k}"),
        })
        .collect();

    // The C shim for macros and inline code.
    let mut shim = cc::Build::new();
    shim.file(shim_dir.join("shim.c")).flag("-pthread").warnings(false);
    for (k, v) in &defines {
        shim.define(k, v.as_deref());
    }
    for i in &includes {
        shim.include(i);
    }
    shim.compile("kamailio_shim");

    // module_version / module_flags, preprocessed from the headers with the define set.
    let (full_version, compile_flags) = version_strings(&out, &includes, &defines);
    check_against_binary(&bin, &version, &full_version, &compile_flags);
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

    // In 5.6 db_bind_mod and friends live in Kamailio's private libsrdb1; in 6.0 the core
    // binary exports them itself and Debian 13 ships no libsrdb1 at all.
    if target == Target::V5_6 {
        println!("cargo:rustc-link-search=native=/usr/lib/x86_64-linux-gnu/kamailio");
        println!("cargo:rustc-link-lib=dylib:+verbatim=libsrdb1.so.1");
    }
}

/// The Kamailio binary of the target: `KAMAILIO_BIN`, else the host's for 5.6 and the
/// Debian 13 root's wrapper (written by ci/kamailio-root.sh) for 6.0.
fn kamailio_bin(manifest: &Path, target: Target) -> String {
    if let Ok(bin) = env::var("KAMAILIO_BIN") {
        if !bin.is_empty() {
            return bin;
        }
    }
    match target {
        Target::V5_6 => "/usr/sbin/kamailio".into(),
        Target::V6_0 => manifest.join("target/kamailio-6.0/kamailio").display().to_string(),
    }
}

/// Where the unpacked Kamailio source tree is.
fn kamailio_tree(manifest: &Path, target: Target) -> PathBuf {
    if let Some(p) = env::var_os("KAMAILIO_SRC") {
        let p = PathBuf::from(p);
        assert!(
            p.join("src/core/sr_module.h").is_file(),
            "KAMAILIO_SRC={} holds no Kamailio source tree (src/core/sr_module.h missing)",
            p.display()
        );
        return p;
    }
    // The default location of kamailio-headers/fetch.sh (<cache>/<debian version>/kamailio-<upstream>),
    // searched without running it: the newest tree of the target's series.
    let cache = env::var_os("KAMAILIO_SRC_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env::var("HOME").unwrap_or_default()).join(".cache"))
            .join("kamailio-src")
    });
    let mut trees: Vec<PathBuf> = std::fs::read_dir(&cache)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("{}.", target.series())))
        .flat_map(|e| std::fs::read_dir(e.path()).into_iter().flatten().flatten())
        .map(|e| e.path())
        .filter(|p| p.join("src/core/sr_module.h").is_file())
        .collect();
    trees.sort();
    trees.pop().unwrap_or_else(|| {
        panic!(
            "\n\nThe Kamailio {} headers are missing. Run `KAMAILIO_TARGET={} bash {}` and pass the \
             path it prints as KAMAILIO_SRC (looked in {}).\n\n",
            target.series(),
            target.series(),
            manifest.join("kamailio-headers/fetch.sh").display(),
            cache.display()
        )
    })
}

/// Preprocesses SER_FULL_VERSION and SER_COMPILE_FLAGS with the pinned define set.
fn version_strings(out: &Path, includes: &[PathBuf], defines: &[(&str, Option<String>)]) -> (String, String) {
    let probe = out.join("version_probe.c");
    std::fs::write(
        &probe,
        "#include \"core/ver_defs.h\"\nKSR_FULL_VERSION SER_FULL_VERSION\nKSR_COMPILE_FLAGS SER_COMPILE_FLAGS\n",
    )
    .unwrap();
    let mut b = cc::Build::new();
    b.file(&probe).cargo_metadata(false);
    for (k, v) in defines {
        b.define(k, v.as_deref());
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
fn check_against_binary(bin: &str, version: &Version, full_version: &str, compile_flags: &str) {
    let output = Command::new(bin).arg("-V").output().unwrap_or_else(|e| {
        panic!(
            "\n\ncannot run `{bin} -V` ({e}); the modules are built for and checked against that \
             Kamailio {} (for 6.0, `bash ci/kamailio-root.sh` writes it)\n\n",
            version.dotted()
        )
    });
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    let (bin_version, bin_flags) = (field("version:"), field("flags:"));
    // One clear line when the binary is another Kamailio altogether.
    let bin_release = bin_version.split_whitespace().nth(1).unwrap_or("(unknown)");
    if bin_release != version.dotted() {
        panic!(
            "\n\nThe headers are Kamailio {} but {bin} is Kamailio {bin_release}: a module built \
             for one never loads into the other\n\n",
            version.dotted()
        );
    }
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
