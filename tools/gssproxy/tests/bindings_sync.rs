//! What `INIT_SEC_CONTEXT` and `ACCEPT_SEC_CONTEXT` take besides the token (spec
//! gssproxy-config.md §6.4, gssproxy-protocol.md §2.4): channel bindings and `time_req` passed
//! to MIT, and the client ccache sync (`allow_client_ccache_sync`, call option
//! `sync_modified_creds\0` = `default\0`, result option `sync_creds\0`), driven by a direct
//! client built from kup-gssx types against the daemon under test (`KUP_UNDER_TEST=ours|theirs`)
//! with a throw-away KDC, and compared line by line with Debian's gssproxy 0.9.1.

mod support;

use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use kup_gssx::gssx::{
    ArgAcceptSecContext, CallCtx, Cb, Cred, GssxOption, KRB5_OID, Name, ResAcceptSecContext, Xdr,
};
use kup_gssx::interposer::{ArgAcquireCred, ArgInitSecContext, ResAcquireCred, ResInitSecContext};
use kup_gssx::xdr::{Decoder, Limits};
use kup_testkit::krb5::{Realm, run_bounded};
use kup_testkit::reference::{self, Tool, UnderTest};
use support::*;

const REALM: &str = "KUP.TEST";
const SERVICE: &str = "gsstest/localhost";
const USER: &str = "alice";
const PASSWORD: &str = "kup-gssproxy-pw-3";

/// alice's TGT in the service's ccache (a `ccache` entry: never synced).
const CCACHE_CONFIG: &str = "[gssproxy]\n\n[service/test]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
                             cred_store = keytab:@DIR@/service.keytab\n  \
                             cred_store = ccache:FILE:@DIR@/clients/krb5cc_%U\n  euid = 0\n";

/// alice from her client keytab into a private `MEMORY:` ccache per call: the tickets travel
/// inside the handle, so a new service ticket is what a sync returns.
const CLIENT_KEYTAB_CONFIG: &str = "[gssproxy]\n\n[service/test]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
                                    cred_store = keytab:@DIR@/service.keytab\n  \
                                    cred_store = client_keytab:@DIR@/clients/%U.keytab\n  euid = 0\n";

const ALLOW_SYNC: &str = "  allow_client_ccache_sync = yes\n";

/// `GSS_C_NT_HOSTBASED_SERVICE`.
const NT_HOSTBASED_SERVICE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
/// Confidentiality, integrity, sequence, replay; no mutual authentication: one step.
const ONE_STEP_FLAGS: u64 = 0x10 | 0x20 | 0x08 | 0x04;
/// `GSS_S_BAD_BINDINGS`.
const GSS_S_BAD_BINDINGS: u64 = 4 << 16;

struct Fixture {
    realm: Realm,
    dir: TempDir,
}

impl Fixture {
    fn start() -> Self {
        let realm = Realm::start(REALM).expect("starting the realm");
        realm.add_principal(SERVICE).expect("service principal");
        realm.add_user(USER, PASSWORD).expect("user principal");
        let dir = TempDir::new("bindings-sync");
        fs::create_dir_all(dir.0.join("clients")).expect("clients dir");
        realm
            .write_keytab(&[&realm.principal(SERVICE)], &dir.0.join("service.keytab"))
            .expect("service keytab");
        let ccache = realm
            .kinit_password(&realm.principal(USER), PASSWORD)
            .expect("kinit alice");
        fs::copy(&ccache, dir.0.join("clients/krb5cc_0")).expect("the daemon's ccache");
        realm
            .write_keytab(&[&realm.principal(USER)], &dir.0.join("clients/0.keytab"))
            .expect("alice's client keytab");
        Self { realm, dir }
    }

    fn daemon(&self, program: &Path, config: &str) -> Daemon {
        Daemon::launch(program, &self.dir.0, config, &self.realm.env(), &[])
    }
}

/// The daemon the run is about (`KUP_UNDER_TEST`).
fn under_test() -> PathBuf {
    match reference::under_test().expect("KUP_UNDER_TEST") {
        UnderTest::Ours => ours(),
        UnderTest::Theirs => theirs(),
    }
}

