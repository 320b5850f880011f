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
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::rc::Rc;
use std::time::Duration;

use kup_sid::Sid;
use kup_testkit::compliance::{self, Case, ENOKEY, Expect, Lifetime, Payload, Request, Runner};
use kup_testkit::reference::{Tool, UnderTest};
use kup_testkit::syslog::SyslogLine;
use kup_testkit::upcall::UpcallStatus;

const ALICE_UID: u32 = 70001;
const STAFF_GID: u32 = 70000;
const NO_ACCOUNT_UID: u32 = 4_000_123;

/// A positive key's lifetime: `timeout` s from `-t` (`None`: permanent), as `/proc/keys` shows
/// it within a minute of being set.
fn lifetime(timeout: Option<u64>) -> Lifetime {
    match timeout {
        None => Lifetime::Permanent,
        Some(seconds) => Lifetime::within(seconds.saturating_sub(60), seconds),
    }
}

/// A positive key holding this id (4 native-endian bytes), exit 0.
fn id(id: u32, timeout: Option<u64>) -> Expect {
    Expect::payload(id.to_ne_bytes(), lifetime(timeout))
}

/// A positive key holding the SID `text` (68 bytes; the meaningful part compared, and read
/// back); with `zero_tail`, the unused bytes must be zero (decisions.md 8: the reference leaves
/// them uninitialised), exit 0.
fn sid(text: &str, timeout: Option<u64>, zero_tail: bool) -> Expect {
    let text = text.to_owned();
    Expect::Positive {
        payload: Payload::Satisfies {
            what: format!(
                "the SID {text}{}",
                if zero_tail { " with a zeroed tail" } else { "" }
            ),
            check: Rc::new(move |payload| {
                let sid =
                    Sid::parse(text.as_bytes()).map_err(|error| format!("oracle SID {text}: {error}"))?;
                let wanted = sid.to_cifs_sid();
                let meaningful = sid.meaningful_len();
                if payload.len() != 68 || payload.get(..meaningful) != wanted.get(..meaningful) {
                    return Err(format!("payload is {payload:02x?}"));
                }
                let read_back = Sid::from_cifs_sid(payload).map_err(|error| error.to_string())?;
                if read_back.to_string() != text {
                    return Err(format!("payload reads back as {read_back}"));
                }
                if zero_tail
                    && payload
                        .get(meaningful..)
                        .is_some_and(|tail| tail.iter().any(|&byte| byte != 0))
                {
                    return Err("the SID tail is not zeroed".into());
                }
                Ok(())
            }),
        },
        lifetime: lifetime(timeout),
    }
}

/// A negative key for about 60 s, this exit status.
fn fail(code: i32) -> Expect {
    Expect::Negative {
        errno: ENOKEY,
        lifetime: Lifetime::within(45, 60),
        status: UpcallStatus::Exited(code),
    }
}

/// Builds the upcall cases: `cifs.idmap [extra] %k` on a `user` key.
struct Cases {
    tool: PathBuf,
}

impl Cases {
    fn case(&self, name: &str, extra: &[&str], description: impl AsRef<[u8]>, expect: Expect) -> Case {
        let mut argv: Vec<OsString> = vec![self.tool.clone().into_os_string()];
        argv.extend(extra.iter().map(OsString::from));
        argv.push("%k".into());
        Case::new(name, &argv, Request::new("user", description), expect)
            .helper_timeout(Duration::from_secs(30))
    }

    /// A SID answer: ours must also zero the unused tail.
    fn sid(
        &self,
        name: &str,
        extra: &[&str],
        description: impl AsRef<[u8]>,
        text: impl AsRef<str>,
        timeout: Option<u64>,
    ) -> Case {
        let text = text.as_ref();
        self.case(name, extra, description, sid(text, timeout, false))
            .diverging(sid(text, timeout, true))
    }
}

fn wb_id(dc: &samba::Dc, flag: &str, sid: &str) -> io::Result<u32> {
    let text = dc.wbinfo(&[flag, sid])?;
    text.trim()
        .parse()
        .map_err(|_| io::Error::other(format!("wbinfo {flag} {sid}: {text}")))
}

