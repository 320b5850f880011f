//! Impersonation (spec gssproxy-config.md §6.2): `S4U2Self` for the caller's user, `S4U2Proxy`
//! from the evidence it leaves, explicit protocol transition, and the refusals, against a
//! throw-away MIT KDC (`kup_testkit::krb5`), our daemon and Debian's gssproxy 0.9.1 with the
//! same calls and the same expected outcomes.
//!
//! The realm: `gsstest/localhost`, the impersonating service (`+ok_to_auth_as_delegate`, so
//! the KDC's `S4U2Self` tickets to it are forwardable); `plain/localhost`, a service without
//! that flag; `host/localhost`, another target; `root`, a user whose key nobody here holds
//! (nobody ever types a password or holds a ticket for it). MIT's db2 database has no
//! constrained-delegation rules, so its KDC refuses every `S4U2Proxy` request: the tests prove
//! the daemons ask for it (both get the KDC's refusal), not that a KDC grants it.
//!
//! - `imp.sock`: `impersonate = yes`, `allow_any_uid`, `euid = 1`; the test (uid 0, user
//!   `root`) is a user request, so the daemon gets root's credential by `S4U2Self` with the
//!   `gsstest/localhost` keytab. MIT's `gss-client` through Debian's `proxymech.so`, with no
//!   ticket of its own, authenticates as `root@KUP.TEST` to a plain `gss-server` that holds
//!   the `gsstest/localhost` keytab.
//! - `noimp.sock`: the same on a `plain/localhost` keytab, whose evidence is not
//!   forwardable: MIT 1.20's acceptor still makes the credential (resource-based delegation
//!   takes such evidence), which reaches `plain` itself; the KDC refuses to go further.
//! - `other.sock`: an ordinary service (`euid = 0`, same keytab, hence the same handle key):
//!   the impersonated credential may initiate to its impersonator only (`GSS_S_UNAUTHORIZED`
//!   elsewhere); an explicit `impersonate_name` acquire is not protocol transition there.
//! - `pt.sock`: `allow_protocol_transition = yes`: the explicit acquire is `S4U2Self`.

#[path = "support/samba_kdc.rs"]
mod samba_kdc;
mod support;

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use kup_gssx::gssx::{Cred, GssxOption, KRB5_OID, Name, Xdr};
use kup_gssx::interposer::{ArgAcquireCred, ArgInitSecContext, ResAcquireCred, ResInitSecContext};
use kup_testkit::krb5::Realm;
use kup_testkit::reference::{self, Tool};
use support::*;

const REALM: &str = "KUP.TEST";
const MESSAGE: &str = "kup impersonation test message";
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(30);
/// `GSS_C_NT_HOSTBASED_SERVICE`.
const NT_HOSTBASED_SERVICE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
/// `GSS_C_NT_STRING_UID_NAME`.
const NT_STRING_UID_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x03];
/// `GSS_KRB5_NT_PRINCIPAL_NAME`.
const NT_KRB5_PRINCIPAL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01];
/// Confidentiality, integrity, sequence, replay: no mutual authentication, one step.
const ONE_STEP_FLAGS: u64 = 0x10 | 0x20 | 0x08 | 0x04;
/// `GSS_S_NO_CRED`, `GSS_S_UNAUTHORIZED`, `GSS_S_FAILURE`.
const NO_CRED: u64 = 7 << 16;
const UNAUTHORIZED: u64 = 15 << 16;
const FAILURE: u64 = 13 << 16;
/// `KRB5KDC_ERR_BADOPTION` (the KDC's answer to `S4U2Proxy` without delegation rules) and
/// `KRB5_CC_NOTFOUND` (no matching credential in the daemon's default environment), as
/// GSSAPI minor statuses.
const BADOPTION: u64 = 0x96c7_3a0d;
const CC_NOTFOUND: u64 = 0x96c7_3a8d;

