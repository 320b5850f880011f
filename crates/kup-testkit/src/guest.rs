//! A QEMU guest running Debian's own kernel, for tests that need the kernel modules the host
//! lacks: the `id_resolver` key type (nfsv4), `cifs.idmap` and `cifs.spnego` (cifs), nfsd and
//! `/proc/net/rpc/use-gss-proxy`, `rpcsec_gss_krb5`.
//!
//! The guest boots `linux-image-<abi>-amd64` (the ABI that Debian's `linux-image-amd64` depends on
//! today, or `KUP_GUEST_KVER`) under QEMU TCG with no NIC, on the host's own userland: `/usr`,
//! `/etc` and `/var` are the host's, read-only, each under a tmpfs overlay, so a script may rewrite
//! `/etc/request-key.d` or `/etc/krb5.conf` without touching the host. The checkout, including
//! `target/`, is shared read-only at its host path, so a test passes the paths of the binaries it
//! built (`env!("CARGO_BIN_EXE_<name>")`) straight to the guest script. The root is switched with
//! `switch_root`, so the kernel's usermode helpers (`/sbin/request-key`, `/sbin/modprobe`) run in
//! that userland.
//!
//! ```no_run
//! use std::time::Duration;
//! use kup_testkit::guest::Guest;
//!
//! let outcome = Guest::new()?
//!     .with_file("rules.conf", "create id_resolver * * /usr/sbin/nfsidmap -t 600 %k %d\n")
//!     .run_script(
//!         "modprobe nfsv4\n\
//!          cp rules.conf /etc/request-key.d/\n\
//!          keyctl pipe \"$(keyctl request2 id_resolver uid:root@localdomain '' @s)\" > payload\n",
//!         Duration::from_secs(60),
//!     )?;
//! outcome.assert_success();
//! assert_eq!(outcome.file("payload")?, b"0\0");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The script runs with bash as root in `/xchg` (the exchange directory, `$KUP_XCHG`), in its
//! own session keyring, with a clean environment (`PATH`, `HOME=/root`, `KUP_GUEST=1`,
//! `KUP_XCHG=/xchg`, `KUP_CHECKOUT` and what [`Guest::with_env`] adds). Files added with
//! [`Guest::with_file`] are there when it starts; whatever it leaves in `/xchg` can be read back
//! with [`GuestOutcome::file`]. `tests/guest/lib.sh` has shell helpers for such scripts (replace
//! the request-key rules, wrap a helper with a timeout and a call log, request a key).
//!
//! The heavy lifting is in `tests/guest/guest.sh` (kernel download with `apt-get download`,
//! initramfs, QEMU command line), which also works by hand: `tests/guest/guest.sh run SCRIPT`.
//! The kernel and initramfs are cached in `KUP_GUEST_WORK` (default `/var/tmp/kup-guest`) and
//! rebuilt when missing or stale. Only one guest boots at a time (each uses both cores): boots
//! are serialized with a file lock, and a test's timeout counts from its own boot, not from the
//! wait for the lock. See `docs/testing-guest.md`.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Component, Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Default cache and run directory (`KUP_GUEST_WORK` overrides it).
pub const DEFAULT_WORK_DIR: &str = "/var/tmp/kup-guest";
/// How long building the kernel and initramfs may take (download included).
const BUILD_DEADLINE: Duration = Duration::from_mins(15);
/// How long after the guest's own timeout the harness kills `guest.sh boot` itself.
const KILL_GRACE: Duration = Duration::from_secs(20);
/// Console lines shown in error messages and failed assertions.
const CONSOLE_TAIL_LINES: usize = 60;
/// Names in the exchange directory that belong to the harness.
const RESERVED: &str = ".kup";

/// The root of the checkout this crate was built from (shared read-only with the guest).
#[must_use]
pub fn checkout_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    dir.canonicalize().unwrap_or(dir)
}

