//! User-proxy mode (`-u`, spec gssproxy-config.md §1.6) as an unprivileged user (`nobody`),
//! against the daemon `KUP_UNDER_TEST` names and, for the replies, against Debian's gssproxy
//! 0.9.1 too: no configuration file, the socket `$XDG_RUNTIME_DIR/gssproxy/default.sock` in a
//! directory created mode 0700, the one `user-proxy` service for the daemon's own uid (root is
//! not served), SIGHUP ignored, `INDICATE_MECHS` and `ACQUIRE_CRED` answered as Debian's daemon
//! answers them. The client half runs as `nobody` in a child (this test binary again), since
//! the service serves only its own uid.

mod support;

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kup_gssx::gssx::{KRB5_OID, Xdr};
use kup_gssx::interposer::{ArgAcquireCred, ResAcquireCred};
use kup_gssx::rpc::ReplyHeader;
use kup_gssx::xdr::{Decoder, Encoder, Limits, MAX_RECORD_DEFAULT};
use kup_testkit::krb5::run_bounded;
use kup_testkit::reference::{self, Tool, UnderTest};
use support::*;

const CHILD: &str = "KUP_USERPROXY_SOCKET";

fn nobody() -> kup_sys::passwd::Passwd {
    kup_sys::passwd::user_by_name(b"nobody")
        .unwrap()
        .expect("user nobody")
}

fn theirs() -> PathBuf {
    reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)")
}

fn under_test() -> PathBuf {
    match reference::under_test().expect("KUP_UNDER_TEST") {
        UnderTest::Ours => ours(),
        UnderTest::Theirs => theirs(),
    }
}

/// `program -u -i` run as nobody with only `XDG_RUNTIME_DIR` set (a fresh directory nobody
/// owns, mode 0700); killed on drop.
struct UserProxy {
    child: Child,
    runtime: PathBuf,
    _dir: TempDir,
}