const CONFIG: &str = "[gssproxy]\n\n\
    [service/imp]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
    cred_store = keytab:@DIR@/service.keytab\n  euid = 1\n  allow_any_uid = yes\n  impersonate = yes\n\n\
    [service/noimp]\n  mechs = krb5\n  socket = @DIR@/noimp.sock\n  \
    cred_store = keytab:@DIR@/plain.keytab\n  euid = 1\n  allow_any_uid = yes\n  impersonate = yes\n\n\
    [service/other]\n  mechs = krb5\n  socket = @DIR@/other.sock\n  \
    cred_store = keytab:@DIR@/service.keytab\n  euid = 0\n\n\
    [service/pt]\n  mechs = krb5\n  socket = @DIR@/pt.sock\n  \
    cred_store = keytab:@DIR@/service.keytab\n  euid = 0\n  allow_protocol_transition = yes\n\n\
    [service/selfimp]\n  mechs = krb5\n  socket = @DIR@/selfimp.sock\n  \
    cred_store = keytab:@DIR@/service.keytab\n  euid = 0\n  trusted = yes\n  impersonate = yes\n\n\
    [service/selfprinc]\n  mechs = krb5\n  socket = @DIR@/selfprinc.sock\n  \
    cred_store = keytab:@DIR@/service.keytab\n  euid = 0\n  trusted = yes\n  impersonate = yes\n  \
    krb5_principal = gsstest/localhost@KUP.TEST\n";

struct Fixture {
    realm: Realm,
    dir: TempDir,
}

/// The realm's environment with its krb5.conf replaced by one that also maps `localhost` to
/// the realm: a host-based name then means `service/localhost@KUP.TEST`, the principal the
/// evidence ticket names, not a referral (`service/localhost@`) that needs `S4U2Proxy` even for
/// the impersonator itself.
fn environment(realm: &Realm, dir: &Path) -> Vec<(OsString, OsString)> {
    let conf = dir.join("krb5.conf");
    let mut text = fs::read_to_string(realm.krb5_conf()).expect("the realm's krb5.conf");
    assert!(
        text.trim_end().ends_with(&format!("= {REALM}")),
        "[domain_realm] is last:\n{text}"
    );
    text.push_str(" localhost = ");
    text.push_str(REALM);
    text.push('\n');
    fs::write(&conf, text).expect("krb5.conf");
    let mut env = realm.env();
    env.retain(|(key, _)| key != "KRB5_CONFIG");
    env.push(("KRB5_CONFIG".into(), conf.into()));
    env
}

impl Fixture {
    fn start() -> Self {
        let realm = Realm::start(REALM).expect("starting the realm");
        for service in ["gsstest/localhost", "plain/localhost", "host/localhost", "root"] {
            realm.add_principal(service).expect("principal");
        }
        realm
            .set_principal_attribute("gsstest/localhost", "+ok_to_auth_as_delegate")
            .expect("S4U2Self evidence forwardable for gsstest");
        let dir = TempDir::new("impersonation");
        for (principal, keytab) in [
            ("gsstest/localhost", "service.keytab"),
            ("plain/localhost", "plain.keytab"),
            ("host/localhost", "host.keytab"),
        ] {
            realm
                .write_keytab(&[&realm.principal(principal)], &dir.0.join(keytab))
                .expect("keytab");
        }
        Self { realm, dir }
    }

    fn daemon(&self, program: &Path) -> Daemon {
        Daemon::launch(
            program,
            &self.dir.0,
            CONFIG,
            &environment(&self.realm, &self.dir.0),
            &[],
        )
    }

    fn socket(&self, name: &str) -> std::path::PathBuf {
        self.dir.0.join(name)
    }
}

/// A plain `gss-server -once` for `service` with `keytab`, then MIT's `gss-client` through the
/// daemon at `socket` with no ccache or keytab of its own, both with `env` (a realm's) and in
/// `dir`; whether both succeeded, and both outputs.
fn gss_client_through(
    dir: &Path,
    env: &[(OsString, OsString)],
    socket: &Path,
    service: &str,
    keytab: &Path,
) -> (bool, String, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port");
    let file = |path: &Path| {
        let mut value = OsString::from("FILE:");
        value.push(path);
        value
    };
    let mut server_env = env.to_vec();
    server_env.retain(|(key, _)| key != "KRB5_KTNAME");
    server_env.push(("KRB5_KTNAME".into(), file(keytab)));
    let server_out = dir.join("gss-server.out");
    let mut server = Command::new("gss-server")
        .args(["-once", "-port", &port.to_string(), service])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .envs(server_env)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(fs::File::create(&server_out).expect("server output"))
        .stderr(Stdio::null())
        .spawn()
        .expect("gss-server started (package krb5-gss-samples)");
    let mut client_env = env.to_vec();
    client_env.retain(|(key, _)| key != "KRB5_KTNAME" && key != "KRB5CCNAME");
    client_env.push(("KRB5_KTNAME".into(), file(&dir.join("no-such.keytab"))));
    client_env.push(("KRB5CCNAME".into(), file(&dir.join("no-such.ccache"))));
    client_env.push(("GSS_USE_PROXY".into(), "yes".into()));
    client_env.push(("GSSPROXY_BEHAVIOR".into(), "REMOTE_ONLY".into()));
    client_env.push(("GSSPROXY_SOCKET".into(), socket.into()));
    let (ok, client) = run_gss_client(
        &mut server,
        port,
        service,
        MESSAGE,
        &client_env,
        dir,
        PROGRAM_TIMEOUT,
    );
    let server_text = fs::read_to_string(&server_out).unwrap_or_default();
    (ok, client, server_text)
}

