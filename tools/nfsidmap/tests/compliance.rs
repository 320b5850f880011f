//! Compliance: `nfsidmap` (ours or Debian's, `KUP_UNDER_TEST=ours|theirs`) answering
//! `id_resolver` descriptions through the real kernel upcall path.
//!
//! The host kernel has no `id_resolver` key type, so the descriptions the nfsv4 module would send
//! travel on `user` keys (neither nfsidmap checks the type): `request_key("user", "uid:…", "")`
//! → kernel → `/sbin/request-key` → kup-test-dispatch → `nfsidmap -t 600 %k %d`, exactly the
//! packaged rule's argv. Each case observes what the kernel and the requester see: the payload
//! bytes of a positive key, or `ENOKEY` and a negative key (about 60 s), the key's expiry, and
//! the helper's exit status. Configs are written to the real `/etc/idmapd.conf` under
//! `support/system.rs`'s lock, which always restores the original.
//!
//! Own harness (`harness = false`): routes belong to one thread and the config is global, so the
//! cases run in order on the main thread; each prints `test <sentence> ... ok|FAILED`, then a
//! count. Where ours deliberately differs (docs/compat/nfsidmap.md), a case names both outcomes.

#[path = "support/system.rs"]
mod system;

use std::ffi::{OsStr, OsString};
use std::process::ExitCode;
use std::time::Duration;

use kup_testkit::compliance::{self, Case, ENOKEY, Expect, Lifetime, Payload, Request, Runner};
use kup_testkit::reference::Tool;
use kup_testkit::syslog::SyslogLine;
use kup_testkit::upcall::UpcallStatus;

use system::ConfigLock;

/// A positive, permanent key with exactly these bytes; exit 0.
fn payload(bytes: &[u8]) -> Expect {
    Expect::payload(bytes, Lifetime::Permanent)
}

/// A positive, permanent key holding `value` in decimal, NUL-terminated; exit 0.
fn id(value: u32) -> Expect {
    let mut bytes = value.to_string().into_bytes();
    bytes.push(0);
    Expect::payload(bytes, Lifetime::Permanent)
}

/// `ENOKEY`, a negative key expiring within 60 s, the helper ending with `status`.
fn negative(status: UpcallStatus) -> Expect {
    Expect::Negative {
        errno: ENOKEY,
        lifetime: Lifetime::within(0, 60),
        status,
    }
}

fn exit(code: i32) -> Expect {
    negative(UpcallStatus::Exited(code))
}

/// A case on a `user` key carrying `description`; its name and argv are given when it runs.
fn case(description: impl AsRef<[u8]>, expect: Expect) -> Case {
    Case::new("", &[] as &[&OsStr], Request::new("user", description), expect)
}

/// A case where ours deliberately differs (docs/compat/nfsidmap.md).
fn diverging(description: impl AsRef<[u8]>, theirs: Expect, ours: Expect) -> Case {
    case(description, theirs).diverging(ours)
}

/// The runner, and the argv request-key runs the helper with (the packaged rule's by default).
struct Harness {
    runner: Runner,
    argv: Vec<OsString>,
}

impl Harness {
    fn argv(&self, arguments: &[&str]) -> Vec<OsString> {
        let mut argv = vec![self.runner.tool().as_os_str().to_owned()];
        argv.extend(arguments.iter().map(OsString::from));
        argv
    }

    fn set_argv(&mut self, arguments: &[&str]) {
        self.argv = self.argv(arguments);
    }

    /// Runs `case` with the current argv, named after `context`, its description and the
    /// outcome the implementation under test must give.
    fn check(&mut self, context: &str, case: &Case) {
        let mut case = case.clone();
        case.name = format!(
            "{context}: {} gives {}",
            show(&case.request.description),
            describe(case.expect(self.runner.under_test()))
        );
        case.argv.clone_from(&self.argv);
        self.runner.run(&case);
    }

