//! Compliance: `cifs.idmap` (ours or Debian's, `KUP_UNDER_TEST=ours|theirs`) answering the
//! kernel's cifs.idmap descriptions through real upcalls, with a real winbindd behind the real
//! winbind plugin (`/etc/cifs-utils/idmap-plugin`).
//!
//! The host kernel has no `cifs.idmap` key type, so the descriptions travel on `user` keys
//! (neither tool checks the type): `request_key("user", "os:S-1-…")` → kernel → request-key →
//! kup-test-dispatch → `cifs.idmap %k`. The winbindd is a Samba AD DC provisioned into a temp dir
//! (`support/samba.rs`), with a user and a group created here; expected ids and SIDs come from
//! the DC itself (`wbinfo`), so both implementations are judged against the same oracle.
//!
//! Own harness (`harness = false`): the DC must outlive all cases and be torn down (socket dir
//! restored) after them, whatever happens. Cases run in order on the main thread; each prints
//! `test <sentence> ... ok|FAILED`.

#[path = "support/samba.rs"]
mod samba;
#[path = "support/sssd.rs"]
mod sssd;

use std::ffi::OsString;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use kup_sid::Sid;
use kup_sys::KeySerial;
use kup_sys::keyctl;
use kup_sys::proc_keys::{self, Expiry};
use kup_testkit::reference::{self, Tool, UnderTest};
use kup_testkit::syslog::{SyslogCapture, SyslogLine};
use kup_testkit::upcall::{Route, UpcallStatus};

/// `println!` through a locked stdout (the workspace denies `print_stdout`).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

const ALICE_UID: u32 = 70001;
const STAFF_GID: u32 = 70000;
const NO_ACCOUNT_UID: u32 = 4_000_123;

/// What a case must observe.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Expect {
    /// Positive key holding this id (4 native-endian bytes), exit 0.
    Id(u32),
    /// Positive key holding this SID (68 bytes; the meaningful part compared), exit 0.
    Sid(String),
    /// Negative key for about 60 s, this exit status.
    Fail(i32),
}

/// What a run observed.
#[derive(Debug)]
struct Observed {
    exit: Option<i32>,
    negative: bool,
    payload: Vec<u8>,
    expiry: Expiry,
}

struct Harness {
    tool: PathBuf,
    under_test: UnderTest,
    passed: usize,
    failed: Vec<String>,
}

impl Harness {
    fn case(&mut self, name: &str, body: impl FnOnce(&Self) -> Result<(), String>) {
        let result = panic::catch_unwind(AssertUnwindSafe(|| body(self)))
            .unwrap_or_else(|_| Err("panicked".to_owned()));
        match result {
            Ok(()) => {
                say!("test {name} ... ok");
                self.passed += 1;
            }
            Err(reason) => {
                say!("test {name} ... FAILED\n    {reason}");
                self.failed.push(name.to_owned());
            }
        }
    }

    /// One real upcall with `description` on a `user` key, the tool run as `tool [extra] %k`.
    fn upcall(&self, extra: &[&str], description: &str) -> io::Result<Observed> {
        let mut argv: Vec<OsString> = vec![self.tool.clone().into_os_string()];
        argv.extend(extra.iter().map(OsString::from));
        argv.push("%k".into());
        let route = Route::with_timeout(&argv, Duration::from_secs(30))?;
        let requested = route.request("user", description.as_bytes(), b"");
        let exit = route.upcalls()?.last().and_then(|upcall| match upcall.status {
            UpcallStatus::Exited(code) => Some(code),
            _ => None,
        });
        let key = match requested {
            Ok(key) => key,
            Err(error) if error.raw_os_error() == Some(libc_enokey()) => find_member(route.session())?,
            Err(error) => return Err(error),
        };
        let info = proc_keys::find(key)?.ok_or_else(|| io::Error::other("key not in /proc/keys"))?;
        let payload = if info.flags.negative {
            Vec::new()
        } else {
            keyctl::read(key)?
        };
        Ok(Observed {
            exit,
            negative: info.flags.negative,
            payload,
            expiry: info.expiry,
        })
    }

