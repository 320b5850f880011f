//! The gssproxy tests' harness: a daemon (ours or Debian's) started in the foreground on
//! private paths and killed on drop, and a client that speaks exactly what the kernel's nfsd
//! speaks (`net/sunrpc/auth_gss/gss_rpc_xdr.c`, spec gssproxy-protocol.md §3.2): one
//! single-fragment record per call, `AUTH_NONE`, the two export options with their NULs.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test file uses a part of the harness"
)]

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kup_gssx::gssx::{ArgAcceptSecContext, CallCtx, Procedure, ResAcceptSecContext, Xdr};
use kup_gssx::rpc::{AcceptStat, CallHeader, ReplyBody, ReplyHeader};
use kup_gssx::xdr::{Decoder, Encoder, Limits, MAX_RECORD_DEFAULT};

/// How long a daemon may take to create its socket.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a reply may take.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(20);
/// Debian's daemon writes this even in the foreground.
const PID_FILE: &str = "/run/gssproxy.pid";

/// Our daemon.
#[must_use]
pub fn ours() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gssproxy"))
}

/// A private directory, removed on drop.
#[derive(Debug)]
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh directory under /tmp, mode 0755 (the daemons run as root; clients may not).
    #[must_use]
    pub fn new(tag: &str) -> Self {
        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("kup-gssproxy-{tag}-{}-{seq}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Serializes, within one test binary, the daemons that write `/run/gssproxy.pid` (Debian's,
/// and ours in daemon mode): a test that reads the file must find its own daemon's pid.
pub fn pid_file_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What to do with Debian's pid file when its daemon is gone.
#[derive(Debug)]
enum PidFile {
    /// Ours does not write it in the foreground.
    Untouched,
    /// Put these bytes back.
    Restore(Vec<u8>),
    /// There was none: remove it.
    Remove,
}

/// A running daemon: SIGTERM then SIGKILL on drop; Debian's pid file put back as it was.
#[derive(Debug)]
pub struct Daemon {
    child: Child,
    /// The service socket (the kernel's, in these tests).
    pub socket: PathBuf,
    /// The default socket (`-s`).
    pub default_socket: PathBuf,
    stderr: PathBuf,
    pid_file: PidFile,
    /// Held while Debian's daemon runs (it writes the pid file).
    _pid_file_lock: Option<std::sync::MutexGuard<'static, ()>>,
}

impl Daemon {
    /// Starts `program -i -c <dir>/gssproxy.conf -s <dir>/default.sock` with `config` (in which
    /// `@DIR@` is replaced by `dir`) and exactly `env` (plus PATH); returns once the service
    /// socket `<dir>/gssproxy.sock` accepts connections.
    pub fn launch(
        program: &Path,
        dir: &Path,
        config: &str,
        env: &[(OsString, OsString)],
        extra: &[&str],
    ) -> Self {
        Self::launch_wrapped(&[], program, dir, config, env, extra)
    }

    /// [`Daemon::launch`] with `program` and its arguments run by `wrapper` (a command and its
    /// arguments that ends by exec'ing the rest of its command line, e.g. `unshare ... sh -c
    /// '...; exec "$0" "$@"'`), so the child is the daemon itself once the wrapper has run.
    pub fn launch_wrapped(
        wrapper: &[OsString],
        program: &Path,
        dir: &Path,
        config: &str,
        env: &[(OsString, OsString)],
        extra: &[&str],
    ) -> Self {
        let config_path = dir.join("gssproxy.conf");
        fs::write(&config_path, config.replace("@DIR@", &dir.display().to_string())).expect("config");
        let socket = dir.join("gssproxy.sock");
        let default_socket = dir.join("default.sock");
        let stderr = dir.join("daemon.stderr");
        let pid_file_lock = (program != ours()).then(pid_file_lock);
        let pid_file = match (program == ours(), fs::read(PID_FILE)) {
            (true, _) => PidFile::Untouched,
            (false, Ok(before)) => PidFile::Restore(before),
            (false, Err(_)) => PidFile::Remove,
        };
        let mut command = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut command = Command::new(first);
                command.args(rest).arg(program);
                command
            }
            None => Command::new(program),
        };
        let child = command
            .arg("-i")
            .arg("-c")
            .arg(&config_path)
            .arg("-s")
            .arg(&default_socket)
            .args(extra)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("daemon started");
        let mut daemon = Self {
            child,
            socket,
            default_socket,
            stderr,
            pid_file,
            _pid_file_lock: pid_file_lock,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while UnixStream::connect(&daemon.socket).is_err() {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                panic!(
                    "{} exited at start ({status}): {}",
                    program.display(),
                    daemon.stderr_text()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not create its socket",
                program.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon
    }

    /// What the daemon wrote on stderr so far.
    #[must_use]
    pub fn stderr_text(&self) -> String {
        fs::read(&self.stderr)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// The daemon's pid.
    #[must_use]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size in KiB (`VmRSS`).
    #[must_use]
    pub fn rss_kib(&self) -> u64 {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    /// Whether the daemon still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then its exit status (SIGKILL after 10 s).
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let pid = i32::try_from(self.child.id()).ok()?;
        let _ = kup_sys::process::kill(pid, kup_sys::process::Signal::Terminate);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.terminate();
        }
        match &self.pid_file {
            PidFile::Restore(before) => {
                let _ = fs::write(PID_FILE, before);
            }
            PidFile::Remove => {
                let _ = fs::remove_file(PID_FILE);
            }
            PidFile::Untouched => {}
        }
    }
}

/// A connection to a daemon.
#[derive(Debug)]
pub struct Client {
    /// The socket.
    pub stream: UnixStream,
}

impl Client {
    /// Connects to `path`.
    pub fn connect(path: &Path) -> io::Result<Self> {
        let stream = UnixStream::connect(path)?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        Ok(Self { stream })
    }

    /// Sends `body` as one single-fragment record, as the kernel does.
    pub fn send(&mut self, body: &[u8]) -> io::Result<()> {
        let record = kup_gssx::record::write_record(body, usize::MAX).map_err(io::Error::other)?;
        self.stream.write_all(&record)
    }

    /// Reads one reply record's body; `None` when the daemon closed the connection instead.
    pub fn receive(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut mark = [0_u8; 4];
        match self.stream.read_exact(&mut mark) {
            Ok(()) => {}
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset
                ) =>
            {
                return Ok(None);
            }
            Err(error) => return Err(error),
        }
        let mark = u32::from_be_bytes(mark);
        assert!(mark & 0x8000_0000 != 0, "reply is not a single last fragment");
        let length = usize::try_from(mark & 0x7fff_ffff).unwrap();
        assert!(length <= MAX_RECORD_DEFAULT, "reply of {length} bytes");
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body)?;
        Ok(Some(body))
    }

    /// One call: send, then receive.
    pub fn call(&mut self, body: &[u8]) -> io::Result<Option<Vec<u8>>> {
        self.send(body)?;
        self.receive()
    }
}

/// A call body: the RPC header of `procedure` (`AUTH_NONE`) and `arguments`.
#[must_use]
pub fn call_body(xid: u32, procedure: u32, arguments: &[u8]) -> Vec<u8> {
    let mut header = CallHeader::gssproxy(xid, Procedure::GetCallContext);
    header.procedure = procedure;
    let mut encoder = Encoder::new(MAX_RECORD_DEFAULT);
    header.encode(&mut encoder);
    encoder.fixed(arguments);
    encoder.finish().expect("call fits")
}

/// The kernel's `ACCEPT_SEC_CONTEXT` arguments for the `RPCSEC_GSS` INIT token `token`, with
/// `call_ctx` (the kernel's: [`CallCtx::kernel`]).
#[must_use]
pub fn accept_arguments(token: &[u8], call_ctx: CallCtx) -> Vec<u8> {
    let arguments = ArgAcceptSecContext {
        call_ctx,
        context_handle: None,
        cred_handle: None,
        input_token: token.to_vec(),
        input_cb: None,
        ret_deleg_cred: false,
        options: Vec::new(),
    };
    let mut encoder = Encoder::new(MAX_RECORD_DEFAULT);
    arguments.encode(&mut encoder);
    encoder.finish().expect("arguments fit")
}

/// The kernel's `ACCEPT_SEC_CONTEXT` call body for `token`.
#[must_use]
pub fn kernel_accept_call(xid: u32, token: &[u8]) -> Vec<u8> {
    call_body(xid, 9, &accept_arguments(token, CallCtx::kernel()))
}

/// Decodes an `ACCEPT_SEC_CONTEXT` reply: its header and, when accepted with SUCCESS, the result.
#[must_use]
pub fn decode_accept_reply(body: &[u8]) -> (ReplyHeader, Option<ResAcceptSecContext>) {
    let mut decoder = Decoder::new(body, Limits::DEFAULT);
    let header = ReplyHeader::decode(&mut decoder).expect("reply header");
    let success = matches!(
        header.body,
        kup_gssx::rpc::ReplyBody::Accepted {
            status: kup_gssx::rpc::AcceptStat::Success,
            ..
        }
    );
    let result = success.then(|| ResAcceptSecContext::decode(&mut decoder).expect("accept result"));
    (header, result)
}

/// Lower-case hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// Runs MIT's `gss-client -port PORT localhost TARGET MESSAGE` in `dir` with exactly `env`
/// (plus PATH) against `server` (a `gss-server -once` already started), retrying while the
/// server does not listen yet (a connect failure and nothing else, within `timeout`), then
/// waits up to 10 s for the server to end. Returns whether both succeeded and the client's
/// output (stdout then stderr).
pub fn run_gss_client(
    server: &mut Child,
    port: u16,
    target: &str,
    message: &str,
    env: &[(OsString, OsString)],
    dir: &Path,
    timeout: Duration,
) -> (bool, String) {
    let deadline = Instant::now() + timeout;
    let (client_ok, text) = loop {
        let mut client = Command::new("gss-client");
        client
            .args(["-port", &port.to_string(), "localhost", target, message])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .envs(env.iter().cloned())
            .current_dir(dir);
        let out = kup_testkit::krb5::run_bounded(&mut client, None, timeout).expect("gss-client ran");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let server_gone = matches!(server.try_wait(), Ok(Some(_)));
        if out.status.success() || !text.contains("connect") || server_gone || Instant::now() > deadline {
            break (out.status.success(), text);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let server_ok = wait_bounded(server, Duration::from_secs(10)) == Some(true);
    (client_ok && server_ok, text)
}

/// Waits up to `timeout` for `child`: its success, or `None` (then it is killed and reaped).
pub fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status.success());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The prefix of the lines a client half prints for its parent ([`child_summary`]).
pub const SUMMARY: &str = "SUMMARY ";

/// This test binary re-executed as `test` (`--exact`, one thread, output shown), with a clean
/// environment (PATH only); the caller adds the rest (the variable that makes it a client half,
/// the realm's environment, a uid).
pub fn child_command(test: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    command
}

/// Runs a client half (bounded by `timeout`), requires it to pass, and returns the lines it
/// printed after [`SUMMARY`].
pub fn child_summary(command: &mut Command, what: &str, timeout: Duration) -> Vec<String> {
    let out = kup_testkit::krb5::run_bounded(command, None, timeout).expect("child ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "client half of {what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| line.strip_prefix(SUMMARY).map(str::to_owned))
        .collect()
}

impl Client {
    /// One call of `procedure` with `arguments` (xid `xid`): its result for RPC `SUCCESS`,
    /// `None` for `SYSTEM_ERR`; any other reply, another xid or a closed connection fails.
    pub fn call_procedure<R: Xdr>(&mut self, xid: u32, procedure: u32, arguments: &impl Xdr) -> Option<R> {
        let mut encoder = Encoder::new(MAX_RECORD_DEFAULT);
        arguments.encode(&mut encoder);
        let body = call_body(xid, procedure, &encoder.finish().expect("arguments fit"));
        let reply = self
            .call(&body)
            .expect("call")
            .expect("a reply, not a closed connection");
        let mut decoder = Decoder::new(&reply, Limits::DEFAULT);
        let header = ReplyHeader::decode(&mut decoder).expect("reply header");
        assert_eq!(header.xid, xid);
        match header.body {
            ReplyBody::Accepted {
                status: AcceptStat::Success,
                ..
            } => Some(R::decode(&mut decoder).expect("result decodes")),
            ReplyBody::Accepted {
                status: AcceptStat::SystemErr,
                ..
            } => None,
            other => panic!("procedure {procedure}: {other:?}"),
        }
    }
}

/// A line of `/proc/<pid>/status` after `name` (`Uid:` → the four uids), single-spaced.
pub fn proc_status_field(pid: u32, name: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("daemon status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .map(|rest| rest.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
