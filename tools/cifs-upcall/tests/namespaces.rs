//! cifs.upcall and the requester's namespaces, on the host, with real namespaces, a throw-away
//! MIT KDC and MIT's acceptor naming the client that authenticated (`support`): the CVE history
//! of the reference (`docs/security/c-history.md` C1, C3, C4) and decisions.md 3.
//!
//! The requesters are real processes in their own namespaces, made with util-linux's `unshare`:
//! - a mount namespace (no user namespace) in which two paths of the fixture directory are bind
//!   mounts of bob's ccache, while on the host the same paths hold alice's (the path
//!   `KRB5CCNAME` names) and carol's (the user's default ccache);
//! - a user namespace made by `nobody` itself (its uid 1000 is kernel uid 65534, the only id
//!   mapped), with its own mount namespace and `/etc/passwd`;
//! - kup-priv's container (ids 0..65536 mapped to 100000..), whose `/etc/passwd` only its root
//!   may read.
//!
//! Each is killed and reaped on drop, so the namespaces and their mounts go with it; nothing on
//! the host is changed. Debian's cifs.upcall (7.0) runs the same requests where installed; what
//! it does is asserted too and recorded in `docs/compat/cifs.upcall.md`.

mod support;

#[path = "../../../crates/kup-priv/tests/support/mod.rs"]
mod privileges;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kup_testkit::reference::{self, Tool};
use kup_testkit::upcall::UpcallStatus;
use support::*;

/// The uid of the user-namespaced requester inside its namespace (kernel uid 65534).
const CONTAINER_UID: u32 = 1000;

/// The files of the mount-namespace cases: on the host, the path in `KRB5CCNAME` holds alice's
/// ccache and the user's default ccache is carol's; inside the requester's mount namespace both
/// paths are bob's.
struct Ccaches {
    fixture: Fixture,
    /// `FILE:<dir>/requester_cc`.
    ccname: String,
    /// Bind mounts for the requester's namespace: bob's ccache over both paths.
    binds: Vec<(PathBuf, PathBuf)>,
}

impl Ccaches {
    fn new() -> Self {
        let fixture = Fixture::start();
        fixture.realm.add_user("carol", CAROL_PASSWORD).expect("carol");
        let named = fixture.alice_ccache("requester_cc");
        let default = fixture.ccache("carol", CAROL_PASSWORD, &format!("default_cc_{USER}"));
        let bob = fixture.bob_ccache("bob_cc");
        Self {
            ccname: format!("FILE:{}", named.display()),
            binds: vec![(bob.clone(), named), (bob, default)],
            fixture,
        }
    }

    /// The requester: a process of `nobody` in its own mount namespace, `KRB5CCNAME` in its
    /// environment.
    fn requester(&self) -> Requester {
        let mut script = String::new();
        for (source, target) in &self.binds {
            let _ = write!(script, "mount --bind {} {} && ", quoted(source), quoted(target));
        }
        let _ = write!(
            script,
            "exec setpriv --reuid={USER} --regid={USER} --clear-groups \
             env -i PATH=/usr/bin:/bin KRB5CCNAME={} sleep 120",
            quoted(Path::new(&self.ccname))
        );
        let mut command = Command::new("unshare");
        command
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .stdin(Stdio::null());
        started(&mut command)
    }
}

const CAROL_PASSWORD: &str = "carol-pw-cifs";

/// `path` in single quotes for `sh` (the fixture's paths have no quote).
fn quoted(path: &Path) -> String {
    let text = path.to_str().expect("a UTF-8 path");
    assert!(!text.contains('\''), "{text}");
    format!("'{text}'")
}