/// The directory holding `guest.sh`, `init.sh` and `stage2.sh`.
#[must_use]
pub fn scripts_dir() -> PathBuf {
    checkout_dir().join("tests/guest")
}

/// The cache and run directory: `KUP_GUEST_WORK`, or [`DEFAULT_WORK_DIR`].
#[must_use]
pub fn work_dir() -> PathBuf {
    std::env::var_os("KUP_GUEST_WORK")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_WORK_DIR), PathBuf::from)
}

/// The cargo target directory of the running test (the first ancestor of the test binary that
/// holds `CACHEDIR.TAG`), if it can be found. It is shared with the guest when it lies outside
/// the checkout (`CARGO_TARGET_DIR`).
#[must_use]
pub fn target_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

/// A guest ready to boot: the files, environment, arguments and extra shares one run gets.
///
/// Cheap to clone; every [`Guest::run_script`] boots a fresh guest with its own exchange
/// directory, so one `Guest` can run several scripts.
#[derive(Debug, Clone)]
pub struct Guest {
    files: Vec<XchgFile>,
    env: Vec<(String, String)>,
    args: Vec<String>,
    shares: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
struct XchgFile {
    name: PathBuf,
    contents: Vec<u8>,
    mode: u32,
}

impl Guest {
    /// Checks the host tools and builds (or refreshes) the cached guest kernel and initramfs.
    ///
    /// The build runs once per test process; later calls reuse its result, errors included.
    ///
    /// # Errors
    /// `NotFound` when host packages are missing (the message names them and the `apt-get`
    /// line), `Other` when the kernel cannot be resolved, downloaded or unpacked, `TimedOut`
    /// when the build takes longer than 15 minutes. The message carries the build log.
    pub fn new() -> io::Result<Self> {
        ensure_built()?;
        let mut shares = vec![checkout_dir()];
        if let Some(target) = target_dir()
            && !target.starts_with(checkout_dir())
        {
            shares.push(target);
        }
        let env = vec![("KUP_CHECKOUT".to_owned(), checkout_dir().display().to_string())];
        Ok(Self {
            files: Vec::new(),
            env,
            args: Vec::new(),
            shares,
        })
    }

    /// Puts a file (mode 0644) into the exchange directory: `/xchg/<name>` in the guest, the
    /// script's working directory. `name` may contain subdirectories.
    ///
    /// # Panics
    /// If `name` is absolute, contains `..`, or starts with `.kup` (the harness's own files).
    #[must_use]
    pub fn with_file(self, name: impl AsRef<Path>, contents: impl Into<Vec<u8>>) -> Self {
        self.add_file(name.as_ref(), contents.into(), 0o644)
    }

    fn add_file(mut self, name: &Path, contents: Vec<u8>, mode: u32) -> Self {
        let plain = name.components().all(|c| matches!(c, Component::Normal(_)));
        let reserved = name
            .components()
            .next()
            .is_some_and(|c| c.as_os_str() == RESERVED);
        assert!(
            plain && !reserved && !name.as_os_str().is_empty(),
            "guest exchange file name must be relative, without '..', and not below {RESERVED}/: {}",
            name.display()
        );
        self.files.push(XchgFile {
            name: name.to_path_buf(),
            contents,
            mode,
        });
        self
    }

    /// Exports `key=value` to the guest script.
    ///
    /// # Panics
    /// If `key` is not a shell variable name.
    #[must_use]
    pub fn with_env(mut self, key: &str, value: impl Into<String>) -> Self {
        let valid = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        assert!(valid, "not a shell variable name: {key:?}");
        self.env.push((key.to_owned(), value.into()));
        self
    }

    /// Sets the script's positional arguments (`$1`, `$2`, ...).
    #[must_use]
    pub fn with_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args = args.into_iter().map(Into::into).collect();
        self
    }

