//! Compliance: `cifs.upcall` (ours or Debian's, `KUP_UNDER_TEST=ours|theirs`) on its command line
//! and on real upcalls.
//!
//! The host kernel's `cifs.spnego` keys cannot be requested from userspace, so the descriptions
//! travel on `user` keys (the reference does not check the type, spec §4): `request_key("user",
//! "ver=0x2;host=…")` → kernel → request-key → kup-test-dispatch → `cifs.upcall %k`. The resolver
//! mode runs on real `dns_resolver` keys. Cases with a Kerberos ticket are in `tests/kerberos.rs`.
//!
//! The descriptions carry no `pid` (no namespace switch in the reference) and uids without a
//! passwd entry, so a description the reference accepts ends at its `getpwuid` ("failed to
//! retrieve GID from UID N", exit 1) before any Kerberos work; ours ends at the same lookup in its
//! credential child ("unable to find pw entry for uid N", exit 1). Where key state and exit
//! status alone cannot tell a parse result apart, the case reads the syslog lines (the uid the
//! helper chose, the refusal), through `kup_testkit::syslog` since `/dev/log` is shared.
//!
//! Own harness (`harness = false`): cases run in order on the main thread; each prints
//! `test <sentence> ... ok|FAILED`.

use std::ffi::OsString;
use std::io;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

use kup_testkit::compliance::{self, Case, ENOKEY, Expect, Lifetime, Request, Runner};
use kup_testkit::reference::{Tool, UnderTest};
use kup_testkit::syslog::SyslogLine;
use kup_testkit::upcall::{Route, UpcallStatus};

/// Uids with no passwd entry on the test machines (hex, as the kernel writes them).
const NO_ACCOUNT: [u32; 6] = [4_000_001, 4_000_002, 4_000_003, 4_000_004, 4_000_005, 4_000_006];

/// A negative key for about 60 s and exit 1: the reference leaves the key to the kernel, which
/// negates it for 60 s when the helper exits; ours negates it itself (decisions.md 1).
fn fail() -> Expect {
    Expect::Negative {
        errno: ENOKEY,
        lifetime: Lifetime::within(45, 60),
        status: UpcallStatus::Exited(1),
    }
}

fn upcall_case(tool: &Path, name: &str, extra: &[&str], description: impl AsRef<[u8]>) -> Case {
    let mut argv: Vec<OsString> = vec![tool.as_os_str().to_owned()];
    argv.extend(extra.iter().map(OsString::from));
    argv.push("%k".into());
    Case::new(name, &argv, Request::new("user", description), fail()).helper_timeout(Duration::from_secs(40))
}

fn main() -> ExitCode {
    let mut runner = match Runner::start("cifs.upcall", Tool::CifsUpcall) {
        Ok(runner) => runner,
        Err(error) => {
            compliance::say(&format!("compliance: {error}"));
            return ExitCode::FAILURE;
        }
    };
    command_line_cases(&mut runner);
    refusal_cases(&mut runner);
    logged_cases(&mut runner);
    resolver_cases(&mut runner);
    runner.finish()
}

fn run_direct(tool: &Path, args: &[&str]) -> io::Result<(Option<i32>, Vec<u8>, Vec<u8>)> {
    let output = Command::new(tool).args(args).output()?;
    Ok((output.status.code(), output.stdout, output.stderr))
}