fn theirs() -> PathBuf {
    reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)")
}

/// One call; its result, which must be RPC `SUCCESS`.
fn rpc<R: Xdr>(client: &mut Client, xid: u32, procedure: u32, arguments: &impl Xdr) -> R {
    client
        .call_procedure(xid, procedure, arguments)
        .unwrap_or_else(|| panic!("procedure {procedure}: SYSTEM_ERR"))
}

/// `ACQUIRE_CRED` for alice's initiator (no name); the credential.
fn acquire(client: &mut Client, xid: u32) -> Cred {
    let acquired: ResAcquireCred = rpc(
        client,
        xid,
        6,
        &ArgAcquireCred {
            desired_mechs: vec![KRB5_OID.to_vec()],
            cred_usage: 1,
            ..ArgAcquireCred::default()
        },
    );
    assert_eq!(acquired.status.major_status, 0, "{:?}", acquired.status);
    acquired.output_cred_handle.expect("a credential")
}

/// One `INIT_SEC_CONTEXT` step for `gsstest@localhost` (one step, no mutual authentication).
fn init(
    client: &mut Client,
    xid: u32,
    cred: &Cred,
    cb: Option<Cb>,
    time_req: u64,
    options: Vec<GssxOption>,
) -> ResInitSecContext {
    rpc(
        client,
        xid,
        8,
        &ArgInitSecContext {
            cred_handle: Some(cred.clone()),
            target_name: Some(Name {
                display_name: b"gsstest@localhost".to_vec(),
                name_type: NT_HOSTBASED_SERVICE.to_vec(),
                ..Name::default()
            }),
            mech_type: KRB5_OID.to_vec(),
            req_flags: ONE_STEP_FLAGS,
            time_req,
            input_cb: cb,
            options,
            ..ArgInitSecContext::default()
        },
    )
}

/// `ACCEPT_SEC_CONTEXT` of `token` with the service's own acceptor and bindings `cb`.
fn accept(
    client: &mut Client,
    xid: u32,
    token: Vec<u8>,
    cb: Option<Cb>,
    options: Vec<GssxOption>,
) -> ResAcceptSecContext {
    rpc(
        client,
        xid,
        9,
        &ArgAcceptSecContext {
            call_ctx: CallCtx::default(),
            input_token: token,
            input_cb: cb,
            options,
            ..ArgAcceptSecContext::default()
        },
    )
}

fn bindings(application_data: &[u8], initiator_addrtype: u64) -> Cb {
    Cb {
        initiator_addrtype,
        initiator_address: if initiator_addrtype == 0 {
            Vec::new()
        } else {
            vec![127, 0, 0, 1]
        },
        acceptor_addrtype: 0,
        acceptor_address: Vec::new(),
        application_data: application_data.to_vec(),
    }
}

fn sync_request() -> Vec<GssxOption> {
    vec![GssxOption {
        option: b"sync_modified_creds\0".to_vec(),
        value: b"default\0".to_vec(),
    }]
}

/// A status as a line: codes and texts.
fn status_line(status: &kup_gssx::gssx::Status) -> String {
    format!(
        "major {:#x} minor {:#x} {:?} {:?} mech {}",
        status.major_status,
        status.minor_status,
        String::from_utf8_lossy(&status.major_status_string),
        String::from_utf8_lossy(&status.minor_status_string),
        hex(&status.mech)
    )
}

