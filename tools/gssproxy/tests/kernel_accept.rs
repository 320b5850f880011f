//! `ACCEPT_SEC_CONTEXT` as the kernel's nfsd calls it, with a throw-away MIT KDC
//! (`kup_testkit::krb5`): the client is this test binary re-executed inside the realm's
//! environment (libkrb5 reads it once per process), which gets a service ticket for
//! `nfs/localhost` with kup-gss's initiator (mutual authentication, as rpc.gssd asks), sends
//! the exact call of spec gssproxy-protocol.md §3.2 and checks the reply field by field:
//! the `linux_lucid_v1` context against what MIT's initiator reports for the same context once
//! it has taken the daemon's AP-REP (key, enctype, sequence numbers, expiry, direction), the
//! names, and the `linux_creds_v1` option against `id` for the local user the principal maps
//! to. Then a replayed token and an unknown export option, whose failures must be reported in
//! the status. The same client runs against Debian's gssproxy 0.9.1 and both replies must have
//! the same structure (the compliance test).

mod support;

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kup_gss::gss::{
    GSS_C_CONF_FLAG, GSS_C_INTEG_FLAG, GSS_C_MUTUAL_FLAG, GSS_C_REPLAY_FLAG, GSS_C_SEQUENCE_FLAG, Mech, Name,
    SecurityContext,
};
use kup_gssx::gssx::{CallCtx, KRB5_OID, LINUX_CREDS_V1, ResAcceptSecContext};
use kup_gssx::lucid::{LinuxCreds, LucidContext};
use kup_testkit::krb5::Realm;
use kup_testkit::reference::{self, Tool};
use support::*;

const REALM: &str = "KUP.TEST";
const SERVICE: &str = "nfs/localhost@KUP.TEST";
/// A local user (uid 1 in every Debian passwd file) and its principal.
const MAPPED_USER: &str = "daemon";
/// A principal whose local name has no account.
const UNMAPPED_USER: &str = "kupnosuchuser";
const PASSWORD: &str = "kup-gssproxy-pw-1";
const CHILD: &str = "KUP_GSSPROXY_CHILD";
const CHILD_TIMEOUT: Duration = Duration::from_mins(1);

const CONFIG: &str = "[gssproxy]\n\n[service/nfs-server]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
                      cred_store = keytab:@DIR@/nfs.keytab\n  krb5_principal = nfs/localhost@KUP.TEST\n  trusted = yes\n  \
                      kernel_nfsd = yes\n  euid = 0\n";

// ---- parent ---------------------------------------------------------------------------------

struct Fixture {
    realm: Realm,
    dir: TempDir,
}

impl Fixture {
    fn start() -> Self {
        let realm = Realm::start(REALM).expect("starting the realm");
        realm.add_principal("nfs/localhost").expect("nfs principal");
        for user in [MAPPED_USER, UNMAPPED_USER] {
            realm.add_user(user, PASSWORD).expect("user principal");
        }
        let dir = TempDir::new("krb5");
        realm
            .write_keytab(&[SERVICE], &dir.0.join("nfs.keytab"))
            .expect("nfs keytab");
        Self { realm, dir }
    }

    fn daemon(&self, program: &Path) -> Daemon {
        Daemon::launch(program, &self.dir.0, CONFIG, &self.realm.env(), &[])
    }

