//! kup-priv against the real kernel, as root: the identity switch seen from `/proc/self/status`,
//! the namespace rules, a real user + mount namespace, the parent's bounds on its child, and the
//! environment reader. Every switch happens in `run_in_child`'s child: the test process keeps
//! its identity and namespaces (checked).

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kup_priv::{ChildError, Namespaces, Pid, Request, Uid, WorkError, read_environ};
use kup_sys::namespace::Namespace;
use kup_sys::{capability, fork, process};
use support::*;

#[test]
fn the_child_becomes_nobody_with_no_groups_capabilities_or_way_back() {
    require_root();
    let status = run(own(NOBODY), |user| {
        assert_eq!((user.uid(), user.gid().get()), (Uid::new(NOBODY), NOBODY));
        fs::read("/proc/self/status").map_err(failed)
    })
    .unwrap();
    let status = String::from_utf8(status.as_bytes().to_vec()).unwrap();
    let nobody = NOBODY.to_string();
    assert_eq!(status_field(&status, "Uid"), [nobody.as_str(); 4], "{status}");
    assert_eq!(status_field(&status, "Gid"), [nobody.as_str(); 4], "{status}");
    assert!(status_field(&status, "Groups").is_empty(), "{status}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(
            status_field(&status, set),
            ["0000000000000000"],
            "{set} in {status}"
        );
    }
    assert_eq!(status_field(&status, "NoNewPrivs"), ["1"], "{status}");
    // The test process itself is untouched.
    assert_eq!(process::user_ids().unwrap().effective, Uid::ROOT);
    assert_ne!(capability::current().unwrap().effective, 0);
}

#[test]
fn root_requests_keep_uid_0_but_lose_every_capability() {
    require_root();
    let status = run(own(0), |user| {
        assert_eq!((user.uid(), user.gid().get()), (Uid::ROOT, 0));
        fs::read("/proc/self/status").map_err(failed)
    })
    .unwrap();
    let status = String::from_utf8(status.as_bytes().to_vec()).unwrap();
    assert_eq!(status_field(&status, "Uid"), ["0"; 4]);
    assert!(status_field(&status, "Groups").is_empty(), "{status}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(
            status_field(&status, set),
            ["0000000000000000"],
            "{set} in {status}"
        );
    }
    assert_eq!(status_field(&status, "NoNewPrivs"), ["1"]);
}

#[test]
fn a_uid_without_a_passwd_entry_is_refused_before_any_work() {
    require_root();
    let error = run(own(54_321), |_| Ok(b"must not run".to_vec())).unwrap_err();
    assert!(
        matches!(&error, ChildError::Switch(message) if message.contains("unable to find pw entry for uid 54321")),
        "{error:?}"
    );
}

#[test]
fn pid_0_and_a_dead_pid_mean_no_namespace_switch() {
    require_root();
    let dead = fork::spawn(|| 0).unwrap();
    fork::wait(dead).unwrap();
    for pid in [Pid::new(0), dead] {
        let request = Request {
            uid: Uid::new(NOBODY),
            namespaces: Namespaces::Requester(pid),
        };
        let seen = run(request, |_| {
            let kinds = [Namespace::Net, Namespace::Mount, Namespace::Uts, Namespace::User];
            Ok(kinds
                .map(|kind| namespace_inode(None, kind).to_le_bytes())
                .concat())
        })
        .unwrap();
        let ours = [Namespace::Net, Namespace::Mount, Namespace::Uts, Namespace::User]
            .map(|kind| namespace_inode(None, kind).to_le_bytes())
            .concat();
        assert_eq!(seen.as_bytes(), ours, "pid {pid}");
    }
}

#[test]
fn a_requester_in_the_initial_namespaces_is_entered_without_error() {
    require_root();
    // The common case on a host: every namespace is ours; setns into the same one succeeds and
    // the user namespace is skipped.
    let request = Request {
        uid: Uid::new(NOBODY),
        namespaces: Namespaces::Requester(Pid::new(i32::try_from(std::process::id()).unwrap())),
    };
    let seen = run(request, |user| {
        Ok(format!("{} {}", user.uid(), user.gid()).into_bytes())
    })
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(seen.as_bytes()),
        format!("{NOBODY} {NOBODY}")
    );
}