/// Spawns `command` (a chain of `exec`s ending in `sleep`) and waits, at most 10 s, until the
/// process is the `sleep`: its namespaces and environment are then final.
fn started(command: &mut Command) -> Requester {
    let requester = Requester(command.spawn().expect("the requester"));
    let cmdline = format!("/proc/{}/cmdline", requester.pid());
    let waiting = Instant::now();
    while !fs::read(&cmdline).is_ok_and(|line| line.starts_with(b"sleep\0")) {
        assert!(
            waiting.elapsed() < Duration::from_secs(10),
            "the requester never reached its sleep: {:?}",
            fs::read(&cmdline)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    requester
}

/// The request of these tests: `sec=krb5` for `cifs/localhost`, `creduid` the user's kernel
/// uid, no `user=` (so no keytab fallback), and an `upcall_target` field if given.
fn request(creduid: u32, pid: u32, target: Option<&str>) -> String {
    let target = target
        .map(|target| format!(";upcall_target={target}"))
        .unwrap_or_default();
    format!(
        "{}{target}",
        description("krb5", "localhost", 0, creduid, None, pid)
    )
}

/// Runs `request` through `helper` and returns the principal the acceptor saw, or the errno the
/// requester got and the helper's exit status.
fn authenticated(
    fixture: &Fixture,
    helper: &Path,
    request: &str,
) -> Result<String, (i32, Option<UpcallStatus>)> {
    let route = fixture.route(helper, &[]);
    let (payload, status) = upcall(&route, request);
    let payload = payload.map_err(|errno| (errno, status.clone()))?;
    assert_eq!(status, Some(UpcallStatus::Exited(0)), "{request}");
    Ok(assert_accepted(fixture, &payload, KRB5_OID))
}

fn principal(name: &str) -> String {
    format!("{name}@{REALM}")
}

fn theirs() -> Option<PathBuf> {
    reference::theirs(Tool::CifsUpcall).ok()
}

#[test]
fn credentials_are_read_in_the_requesters_mount_namespace_cve_2021_20208() {
    let ccaches = Ccaches::new();
    let requester = ccaches.requester();
    let request = request(USER, requester.pid(), None);
    // On the host the path in KRB5CCNAME is alice's; in the requester's namespace it is bob's.
    assert_eq!(
        authenticated(&ccaches.fixture, &ours(), &request),
        Ok(principal("bob"))
    );
    // Debian's 7.0 enters the requester's namespaces too (the 6.13 fix).
    if let Some(theirs) = theirs() {
        assert_eq!(
            authenticated(&ccaches.fixture, &theirs, &request),
            Ok(principal("bob"))
        );
    }
}

#[test]
fn upcall_target_mount_uses_the_helpers_namespaces_and_default_ccache_cve_2025_2312() {
    let ccaches = Ccaches::new();
    let requester = ccaches.requester();
    let pid = requester.pid();
    // mount: no switch and no environment probe, so neither bob (the requester's namespace) nor
    // alice (the host's file at the requester's KRB5CCNAME path) but the host's default ccache
    // of the user: carol.
    assert_eq!(
        authenticated(&ccaches.fixture, &ours(), &request(USER, pid, Some("mount"))),
        Ok(principal("carol"))
    );
    // app, and no field (7.4+'s default): the requester's namespace and environment.
    for target in [Some("app"), None] {
        assert_eq!(
            authenticated(&ccaches.fixture, &ours(), &request(USER, pid, target)),
            Ok(principal("bob")),
            "{target:?}"
        );
    }
    // Debian's 7.0 does not know the field: always the application's credentials.
    if let Some(theirs) = theirs() {
        for target in [Some("mount"), Some("app")] {
            assert_eq!(
                authenticated(&ccaches.fixture, &theirs, &request(USER, pid, target)),
                Ok(principal("bob")),
                "theirs, {target:?}"
            );
        }
    }
}

#[test]
fn a_requester_in_its_own_user_namespace_is_served_decision_3() {
    let fixture = Fixture::start();
    // The path in KRB5CCNAME holds bob's ccache on the host and alice's in the container.
    let ccache = fixture.bob_ccache("container_cc");
    let alice = fixture.alice_ccache("alice_cc");
    let passwd = fixture.dir.join("container_passwd");
    fs::write(
        &passwd,
        format!(
            "root:x:0:0:root:/root:/bin/sh\n\
             box:x:{CONTAINER_UID}:{CONTAINER_UID}:box:/nonexistent:/usr/sbin/nologin\n"
        ),
    )
    .expect("the container's passwd");
    // nobody makes the namespaces itself, as a rootless container runtime does: its uid 1000
    // is kernel uid 65534, the only id mapped; `--keep-caps` lets the shell bind-mount the
    // container's passwd over /etc/passwd and alice's ccache over the path in KRB5CCNAME in the
    // namespace's own mount namespace; the requester itself then holds no capability (else the
    // kernel would refuse its environment to the unprivileged helper).
    let script = format!(
        "mount --bind {passwd} /etc/passwd && mount --bind {alice} {ccache} && \
         exec setpriv --inh-caps=-all --ambient-caps=-all \
         env -i PATH=/usr/bin:/bin KRB5CCNAME={ccname} sleep 120",
        passwd = quoted(&passwd),
        alice = quoted(&alice),
        ccache = quoted(&ccache),
        ccname = quoted(Path::new(&format!("FILE:{}", ccache.display())))
    );
    let mut command = Command::new("setpriv");
    command
        .args([
            &format!("--reuid={USER}"),
            &format!("--regid={USER}"),
            "--clear-groups",
            "unshare",
            "--user",
            "--mount",
            &format!("--map-user={CONTAINER_UID}"),
            &format!("--map-group={CONTAINER_UID}"),
            "--keep-caps",
            "sh",
            "-c",
            &script,
        ])
        .stdin(Stdio::null());
    let requester = started(&mut command);
    let uid_map = fs::read_to_string(format!("/proc/{}/uid_map", requester.pid())).unwrap();
    assert_eq!(
        uid_map.split_whitespace().collect::<Vec<_>>(),
        ["1000", "65534", "1"]
    );
    // The kernel sends the kernel uid in creduid.
    let request = request(USER, requester.pid(), None);
    // Ours: the child enters the namespaces and becomes uid 1000 there; the parent, still in
    // the initial user namespace, instantiates the key; MIT's acceptor takes the blob.
    assert_eq!(authenticated(&fixture, &ours(), &request), Ok(principal("alice")));
    // Debian's 7.0 (+deb12u1) switches in the helper itself: it maps the uid into the
    // namespace (65534 -> 1000), gets the ticket, and its instantiate fails with EPERM (the
    // authority was lost with the user namespace); it exits 255 (-1) and the requester gets
    // ENOKEY.
    if let Some(theirs) = theirs() {
        assert_eq!(
            authenticated(&fixture, &theirs, &request),
            Err((kup_sys::errno::ENOKEY, Some(UpcallStatus::Exited(255)))),
            "theirs"
        );
    }
}

#[test]
fn pid_0_and_a_dead_requester_mean_the_users_default_ccache_in_the_helpers_namespaces() {
    let fixture = Fixture::start();
    fixture.alice_ccache(&format!("default_cc_{USER}"));
    let mut gone = Command::new("true").spawn().expect("a short-lived process");
    let dead = gone.id();
    gone.wait().expect("reaping it");
    for pid in [0, dead] {
        assert_eq!(
            authenticated(&fixture, &ours(), &request(USER, pid, None)),
            Ok(principal("alice")),
            "pid {pid}"
        );
    }
    // Debian's 7.0 +deb12u1 (the CVE-2026-12505 update) maps the uid through
    // /proc/<pid>/uid_map before anything else; with no such process that fails: exit 1, and
    // the requester gets ENOKEY (spec §7's "no switch, default ccache" is 7.0 as released).
    if let Some(theirs) = theirs() {
        for pid in [0, dead] {
            assert_eq!(
                authenticated(&fixture, &theirs, &request(USER, pid, None)),
                Err((kup_sys::errno::ENOKEY, Some(UpcallStatus::Exited(1)))),
                "theirs, pid {pid}"
            );
        }
    }
}

#[test]
fn a_container_passwd_only_its_root_may_read_fails_the_upcall_cleanly_cve_2026_12505() {
    // The passwd lookup runs as the user, inside the container: when the container's passwd is
    // readable only by its root, the lookup fails and so does the upcall; a lookup as root (the
    // reference's before its +deb12u1 update) would read it. The control: the same container
    // with a readable passwd is served, from the user's default ccache (krb5.conf's
    // `default_cc_%{uid}`, uid as the container sees it).
    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nalice:x:1234:4321:alice:/home/alice:/bin/sh\n";
    let fixture = Fixture::start();
    let default = fixture.alice_ccache("default_cc_1234");
    let kernel_uid = privileges::CONTAINER_BASE + 1234;
    std::os::unix::fs::chown(
        &default,
        Some(kernel_uid),
        Some(privileges::CONTAINER_BASE + 4321),
    )
    .expect("chown to the container's user");
    for (private, expected) in [(false, true), (true, false)] {
        let container = if private {
            privileges::Container::with_private_passwd(PASSWD)
        } else {
            privileges::Container::new(PASSWD)
        };
        let pid = u32::try_from(container.pid.get()).unwrap();
        let request = request(kernel_uid, pid, None);
        let route = fixture.route(&ours(), &[]);
        let (payload, status) = upcall(&route, &request);
        if expected {
            let payload = payload.unwrap_or_else(|errno| panic!("readable passwd: {errno} {status:?}"));
            assert_eq!(
                assert_accepted(&fixture, &payload, KRB5_OID),
                format!("alice@{REALM}")
            );
        } else {
            assert_eq!(payload.unwrap_err(), kup_sys::errno::ENOKEY, "{status:?}");
            assert_eq!(status, Some(UpcallStatus::Exited(1)));
            assert_negated_for_60_seconds(&route);
        }
    }
}