impl UserProxy {
    fn start(program: &Path, extra: &[&str]) -> Self {
        let dir = TempDir::new("userproxy");
        let runtime = dir.0.join("run-user");
        std::fs::create_dir(&runtime).unwrap();
        let user = nobody();
        std::os::unix::fs::chown(&runtime, Some(user.uid.get()), Some(user.gid.get())).unwrap();
        let mut permissions = std::fs::metadata(&runtime).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o700);
        std::fs::set_permissions(&runtime, permissions).unwrap();
        let child = Command::new(program)
            .args(["-u", "-i"])
            .args(extra)
            .env_clear()
            .env("XDG_RUNTIME_DIR", &runtime)
            .current_dir(&dir.0)
            .uid(user.uid.get())
            .gid(user.gid.get())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.0.join("stderr")).unwrap())
            .spawn()
            .expect("daemon started");
        let mut proxy = Self {
            child,
            runtime,
            _dir: dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while !proxy.socket().exists() {
            assert!(
                matches!(proxy.child.try_wait(), Ok(None)),
                "{} -u exited at start",
                program.display()
            );
            assert!(Instant::now() < deadline, "no user-proxy socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Bound is not yet listening: wait until a connection is accepted.
        while std::os::unix::net::UnixStream::connect(proxy.socket()).is_err() {
            assert!(Instant::now() < deadline, "the user-proxy socket does not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
        proxy
    }

    fn socket(&self) -> PathBuf {
        self.runtime.join("gssproxy").join("default.sock")
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for UserProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs [`client_half`] as nobody against `socket`; its summary lines.
fn client_as_nobody(socket: &Path) -> Vec<String> {
    let user = nobody();
    let mut command = child_command("client_half");
    command.env(CHILD, socket).uid(user.uid.get()).gid(user.gid.get());
    child_summary(&mut command, "client_half", Duration::from_mins(1))
}

fn indicate_mechs(socket: &Path) -> Option<Vec<u8>> {
    let mut client = Client::connect(socket).expect("connect");
    client.call(&call_body(7, 1, &[0; 12])).expect("call")
}

fn summary(line: &str) {
    // With --nocapture, the line follows the harness's `test … ` text: start a new line.
    let _ = writeln!(std::io::stdout().lock(), "\n{SUMMARY}{line}");
}

/// The client half: only when started by [`client_as_nobody`].
#[test]
fn client_half() {
    let Some(socket) = std::env::var_os(CHILD).map(PathBuf::from) else {
        return;
    };
    let mechs = indicate_mechs(&socket).expect("INDICATE_MECHS answered");
    summary(&format!("mechs {}", hex(&mechs)));
    let mut encoder = Encoder::new(MAX_RECORD_DEFAULT);
    ArgAcquireCred {
        desired_mechs: vec![KRB5_OID.to_vec()],
        cred_usage: 1,
        ..ArgAcquireCred::default()
    }
    .encode(&mut encoder);
    let mut client = Client::connect(&socket).expect("connect");
    let reply = client
        .call(&call_body(8, 6, &encoder.finish().unwrap()))
        .expect("call")
        .expect("ACQUIRE_CRED answered");
    let mut decoder = Decoder::new(&reply, Limits::DEFAULT);
    ReplyHeader::decode(&mut decoder).expect("reply header");
    let acquired = ResAcquireCred::decode(&mut decoder).expect("result");
    summary(&format!(
        "acquire major {:#x} minor {:#x} handle {}",
        acquired.status.major_status,
        acquired.status.minor_status,
        acquired.output_cred_handle.is_some()
    ));
}

#[test]
fn the_user_proxy_serves_its_own_user_on_the_runtime_socket_and_ignores_sighup() {
    let program = under_test();
    let pid_file = std::fs::read("/run/gssproxy.pid").ok();
    let mut proxy = UserProxy::start(&program, &[]);
    let user = nobody();
    let dir = std::fs::metadata(proxy.runtime.join("gssproxy")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&dir.permissions()) & 0o7777,
        0o700
    );
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&dir), user.uid.get());
    let socket = std::fs::metadata(proxy.socket()).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&socket.permissions()) & 0o777,
        0o666
    );
    // No pid file, the caller's working directory kept.
    assert_eq!(std::fs::read("/run/gssproxy.pid").ok(), pid_file);
    assert_eq!(
        std::fs::read_link(format!("/proc/{}/cwd", proxy.pid())).unwrap(),
        proxy.runtime.parent().unwrap()
    );
    assert_eq!(
        proc_status_field(proxy.pid(), "Uid:"),
        vec![user.uid.get().to_string(); 4].join(" ")
    );
    // Root is not the daemon's uid: closed without a reply.
    assert_eq!(indicate_mechs(&proxy.socket()), None);
    let summary = client_as_nobody(&proxy.socket());
    assert!(
        summary.iter().any(|line| line.starts_with("mechs ")),
        "{summary:?}"
    );
    // SIGHUP changes nothing (the reference ignores it in this mode).
    let status = Command::new("/bin/kill")
        .args(["-HUP", &proxy.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(300));
    assert!(matches!(proxy.child.try_wait(), Ok(None)), "still running");
    assert_eq!(client_as_nobody(&proxy.socket()), summary);
}

#[test]
fn without_xdg_runtime_dir_or_its_parent_the_user_proxy_exits_1() {
    let program = under_test();
    let user = nobody();
    let dir = TempDir::new("userproxy-missing");
    for runtime in [None, Some(dir.0.join("missing"))] {
        let mut command = Command::new(&program);
        command
            .args(["-u", "-i"])
            .env_clear()
            .uid(user.uid.get())
            .gid(user.gid.get());
        if let Some(runtime) = &runtime {
            command.env("XDG_RUNTIME_DIR", runtime);
        }
        let out = run_bounded(&mut command, None, Duration::from_secs(20)).expect("ran");
        assert_eq!(out.status.code(), Some(1), "{runtime:?}: {}", out.status);
    }
    assert!(!dir.0.join("missing").exists());
}

#[test]
fn the_user_proxy_answers_as_debians_does() {
    let theirs_proxy = UserProxy::start(&theirs(), &[]);
    let theirs_summary = client_as_nobody(&theirs_proxy.socket());
    drop(theirs_proxy);
    let ours_proxy = UserProxy::start(&ours(), &[]);
    let ours_summary = client_as_nobody(&ours_proxy.socket());
    assert_eq!(ours_summary.len(), 2, "{ours_summary:?}");
    assert_eq!(ours_summary, theirs_summary);
    // A credential is not available to nobody: a GSS error, the same one.
    assert!(
        ours_summary
            .iter()
            .any(|line| line.starts_with("acquire major ") && line.ends_with("handle false")),
        "{ours_summary:?}"
    );
}

#[test]
fn dash_s_names_the_user_proxy_socket() {
    let program = under_test();
    let dir = TempDir::new("userproxy-s");
    let user = nobody();
    std::os::unix::fs::chown(&dir.0, Some(user.uid.get()), Some(user.gid.get())).unwrap();
    let socket = dir.0.join("explicit.sock");
    let _proxy = UserProxy::start_with_socket(&program, socket.to_str().unwrap(), &socket);
    let summary = client_as_nobody(&socket);
    assert!(
        summary.iter().any(|line| line.starts_with("mechs ")),
        "{summary:?}"
    );
}

impl UserProxy {
    /// As [`UserProxy::start`], with `-s socket`; waits for `path`.
    fn start_with_socket(program: &Path, socket: &str, path: &Path) -> Self {
        let dir = TempDir::new("userproxy-s-run");
        let runtime = dir.0.join("run-user");
        let user = nobody();
        let child = Command::new(program)
            .args(["-u", "-i", "-s", socket])
            .env_clear()
            .env("XDG_RUNTIME_DIR", &runtime)
            .uid(user.uid.get())
            .gid(user.gid.get())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("daemon started");
        let proxy = Self {
            child,
            runtime,
            _dir: dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while std::os::unix::net::UnixStream::connect(path).is_err() {
            assert!(Instant::now() < deadline, "no -s socket");
            std::thread::sleep(Duration::from_millis(20));
        }
        // XDG_RUNTIME_DIR is not used when -s is given (it does not even exist).
        assert!(!proxy.runtime.exists());
        proxy
    }
}
