//! gssproxy's `ACCEPT_SEC_CONTEXT` under load: contexts per second and per-call latency (p50, p99,
//! max) at 1, 8 and 32 concurrent callers, and how many callers got any reply in the window
//! (fairness), for each gssproxy daemon under test in the same run, beside the in-process
//! ceiling (MIT's `gss_accept_sec_context` plus the lucid export called directly, no daemon),
//! and each daemon's resident memory idle and after the load.
//!
//! The set-up is real: a throw-away MIT KDC (`kup_testkit::krb5`) with `nfs/localhost` and the
//! user principal `nobody` (which maps to a local user, so the credentials option is filled); a
//! pool of distinct AP-REQ tokens for `nfs@localhost` made by MIT's initiator; each daemon started
//! in the foreground on private sockets with one service like Debian's `24-nfs-server.conf`
//! (keytab, `trusted`, `euid = 0`) but without `kernel_nfsd`, so the host's
//! `/proc/net/rpc/use-gss-proxy` is never touched. Every caller sends exactly the call the
//! kernel's nfsd sends (`gssproxy-protocol.md` §3.2: single-fragment records, the two export
//! options with their NULs) on its own connection, one call at a time, and checks each reply
//! (accepted, `GSS_S_COMPLETE`, a `linux_lucid_v1` context, a creds option). Tokens repeat
//! across rounds: every subject runs with `KRB5RCACHETYPE=none`, as does the ceiling.
//!
//! Usage: `kup-gpbench [--seconds S] [--callers N] [--tokens N] [--only] [--subject LABEL=PROGRAM]...` (as
//! root). Debian's `/usr/sbin/gssproxy` is always a subject when installed, and ours when built,
//! unless `--only` (then only the `--subject`s, and no ceiling: experiments, long runs);
//! `--callers N` runs that one level instead of 1, 8 and 32; `--tokens N` makes N distinct tokens
//! instead of 2,000 (no caller repeats one before it has sent its share: with enough of them a
//! daemon with a replay cache can be measured, e.g. a `--subject` wrapper that unsets
//! `KRB5RCACHETYPE`). The markdown
//! table goes to stdout; `bench/run` splices it into `docs/benchmarks.md`.

#![forbid(unsafe_code)]
// Counts and sizes become rates and megabytes for the report: far below 2^52.
#![allow(clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use kup_gss::gss::{self, Credential, Mech, Name};
use kup_gssx::gssx::{ArgAcceptSecContext, CallCtx, Procedure, ResAcceptSecContext, Xdr as _};
use kup_gssx::record::write_record;
use kup_gssx::rpc::{AcceptStat, CallHeader, ReplyBody, ReplyHeader};
use kup_gssx::xdr::{Decoder, Encoder, Limits, MAX_RECORD_DEFAULT};
use kup_testkit::krb5::Realm;
use kup_testkit::reference::{self, Tool};

const REALM: &str = "KUP.TEST";
/// How many distinct tokens the callers cycle through.
const TOKENS: usize = 2_000;
/// The concurrency levels of the targets.
const CALLERS: [usize; 3] = [1, 8, 32];
/// The option value the kernel's creds come back under (`gssproxy-protocol.md` §3.3).
const CREDS_OPTION: &[u8] = b"linux_creds_v1\0";
/// Sub-commands run in a child with a prepared environment (`KRB5CCNAME`, `KRB5_CONFIG`,
/// `KRB5RCACHETYPE`), since this process may not change its own environment.
const MAKE_TOKENS: &str = "--make-tokens";
const CEILING: &str = "--ceiling";