    /// Runs one upcall and checks it against `expect`; `timeout` is the positive key's expected
    /// lifetime (`None` = permanent).
    fn check(
        &self,
        extra: &[&str],
        description: &str,
        expect: &Expect,
        timeout: Option<u64>,
    ) -> Result<(), String> {
        let observed = self
            .upcall(extra, description)
            .map_err(|error| format!("upcall failed: {error}"))?;
        let context = || format!("{description:?} with {extra:?}: observed {observed:?}");
        match expect {
            Expect::Id(id) => {
                expect_positive(&observed, timeout).map_err(|why| format!("{why}; {}", context()))?;
                if observed.payload != id.to_ne_bytes() {
                    return Err(format!("payload is not uid/gid {id}; {}", context()));
                }
            }
            Expect::Sid(text) => {
                expect_positive(&observed, timeout).map_err(|why| format!("{why}; {}", context()))?;
                let sid =
                    Sid::parse(text.as_bytes()).map_err(|error| format!("oracle SID {text}: {error}"))?;
                let wanted = sid.to_cifs_sid();
                let meaningful = sid.meaningful_len();
                if observed.payload.len() != 68
                    || observed.payload.get(..meaningful) != wanted.get(..meaningful)
                {
                    return Err(format!("payload is not {text}; {}", context()));
                }
                let read_back = Sid::from_cifs_sid(&observed.payload).map_err(|error| error.to_string())?;
                if read_back.to_string() != *text {
                    return Err(format!("payload reads back as {read_back}; {}", context()));
                }
                if self.under_test == UnderTest::Ours
                    && observed
                        .payload
                        .get(meaningful..)
                        .is_some_and(|tail| tail.iter().any(|&byte| byte != 0))
                {
                    return Err(format!("our SID tail is not zeroed; {}", context()));
                }
            }
            Expect::Fail(code) => {
                if observed.exit != Some(*code) {
                    return Err(format!("exit status is not {code}; {}", context()));
                }
                if !observed.negative {
                    return Err(format!("key is not negative; {}", context()));
                }
                if !expiry_within(observed.expiry, 45, 60) {
                    return Err(format!(
                        "negative key does not expire in about 60 s; {}",
                        context()
                    ));
                }
            }
        }
        Ok(())
    }
}

fn expect_positive(observed: &Observed, timeout: Option<u64>) -> Result<(), String> {
    if observed.exit != Some(0) {
        return Err("exit status is not 0".to_owned());
    }
    if observed.negative {
        return Err("key is negative".to_owned());
    }
    let expiry_ok = match timeout {
        None => observed.expiry == Expiry::Permanent,
        Some(seconds) => expiry_within(observed.expiry, seconds.saturating_sub(60), seconds),
    };
    if expiry_ok {
        Ok(())
    } else {
        Err(format!("expiry is not {timeout:?} s"))
    }
}

fn expiry_within(expiry: Expiry, low: u64, high: u64) -> bool {
    matches!(expiry, Expiry::In(left) if left.as_secs() >= low && left.as_secs() <= high)
}

fn libc_enokey() -> i32 {
    126 // ENOKEY on Linux
}

fn find_member(session: KeySerial) -> io::Result<KeySerial> {
    keyctl::keyring_members(session)?
        .last()
        .copied()
        .ok_or_else(|| io::Error::other("no key linked into the route's session keyring"))
}

/// One table row: name, extra options, description, expectation, positive key lifetime.
type Case<'a> = (&'a str, Vec<&'a str>, String, Expect, Option<u64>);

fn wb_id(dc: &samba::Dc, flag: &str, sid: &str) -> io::Result<u32> {
    let text = dc.wbinfo(&[flag, sid])?;
    text.trim()
        .parse()
        .map_err(|_| io::Error::other(format!("wbinfo {flag} {sid}: {text}")))
}