/// Channel bindings and `time_req` through `program`: one line per case.
fn bindings_session(program: &Path) -> Vec<String> {
    let fixture = Fixture::start();
    let daemon = fixture.daemon(program, CCACHE_CONFIG);
    let mut client = Client::connect(&daemon.socket).expect("connect");
    let cred = acquire(&mut client, 1);
    let a = bindings(b"kup channel A", 0);
    let b = bindings(b"kup channel B", 0);
    let a_addressed = bindings(b"kup channel A", 2);
    let cases: [(&str, Option<Cb>, Option<Cb>); 6] = [
        ("same bindings", Some(a.clone()), Some(a.clone())),
        ("other application data", Some(a.clone()), Some(b)),
        ("other address", Some(a_addressed.clone()), Some(a.clone())),
        ("same address", Some(a_addressed.clone()), Some(a_addressed)),
        ("initiator only", Some(a.clone()), None),
        ("acceptor only", None, Some(a)),
    ];
    let mut summary = Vec::new();
    let mut xid = 2;
    for (case, initiator, acceptor) in cases {
        let step = init(&mut client, xid, &cred, initiator, 0, Vec::new());
        assert_eq!(step.status.major_status, 0, "{case}: {:?}", step.status);
        let token = step.output_token.expect("AP-REQ");
        let accepted = accept(&mut client, xid + 1, token, acceptor, Vec::new());
        summary.push(format!(
            "{case}: {} context {}",
            status_line(&accepted.status),
            accepted.context_handle.is_some()
        ));
        xid += 2;
    }
    // time_req: with a credential whose ccache holds only the TGT (the client keytab's
    // private one), the service ticket is asked for with the end time wanted, and the
    // context lives as long as that ticket (a ticket already in a ccache would be reused).
    drop(client);
    drop(daemon);
    let daemon = fixture.daemon(program, CLIENT_KEYTAB_CONFIG);
    let mut client = Client::connect(&daemon.socket).expect("connect");
    let cred = acquire(&mut client, xid);
    xid += 1;
    for time_req in [600, 0, 0x1_0000_0258] {
        let step = init(&mut client, xid, &cred, None, time_req, Vec::new());
        assert_eq!(step.status.major_status, 0, "{:?}", step.status);
        let lifetime = step.context_handle.expect("context").lifetime;
        let shown = match lifetime {
            500..=600 => "about 600".to_owned(),
            85_000..=86_400 => "about a day".to_owned(),
            other => other.to_string(),
        };
        summary.push(format!("time_req {time_req:#x}: lifetime {shown}"));
        xid += 1;
    }
    summary
}

fn assert_bindings(summary: &[String]) {
    let ok = |line: &str| line.contains("major 0x0 minor 0x0") && line.ends_with("context true");
    let refused = |line: &str| {
        line.contains(&format!("major {GSS_S_BAD_BINDINGS:#x}")) && line.ends_with("context false")
    };
    assert!(ok(&summary[0]), "{summary:#?}");
    assert!(refused(&summary[1]), "{summary:#?}");
    assert!(refused(&summary[2]), "{summary:#?}");
    assert!(ok(&summary[3]), "{summary:#?}");
    assert!(ok(&summary[4]), "{summary:#?}");
    assert!(ok(&summary[5]), "{summary:#?}");
    assert_eq!(
        summary[6..],
        [
            "time_req 0x258: lifetime about 600",
            "time_req 0x0: lifetime about a day",
            "time_req 0x100000258: lifetime about 600",
        ]
    );
}

#[test]
fn channel_bindings_and_time_req_reach_mit() {
    assert_bindings(&bindings_session(&under_test()));
}

#[test]
fn channel_bindings_and_time_req_as_debians_gssproxy() {
    let ours = bindings_session(&ours());
    let theirs = bindings_session(&theirs());
    assert_bindings(&theirs);
    assert_eq!(ours, theirs);
}

/// A synced credential with what differs between runs blanked: its handle (encrypted, fresh),
/// the ticket data inside the composite names, lifetimes of about a day.
fn comparable(mut cred: Cred) -> Cred {
    cred.cred_handle_reference.clear();
    let shape = |composite: &mut Vec<u8>| {
        let length = composite.len();
        composite.truncate(33);
        composite.extend(u32::try_from(length).unwrap_or(u32::MAX).to_be_bytes());
    };
    shape(&mut cred.desired_name.exported_composite_name);
    for element in &mut cred.elements {
        shape(&mut element.mn.exported_composite_name);
        if (86_400 - 600..=86_400).contains(&element.initiator_time_rec) {
            element.initiator_time_rec = 86_400;
        }
    }
    cred
}