    fn run_table(&mut self, lock: &ConfigLock, context: &str, config: &str, cases: &[Case]) {
        if let Err(error) = lock.write(config) {
            self.runner.fail(&format!("{context}: writing the config"), error);
            return;
        }
        for case in cases {
            self.check(context, case);
        }
    }
}

fn show(bytes: &[u8]) -> String {
    let text: String = bytes.escape_ascii().to_string();
    if text.len() > 60 {
        format!("{}...", &text[..60])
    } else {
        text
    }
}

fn describe(expect: &Expect) -> String {
    match expect {
        Expect::Positive {
            payload: Payload::Exact(bytes),
            ..
        } => format!("payload \"{}\"", show(bytes)),
        Expect::Positive { payload, .. } => format!("payload {payload:?}"),
        Expect::Negative {
            status: UpcallStatus::Exited(code),
            ..
        } => format!("a negative key and exit {code}"),
        Expect::Negative { status, .. } => format!("a negative key ({status:?})"),
    }
}

const DEBIAN: &str = "[General]\n\nVerbosity = 0\n# set your own domain here, if it differs from FQDN minus hostname\nDomain = localdomain\n\n[Mapping]\n\nNobody-User = nobody\nNobody-Group = nogroup\n";

fn debian_cases() -> Vec<Case> {
    let long = "kupnfs_lllllllllllllllllllllllll";
    vec![
        case("uid:root@localdomain", id(0)),
        case("uid:kupnfs_alice@localdomain", id(45101)),
        case("uid:kupnfs_alice@LocalDomain", id(45101)),
        case("uid:kupnfs_alice@LOCALDOMAIN", id(45101)),
        case("uid:kupnfs_alice@other.dom", id(65534)),
        case("uid:kupnfs_alice@localdomain.", id(65534)),
        case("uid:kupnfs_alice", id(65534)),
        case("uid:KUPNFS_ALICE@localdomain", id(65534)),
        case("uid:nosuch@localdomain", id(65534)),
        case("uid:1234", id(1234)),
        case("uid:0", id(0)),
        case("uid:00", id(65534)),
        case("uid:12abc", id(12)),
        case("uid:-1", id(4_294_967_295)),
        case("uid:-2", id(4_294_967_294)),
        case("uid:4294967296", id(0)),
        case("uid:99999999999999999999", id(4_294_967_295)),
        case("uid:+77", id(77)),
        case("uid: 78", id(78)),
        case("uid:123@other.dom", id(123)),
        case("uid:45101@localdomain", id(45101)),
        case("uid:a@b@localdomain", id(65534)),
        case("uid:kupnfs@at@localdomain", id(45107)),
        case("uid:kupnfs.dot@localdomain", id(45106)),
        case(format!("uid:{long}@localdomain"), id(45105)),
        case("uid:45999kup@localdomain", id(45108)),
        case("uid:45999kup", id(45999)),
        case("uid:@localdomain", id(65534)),
        case("uid:kupnfs_alice@", id(65534)),
        case(b"uid:\xffkup@localdomain", id(65534)),
        case(format!("uid:{}@localdomain", "x".repeat(3000)), id(65534)),
        case("gid:kupnfs_grp@localdomain", id(45102)),
        case("gid:KUPNFS_UP@localdomain", id(45103)),
        case("gid:kupnfs_up@localdomain", id(65534)),
        case("gid:kupnfs.dot@LOCALDOMAIN", id(45106)),
        case("gid:nogroup@localdomain", id(65534)),
        case("gid:nosuch@localdomain", id(65534)),
        case("gid:kupnfs_grp", id(65534)),
        case("gid:4242", id(4242)),
        case("gid:0", id(0)),
        case("user:0", payload(b"root@localdomain")),
        case("user:abc", payload(b"root@localdomain")),
        case("user:1x", payload(b"daemon@localdomain")),
        case("user:45101", payload(b"kupnfs_alice@localdomain")),
        case("user:+45101", payload(b"kupnfs_alice@localdomain")),
        case("user: 45104", payload(b"kupnfs_bob@localdomain")),
        case("user:45105", payload(format!("{long}@localdomain").as_bytes())),
        case("user:45106", payload(b"kupnfs.dot@localdomain")),
        case("user:45107", payload(b"kupnfs@at@localdomain")),
        case("user:45108", payload(b"45999kup@localdomain")),
        case("user:65534", payload(b"nobody@localdomain")),
        case("user:99999", exit(1)),
        case("user:-1", exit(1)),
        case("user:4294967295", exit(1)),
        case("group:45102", payload(b"kupnfs_grp@localdomain")),
        case("group:45103", payload(b"KUPNFS_UP@localdomain")),
        case("group:65534", payload(b"nogroup@localdomain")),
        case("group:0", payload(b"root@localdomain")),
        case("group:99999", exit(1)),
        case("foo:bar", exit(0)),
        case("UID:root@localdomain", exit(0)),
        case("User:0", exit(0)),
        case("uid:", exit(1)),
        case("uid::", exit(1)),
        case("nocolon", exit(1)),
        case(":", exit(1)),
        diverging("uid::kupnfs_alice@localdomain", id(45101), exit(1)),
        diverging("uid:kupnfs_alice@localdomain:x", id(45101), exit(1)),
        diverging(":uid:kupnfs_alice@localdomain", id(45101), exit(1)),
        diverging("user:0:", payload(b"root@localdomain"), exit(1)),
    ]
}