/// Spec §20 rows 23 and 24, and the rest of §3.
fn command_line_cases(runner: &mut Runner) {
    runner.case(
        "version prints version: on stdout and exits 0 wherever it is",
        |h| {
            // Divergence (STYLE §10): the C shape with our own version number.
            let wanted = match h.under_test() {
                UnderTest::Theirs => "version: 7.0\n".to_owned(),
                UnderTest::Ours => format!("version: {}\n", env!("CARGO_PKG_VERSION")),
            };
            for args in [
                &["-v"][..],
                &["--version"],
                &["-c", "-v"],
                &["5", "--vers"],
                &["-v", "-x"],
            ] {
                let (code, stdout, stderr) = run_direct(h.tool(), args).map_err(|e| e.to_string())?;
                if code != Some(0) || stdout != wanted.as_bytes() || !stderr.is_empty() {
                    return Err(format!(
                        "{args:?}: {code:?} {:?}",
                        String::from_utf8_lossy(&stdout)
                    ));
                }
            }
            Ok(())
        },
    );
    runner.case("a missing key serial prints the usage line on stderr and exits 1", |h| {
        let usage = b"Usage: cifs.upcall [ -K /path/to/keytab] [-k /path/to/krb5.conf] [-E] [-t] [-v] [-l] [-e nsecs] key_serial\n";
        for args in [&[][..], &["-t", "-l", "-E", "-c"], &["-e", "5", "--keytab=/x"]] {
            let (code, stdout, stderr) = run_direct(h.tool(), args).map_err(|e| e.to_string())?;
            if code != Some(1) || !stdout.is_empty() || stderr != usage {
                return Err(format!("{args:?}: {code:?} {:?}", String::from_utf8_lossy(&stderr)));
            }
        }
        Ok(())
    });
    runner.case(
        "unknown options and missing arguments are getopt errors with exit 1",
        |h| {
            let program = h.tool().display().to_string();
            for (args, message) in [
                (&["-h"][..], format!("{program}: invalid option -- 'h'\n")),
                (&["-x", "5"], format!("{program}: invalid option -- 'x'\n")),
                (
                    &["--expire"],
                    format!("{program}: option '--expire' requires an argument\n"),
                ),
                (
                    &["5", "-K"],
                    format!("{program}: option requires an argument -- 'K'\n"),
                ),
                (
                    &["--bogus", "5"],
                    format!("{program}: unrecognized option '--bogus'\n"),
                ),
            ] {
                let (code, stdout, stderr) = run_direct(h.tool(), args).map_err(|e| e.to_string())?;
                if code != Some(1) || !stdout.is_empty() || stderr != message.as_bytes() {
                    return Err(format!(
                        "{args:?}: {code:?} {:?}",
                        String::from_utf8_lossy(&stderr)
                    ));
                }
            }
            Ok(())
        },
    );
    runner.case("a key serial that is not a key exits 1", |h| {
        for args in [&["abc"][..], &["0"], &["99999999999999999999"]] {
            let (code, stdout, _) = run_direct(h.tool(), args).map_err(|e| e.to_string())?;
            if code != Some(1) || !stdout.is_empty() {
                return Err(format!("{args:?}: {code:?}"));
            }
        }
        Ok(())
    });
}

/// Spec §20 rows 3–7 and 17: descriptions both implementations refuse before any identity work.
fn refusal_cases(runner: &mut Runner) {
    let tool = runner.tool().to_path_buf();
    let uid = NO_ACCOUNT[0];
    let long_host = "a".repeat(1026);
    let table = [
        (
            "a description without sec is refused",
            format!("ver=0x2;host=h;ip4=127.0.0.1;uid={uid:#x};creduid={uid:#x}"),
        ),
        (
            "sec=iakerb is refused",
            format!("ver=0x2;host=h;ip4=127.0.0.1;sec=iakerb;uid={uid:#x};creduid={uid:#x}"),
        ),
        (
            "a description of version 3 is refused",
            format!("ver=0x3;host=h;ip4=127.0.0.1;sec=krb5;uid={uid:#x};creduid={uid:#x}"),
        ),
        (
            "a description without ver is refused",
            format!("host=h;ip4=127.0.0.1;sec=krb5;uid={uid:#x};creduid={uid:#x}"),
        ),
        (
            "a description without host is refused",
            format!("ver=0x2;ip4=127.0.0.1;sec=krb5;uid={uid:#x};creduid={uid:#x}"),
        ),
        (
            "a description without uid or creduid is refused",
            "ver=0x2;host=h;ip4=127.0.0.1;sec=krb5;user=alice".to_owned(),
        ),
        (
            "a host of 1026 bytes is a parse error",
            format!("ver=0x2;host={long_host};sec=krb5;uid={uid:#x}"),
        ),
        (
            "a host of 1025 bytes is too long",
            format!("ver=0x2;host={};sec=krb5;uid={uid:#x}", &long_host[..1025]),
        ),
        (
            "a pid that overflows a long is a parse error",
            format!("ver=0x2;host=h;sec=krb5;uid={uid:#x};pid=0x10000000000000000"),
        ),
        (
            "a user of 257 bytes is a parse error",
            format!("ver=0x2;host=h;sec=krb5;uid={uid:#x};user={}", "u".repeat(257)),
        ),
        (
            "an address of 1026 bytes is a parse error",
            format!("ver=0x2;host=h;ip4={};sec=krb5;uid={uid:#x}", "1".repeat(1026)),
        ),
        (
            "a creduid that overflows a long is a parse error",
            format!("ver=0x2;host=h;sec=krb5;uid={uid:#x};creduid=-0x10000000000000000"),
        ),
        (
            "a description the type dispatch reads as SPNEGO needs its fields even on a user key",
            "hello".to_owned(),
        ),
    ];
    for (name, description) in table {
        runner.run(&upcall_case(&tool, name, &[], description));
    }
}