fn main() -> ExitCode {
    let under_test = match reference::under_test() {
        Ok(which) => which,
        Err(error) => {
            say!("compliance: {error}");
            return ExitCode::FAILURE;
        }
    };
    let tool = match reference::tool_path(Tool::CifsIdmap) {
        Ok(path) => path,
        Err(error) => {
            say!("compliance: cannot find cifs.idmap under test: {error}");
            return ExitCode::FAILURE;
        }
    };
    say!(
        "cifs.idmap compliance, under test: {under_test:?} ({})",
        tool.display()
    );
    let mut harness = Harness {
        tool,
        under_test,
        passed: 0,
        failed: Vec::new(),
    };
    command_line_cases(&mut harness);
    syslog_case(&mut harness);
    match samba::Dc::start() {
        Ok(mut dc) => {
            let accounts = winbind_cases(&mut harness, &dc);
            if let Some((alice, staff)) = accounts {
                sssd_cases(&mut harness, &mut dc, &alice, &staff);
            }
            match dc.stop() {
                Ok(()) => stopped_cases(&mut harness),
                Err(error) => harness.failed.push(format!("stopping winbindd: {error}")),
            }
            drop(dc);
        }
        Err(error) => {
            say!("test a real winbindd is available ... FAILED\n    {error}");
            harness.failed.push("winbindd setup".to_owned());
        }
    }
    say!(
        "\ntest result: {}. {} passed; {} failed",
        if harness.failed.is_empty() { "ok" } else { "FAILED" },
        harness.passed,
        harness.failed.len()
    );
    if harness.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run_direct(tool: &Path, args: &[&str]) -> io::Result<(Option<i32>, Vec<u8>, Vec<u8>)> {
    let output = Command::new(tool).args(args).output()?;
    Ok((output.status.code(), output.stdout, output.stderr))
}

/// Binds `/dev/log` (absent on these machines: no syslog daemon) for one failing upcall and reads
/// what the helper logged. Removed again afterwards; refuses to touch an existing `/dev/log`.
fn syslog_case(harness: &mut Harness) {
    harness.case(
        "failures are logged under the ident cifs.idmap with facility daemon",
        |h| {
            // The capture drains /dev/log while the helper runs (the reference logs more datagrams
            // than the socket queue holds) and is shared with other suites, so wait for it.
            let capture = SyslogCapture::start(Duration::from_mins(1)).map_err(|e| e.to_string())?;
            let checked = h.check(&[], "oi:abc", &Expect::Fail(22), None);
            let lines = capture.finish();
            checked?;
            // Facility LOG_DAEMON (3); the ident without a pid; one error line (LOG_ERR = 3). The
            // reference adds LOG_DEBUG lines, ours logs no debug lines. /dev/log is machine-wide:
            // other programs may log meanwhile, so look only at the lines with our tag.
            let ours: Vec<&SyslogLine> = lines
                .iter()
                .filter(|line| line.tag() == Some("cifs.idmap"))
                .collect();
            let daemon = !ours.is_empty() && ours.iter().all(|line| line.facility() == Some(3));
            let error = ours.iter().any(|line| line.severity() == Some(3));
            (daemon && error)
                .then_some(())
                .ok_or(format!("cifs.idmap log lines {ours:?}"))
        },
    );
}

fn command_line_cases(harness: &mut Harness) {
    harness.case("help prints the usage line on stderr and exits 0", |h| {
        let (code, stdout, stderr) = run_direct(&h.tool, &["-h"]).map_err(|e| e.to_string())?;
        let usage = b"Usage: cifs.idmap [-h] [-v] [-t timeout] key_serial\n";
        (code == Some(0) && stdout.is_empty() && stderr == usage)
            .then_some(())
            .ok_or(format!(
                "{code:?} {stdout:?} {:?}",
                String::from_utf8_lossy(&stderr)
            ))
    });
    harness.case("version prints version: on stdout and exits 0", |h| {
        let (code, stdout, _) = run_direct(&h.tool, &["--version"]).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&stdout);
        // Divergence (STYLE §10): the C shape with our own version number.
        let wanted = match h.under_test {
            UnderTest::Theirs => "version: 7.0\n".to_owned(),
            UnderTest::Ours => format!("version: {}\n", env!("CARGO_PKG_VERSION")),
        };
        (code == Some(0) && text == wanted)
            .then_some(())
            .ok_or(format!("{code:?} {text:?}"))
    });
    harness.case("a missing key serial prints usage and exits 1", |h| {
        let (code, _, stderr) = run_direct(&h.tool, &[]).map_err(|e| e.to_string())?;
        (code == Some(1) && stderr.starts_with(b"Usage: cifs.idmap"))
            .then_some(())
            .ok_or(format!("{code:?}"))
    });
    harness.case("a bad timeout exits 22 and an overflowing one 75", |h| {
        let (bad, _, _) = run_direct(&h.tool, &["-t", "abc", "1"]).map_err(|e| e.to_string())?;
        let (big, _, _) = run_direct(&h.tool, &["-t", "4294967296", "1"]).map_err(|e| e.to_string())?;
        (bad == Some(22) && big == Some(75))
            .then_some(())
            .ok_or(format!("{bad:?} {big:?}"))
    });
    harness.case("an unknown option prints getopt's message and exits 22", |h| {
        let (code, _, stderr) = run_direct(&h.tool, &["-x", "1"]).map_err(|e| e.to_string())?;
        let wanted = format!("{}: invalid option -- 'x'\n", h.tool.display());
        (code == Some(22) && stderr == wanted.as_bytes())
            .then_some(())
            .ok_or(format!("{code:?} {:?}", String::from_utf8_lossy(&stderr)))
    });
}