/// `(config, cases)` tables for the idmapd.conf options and syntax quirks.
#[allow(clippy::too_many_lines)] // one table, read top to bottom
fn config_tables() -> Vec<(&'static str, String, Vec<Case>)> {
    let mut tables: Vec<(&'static str, String, Vec<Case>)> = vec![
        (
            "domain kept verbatim",
            "[General]\nDomain = Example.COM\n".into(),
            vec![
                case("user:0", payload(b"root@Example.COM")),
                case("group:0", payload(b"root@Example.COM")),
                case("uid:root@example.com", id(0)),
                case("uid:root@EXAMPLE.COM.", id(65534)),
                case("gid:zz@example.com", id(4_294_967_294)),
            ],
        ),
        ("last line without newline", "[General]\nDomain = Example.COM".into(), vec![case("user:0", payload(b"root@localdomain"))]),
        ("double quotes", "[general]\ndomain=\"Ex Ample\" trailing\n".into(), vec![case("user:0", payload(b"root@Ex Ample"))]),
        ("single quotes", "[general]\ndomain='q.dom'\n".into(), vec![case("user:0", payload(b"root@q.dom"))]),
        ("hash comment", "[general]\ndomain = a.dom # comment\n".into(), vec![case("user:0", payload(b"root@a.dom"))]),
        ("semicolon cut", "[general]\ndomain = a.dom;b\n".into(), vec![case("user:0", payload(b"root@a.dom"))]),
        ("continuation line", "[general]\ndomain = a.\\\n dom\n".into(), vec![case("user:0", payload(b"root@a.   dom"))]),
        ("later assignment wins", "[general]\ndomain = a.dom\ndomain = b.dom\n".into(), vec![case("user:0", payload(b"root@b.dom"))]),
        ("sections merge across case", "[General]\nDomain = A.test\n[general]\nDomain = B.test\n".into(), vec![case("user:0", payload(b"root@B.test"))]),
        ("dollar HOME from request-key's environment", "[general]\ndomain = $HOME\n".into(), vec![case("user:0", payload(b"root@/"))]),
        ("dollar from the environment section", "[general]\ndomain = $NOPE\n[environment]\nNOPE = env.dom\n".into(), vec![case("user:0", payload(b"root@env.dom"))]),
        ("dollar chain", "[General]\nDomain = $A\n[environment]\nA = $B\nB = x.test\n".into(), vec![case("user:0", payload(b"root@x.test"))]),
        ("blanks in brackets", "[ General ]junk\n  Domain   =   sp.dom   \n".into(), vec![case("user:0", payload(b"root@sp.dom"))]),
        ("assignment before any section", "Domain = x.dom\n[General]\n".into(), vec![case("user:0", payload(b"root@localdomain"))]),
        ("empty value", "[General]\nDomain =\n".into(), vec![case("user:0", payload(b"root@localdomain"))]),
        ("lone carriage return value", "[General]\nDomain =\r\n".into(), vec![case("user:0", payload(b"root@\r"))]),
        ("crlf line ends", "[General]\r\nDomain = crlf.test\r\n".into(), vec![case("user:0", payload(b"root@crlf.test"))]),
        ("subsection invisible", "[General \"sub\"]\nDomain = sub.dom\n".into(), vec![case("user:0", payload(b"root@localdomain"))]),
        ("include of a missing optional file", "[General]\ninclude = -/nonexistent.conf\nDomain = a.test\n".into(), vec![case("user:0", payload(b"root@a.test"))]),
        ("include of a missing file", "[General]\ninclude = /nonexistent.conf\nDomain = a.test\n".into(), vec![case("user:0", payload(b"root@a.test"))]),
        ("domain of 122 bytes", format!("[General]\nDomain = {}\n", "d".repeat(122)), vec![case("user:0", payload(format!("root@{}", "d".repeat(122)).as_bytes()))] ),
        ("domain of 123 bytes", format!("[General]\nDomain = {}\n", "d".repeat(123)), vec![case("user:0", exit(1)), case("group:0", exit(1)), case(format!("uid:root@{}", "d".repeat(123)), id(0))]),
        (
            "domain of 600 bytes",
            format!("[General]\nDomain = {}\n", "d".repeat(600)),
            vec![
                case("user:0", exit(1)),
                case("group:0", exit(1)),
                case("uid:root@", id(0)),
                case(format!("uid:root@{}", "d".repeat(600)), id(4_294_967_294)),
            ],
        ),
        (
            "No-Strip user",
            "[General]\nDomain = d.test\nNo-Strip = user\n".into(),
            vec![
                case("uid:kupnfs_alice", id(45101)),
                case("uid:kupnfs_alice@x.test", id(65534)),
                case("uid:kupnfs@at", id(45107)),
                case("user:45101", payload(b"kupnfs_alice@d.test")),
                case("user:45107", payload(b"kupnfs@at")),
                case("gid:kupnfs_grp", id(4_294_967_294)),
            ],
        ),
        (
            "No-Strip group",
            "[General]\nDomain = d.test\nNo-Strip = group\n".into(),
            vec![case("gid:kupnfs_grp", id(45102)), case("uid:kupnfs_alice", id(65534)), case("group:45102", payload(b"kupnfs_grp@d.test"))],
        ),
        (
            "No-Strip both with Reformat-Group",
            "[General]\nDomain = d.test\nNo-Strip = Both\nReformat-Group = yes\n".into(),
            vec![
                case("gid:kupnfs_up@spec.test", id(4_294_967_294)),
                case("gid:KUPNFS_UP@d.test", id(45103)),
                case("gid:kupnfs_grp", id(4_294_967_294)),
                case("uid:kupnfs_alice", id(45101)),
            ],
        ),
        ("no nobody settings", "[General]\nDomain = d.test\n".into(), vec![case("uid:zz@d.test", id(65534)), case("gid:zz@d.test", id(4_294_967_294))]),
        (
            "nobody settings",
            "[General]\nDomain = d.test\n[Mapping]\nNobody-User = kupnfs_alice\nNobody-Group = kupnfs_grp\n".into(),
            vec![case("uid:zz@d.test", id(45101)), case("gid:zz@d.test", id(45102)), case("uid:zz", id(45101))],
        ),
        (
            "unknown nobody names",
            "[General]\nDomain = d.test\n[Mapping]\nNobody-User = nosuch\nNobody-Group = nosuchg\n".into(),
            vec![case("uid:zz@d.test", id(65534)), case("gid:zz@d.test", id(4_294_967_294))],
        ),
        (
            "subsection erases nobody user",
            "[General]\nDomain = localdomain\n[Mapping]\nNobody-User = kupnfs_alice\n[Mapping \"x\"]\nNobody-User = root\n".into(),
            vec![case("uid:zz@localdomain", id(65534))],
        ),
        (
            "Verbosity and Local-Realms do not change payloads",
            "[General]\nDomain = d.test\nVerbosity = 3\nLocal-Realms = A.TEST, B.TEST\n".into(),
            vec![case("uid:kupnfs_alice@d.test", id(45101))],
        ),
        ("unknown method", "[General]\nDomain = d.test\n[Translation]\nMethod = nosuch\n".into(), vec![case("uid:root@d.test", exit(1)), case("user:0", exit(1))]),
        ("method names keep trailing blanks", "[General]\nDomain = d.test\n[Translation]\nMethod = nsswitch ,static\n".into(), vec![case("uid:root@d.test", exit(1))]),
        ("method list with blanks after commas", "[General]\nDomain = d.test\n[Translation]\nMethod = nsswitch,  static\n".into(), vec![case("uid:root@d.test", id(0))]),
        (
            "empty method list",
            "[General]\nDomain = d.test\n[Translation]\nMethod = ,\n".into(),
            vec![
                diverging("uid:kupnfs_alice@d.test", id(0), id(4_294_967_294)),
                diverging("gid:kupnfs_grp@d.test", id(0), id(4_294_967_294)),
                case("user:0", exit(1)),
            ],
        ),
        (
            "umich_ldap selected",
            "[General]\nDomain = d.test\n[Translation]\nMethod = umich_ldap\n[UMICH_SCHEMA]\nLDAP_server = 127.0.0.1\nLDAP_port = 1\n".into(),
            vec![case("uid:root@d.test", exit(1)), case("user:0", exit(1))],
        ),
        ("static without a Static section", "[General]\nDomain = d.test\n[Translation]\nMethod = static\n".into(), vec![case("uid:root@d.test", id(4_294_967_294)), case("user:0", exit(1))]),
        (
            "static before nsswitch",
            "[General]\nDomain = d.test\n[Translation]\nMethod = static,nsswitch\n[Static]\nspec_x@OTHER.REALM = kupnfs_alice\nroot@d.test = kupnfs_alice\n".into(),
            vec![
                case("uid:spec_x@OTHER.REALM", id(45101)),
                case("uid:spec_x@other.realm", id(45101)),
                case("uid:root@d.test", id(45101)),
                case("user:45101", payload(b"spec_x@OTHER.REALM")),
                case("user:0", payload(b"root@d.test")),
                case("gid:spec_x@OTHER.REALM", id(4_294_967_294)),
            ],
        ),
        (
            "nsswitch before static",
            "[General]\nDomain = d.test\n[Translation]\nMethod = nsswitch,static\n[Static]\nspec_x@OTHER.REALM = kupnfs_alice\n".into(),
            vec![case("uid:spec_x@OTHER.REALM", id(65534))],
        ),
        (
            "static maps groups too",
            "[General]\nDomain = d.test\n[Translation]\nMethod = static\n[Static]\nstaff@R = kupnfs_grp\n".into(),
            vec![case("gid:staff@R", id(45102)), case("group:45102", payload(b"staff@R")), case("uid:staff@R", id(4_294_967_294))],
        ),
        (
            "regex without its section",
            "[General]\nDomain = d.test\n[Translation]\nMethod = regex\n".into(),
            vec![diverging("uid:root@d.test", negative(UpcallStatus::Signaled(11)), exit(1))],
        ),
    ];
    let regex = "[General]\nDomain = d.test\n[Translation]\nMethod = regex\n[Regex]\nUser-Regex = ^DOM\\\\([^@]+)@D\\.TEST$\nGroup-Regex = ^([^@]+)@d\\.test$\nGroup-Name-Prefix = kupnfs_\nPrepend-Before-Group = G:\nAppend-After-Group = @d.test\n";
    tables.push((
        "regex",
        regex.into(),
        vec![
            case("uid:dom\\kupnfs_alice@d.test", id(45101)),
            case("uid:DOM\\kupnfs_alice@D.TEST", id(45101)),
            case("uid:kupnfs_alice@d.test", id(4_294_967_294)),
            case("gid:kupnfs_grp@d.test", id(4_294_967_294)),
            case("gid:kupnfs_KUPNFS_UP@d.test", id(45103)),
            case("group:45102", payload(b"G:kupnfs_grp@d.test")),
            case("group:0", payload(b"G:kupnfs_root@d.test")),
            case("user:45101", payload(b"kupnfs_alice")),
        ],
    ));
    tables.push((
        "regex with a no-prefix regex",
        format!("{regex}Group-Name-No-Prefix-Regex = ^kupnfs_grp$\n"),
        vec![
            case("gid:kupnfs_grp@d.test", id(45102)),
            case("group:0", payload(b"G:kupnfs_root@d.test")),
        ],
    ));
    tables.push((
        "regex with a trailing backslash joining lines",
        format!("{regex}Prepend-Before-User = DOM\\\\\nAppend-After-User = @d.test\n"),
        vec![case(
            "user:45101",
            payload(b"DOM\\  Append-After-User = @d.testkupnfs_alice"),
        )],
    ));
    tables
}

