//! The names of an accepted context as the daemon reports them (display bytes, name type and
//! exported form, the last one built by the daemon from the display bytes: src/accept.rs)
//! against what MIT's library itself returns for the same token accepted in-process with the
//! same keytab: byte for byte, for the initiator and the target. The client is this test binary
//! re-executed inside the realm's environment (with `KRB5RCACHETYPE=none`, so the in-process
//! accept of the token the daemon already accepted is not a replay).

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
    let target = Name::hostbased("nfs@localhost").expect("target name");
    let mut initiator = SecurityContext::new(Mech::Krb5);
    let (token, _) = initiator.init_step(&target, &[]).expect("init_sec_context");
    let reply = client
        .call(&kernel_accept_call(9, &token))
        .expect("call")
        .expect("a reply");
    let (_, result) = decode_accept_reply(&reply);
    let result = result.expect("accepted RPC");
    assert_eq!(result.status.major_status, 0);
    let handle = result.context_handle.expect("context");

    let credential = Credential::acceptor(Some(&keytab), None, Some(Mech::Krb5)).expect("acceptor");
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
}

#[test]
fn daemon_names_are_byte_for_byte_what_mit_reports_for_the_same_token() {
    if std::env::var(CHILD).is_ok_and(|value| value == TEST) {
        return client_half();
    }
    let realm = Realm::start(REALM).expect("realm");
    realm.add_principal("nfs/localhost").expect("nfs principal");
    let dir = TempDir::new("names");
    let keytab = dir.0.join("nfs.keytab");
    realm.write_keytab(&[SERVICE], &keytab).expect("keytab");
    let daemon = Daemon::launch(&ours(), &dir.0, CONFIG, &realm.env(), &[]);
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
            );
        let out = run_bounded(&mut command, None, TIMEOUT).expect("child ran");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{user}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