/// One call of `procedure`; its result (RPC `SUCCESS` required).
fn rpc<R: Xdr>(socket: &Path, procedure: u32, arguments: &impl Xdr) -> R {
    rpc_or_system_err(socket, procedure, arguments)
        .unwrap_or_else(|| panic!("procedure {procedure}: SYSTEM_ERR"))
}

/// One call of `procedure` on a new connection; its result for RPC `SUCCESS`, `None` for
/// `SYSTEM_ERR`.
fn rpc_or_system_err<R: Xdr>(socket: &Path, procedure: u32, arguments: &impl Xdr) -> Option<R> {
    let mut client = Client::connect(socket).expect("connect");
    client.call_procedure(1, procedure, arguments)
}

/// `ACQUIRE_CRED`; `None` for `SYSTEM_ERR`.
fn acquire(socket: &Path, arguments: &ArgAcquireCred) -> Option<ResAcquireCred> {
    rpc_or_system_err(socket, 6, arguments)
}

/// The credential an acquire returned (an empty one when it returned none).
fn cred_of(result: Option<&ResAcquireCred>) -> Cred {
    result
        .and_then(|result| result.output_cred_handle.clone())
        .unwrap_or_default()
}

fn init(socket: &Path, cred: &Cred, target: &str) -> ResInitSecContext {
    rpc(
        socket,
        8,
        &ArgInitSecContext {
            cred_handle: Some(cred.clone()),
            target_name: Some(Name {
                display_name: target.as_bytes().to_vec(),
                name_type: NT_HOSTBASED_SERVICE.to_vec(),
                ..Name::default()
            }),
            mech_type: KRB5_OID.to_vec(),
            req_flags: ONE_STEP_FLAGS,
            ..ArgInitSecContext::default()
        },
    )
}

/// A credential's name and usage, what the test compares of it.
fn describe(result: Option<&ResAcquireCred>) -> String {
    let Some(result) = result else {
        return "SYSTEM_ERR".to_owned();
    };
    match &result.output_cred_handle {
        Some(cred) => format!(
            "major {:#x} cred {} usage {:?}",
            result.status.major_status,
            String::from_utf8_lossy(&cred.desired_name.display_name),
            cred.elements
                .iter()
                .map(|element| element.cred_usage)
                .collect::<Vec<_>>()
        ),
        None => format!(
            "major {:#x} minor {:#x} no cred",
            result.status.major_status, result.status.minor_status
        ),
    }
}

fn init_line(what: &str, result: &ResInitSecContext) -> String {
    format!(
        "{what}: major {:#x} minor {:#x} token {}",
        result.status.major_status,
        result.status.minor_status,
        result.output_token.is_some()
    )
}

/// Every case through `program`; one line per outcome (statuses, names, usages).
fn session(program: &Path) -> Vec<String> {
    let fixture = Fixture::start();
    let daemon = fixture.daemon(program);
    let mut lines = implicit_cases(&fixture);
    lines.extend(explicit_cases(&fixture));
    lines.extend(gss_client_cases(&fixture, &daemon));
    drop(daemon);
    lines
}

/// An initiator acquire with no name, krb5 only.
fn initiate() -> ArgAcquireCred {
    ArgAcquireCred {
        desired_mechs: vec![KRB5_OID.to_vec()],
        cred_usage: 1,
        ..ArgAcquireCred::default()
    }
}