fn main() -> ExitCode {
    let runner = match Runner::start("nfsidmap", Tool::Nfsidmap) {
        Ok(runner) => runner,
        Err(error) => {
            compliance::say(&format!("nfsidmap compliance could not run: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let mut harness = Harness {
        runner,
        argv: Vec::new(),
    };
    harness.set_argv(&["-t", "600", "%k", "%d"]);
    if !harness.runner.selects("nfsidmap_compliance") {
        return harness.runner.finish();
    }
    if let Err(error) = system::ensure_accounts() {
        harness.runner.fail("creating the test accounts", error);
        return harness.runner.finish();
    }
    let lock = match ConfigLock::acquire() {
        Ok(lock) => lock,
        Err(error) => {
            harness.runner.fail("taking /etc/idmapd.conf", error);
            return harness.runner.finish();
        }
    };
    harness.run_table(&lock, "Debian config", DEBIAN, &debian_cases());
    for (context, config, cases) in config_tables() {
        harness.run_table(&lock, context, &config, &cases);
    }
    dot_d_and_include(&mut harness, &lock);
    unreadable_config(&mut harness, &lock);
    harness.run_table(&lock, "fixture accounts", DEBIAN, &fixture_cases());
    syslog_case(&mut harness, &lock);
    verbose_and_timeout(&mut harness, &lock);
    drop(lock);
    harness.runner.finish()
}

fn dot_d_and_include(harness: &mut Harness, lock: &ConfigLock) {
    let context = "idmapd.conf.d overrides in version order";
    let written = lock.write("[General]\nDomain = main.test\n").and_then(|()| {
        lock.write_dir_file("50-x.conf", "[General]\nDomain = dotd.test\n")?;
        lock.write_dir_file("9-z.conf", "[General]\nDomain = dotd2.test\n")?;
        lock.write_dir_file("60-y.txt", "[General]\nDomain = ignored.test\n")
    });
    match written {
        Ok(()) => harness.check(context, &case("user:0", payload(b"root@dotd.test"))),
        Err(error) => harness.runner.fail(context, error),
    }
    let context = "include of an absolute path";
    let include = std::env::temp_dir().join(format!("kup-nfsidmap-include-{}.conf", std::process::id()));
    let written = std::fs::write(&include, "Domain = inc.test\n")
        .and_then(|()| lock.write(&format!("[General]\ninclude = {}\n", include.display())));
    match written {
        Ok(()) => harness.check(context, &case("user:0", payload(b"root@inc.test"))),
        Err(error) => harness.runner.fail(context, error),
    }
    let _ = std::fs::remove_file(include);
}

/// The reference's numeric fallback for an unmapped name: its leading decimal digits when they
/// are not zero, else `nobody`.
fn numeric_or(name: &str, nobody: u32) -> u32 {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().filter(|&value| value != 0).unwrap_or(nobody)
}

/// Every fixture account both ways, in several spellings of the domain.
fn fixture_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for &(name, uid, _) in system::USERS {
        for domain in ["localdomain", "LOCALDOMAIN", "LocalDomain"] {
            cases.push(case(format!("uid:{name}@{domain}"), id(uid)));
        }
        cases.push(case(
            format!("uid:{name}@other.test"),
            id(numeric_or(name, 65534)),
        ));
        cases.push(case(
            format!("user:{uid}"),
            payload(format!("{name}@localdomain").as_bytes()),
        ));
        cases.push(case(format!("gid:{name}@localdomain"), {
            let gid = system::GROUPS
                .iter()
                .find(|group| group.0 == name)
                .map_or(numeric_or(name, 65534), |group| group.1);
            id(gid)
        }));
    }
    for &(name, gid) in system::GROUPS {
        for domain in ["localdomain", "LOCALDOMAIN"] {
            cases.push(case(format!("gid:{name}@{domain}"), id(gid)));
        }
        cases.push(case(
            format!("gid:{name}@other.test"),
            id(numeric_or(name, 65534)),
        ));
        cases.push(case(
            format!("group:{gid}"),
            payload(format!("{name}@localdomain").as_bytes()),
        ));
    }
    for (description, expect) in [
        ("uid:root@localdomain ", id(65534)),
        ("uid: root@localdomain", id(65534)),
        ("uid:root@localdomain\t", id(65534)),
        ("uid:root\t@localdomain", id(65534)),
        ("uid:ROOT@localdomain", id(65534)),
        ("gid:ROOT@localdomain", id(65534)),
        ("uid:root@@localdomain", id(65534)),
        ("uid:root@localdomain@", id(65534)),
        ("user:0x10", payload(b"root@localdomain")),
        ("user:00045101", payload(b"kupnfs_alice@localdomain")),
        ("user:4294967296", payload(b"root@localdomain")),
        ("user:-4294967295", payload(b"daemon@localdomain")),
        ("group:-0", payload(b"root@localdomain")),
        ("group: 45102x", payload(b"kupnfs_grp@localdomain")),
    ] {
        cases.push(case(description.replace("\\t", "\t"), expect));
    }
    cases
}

/// A missing config means defaults; a config that cannot be read (a directory) means defaults
/// too, after a warning.
fn unreadable_config(harness: &mut Harness, lock: &ConfigLock) {
    let cases = [
        case("user:0", payload(b"root@localdomain")),
        case("uid:zz@localdomain", id(65534)),
        case("gid:zz@localdomain", id(4_294_967_294)),
        case("uid:kupnfs_alice@localdomain", id(45101)),
    ];
    for (context, prepared) in [
        ("no idmapd.conf", lock.remove()),
        ("idmapd.conf is a directory", lock.replace_with_directory()),
    ] {
        if let Err(error) = prepared {
            harness.runner.fail(context, error);
            continue;
        }
        for case in &cases {
            harness.check(context, case);
        }
    }
}

/// Binds `/dev/log` (no syslog daemon runs on these machines) around a few upcalls and checks
/// what the helper logged: facility daemon, ident `nfsidmap[<pid>]`, warning for a name outside
/// the domain, error for a failed id lookup and for a null value. Refuses to touch an existing
/// `/dev/log`; waits a little if another test holds it.
fn syslog_case(harness: &mut Harness, lock: &ConfigLock) {
    let name = "syslog lines use the ident nfsidmap[pid], facility daemon and the reference's texts";
    let plain = harness.argv(&["-t", "600", "%k", "%d"]);
    // With -v: the library's level line and the key line (the serial is not known here).
    let verbose = harness.argv(&["-v", "-t", "5", "%k", "%d"]);
    let cases = [
        case("uid:kupnfs_alice@other.dom", id(65534)),
        case("user:99999", exit(1)),
        case("uid:", exit(1)),
    ]
    .into_iter()
    .map(|case| (plain.clone(), case))
    .chain([(verbose, case("uid:kupnfs_alice@localdomain", id(45101)))])
    .collect::<Vec<_>>();
    harness.runner.case(name, |runner| {
        lock.write(DEBIAN).map_err(|error| error.to_string())?;
        let ((), lines) = compliance::logged(Duration::from_secs(10), || {
            for (argv, case) in &cases {
                let mut case = case.clone();
                case.argv.clone_from(argv);
                runner
                    .upcall(&case)
                    .map_err(|why| format!("{}: {why}", show(&case.request.description)))?;
            }
            Ok(())
        })?;
        // /dev/log is machine-wide: keep only the lines of an nfsidmap process, so that another
        // program logging meanwhile cannot fail the case.
        let lines: Vec<SyslogLine> = lines
            .into_iter()
            .filter(|line| line.ident() == Some("nfsidmap"))
            .collect();
        let priority = |line: &SyslogLine| line.priority();
        let has = |level: u32, text: &str| {
            lines
                .iter()
                .any(|line| priority(line) == Some(level) && line.raw.contains(&format!(" {text}")))
        };
        let all_daemon_with_pid = !lines.is_empty()
            && lines.iter().all(|line| {
                line.facility() == Some(3)
                    && line
                        .tag()
                        .is_some_and(|tag| tag.starts_with("nfsidmap[") && tag.ends_with(']'))
            });
        let wanted = all_daemon_with_pid
            && has(
                28,
                "nss_getpwnam: name 'kupnfs_alice@other.dom' does not map into domain 'localdomain'",
            )
            && has(
                27,
                "name_lookup: nfs4_uid_to_name: for 99999 failed: Unknown error -2",
            )
            && has(27, "Error: Null uid/gid value.")
            && has(28, "Setting log level to 1\n")
            && lines.iter().any(|line| {
                priority(line) == Some(28)
                    && line.raw.contains(" key: 0x")
                    && line
                        .raw
                        .ends_with(" type: uid value: kupnfs_alice@localdomain timeout 5")
            });
        wanted.then_some(()).ok_or(format!("log lines {lines:?}"))
    });
}

fn verbose_and_timeout(harness: &mut Harness, lock: &ConfigLock) {
    if let Err(error) = lock.write("[General]\nDomain = d.test\n") {
        harness.runner.fail("verbose", error);
        return;
    }
    for argv in [
        vec!["-v", "-t", "5", "%k", "%d"],
        vec!["-vvvv", "%k", "%d"],
        vec!["-t", "0", "%k", "%d"],
        vec!["%k", "%d", "-t", "-1"],
    ] {
        harness.set_argv(&argv);
        let context = format!("argv {argv:?}");
        if argv.first() == Some(&"%k") {
            // Divergence 11 (decisions.md #11): ours ends the options at the key operand, so
            // `-t -1` after it are two more operands (Bad arg count); the reference permutes.
            harness.check(
                &context,
                &diverging("uid:kupnfs_alice@d.test", id(45101), exit(1)),
            );
            harness.check(
                &context,
                &diverging("user:45101", payload(b"kupnfs_alice@d.test"), exit(1)),
            );
        } else {
            harness.check(&context, &case("uid:kupnfs_alice@d.test", id(45101)));
            harness.check(&context, &case("user:45101", payload(b"kupnfs_alice@d.test")));
        }
        harness.check(&context, &case("uid:", exit(1)));
    }
    for argv in [vec!["%k"], vec!["%k", "%d", "extra"], vec!["-x", "%k", "%d"]] {
        harness.set_argv(&argv);
        harness.check(
            &format!("argv {argv:?}"),
            &case("uid:kupnfs_alice@d.test", exit(1)),
        );
    }
    harness.set_argv(&["-t", "600", "%k", "%d"]);
}
