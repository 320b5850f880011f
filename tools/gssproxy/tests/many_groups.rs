//! `ACCEPT_SEC_CONTEXT` for a user in 65,536 groups (the kernel's `NGROUPS_MAX`, primary
//! included) and for one in 65,537, as the kernel's nfsd calls it, against the daemon under test
//! (`KUP_UNDER_TEST=ours|theirs`) and against both daemons side by side.
//!
//! The users exist only inside the daemon's private mount namespace: `unshare --mount` runs it
//! with fixture files bind-mounted over `/etc/passwd`, `/etc/group` (copies of the host's plus
//! the test users and 65,536 generated groups) and `/etc/nsswitch.conf` (`files` only, so
//! whatever NSS modules the host lists cannot add or reorder groups); the host's files are never
//! written. The principal's local name is MIT's default `auth_to_local` (a principal of the
//! default realm maps to its first component), so each principal is named like its user.
//!
//! The generated groups' gids are a permutation (not sorted) in file order, so the test sees the
//! order the daemon gives: `getgrouplist`'s, the primary gid first, then every group that lists
//! the user in `/etc/group` order. The client (this binary re-executed inside the realm's
//! environment, as in `kernel_accept.rs`) makes the kernel's call and hands the reply's
//! `linux_creds_v1` value to the parent, which checks it word by word. The time of the call is
//! reported (`--nocapture`), not asserted.

mod support;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kup_gss::gss::{
    GSS_C_CONF_FLAG, GSS_C_INTEG_FLAG, GSS_C_MUTUAL_FLAG, GSS_C_REPLAY_FLAG, GSS_C_SEQUENCE_FLAG, Mech, Name,
    SecurityContext,
};
use kup_gssx::gssx::{KRB5_OID, LINUX_CREDS_V1, ResAcceptSecContext};
use kup_gssx::lucid::{LinuxCreds, NGROUPS_MAX};
use kup_testkit::krb5::Realm;
use kup_testkit::reference::{self, Tool, UnderTest};
use support::*;

const REALM: &str = "KUP.TEST";
const SERVICE: &str = "nfs/localhost@KUP.TEST";
const PASSWORD: &str = "kup-gssproxy-pw-1";
const CHILD: &str = "KUP_GSSPROXY_CHILD";
const CHILD_TIMEOUT: Duration = Duration::from_mins(1);

/// In exactly `NGROUPS_MAX` groups: its primary group and 65,535 generated ones.
const FULL: Account = Account {
    name: "kupgroups",
    uid: 300_001,
    generated: NGROUPS_MAX - 1,
};
/// In one group more than `NGROUPS_MAX`: its primary group and all 65,536 generated ones.
const OVER: Account = Account {
    name: "kupgroupsover",
    uid: 300_002,
    generated: NGROUPS_MAX,
};
/// The first generated gid; the generated gids are `BASE_GID..BASE_GID + 65,536`, permuted.
const BASE_GID: u32 = 400_000;
/// Odd, so `i * STRIDE mod 65,536` is a permutation of the generated gids.
const STRIDE: u32 = 40_503;

/// The kernel's limits on the parts of the reply it keeps (spec gssproxy-protocol.md §3.5).
const KERNEL_MAX_CONTEXT: usize = 128;
const KERNEL_MAX_OUTPUT_TOKEN: usize = 1024;
const KERNEL_MAX_NAME: usize = 256;

const CONFIG: &str = "[gssproxy]\n\n[service/nfs-server]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
                      cred_store = keytab:@DIR@/nfs.keytab\n  krb5_principal = nfs/localhost@KUP.TEST\n  trusted = yes\n  \
                      kernel_nfsd = yes\n  euid = 0\n";

/// A fixture user: uid = primary gid, in the first `generated` generated groups.
#[derive(Clone, Copy, Debug)]
struct Account {
    name: &'static str,
    uid: u32,
    generated: usize,
}

impl Account {
    /// What `getgrouplist` gives for it in the fixture files: the primary gid, then the
    /// generated groups that list it, in file order.
    fn expected_groups(self) -> Vec<u32> {
        std::iter::once(self.uid)
            .chain((0..self.generated).map(generated_gid))
            .collect()
    }
}