    /// Boots a fresh guest, runs `script` with bash as root in `/xchg`, powers the guest off and
    /// returns what happened. The script's exit status, whatever it is, is an `Ok` outcome;
    /// check it with [`GuestOutcome::success`] or [`GuestOutcome::assert_success`].
    ///
    /// `timeout` bounds the boot and the script together (it starts once this test's turn to
    /// boot has come); QEMU is killed when it runs out. `KUP_GUEST_TIMEOUT_SCALE` (a factor,
    /// default 1) stretches every timeout on slow machines.
    ///
    /// # Errors
    /// `TimedOut` when the guest did not finish within `timeout`, `Other` when it died without
    /// an exit status (kernel panic, QEMU failure); both messages carry the end of the console
    /// log and the path of the run directory. I/O errors preparing the exchange directory.
    pub fn run_script(&self, script: &str, timeout: Duration) -> io::Result<GuestOutcome> {
        let timeout = scaled(timeout);
        self.check_shares()?;
        let run_dir = new_run_dir()?;
        let xchg = run_dir.join("xchg");
        self.fill_xchg(&xchg, script)?;

        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(work_dir().join("boot.lock"))?;
        wait_for_lock(&lock)?;
        let started = Instant::now();
        let status = self.boot(&run_dir, timeout);
        let duration = started.elapsed();
        drop(lock);
        let status = status?;

        let read =
            |name: &str| fs::read(run_dir.join(name)).map(|b| String::from_utf8_lossy(&b).into_owned());
        let console = read("console.log").unwrap_or_default();
        let rc = read("xchg/.kup/rc");
        let Ok(rc) = rc else {
            let boot_log = read("boot.log").unwrap_or_default();
            let (kind, what) = match status {
                None => (
                    io::ErrorKind::TimedOut,
                    format!(
                        "the harness killed it {}s after its timeout",
                        KILL_GRACE.as_secs()
                    ),
                ),
                Some(s) if matches!(s.code(), Some(124 | 137)) => (
                    io::ErrorKind::TimedOut,
                    format!("it timed out after {}s", timeout.as_secs()),
                ),
                Some(s) => (
                    io::ErrorKind::Other,
                    format!("it died without an exit status ({s})"),
                ),
            };
            let output = read("xchg/.kup/output").unwrap_or_default();
            return Err(io::Error::new(
                kind,
                format!(
                    "guest run {}: {what}\n--- script output ---\n{output}\n--- guest.sh ---\n{boot_log}\n{}",
                    run_dir.display(),
                    console_tail(&console, &run_dir)
                ),
            ));
        };
        let status = rc.trim().parse::<i32>().map_err(|_| {
            io::Error::other(format!(
                "guest run {}: unreadable exit status {rc:?}",
                run_dir.display()
            ))
        })?;
        Ok(GuestOutcome {
            status,
            output: read("xchg/.kup/output").unwrap_or_default(),
            console,
            dmesg: read("xchg/.kup/dmesg").unwrap_or_default(),
            run_dir,
            duration,
        })
    }