/// The lines our tool logged (tag `cifs.upcall`) during one upcall case.
fn logged_upcall(runner: &Runner, case: &Case) -> Result<Vec<String>, String> {
    let ((), lines) = compliance::logged(Duration::from_mins(1), || runner.upcall(case))?;
    Ok(lines
        .iter()
        .filter(|line| line.tag() == Some("cifs.upcall"))
        .filter_map(SyslogLine::message)
        .map(str::to_owned)
        .collect())
}

/// A case whose key state is the same for both, told apart by a log line: `theirs` must appear
/// in the reference's lines, `ours` in ours.
fn logged_case(runner: &mut Runner, case: &Case, theirs: &str, ours: &str) {
    let name = case.name.clone();
    runner.case(&name, |runner| {
        let lines = logged_upcall(runner, case)?;
        let wanted = match runner.under_test() {
            UnderTest::Theirs => theirs,
            UnderTest::Ours => ours,
        };
        lines
            .iter()
            .any(|line| line.contains(wanted))
            .then_some(())
            .ok_or(format!("no log line containing {wanted:?} in {lines:?}"))
    });
}

/// Rows 9, 11, 12, 17 (1024 bytes), the dispatch, facility and the `upcall_target` grammar:
/// which uid each implementation chose, or why it refused, read from the log.
#[allow(clippy::too_many_lines)] // one table of cases
fn logged_cases(runner: &mut Runner) {
    let tool = runner.tool().to_path_buf();
    let [first, second, third, fourth, fifth, sixth] = NO_ACCOUNT;
    let pw = |uid: u32| format!("failed to retrieve GID from UID {uid}:");
    let ticket = |uid: u32| format!("unable to find pw entry for uid {uid}");

    runner.case(
        "failures are logged under the ident cifs.upcall with facility daemon",
        |runner| {
            let case = upcall_case(runner.tool(), "", &[], "ver=0x2;host=h;uid=0x0");
            let ((), lines) = compliance::logged(Duration::from_mins(1), || runner.upcall(&case))?;
            let ours: Vec<&SyslogLine> = lines
                .iter()
                .filter(|line| line.tag() == Some("cifs.upcall"))
                .collect();
            let daemon = !ours.is_empty() && ours.iter().all(|line| line.facility() == Some(3));
            let error = ours.iter().any(|line| line.severity() == Some(3));
            (daemon && error)
                .then_some(())
                .ok_or(format!("cifs.upcall log lines {ours:?}"))
        },
    );
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "a missing sec is logged with the bits of the fields found",
            &[],
            format!("ver=0x2;host=h;ip4=127.0.0.1;uid={first:#x};pid=zz"),
        ),
        "(0x3b)",
        "(0x3b)",
    );
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "creduid is the user acted for (row 11: no passwd entry)",
            &[],
            format!(
                "ver=0x2;host=localhost;ip4=127.0.0.1;sec=krb5;uid={first:#x};creduid={second:#x};user=alice"
            ),
        ),
        &pw(second),
        &ticket(second),
    );
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "legacy-uid makes uid the user acted for",
            &["-l"],
            format!("ver=0x2;host=localhost;ip4=127.0.0.1;sec=krb5;uid={first:#x};creduid={second:#x}"),
        ),
        &pw(first),
        &ticket(first),
    );
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "ver and uids are hex with or without 0x (row 12)",
            &[],
            format!("ver=2;host=h;sec=krb5;uid={fifth:x};creduid={sixth:#x}"),
        ),
        &pw(sixth),
        &ticket(sixth),
    );
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "sec values starting with krb5 are krb5 (row 8)",
            &[],
            format!("ver=0x2;host=h;sec=krb5xyz;uid={fourth:#x}"),
        ),
        &pw(fourth),
        &ticket(fourth),
    );
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "a host of 1024 bytes is accepted (row 17)",
            &[],
            format!("ver=0x2;host={};sec=mskrb5;uid={third:#x}", "b".repeat(1024)),
        ),
        &pw(third),
        &ticket(third),
    );
    // `ver` is read with strtol like the ids, and its overflow is a parse error too.
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "a ver that overflows a long is a parse error",
            &[],
            format!("ver=0x10000000000000000;host=h;sec=krb5;uid={second:#x}"),
        ),
        "failed to decode key description",
        "the ver field is out of range",
    );
    // Row 9, decisions.md 4: a user name carrying `;uid=…;creduid=…` overrides both ids in the
    // reference (last wins); ours refuses the repeated field.
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "a repeated uid field: the reference takes the last, ours refuses it",
            &[],
            format!(
                "ver=0x2;host=h;ip4=127.0.0.1;sec=krb5;uid={first:#x};creduid={first:#x};user=bob;uid={third:#x};creduid={third:#x}"
            ),
        ),
        &pw(third),
        "the uid field is repeated",
    );
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "a repeated host field: the reference takes the last, ours refuses it",
            &[],
            format!("ver=0x2;host=a;sec=krb5;uid={fourth:#x};host=b"),
        ),
        &pw(fourth),
        "the host field is repeated",
    );
    // 7.0 does not know upcall_target; ours reads it with the 7.2+ grammar (a recorded divergence).
    logged_case(
        runner,
        &upcall_case(
            &tool,
            "an over-long upcall_target: ignored by 7.0, refused by ours",
            &[],
            format!("ver=0x2;host=h;sec=krb5;uid={fifth:#x};upcall_target=container"),
        ),
        &pw(fifth),
        "the upcall_target field is too long",
    );
}

