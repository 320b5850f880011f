//! System state the nfsidmap compliance tests need: a fixed set of test accounts and exclusive,
//! always-restored control of `/etc/idmapd.conf` (+ `/etc/idmapd.conf.d`).
//!
//! Neither nfsidmap honours a config path option or variable (the path is compiled in), so the
//! tests rewrite the real file. [`ConfigLock`] serialises that across threads and processes
//! (`flock` on [`LOCK_PATH`]), keeps the original in [`BACKUP_PATH`] while it holds the file and
//! puts it back on drop. If a test process dies hard (SIGKILL, abort), a watchdog process it
//! started restores the file as soon as it is gone, and the next lock holder restores it from the
//! backup anyway before doing anything else.

// Shared by several test binaries; each uses a part of it.
#![allow(dead_code)]

use std::fs::{self, File};
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, Once};

/// The file both nfsidmaps read.
pub(crate) const CONFIG_PATH: &str = "/etc/idmapd.conf";
/// Its `.d` directory.
pub(crate) const CONFIG_DIR: &str = "/etc/idmapd.conf.d";
/// Cross-process lock.
pub(crate) const LOCK_PATH: &str = "/run/kup-nfsidmap-compliance.lock";
/// The original file while a test holds the lock.
pub(crate) const BACKUP_PATH: &str = "/run/kup-nfsidmap-compliance.idmapd.conf";
/// The pid of the holder (for the watchdog).
pub(crate) const OWNER_PATH: &str = "/run/kup-nfsidmap-compliance.owner";
/// Present while the `.d` directory exists only because a test created it.
pub(crate) const CREATED_DIR_MARK: &str = "/run/kup-nfsidmap-compliance.created-dir";

/// The test accounts: `(name, uid, primary gid)` for users, `(name, gid)` for groups.
/// Created idempotently with `groupadd`/`useradd --badname` (no home, no shell); they stay.
pub(crate) const GROUPS: &[(&str, u32)] = &[
    ("kupnfs_grp", 45102),
    ("KUPNFS_UP", 45103),
    ("kupnfs_bob", 45104),
    ("kupnfs.dot", 45106),
];
/// See [`GROUPS`].
pub(crate) const USERS: &[(&str, u32, u32)] = &[
    ("kupnfs_alice", 45101, 45102),
    ("kupnfs_bob", 45104, 45104),
    ("kupnfs_lllllllllllllllllllllllll", 45105, 45102),
    ("kupnfs.dot", 45106, 45106),
    ("kupnfs@at", 45107, 45102),
    ("45999kup", 45108, 45102),
];

/// Creates the test accounts when missing; fails when a name or id is taken by something else.
pub(crate) fn ensure_accounts() -> io::Result<()> {
    for &(name, gid) in GROUPS {
        match run_output("getent", &["group", name])? {
            Some(line) if line.split(':').nth(2) == Some(&gid.to_string()) => {}
            Some(line) => {
                return Err(io::Error::other(format!(
                    "group {name} exists with another gid: {line}"
                )));
            }
            None => run("groupadd", &["--gid", &gid.to_string(), name])?,
        }
    }
    for &(name, uid, gid) in USERS {
        match run_output("getent", &["passwd", name])? {
            Some(line) if line.split(':').nth(2) == Some(&uid.to_string()) => {}
            Some(line) => {
                return Err(io::Error::other(format!(
                    "user {name} exists with another uid: {line}"
                )));
            }
            None => run(
                "useradd",
                &[
                    "--badname",
                    "--no-create-home",
                    "--no-user-group",
                    "--shell",
                    "/usr/sbin/nologin",
                    "--uid",
                    &uid.to_string(),
                    "--gid",
                    &gid.to_string(),
                    name,
                ],
            )?,
        }
    }
    Ok(())
}

fn run(program: &str, args: &[&str]) -> io::Result<()> {
    let status = Command::new(program).args(args).stdout(Stdio::null()).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("{program} {args:?} failed: {status}")))
    }
}

fn run_output(program: &str, args: &[&str]) -> io::Result<Option<String>> {
    let output = Command::new(program).args(args).output()?;
    Ok(output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim_end().to_owned()))
}

static IN_PROCESS: Mutex<()> = Mutex::new(());

/// Exclusive control of `/etc/idmapd.conf` until dropped.
pub(crate) struct ConfigLock {
    _thread: MutexGuard<'static, ()>,
    file: File,
}

impl ConfigLock {
    /// Waits for the lock, recovers from a crashed holder, saves the original.
    pub(crate) fn acquire() -> io::Result<Self> {
        let thread = IN_PROCESS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(LOCK_PATH)?;
        file.lock()?;
        start_watchdog()?;
        restore_from_backup()?;
        if !Path::new(CONFIG_PATH).exists() {
            return Err(io::Error::other(format!(
                "{CONFIG_PATH} is missing: apt-get install nfs-common"
            )));
        }
        if Path::new(CONFIG_DIR).exists() {
            return Err(io::Error::other(format!(
                "{CONFIG_DIR} exists: the compliance tests need it absent (it changes every result)"
            )));
        }
        fs::copy(CONFIG_PATH, BACKUP_PATH)?;
        fs::write(OWNER_PATH, std::process::id().to_string())?;
        Ok(Self {
            _thread: thread,
            file,
        })
    }

