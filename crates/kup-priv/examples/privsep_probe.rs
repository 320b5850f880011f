//! A request-key helper used by kup-priv's upcall tests: `privsep_probe MODE KEY PID UID`.
//!
//! Every mode starts like a kup helper (`kup_runtime::helper::start`, so its deadline timer is
//! armed when it forks) except `in-process`, and guards KEY with "negate for 7 s".
//! - `child`: `run_in_child` enters PID's namespaces as kernel uid UID; the work answers
//!   "<uid> <gid>" as the requester's user namespace sees them; the parent instantiates KEY
//!   with that.
//! - `child-panics`: the work panics; the parent then instantiates KEY with `parent-after-panic`
//!   (the child must not have finished the key through the inherited panic hook).
//! - `child-tries-key`: the work tries to instantiate KEY itself and answers with the errno it
//!   got; the parent instantiates KEY with that answer.
//! - `child-hangs`: the helper's deadline is 2 s (exit status 12); the work writes its pid to
//!   `/tmp/kup-priv-hang-KEY` and sleeps; `run_in_child`'s own deadline (10 s) is later, so the
//!   helper's deadline negates the key, kills the child and ends the helper.
//! - `in-process`: the process itself enters PID's user namespace and then instantiates KEY,
//!   as the reference does; exit status 3 when the kernel refuses (`EPERM`).

#![forbid(unsafe_code)]

use std::os::fd::AsFd as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use kup_priv::{Namespaces, Pid, Request, Uid, WorkError, run_in_child};
use kup_runtime::deadline::Deadline;
use kup_runtime::helper::{self, Disposition, KeyGuard, StartOptions};
use kup_sys::KeySerial;
use kup_sys::namespace::{self, Namespace};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, key, pid, uid] = args.as_slice() else {
        return ExitCode::from(8);
    };
    let (Ok(key), Ok(pid), Ok(uid)) = (key.parse(), pid.parse(), uid.parse()) else {
        return ExitCode::from(8);
    };
    let (key, pid, uid) = (KeySerial::new(key), Pid::new(pid), Uid::new(uid));
    if mode == "in-process" {
        return in_process(key, pid);
    }
    let mut options = StartOptions::daemon(c"privsep_probe");
    if mode == "child-hangs" {
        options = options.with_deadline(Deadline::new(Duration::from_secs(2), 12));
    }
    if helper::start(&options).is_err() {
        return ExitCode::from(9);
    }
    let guard = KeyGuard::new(key, Disposition::Negate { timeout_secs: 7 });
    let request = Request {
        uid,
        namespaces: Namespaces::Requester(pid),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let payload = match mode.as_str() {
        "child" => run_in_child(deadline, &request, |user| -> Result<Vec<u8>, WorkError> {
            Ok(format!("{} {}", user.uid(), user.gid()).into_bytes())
        })
        .map(|secret| secret.as_bytes().to_vec()),
        "child-panics" => match run_in_child(deadline, &request, |_| -> Result<Vec<u8>, WorkError> {
            panic!("the work panics")
        }) {
            Err(kup_priv::ChildError::Exited(_)) => Ok(b"parent-after-panic".to_vec()),
            other => other.map(|secret| secret.as_bytes().to_vec()),
        },
        "child-tries-key" => run_in_child(deadline, &request, |_| -> Result<Vec<u8>, WorkError> {
            let tried = kup_sys::keyctl::instantiate(key, b"from-child", KeySerial::NONE);
            let errno = tried.err().and_then(|error| error.raw_os_error()).unwrap_or(0);
            Ok(format!("child got errno {errno}").into_bytes())
        })
        .map(|secret| secret.as_bytes().to_vec()),
        "child-hangs" => run_in_child(deadline, &request, |_| -> Result<Vec<u8>, WorkError> {
            let _ = std::fs::write(
                format!("/tmp/kup-priv-hang-{}", key.get()),
                std::process::id().to_string(),
            );
            std::thread::sleep(Duration::from_mins(1));
            Ok(b"too late".to_vec())
        })
        .map(|secret| secret.as_bytes().to_vec()),
        _ => return ExitCode::from(7),
    };
    match payload {
        Ok(payload) if guard.instantiate(&payload).is_ok() => ExitCode::SUCCESS,
        _ => ExitCode::from(2),
    }
}

fn in_process(key: KeySerial, pid: Pid) -> ExitCode {
    let Ok(user_namespace) = namespace::open(Some(pid), Namespace::User) else {
        return ExitCode::from(4);
    };
    if namespace::enter(user_namespace.as_fd(), Namespace::User).is_err() {
        return ExitCode::from(5);
    }
    match kup_sys::keyctl::instantiate(key, b"in-process", KeySerial::NONE) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.raw_os_error() == Some(libc::EPERM) => ExitCode::from(3),
        Err(_) => ExitCode::from(6),
    }
}
