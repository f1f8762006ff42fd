//! The Debian package end to end, for the target's Kamailio: `ci/package.sh` builds it (once
//! for this file), its contents and control data are checked with dpkg-deb, then it is
//! installed and removed with dpkg in a scratch root, and the real Kamailio loads every module
//! by bare name from that root's module directory: ours while the package is installed, the
//! stock ones again after removal.
//!
//! The scratch root differs by target ([`Root`]). 5.6: a copy of this machine's dpkg database
//! (so that dpkg sees `kamailio` and the stock modules' owner) and of the stock module
//! directory (copies of the files the package diverts, symlinks to the real files for all
//! other modules); the host's dpkg runs with `--root` and `--force-script-chrootless`, so the
//! maintainer scripts act on `$DPKG_ROOT`. 6.0: a copy of the whole Debian 13 root, in which
//! that root's own dpkg runs (chroot), maintainer scripts included, and whose Kamailio serves.
//! Either way the target's own installation (this machine, or the cached Debian 13 root),
//! which other tests use meanwhile, is never touched: the test asserts that its modules and
//! diversions are unchanged, and undoes a diversion that reached it by mistake.
//!
//! Which module is loaded is read from /proc/<pid>/maps of the running server: the mapping of
//! the file now at the module's path (by device and inode), and the sha256 of that file (ours
//! = the file in the package; stock = the stock file as it was before the install).

mod harness;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use harness::pua::{assert_publish_to, nth_publish, pidf, publish, publish_uas};
use harness::{is_6_0, repo, scratch_dir, stock_modules, sysroot, Kamailio, Setup, STOCK_MODULE_DIR, TARGET};

const PKG: &str = "kamailio-rs-modules";
const MODULES: [&str; 5] = ["xcap_client", "xcap_server", "presence_xml", "pua", "presence_xcapdiff"];
/// The module directory as a path inside the package and inside a root.
const MODDIR: &str = "usr/lib/x86_64-linux-gnu/kamailio/modules";
const DOCDIR: &str = "usr/share/doc/kamailio-rs-modules";

/// Runs a command, panicking with its output unless it succeeds; returns stdout.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn sha256(path: &Path) -> String {
    let out = run(Command::new("sha256sum").arg(path));
    out.split_whitespace().next().expect("sha256sum output").to_string()
}

/// The sha256 of the file of each module of the package in `dir` (`<name>.so`); None when absent.
fn module_hashes(dir: &Path) -> BTreeMap<&'static str, Option<String>> {
    MODULES.iter().map(|m| (*m, Some(dir.join(format!("{m}.so"))).filter(|p| p.exists()).map(|p| sha256(&p)))).collect()
}

/// Modules documented in modules/<name>/README.md (presence_xcapdiff is documented in the
/// project README, which the package holds too).
fn has_readme(m: &str) -> bool {
    repo().join(format!("modules/{m}/README.md")).is_file()
}

fn workspace_version() -> String {
    let toml = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let section = toml.split("[workspace.package]").nth(1).expect("[workspace.package] in Cargo.toml");
    section
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| {
            let (key, value) = l.split_once('=')?;
            (key.trim() == "version").then(|| value.trim().trim_matches('"').to_string())
        })
        .expect("version in [workspace.package]")
}

/// The target's installed Kamailio version, the one the package pins.
fn kamailio_version() -> String {
    Root::machine().query("kamailio", "${Version}")
}

/// The package, built once by `ci/package.sh` into a scratch directory.
fn deb() -> &'static Path {
    static DEB: OnceLock<PathBuf> = OnceLock::new();
    DEB.get_or_init(|| {
        let out = scratch_dir("package-deb");
        let stdout =
            run(Command::new("bash").arg(repo().join("ci/package.sh")).arg(&out).env("KAMAILIO_TARGET", TARGET));
        let path = PathBuf::from(stdout.lines().last().expect("package.sh prints the package's path").trim());
        assert_eq!(path, out.join(format!("{PKG}_{}_amd64.deb", workspace_version())), "{stdout}");
        assert!(
            stdout.contains(&format!("packed {} for kamailio {}", MODULES.join(" "), kamailio_version())),
            "package.sh names the modules it packed and the target's Kamailio:\n{stdout}"
        );
        path
    })
}

