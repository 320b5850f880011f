//! Audit findings of issue 12 (§3) for `nfsidmap`, each through the real upcall path
//! (`request_key` → kernel → `/sbin/request-key` → kup-test-dispatch → `nfsidmap -t 600 %k %d`,
//! the packaged rule's argv), against ours or Debian's (`KUP_UNDER_TEST=ours|theirs`):
//!
//! - a local user holding an exclusive `flock` on `/etc/idmapd.conf` (or a conf.d file) must not
//!   keep the key unfinished: ours answers it correctly within a bound, Debian's hangs (shown with
//!   a bounded run: the dispatcher kills it);
//! - a key description that looks like an option (`-c`, `-u NAME`, `-d`, ...) is a description:
//!   ours touches no keyring and negates the key as for any other malformed description; Debian's
//!   runs the option (shown, and recorded in `docs/compat/nfsidmap.md`);
//! - names from the NFS server reach syslog escaped and cut (`kup_runtime::helper::Printable`):
//!   Debian's writes newlines and terminal escape sequences raw.
//!
//! `/etc/idmapd.conf` is rewritten under `support/system.rs`'s lock and always restored; every
//! helper run is bounded by its route's timeout; lock holders run as `nobody` and are killed on
//! every exit path.

#[path = "support/system.rs"]
mod system;

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kup_runtime::helper::LOG_VALUE_LIMIT;
use kup_sys::proc_keys::{self, Expiry};
use kup_sys::{KeyPerm, KeySerial, keyctl};
use kup_testkit::reference::{self, Tool, UnderTest};
use kup_testkit::syslog::{SyslogCapture, SyslogLine};
use kup_testkit::upcall::{Route, UpcallStatus};

use system::{CONFIG_DIR, CONFIG_PATH, ConfigLock};

/// `ENOKEY`: what the requester sees for a negative key.
const ENOKEY: i32 = 126;

/// How long a run of Debian's helper may hang before the dispatcher kills it.
const HANG_BOUND: Duration = Duration::from_secs(6);

/// Ours must finish its key within this while the config is locked (its lock wait is bounded by
/// `kup_idmap::conf::LOCK_WAIT` for the whole load, whatever the number of locked files).
const LOCKED_BOUND: Duration = Duration::from_secs(3);

fn tool() -> PathBuf {
    reference::tool_path(Tool::Nfsidmap).expect("nfsidmap under test")
}

fn under_test() -> UnderTest {
    reference::under_test().expect("KUP_UNDER_TEST")
}

fn upcall_route(timeout: Duration) -> Route {
    let tool = tool();
    Route::with_timeout(
        &[
            tool.as_os_str(),
            "-t".as_ref(),
            "600".as_ref(),
            "%k".as_ref(),
            "%d".as_ref(),
        ],
        timeout,
    )
    .expect("upcall route")
}

/// An unprivileged process (`nobody`) holding `flock -x` on a file, killed on drop. One process
/// (setpriv execs sh, which execs sleep with the locked descriptor), so killing it frees the lock.
struct LockHolder {
    child: Child,
}