    /// The shares travel on the kernel command line and in a colon-separated list.
    fn check_shares(&self) -> io::Result<()> {
        for share in &self.shares {
            let text = share.to_str().unwrap_or("\u{fffd}");
            let bad = text
                .chars()
                .any(|c| c.is_whitespace() || ",=:\"\u{fffd}".contains(c));
            if !share.is_absolute() || bad || !share.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "guest share {} must be an existing absolute directory without whitespace, ',', '=', ':', '\"'",
                        share.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    fn fill_xchg(&self, xchg: &Path, script: &str) -> io::Result<()> {
        let kup = xchg.join(RESERVED);
        fs::create_dir_all(&kup)?;
        fs::write(kup.join("script"), script)?;
        let mut env = String::new();
        for (key, value) in &self.env {
            env.push_str("export ");
            env.push_str(key);
            env.push('=');
            env.push_str(&shell_quote(value));
            env.push('\n');
        }
        fs::write(kup.join("env"), env)?;
        let mut args = Vec::new();
        for arg in &self.args {
            args.extend_from_slice(arg.as_bytes());
            args.push(0);
        }
        fs::write(kup.join("args"), args)?;
        for file in &self.files {
            let path = xchg.join(&file.name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::write(&path, &file.contents)?;
            fs::set_permissions(&path, fs::Permissions::from_mode(file.mode))?;
        }
        Ok(())
    }

    /// Runs `guest.sh boot`; `None` when the harness had to kill it.
    fn boot(&self, run_dir: &Path, timeout: Duration) -> io::Result<Option<ExitStatus>> {
        let shares: Vec<String> = self.shares.iter().map(|s| s.display().to_string()).collect();
        let log = File::create(run_dir.join("boot.log"))?;
        let mut cmd = Command::new("bash");
        cmd.arg(scripts_dir().join("guest.sh"))
            .arg("boot")
            .arg(run_dir)
            .arg(timeout.as_secs().max(1).to_string())
            .env("KUP_GUEST_WORK", work_dir())
            .env("KUP_GUEST_SHARES", shares.join(":"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        let mut child = cmd.spawn()?;
        wait_bounded(&mut child, timeout + KILL_GRACE)
    }
}

/// Boots a guest with the default setup and runs `script` in it: `Guest::new()?.run_script(..)`.
///
/// # Errors
/// As [`Guest::new`] and [`Guest::run_script`].
pub fn run_script(script: &str, timeout: Duration) -> io::Result<GuestOutcome> {
    Guest::new()?.run_script(script, timeout)
}

/// What one guest run produced. The run directory stays on disk for diagnosis (runs older than
/// a day are pruned when a new one starts).
#[derive(Debug, Clone)]
pub struct GuestOutcome {
    /// The script's exit status (128 + n when a signal killed it).
    pub status: i32,
    /// The script's stdout and stderr, interleaved.
    pub output: String,
    /// The guest's serial console: kernel warnings and the harness's boot milestones.
    pub console: String,
    /// The guest kernel's log (`dmesg`) after the script finished.
    pub dmesg: String,
    /// The run directory on the host: `xchg/` (the guest's `/xchg`), `console.log`, `boot.log`.
    pub run_dir: PathBuf,
    /// Wall time from the start of the boot to QEMU's exit.
    pub duration: Duration,
}

impl GuestOutcome {
    /// Whether the script exited with status 0.
    #[must_use]
    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// The exchange directory on the host (the guest's `/xchg`).
    #[must_use]
    pub fn xchg_dir(&self) -> PathBuf {
        self.run_dir.join("xchg")
    }

    /// Reads a file the script left in `/xchg` (`name` relative to it).
    ///
    /// # Errors
    /// The file's read error, with its path.
    pub fn file(&self, name: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        let path = self.xchg_dir().join(name);
        fs::read(&path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}\n{self}", path.display())))
    }

    /// Reads a file the script left in `/xchg` as text (invalid UTF-8 replaced).
    ///
    /// # Errors
    /// As [`GuestOutcome::file`].
    pub fn file_string(&self, name: impl AsRef<Path>) -> io::Result<String> {
        self.file(name).map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    /// Panics with the script's output and the end of the console log unless the script
    /// exited with status 0.
    ///
    /// # Panics
    /// When the status is not 0.
    #[track_caller]
    #[allow(clippy::must_use_candidate)] // used as a statement; the return value only allows chaining
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "guest script failed\n{self}");
        self
    }

    /// The first line of the script's output that starts with `prefix`.
    ///
    /// # Panics
    /// When there is none (with the whole outcome in the message).
    #[must_use]
    #[track_caller]
    pub fn line(&self, prefix: &str) -> String {
        self.output
            .lines()
            .find(|line| line.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?}:\n{self}"))
            .to_owned()
    }

    /// Checks a deadline run of a guest script that printed, for ours, `ours seconds=S
    /// request=R key=K` and `ours rc=N`, and for the reference `theirs rc=N`: ours ended 30–40 s
    /// after the start (its 30 s deadline), the requester got `ENOKEY`, the key is negative for
    /// about 60 s and ours exited 1; the reference was still blocked when its wrapper killed it
    /// (status 124) — `theirs_blocked_in` says where, for the message.
    ///
    /// # Panics
    /// When any of that does not hold.
    #[track_caller]
    pub fn assert_ended_at_the_deadline(&self, theirs_blocked_in: &str) {
        let ours = self.line("ours seconds=");
        let seconds: u64 = field(&ours, "seconds").parse().unwrap_or(u64::MAX);
        assert!(
            (30..=40).contains(&seconds),
            "ours ends at its 30 s deadline: {ours}\n{self}"
        );
        assert!(
            field(&ours, "request").contains("Required_key_not_available"),
            "ours: the requester gets ENOKEY: {ours}\n{self}"
        );
        let key = field(&ours, "key");
        assert!(
            key.contains('N') && (key.ends_with(",1m") || key.ends_with('s')),
            "ours: the key is negative for about 60 s: {ours}\n{self}"
        );
        assert_eq!(field(&self.line("ours rc="), "rc"), "1", "ours exits 1\n{self}");
        assert_eq!(
            field(&self.line("theirs rc="), "rc"),
            "124",
            "the reference has no deadline: still {theirs_blocked_in} when killed\n{self}"
        );
    }
}

/// The value of `name=` among the whitespace-separated words of `line` (empty when absent).
#[must_use]
pub fn field(line: &str, name: &str) -> String {
    line.split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

impl fmt::Display for GuestOutcome {
    /// Status, full script output and the last lines of the console: what a failed assertion
    /// needs to show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "guest script exited with status {} after {:.1}s (run dir {})",
            self.status,
            self.duration.as_secs_f64(),
            self.run_dir.display()
        )?;
        writeln!(f, "--- script output ---\n{}", self.output)?;
        write!(f, "{}", console_tail(&self.console, &self.run_dir))
    }
}

fn console_tail(console: &str, run_dir: &Path) -> String {
    let lines: Vec<&str> = console.lines().collect();
    let tail = lines[lines.len().saturating_sub(CONSOLE_TAIL_LINES)..].join("\n");
    format!(
        "--- console (last {CONSOLE_TAIL_LINES} lines of {}) ---\n{tail}\n",
        run_dir.join("console.log").display()
    )
}

/// `'...'` quoting for bash.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn scaled(timeout: Duration) -> Duration {
    let factor = std::env::var("KUP_GUEST_TIMEOUT_SCALE")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|f| f.is_finite() && *f > 0.0)
        .unwrap_or(1.0);
    timeout.mul_f64(factor)
}

fn new_run_dir() -> io::Result<PathBuf> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let runs = work_dir().join("runs");
    fs::create_dir_all(&runs)?;
    prune_old_runs(&runs);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let dir = runs.join(format!(
        "{now}-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir(&dir)?;
    Ok(dir)
}

/// Takes the boot lock, waiting at most `KUP_GUEST_LOCK_WAIT` seconds (default 1800): long
/// enough for a queue of test boots, short enough to notice a forgotten `guest.sh shell`.
fn wait_for_lock(lock: &File) -> io::Result<()> {
    let max = std::env::var("KUP_GUEST_LOCK_WAIT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(Duration::from_mins(30), Duration::from_secs);
    let start = Instant::now();
    loop {
        match lock.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) if start.elapsed() < max => {
                thread::sleep(Duration::from_millis(100));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "another guest held {} for more than {}s (a forgotten `guest.sh shell`?)",
                        work_dir().join("boot.lock").display(),
                        max.as_secs()
                    ),
                ));
            }
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
    }
}