    /// Runs the client half `test` as `user` against `socket`; returns its summary lines.
    fn client(&self, test: &str, user: &str, socket: &Path) -> Vec<String> {
        let ccache = self
            .realm
            .kinit_password(&self.realm.principal(user), PASSWORD)
            .expect("kinit");
        let mut env = self.realm.env_with_ccache(&ccache);
        env.push(("KUP_GSSPROXY_SOCKET".into(), socket.into()));
        env.push(("KUP_GSSPROXY_USER".into(), user.into()));
        run_child(test, &env)
    }
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

// ---- client half (runs in the child) ----------------------------------------------------------

/// A fresh mutual-auth context for nfs@localhost and its first token.
fn initiate() -> (SecurityContext, Name, Vec<u8>) {
    let target = Name::hostbased("nfs@localhost").expect("target name");
    let flags =
        GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG;
    let mut context = SecurityContext::with_request_flags(Mech::Krb5, flags);
    let (token, complete) = context.init_step(&target, &[]).expect("init_sec_context");
    assert!(!complete, "mutual authentication needs the AP-REP");
    (context, target, token)
}

fn summary(line: &str) {
    // With --nocapture, the line follows the harness's `test … ` text: start a new line.
    let _ = writeln!(std::io::stdout().lock(), "\n{SUMMARY}{line}");
}

/// The reply's status as a summary line (codes and texts; the mechanism).
fn status_line(what: &str, result: &ResAcceptSecContext) -> String {
    let status = &result.status;
    format!(
        "{what}: major {:#x} minor {:#x} mech {} major_text {:?} minor_text {:?} ctx {} token {} deleg {} options {}",
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

fn call(client: &mut Client, xid: u32, body: &[u8]) -> ResAcceptSecContext {
    let reply = client
        .call(body)
        .expect("call")
        .expect("a reply, not a closed connection");
    let (header, result) = decode_accept_reply(&reply);
    assert_eq!(header.xid, xid);
    result.unwrap_or_else(|| panic!("not accepted with SUCCESS: {header:?}"))
}

/// `id <flag> user` as numbers.
fn id(flag: &str, user: &str) -> Vec<u32> {
    let out = Command::new("/usr/bin/id")
        .args([flag, user])
        .output()
        .expect("id");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|word| word.parse().unwrap())
        .collect()
}

/// 1. The kernel's call; returns the token it sent.
fn kernel_call(client: &mut Client, user: &str) -> Vec<u8> {
    let (context, target, token) = initiate();
    let result = call(client, 0x1122_3344, &kernel_accept_call(0x1122_3344, &token));
    summary(&status_line("accept", &result));
    assert_eq!(
        result.status.major_status,
        0,
        "{}",
        status_line("accept", &result)
    );
    assert_eq!(result.status.minor_status, 0);
    assert_eq!(result.status.mech, KRB5_OID);
    assert!(result.status.major_status_string.is_empty() && result.status.minor_status_string.is_empty());
    assert!(
        result.delegated_cred_handle.is_none(),
        "the kernel refuses a delegated cred"
    );
    let handle = result.context_handle.as_ref().expect("context");
    assert_eq!(handle.mech, KRB5_OID);
    assert!(handle.open && !handle.locally_initiated && !handle.needs_release);
    assert!(handle.state.is_empty());
    assert!(handle.exported_context_token.len() <= 128, "the kernel's limit");
    assert_eq!(handle.src_name.display_name, format!("{user}@{REALM}").as_bytes());
    assert_eq!(handle.targ_name.display_name, SERVICE.as_bytes());
    summary(&format!(
        "names: src type {} exported {} composite {} | targ type {} exported {} composite {}",
        hex(&handle.src_name.name_type),
        handle.src_name.exported_name.len(),
        handle.src_name.exported_composite_name.len(),
        hex(&handle.targ_name.name_type),
        handle.targ_name.exported_name.len(),
        handle.targ_name.exported_composite_name.len(),
    ));
    summary(&format!(
        // The AP-REP's length varies by a byte or two with its DER-encoded values.
        "context: flags {:#x} lifetime>0 {} token {} output_token 150..160 {}",
        handle.ctx_flags,
        handle.lifetime > 0,
        handle.exported_context_token.len(),
        result
            .output_token
            .as_ref()
            .is_some_and(|token| (150..160).contains(&token.len())),
    ));
    check_lucid(context, &target, &result);
    check_creds(&result, user);
    token
}

/// The lucid context against MIT's own view of the same context, from the initiator side.
fn check_lucid(mut context: SecurityContext, target: &Name, result: &ResAcceptSecContext) {
    let handle = result.context_handle.as_ref().expect("context");
    let lucid = LucidContext::decode(&handle.exported_context_token).expect("linux_lucid_v1");
    let ap_rep = result
        .output_token
        .as_ref()
        .expect("an AP-REP for mutual authentication");
    let (_, complete) = context
        .init_step(target, ap_rep)
        .expect("the initiator takes the AP-REP");
    assert!(complete);
    let mit = context.into_lucid_context().expect("initiator lucid export");
    assert!(mit.initiate && !lucid.initiator);
    assert_eq!(lucid.cfx, mit.protocol == 1);
    assert_eq!(lucid.acceptor_subkey, mit.acceptor_subkey.is_some());
    let key = mit.acceptor_subkey.as_ref().unwrap_or(&mit.ctx_key);
    assert_eq!(lucid.key.as_bytes(), key.as_bytes(), "session key");
    assert_eq!(i64::from(lucid.enctype), i64::from(key.enctype()), "enctype");
    assert_eq!(
        lucid.send_seq, mit.recv_seq,
        "the acceptor's first sequence number"
    );
    assert_eq!(lucid.endtime, mit.endtime, "expiry");
    summary(&format!(
        "lucid: initiator {} cfx {} subkey {} enctype {} keylen {}",
        lucid.initiator,
        lucid.cfx,
        lucid.acceptor_subkey,
        lucid.enctype,
        lucid.key.as_bytes().len()
    ));
}

/// The creds option: `id`'s view of the mapped user, or the unmapped value.
fn check_creds(result: &ResAcceptSecContext, user: &str) {
    assert_eq!(result.options.len(), 1);
    assert_eq!(result.options[0].option, LINUX_CREDS_V1);
    let creds = LinuxCreds::decode(&result.options[0].value).expect("linux_creds_v1");
    if user == MAPPED_USER {
        assert_eq!(creds.uid, id("-u", user)[0]);
        assert_eq!(creds.gid, id("-g", user)[0]);
        let mut groups = creds.groups.clone();
        let mut expected = id("-G", user);
        groups.sort_unstable();
        expected.sort_unstable();
        assert_eq!(groups, expected);
    } else {
        assert_eq!(creds, LinuxCreds::unmapped());
    }
    summary(&format!("creds: {}", hex(&result.options[0].value)));
}

fn client_half() {
    let socket = PathBuf::from(std::env::var_os("KUP_GSSPROXY_SOCKET").unwrap());
    let user = std::env::var("KUP_GSSPROXY_USER").unwrap();
    let mut client = Client::connect(&socket).expect("connect");

    let token = kernel_call(&mut client, &user);

    // 2. The same token again: a replay, reported in the status.
    let result = call(&mut client, 2, &kernel_accept_call(2, &token));
    summary(&status_line("replay", &result));
    assert_ne!(result.status.major_status, 0);

    // 3. Export types the daemon does not know (the reference fails the RPC: SYSTEM_ERR).
    for (index, value) in [
        (1, b"linux_creds_v2\0".as_slice()),
        (0, b"linux_lucid_v2\0".as_slice()),
    ] {
        let (_context, _target, token) = initiate();
        let mut call_ctx = CallCtx::kernel();
        call_ctx.options[index].value = value.to_vec();
        let body = call_body(3, 9, &accept_arguments(&token, call_ctx));
        let reply = client
            .call(&body)
            .expect("call")
            .expect("a reply, not a closed connection");
        let (header, result) = decode_accept_reply(&reply);
        let line = result.map_or_else(|| format!("{:?}", header.body), |result| status_line("", &result));
        summary(&format!("unknown {}: {line}", String::from_utf8_lossy(value)));
    }

    // 4. Without the export options (the interposer's call): MIT's export token, no creds.
    let (_context, _target, token) = initiate();
    let body = call_body(4, 9, &accept_arguments(&token, CallCtx::default()));
    let result = call(&mut client, 4, &body);
    summary(&status_line("no export options", &result));
    let handle = result.context_handle.as_ref().expect("context");
    assert!(
        handle.exported_context_token.len() > 128,
        "an MIT export token, not lucid"
    );
}

// ---- tests ----------------------------------------------------------------------------------

#[test]
fn the_kernels_call_is_accepted_with_lucid_context_and_creds_as_mit_reports_them() {
    const TEST: &str = "the_kernels_call_is_accepted_with_lucid_context_and_creds_as_mit_reports_them";
    if is_child(TEST) {
        return client_half();
    }
    let fixture = Fixture::start();
    let daemon = fixture.daemon(&ours());
    let summary = fixture.client(TEST, MAPPED_USER, &daemon.socket);
    assert!(
        summary.iter().any(|line| line.starts_with("creds: ")),
        "{summary:?}"
    );
}

#[test]
fn a_principal_without_a_local_account_gets_the_unmapped_creds() {
    const TEST: &str = "a_principal_without_a_local_account_gets_the_unmapped_creds";
    if is_child(TEST) {
        return client_half();
    }
    let fixture = Fixture::start();
    let daemon = fixture.daemon(&ours());
    let summary = fixture.client(TEST, UNMAPPED_USER, &daemon.socket);
    assert!(
        summary.contains(&"creds: ffffffffffffffff00000000".to_owned()),
        "{summary:?}"
    );
}

#[test]
fn debians_gssproxy_answers_the_same_client_with_the_same_structure() {
    const TEST: &str = "debians_gssproxy_answers_the_same_client_with_the_same_structure";
    if is_child(TEST) {
        return client_half();
    }
    let theirs = reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)");
    let fixture = Fixture::start();
    for user in [MAPPED_USER, UNMAPPED_USER] {
        let summaries: Vec<Vec<String>> = [ours(), theirs.clone()]
            .iter()
            .map(|program| {
                let daemon = fixture.daemon(program);
                fixture.client(TEST, user, &daemon.socket)
            })
            .collect();
        assert_eq!(
            summaries[0], summaries[1],
            "ours (left) and Debian's (right) for {user}"
        );
    }
}
