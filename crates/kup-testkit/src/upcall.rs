//! Real kernel upcalls on the host: `request_key(2)` → kernel → `/sbin/request-key` → the helper
//! a test names.
//!
//! The kernel always runs the hard-coded `/sbin/request-key` in the initial namespaces, which
//! reads only `/etc/request-key.d/*.conf` and `/etc/request-key.conf`; no namespace or
//! environment trick gives a test its own rules. So one static rule file routes every `user` and
//! `dns_resolver` upcall to our dispatcher (`kup-test-dispatch`):
//!
//! ```text
//! create user         * * /usr/local/libexec/kup-test-dispatch %k %t %d %c %S %u %g %T %P
//! create dns_resolver * * /usr/local/libexec/kup-test-dispatch %k %t %d %c %S %u %g %T %P
//! ```
//!
//! The dispatcher looks at the requester's session keyring. When it is named `kuptest:<id>`, it
//! runs the argv template stored in `/run/kup-test/<id>/argv` (request-key's macros expanded),
//! bounded by `/run/kup-test/<id>/timeout`, and appends what happened to
//! `/run/kup-test/<id>/upcalls.log`. Any other requester gets the stock behaviour
//! (`dns_resolver` → `/sbin/key.dns_resolver %k`; `user` → no helper, the kernel negates), so the
//! rule is harmless while installed. Session keyrings are per thread, so every test thread has
//! its own route and tests run in parallel.
//!
//! Rule precedence (keyutils 1.6.3): `request-key.d` files are read before `request-key.conf`
//! and ties go to the first file read, so our `dns_resolver * *` line beats the stock one in
//! `request-key.conf`; it does not tie with any packaged `request-key.d` rule.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kup_sys::KeySerial;
use kup_sys::keyctl;

/// Where the dispatcher is installed.
pub const DISPATCHER_PATH: &str = "/usr/local/libexec/kup-test-dispatch";
/// The rule file that routes upcalls to the dispatcher.
pub const RULE_PATH: &str = "/etc/request-key.d/kup-test.conf";
/// Per-route state directories live below this.
pub const RUN_DIR: &str = "/run/kup-test";
/// Session keyrings named with this prefix are routed to a test's helper.
pub const SESSION_PREFIX: &str = "kuptest:";
/// How long a helper may run before the dispatcher kills it, unless the route says otherwise.
pub const DEFAULT_HELPER_TIMEOUT: Duration = Duration::from_secs(20);

/// The text of [`RULE_PATH`].
#[must_use]
pub fn rule_text() -> String {
    let mut text = String::from(
        "# kup test harness (kup-testkit::upcall): routes upcalls from kuptest:* sessions to test helpers;\n\
         # every other requester gets the stock behaviour. Remove with: kup-test-dispatch --uninstall\n",
    );
    for key_type in ["user", "dns_resolver"] {
        let _ = writeln!(
            text,
            "create\t{key_type}\t*\t*\t{DISPATCHER_PATH} %k %t %d %c %S %u %g %T %P"
        );
    }
    text
}

/// Installs the dispatcher and the rule file (idempotent; atomic replacement, so concurrent
/// installs from parallel test processes are safe). `dispatcher` is the built binary to copy.
pub fn install_from(dispatcher: &Path) -> io::Result<()> {
    let binary = fs::read(dispatcher)?;
    if fs::read(DISPATCHER_PATH).ok().as_deref() != Some(binary.as_slice()) {
        write_atomically(Path::new(DISPATCHER_PATH), &binary, 0o755)?;
    }
    let rule = rule_text();
    if fs::read_to_string(RULE_PATH).ok().as_deref() != Some(rule.as_str()) {
        write_atomically(Path::new(RULE_PATH), rule.as_bytes(), 0o644)?;
    }
    fs::create_dir_all(RUN_DIR)?;
    fs::set_permissions(RUN_DIR, fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// Removes everything [`install_from`] put in place.
pub fn uninstall() -> io::Result<()> {
    for path in [RULE_PATH, DISPATCHER_PATH] {
        match fs::remove_file(path) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
    }
    match fs::remove_dir_all(RUN_DIR) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Makes sure the harness is installed, building and installing the dispatcher from this
/// checkout when it is missing or stale. Called by [`Route::new`]; runs once per process.
pub fn ensure_installed() -> io::Result<()> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let binary = crate::reference::workspace_binary("kup-testkit", "kup-test-dispatch")
                .map_err(|error| format!("building kup-test-dispatch: {error}"))?;
            install_from(&binary).map_err(|error| {
                format!("installing the upcall harness ({RULE_PATH}, {DISPATCHER_PATH}; needs root): {error}")
            })
        })
        .clone()
        .map_err(io::Error::other)
}

fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let temporary = path.with_extension(format!("tmp.{}", std::process::id()));
    fs::write(&temporary, contents)?;
    fs::set_permissions(&temporary, fs::Permissions::from_mode(mode))?;
    fs::rename(&temporary, path)
}

/// How one routed helper run ended, as the dispatcher saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpcallStatus {
    /// Exited with this status.
    Exited(i32),
    /// Killed by this signal (not by the dispatcher).
    Signaled(i32),
    /// Ran past the route's timeout and was killed by the dispatcher.
    TimedOut,
    /// Could not be started (bad path, not executable).
    SpawnFailed,
}

/// One routed upcall.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upcall {
    /// The helper's argv after macro expansion (argv[0] is the program's base name, as
    /// request-key passes it).
    pub argv: Vec<OsString>,
    /// How it ended.
    pub status: UpcallStatus,
    /// Wall time from spawn to exit.
    pub duration: Duration,
}

/// A test's private route: its own session keyring and its own helper argv.
///
/// Create it, and call [`Route::request`], from the same thread: the session keyring that routes
/// upcalls belongs to the thread.
#[derive(Debug)]
pub struct Route {
    id: String,
    dir: PathBuf,
    session: KeySerial,
    thread: i32,
}

impl Route {
    /// A route that runs `argv` (program path first; arguments may be request-key macros such as
    /// `%k`, `%d`, `%c`) for every upcall this thread triggers, killed after
    /// [`DEFAULT_HELPER_TIMEOUT`].
    pub fn new<S: AsRef<OsStr>>(argv: &[S]) -> io::Result<Self> {
        Self::with_timeout(argv, DEFAULT_HELPER_TIMEOUT)
    }

    /// Like [`Route::new`] with an explicit bound on the helper's run time.
    pub fn with_timeout<S: AsRef<OsStr>>(argv: &[S], timeout: Duration) -> io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        ensure_installed()?;
        let id = format!(
            "{}.{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = Path::new(RUN_DIR).join(&id);
        fs::create_dir_all(&dir)?;
        let route = Self {
            session: keyctl::join_session_keyring(Some(format!("{SESSION_PREFIX}{id}").as_bytes()))?,
            thread: kup_sys::process::thread_id(),
            id,
            dir,
        };
        route.set_argv(argv)?;
        route.set_timeout(timeout)?;
        Ok(route)
    }

    /// Replaces the helper argv for later upcalls.
    pub fn set_argv<S: AsRef<OsStr>>(&self, argv: &[S]) -> io::Result<()> {
        if argv.is_empty() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty helper argv"));
        }
        let mut encoded = Vec::new();
        for argument in argv {
            let bytes = argument.as_ref().as_bytes();
            if bytes.contains(&0) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "NUL in helper argument",
                ));
            }
            encoded.extend_from_slice(bytes);
            encoded.push(0);
        }
        fs::write(self.dir.join("argv"), encoded)
    }

    /// Replaces the bound on the helper's run time.
    pub fn set_timeout(&self, timeout: Duration) -> io::Result<()> {
        fs::write(self.dir.join("timeout"), timeout.as_millis().to_string())
    }

    /// The route id (the session keyring is named `kuptest:<id>`).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The serial of this route's session keyring.
    #[must_use]
    pub fn session(&self) -> KeySerial {
        self.session
    }

    /// Requests a key with a real upcall (when it is not already in the session keyring), linking
    /// the result into the session keyring. Returns the requester's view: the key serial, or the
    /// errno the kernel reports (`ENOKEY` for a negated key, the chosen errno for a rejected one).
    pub fn request(&self, key_type: &str, description: &[u8], callout: &[u8]) -> io::Result<KeySerial> {
        self.check_thread()?;
        keyctl::request_key(key_type, description, Some(callout), KeySerial::SESSION_KEYRING)
    }

    /// Empties this route's session keyring, so the next request upcalls again (negative keys
    /// included).
    pub fn clear(&self) -> io::Result<()> {
        keyctl::clear(self.session)
    }

    /// The upcalls routed so far, oldest first.
    pub fn upcalls(&self) -> io::Result<Vec<Upcall>> {
        let log = match fs::read(self.dir.join("upcalls.log")) {
            Ok(log) => log,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        log.split(|&byte| byte == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                decode_record(line)
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed upcalls.log line"))
            })
            .collect()
    }

    fn check_thread(&self) -> io::Result<()> {
        if kup_sys::process::thread_id() == self.thread {
            Ok(())
        } else {
            Err(io::Error::other(
                "a Route must be used from the thread that created it",
            ))
        }
    }
}