impl LockHolder {
    fn start(path: &str) -> io::Result<Self> {
        let child = Command::new("setpriv")
            .args([
                "--reuid=nobody",
                "--regid=nogroup",
                "--clear-groups",
                "sh",
                "-c",
                "exec 9<\"$1\" && flock -x 9 && exec sleep 600",
                "sh",
                path,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let holder = Self { child };
        let start = Instant::now();
        // Held once a non-blocking shared lock is refused.
        while Command::new("flock")
            .args(["-n", "-s", path, "true"])
            .status()?
            .success()
        {
            if start.elapsed() > Duration::from_secs(5) {
                return Err(io::Error::other(format!(
                    "{path}: lock holder never took the lock"
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(holder)
    }
}

impl Drop for LockHolder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one upcall produced.
#[derive(Debug)]
struct Outcome {
    result: io::Result<KeySerial>,
    status: Option<UpcallStatus>,
    duration: Duration,
}

fn request(route: &Route, description: &[u8]) -> Outcome {
    let before = route.upcalls().map_or(0, |upcalls| upcalls.len());
    let result = route.request("user", description, b"");
    let upcall = route
        .upcalls()
        .ok()
        .and_then(|upcalls| upcalls.get(before).cloned());
    Outcome {
        result,
        status: upcall.as_ref().map(|upcall| upcall.status.clone()),
        duration: upcall.map_or(Duration::ZERO, |upcall| upcall.duration),
    }
}

fn assert_answered_within_bound(outcome: &Outcome, what: &str) {
    match under_test() {
        UnderTest::Ours => {
            let key = outcome
                .result
                .as_ref()
                .unwrap_or_else(|error| panic!("{what}: no key ({error}); {outcome:?}"));
            assert_eq!(keyctl::read(*key).expect("payload"), b"0\0", "{what}");
            assert_eq!(outcome.status, Some(UpcallStatus::Exited(0)), "{what}");
            assert!(
                outcome.duration < LOCKED_BOUND,
                "{what}: took {:?}",
                outcome.duration
            );
        }
        UnderTest::Theirs => {
            // Recorded divergence: the reference waits for the lock for as long as it is held.
            assert_eq!(
                outcome.status,
                Some(UpcallStatus::TimedOut),
                "{what}: {outcome:?}"
            );
        }
    }
}

#[test]
fn upcall_is_answered_while_a_user_holds_an_exclusive_lock_on_idmapd_conf() {
    let lock = ConfigLock::acquire().expect("taking /etc/idmapd.conf");
    lock.write("[General]\nDomain = audit.test\n")
        .expect("writing the config");
    let route = upcall_route(HANG_BOUND);
    let holder = LockHolder::start(CONFIG_PATH).expect("lock holder");
    // root@audit.test maps to 0 only if the Domain line was read despite the lock.
    let outcome = request(&route, b"uid:root@audit.test");
    drop(holder);
    assert_answered_within_bound(&outcome, "main config locked");
}

#[test]
fn one_bounded_lock_wait_covers_the_config_and_its_conf_d_files() {
    let lock = ConfigLock::acquire().expect("taking /etc/idmapd.conf");
    lock.write("[General]\nDomain = other.test\n")
        .expect("writing the config");
    lock.write_dir_file("50-audit.conf", "[General]\nDomain = audit.test\n")
        .expect("writing the conf.d file");
    let dot_d_file = format!("{CONFIG_DIR}/50-audit.conf");
    let route = upcall_route(HANG_BOUND);
    let main_holder = LockHolder::start(CONFIG_PATH).expect("lock holder");
    let dot_d_holder = LockHolder::start(&dot_d_file).expect("lock holder");
    // The conf.d file's Domain must win, as without the locks.
    let outcome = request(&route, b"uid:root@audit.test");
    drop(dot_d_holder);
    drop(main_holder);
    assert!(Path::new(&dot_d_file).exists());
    assert_answered_within_bound(&outcome, "config and conf.d file locked");
}

/// A keyring holding a `uid:` and a `gid:` key of a victim name (what `-u`, `-g`, `-r` look
/// for in `/proc/keys`), writable by uid 0 without possession so that a helper which runs the
/// options can reach them. (`-c` and `-l` look for the kernel's `.id_resolver` keyring, which
/// userspace cannot create — names starting with `.` are reserved — and which only exists where
/// the nfsv4 module is loaded: for them the test tells the modes apart by the exit status.)
struct Victims {
    keyring: KeySerial,
    keys: [KeySerial; 2],
}

impl Victims {
    /// `name` must be new to the machine's `/proc/keys` (the options act on the first match).
    fn create(session: KeySerial, name: &str) -> io::Result<Self> {
        let open = KeyPerm::new(0x3f3f_0000);
        let keyring = keyctl::add_key("keyring", b"kupaudit_victims", b"", session)?;
        keyctl::set_perm(keyring, open)?;
        let mut keys = [KeySerial::NONE; 2];
        for (slot, kind) in keys.iter_mut().zip(["uid", "gid"]) {
            let description = format!("{kind}:{name}@audit.test");
            let key = keyctl::add_key("user", description.as_bytes(), b"45101\0", keyring)?;
            keyctl::set_perm(key, open)?;
            *slot = key;
        }
        Ok(Self { keyring, keys })
    }

    /// Whether both keys are still valid members of the keyring.
    fn intact(&self) -> bool {
        let members = keyctl::keyring_members(self.keyring).unwrap_or_default();
        self.keys
            .iter()
            .all(|key| members.contains(key) && keyctl::read(*key).is_ok())
    }

    fn remove(&self) {
        for key in self.keys {
            let _ = keyctl::invalidate(key);
        }
        let _ = keyctl::invalidate(self.keyring);
    }
}

/// Descriptions a local user can give a key (`request_key("id_resolver", DESC)` from a mount
/// or any program) that the reference reads as options; `@` stands for the victim name.
const OPTION_LIKE: &[&str] = &[
    "-c", "-u root", "-u@", "-g", "-g@", "-r", "-r@", "-d", "-l", "--help", "-h", "-v", "-t",
];

/// Debian's outcome for each of [`OPTION_LIKE`] (observed with `KUP_UNDER_TEST=theirs`): the
/// exit status and whether the victims survived. The key itself is always left to the kernel
/// (negative).
fn theirs_expected(description: &str) -> (UpcallStatus, bool) {
    match description {
        // -u/-g/-r NAME invalidate the matching keys, exit 0.
        "-u@" | "-g@" | "-r@" => (UpcallStatus::Exited(0), false),
        // -c clears .id_resolver (absent here: nothing to clear), -d prints the domain, -h the
        // usage: exit 0.
        "-c" | "-d" | "-h" => (UpcallStatus::Exited(0), true),
        // -l: ".id_resolver keyring was not found", exit 1.
        // " root" matches no key name: "key was not found", exit 1.
        // -g/-r/-t without argument, --help (invalid option '-'): usage, exit 1.
        // -v: one operand left, "Bad arg count", exit 1.
        _ => (UpcallStatus::Exited(1), true),
    }
}

#[test]
fn descriptions_that_look_like_options_are_descriptions() {
    let under_test = under_test();
    let lock = ConfigLock::acquire().expect("taking /etc/idmapd.conf");
    lock.write("[General]\nDomain = audit.test\n")
        .expect("writing the config");
    let route = upcall_route(HANG_BOUND);
    let mut failures = Vec::new();
    for (round, template) in OPTION_LIKE.iter().enumerate() {
        let victim = format!("kupaudit_{}_{round}_", std::process::id());
        let description = &template.replace('@', &victim);
        let victims = Victims::create(route.session(), &victim).expect("victim keys");
        let outcome = request(&route, description.as_bytes());
        let intact = victims.intact();
        let negative = matches!(&outcome.result, Err(error) if error.raw_os_error() == Some(ENOKEY));
        let negative_expiry = keyctl::keyring_members(route.session())
            .unwrap_or_default()
            .into_iter()
            .filter(|&key| {
                keyctl::describe_raw(key).is_ok_and(|raw| {
                    raw.starts_with(b"user;") && raw.ends_with(format!(";{description}").as_bytes())
                })
            })
            .find_map(|key| proc_keys::find(key).ok().flatten())
            .filter(|line| line.flags.negative)
            .map(|line| line.expiry);
        let (want_status, want_intact) = match under_test {
            // As any description without a ':' ("Null uid/gid value"): negated, exit 1.
            UnderTest::Ours => (UpcallStatus::Exited(1), true),
            UnderTest::Theirs => theirs_expected(template),
        };
        let expiry_ok = matches!(negative_expiry, Some(Expiry::In(left)) if left.as_secs() <= 60);
        if !(negative && expiry_ok && outcome.status.as_ref() == Some(&want_status) && intact == want_intact)
        {
            failures.push(format!(
                "{description:?}: status {:?} (want {want_status:?}), victims intact {intact} \
                 (want {want_intact}), negative {negative}, expiry {negative_expiry:?}",
                outcome.status
            ));
        }
        victims.remove();
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn names_from_the_server_reach_syslog_escaped_and_cut() {
    let lock = ConfigLock::acquire().expect("taking /etc/idmapd.conf");
    lock.write("[General]\nDomain = audit.test\n")
        .expect("writing the config");
    let route = upcall_route(HANG_BOUND);
    let capture = SyslogCapture::start(Duration::from_mins(1)).expect("binding /dev/log");
    let short = request(&route, b"uid:evil\n\x1b[31m@other.test");
    let long_name = [b"uid:".as_slice(), &[b'\n'; 1000], b"@other.test"].concat();
    let long = request(&route, &long_name);
    let lines: Vec<SyslogLine> = capture
        .finish()
        .into_iter()
        .filter(|line| line.ident() == Some("nfsidmap"))
        .collect();
    // Names outside the domain map to nobody: both keys are answered.
    assert!(short.result.is_ok() && long.result.is_ok(), "{short:?} {long:?}");
    let messages: Vec<&str> = lines.iter().filter_map(SyslogLine::message).collect();
    match under_test() {
        UnderTest::Ours => {
            assert!(
                messages.contains(
                    &"nss_getpwnam: name 'evil\\x0a\\x1b[31m@other.test' does not map into domain 'audit.test'"
                ),
                "{messages:?}"
            );
            let cut = format!(
                "nss_getpwnam: name '{}...' does not map into domain 'audit.test'",
                "\\x0a".repeat(LOG_VALUE_LIMIT)
            );
            assert!(messages.contains(&cut.as_str()), "{messages:?}");
            assert!(
                !messages
                    .iter()
                    .any(|message| message.bytes().any(|byte| byte.is_ascii_control())),
                "{messages:?}"
            );
        }
        UnderTest::Theirs => {
            assert!(
                messages
                    .iter()
                    .any(|message| message.contains("name 'evil\n\x1b[31m@other.test'")),
                "{messages:?}"
            );
        }
    }
}