#[allow(clippy::too_many_lines)] // one table of cases
fn winbind_cases(harness: &mut Harness, dc: &samba::Dc) -> Option<(String, String)> {
    let setup = (|| -> io::Result<(String, String, String)> {
        dc.add_group("kupstaff", STAFF_GID)?;
        dc.add_user("kupalice", ALICE_UID, STAFF_GID)?;
        let domain = dc.wbinfo(&["--domain-info", samba::DOMAIN])?;
        let domain_sid = domain
            .lines()
            .find_map(|line| line.strip_prefix("SID"))
            .and_then(|rest| rest.split(':').nth(1))
            .map(|sid| sid.trim().to_owned())
            .ok_or_else(|| io::Error::other(format!("no SID in {domain}")))?;
        Ok((dc.sid_of("kupalice")?, dc.sid_of("kupstaff")?, domain_sid))
    })();
    let (alice, staff, domain_sid) = match setup {
        Ok(values) => values,
        Err(error) => {
            say!("test the test domain has a user and a group ... FAILED\n    {error}");
            harness.failed.push("domain setup".to_owned());
            return None;
        }
    };
    let oracle = |flag: &str, sid: &str| wb_id(dc, flag, sid);
    let fifteen = "S-1-5-21-1-2-3-4-5-6-7-8-9-10-11-12-13-14";
    let oracle_ids = (|| -> io::Result<[u32; 7]> {
        Ok([
            oracle("--sid-to-gid", "S-1-5-32-544")?,
            oracle("--sid-to-gid", "S-1-1-0")?,
            oracle("--sid-to-uid", "S-1-5-18")?,
            oracle("--sid-to-gid", &format!("{domain_sid}-513"))?,
            oracle("--sid-to-uid", &format!("{domain_sid}-500"))?,
            oracle("--sid-to-uid", fifteen)?,
            oracle("--sid-to-uid", "S-1-5-32-544")?,
        ])
    })();
    let Ok(
        [
            administrators,
            everyone,
            system,
            domain_users,
            administrator,
            fifteen_uid,
            administrators_uid,
        ],
    ) = oracle_ids
    else {
        say!("test winbindd maps the well-known SIDs ... FAILED\n    {oracle_ids:?}");
        harness.failed.push("oracle".to_owned());
        return None;
    };
    let no_account_sid = dc
        .wbinfo(&["--uid-to-sid", &NO_ACCOUNT_UID.to_string()])
        .unwrap_or_default();

    let table: Vec<Case> = vec![
        (
            "builtin administrators map to the gid winbind allocated",
            vec![],
            "gs:S-1-5-32-544".into(),
            Expect::Id(administrators),
            Some(600),
        ),
        (
            "builtin administrators are usable as an owner too",
            vec![],
            "os:S-1-5-32-544".into(),
            Expect::Id(administrators_uid),
            Some(600),
        ),
        (
            "everyone maps to a gid",
            vec![],
            "gs:S-1-1-0".into(),
            Expect::Id(everyone),
            Some(600),
        ),
        (
            "local system maps to a uid",
            vec![],
            "os:S-1-5-18".into(),
            Expect::Id(system),
            Some(600),
        ),
        (
            "a domain user maps to its rfc2307 uid",
            vec![],
            format!("os:{alice}"),
            Expect::Id(ALICE_UID),
            Some(600),
        ),
        (
            "a domain group maps to its rfc2307 gid",
            vec![],
            format!("gs:{staff}"),
            Expect::Id(STAFF_GID),
            Some(600),
        ),
        (
            "domain users map to the gid winbind gives them",
            vec![],
            format!("gs:{domain_sid}-513"),
            Expect::Id(domain_users),
            Some(600),
        ),
        (
            "the domain administrator maps to the uid winbind gives it",
            vec![],
            format!("os:{domain_sid}-500"),
            Expect::Id(administrator),
            Some(600),
        ),
        (
            "a domain user asked for as a group fails with the wrong-type status 234",
            vec![],
            format!("gs:{alice}"),
            Expect::Fail(234),
            None,
        ),
        (
            "a samba unix user sid maps to its uid",
            vec![],
            "os:S-1-22-1-1000".into(),
            Expect::Id(1000),
            Some(600),
        ),
        (
            "a samba unix group sid maps to its gid",
            vec![],
            "gs:S-1-22-2-1000".into(),
            Expect::Id(1000),
            Some(600),
        ),
        (
            "the unmappable unix sid for uid 4294967295 fails with 234",
            vec![],
            "os:S-1-22-1-4294967295".into(),
            Expect::Fail(234),
            None,
        ),
        (
            "a malformed sid fails with the plugin's 251",
            vec![],
            "os:S-1-5-21-x".into(),
            Expect::Fail(251),
            None,
        ),
        (
            "a sid with fifteen sub-authorities maps",
            vec![],
            format!("os:{fifteen}"),
            Expect::Id(fifteen_uid),
            Some(600),
        ),
        (
            "a sid with sixteen sub-authorities fails with 251",
            vec![],
            format!("os:{fifteen}-15"),
            Expect::Fail(251),
            None,
        ),
        (
            "a domain name instead of a sid resolves like the reference",
            vec![],
            format!("os:{}\\kupalice", samba::DOMAIN),
            Expect::Id(ALICE_UID),
            Some(600),
        ),
        (
            "a domain user's uid maps to its sid",
            vec![],
            format!("oi:{ALICE_UID}"),
            Expect::Sid(alice.clone()),
            Some(600),
        ),
        (
            "a hex uid is read with base 0",
            vec![],
            format!("oi:0x{ALICE_UID:x}"),
            Expect::Sid(alice.clone()),
            Some(600),
        ),
        (
            "a domain group's gid maps to its sid",
            vec![],
            format!("gi:{STAFF_GID}"),
            Expect::Sid(staff.clone()),
            Some(600),
        ),
        (
            "a uid without an account maps to a unix sid",
            vec![],
            format!("oi:{NO_ACCOUNT_UID}"),
            Expect::Sid(no_account_sid),
            Some(600),
        ),
        (
            "uid -1 overflows with 75",
            vec![],
            "oi:-1".into(),
            Expect::Fail(75),
            None,
        ),
        (
            "uid 4294967296 overflows with 75",
            vec![],
            "oi:4294967296".into(),
            Expect::Fail(75),
            None,
        ),
        (
            "a non-numeric uid fails with 22",
            vec![],
            "oi:abc".into(),
            Expect::Fail(22),
            None,
        ),
        (
            "an unknown request fails with 1",
            vec![],
            "xx:1".into(),
            Expect::Fail(1),
            None,
        ),
        (
            "an empty request fails with 1",
            vec![],
            "os:".into(),
            Expect::Fail(1),
            None,
        ),
        (
            "timeout 0 makes the answer permanent",
            vec!["-t", "0"],
            format!("os:{alice}"),
            Expect::Id(ALICE_UID),
            None,
        ),
        (
            "timeout 120 is set before instantiating",
            vec!["--timeout=120"],
            format!("gs:{staff}"),
            Expect::Id(STAFF_GID),
            Some(120),
        ),
        (
            "a failed key stays negative 60 s even with timeout 0",
            vec!["-t", "0"],
            "oi:abc".into(),
            Expect::Fail(22),
            None,
        ),
    ];
    for (name, extra, description, expect, timeout) in &table {
        harness.case(name, |h| h.check(extra, description, expect, *timeout));
    }
    harness.case(
        "a description with two requests is refused by ours and guessed by theirs",
        |h| {
            let expect = match h.under_test {
                UnderTest::Theirs => Expect::Id(system),
                UnderTest::Ours => Expect::Fail(1),
            };
            h.check(&[], "gs:S-1-1-0 os:S-1-5-18", &expect, Some(600))
        },
    );
    Some((alice, staff))
}