impl Drop for Route {
    fn drop(&mut self) {
        // Keys stay in the (now unused) session keyring until it is garbage collected.
        let _ = fs::remove_dir_all(&self.dir);
        let _ = keyctl::join_session_keyring(None);
    }
}

/// Encodes one upcall record as a log line: `status micros arg1 arg2 ...`, each argument
/// hex-escaped so that any byte string survives.
#[must_use]
pub fn encode_record(upcall: &Upcall) -> Vec<u8> {
    let status = match upcall.status {
        UpcallStatus::Exited(code) => format!("exit={code}"),
        UpcallStatus::Signaled(signal) => format!("signal={signal}"),
        UpcallStatus::TimedOut => "timeout".to_owned(),
        UpcallStatus::SpawnFailed => "spawn-failed".to_owned(),
    };
    let mut line = format!("{status} {}", upcall.duration.as_micros()).into_bytes();
    for argument in &upcall.argv {
        line.push(b' ');
        line.extend_from_slice(&escape(argument.as_bytes()));
    }
    line.push(b'\n');
    line
}

fn decode_record(line: &[u8]) -> Option<Upcall> {
    let mut fields = line.split(|&byte| byte == b' ');
    let status = match std::str::from_utf8(fields.next()?).ok()? {
        "timeout" => UpcallStatus::TimedOut,
        "spawn-failed" => UpcallStatus::SpawnFailed,
        other => {
            if let Some(code) = other.strip_prefix("exit=") {
                UpcallStatus::Exited(code.parse().ok()?)
            } else {
                UpcallStatus::Signaled(other.strip_prefix("signal=")?.parse().ok()?)
            }
        }
    };
    let micros: u64 = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let argv = fields
        .map(|field| unescape(field).map(OsString::from_vec))
        .collect::<Option<Vec<_>>>()?;
    Some(Upcall {
        argv,
        status,
        duration: Duration::from_micros(micros),
    })
}

fn escape(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for &byte in bytes {
        if byte.is_ascii_graphic() && byte != b'\\' {
            out.push(byte);
        } else {
            out.extend_from_slice(format!("\\x{byte:02x}").as_bytes());
        }
    }
    if out.is_empty() {
        out.extend_from_slice(b"\\e");
    }
    out
}

fn unescape(field: &[u8]) -> Option<Vec<u8>> {
    if field == b"\\e" {
        return Some(Vec::new());
    }
    let mut out = Vec::with_capacity(field.len());
    let mut rest = field;
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'\\' {
            let hex = tail.get(1..3)?;
            if tail.first() != Some(&b'x') {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = tail.get(3..)?;
        } else {
            out.push(byte);
            rest = tail;
        }
    }
    Some(out)
}

/// Appends one record to a route's log (used by the dispatcher).
pub fn append_record(dir: &Path, upcall: &Upcall) -> io::Result<()> {
    let mut log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("upcalls.log"))?;
    log.write_all(&encode_record(upcall))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_a_round_trip_with_awkward_arguments() {
        let upcall = Upcall {
            argv: vec![
                OsString::from("nfsidmap"),
                OsString::from(""),
                OsString::from_vec(b"a b\\c\n\xff;".to_vec()),
            ],
            status: UpcallStatus::Exited(3),
            duration: Duration::from_micros(1234),
        };
        let line = encode_record(&upcall);
        assert_eq!(decode_record(line.strip_suffix(b"\n").unwrap()), Some(upcall));
    }

    #[test]
    fn every_status_round_trips() {
        for status in [
            UpcallStatus::Signaled(9),
            UpcallStatus::TimedOut,
            UpcallStatus::SpawnFailed,
            UpcallStatus::Exited(0),
        ] {
            let upcall = Upcall {
                argv: vec![OsString::from("x")],
                status,
                duration: Duration::ZERO,
            };
            let line = encode_record(&upcall);
            assert_eq!(decode_record(line.strip_suffix(b"\n").unwrap()), Some(upcall));
        }
    }

    #[test]
    fn rule_routes_user_and_dns_resolver_only() {
        let text = rule_text();
        let rules: Vec<&str> = text.lines().filter(|line| line.starts_with("create")).collect();
        assert_eq!(rules.len(), 2);
        assert!(rules[0].starts_with("create\tuser\t*\t*\t/usr/local/libexec/kup-test-dispatch %k"));
        assert!(rules[1].starts_with("create\tdns_resolver\t*\t*\t"));
        assert!(
            text.ends_with('\n'),
            "request-key drops the last byte of every line"
        );
    }
}