/// `impersonate = yes`: `S4U2Self` for the caller (uid 0: root), and where the credential may
/// go.
fn implicit_cases(fixture: &Fixture) -> Vec<String> {
    let mut lines = Vec::new();
    let imp = fixture.socket("gssproxy.sock");
    let other = fixture.socket("other.sock");
    let initiate = initiate();
    let impersonated = acquire(&imp, &initiate);
    lines.push(format!("imp acquire: {}", describe(impersonated.as_ref())));
    let cred = cred_of(impersonated.as_ref());
    // To the impersonator itself: the evidence ticket; to another service: S4U2Proxy, which
    // MIT's db2 KDC refuses.
    lines.push(init_line(
        "imp init self",
        &init(&imp, &cred, "gsstest@localhost"),
    ));
    lines.push(init_line("imp init host", &init(&imp, &cred, "host@localhost")));
    // Evidence that is not forwardable: MIT 1.20's acceptor still makes the credential (for
    // resource-based delegation), the KDC refuses to go further with it.
    let noimp = fixture.socket("noimp.sock");
    let plain = acquire(&noimp, &initiate);
    lines.push(format!("noimp acquire: {}", describe(plain.as_ref())));
    let plain_cred = cred_of(plain.as_ref());
    lines.push(init_line(
        "noimp init self",
        &init(&noimp, &plain_cred, "plain@localhost"),
    ));
    lines.push(init_line(
        "noimp init host",
        &init(&noimp, &plain_cred, "host@localhost"),
    ));
    // An ordinary service: the same credential only to its impersonator.
    lines.push(init_line(
        "other init self",
        &init(&other, &cred, "gsstest@localhost"),
    ));
    lines.push(init_line(
        "other init host",
        &init(&other, &cred, "host@localhost"),
    ));
    lines
}

/// Explicit protocol transition (`acquire_type` = `impersonate_name`) with the service's own
/// credential as impersonator.
fn explicit_cases(fixture: &Fixture) -> Vec<String> {
    let mut lines = Vec::new();
    let other = fixture.socket("other.sock");
    let pt = fixture.socket("pt.sock");
    let initiate = initiate();
    let own = acquire(
        &other,
        &ArgAcquireCred {
            desired_name: Some(Name {
                display_name: b"gsstest@localhost".to_vec(),
                name_type: NT_HOSTBASED_SERVICE.to_vec(),
                ..Name::default()
            }),
            ..initiate.clone()
        },
    );
    lines.push(format!("own acquire: {}", describe(own.as_ref())));
    let impersonate_name = |socket: &Path| {
        acquire(
            socket,
            &ArgAcquireCred {
                input_cred_handle: Some(cred_of(own.as_ref())),
                desired_name: Some(Name {
                    display_name: format!("root@{REALM}").into_bytes(),
                    name_type: NT_KRB5_PRINCIPAL.to_vec(),
                    ..Name::default()
                }),
                options: vec![GssxOption {
                    option: b"acquire_type\0".to_vec(),
                    value: b"impersonate_name\0".to_vec(),
                }],
                ..initiate.clone()
            },
        )
    };
    lines.push(format!(
        "pt impersonate_name: {}",
        describe(impersonate_name(&pt).as_ref())
    ));
    lines.push(format!(
        "other impersonate_name: {}",
        describe(impersonate_name(&other).as_ref())
    ));
    let unknown_type = acquire(
        &pt,
        &ArgAcquireCred {
            input_cred_handle: Some(cred_of(own.as_ref())),
            options: vec![GssxOption {
                option: b"acquire_type\0".to_vec(),
                value: b"something_else\0".to_vec(),
            }],
            ..initiate.clone()
        },
    );
    lines.push(format!(
        "pt unknown acquire_type: {}",
        describe(unknown_type.as_ref())
    ));
    // A trusted impersonate service: a uid named by its own euid (as rpc.gssd asks) is a user
    // request, hence S4U2Self for that uid's user; no name is a service request, which
    // still takes the impersonation path and has no name to impersonate.
    let selfimp = fixture.socket("selfimp.sock");
    let by_uid = acquire(
        &selfimp,
        &ArgAcquireCred {
            desired_name: Some(Name {
                display_name: b"0".to_vec(),
                name_type: NT_STRING_UID_NAME.to_vec(),
                ..Name::default()
            }),
            ..initiate.clone()
        },
    );
    lines.push(format!("selfimp acquire uid 0: {}", describe(by_uid.as_ref())));
    lines.push(format!(
        "selfimp acquire no name: {}",
        describe(acquire(&selfimp, &initiate).as_ref())
    ));
    // With `krb5_principal`, that is the name of a service request: it is the impersonator's
    // own, so a plain acquire.
    lines.push(format!(
        "selfprinc acquire no name: {}",
        describe(acquire(&fixture.socket("selfprinc.sock"), &initiate).as_ref())
    ));
    lines
}