#[test]
fn a_requester_in_its_own_user_and_mount_namespace_is_served_inside_them() {
    require_root();
    let container =
        Container::new("root:x:0:0:root:/root:/bin/sh\nalice:x:1234:4321:alice:/home/alice:/bin/sh\n");
    let files = SharedDir::new("userns");
    let marker = files.join("made-by-alice");
    let our_user_ns = namespace_inode(None, Namespace::User);
    let request = Request {
        uid: Uid::new(CONTAINER_BASE + 1234),
        namespaces: Namespaces::Requester(container.pid),
    };
    let seen = run(request, |user| {
        // The uid and gid as the container sees them, and the container's passwd file.
        let entry = kup_sys::passwd::user_by_uid(user.uid())
            .map_err(failed)?
            .ok_or_else(|| failed("no entry"))?;
        fs::write(&marker, b"").map_err(failed)?;
        let user_ns = namespace_inode(None, Namespace::User);
        Ok(format!(
            "{} {} {} {} {}",
            user.kernel_uid(),
            user.uid(),
            user.gid(),
            String::from_utf8_lossy(&entry.name),
            user_ns
        )
        .into_bytes())
    })
    .unwrap();
    let container_user_ns = namespace_inode(Some(container.pid), Namespace::User);
    assert_eq!(
        String::from_utf8_lossy(seen.as_bytes()),
        format!("101234 1234 4321 alice {container_user_ns}")
    );
    // The file the child made belongs to the same kernel uid the kernel sent, and to the
    // container's gid 4321 (kernel gid 104321): pw_gid came from the container's passwd.
    let made = fs::metadata(&marker).unwrap();
    assert_eq!((made.uid(), made.gid()), (101_234, 104_321));
    // The parent never left the initial user namespace.
    assert_eq!(namespace_inode(None, Namespace::User), our_user_ns);
    assert_ne!(container_user_ns, our_user_ns);
}

#[test]
fn the_passwd_lookup_in_the_requesters_namespaces_runs_as_the_user_not_as_root() {
    require_root();
    // CVE-2026-12505: the reference runs NSS as root inside namespaces the requester controls.
    // Here a passwd file only the container's root may read cannot be read by the lookup, so
    // the switch fails; a lookup with root's privileges would have read it.
    let container = Container::with_private_passwd(
        "root:x:0:0:root:/root:/bin/sh\nalice:x:1234:4321:alice:/home/alice:/bin/sh\n",
    );
    let request = Request {
        uid: Uid::new(CONTAINER_BASE + 1234),
        namespaces: Namespaces::Requester(container.pid),
    };
    let error = run(request, |_| Ok(b"must not run".to_vec())).unwrap_err();
    assert!(
        matches!(&error, ChildError::Switch(message)
            if message.contains("passwd lookup failed") || message.contains("unable to find pw entry")),
        "{error:?}"
    );
}

#[test]
fn a_uid_unmapped_in_the_requesters_user_namespace_is_refused() {
    require_root();
    let container = Container::new("root:x:0:0:root:/root:/bin/sh\n");
    let request = Request {
        uid: Uid::new(1000),
        namespaces: Namespaces::Requester(container.pid),
    };
    let error = run(request, |_| Ok(b"must not run".to_vec())).unwrap_err();
    assert!(
        matches!(&error, ChildError::Switch(message) if message.contains("uid 1000 is not mapped")),
        "{error:?}"
    );
}