/// The package's files, unpacked (dpkg-deb -x) once.
fn unpacked() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch_dir("package-x");
        run(Command::new("dpkg-deb").arg("-x").arg(deb()).arg(&dir));
        dir
    })
}

/// The tests of this file that use the package; the last one to finish removes it.
const PACKAGE_USERS: usize = 2;

fn done_with_package() {
    static DONE: AtomicUsize = AtomicUsize::new(0);
    if DONE.fetch_add(1, Ordering::SeqCst) + 1 == PACKAGE_USERS {
        let _ = std::fs::remove_dir_all(deb().parent().unwrap());
        let _ = std::fs::remove_dir_all(unpacked());
    }
}

#[test]
fn package_holds_the_modules_their_docs_and_pins_kamailio() {
    let deb = deb();
    let field = |name: &str| run(Command::new("dpkg-deb").arg("-f").arg(deb).arg(name)).trim().to_string();
    assert_eq!(field("Package"), PKG);
    assert_eq!(field("Version"), workspace_version());
    assert_eq!(field("Architecture"), "amd64");
    let depends = field("Depends");
    let exact = format!("kamailio (= {})", kamailio_version());
    let on_kamailio: Vec<&str> = depends.split(", ").filter(|d| d.starts_with("kamailio ")).collect();
    assert_eq!(on_kamailio, vec![exact.as_str()], "exactly the target's installed Kamailio: {depends}");
    // The target's package names: Debian 13 renamed libcurl4 for the 64-bit time_t transition.
    let curl = if is_6_0() { "libcurl4t64" } else { "libcurl4" };
    for lib in ["libc6", "libxml2", curl] {
        assert!(depends.contains(&format!("{lib} (>=")), "{lib} from the modules' ELF headers: {depends}");
    }
    // Every dependency is installed on the target, in a version that satisfies it.
    let machine = Root::machine();
    for dep in depends.split(", ") {
        let (name, relation) = dep.split_once(" (").unwrap_or((dep, ""));
        let installed = machine.query(name, "${Status} ${Version}");
        let version = installed
            .strip_prefix("install ok installed ")
            .unwrap_or_else(|| panic!("{name} (of {depends}) is installed on the {TARGET} target: {installed:?}"));
        if let Some((op, min)) = relation.trim_end_matches(')').split_once(' ') {
            run(Command::new("dpkg").args(["--compare-versions", version, op, min]));
        }
    }

    // dpkg-deb -c: mode, owner, size, date, time, ./path.
    let listing = run(Command::new("dpkg-deb").arg("-c").arg(deb));
    let files: BTreeMap<String, String> = listing
        .lines()
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[5].trim_start_matches("./").to_string(), format!("{} {}", f[0], f[1]))
        })
        .collect();
    let mut expected: Vec<String> = vec![format!("{DOCDIR}/copyright"), format!("{DOCDIR}/README.md.gz")];
    for m in MODULES {
        expected.push(format!("{MODDIR}/{m}.so"));
        if has_readme(m) {
            expected.push(format!("{DOCDIR}/README.{m}.md.gz"));
        }
    }
    expected.sort();
    assert_eq!(files.keys().cloned().collect::<Vec<_>>(), expected, "{listing}");
    for (path, mode_owner) in &files {
        assert_eq!(mode_owner, "-rw-r--r-- root/root", "{path}");
    }

    // The files themselves: the modules export Kamailio's entry points, the docs are the READMEs.
    let x = unpacked();
    for m in MODULES {
        let so = x.join(MODDIR).join(format!("{m}.so"));
        let symbols = run(Command::new("nm").args(["-D", "--defined-only"]).arg(&so));
        for sym in ["exports", "module_version", "module_flags"] {
            assert!(symbols.lines().any(|l| l.ends_with(&format!(" {sym}"))), "{m}.so exports {sym}");
        }
        if has_readme(m) {
            let readme = run(Command::new("gzip").arg("-dc").arg(x.join(DOCDIR).join(format!("README.{m}.md.gz"))));
            assert_eq!(readme, std::fs::read_to_string(repo().join(format!("modules/{m}/README.md"))).unwrap(), "{m}");
        }
    }
    let readme = run(Command::new("gzip").arg("-dc").arg(x.join(DOCDIR).join("README.md.gz")));
    assert_eq!(readme, std::fs::read_to_string(repo().join("README.md")).unwrap(), "the project README");
    let command = format!("apt-get install ./target/{PKG}_{}_amd64.deb", workspace_version());
    assert!(readme.contains(&command), "the project README shows `{command}`");
    let copyright = std::fs::read_to_string(x.join(DOCDIR).join("copyright")).unwrap();
    assert!(copyright.contains("License: GPL-2.0-or-later"), "{copyright}");

    // Control area: the maintainer scripts, valid sh, naming every module.
    let control = scratch_dir("package-control");
    run(Command::new("dpkg-deb").arg("-e").arg(deb).arg(&control));
    for script in ["preinst", "postinst", "postrm"] {
        let path = control.join(script);
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o755, "{script}");
        run(Command::new("sh").arg("-n").arg(&path));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("set -e") && text.contains(&MODULES.join(" ")), "{text}");
    }
    assert!(control.join("md5sums").is_file());
    let _ = std::fs::remove_dir_all(&control);
    done_with_package();
}