/// An independent client: MIT's gss-client through the interposer, with no ticket at all, to
/// the impersonator and to another service (the outputs are in the line when it fails).
fn gss_client_cases(fixture: &Fixture, daemon: &Daemon) -> Vec<String> {
    let mut lines = Vec::new();
    let imp = fixture.socket("gssproxy.sock");
    let env = environment(&fixture.realm, &fixture.dir.0);
    let (ok, client, server) = gss_client_through(
        &fixture.dir.0,
        &env,
        &imp,
        "gsstest@localhost",
        &fixture.dir.0.join("service.keytab"),
    );
    let accepted_as_root = server.contains(&format!("Accepted connection: \"root@{REALM}\""))
        && server.contains(&format!("Received message: \"{MESSAGE}\""));
    let mut line = format!("gss-client to gsstest: ok {ok} accepted as root {accepted_as_root}");
    if !(ok && accepted_as_root) {
        let _ = write!(
            line,
            "\ngss-client:\n{client}\ngss-server:\n{server}\ndaemon:\n{}",
            daemon.stderr_text()
        );
    }
    lines.push(line);
    let (ok, _, server) = gss_client_through(
        &fixture.dir.0,
        &env,
        &imp,
        "host@localhost",
        &fixture.dir.0.join("host.keytab"),
    );
    lines.push(format!(
        "gss-client to host: ok {ok} accepted {}",
        server.contains("Accepted connection")
    ));
    lines
}

/// What both daemons must answer (the KDC refuses `S4U2Proxy`: `KRB5KDC_ERR_BADOPTION`).
fn expected() -> Vec<String> {
    vec![
        format!("imp acquire: major 0x0 cred root@{REALM} usage [1]"),
        "imp init self: major 0x0 minor 0x0 token true".to_owned(),
        format!("imp init host: major {FAILURE:#x} minor {BADOPTION:#x} token false"),
        format!("noimp acquire: major 0x0 cred root@{REALM} usage [1]"),
        "noimp init self: major 0x0 minor 0x0 token true".to_owned(),
        format!("noimp init host: major {FAILURE:#x} minor {BADOPTION:#x} token false"),
        "other init self: major 0x0 minor 0x0 token true".to_owned(),
        format!("other init host: major {UNAUTHORIZED:#x} minor 0x0 token false"),
        format!("own acquire: major 0x0 cred gsstest/localhost@{REALM} usage [1]"),
        format!("pt impersonate_name: major 0x0 cred root@{REALM} usage [1]"),
        format!("other impersonate_name: major {NO_CRED:#x} minor {CC_NOTFOUND:#x} no cred"),
        "pt unknown acquire_type: SYSTEM_ERR".to_owned(),
        format!("selfimp acquire uid 0: major 0x0 cred root@{REALM} usage [1]"),
        // GSS_S_CALL_INACCESSIBLE_READ | GSS_S_BAD_NAME (S4U2Self of GSS_C_NO_NAME), which
        // the reference cannot describe in a status.
        "selfimp acquire no name: SYSTEM_ERR".to_owned(),
        format!("selfprinc acquire no name: major 0x0 cred gsstest/localhost@{REALM} usage [1]"),
        "gss-client to gsstest: ok true accepted as root true".to_owned(),
        "gss-client to host: ok false accepted false".to_owned(),
    ]
}

#[test]
fn our_daemon_impersonates_users_as_the_reference_does() {
    assert_eq!(session(&ours()), expected());
}

#[test]
fn debians_gssproxy_gives_the_same_outcomes() {
    let theirs = reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)");
    assert_eq!(session(&theirs), expected());
}

// ---- constrained delegation granted: a Samba AD DC's KDC ------------------------------------

const AD_REALM: &str = "KUPIMP.TEST";
/// The target of `S4U2Proxy` (a service name of the account `svctarget`).
const AD_TARGET: &str = "host@target.kupimp.test";

/// `svcimp` (trusted to authenticate for delegation, may delegate to `host/target`),
/// `svcnodeleg` (no delegation rights), `svctarget` (`host/target.kupimp.test`), and `root`.
const AD_CONFIG: &str = "[gssproxy]\n\n\
    [service/imp]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
    cred_store = keytab:@DIR@/svcimp.keytab\n  euid = 1\n  allow_any_uid = yes\n  impersonate = yes\n\n\
    [service/nodeleg]\n  mechs = krb5\n  socket = @DIR@/nodeleg.sock\n  \
    cred_store = keytab:@DIR@/svcnodeleg.keytab\n  euid = 1\n  allow_any_uid = yes\n  impersonate = yes\n";