/// The gid of the `index`th generated group line.
fn generated_gid(index: usize) -> u32 {
    let index = u32::try_from(index).expect("fewer than 2^32 groups");
    BASE_GID + index.wrapping_mul(STRIDE) % 65_536
}

// ---- parent ---------------------------------------------------------------------------------

struct Fixture {
    realm: Realm,
    dir: TempDir,
}

/// What one client run saw.
struct Outcome {
    /// The summary lines (status, names, sizes), without the timing and the reply's size
    /// (whose AP-REP varies by a byte or two with its DER-encoded values).
    summary: Vec<String>,
    /// The reply record's size, and without the creds value.
    reply_bytes: String,
    /// The `linux_creds_v1` value, when the call succeeded.
    creds: Option<Vec<u8>>,
    /// Each call's round trip as the client measured it.
    elapsed: Vec<Duration>,
    /// The daemon's CPU time (user + system) over the client's run.
    daemon_cpu: Duration,
}

impl Fixture {
    fn start() -> Self {
        let realm = Realm::start(REALM).expect("starting the realm");
        realm.add_principal("nfs/localhost").expect("nfs principal");
        for account in [FULL, OVER] {
            realm.add_user(account.name, PASSWORD).expect("user principal");
        }
        let dir = TempDir::new("manygroups");
        realm
            .write_keytab(&[SERVICE], &dir.0.join("nfs.keytab"))
            .expect("nfs keytab");
        write_accounts(&dir.0);
        Self { realm, dir }
    }

    /// `program` in a mount namespace of its own that sees the fixture's account files.
    fn daemon(&self, program: &Path) -> Daemon {
        let binds = ["passwd", "group", "nsswitch.conf"]
            .iter()
            .map(|file| {
                format!(
                    "mount --bind '{}' /etc/{file}",
                    self.dir.0.join(format!("accounts/{file}")).display()
                )
            })
            .collect::<Vec<_>>()
            .join(" && ");
        let wrapper: Vec<OsString> = [
            "/usr/bin/unshare",
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            &format!("{binds} && exec \"$0\" \"$@\""),
        ]
        .iter()
        .map(OsString::from)
        .collect();
        Daemon::launch_wrapped(&wrapper, program, &self.dir.0, CONFIG, &self.realm.env(), &[])
    }

    /// Runs the client half `test` as `account` against `daemon`: `rounds` calls, each with a
    /// fresh context.
    fn client(&self, test: &str, account: Account, daemon: &Daemon, rounds: usize) -> Outcome {
        let ccache = self
            .realm
            .kinit_password(&self.realm.principal(account.name), PASSWORD)
            .expect("kinit");
        let creds_file = self.dir.0.join(format!("creds-{}", account.name));
        let _ = fs::remove_file(&creds_file);
        let mut env = self.realm.env_with_ccache(&ccache);
        env.push(("KUP_GSSPROXY_SOCKET".into(), daemon.socket.clone().into()));
        env.push(("KUP_GSSPROXY_CREDS".into(), creds_file.clone().into()));
        env.push(("KUP_GSSPROXY_ROUNDS".into(), rounds.to_string().into()));
        let cpu_before = cpu_time(daemon.pid());
        let lines = run_child(test, &env);
        let daemon_cpu = cpu_time(daemon.pid()).saturating_sub(cpu_before);
        let elapsed: Vec<Duration> = lines
            .iter()
            .filter_map(|line| line.strip_prefix("elapsed_us "))
            .map(|micros| Duration::from_micros(micros.parse().expect("microseconds")))
            .collect();
        assert_eq!(elapsed.len(), rounds, "{lines:?}");
        let reply_bytes = lines
            .iter()
            .find_map(|line| line.strip_prefix("reply_bytes "))
            .unwrap_or_default()
            .to_owned();
        Outcome {
            summary: lines
                .into_iter()
                .filter(|line| !line.starts_with("elapsed_us ") && !line.starts_with("reply_bytes "))
                .collect(),
            reply_bytes,
            creds: fs::read(&creds_file).ok(),
            elapsed,
            daemon_cpu,
        }
    }
}