/// The result options of an `INIT_SEC_CONTEXT` as a line; a `sync_creds\0` value decoded.
fn options_line(options: &[GssxOption]) -> (String, Option<Cred>) {
    let mut synced = None;
    let names: Vec<String> = options
        .iter()
        .map(|option| {
            if option.option == b"sync_creds\0" {
                let mut decoder = Decoder::new(&option.value, Limits::DEFAULT);
                let cred = Cred::decode(&mut decoder).expect("sync_creds holds an XDR gssx_cred");
                assert!(decoder.remaining().is_empty(), "nothing after the gssx_cred");
                synced = Some(cred);
            }
            format!("{:?}", String::from_utf8_lossy(&option.option))
        })
        .collect();
    (format!("options [{}]", names.join(", ")), synced)
}

/// The sync cases through `program`: one line per call; the synced credentials (comparable).
fn sync_session(program: &Path) -> (Vec<String>, Vec<Cred>) {
    let fixture = Fixture::start();
    let mut summary = Vec::new();
    let mut synced_creds = Vec::new();
    let configs = [
        (
            "client keytab, sync allowed",
            format!("{CLIENT_KEYTAB_CONFIG}{ALLOW_SYNC}"),
        ),
        ("client keytab, sync not allowed", CLIENT_KEYTAB_CONFIG.to_owned()),
        (
            "ccache store, sync allowed",
            format!("{CCACHE_CONFIG}{ALLOW_SYNC}"),
        ),
    ];
    for (setup, config) in configs {
        let daemon = fixture.daemon(program, &config);
        let mut client = Client::connect(&daemon.socket).expect("connect");
        let cred = acquire(&mut client, 1);
        let mut xid = 2;
        // Without the call option; then with it (the first service ticket is new either way:
        // the handle's private ccache never keeps it).
        for (asked, options) in [("not asked", Vec::new()), ("asked", sync_request())] {
            let step = init(&mut client, xid, &cred, None, 0, options);
            xid += 1;
            assert_eq!(step.status.major_status, 0, "{setup}: {:?}", step.status);
            let (line, synced) = options_line(&step.options);
            summary.push(format!("{setup}, {asked}: {line}"));
            if let Some(synced) = synced {
                // The synced credential now holds the service ticket: used again with the
                // option, nothing new is obtained and nothing comes back; and it still
                // works with the daemon that made it.
                let again = init(&mut client, xid, &synced, None, 0, sync_request());
                xid += 1;
                assert_eq!(again.status.major_status, 0, "{setup}: {:?}", again.status);
                let (line, _) = options_line(&again.options);
                summary.push(format!("{setup}, synced credential used again: {line}"));
                let accepted = accept(
                    &mut client,
                    xid,
                    again.output_token.expect("AP-REQ"),
                    None,
                    sync_request(),
                );
                xid += 1;
                let (line, _) = options_line(&accepted.options);
                summary.push(format!(
                    "{setup}, accepted with the option: major {:#x} {line}",
                    accepted.status.major_status
                ));
                summary.push(format!(
                    "{setup}, synced credential: {} elements, usage {}, handle {}",
                    synced.elements.len(),
                    synced.elements.first().map_or(0, |element| element.cred_usage),
                    if synced.cred_handle_reference.is_empty() {
                        "empty"
                    } else {
                        "sealed"
                    },
                ));
                synced_creds.push(comparable(synced));
            }
        }
    }
    (summary, synced_creds)
}

fn assert_sync(summary: &[String]) {
    assert_eq!(
        summary,
        [
            "client keytab, sync allowed, not asked: options []",
            "client keytab, sync allowed, asked: options [\"sync_creds\\0\"]",
            "client keytab, sync allowed, synced credential used again: options []",
            "client keytab, sync allowed, accepted with the option: major 0x0 options []",
            "client keytab, sync allowed, synced credential: 1 elements, usage 1, handle sealed",
            "client keytab, sync not allowed, not asked: options []",
            "client keytab, sync not allowed, asked: options []",
            "ccache store, sync allowed, not asked: options []",
            "ccache store, sync allowed, asked: options []",
        ]
    );
}

#[test]
fn a_credential_that_gained_a_ticket_goes_back_when_asked_and_allowed() {
    let (summary, synced) = sync_session(&under_test());
    assert_sync(&summary);
    assert_eq!(
        synced[0].desired_name.display_name,
        format!("{USER}@{REALM}").as_bytes()
    );
}