/// Removes run directories older than a day; best effort (another process may race us).
fn prune_old_runs(runs: &Path) {
    let Ok(entries) = fs::read_dir(runs) else { return };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > Duration::from_hours(24));
        if old {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Builds the kernel and initramfs once per process (`guest.sh build` does the caching and the
/// locking across processes).
fn ensure_built() -> io::Result<()> {
    static BUILT: OnceLock<Result<(), (io::ErrorKind, String)>> = OnceLock::new();
    BUILT
        .get_or_init(|| build().map_err(|e| (e.kind(), e.to_string())))
        .clone()
        .map_err(|(kind, msg)| io::Error::new(kind, msg))
}

fn build() -> io::Result<()> {
    let work = work_dir();
    fs::create_dir_all(&work).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot create the guest work dir {}: {e}", work.display()),
        )
    })?;
    let log_path = work.join(format!("build-{}.log", std::process::id()));
    let log = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&log_path)?;
    let mut child = Command::new("bash")
        .arg(scripts_dir().join("guest.sh"))
        .arg("build")
        .env("KUP_GUEST_WORK", &work)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot run bash {}: {e}", scripts_dir().display()),
            )
        })?;
    let status = wait_bounded(&mut child, BUILD_DEADLINE)?;
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    let _ = fs::remove_file(&log_path);
    match status {
        Some(s) if s.success() => Ok(()),
        Some(s) if s.code() == Some(3) => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the QEMU guest harness cannot run on this host:\n{text}"),
        )),
        Some(s) => Err(io::Error::other(format!(
            "building the guest kernel failed ({s}):\n{text}"
        ))),
        None => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "building the guest kernel took more than {}s:\n{text}",
                BUILD_DEADLINE.as_secs()
            ),
        )),
    }
}