/// The fixture's `accounts/{passwd,group,nsswitch.conf}`: the host's passwd and group files with
/// the test users and the generated groups appended.
fn write_accounts(dir: &Path) {
    let accounts = dir.join("accounts");
    fs::create_dir_all(&accounts).expect("accounts dir");
    let mut passwd = fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    let mut group = fs::read_to_string("/etc/group").expect("/etc/group");
    for text in [&mut passwd, &mut group] {
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
    }
    for account in [FULL, OVER] {
        let (name, uid) = (account.name, account.uid);
        let _ = writeln!(
            passwd,
            "{name}:x:{uid}:{uid}:kup test:/nonexistent:/usr/sbin/nologin"
        );
        let _ = writeln!(group, "{name}:x:{uid}:");
    }
    for index in 0..OVER.generated {
        let members: Vec<&str> = [FULL, OVER]
            .iter()
            .filter(|account| index < account.generated)
            .map(|account| account.name)
            .collect();
        let _ = writeln!(
            group,
            "kupgg{index}:x:{}:{}",
            generated_gid(index),
            members.join(",")
        );
    }
    fs::write(accounts.join("passwd"), passwd).expect("passwd");
    fs::write(accounts.join("group"), group).expect("group");
    fs::write(accounts.join("nsswitch.conf"), "passwd: files\ngroup: files\n").expect("nsswitch.conf");
}

/// User + system CPU time of process `pid` (`/proc/PID/stat` fields 14 and 15, in clock ticks
/// of 1/100 s, which Linux reports on every architecture).
fn cpu_time(pid: u32) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces: count from the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Field 3 (state) is the first after ')': fields 14 and 15 are at 11 and 12.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn run_child(test: &str, env: &[(OsString, OsString)]) -> Vec<String> {
    let mut command = child_command(test);
    command
        .env(CHILD, test)
        .envs(env.iter().map(|(key, value)| (key, value)));
    child_summary(&mut command, test, CHILD_TIMEOUT)
}

fn is_child(test: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|value| value == test)
}

/// The daemon `KUP_UNDER_TEST` names, or the one at the path `KUP_GSSPROXY` (to time a release
/// build of ours, for instance).
fn under_test() -> (String, PathBuf) {
    if let Some(path) = std::env::var_os("KUP_GSSPROXY").filter(|path| !path.is_empty()) {
        return (format!("{}", PathBuf::from(&path).display()), PathBuf::from(path));
    }
    match reference::under_test().expect("KUP_UNDER_TEST") {
        UnderTest::Ours => ("ours".to_owned(), ours()),
        UnderTest::Theirs => (
            "theirs".to_owned(),
            reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)"),
        ),
    }
}

/// The fastest, the median and the slowest of `times`.
fn spread(times: &[Duration]) -> String {
    let mut sorted = times.to_vec();
    sorted.sort_unstable();
    match (sorted.first(), sorted.get(sorted.len() / 2), sorted.last()) {
        (Some(fastest), Some(median), Some(slowest)) => {
            format!(
                "{fastest:.1?} / {median:.1?} / {slowest:.1?} (fastest / median / slowest of {})",
                sorted.len()
            )
        }
        _ => "no call".to_owned(),
    }
}

