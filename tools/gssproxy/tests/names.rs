//! The names of an accepted context as the daemon reports them (display bytes, name type and
//! exported form, the last one built by the daemon from the display bytes: src/accept.rs)
//! against what MIT's library itself returns for the same token accepted in-process with the
//! same keytab: byte for byte, for the initiator and the target. The client is this test binary
//! re-executed inside the realm's environment (with `KRB5RCACHETYPE=none`, so the in-process
//! accept of the token the daemon already accepted is not a replay).
//!
//! The daemon keeps, per worker, the acceptor name it reported for a ticket server and the krb5
//! context it maps local names with (src/cache.rs): the keytab holds two service principals and
//! the client alternates between them on one connection, and krb5.conf has an `auth_to_local`
//! rule, so a kept name or a mapping that is not MIT's own for that token fails here. The creds
//! are checked against `gss_localname` in-process and the local account database.

mod support;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kup_gss::gss::{Credential, Mech, Name, SecurityContext};
use kup_testkit::krb5::{Realm, run_bounded};
use support::*;

const REALM: &str = "KUP.TEST";
const SERVICE: &str = "nfs/localhost@KUP.TEST";
const OTHER_SERVICE: &str = "nfs/other.kup.test@KUP.TEST";
const PASSWORD: &str = "kup-gssproxy-pw-3";
const CHILD: &str = "KUP_GSSPROXY_CHILD";
const TIMEOUT: Duration = Duration::from_mins(1);
const TEST: &str = "daemon_names_are_byte_for_byte_what_mit_reports_for_the_same_token";

const CONFIG: &str = "[gssproxy]\n\n[service/nfs-server]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
                      cred_store = keytab:@DIR@/nfs.keytab\n  trusted = yes\n  euid = 0\n";

fn client_half() {
    let socket = PathBuf::from(std::env::var_os("KUP_GSSPROXY_SOCKET").unwrap());
    let keytab = PathBuf::from(std::env::var_os("KUP_GSSPROXY_KEYTAB").unwrap());
    let mut client = Client::connect(&socket).expect("connect");
    for (xid, service) in [SERVICE, OTHER_SERVICE, SERVICE, OTHER_SERVICE]
        .into_iter()
        .enumerate()
    {
        check_one(&mut client, &keytab, service, u32::try_from(xid).unwrap());
    }
}

fn check_one(client: &mut Client, keytab: &std::path::Path, service: &str, xid: u32) {
    let target = Name::principal(service).expect("target name");
    let mut initiator = SecurityContext::new(Mech::Krb5);
    let (token, _) = initiator.init_step(&target, &[]).expect("init_sec_context");
    let reply = client
        .call(&kernel_accept_call(xid, &token))
        .expect("call")
        .expect("a reply");
    let (_, result) = decode_accept_reply(&reply);
    let result = result.expect("accepted RPC");
    assert_eq!(result.status.major_status, 0);
    let handle = result.context_handle.expect("context");

    let credential = Credential::acceptor(Some(keytab), None, Some(Mech::Krb5)).expect("acceptor");
    let mut acceptor = SecurityContext::new(Mech::Krb5);
    let (_, complete) = acceptor
        .accept_step(&credential, &token)
        .expect("in-process accept");
    assert!(complete);
    let source = acceptor.source_name().expect("initiator name");
    let (display, name_type) = source.display_with_type().expect("display");
    assert_eq!(handle.src_name.display_name, display);
    assert_eq!(handle.src_name.name_type, name_type);
    assert_eq!(handle.src_name.exported_name, source.export().expect("export"));
    let targ = acceptor.target_name().expect("target name");
    let (display, name_type) = targ.display_with_type().expect("display");
    assert_eq!(handle.targ_name.display_name, display);
    assert_eq!(handle.targ_name.name_type, name_type);
    assert_eq!(handle.targ_name.exported_name, targ.export().expect("export"));
    assert_eq!(
        handle.targ_name.display_name,
        service.as_bytes(),
        "the acceptor name of this token"
    );

    // The creds: MIT's own mapping of this initiator, then the account database.
    let creds = result
        .options
        .iter()
        .find(|option| option.option == b"linux_creds_v1\0")
        .expect("a creds option");
    let local = source.localname().expect("gss_localname");
    let expected_uid = kup_sys::passwd::user_by_name(&local)
        .expect("getpwnam")
        .expect("a local account")
        .uid
        .get();
    assert_eq!(
        creds.value.get(..4),
        Some(expected_uid.to_ne_bytes().as_slice()),
        "{service}: the uid of {:?}",
        String::from_utf8_lossy(&local)
    );
}

#[test]
fn daemon_names_are_byte_for_byte_what_mit_reports_for_the_same_token() {
    if std::env::var(CHILD).is_ok_and(|value| value == TEST) {
        return client_half();
    }
    let realm = Realm::start(REALM).expect("realm");
    realm.add_principal("nfs/localhost").expect("nfs principal");
    realm.add_principal("nfs/other.kup.test").expect("nfs principal");
    let dir = TempDir::new("names");
    let keytab = dir.0.join("nfs.keytab");
    realm
        .write_keytab(&[SERVICE, OTHER_SERVICE], &keytab)
        .expect("keytab");
    // daemon/admin maps to the local account `bin` by rule, the others by default.
    let krb5_conf = dir.0.join("krb5.conf");
    let conf = std::fs::read_to_string(realm.krb5_conf()).expect("krb5.conf");
    let with_rule = conf.replacen(
        &format!("{REALM} = {{\n"),
        &format!(
            "{REALM} = {{\n  auth_to_local = RULE:[2:$1;$2](^daemon;admin$)s/^.*$/bin/\n  auth_to_local = DEFAULT\n"
        ),
        1,
    );
    assert_ne!(with_rule, conf, "the realm stanza");
    std::fs::write(&krb5_conf, with_rule).expect("krb5.conf");
    let env: Vec<(OsString, OsString)> = realm
        .env()
        .into_iter()
        .map(|(key, value)| {
            if key == "KRB5_CONFIG" {
                (key, krb5_conf.clone().into_os_string())
            } else {
                (key, value)
            }
        })
        .collect();
    let daemon = Daemon::launch(&ours(), &dir.0, CONFIG, &env, &[]);
    // A user, and a principal with an instance (a two-component initiator name).
    for user in ["daemon", "daemon/admin"] {
        let principal = realm.principal(user);
        let out = realm
            .command("kadmin.local")
            .args(["-r", REALM, "-q", &format!("addprinc -pw {PASSWORD} {user}")])
            .output()
            .expect("kadmin.local");
        assert!(out.status.success());
        let ccache = realm.kinit_password(&principal, PASSWORD).expect("kinit");
        let mut command = Command::new(std::env::current_exe().expect("test binary"));
        command
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env(CHILD, TEST)
            .env("KUP_GSSPROXY_SOCKET", &daemon.socket)
            .env("KUP_GSSPROXY_KEYTAB", &keytab)
            .env("KRB5RCACHETYPE", "none")
            .envs(
                realm
                    .env_with_ccache(&ccache)
                    .into_iter()
                    .collect::<Vec<(OsString, OsString)>>(),
            )
            .env("KRB5_CONFIG", &krb5_conf);
        let out = run_bounded(&mut command, None, TIMEOUT).expect("child ran");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{user}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