/// The same helper with sssd's plugin and a real sssd (LDAP provider, SID-based id mapping) in
/// front of the same DC.
#[allow(clippy::too_many_lines)] // two tables of cases
fn sssd_cases(harness: &mut Harness, dc: &mut samba::Dc, alice: &str, staff: &str) {
    let setup = (|| -> io::Result<(sssd::SssPlugin, sssd::Sssd, u32, u32)> {
        dc.enable_ldap()?;
        let plugin = sssd::SssPlugin::select()?;
        let daemon = sssd::Sssd::start(dc.password())?;
        let missing = |sid: &str| io::Error::other(format!("sssd does not map {sid}"));
        let alice_uid = daemon.id_of(alice)?.ok_or_else(|| missing(alice))?;
        let staff_gid = daemon.id_of(staff)?.ok_or_else(|| missing(staff))?;
        Ok((plugin, daemon, alice_uid, staff_gid))
    })();
    let (plugin, daemon, alice_uid, staff_gid) = match setup {
        Ok(values) => values,
        Err(error) => {
            say!("test a real sssd answers through cifs_idmap_sss.so ... FAILED\n    {error}");
            harness.failed.push("sssd setup".to_owned());
            return;
        }
    };
    let table: Vec<Case> = vec![
        (
            "with sssd a domain user maps to the uid sssd computes",
            vec![],
            format!("os:{alice}"),
            Expect::Id(alice_uid),
            Some(600),
        ),
        (
            "with sssd a domain group maps to the gid sssd computes",
            vec![],
            format!("gs:{staff}"),
            Expect::Id(staff_gid),
            Some(600),
        ),
        (
            "with sssd a domain user asked for as a group fails with 234",
            vec![],
            format!("gs:{alice}"),
            Expect::Fail(234),
            None,
        ),
        (
            "with sssd a samba unix user sid falls back to its uid",
            vec![],
            "os:S-1-22-1-1000".into(),
            Expect::Id(1000),
            Some(600),
        ),
        (
            "with sssd a samba unix group sid falls back to its gid",
            vec![],
            "gs:S-1-22-2-1000".into(),
            Expect::Id(1000),
            Some(600),
        ),
        (
            "with sssd builtin administrators are not mapped and fail with 255",
            vec![],
            "gs:S-1-5-32-544".into(),
            Expect::Fail(255),
            None,
        ),
        (
            "with sssd an unknown domain sid fails with 255",
            vec![],
            "os:S-1-5-21-1-2-3-500".into(),
            Expect::Fail(255),
            None,
        ),
        (
            "with sssd a domain user's uid maps to its sid",
            vec![],
            format!("oi:{alice_uid}"),
            Expect::Sid(alice.to_owned()),
            Some(600),
        ),
        (
            "with sssd a domain group's gid maps to its sid",
            vec![],
            format!("gi:{staff_gid}"),
            Expect::Sid(staff.to_owned()),
            Some(600),
        ),
        (
            "with sssd a uid sssd does not know fails with 255",
            vec![],
            "oi:1000".into(),
            Expect::Fail(255),
            None,
        ),
    ];
    for (name, extra, description, expect, timeout) in &table {
        harness.case(name, |h| h.check(extra, description, expect, *timeout));
    }
    drop(daemon);
    let stopped: Vec<Case> = vec![
        (
            "with sssd stopped a domain sid fails with 255",
            vec![],
            format!("os:{alice}"),
            Expect::Fail(255),
            None,
        ),
        (
            "with sssd stopped a samba unix user sid still maps to its uid",
            vec![],
            "os:S-1-22-1-1000".into(),
            Expect::Id(1000),
            Some(600),
        ),
        (
            "with sssd stopped a uid fails with 255",
            vec![],
            format!("oi:{alice_uid}"),
            Expect::Fail(255),
            None,
        ),
    ];
    for (name, extra, description, expect, timeout) in &stopped {
        harness.case(name, |h| h.check(extra, description, expect, *timeout));
    }
    drop(plugin);
}

fn stopped_cases(harness: &mut Harness) {
    harness.case("a sid fails with 251 while winbind is stopped", |h| {
        h.check(&[], "os:S-1-5-21-1-2-3-500", &Expect::Fail(251), None)
    });
    harness.case("a uid fails with 251 while winbind is stopped", |h| {
        h.check(&[], "oi:1000", &Expect::Fail(251), None)
    });
    harness.case("a gid fails with 251 while winbind is stopped", |h| {
        h.check(&[], "gi:0", &Expect::Fail(251), None)
    });
}