fn main() -> ExitCode {
    let mut runner = match Runner::start("cifs.idmap", Tool::CifsIdmap) {
        Ok(runner) => runner,
        Err(error) => {
            compliance::say(&format!("compliance: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let build = Cases {
        tool: runner.tool().to_path_buf(),
    };
    command_line_cases(&mut runner);
    syslog_case(&mut runner, &build);
    match samba::Dc::start() {
        Ok(mut dc) => {
            let accounts = winbind_cases(&mut runner, &build, &dc);
            if let Some((alice, staff)) = accounts {
                sssd_cases(&mut runner, &build, &mut dc, &alice, &staff);
            }
            match dc.stop() {
                Ok(()) => stopped_cases(&mut runner, &build),
                Err(error) => runner.fail("stopping winbindd", error),
            }
            drop(dc);
        }
        Err(error) => runner.fail("a real winbindd is available", error),
    }
    runner.finish()
}

fn run_direct(tool: &Path, args: &[&str]) -> io::Result<(Option<i32>, Vec<u8>, Vec<u8>)> {
    let output = Command::new(tool).args(args).output()?;
    Ok((output.status.code(), output.stdout, output.stderr))
}

/// Binds `/dev/log` (absent on these machines: no syslog daemon) for one failing upcall and reads
/// what the helper logged. Removed again afterwards; refuses to touch an existing `/dev/log`.
fn syslog_case(runner: &mut Runner, build: &Cases) {
    let failing = build.case("", &[], "oi:abc", fail(22));
    runner.case(
        "failures are logged under the ident cifs.idmap with facility daemon",
        |runner| {
            // The capture drains /dev/log while the helper runs (the reference logs more datagrams
            // than the socket queue holds) and is shared with other suites, so wait for it.
            let ((), lines) = compliance::logged(Duration::from_mins(1), || runner.upcall(&failing))?;
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

fn command_line_cases(runner: &mut Runner) {
    runner.case("help prints the usage line on stderr and exits 0", |h| {
        let (code, stdout, stderr) = run_direct(h.tool(), &["-h"]).map_err(|e| e.to_string())?;
        let usage = b"Usage: cifs.idmap [-h] [-v] [-t timeout] key_serial\n";
        (code == Some(0) && stdout.is_empty() && stderr == usage)
            .then_some(())
            .ok_or(format!(
                "{code:?} {stdout:?} {:?}",
                String::from_utf8_lossy(&stderr)
            ))
    });
    runner.case("version prints version: on stdout and exits 0", |h| {
        let (code, stdout, _) = run_direct(h.tool(), &["--version"]).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&stdout);
        // Divergence (STYLE §10): the C shape with our own version number.
        let wanted = match h.under_test() {
            UnderTest::Theirs => "version: 7.0\n".to_owned(),
            UnderTest::Ours => format!("version: {}\n", env!("CARGO_PKG_VERSION")),
        };
        (code == Some(0) && text == wanted)
            .then_some(())
            .ok_or(format!("{code:?} {text:?}"))
    });
    runner.case("a missing key serial prints usage and exits 1", |h| {
        let (code, _, stderr) = run_direct(h.tool(), &[]).map_err(|e| e.to_string())?;
        (code == Some(1) && stderr.starts_with(b"Usage: cifs.idmap"))
            .then_some(())
            .ok_or(format!("{code:?}"))
    });
    runner.case("a bad timeout exits 22 and an overflowing one 75", |h| {
        let (bad, _, _) = run_direct(h.tool(), &["-t", "abc", "1"]).map_err(|e| e.to_string())?;
        let (big, _, _) = run_direct(h.tool(), &["-t", "4294967296", "1"]).map_err(|e| e.to_string())?;
        (bad == Some(22) && big == Some(75))
            .then_some(())
            .ok_or(format!("{bad:?} {big:?}"))
    });
    runner.case("an unknown option prints getopt's message and exits 22", |h| {
        let (code, _, stderr) = run_direct(h.tool(), &["-x", "1"]).map_err(|e| e.to_string())?;
        let wanted = format!("{}: invalid option -- 'x'\n", h.tool().display());
        (code == Some(22) && stderr == wanted.as_bytes())
            .then_some(())
            .ok_or(format!("{code:?} {:?}", String::from_utf8_lossy(&stderr)))
    });
}

#[allow(clippy::too_many_lines)] // one table of cases
fn winbind_cases(runner: &mut Runner, build: &Cases, dc: &samba::Dc) -> Option<(String, String)> {
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
            runner.fail("the test domain has a user and a group", error);
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
        runner.fail("winbindd maps the well-known SIDs", format!("{oracle_ids:?}"));
        return None;
    };
    let no_account_sid = dc
        .wbinfo(&["--uid-to-sid", &NO_ACCOUNT_UID.to_string()])
        .unwrap_or_default();

    let table: Vec<Case> = vec![
        build.case(
            "builtin administrators map to the gid winbind allocated",
            &[],
            "gs:S-1-5-32-544",
            id(administrators, Some(600)),
        ),
        build.case(
            "builtin administrators are usable as an owner too",
            &[],
            "os:S-1-5-32-544",
            id(administrators_uid, Some(600)),
        ),
        build.case(
            "everyone maps to a gid",
            &[],
            "gs:S-1-1-0",
            id(everyone, Some(600)),
        ),
        build.case(
            "local system maps to a uid",
            &[],
            "os:S-1-5-18",
            id(system, Some(600)),
        ),
        build.case(
            "a domain user maps to its rfc2307 uid",
            &[],
            format!("os:{alice}"),
            id(ALICE_UID, Some(600)),
        ),
        build.case(
            "a domain group maps to its rfc2307 gid",
            &[],
            format!("gs:{staff}"),
            id(STAFF_GID, Some(600)),
        ),
        build.case(
            "domain users map to the gid winbind gives them",
            &[],
            format!("gs:{domain_sid}-513"),
            id(domain_users, Some(600)),
        ),
        build.case(
            "the domain administrator maps to the uid winbind gives it",
            &[],
            format!("os:{domain_sid}-500"),
            id(administrator, Some(600)),
        ),
        build.case(
            "a domain user asked for as a group fails with the wrong-type status 234",
            &[],
            format!("gs:{alice}"),
            fail(234),
        ),
        build.case(
            "a samba unix user sid maps to its uid",
            &[],
            "os:S-1-22-1-1000",
            id(1000, Some(600)),
        ),
        build.case(
            "a samba unix group sid maps to its gid",
            &[],
            "gs:S-1-22-2-1000",
            id(1000, Some(600)),
        ),
        build.case(
            "the unmappable unix sid for uid 4294967295 fails with 234",
            &[],
            "os:S-1-22-1-4294967295",
            fail(234),
        ),
        build.case(
            "a malformed sid fails with the plugin's 251",
            &[],
            "os:S-1-5-21-x",
            fail(251),
        ),
        build.case(
            "a sid with fifteen sub-authorities maps",
            &[],
            format!("os:{fifteen}"),
            id(fifteen_uid, Some(600)),
        ),
        build.case(
            "a sid with sixteen sub-authorities fails with 251",
            &[],
            format!("os:{fifteen}-15"),
            fail(251),
        ),
        build.case(
            "a domain name instead of a sid resolves like the reference",
            &[],
            format!("os:{}\\kupalice", samba::DOMAIN),
            id(ALICE_UID, Some(600)),
        ),
        build.sid(
            "a domain user's uid maps to its sid",
            &[],
            format!("oi:{ALICE_UID}"),
            &alice,
            Some(600),
        ),
        build.sid(
            "a hex uid is read with base 0",
            &[],
            format!("oi:0x{ALICE_UID:x}"),
            &alice,
            Some(600),
        ),
        build.sid(
            "a domain group's gid maps to its sid",
            &[],
            format!("gi:{STAFF_GID}"),
            &staff,
            Some(600),
        ),
        build.sid(
            "a uid without an account maps to a unix sid",
            &[],
            format!("oi:{NO_ACCOUNT_UID}"),
            no_account_sid,
            Some(600),
        ),
        build.case("uid -1 overflows with 75", &[], "oi:-1", fail(75)),
        build.case("uid 4294967296 overflows with 75", &[], "oi:4294967296", fail(75)),
        build.case("a non-numeric uid fails with 22", &[], "oi:abc", fail(22)),
        build.case("an unknown request fails with 1", &[], "xx:1", fail(1)),
        build.case("an empty request fails with 1", &[], "os:", fail(1)),
        build.case(
            "timeout 0 makes the answer permanent",
            &["-t", "0"],
            format!("os:{alice}"),
            id(ALICE_UID, None),
        ),
        build.case(
            "timeout 120 is set before instantiating",
            &["--timeout=120"],
            format!("gs:{staff}"),
            id(STAFF_GID, Some(120)),
        ),
        build.case(
            "a failed key stays negative 60 s even with timeout 0",
            &["-t", "0"],
            "oi:abc",
            fail(22),
        ),
    ];
    for case in &table {
        runner.run(case);
    }
    runner.run(
        &build
            .case(
                "a description with two requests is refused by ours and guessed by theirs",
                &[],
                "gs:S-1-1-0 os:S-1-5-18",
                id(system, Some(600)),
            )
            .diverging(fail(1)),
    );
    Some((alice, staff))
}

/// The same helper with sssd's plugin and a real sssd (LDAP provider, SID-based id mapping) in
/// front of the same DC.
#[allow(clippy::too_many_lines)] // two tables of cases
fn sssd_cases(runner: &mut Runner, build: &Cases, dc: &mut samba::Dc, alice: &str, staff: &str) {
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
            runner.fail("a real sssd answers through cifs_idmap_sss.so", error);
            return;
        }
    };
    let table: Vec<Case> = vec![
        build.case(
            "with sssd a domain user maps to the uid sssd computes",
            &[],
            format!("os:{alice}"),
            id(alice_uid, Some(600)),
        ),
        build.case(
            "with sssd a domain group maps to the gid sssd computes",
            &[],
            format!("gs:{staff}"),
            id(staff_gid, Some(600)),
        ),
        build.case(
            "with sssd a domain user asked for as a group fails with 234",
            &[],
            format!("gs:{alice}"),
            fail(234),
        ),
        build.case(
            "with sssd a samba unix user sid falls back to its uid",
            &[],
            "os:S-1-22-1-1000",
            id(1000, Some(600)),
        ),
        build.case(
            "with sssd a samba unix group sid falls back to its gid",
            &[],
            "gs:S-1-22-2-1000",
            id(1000, Some(600)),
        ),
        build.case(
            "with sssd builtin administrators are not mapped and fail with 255",
            &[],
            "gs:S-1-5-32-544",
            fail(255),
        ),
        build.case(
            "with sssd an unknown domain sid fails with 255",
            &[],
            "os:S-1-5-21-1-2-3-500",
            fail(255),
        ),
        build.sid(
            "with sssd a domain user's uid maps to its sid",
            &[],
            format!("oi:{alice_uid}"),
            alice,
            Some(600),
        ),
        build.sid(
            "with sssd a domain group's gid maps to its sid",
            &[],
            format!("gi:{staff_gid}"),
            staff,
            Some(600),
        ),
        build.case(
            "with sssd a uid sssd does not know fails with 255",
            &[],
            "oi:1000",
            fail(255),
        ),
    ];
    for case in &table {
        runner.run(case);
    }
    drop(daemon);
    let stopped: Vec<Case> = vec![
        build.case(
            "with sssd stopped a domain sid fails with 255",
            &[],
            format!("os:{alice}"),
            fail(255),
        ),
        build.case(
            "with sssd stopped a samba unix user sid still maps to its uid",
            &[],
            "os:S-1-22-1-1000",
            id(1000, Some(600)),
        ),
        build.case(
            "with sssd stopped a uid fails with 255",
            &[],
            format!("oi:{alice_uid}"),
            fail(255),
        ),
    ];
    for case in &stopped {
        runner.run(case);
    }
    drop(plugin);
}

fn stopped_cases(runner: &mut Runner, build: &Cases) {
    for (name, description) in [
        (
            "a sid fails with 251 while winbind is stopped",
            "os:S-1-5-21-1-2-3-500",
        ),
        ("a uid fails with 251 while winbind is stopped", "oi:1000"),
        ("a gid fails with 251 while winbind is stopped", "gi:0"),
    ] {
        runner.run(&build.case(name, &[], description, fail(251)));
    }
}
