//! The kept acceptor credential never serves stale keys (src/cache.rs): with one worker (so the
//! credential of the first call is the one kept for the next), the service is rekeyed in the
//! throw-away KDC and its keytab replaced as an admin does (a new file renamed over the old, then
//! also a rewrite in place); a ticket for the new key must be accepted at once, a ticket for the
//! removed key refused; and a SIGHUP reload keeps serving. The client is this test binary
//! re-executed inside the realm's environment, as in `kernel_accept.rs`. (MIT reads a `FILE:`
//! keytab again at each accept, so this guards the behaviour end to end; the cache's own unit
//! test is the one that fails if a changed keytab does not force a new acquisition.)

mod support;

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kup_gss::gss::{Mech, Name, SecurityContext};
use kup_testkit::krb5::{Realm, run_bounded};
use support::*;

const REALM: &str = "KUP.TEST";
const SERVICE: &str = "nfs/localhost@KUP.TEST";
const USER: &str = "daemon";
const PASSWORD: &str = "kup-gssproxy-pw-2";
const CHILD: &str = "KUP_GSSPROXY_CHILD";
const TIMEOUT: Duration = Duration::from_mins(1);
const SUMMARY: &str = "SUMMARY ";

const CONFIG: &str = "[gssproxy]\n  worker threads = 1\n\n[service/nfs-server]\n  mechs = krb5\n  \
                      socket = @DIR@/gssproxy.sock\n  cred_store = keytab:@DIR@/nfs.keytab\n  \
                      krb5_principal = nfs/localhost@KUP.TEST\n  trusted = yes\n  euid = 0\n";

/// Client half: one kernel call with a fresh context from the ccache's tickets; prints the
/// major status.
fn client_half() {
    let socket = PathBuf::from(std::env::var_os("KUP_GSSPROXY_SOCKET").unwrap());
    let mut client = Client::connect(&socket).expect("connect");
    let target = Name::hostbased("nfs@localhost").expect("target name");
    let mut context = SecurityContext::new(Mech::Krb5);
    let (token, _) = context.init_step(&target, &[]).expect("init_sec_context");
    let reply = client
        .call(&kernel_accept_call(7, &token))
        .expect("call")
        .expect("a reply");
    let (header, result) = decode_accept_reply(&reply);
    assert_eq!(header.xid, 7);
    let result = result.expect("accepted RPC");
    let _ = writeln!(
        std::io::stdout().lock(),
        "\n{SUMMARY}major {:#x}",
        result.status.major_status
    );
}

/// Runs the client half with `ccache`; returns the major status it printed.
fn major(realm: &Realm, ccache: &Path, socket: &Path, test: &str) -> u64 {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env(CHILD, test)
        .env("KUP_GSSPROXY_SOCKET", socket)
        .envs(
            realm
                .env_with_ccache(ccache)
                .into_iter()
                .collect::<Vec<(OsString, OsString)>>(),
        );
    let out = run_bounded(&mut command, None, TIMEOUT).expect("child ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix(SUMMARY))
        .unwrap_or_else(|| panic!("no summary: {stdout}"));
    u64::from_str_radix(line.trim_start_matches("major 0x"), 16).expect("a number")
}

/// `cpw -randkey` in the KDC, then the new key alone into `keytab` (a new file renamed over it).
fn rekey(realm: &Realm, keytab: &Path) {
    let mut command = realm.command("kadmin.local");
    command.args(["-r", REALM, "-q", "cpw -randkey nfs/localhost"]);
    let out = run_bounded(&mut command, None, TIMEOUT).expect("kadmin.local ran");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("randomized"),
        "cpw: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = keytab.with_extension("new");
    let _ = std::fs::remove_file(&fresh);
    realm.write_keytab(&[SERVICE], &fresh).expect("new keytab");
    std::fs::rename(&fresh, keytab).expect("keytab replaced");
}

#[test]
fn a_rekeyed_keytab_is_used_at_once_and_the_old_key_is_refused() {
    const TEST: &str = "a_rekeyed_keytab_is_used_at_once_and_the_old_key_is_refused";
    if std::env::var(CHILD).is_ok_and(|value| value == TEST) {
        return client_half();
    }
    let realm = Realm::start(REALM).expect("realm");
    realm.add_principal("nfs/localhost").expect("nfs principal");
    realm.add_user(USER, PASSWORD).expect("user");
    let dir = TempDir::new("rekey");
    let keytab = dir.0.join("nfs.keytab");
    realm.write_keytab(&[SERVICE], &keytab).expect("keytab");
    let mut daemon = Daemon::launch(&ours(), &dir.0, CONFIG, &realm.env(), &[]);
    let kinit = || {
        realm
            .kinit_password(&realm.principal(USER), PASSWORD)
            .expect("kinit")
    };

    // The old key's ticket, kept in its ccache; accepted (and the credential kept).
    let old = kinit();
    assert_eq!(major(&realm, &old, &daemon.socket, TEST), 0);
    assert_eq!(major(&realm, &old, &daemon.socket, TEST), 0);

    // Rekeyed, keytab replaced: a new ticket is accepted, the old one refused.
    rekey(&realm, &keytab);
    let new = kinit();
    assert_eq!(major(&realm, &new, &daemon.socket, TEST), 0, "the new key");
    assert_ne!(major(&realm, &old, &daemon.socket, TEST), 0, "the removed key");

    // Rekeyed again, this time rewritten in place (truncated, the new key written).
    let mut command = realm.command("kadmin.local");
    command.args(["-r", REALM, "-q", "cpw -randkey nfs/localhost"]);
    run_bounded(&mut command, None, TIMEOUT).expect("kadmin.local ran");
    std::fs::write(&keytab, b"").expect("truncated");
    std::fs::remove_file(&keytab).expect("removed");
    realm.write_keytab(&[SERVICE], &keytab).expect("rewritten");
    let newer = kinit();
    assert_eq!(major(&realm, &newer, &daemon.socket, TEST), 0, "the newest key");
    assert_ne!(major(&realm, &new, &daemon.socket, TEST), 0, "the replaced key");

    // A reload keeps serving with the current key.
    let mut hangup = Command::new("/bin/kill");
    hangup.args(["-HUP", &daemon.pid().to_string()]);
    assert!(
        run_bounded(&mut hangup, None, TIMEOUT)
            .expect("kill ran")
            .status
            .success()
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(daemon.is_running());
    assert_eq!(major(&realm, &newer, &daemon.socket, TEST), 0, "after SIGHUP");

    // SIGTERM with every worker holding a kept credential and its in-memory keytab copy: the
    // workers let go of them before the process exits (MIT's library finalizers run at exit;
    // a worker still calling into MIT then aborts the daemon: status 134 in the guest run).
    for _ in 0..20 {
        assert_eq!(major(&realm, &newer, &daemon.socket, TEST), 0, "before SIGTERM");
    }
    let status = daemon.terminate().expect("the daemon ended");
    assert_eq!(status.code(), Some(0), "SIGTERM: exit status 0 ({status})");
}