fn report(line: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// Word `index` of a `linux_creds_v1` value (host byte order).
fn word(value: &[u8], index: usize) -> u32 {
    let bytes = value
        .get(index * 4..index * 4 + 4)
        .unwrap_or_else(|| panic!("the creds value ends before word {index}"));
    u32::from_ne_bytes(bytes.try_into().expect("4 bytes"))
}

/// The creds of `account` with every group in `getgrouplist`'s order, word by word.
fn assert_creds_of(account: Account, value: &[u8]) {
    let expected = account.expected_groups();
    assert_eq!(
        expected.len(),
        NGROUPS_MAX,
        "the fixture's user is in NGROUPS_MAX groups"
    );
    assert_eq!(
        value.len(),
        12 + 4 * NGROUPS_MAX,
        "uid, gid, count and 65,536 gids"
    );
    assert_eq!(word(value, 0), account.uid, "uid");
    assert_eq!(word(value, 1), account.uid, "gid (the primary group)");
    assert_eq!(
        usize::try_from(word(value, 2)).unwrap(),
        NGROUPS_MAX,
        "the group count"
    );
    for (index, gid) in expected.iter().enumerate() {
        assert_eq!(
            word(value, 3 + index),
            *gid,
            "group {index} of {NGROUPS_MAX} (getgrouplist's order: primary, then /etc/group's)"
        );
    }
    // And as the kernel reads it (exact length, at most NGROUPS_MAX, no invalid gid).
    let creds = LinuxCreds::decode(value).expect("a value the kernel takes");
    assert_eq!(creds.groups, expected);
}

// ---- client half (runs in the child) ----------------------------------------------------------

fn summary(line: &str) {
    // With --nocapture, the line follows the harness's `test … ` text: start a new line.
    let _ = writeln!(std::io::stdout().lock(), "\n{SUMMARY}{line}");
}

/// The reply's status as a summary line (codes and texts, what the result holds).
fn status_line(result: &ResAcceptSecContext) -> String {
    let status = &result.status;
    format!(
        "status: major {:#x} minor {:#x} mech {} major_text {:?} minor_text {:?} ctx {} token {} deleg {} options {}",
        status.major_status,
        status.minor_status,
        hex(&status.mech),
        String::from_utf8_lossy(&status.major_status_string),
        String::from_utf8_lossy(&status.minor_status_string),
        result.context_handle.is_some(),
        result.output_token.is_some(),
        result.delegated_cred_handle.is_some(),
        result.options.len(),
    )
}

/// `KUP_GSSPROXY_ROUNDS` kernel calls, each for a fresh mutual-auth context: each result and
/// what the kernel would keep checked against the kernel's limits, every call's creds the same;
/// the creds value written for the parent. A refusal ends the rounds.
fn client_half() {
    let socket = PathBuf::from(std::env::var_os("KUP_GSSPROXY_SOCKET").unwrap());
    let creds_file = PathBuf::from(std::env::var_os("KUP_GSSPROXY_CREDS").unwrap());
    let rounds: u32 = std::env::var("KUP_GSSPROXY_ROUNDS").unwrap().parse().unwrap();
    let mut client = Client::connect(&socket).expect("connect");
    let mut first_creds: Option<Vec<u8>> = None;
    for round in 0..rounds {
        let creds = kernel_call(&mut client, 0x6553_6000 + round, round == 0);
        match (&first_creds, creds) {
            (_, None) => return,
            (None, Some(creds)) => {
                fs::write(&creds_file, &creds).expect("creds file");
                first_creds = Some(creds);
            }
            (Some(first), Some(creds)) => assert!(*first == creds, "round {round}: other creds"),
        }
    }
}

/// One kernel call; its creds value, `None` if it was refused. Summary lines for the first.
fn kernel_call(client: &mut Client, xid: u32, first: bool) -> Option<Vec<u8>> {
    let target = Name::hostbased("nfs@localhost").expect("target name");
    let flags =
        GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG;
    let mut context = SecurityContext::with_request_flags(Mech::Krb5, flags);
    let (token, _) = context.init_step(&target, &[]).expect("init_sec_context");

    let body = kernel_accept_call(xid, &token);
    let started = Instant::now();
    let reply = client
        .call(&body)
        .expect("call")
        .expect("a reply, not a closed connection");
    let elapsed = started.elapsed();
    summary(&format!("elapsed_us {}", elapsed.as_micros()));
    let (header, result) = decode_accept_reply(&reply);
    assert_eq!(header.xid, xid);
    let Some(mut result) = result else {
        summary(&format!("rpc: {:?}", header.body));
        summary(&format!("reply_bytes {}", reply.len()));
        return None;
    };
    if first {
        summary(&status_line(&result));
    }
    if result.status.major_status != 0 {
        summary(&format!("reply_bytes {}", reply.len()));
        return None;
    }
    // What the kernel keeps must fit its buffers, or it drops the whole reply.
    let handle = result.context_handle.as_ref().expect("context");
    assert_eq!(result.status.mech, KRB5_OID);
    assert!(handle.exported_context_token.len() <= KERNEL_MAX_CONTEXT);
    assert!(handle.src_name.display_name.len() <= KERNEL_MAX_NAME);
    assert!(handle.targ_name.display_name.len() <= KERNEL_MAX_NAME);
    let output_token = result.output_token.as_ref().expect("an AP-REP");
    assert!(output_token.len() <= KERNEL_MAX_OUTPUT_TOKEN);
    assert!(result.delegated_cred_handle.is_none());
    // One option, the creds (the kernel's decoder keeps the first `linux_creds_v1`).
    assert_eq!(result.options.len(), 1);
    assert_eq!(result.options[0].option, LINUX_CREDS_V1);
    let (_, complete) = context
        .init_step(&target, output_token)
        .expect("the initiator takes the AP-REP");
    assert!(complete);
    if first {
        summary(&format!(
            "reply_bytes {} minus creds {}",
            reply.len(),
            reply.len() - result.options[0].value.len()
        ));
        summary(&format!(
            "src {} context {} output_token>0 {}",
            String::from_utf8_lossy(&handle.src_name.display_name),
            handle.exported_context_token.len(),
            !output_token.is_empty()
        ));
    }
    Some(result.options.swap_remove(0).value)
}

// ---- tests ----------------------------------------------------------------------------------

/// Calls per daemon for the 65,536-group user: its timing is reported.
const ROUNDS: usize = 5;

/// The outcome for a user past `NGROUPS_MAX`: the reference's. Its creds export fails with
/// `ENOSPC` as the minor code under the krb5 mechanism, which MIT cannot display, so its status
/// conversion fails and so does the RPC (`SYSTEM_ERR`, a 24-byte reply). nfsd drops the client's
/// INIT either way (`docs/compat/gssproxy.md`).
fn assert_refused(outcome: &Outcome) {
    assert!(
        outcome.creds.is_none(),
        "no creds past NGROUPS_MAX: {:?}",
        outcome.summary
    );
    assert_eq!(
        outcome.summary,
        ["rpc: Accepted { verifier: OpaqueAuth { flavor: 0, body: [] }, status: SystemErr }"],
        "the RPC fails with SYSTEM_ERR"
    );
    assert_eq!(outcome.reply_bytes, "24");
}

#[test]
fn a_user_in_65536_groups_gets_every_group_in_getgrouplists_order() {
    const TEST: &str = "a_user_in_65536_groups_gets_every_group_in_getgrouplists_order";
    if is_child(TEST) {
        return client_half();
    }
    let (which, program) = under_test();
    let fixture = Fixture::start();
    let daemon = fixture.daemon(&program);
    let outcome = fixture.client(TEST, FULL, &daemon, ROUNDS);
    report(&format!(
        "{which}: 65,536 groups: replies in {}; daemon CPU {:?} for {ROUNDS}; reply bytes {}; {:?}",
        spread(&outcome.elapsed),
        outcome.daemon_cpu,
        outcome.reply_bytes,
        outcome.summary
    ));
    let value = outcome
        .creds
        .as_ref()
        .unwrap_or_else(|| panic!("accepted with creds: {:?}", outcome.summary));
    assert_creds_of(FULL, value);
}

#[test]
fn a_user_in_more_than_65536_groups_fails_the_rpc_as_debians_gssproxy_does() {
    const TEST: &str = "a_user_in_more_than_65536_groups_fails_the_rpc_as_debians_gssproxy_does";
    if is_child(TEST) {
        return client_half();
    }
    let (which, program) = under_test();
    let fixture = Fixture::start();
    let daemon = fixture.daemon(&program);
    let outcome = fixture.client(TEST, OVER, &daemon, 1);
    report(&format!(
        "{which}: 65,537 groups: reply in {}; {:?}",
        spread(&outcome.elapsed),
        outcome.summary
    ));
    assert_refused(&outcome);
}

#[test]
fn ours_and_debians_replies_for_65536_and_65537_groups_are_the_same() {
    const TEST: &str = "ours_and_debians_replies_for_65536_and_65537_groups_are_the_same";
    if is_child(TEST) {
        return client_half();
    }
    let theirs = reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)");
    let fixture = Fixture::start();
    for account in [FULL, OVER] {
        let outcomes: Vec<Outcome> = [ours(), theirs.clone()]
            .iter()
            .map(|program| {
                let daemon = fixture.daemon(program);
                fixture.client(TEST, account, &daemon, 1)
            })
            .collect();
        assert_eq!(
            outcomes[0].summary, outcomes[1].summary,
            "ours (left) and Debian's (right) for {}",
            account.name
        );
        assert!(
            outcomes[0].creds == outcomes[1].creds,
            "the creds value of ours and Debian's differ for {}",
            account.name
        );
        match &outcomes[0].creds {
            Some(value) => assert_creds_of(account, value),
            None => assert_refused(&outcomes[0]),
        }
    }
}