/// Waits for `child` at most `deadline`; past it, kills the child's whole process group (QEMU
/// included) and returns `None`.
fn wait_bounded(child: &mut Child, deadline: Duration) -> io::Result<Option<ExitStatus>> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if start.elapsed() >= deadline {
            // The child leads its own process group (process_group(0) above).
            let _ = Command::new("bash")
                .args(["-c", "kill -KILL -- -\"$1\"", "kill", &child.id().to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = child.kill();
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_quoting_survives_single_quotes() {
        assert_eq!(shell_quote("a'b c"), r"'a'\''b c'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    #[should_panic(expected = "must be relative")]
    fn exchange_file_names_may_not_escape_the_exchange_dir() {
        let guest = Guest {
            files: Vec::new(),
            env: Vec::new(),
            args: Vec::new(),
            shares: Vec::new(),
        };
        let _ = guest.with_file("../etc/passwd", "x");
    }

    #[test]
    #[should_panic(expected = "must be relative")]
    fn exchange_file_names_may_not_touch_the_harness_files() {
        let guest = Guest {
            files: Vec::new(),
            env: Vec::new(),
            args: Vec::new(),
            shares: Vec::new(),
        };
        let _ = guest.with_file(".kup/rc", "0");
    }

    #[test]
    fn shares_that_cannot_travel_on_the_kernel_command_line_are_refused() {
        for share in [
            "relative/dir",
            "/tmp/a b",
            "/tmp/a:b",
            "/nonexistent/kup-guest-share",
        ] {
            let guest = Guest {
                files: Vec::new(),
                env: Vec::new(),
                args: Vec::new(),
                shares: vec![PathBuf::from(share)],
            };
            let err = guest.check_shares().expect_err(share);
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{share}: {err}");
        }
        let guest = Guest {
            files: Vec::new(),
            env: Vec::new(),
            args: Vec::new(),
            shares: vec![checkout_dir()],
        };
        guest.check_shares().expect("the checkout is a valid share");
    }

    #[test]
    fn the_console_tail_keeps_the_last_lines() {
        let console: String = (0..100)
            .map(|i| ["line ", &i.to_string(), "\n"].concat())
            .collect();
        let tail = console_tail(&console, Path::new("/r"));
        assert!(tail.contains("line 99") && tail.contains("line 40") && !tail.contains("line 39\n"));
    }
}
