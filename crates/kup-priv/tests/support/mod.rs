//! Shared by kup-priv's integration tests: the test process's identity, `/proc/<pid>/status`
//! fields, and a holder process in its own user and mount namespaces.

#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kup_priv::{ChildError, Namespaces, Pid, Request, SecretBytes, Uid, User, WorkError};
use kup_sys::{credentials, fork, namespace, process};

/// The system user the tests switch to, and its passwd group (Debian: nobody, nogroup).
pub const NOBODY: u32 = 65534;

/// Fails the test unless it runs as root (the tests switch identities; never a silent skip).
pub fn require_root() {
    assert_eq!(
        process::user_ids().unwrap().effective,
        Uid::ROOT,
        "kup-priv's integration tests must run as root"
    );
}

/// A `Field:` line of a `/proc/<pid>/status` text, split into words.
pub fn status_field<'a>(status: &'a str, name: &str) -> Vec<&'a str> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no {name}: line in {status}"))
        .split_whitespace()
        .collect()
}

/// The inode of `/proc/self/ns/<name>` or `/proc/<pid>/ns/<name>`.
pub fn namespace_inode(pid: Option<Pid>, kind: namespace::Namespace) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata(namespace::path(pid, kind)).unwrap().ino()
}

/// A deadline `seconds` from now.
pub fn seconds(seconds: u64) -> Instant {
    Instant::now() + Duration::from_secs(seconds)
}

/// `run_in_child` with a work closure whose errors are already [`WorkError`]s.
pub fn run(
    request: Request,
    work: impl FnOnce(&User) -> Result<Vec<u8>, WorkError>,
) -> Result<SecretBytes, ChildError> {
    kup_priv::run_in_child(seconds(20), &request, work)
}

/// Turns any error into a [`WorkError`] with code 1.
pub fn failed(error: impl std::fmt::Display) -> WorkError {
    WorkError {
        code: 1,
        message: error.to_string(),
    }
}

/// A directory every user may write to, removed on drop.
pub struct SharedDir(pub PathBuf);

impl SharedDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let serial = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("kup-priv-{tag}-{}-{serial}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o1777)).unwrap();
        Self(path)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for SharedDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A process in a new user namespace (ids `0..65536` mapped to kernel ids `100000..165536`)
/// and a new mount namespace in which `/etc/passwd` is a bind mount of `passwd`. It lives until
/// dropped (then it is killed and reaped).
pub struct Container {
    pub pid: Pid,
    release: Option<io::PipeWriter>,
    _files: SharedDir,
}

/// Kernel id of the container's id 0.
pub const CONTAINER_BASE: u32 = 100_000;

impl Container {
    pub fn new(passwd: &str) -> Self {
        Self::with_passwd(passwd, false)
    }

    /// Like [`Container::new`], with a passwd file only the container's root can read (owned by
    /// kernel id 100000, mode 0600).
    pub fn with_private_passwd(passwd: &str) -> Self {
        Self::with_passwd(passwd, true)
    }

    fn with_passwd(passwd: &str, private: bool) -> Self {
        let files = SharedDir::new("container");
        fs::set_permissions(&files.0, fs::Permissions::from_mode(0o755)).unwrap();
        let passwd_path = files.join("passwd");
        fs::write(&passwd_path, passwd).unwrap();
        if private {
            std::os::unix::fs::chown(&passwd_path, Some(CONTAINER_BASE), Some(CONTAINER_BASE)).unwrap();
            fs::set_permissions(&passwd_path, fs::Permissions::from_mode(0o600)).unwrap();
        } else {
            fs::set_permissions(&passwd_path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        let (mut ready_reader, mut ready_writer) = io::pipe().unwrap();
        let (mut go_reader, mut go_writer) = io::pipe().unwrap();
        let (mut release_reader, release_writer) = io::pipe().unwrap();
        let pid = fork::spawn(|| {
            let step = |ok: bool, code: u8| if ok { Ok(()) } else { Err(code) };
            let outcome = (|| {
                step(
                    namespace::unshare(&[namespace::Namespace::User, namespace::Namespace::Mount]).is_ok(),
                    10,
                )?;
                step(ready_writer.write_all(b"u").is_ok(), 11)?;
                let mut byte = [0u8];
                step(go_reader.read_exact(&mut byte).is_ok(), 12)?;
                // Root of the new namespace (kernel id 100000), so that exec keeps the
                // namespace's capabilities for mount(8).
                step(credentials::set_all_group_ids(kup_sys::Gid::new(0)).is_ok(), 13)?;
                step(credentials::set_all_user_ids(Uid::new(0)).is_ok(), 14)?;
                let mounted = Command::new("mount")
                    .arg("--bind")
                    .arg(&passwd_path)
                    .arg("/etc/passwd")
                    .status();
                step(mounted.is_ok_and(|status| status.success()), 15)?;
                step(ready_writer.write_all(b"m").is_ok(), 16)?;
                let _ = release_reader.read(&mut byte);
                Ok(())
            })();
            outcome.err().unwrap_or(0)
        })
        .unwrap();
        drop(ready_writer);
        drop(release_reader);
        let mut byte = [0u8];
        ready_reader
            .read_exact(&mut byte)
            .expect("the container process did not unshare");
        for (map, text) in [("uid_map", "0 100000 65536\n"), ("gid_map", "0 100000 65536\n")] {
            fs::write(format!("/proc/{}/{map}", pid.get()), text).unwrap();
        }
        go_writer.write_all(b"g").unwrap();
        drop(go_writer);
        let mounted = ready_reader.read_exact(&mut byte);
        assert!(
            mounted.is_ok(),
            "the container process failed: {:?}",
            fork::wait(pid)
        );
        Self {
            pid,
            release: Some(release_writer),
            _files: files,
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        drop(self.release.take());
        let _ = process::kill(self.pid.get(), process::Signal::Kill);
        let _ = fork::wait(self.pid);
    }
}

/// Requests `uid` without a namespace switch.
pub fn own(uid: u32) -> Request {
    Request {
        uid: Uid::new(uid),
        namespaces: Namespaces::Own,
    }
}

/// Whether `path` exists (a process directory under /proc).
pub fn exists(path: impl AsRef<Path>) -> bool {
    path.as_ref().exists()
}
