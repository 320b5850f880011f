//! `kup-test-dispatch`: the request-key handler of the host upcall harness.
//!
//! Run by `/sbin/request-key` with `%k %t %d %c %S %u %g %T %P` (see `kup_testkit::upcall`). Routes
//! upcalls whose requester's session keyring is named `kuptest:<id>` to the argv stored for that
//! route, bounded by the route's timeout; everything else gets the stock behaviour. Also
//! `--install` / `--uninstall` put the harness in place or remove it.

#![forbid(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kup_sys::KeySerial;
use kup_sys::keyctl;
use kup_testkit::upcall::{self, Upcall, UpcallStatus};

/// What the stock `/etc/request-key.conf` runs for `dns_resolver` keys.
const STOCK_DNS_RESOLVER: &str = "/sbin/key.dns_resolver";

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match args.first().map(|first| first.as_bytes()) {
        Some(b"--install") => {
            let installed = std::env::current_exe().and_then(|exe| upcall::install_from(&exe));
            report_admin("install", installed)
        }
        Some(b"--uninstall") => report_admin("uninstall", upcall::uninstall()),
        _ => dispatch(&args),
    }
}

fn report_admin(what: &str, result: std::io::Result<()>) -> ExitCode {
    use std::io::Write as _;
    let mut stderr = std::io::stderr().lock();
    match result {
        Ok(()) => {
            let _ = writeln!(stderr, "kup-test-dispatch: {what}: done");
            ExitCode::SUCCESS
        }
        Err(error) => {
            let _ = writeln!(stderr, "kup-test-dispatch: {what}: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The request-key arguments, in rule order.
struct Request<'a> {
    key: &'a OsStr,
    key_type: &'a OsStr,
    description: &'a OsStr,
    callout: &'a OsStr,
    session: &'a OsStr,
    uid: &'a OsStr,
    gid: &'a OsStr,
    thread_keyring: &'a OsStr,
    process_keyring: &'a OsStr,
}

fn dispatch(args: &[OsString]) -> ExitCode {
    let [
        key,
        key_type,
        description,
        callout,
        session,
        uid,
        gid,
        thread_keyring,
        process_keyring,
    ] = args
    else {
        return ExitCode::FAILURE;
    };
    let request = Request {
        key,
        key_type,
        description,
        callout,
        session,
        uid,
        gid,
        thread_keyring,
        process_keyring,
    };
    match route_id(session) {
        Some(id) => run_route(&Path::new(upcall::RUN_DIR).join(id), &request),
        None => stock(&request),
    }
}

/// The route id when the requester's session keyring is a test route.
fn route_id(session: &OsStr) -> Option<String> {
    let serial: i32 = session.to_str()?.parse().ok()?;
    let described = keyctl::describe(KeySerial::new(serial)).ok()?;
    let id = described
        .description
        .strip_prefix(upcall::SESSION_PREFIX.as_bytes())?;
    let valid = !id.is_empty()
        && id
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'));
    valid.then(|| String::from_utf8_lossy(id).into_owned())
}

/// What the system would do without the harness rule.
fn stock(request: &Request<'_>) -> ExitCode {
    if request.key_type.as_bytes() == b"dns_resolver" && Path::new(STOCK_DNS_RESOLVER).exists() {
        let error = Command::new(STOCK_DNS_RESOLVER)
            .arg0("key.dns_resolver")
            .arg(request.key)
            .exec();
        drop(error);
    }
    ExitCode::FAILURE
}

fn run_route(dir: &Path, request: &Request<'_>) -> ExitCode {
    let Ok(template) = fs::read(dir.join("argv")) else {
        return ExitCode::FAILURE;
    };
    let timeout = fs::read_to_string(dir.join("timeout"))
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .map_or(upcall::DEFAULT_HELPER_TIMEOUT, Duration::from_millis);
    // Each argument is stored NUL-terminated; empty arguments are kept.
    let template = template.strip_suffix(&[0]).unwrap_or(&template);
    let mut argv: Vec<OsString> = template
        .split(|&byte| byte == 0)
        .map(|argument| expand(argument, request))
        .collect();
    if argv.is_empty() {
        return ExitCode::FAILURE;
    }
    let program = argv.remove(0);
    let base_name = Path::new(&program)
        .file_name()
        .map_or_else(|| program.clone(), OsStr::to_os_string);
    let started = Instant::now();
    let spawned = Command::new(&program)
        .arg0(&base_name)
        .args(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn();
    let mut recorded_argv = vec![base_name];
    recorded_argv.extend(argv);
    let Ok(mut child) = spawned else {
        let upcall = Upcall {
            argv: recorded_argv,
            status: UpcallStatus::SpawnFailed,
            duration: started.elapsed(),
        };
        let _ = upcall::append_record(dir, &upcall);
        return ExitCode::FAILURE;
    };
    let group = i32::try_from(child.id()).map_or(0, |pid| -pid);
    let (done, watch) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if watch.recv_timeout(timeout) == Err(mpsc::RecvTimeoutError::Timeout) && group != 0 {
            let _ = kup_sys::process::kill(group, kup_sys::process::Signal::Kill);
            return true;
        }
        false
    });
    let waited = child.wait();
    drop(done);
    let timed_out = watchdog.join().unwrap_or(false);
    let status = match waited {
        _ if timed_out => UpcallStatus::TimedOut,
        Ok(status) => status.code().map_or_else(
            || UpcallStatus::Signaled(status.signal().unwrap_or(0)),
            UpcallStatus::Exited,
        ),
        Err(_) => UpcallStatus::SpawnFailed,
    };
    let exit = match status {
        UpcallStatus::Exited(code) => u8::try_from(code).unwrap_or(1),
        _ => 1,
    };
    let upcall = Upcall {
        argv: recorded_argv,
        status,
        duration: started.elapsed(),
    };
    let _ = upcall::append_record(dir, &upcall);
    ExitCode::from(exit)
}

/// Expands one whole-argument request-key macro, as `/sbin/request-key` does; anything that is
/// not exactly a known macro is passed through (with `%%x` becoming `%x`).
fn expand(argument: &[u8], request: &Request<'_>) -> OsString {
    let value = match argument {
        b"%k" => request.key,
        b"%t" => request.key_type,
        b"%d" => request.description,
        b"%c" => request.callout,
        b"%S" => request.session,
        b"%u" => request.uid,
        b"%g" => request.gid,
        b"%T" => request.thread_keyring,
        b"%P" => request.process_keyring,
        [b'%', b'%', rest @ ..] => {
            let mut literal = vec![b'%'];
            literal.extend_from_slice(rest);
            return OsString::from_vec(literal);
        }
        other => return OsString::from_vec(other.to_vec()),
    };
    value.to_os_string()
}