/// Runs a command chrooted in the root `$1`, with /dev and /proc, as ci/kamailio-root.sh does:
/// in a private mount namespace (`unshare --mount --propagation private`), so that the mounts
/// are never seen outside it and vanish with it.
const IN_ROOT: &str =
    r#"r=$1; shift; mount --rbind /dev "$r/dev" && mount -t proc proc "$r/proc" && exec chroot "$r" "$@""#;

/// A dpkg root: a scratch one that the test installs into ([`Root::new`]), or the target's own
/// system ([`Root::machine`]: this machine for 5.6, the cached Debian 13 root for 6.0).
/// On 5.6 the host's dpkg tools act on it with `--root`; on 6.0 the root's own run in it.
struct Root {
    dir: PathBuf,
    /// Removed when dropped (the scratch roots).
    scratch: bool,
}

impl Root {
    /// A scratch root. 5.6: the dpkg database, and the stock module directory with copies of
    /// the files the package diverts and symlinks for the rest. 6.0: a copy of the whole
    /// Debian 13 root.
    fn new() -> Root {
        let root = Root { dir: scratch_dir("package-root"), scratch: true };
        let dir = &root.dir;
        if is_6_0() {
            run(Command::new("cp").arg("-a").arg(sysroot().join(".")).arg(dir));
            return root;
        }
        std::fs::create_dir_all(dir.join("var/lib")).unwrap();
        run(Command::new("cp").arg("-a").arg("/var/lib/dpkg").arg(dir.join("var/lib/")));
        let moddir = root.moddir();
        std::fs::create_dir_all(&moddir).unwrap();
        for entry in std::fs::read_dir(stock_modules()).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            let target = moddir.join(&name);
            if MODULES.iter().any(|m| name.to_str() == Some(&format!("{m}.so"))) {
                std::fs::copy(entry.path(), &target).unwrap();
            } else {
                std::os::unix::fs::symlink(entry.path(), &target).unwrap();
            }
        }
        // What dpkg-divert renames here is a file of this root, never a link into the real one.
        for m in MODULES {
            let p = moddir.join(format!("{m}.so"));
            if let Ok(meta) = std::fs::symlink_metadata(&p) {
                assert!(meta.file_type().is_file(), "{} must be a copy", p.display());
            }
        }
        root
    }

    /// The target's own system, which the test must leave as it is.
    fn machine() -> Root {
        Root { dir: sysroot(), scratch: false }
    }

    fn moddir(&self) -> PathBuf {
        self.dir.join(MODDIR)
    }

    /// The module directory as this root's Kamailio sees it: on 6.0 it runs chrooted in it.
    fn kamailio_moddir(&self) -> PathBuf {
        if is_6_0() {
            PathBuf::from(STOCK_MODULE_DIR)
        } else {
            self.moddir()
        }
    }

    /// `path`, a file in this root, as the dpkg tools acting on it see it.
    fn inside(&self, path: &Path) -> PathBuf {
        if is_6_0() {
            Path::new("/").join(path.strip_prefix(&self.dir).expect("a file in the root"))
        } else {
            path.to_path_buf()
        }
    }

    /// `program` acting on this root. 5.6: the host's, pointed at the root by `host_args` and
    /// by the environment that dpkg gives maintainer scripts. 6.0: the root's own, chrooted in
    /// it (`host_args` are not for it).
    fn command(&self, program: &str, host_args: &[String]) -> Command {
        if is_6_0() {
            let mut cmd = Command::new("unshare");
            cmd.args(["--mount", "--propagation", "private", "sh", "-c", IN_ROOT, "sh"])
                .arg(&self.dir)
                .arg(program)
                .env("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
            cmd
        } else {
            let mut cmd = Command::new(program);
            cmd.args(host_args).env("DPKG_ROOT", &self.dir).env("DPKG_ADMINDIR", self.dir.join("var/lib/dpkg"));
            cmd
        }
    }

    /// `--root=<dir>`, for the host's dpkg tools.
    fn root_option(&self) -> String {
        format!("--root={}", self.dir.display())
    }

    fn dpkg(&self, args: &[&str]) -> String {
        let log = format!("--log={}", self.dir.join("dpkg.log").display());
        run(self.command("dpkg", &[self.root_option(), log, "--force-script-chrootless".into()]).args(args))
    }

    /// `dpkg-query -W -f=<format> <pkg>` in this root; empty when dpkg does not know `pkg`.
    fn query(&self, pkg: &str, format: &str) -> String {
        let out = self
            .command("dpkg-query", &[self.root_option()])
            .args(["-W", &format!("-f={format}"), pkg])
            .output()
            .expect("run dpkg-query");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The package's dpkg status in this root; empty when dpkg does not know it (purged).
    fn status(&self) -> String {
        self.query(PKG, "${Status}")
    }

    fn divert(&self, args: &[&str]) -> String {
        run(self.command("dpkg-divert", &[self.root_option()]).args(args))
    }

    /// The package diverting `/<MODDIR>/<m>.so` in this root, if any.
    fn diverted_by(&self, m: &str) -> String {
        self.divert(&["--listpackage", &format!("/{MODDIR}/{m}.so")]).trim().to_string()
    }

    /// All diversions in this root, sorted.
    fn diversions(&self) -> String {
        let mut lines: Vec<String> = self.divert(&["--list"]).lines().map(String::from).collect();
        lines.sort();
        lines.join("\n")
    }

    /// Copies `file` into this root (under /package-test/), where its dpkg tools see it.
    fn copy_in(&self, file: &Path) -> PathBuf {
        let dir = self.dir.join("package-test");
        std::fs::create_dir_all(&dir).unwrap();
        let to = dir.join(file.file_name().unwrap());
        std::fs::copy(file, &to).unwrap();
        to
    }

    /// Runs one of the package's maintainer scripts (a file in this root) against this root,
    /// as dpkg would.
    fn script(&self, control: &Path, script: &str, arg: &str) -> String {
        run(self
            .command("sh", &[])
            .arg(self.inside(&control.join(script)))
            .arg(arg)
            .env("DPKG_MAINTSCRIPT_PACKAGE", PKG))
    }
}

impl Drop for Root {
    /// A scratch root goes, unless something is mounted under it (rm would follow the mount).
    fn drop(&mut self) {
        if !self.scratch {
            return;
        }
        let mounts = Command::new("findmnt").args(["-rn", "-o", "TARGET"]).output().expect("run findmnt");
        let mounts = String::from_utf8_lossy(&mounts.stdout);
        if let Some(m) = mounts.lines().find(|m| Path::new(m).starts_with(&self.dir)) {
            eprintln!("package_e2e: {m} is mounted; {} is left in place", self.dir.display());
            return;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The target's module files and diversions, checked when the test ends, however it ends; a
/// diversion of ours that reached them is undone.
struct MachineGuard {
    machine: Root,
    hashes: BTreeMap<&'static str, Option<String>>,
    diversions: String,
}

impl MachineGuard {
    fn new() -> MachineGuard {
        let machine = Root::machine();
        assert_eq!(machine.moddir(), stock_modules());
        MachineGuard { hashes: module_hashes(&machine.moddir()), diversions: machine.diversions(), machine }
    }

    fn unchanged(&self) -> Result<(), String> {
        let now = module_hashes(&self.machine.moddir());
        let diversions = self.machine.diversions();
        if now != self.hashes || diversions != self.diversions {
            return Err(format!(
                "the {TARGET} target's modules or diversions changed:\nbefore {:?}\n{}\nafter {now:?}\n{diversions}",
                self.hashes, self.diversions
            ));
        }
        Ok(())
    }
}

impl Drop for MachineGuard {
    fn drop(&mut self) {
        for m in MODULES {
            if self.machine.diverted_by(m) == PKG {
                let file = format!("/{MODDIR}/{m}.so");
                let _ = self
                    .machine
                    .command("dpkg-divert", &[self.machine.root_option()])
                    .args(["--package", PKG, "--rename", "--divert", &format!("{file}.stock"), "--remove", &file])
                    .status();
                eprintln!("package_e2e: undid a diversion of {}{file}", self.machine.dir.display());
            }
        }
        if let Err(e) = self.unchanged() {
            if std::thread::panicking() {
                eprintln!("package_e2e: {e}");
            } else {
                panic!("{e}");
            }
        }
    }
}

/// Asserts that the server runs module `m` from the file now at `moddir/<m>.so`, whose content
/// has the sha256 `expected` (`what` names it in messages): its /proc/<pid>/maps maps a file of
/// that device and inode. (The paths there are the server's: a 6.0 server, chrooted in a mount
/// namespace of its own, could see its files under other paths than these.)
fn assert_loaded(k: &Kamailio, moddir: &Path, m: &str, expected: &str, what: &str) {
    let file = moddir.join(format!("{m}.so"));
    let meta = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let dev = format!("{:02x}:{:02x}", libc::major(meta.dev()), libc::minor(meta.dev()));
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", k.pid().expect("running"))).unwrap();
    let mapped = maps.lines().any(|l| {
        // address perms offset dev inode path
        let f: Vec<&str> = l.split_whitespace().collect();
        f.len() == 6 && f[3] == dev && f[4].parse() == Ok(meta.ino())
    });
    let name = format!("/{m}.so");
    let lines: Vec<&str> = maps.lines().filter(|l| l.contains(&name)).collect();
    assert!(mapped, "{} is not mapped by the server; its {m}.so mappings:\n{}", file.display(), lines.join("\n"));
    assert_eq!(sha256(&file), expected, "{m}.so loaded is {what}");
}

/// This root's Kamailio: the host's for 5.6, the root's own for 6.0.
fn start(root: &Root, with_xcapdiff: bool) -> Kamailio {
    let mut s = Setup::new("package.cfg", &[]);
    s.vars.push(("PKG_MODDIR", root.kamailio_moddir().display().to_string()));
    s.sysroot = is_6_0().then(|| root.dir.clone());
    s.schemas = &["presence"];
    s.defines = if with_xcapdiff { &["WITH_XCAPDIFF"] } else { &[] };
    Kamailio::start(s)
}

const DOC: &str = "/xcap-root/resource-lists/users/sip:alice@example.com/index";
const LISTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists">
  <list name="friends"><entry uri="sip:bob@example.com"/></list>
</resource-lists>
"#;

/// XCAP PUT then GET through xhttp and xcap_server; a PUBLISH through pua (pua_rpc's
/// pua.publish) answered by a SIPp presence server. `created` is the status of the PUT that
/// creates the document: 201 from ours (RFC 4825 §8.2.1), 200 from stock (a deliberate
/// difference, see tests/xcap_server_e2e.rs), so it tells the two apart too.
fn assert_serves(k: &Kamailio, created: u32) {
    let body = k.dir.join("lists.xml");
    std::fs::write(&body, LISTS).unwrap();
    let data = format!("@{}", body.display());
    let ctype = "Content-Type: application/resource-lists+xml";
    let r = k.http(&["-X", "PUT", "-H", ctype, "--data-binary", &data], DOC);
    assert_eq!(r.code, created, "{r:?}\n{}", k.log_text());
    let r = k.http(&[], DOC);
    assert_eq!((r.code, r.body.as_str()), (200, LISTS), "{r:?}");
    assert_eq!(r.header("Content-Type"), Some("application/resource-lists+xml"));

    let uas = publish_uas(&[]);
    let uri = format!("sip:alice@127.0.0.1:{}", uas.port);
    let answer = publish(k, &uri, 3600, None, None, Some(&pidf(&uri, "open", "packaged")));
    assert_eq!(answer.error(), None, "{}", answer.raw);
    assert!(!answer.etag().is_empty(), "{}", answer.raw);
    let p = nth_publish(&uas, 1);
    assert_publish_to(&p, &uri);
    assert!(p.body.contains("<basic>open</basic>") && p.body.contains("packaged"), "{}", p.text());
}

/// A later version of the package without module `m` (its file, README and name in the
/// maintainer scripts gone), built into `dir`.
fn without_module(deb: &Path, m: &str, dir: &Path) -> PathBuf {
    let tree = dir.join("tree");
    std::fs::create_dir_all(dir).unwrap();
    run(Command::new("dpkg-deb").arg("-R").arg(deb).arg(&tree));
    std::fs::remove_file(tree.join(MODDIR).join(format!("{m}.so"))).unwrap();
    let _ = std::fs::remove_file(tree.join(DOCDIR).join(format!("README.{m}.md.gz")));
    let all = MODULES.join(" ");
    let rest = MODULES.iter().filter(|x| **x != m).copied().collect::<Vec<_>>().join(" ");
    for script in ["preinst", "postinst", "postrm"] {
        let path = tree.join("DEBIAN").join(script);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(&all), "{script} names the modules:\n{text}");
        std::fs::write(&path, text.replace(&all, &rest)).unwrap();
    }
    let control = tree.join("DEBIAN/control");
    let text = std::fs::read_to_string(&control).unwrap();
    let version = workspace_version();
    std::fs::write(&control, text.replace(&format!("Version: {version}\n"), &format!("Version: {version}+1\n")))
        .unwrap();
    let md5sums = tree.join("DEBIAN/md5sums");
    let kept: String = std::fs::read_to_string(&md5sums)
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with(&format!("/{m}.so")) && !l.ends_with(&format!("README.{m}.md.gz")))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&md5sums, kept).unwrap();
    let out = dir.join("fewer.deb");
    run(Command::new("dpkg-deb").arg("--root-owner-group").arg("-b").arg(&tree).arg(&out));
    out
}

#[test]
fn installing_replaces_the_stock_modules_and_removing_brings_them_back() {
    let machine = MachineGuard::new();
    let stock = machine.hashes.clone();
    assert!(stock["pua"].is_some() && stock["xcap_server"].is_some(), "the stock presence modules are installed");
    let ours: BTreeMap<&str, String> =
        MODULES.iter().map(|m| (*m, sha256(&unpacked().join(MODDIR).join(format!("{m}.so"))))).collect();
    for m in MODULES {
        assert_ne!(Some(&ours[m]), stock[m].as_ref(), "{m}: ours differs from stock");
    }
    let root = Root::new();
    let moddir = root.moddir();
    assert_eq!(module_hashes(&moddir), stock, "the root starts with the stock modules");
    let deb = root.copy_in(deb());
    let deb_inside = root.inside(&deb);

    // The maintainer scripts alone, each run twice: set -e holds and a second run changes
    // nothing.
    let control = root.dir.join("package-test/control");
    run(Command::new("dpkg-deb").arg("-e").arg(&deb).arg(&control));
    for _ in 0..2 {
        root.script(&control, "preinst", "install");
        for m in MODULES {
            assert_eq!(root.diverted_by(m), PKG, "{m}");
            assert!(!moddir.join(format!("{m}.so")).exists(), "{m}.so moved aside");
            let aside = moddir.join(format!("{m}.so.stock"));
            assert_eq!(aside.exists().then(|| sha256(&aside)), stock[m], "{m}.so.stock");
        }
    }
    for _ in 0..2 {
        root.script(&control, "postrm", "remove");
        assert_eq!(module_hashes(&moddir), stock, "the stock modules are back");
        for m in MODULES {
            assert_eq!(root.diverted_by(m), "", "{m}");
            assert!(!moddir.join(format!("{m}.so.stock")).exists(), "{m}");
        }
    }
    machine.unchanged().unwrap();

    // Installed (twice: the second time is an upgrade over itself): ours under the stock
    // names, the stock modules beside them as <name>.so.stock.
    for _ in 0..2 {
        root.dpkg(&["-i", deb_inside.to_str().unwrap()]);
        assert_eq!(root.status(), "install ok installed");
        for m in MODULES {
            assert_eq!(sha256(&moddir.join(format!("{m}.so"))), ours[m], "{m}.so is ours");
            assert_eq!(root.diverted_by(m), PKG, "{m}");
            let aside = moddir.join(format!("{m}.so.stock"));
            assert_eq!(aside.exists().then(|| sha256(&aside)), stock[m], "{m}.so.stock");
        }
    }
    machine.unchanged().unwrap();

    let k = start(&root, true);
    for m in MODULES {
        assert_loaded(&k, &moddir, m, &ours[m], "ours");
    }
    assert_serves(&k, 201);
    drop(k);

    // An upgrade to a version without pua: dpkg removes our pua.so, and the stock one gets its
    // name back with the diversion gone; the other modules stay ours.
    let fewer = without_module(&deb, "pua", &root.dir.join("package-test/fewer"));
    root.dpkg(&["-i", root.inside(&fewer).to_str().unwrap()]);
    for m in MODULES {
        if m == "pua" {
            assert_eq!(module_hashes(&moddir)[m], stock[m], "the stock pua.so is back");
            assert_eq!(root.diverted_by(m), "", "{m}");
            assert!(!moddir.join(format!("{m}.so.stock")).exists(), "{m}");
        } else {
            assert_eq!(sha256(&moddir.join(format!("{m}.so"))), ours[m], "{m}.so is ours");
            assert_eq!(root.diverted_by(m), PKG, "{m}");
        }
    }

    // Removed, then purged (postrm runs again): the stock modules under their names again, no
    // diversions, nothing of ours left.
    for (action, status) in [("-r", "deinstall ok config-files"), ("-P", "")] {
        root.dpkg(&[action, PKG]);
        assert_eq!(root.status(), status, "after dpkg {action}");
        assert_eq!(module_hashes(&moddir), stock, "the stock modules are back after dpkg {action}");
        for m in MODULES {
            assert_eq!(root.diverted_by(m), "", "{m}");
            assert!(!moddir.join(format!("{m}.so.stock")).exists(), "{m}");
        }
        assert!(!root.dir.join(DOCDIR).exists(), "the docs went with the package");
    }
    machine.unchanged().unwrap();

    // Debian's Kamailio (5.6 and 6.0) has no presence_xcapdiff: the config leaves it out.
    let k = start(&root, false);
    for m in MODULES.iter().filter(|m| stock[*m].is_some()) {
        assert_loaded(&k, &moddir, m, stock[m].as_deref().unwrap(), "stock");
    }
    assert_serves(&k, 200);
    drop(k);

    machine.unchanged().unwrap();
    drop(root);
    done_with_package();
}