#[test]
fn a_failing_setns_aborts_the_switch() {
    require_root();
    let container = Container::new("root:x:0:0:root:/root:/bin/sh\n");
    let request = Request {
        uid: Uid::new(CONTAINER_BASE),
        namespaces: Namespaces::Requester(container.pid),
    };
    // A process of uid 0 without CAP_SYS_ADMIN: every setns is refused (EPERM).
    let (reader, mut writer) = std::io::pipe().unwrap();
    let tester = fork::spawn(|| {
        let mut sets = capability::current().unwrap();
        let without = !(1u64 << capability::CAP_SYS_ADMIN);
        sets.effective &= without;
        sets.permitted &= without;
        capability::set(sets).unwrap();
        let outcome = run(request, |_| Ok(b"must not run".to_vec()));
        let text = format!("{outcome:?}");
        std::io::Write::write_all(&mut writer, text.as_bytes()).unwrap();
        0
    })
    .unwrap();
    drop(writer);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut { reader }, &mut text).unwrap();
    assert_eq!(fork::wait(tester).unwrap(), fork::ExitStatus::Exited(0));
    assert!(
        text.contains("Switch(\"cannot enter the requester's cgroup namespace: Operation not permitted"),
        "{text}"
    );
}

#[test]
fn the_deadline_kills_and_reaps_a_child_that_hangs() {
    require_root();
    let files = SharedDir::new("hang");
    let pid_file = files.join("pid");
    let started = Instant::now();
    let deadline = started + Duration::from_secs(1);
    let error = kup_priv::run_in_child(deadline, &own(NOBODY), |_| -> Result<Vec<u8>, WorkError> {
        fs::write(&pid_file, std::process::id().to_string()).map_err(failed)?;
        std::thread::sleep(Duration::from_mins(1));
        Ok(Vec::new())
    })
    .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, ChildError::TimedOut), "{error:?}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let child: i32 = fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert!(!exists(format!("/proc/{child}")), "child {child} still exists");
}

#[test]
fn a_child_that_panics_or_aborts_is_an_error_in_the_parent() {
    require_root();
    let panicked = run(own(NOBODY), |_| panic!("work panicked")).unwrap_err();
    assert!(matches!(panicked, ChildError::Exited(125)), "{panicked:?}");
    let aborted = run(own(NOBODY), |_| std::process::abort()).unwrap_err();
    assert!(
        matches!(aborted, ChildError::Killed(libc::SIGABRT)),
        "{aborted:?}"
    );
}

#[test]
fn work_errors_and_oversized_results_come_back_as_work_errors() {
    require_root();
    let error = run(own(NOBODY), |_| {
        Err(WorkError {
            code: 7,
            message: "no credentials".into(),
        })
    })
    .unwrap_err();
    assert!(
        matches!(&error, ChildError::Work(WorkError { code: 7, message }) if message == "no credentials"),
        "{error:?}"
    );
    let error = run(own(NOBODY), |_| Ok(vec![1; kup_priv::MAX_RESULT + 1])).unwrap_err();
    assert!(
        matches!(&error, ChildError::Work(WorkError { code: u32::MAX, .. })),
        "{error:?}"
    );
    let largest = run(own(NOBODY), |_| Ok(vec![7; kup_priv::MAX_RESULT])).unwrap();
    assert_eq!(largest.as_bytes(), vec![7; kup_priv::MAX_RESULT]);
}

/// A `sleep` run as nobody with exactly `environment` (NUL-separated `NAME=value`s).
struct Sleeper(std::process::Child);

impl Sleeper {
    fn new(variables: &[String]) -> Self {
        Self::with_ids(&["--reuid=65534", "--regid=65534"], variables)
    }