fn main() -> io::Result<ExitCode> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some(MAKE_TOKENS) => return make_tokens(&args[1..]),
        Some(CEILING) => return ceiling_child(&args[1..]),
        _ => {}
    }
    let Options {
        seconds,
        token_count,
        levels,
        only,
        subjects,
    } = options(&args)?;
    let window = Duration::from_secs(seconds);
    let fixture = Fixture::start()?;
    let tokens = Arc::new(fixture.tokens(token_count)?);
    let mut report = String::new();
    let _ = writeln!(
        report,
        "Measured {} with {} distinct tokens, {seconds} s per level after 1 s of warm-up, one \
         connection per caller.\n",
        utc_now(),
        tokens.len()
    );
    report.push_str(
        "| subject | callers | contexts/s | vs ceiling | p50 | p99 | max | callers served | failed | RSS idle | RSS after |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut ceilings = Vec::new();
    for &callers in &levels {
        if only {
            ceilings.push(f64::NAN);
            continue;
        }
        let rate = fixture.ceiling(callers, window)?;
        ceilings.push(rate);
        let _ = writeln!(
            report,
            "| MIT in-process ceiling | {callers} | {rate:.0} | 1.00x | | | | | | | |"
        );
    }
    for (label, program) in &subjects {
        let daemon = Daemon::start(&fixture, label, program)?;
        let idle = daemon.rss_kib();
        let mut rows = Vec::new();
        for &callers in &levels {
            rows.push(load(&daemon.socket, &tokens, callers, window));
        }
        let after = daemon.rss_kib();
        for ((callers, run), ceiling) in levels.iter().zip(rows).zip(&ceilings) {
            let _ = writeln!(
                report,
                "| {label} | {callers} | {:.0} | {:.2}x | {} | {} | {} | {}/{callers} | {} | {} | {} |",
                run.rate,
                run.rate / ceiling,
                millis(run.p50),
                millis(run.p99),
                millis(run.max),
                run.served,
                run.failed,
                kib(idle),
                kib(after),
            );
        }
    }
    io::stdout().lock().write_all(report.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// The command line of a measurement.
struct Options {
    seconds: u64,
    /// Distinct tokens made for the callers.
    token_count: usize,
    levels: Vec<usize>,
    /// No default subjects and no ceiling.
    only: bool,
    subjects: Vec<(String, PathBuf)>,
}

fn options(args: &[String]) -> io::Result<Options> {
    let mut seconds = 5_u64;
    let mut subjects: Vec<(String, PathBuf)> = Vec::new();
    if let Ok(theirs) = reference::theirs(Tool::Gssproxy) {
        subjects.push(("Debian gssproxy 0.9.1".into(), theirs));
    }
    if let Ok(ours) = reference::ours(Tool::Gssproxy) {
        subjects.push(("kup gssproxy".into(), ours));
    }
    let mut only = false;
    let mut token_count = TOKENS;
    let mut levels = CALLERS.to_vec();
    let mut rest = args.iter();
    while let Some(argument) = rest.next() {
        match argument.as_str() {
            "--only" => {
                if !only {
                    subjects.clear();
                }
                only = true;
            }
            "--callers" => {
                levels = vec![
                    rest.next()
                        .and_then(|value| value.parse().ok())
                        .ok_or_else(|| invalid("--callers needs a number"))?,
                ];
            }
            "--tokens" => {
                token_count = rest
                    .next()
                    .and_then(|value| value.parse().ok())
                    .filter(|&count| count > 0)
                    .ok_or_else(|| invalid("--tokens needs a positive number"))?;
            }
            "--seconds" => {
                seconds = rest
                    .next()
                    .and_then(|value| value.parse().ok())
                    .ok_or_else(|| invalid("--seconds needs a number"))?;
            }
            "--subject" => {
                let (label, program) = rest
                    .next()
                    .and_then(|value| value.split_once('='))
                    .ok_or_else(|| invalid("--subject needs LABEL=PROGRAM"))?;
                subjects.push((label.into(), program.into()));
            }
            _ => {
                return Err(invalid(
                    "usage: kup-gpbench [--seconds S] [--callers N] [--tokens N] [--only] [--subject LABEL=PROGRAM]...",
                ));
            }
        }
    }
    Ok(Options {
        seconds,
        token_count,
        levels,
        only,
        subjects,
    })
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_owned())
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

fn kib(value: Option<u64>) -> String {
    value.map_or_else(|| "?".into(), |kib| format!("{:.1} MB", kib as f64 / 1024.0))
}

/// The realm, the service keytab, the user's ccache and a krb5.conf, in a private directory.
struct Fixture {
    realm: Realm,
    dir: PathBuf,
    keytab: PathBuf,
    ccache: PathBuf,
}

impl Fixture {
    fn start() -> io::Result<Self> {
        let realm = Realm::start(REALM)?;
        realm.add_principal("nfs/localhost")?;
        realm.add_user("nobody", "nobody-pw-bench")?;
        let dir = std::env::temp_dir().join(format!("kup-gpbench-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let keytab = dir.join("nfs.keytab");
        realm.write_keytab(&[&format!("nfs/localhost@{REALM}")], &keytab)?;
        let ccache = realm.kinit_password(&format!("nobody@{REALM}"), "nobody-pw-bench")?;
        Ok(Self {
            realm,
            dir,
            keytab,
            ccache,
        })
    }

    /// Runs this program's sub-command `args` with the realm's environment, bounded.
    fn child(&self, args: &[&str], timeout: Duration) -> io::Result<Vec<u8>> {
        let program = std::env::current_exe()?;
        let mut command = Command::new(program);
        command
            .args(args)
            .env_clear()
            .env("KRB5_CONFIG", self.realm.krb5_conf())
            .env("KRB5CCNAME", format!("FILE:{}", self.ccache.display()))
            .env("KRB5RCACHETYPE", "none");
        let output = kup_testkit::krb5::run_bounded(&mut command, None, timeout)?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "{args:?}: {:?} {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(output.stdout)
    }

    /// A pool of distinct AP-REQs for `nfs@localhost` (the first one fetches the ticket).
    fn tokens(&self, count: usize) -> io::Result<Vec<Vec<u8>>> {
        let bytes = self.child(&[MAKE_TOKENS, &count.to_string()], Duration::from_mins(5))?;
        let mut tokens = Vec::new();
        let mut rest = bytes.as_slice();
        while let Some((length, tail)) = rest.split_first_chunk::<4>() {
            let length = u32::from_le_bytes(*length) as usize;
            let (token, tail) = tail
                .split_at_checked(length)
                .ok_or_else(|| io::Error::other("a truncated token"))?;
            tokens.push(token.to_vec());
            rest = tail;
        }
        Ok(tokens)
    }

    /// Contexts per second accepted in-process by `callers` threads, each with its own acceptor
    /// credential, over the token pool (written to a file for the child).
    fn ceiling(&self, callers: usize, window: Duration) -> io::Result<f64> {
        let pool = self.dir.join("tokens");
        if !pool.exists() {
            let bytes = self.child(&[MAKE_TOKENS, &TOKENS.to_string()], Duration::from_mins(2))?;
            fs::write(&pool, bytes)?;
        }
        let out = self.child(
            &[
                CEILING,
                &callers.to_string(),
                &window.as_secs().to_string(),
                self.keytab.to_str().ok_or_else(|| invalid("keytab path"))?,
                pool.to_str().ok_or_else(|| invalid("token path"))?,
            ],
            window + Duration::from_mins(1),
        )?;
        String::from_utf8_lossy(&out)
            .trim()
            .parse()
            .map_err(|_| io::Error::other("the ceiling child printed no rate"))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `--make-tokens N`: N initiator tokens, each `u32 LE length` + bytes, on stdout.
fn make_tokens(args: &[String]) -> io::Result<ExitCode> {
    let count: usize = args
        .first()
        .and_then(|value| value.parse().ok())
        .ok_or_else(|| invalid("--make-tokens N"))?;
    let target = Name::hostbased("nfs@localhost").map_err(|status| io::Error::other(status.to_string()))?;
    let mut out = Vec::new();
    for _ in 0..count {
        let step = gss::init_sec_context(&target, Mech::Krb5)
            .map_err(|status| io::Error::other(status.to_string()))?;
        let length = u32::try_from(step.token.len()).map_err(|_| invalid("token size"))?;
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&step.token);
    }
    io::stdout().lock().write_all(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// `--ceiling CALLERS SECONDS KEYTAB TOKENS`: the in-process rate, printed as one number.
fn ceiling_child(args: &[String]) -> io::Result<ExitCode> {
    let [callers, seconds, keytab, pool] = args else {
        return Err(invalid("--ceiling CALLERS SECONDS KEYTAB TOKENS"));
    };
    let callers: usize = callers.parse().map_err(|_| invalid("callers"))?;
    let window = Duration::from_secs(seconds.parse().map_err(|_| invalid("seconds"))?);
    let bytes = fs::read(pool)?;
    let mut tokens = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some((length, tail)) = rest.split_first_chunk::<4>() {
        let (token, tail) = tail.split_at(u32::from_le_bytes(*length) as usize);
        tokens.push(token.to_vec());
        rest = tail;
    }
    let tokens = Arc::new(tokens);
    let keytab = PathBuf::from(keytab);
    let warm_up = Instant::now() + Duration::from_secs(1);
    let end = warm_up + window;
    let workers: Vec<_> = (0..callers)
        .map(|index| {
            let tokens = Arc::clone(&tokens);
            let keytab = keytab.clone();
            thread::spawn(move || -> io::Result<u64> {
                let cred = Credential::acceptor_from_keytab(&keytab)
                    .map_err(|status| io::Error::other(status.to_string()))?;
                let mut done = 0_u64;
                let mut next = index * 37;
                loop {
                    let now = Instant::now();
                    if now >= end {
                        return Ok(done);
                    }
                    let token = &tokens[next % tokens.len()];
                    next += 1;
                    let step = gss::accept_sec_context(&cred, token, Mech::Krb5)
                        .map_err(|status| io::Error::other(status.to_string()))?;
                    let _lucid = step
                        .context
                        .into_lucid()
                        .map_err(|status| io::Error::other(status.to_string()))?;
                    if now >= warm_up {
                        done += 1;
                    }
                }
            })
        })
        .collect();
    let mut total = 0;
    for worker in workers {
        total += worker
            .join()
            .map_err(|_| io::Error::other("a ceiling thread panicked"))??;
    }
    writeln!(io::stdout().lock(), "{}", total as f64 / window.as_secs_f64())?;
    Ok(ExitCode::SUCCESS)
}

/// One gssproxy daemon in the foreground on private sockets, killed on drop.
struct Daemon {
    child: Child,
    socket: PathBuf,
}

impl Daemon {
    fn start(fixture: &Fixture, label: &str, program: &Path) -> io::Result<Self> {
        let name: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let dir = fixture.dir.join(name);
        let confdir = dir.join("conf.d");
        fs::create_dir_all(&confdir)?;
        let socket = dir.join("nfsd.sock");
        let config = dir.join("gssproxy.conf");
        fs::write(&config, "[gssproxy]\n")?;
        fs::write(
            confdir.join("24-nfs-server.conf"),
            format!(
                "[service/nfs-server]\n  mechs = krb5\n  socket = {}\n  cred_store = keytab:{}\n  \
                 trusted = yes\n  euid = 0\n",
                socket.display(),
                fixture.keytab.display()
            ),
        )?;
        let child = Command::new(program)
            .arg("-i")
            .arg("-c")
            .arg(&config)
            .arg("-C")
            .arg(&confdir)
            .arg("-s")
            .arg(dir.join("default.sock"))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("KRB5_CONFIG", fixture.realm.krb5_conf())
            .env("KRB5RCACHETYPE", "none")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let daemon = Self { child, socket };
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(&daemon.socket).is_err() {
            if Instant::now() >= deadline {
                return Err(io::Error::other(format!(
                    "{label} did not listen on {}",
                    daemon.socket.display()
                )));
            }
            thread::sleep(Duration::from_millis(20));
        }
        Ok(daemon)
    }

    /// `VmRSS` of the daemon, KiB.
    fn rss_kib(&self) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One level of load against one daemon.
struct Run {
    rate: f64,
    p50: Duration,
    p99: Duration,
    /// The slowest call started in the window.
    max: Duration,
    /// Callers with at least one call completed in the window (a daemon that starves some
    /// connections has few of their calls in the percentiles: this shows it).
    served: usize,
    failed: u64,
}

/// The kernel's call for `token` as one record; the xid is bytes 4..8 (after the record mark).
fn kernel_call(token: &[u8]) -> Vec<u8> {
    let mut encoder = Encoder::new(MAX_RECORD_DEFAULT);
    CallHeader::gssproxy(0, Procedure::AcceptSecContext).encode(&mut encoder);
    ArgAcceptSecContext {
        call_ctx: CallCtx::kernel(),
        context_handle: None,
        cred_handle: None,
        input_token: token.to_vec(),
        input_cb: None,
        ret_deleg_cred: false,
        options: Vec::new(),
    }
    .encode(&mut encoder);
    let body = encoder.finish().expect("a call under 1 MiB");
    write_record(&body, MAX_RECORD_DEFAULT).expect("a call under 1 MiB")
}

/// Whether `reply` (a record body) is what nfsd installs: accepted, complete, a context, creds.
fn good_reply(reply: &[u8], xid: u32) -> bool {
    let mut decoder = Decoder::new(reply, Limits::DEFAULT);
    let Ok(header) = ReplyHeader::decode(&mut decoder) else {
        return false;
    };
    if header.xid != xid
        || !matches!(
            header.body,
            ReplyBody::Accepted {
                status: AcceptStat::Success,
                ..
            }
        )
    {
        return false;
    }
    let Ok(result) = ResAcceptSecContext::decode(&mut decoder) else {
        return false;
    };
    result.status.major_status == 0
        && result
            .context_handle
            .is_some_and(|context| !context.exported_context_token.is_empty())
        && result.options.iter().any(|option| option.option == CREDS_OPTION)
}

fn load(socket: &Path, tokens: &Arc<Vec<Vec<u8>>>, callers: usize, window: Duration) -> Run {
    let warm_up = Instant::now() + Duration::from_secs(1);
    let end = warm_up + window;
    let workers: Vec<_> = (0..callers)
        .map(|index| {
            let tokens = Arc::clone(tokens);
            let socket = socket.to_path_buf();
            thread::spawn(move || caller(&socket, &tokens, (index, callers), warm_up, end))
        })
        .collect();
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut max = Duration::ZERO;
    let mut served = 0;
    for worker in workers {
        let (mine, slowest, bad) = worker.join().unwrap_or_default();
        served += usize::from(!mine.is_empty());
        latencies.extend(mine);
        max = max.max(slowest);
        failed += bad;
    }
    latencies.sort_unstable();
    let at = |per_mille: usize| {
        latencies
            .get(latencies.len().saturating_sub(1) * per_mille / 1000)
            .copied()
            .unwrap_or_default()
    };
    Run {
        rate: latencies.len() as f64 / window.as_secs_f64(),
        p50: at(500),
        p99: at(990),
        max,
        served,
        failed,
    }
}

/// One caller: its own connection, one call at a time; latencies of good replies inside the
/// window, the longest call that overlapped the window (one that started before it or ended
/// after it included: a caller starved through the window shows here, not in the
/// percentiles), and the number of bad or failed ones (a failed connection is reopened).
fn caller(
    socket: &Path,
    tokens: &[Vec<u8>],
    (index, callers): (usize, usize),
    warm_up: Instant,
    end: Instant,
) -> (Vec<Duration>, Duration, u64) {
    // Caller i sends tokens i, i + callers, …: no two callers share a token, so a pool larger
    // than the calls of a run has no replay (for runs with a replay cache).
    let calls: Vec<Vec<u8>> = tokens
        .iter()
        .skip(index)
        .step_by(callers.max(1))
        .map(|token| kernel_call(token))
        .collect();
    if calls.is_empty() {
        return (Vec::new(), Duration::ZERO, 0);
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    let mut slowest = Duration::ZERO;
    let mut stream: Option<UnixStream> = None;
    let mut next = 0;
    let mut reply = Vec::new();
    while Instant::now() < end {
        if stream.is_none() {
            stream = UnixStream::connect(socket).ok().inspect(|connection| {
                let _ = connection.set_read_timeout(Some(Duration::from_secs(10)));
            });
        }
        let Some(connection) = stream.as_mut() else {
            failed += 1;
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let mut call = calls[next % calls.len()].clone();
        let xid = u32::try_from(index << 24 | (next & 0xff_ffff)).unwrap_or(0);
        call[4..8].copy_from_slice(&xid.to_be_bytes());
        next += 1;
        let start = Instant::now();
        let ok = connection.write_all(&call).is_ok() && read_record(connection, &mut reply).is_ok();
        let elapsed = start.elapsed();
        if Instant::now() >= warm_up {
            slowest = slowest.max(elapsed);
        }
        if ok && good_reply(&reply, xid) {
            if start >= warm_up && Instant::now() <= end {
                latencies.push(elapsed);
            }
        } else {
            failed += 1;
            stream = None;
        }
    }
    (latencies, slowest, failed)
}

fn read_record(stream: &mut UnixStream, into: &mut Vec<u8>) -> io::Result<()> {
    let mut mark = [0; 4];
    stream.read_exact(&mut mark)?;
    let mark = u32::from_be_bytes(mark);
    let length = (mark & 0x7fff_ffff) as usize;
    if mark & 0x8000_0000 == 0 || length > MAX_RECORD_DEFAULT {
        return Err(io::Error::other("not a single-fragment reply"));
    }
    into.resize(length, 0);
    stream.read_exact(into)
}

fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_default()
}