/// Rows 21 and 22: a `dns_resolver` key answered with the first address and a NUL (the kernel
/// keeps the text). The timeout is set after instantiation; for a key requested from userspace
/// the kernel's `.dns_resolver` keyring is not reachable, so both get `EACCES` there: the key
/// stays positive and permanent, and the helper exits 1.
fn resolver_cases(runner: &mut Runner) {
    for (name, extra, host, answer) in [
        (
            "a dns_resolver key holds the first address of the name",
            &[][..],
            "localhost",
            &b"127.0.0.1"[..],
        ),
        (
            "expire abc still answers the key (row 22)",
            &["-e", "abc"],
            "localhost",
            b"127.0.0.1",
        ),
        (
            "an IPv6 literal comes back in inet_ntop's form",
            &[],
            "0:0:0:0:0:0:0:1",
            b"::1",
        ),
    ] {
        runner.case(name, |runner| {
            let mut argv: Vec<OsString> = vec![runner.tool().as_os_str().to_owned()];
            argv.extend(extra.iter().map(OsString::from));
            argv.push("%k".into());
            let route = Route::with_timeout(&argv, Duration::from_secs(40)).map_err(|e| e.to_string())?;
            let observed = compliance::observe(&route, &Request::new("dns_resolver", host))
                .map_err(|e| e.to_string())?;
            let payload = observed
                .outcome
                .as_ref()
                .map_err(|errno| format!("errno {errno}"))?;
            if payload.as_slice() != answer {
                return Err(format!("payload {:?}", payload.escape_ascii().to_string()));
            }
            let key = observed.key.ok_or("the key is gone")?;
            if key.negative || key.expiry != kup_sys::proc_keys::Expiry::Permanent {
                return Err(format!("key {key:?}"));
            }
            (observed.status == Some(UpcallStatus::Exited(1)))
                .then_some(())
                .ok_or(format!("status {:?}", observed.status))
        });
    }
    runner.run(
        &Case::new(
            "a dns_resolver name that does not resolve leaves a negative key",
            &[runner.tool().as_os_str(), "%k".as_ref()],
            Request::new("dns_resolver", "no-such-host.invalid"),
            fail(),
        )
        .helper_timeout(Duration::from_secs(40)),
    );
}