    /// A `sleep` with these `setpriv` id options and environment.
    fn with_ids(ids: &[&str], variables: &[String]) -> Self {
        let child = Command::new("setpriv")
            .args(ids)
            .args(["--clear-groups", "env", "-i"])
            .args(variables)
            .args(["sleep", "60"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let cmdline = format!("/proc/{}/cmdline", child.id());
        let waiting = Instant::now();
        while !fs::read(&cmdline).is_ok_and(|line| line.starts_with(b"sleep\0")) {
            assert!(waiting.elapsed() < Duration::from_secs(10), "sleep never started");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self(child)
    }

    fn pid(&self) -> Pid {
        Pid::new(i32::try_from(self.0.id()).unwrap())
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn variable(name: &str, length: usize) -> String {
    format!("{name}={}", "x".repeat(length))
}

#[test]
fn the_environ_reader_returns_a_100_kib_environment_whole() {
    require_root();
    let variables = [variable("KRB5CCNAME", 20), variable("BIG", 100 * 1024)];
    let sleeper = Sleeper::new(&variables);
    let pid = sleeper.pid();
    let expected: Vec<u8> = variables.iter().flat_map(|v| v.bytes().chain([0])).collect();
    // Compared in the child: 100 KiB is more than a result may carry.
    let seen = run(own(NOBODY), |user| {
        let read = read_environ(user, pid).map_err(failed)?;
        Ok(format!("{} {}", read.len(), read == expected).into_bytes())
    })
    .unwrap();
    assert_eq!(
        String::from_utf8_lossy(seen.as_bytes()),
        format!("{} true", expected.len())
    );
}

#[test]
fn the_environ_reader_gives_up_beyond_128_kib() {
    require_root();
    let sleeper = Sleeper::new(&[variable("A", 70 * 1024), variable("B", 70 * 1024)]);
    let pid = sleeper.pid();
    let error = run(own(NOBODY), |user| read_environ(user, pid).map_err(failed)).unwrap_err();
    assert!(
        matches!(&error, ChildError::Work(WorkError { message, .. }) if message.contains("larger than 131072")),
        "{error:?}"
    );
}

#[test]
fn the_environ_reader_cannot_read_another_users_process() {
    require_root();
    // pid 1 runs as root: the kernel refuses its environment to nobody.
    let error = run(own(NOBODY), |user| {
        read_environ(user, Pid::new(1)).map_err(failed)
    })
    .unwrap_err();
    assert_permission_denied(&error);
}

/// A requester running as the user with effective uid root (mount.cifs is setuid root): the
/// kernel would refuse its environment to the user, so the child opens it through the initial
/// procfs before the switch and reads it as the user.
#[test]
fn the_environ_of_a_setuid_root_requester_of_the_user_is_read() {
    require_root();
    let sleeper = Sleeper::with_ids(
        &["--ruid=65534", "--euid=0", "--rgid=65534"],
        &[variable("KRB5CCNAME", 40)],
    );
    let pid = sleeper.pid();
    let request = Request {
        uid: Uid::new(NOBODY),
        namespaces: Namespaces::Requester(pid),
    };
    let read = run(request, |user| read_environ(user, pid).map_err(failed)).unwrap();
    assert!(
        read.as_bytes().starts_with(b"KRB5CCNAME="),
        "{:?}",
        String::from_utf8_lossy(read.as_bytes())
    );
    // Opened as the user after the switch (Own: no privileged open), the kernel refuses it.
    let refused = run(own(NOBODY), |user| read_environ(user, pid).map_err(failed)).unwrap_err();
    assert_permission_denied(&refused);
}

/// A requester that does not run as the user (here: root) is not opened before the switch: the
/// user reads it as the kernel allows, which is not at all.
#[test]
fn another_users_requester_is_not_opened_with_roots_rights() {
    require_root();
    let sleeper = Sleeper::with_ids(&["--reuid=0", "--regid=0"], &[variable("KRB5CCNAME", 40)]);
    let pid = sleeper.pid();
    let request = Request {
        uid: Uid::new(NOBODY),
        namespaces: Namespaces::Requester(pid),
    };
    let error = run(request, |user| read_environ(user, pid).map_err(failed)).unwrap_err();
    assert_permission_denied(&error);
}

/// The work failed because the kernel refused the user the requester's environment.
#[track_caller]
fn assert_permission_denied(error: &ChildError) {
    assert!(
        matches!(error, ChildError::Work(WorkError { message, .. }) if message.contains("Permission denied")),
        "{error:?}"
    );
}