/// Provisions the DC, its accounts, delegation rights and keytabs into `dir`; starts its KDC.
fn ad_domain(dir: &Path) -> samba_kdc::Dc {
    let mut dc = samba_kdc::Dc::provision(dir, AD_REALM, "KUPIMP").expect("provisioning the AD DC");
    for user in ["root", "svcimp", "svcnodeleg", "svctarget"] {
        dc.add_user(user).expect("account");
    }
    for (spn, account) in [
        ("gsstest/imp.kupimp.test", "svcimp"),
        ("plain/imp.kupimp.test", "svcnodeleg"),
        ("host/target.kupimp.test", "svctarget"),
    ] {
        dc.samba_tool(&["spn", "add", spn, account])
            .expect("service name");
    }
    dc.samba_tool(&["delegation", "for-any-protocol", "svcimp", "on"])
        .expect("svcimp trusted to authenticate for delegation");
    dc.samba_tool(&["delegation", "add-service", "svcimp", "host/target.kupimp.test"])
        .expect("svcimp may delegate to host/target");
    for (principal, keytab) in [
        ("svcimp", "svcimp.keytab"),
        ("svcnodeleg", "svcnodeleg.keytab"),
        ("host/target.kupimp.test", "target.keytab"),
    ] {
        dc.export_keytab(principal, &dir.join(keytab)).expect("keytab");
    }
    dc.start_kdc().expect("the Samba KDC");
    dc
}

/// The AD cases through `program`, one line per outcome.
fn ad_session(program: &Path) -> Vec<String> {
    let dir = TempDir::new("impersonation-ad");
    let dc = ad_domain(&dir.0);
    let conf = dir.0.join("krb5.conf");
    dc.write_krb5_conf(&conf).expect("krb5.conf");
    let mut env: Vec<(OsString, OsString)> = vec![("KRB5_CONFIG".into(), conf.into())];
    for (key, file) in [("KRB5CCNAME", "none.ccache"), ("KRB5_KTNAME", "none.keytab")] {
        let mut value = OsString::from("FILE:");
        value.push(dir.0.join(file));
        env.push((key.into(), value));
    }
    let daemon = Daemon::launch(program, &dir.0, AD_CONFIG, &env, &[]);
    let imp = dir.0.join("gssproxy.sock");
    let nodeleg = dir.0.join("nodeleg.sock");
    let mut lines = Vec::new();
    for (label, socket) in [("imp", &imp), ("nodeleg", &nodeleg)] {
        let acquired = acquire(socket, &initiate());
        lines.push(format!("{label} acquire: {}", describe(acquired.as_ref())));
        let cred = cred_of(acquired.as_ref());
        lines.push(init_line(
            &format!("{label} init target"),
            &init(socket, &cred, AD_TARGET),
        ));
        let (ok, client, server) =
            gss_client_through(&dir.0, &env, socket, AD_TARGET, &dir.0.join("target.keytab"));
        let accepted_as_root = server.contains(&format!("Accepted connection: \"root@{AD_REALM}\""))
            && server.contains(&format!("Received message: \"{MESSAGE}\""));
        let mut line = format!("{label} gss-client to target: ok {ok} accepted as root {accepted_as_root}");
        if ok != accepted_as_root {
            let _ = write!(
                line,
                "\ngss-client:\n{client}\ngss-server:\n{server}\ndaemon:\n{}",
                daemon.stderr_text()
            );
        }
        lines.push(line);
    }
    drop(daemon);
    drop(dc);
    lines
}

/// What both daemons must answer against the AD DC: `svcimp` reaches the target as root by
/// `S4U2Proxy`; `svcnodeleg` gets root's evidence (not forwardable) and the KDC refuses to
/// delegate with it.
fn ad_expected() -> Vec<String> {
    vec![
        format!("imp acquire: major 0x0 cred root@{AD_REALM} usage [1]"),
        "imp init target: major 0x0 minor 0x0 token true".to_owned(),
        "imp gss-client to target: ok true accepted as root true".to_owned(),
        format!("nodeleg acquire: major 0x0 cred root@{AD_REALM} usage [1]"),
        format!("nodeleg init target: major {FAILURE:#x} minor {BADOPTION:#x} token false"),
        "nodeleg gss-client to target: ok false accepted as root false".to_owned(),
    ]
}

#[test]
fn our_daemon_delegates_as_users_where_an_ad_kdc_allows_it() {
    assert_eq!(ad_session(&ours()), ad_expected());
}

#[test]
fn debians_gssproxy_delegates_the_same_way() {
    let theirs = reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)");
    assert_eq!(ad_session(&theirs), ad_expected());
}