#[test]
fn the_sync_option_is_debians_byte_for_byte_but_the_handle() {
    let (ours, our_creds) = sync_session(&ours());
    let (theirs, their_creds) = sync_session(&theirs());
    assert_sync(&theirs);
    assert_eq!(ours, theirs);
    assert_eq!(our_creds, their_creds);
}

// ---- add_cred_to_input_handle ----------------------------------------------------------------

/// `ACQUIRE_CRED` with `add_cred_to_input_handle` (no name, krb5) for `usage`.
fn acquire_adding(client: &mut Client, xid: u32, input: Option<Cred>, usage: u32) -> ResAcquireCred {
    rpc(
        client,
        xid,
        6,
        &ArgAcquireCred {
            input_cred_handle: input,
            add_cred_to_input_handle: true,
            desired_mechs: vec![KRB5_OID.to_vec()],
            cred_usage: usage,
            ..ArgAcquireCred::default()
        },
    )
}

/// The `add_cred_to_input_handle` cases through `program`: one line each (status, and what
/// came back: nothing, the input as sent, or another credential).
fn add_cred_session(program: &Path) -> Vec<String> {
    let fixture = Fixture::start();
    let daemon = fixture.daemon(program, CCACHE_CONFIG);
    let mut client = Client::connect(&daemon.socket).expect("connect");
    let initiator = acquire(&mut client, 1);
    let mut forged = initiator.clone();
    let last = forged.cred_handle_reference.len() - 1;
    forged.cred_handle_reference[last] ^= 1;
    let cases: [(&str, Option<Cred>, u32); 5] = [
        ("no handle, initiate", None, 1),
        ("an initiator handle, initiate", Some(initiator.clone()), 1),
        ("an initiator handle, accept", Some(initiator.clone()), 2),
        ("an initiator handle, both", Some(initiator.clone()), 3),
        ("a handle that does not open, initiate", Some(forged), 1),
    ];
    let mut summary = Vec::new();
    for (xid, (case, input, usage)) in (2..).zip(cases) {
        let result = acquire_adding(&mut client, xid, input.clone(), usage);
        let output = match (&result.output_cred_handle, &input) {
            (None, _) => "no credential",
            (Some(output), Some(input)) if output == input => "the input as sent",
            (Some(_), _) => "another credential",
        };
        summary.push(format!("{case}: {} -> {output}", status_line(&result.status)));
    }
    // Without the flag, a credential that still serves comes back as it was sent (the
    // interposer rewrites its ccache when the handle bytes change).
    let reused: ResAcquireCred = rpc(
        &mut client,
        10,
        6,
        &ArgAcquireCred {
            input_cred_handle: Some(initiator.clone()),
            desired_mechs: vec![KRB5_OID.to_vec()],
            cred_usage: 1,
            ..ArgAcquireCred::default()
        },
    );
    summary.push(format!(
        "an initiator handle without the flag, initiate: {} -> {}",
        status_line(&reused.status),
        if reused.output_cred_handle.as_ref() == Some(&initiator) {
            "the input as sent"
        } else {
            "another credential"
        }
    ));
    summary
}

fn assert_add_cred(summary: &[String]) {
    let complete = "major 0x0 minor 0x0 \"\" \"\" mech 2a864886f712010202";
    let no_cred = "major 0x70000 minor 0x0 \"No credentials were supplied, or the credentials were unavailable or inaccessible\\0\" \"\" mech 2a864886f712010202";
    assert_eq!(
        summary,
        [
            format!("no handle, initiate: {complete} -> no credential"),
            format!("an initiator handle, initiate: {no_cred} -> no credential"),
            format!("an initiator handle, accept: {complete} -> the input as sent"),
            format!("an initiator handle, both: {complete} -> the input as sent"),
            format!("a handle that does not open, initiate: {complete} -> the input as sent"),
            format!("an initiator handle without the flag, initiate: {complete} -> the input as sent"),
        ]
    );
}

#[test]
fn adding_to_an_input_handle_is_answered_as_the_reference_answers_it() {
    assert_add_cred(&add_cred_session(&under_test()));
}