    /// Replaces the config text and empties the `.d` directory.
    pub(crate) fn write(&self, text: &str) -> io::Result<()> {
        self.remove_dir()?;
        clear_config_path()?;
        fs::write(CONFIG_PATH, text)
    }

    /// Removes the config file (restored on drop).
    pub(crate) fn remove(&self) -> io::Result<()> {
        self.remove_dir()?;
        clear_config_path()
    }

    /// Puts an empty directory where the config file belongs (an unreadable config).
    pub(crate) fn replace_with_directory(&self) -> io::Result<()> {
        self.remove_dir()?;
        clear_config_path()?;
        fs::create_dir(CONFIG_PATH)
    }

    /// Writes `<CONFIG_DIR>/<name>`, creating the directory (removed again on drop).
    #[allow(clippy::unused_self)] // a method so only the lock holder can call it
    pub(crate) fn write_dir_file(&self, name: &str, text: &str) -> io::Result<()> {
        if !Path::new(CONFIG_DIR).exists() {
            fs::write(CREATED_DIR_MARK, b"")?;
            fs::create_dir(CONFIG_DIR)?;
        }
        fs::write(Path::new(CONFIG_DIR).join(name), text)
    }

    #[allow(clippy::unused_self)] // a method so only the lock holder can call it
    fn remove_dir(&self) -> io::Result<()> {
        if Path::new(CREATED_DIR_MARK).exists() {
            match fs::remove_dir_all(CONFIG_DIR) {
                Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
                _ => {}
            }
            fs::remove_file(CREATED_DIR_MARK)?;
        }
        Ok(())
    }
}

impl Drop for ConfigLock {
    fn drop(&mut self) {
        let _ = restore_from_backup();
        let _ = self.file.unlock();
    }
}

/// Puts the saved original back (if a backup exists) and removes a test-created `.d`.
fn restore_from_backup() -> io::Result<()> {
    if Path::new(CREATED_DIR_MARK).exists() {
        match fs::remove_dir_all(CONFIG_DIR) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        fs::remove_file(CREATED_DIR_MARK)?;
    }
    if Path::new(BACKUP_PATH).exists() {
        clear_config_path()?;
        fs::copy(BACKUP_PATH, CONFIG_PATH)?;
        fs::remove_file(BACKUP_PATH)?;
    }
    match fs::remove_file(OWNER_PATH) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Removes whatever is at the config path: a file, or the empty directory a test put there.
fn clear_config_path() -> io::Result<()> {
    let path = Path::new(CONFIG_PATH);
    let result = if path.is_dir() {
        fs::remove_dir(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// A detached shell that waits for this process to end and restores the config if this
/// process still owned it (covers SIGKILL and aborts, where no destructor runs).
fn start_watchdog() -> io::Result<()> {
    static STARTED: Once = Once::new();
    let mut result = Ok(());
    STARTED.call_once(|| {
        let pid = std::process::id();
        // The restore runs under the same flock as the tests, so it can never interleave with
        // a new holder's backup; it acts only if this (dead) process still owned the config.
        let restore = format!(
            "if [ \"$(cat {OWNER_PATH} 2>/dev/null)\" = {pid} ]; then \
               if [ -e {CREATED_DIR_MARK} ]; then rm -rf {CONFIG_DIR} {CREATED_DIR_MARK}; fi; \
               if [ -e {BACKUP_PATH} ]; then \
                 if [ -d {CONFIG_PATH} ]; then rmdir {CONFIG_PATH}; fi; \
                 cp {BACKUP_PATH} {CONFIG_PATH} && rm -f {BACKUP_PATH}; \
               fi; \
               rm -f {OWNER_PATH}; \
             fi"
        );
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; exec flock {LOCK_PATH} sh -c '{restore}'"
        );
        result = Command::new("setsid")
            .args(["-f", "sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .and_then(|status| {
                if status.success() {
                    Ok(())
                } else {
                    Err(io::Error::other("could not start the config watchdog"))
                }
            });
    });
    result
}

/// For the `harness = false` suites: whether libtest-style arguments select the suite named
/// `name` (`cargo test foo` passes `foo` to every test binary; without this a filter aimed at
/// another crate would start the whole suite). No filter selects it; `--list` and `--ignored`
/// never do (the suite has no listed or ignored tests).
pub(crate) fn selected(name: &str) -> bool {
    let mut filters = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--list" | "--ignored" => return false,
            "--test-threads" | "--skip" | "--format" | "--color" | "-Z" => {
                let _ = args.next();
            }
            flag if flag.starts_with('-') => {}
            filter => filters.push(filter.to_owned()),
        }
    }
    filters.is_empty() || filters.iter().any(|filter| name.contains(filter.as_str()))
}