#[test]
fn adding_to_an_input_handle_as_debians_gssproxy() {
    assert_eq!(add_cred_session(&ours()), add_cred_session(&theirs()));
}

// ---- the interposer keeps the synced credential ---------------------------------------------

const MESSAGE: &str = "kup ccache sync test message";
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(30);

/// A plain `gss-server -once` (the service keytab), then `gss-client` as alice through the
/// interposer (`GSS_USE_PROXY=yes`, `REMOTE_ONLY`) and the daemon at `socket`, with the FILE
/// ccache `client.ccache` of its own (where the interposer keeps its credential) and no keytab;
/// whether both succeeded.
fn gss_client_through(fixture: &Fixture, socket: &Path) -> bool {
    let file = |path: PathBuf| {
        let mut value = OsString::from("FILE:");
        value.push(path);
        value
    };
    let mut server_env = fixture.realm.env();
    server_env.retain(|(key, _)| key != "KRB5_KTNAME");
    server_env.push(("KRB5_KTNAME".into(), file(fixture.dir.0.join("service.keytab"))));
    let mut client_env = fixture.realm.env();
    client_env.retain(|(key, _)| {
        !matches!(
            key.to_str(),
            Some("KRB5_KTNAME" | "KRB5CCNAME" | "KRB5_CLIENT_KTNAME")
        )
    });
    client_env.push(("KRB5_KTNAME".into(), file(fixture.dir.0.join("no-such.keytab"))));
    client_env.push((
        "KRB5_CLIENT_KTNAME".into(),
        file(fixture.dir.0.join("no-such.keytab")),
    ));
    client_env.push(("KRB5CCNAME".into(), file(fixture.dir.0.join("client.ccache"))));
    client_env.push(("GSS_USE_PROXY".into(), "yes".into()));
    client_env.push(("GSSPROXY_BEHAVIOR".into(), "REMOTE_ONLY".into()));
    client_env.push(("GSSPROXY_SOCKET".into(), socket.into()));
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port");
    let mut server = Command::new("gss-server")
        .args(["-once", "-port", &port.to_string(), "gsstest@localhost"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(server_env)
        .current_dir(&fixture.dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gss-server started (package krb5-gss-samples)");
    run_gss_client(
        &mut server,
        port,
        "gsstest@localhost",
        MESSAGE,
        &client_env,
        &fixture.dir.0,
        PROGRAM_TIMEOUT,
    )
    .0
}

/// Ticket requests for the service in the KDC's log so far.
fn service_ticket_requests(realm: &Realm) -> usize {
    realm
        .kdc_log()
        .lines()
        .filter(|line| line.contains("TGS_REQ") && line.contains("for gsstest/localhost@"))
        .count()
}

/// Two `gss-client` runs through `program`'s daemon (a client-keytab service, sync `allowed`
/// or not); the service ticket requests the KDC saw after each.
fn two_interposer_runs(program: &Path, allowed: bool) -> (usize, usize) {
    let fixture = Fixture::start();
    let config = if allowed {
        format!("{CLIENT_KEYTAB_CONFIG}{ALLOW_SYNC}")
    } else {
        CLIENT_KEYTAB_CONFIG.to_owned()
    };
    let daemon = fixture.daemon(program, &config);
    assert!(
        gss_client_through(&fixture, &daemon.socket),
        "first gss-client run"
    );
    let first = service_ticket_requests(&fixture.realm);
    assert!(
        gss_client_through(&fixture, &daemon.socket),
        "second gss-client run"
    );
    (first, service_ticket_requests(&fixture.realm))
}

#[test]
fn gss_client_keeps_the_synced_service_ticket_in_its_ccache() {
    // With the sync the interposer stores the credential holding the service ticket in its
    // ccache, and the next run uses that ticket: no second request. Without it, the stored
    // credential holds only the TGT and each run asks the KDC again.
    let program = under_test();
    assert_eq!(two_interposer_runs(&program, true), (1, 1));
    assert_eq!(two_interposer_runs(&program, false), (1, 2));
}

// ---- --extract-ccache: the synced credential made plain again -------------------------------

/// `program --extract-ccache FILE:<source> --into-ccache FILE:<dir>/<out>` with `keytab` as the
/// default keytab; a summary line: status, stderr, and the output ccache's principal and
/// services (or `none`).
fn extract_line(fixture: &Fixture, program: &Path, source: &Path, keytab: &str, out: &str) -> String {
    let mut env = fixture.realm.env();
    env.retain(|(key, _)| !matches!(key.to_str(), Some("KRB5_KTNAME" | "KRB5CCNAME")));
    env.push((
        "KRB5_KTNAME".into(),
        format!("FILE:{}", fixture.dir.0.join(keytab).display()).into(),
    ));
    env.push((
        "KRB5CCNAME".into(),
        format!("FILE:{}", fixture.dir.0.join("default.ccache").display()).into(),
    ));
    let destination = fixture.dir.0.join(out);
    let mut command = Command::new(program);
    command
        .arg("--extract-ccache")
        .arg(format!("FILE:{}", source.display()))
        .arg("--into-ccache")
        .arg(format!("FILE:{}", destination.display()))
        .env_clear()
        .envs(env);
    let output = run_bounded(&mut command, None, PROGRAM_TIMEOUT).expect("extract ran");
    let plain = if destination.exists() {
        let context = kup_gss::krb5::Context::new().unwrap();
        let ccache = context
            .resolve_ccache(&format!("FILE:{}", destination.display()))
            .unwrap();
        let principal = ccache.principal().unwrap().unparse().unwrap();
        let mut services = Vec::new();
        ccache
            .for_each_credential(|info| {
                services.push(info.server.clone());
                std::ops::ControlFlow::Continue(())
            })
            .unwrap();
        services.retain(|service| !service.contains("X-CACHECONF"));
        services.sort();
        format!("{principal} {}", services.join(" "))
    } else {
        "none".to_owned()
    };
    format!(
        "{:?} {:?} {plain}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A ccache the interposer wrote through a sync (`program`'s daemon), then extraction by
/// `extractor`: right key, another key, a ccache without the entry, no ccache.
fn extract_session(program: &Path, extractor: &Path) -> Vec<String> {
    let fixture = Fixture::start();
    let daemon = fixture.daemon(program, &format!("{CLIENT_KEYTAB_CONFIG}{ALLOW_SYNC}"));
    assert!(gss_client_through(&fixture, &daemon.socket), "gss-client run");
    drop(daemon);
    let synced = fixture.dir.0.join("client.ccache");
    let plain = fixture
        .realm
        .kinit_password(&fixture.realm.principal(USER), PASSWORD)
        .expect("kinit alice");
    vec![
        extract_line(&fixture, extractor, &synced, "service.keytab", "right.ccache"),
        extract_line(&fixture, extractor, &synced, "no-such.keytab", "wrong.ccache"),
        extract_line(&fixture, extractor, &plain, "service.keytab", "plain.ccache"),
        extract_line(
            &fixture,
            extractor,
            &fixture.dir.0.join("missing"),
            "service.keytab",
            "missing.ccache",
        ),
    ]
}

fn assert_extract(summary: &[String]) {
    assert_eq!(
        summary,
        [
            // The service ticket as the client cached it: under the referral (empty) realm.
            "Some(0) \"decrypted\\n\" alice@KUP.TEST gsstest/localhost@ krbtgt/KUP.TEST@KUP.TEST",
            // KRB5KRB_AP_ERR_BAD_INTEGRITY's low byte: a random key cannot decrypt.
            "Some(31) \"\" none",
            // KRB5_CC_NOTFOUND's low byte.
            "Some(141) \"\" none",
            // KRB5_FCC_NOFILE's low byte.
            "Some(195) \"\" none",
        ],
        "{summary:#?}"
    );
}

#[test]
fn extract_ccache_makes_the_synced_credential_a_plain_ccache() {
    let program = under_test();
    assert_extract(&extract_session(&program, &program));
}

#[test]
fn extract_ccache_is_debians_on_the_same_ccaches() {
    // Each extractor on a ccache the other daemon synced: the formats are the same.
    let summary = extract_session(&ours(), &theirs());
    assert_extract(&summary);
    assert_eq!(extract_session(&theirs(), &ours()), summary);
}
