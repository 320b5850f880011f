//! cifs.upcall with real Kerberos: a throw-away MIT KDC on loopback (`kup_testkit::krb5`), real
//! upcalls through request-key (descriptions on `user` keys, which neither implementation checks
//! the type of), and MIT's acceptor (`kup-gss`'s `gss_accept` example, with the `cifs/localhost`
//! keytab) judging the blob: it must accept it, and its session key must equal the one in the
//! payload.
//!
//! The user the helper acts for is `nobody` (65534, in every passwd file): the credential files
//! it must read (krb5.conf, ccaches, a keytab) live in a directory anyone may traverse, owned by
//! that user where they are secret. The requester is a `sleep` running as that user, its
//! environment carrying `KRB5CCNAME`; its pid goes into the description.
//!
//! Debian's cifs.upcall runs the same cases where they say something about it (the payload's
//! structure, the failures); see `docs/compat/cifs.upcall.md`.

mod support;

use std::fs;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::Path;

use kup_testkit::reference::{self, Tool};
use kup_testkit::upcall::UpcallStatus;
use support::*;

#[test]
fn file_ccache_from_the_requesters_environment_gives_a_blob_the_acceptor_takes() {
    let fixture = Fixture::start();
    let ccache = fixture.alice_ccache("alice_cc");
    let requester = Requester::spawn(Some(&format!("FILE:{}", ccache.display())));
    for (sec, host, mech) in [
        ("krb5", "localhost", KRB5_OID),
        ("mskrb5", "LOCALHOST", MS_KRB5_OID),
    ] {
        let route = fixture.route(&ours(), &[]);
        let (payload, status) = upcall(
            &route,
            &description(sec, host, 0, USER, Some("alice"), requester.pid()),
        );
        let payload = payload.unwrap_or_else(|errno| panic!("{sec}: errno {errno}, helper {status:?}"));
        assert_eq!(
            assert_accepted(&fixture, &payload, mech),
            format!("alice@{REALM}")
        );
        assert_eq!(status, Some(UpcallStatus::Exited(0)));
    }
    // The service ticket landed in the user's ccache, as with the reference.
    let listing = fixture.realm.klist(&ccache).expect("klist");
    assert!(listing.contains("cifs/localhost@KUP.TEST"), "{listing}");
}

#[test]
fn debians_helper_gives_the_same_structure_on_the_same_request() {
    let Ok(theirs) = reference::theirs(Tool::CifsUpcall) else {
        return;
    };
    let fixture = Fixture::start();
    let ccache = fixture.alice_ccache("alice_cc");
    let requester = Requester::spawn(Some(&format!("FILE:{}", ccache.display())));
    let request = description("krb5", "localhost", 0, USER, Some("alice"), requester.pid());
    let (ours_payload, _) = upcall(&fixture.route(&ours(), &[]), &request);
    let (theirs_payload, _) = upcall(&fixture.route(&theirs, &[]), &request);
    let (ours_payload, theirs_payload) = (decode(&ours_payload.unwrap()), decode(&theirs_payload.unwrap()));
    assert_eq!(ours_payload.version, theirs_payload.version);
    assert_eq!(ours_payload.flags, theirs_payload.flags);
    assert_eq!(ours_payload.key.len(), theirs_payload.key.len());
    assert_eq!(ours_payload.padding, theirs_payload.padding);
    assert_eq!(
        offered_mech(&ours_payload.blob),
        offered_mech(&theirs_payload.blob)
    );
    // Same ticket, same authenticator shape: the blobs differ only in the encrypted parts, whose
    // lengths match.
    assert_eq!(ours_payload.blob.len(), theirs_payload.blob.len());
    assert_eq!(ours_payload.blob[..40], theirs_payload.blob[..40]);
}

#[test]
fn dir_and_default_ccaches_work_and_the_keytab_is_the_fallback() {
    let fixture = Fixture::start();
    // DIR: collection through KRB5CCNAME.
    let collection = fixture.dir.join("alice_dir");
    fs::DirBuilder::new().mode(0o700).create(&collection).unwrap();
    let primary = fixture.alice_ccache("alice_dir_tkt");
    fs::rename(&primary, collection.join("tkt")).unwrap();
    fs::write(collection.join("primary"), "tkt\n").unwrap();
    chown_to_user(&collection);
    chown_to_user(&collection.join("primary"));
    let requester = Requester::spawn(Some(&format!("DIR:{}", collection.display())));
    let route = fixture.route(&ours(), &[]);
    let (payload, status) = upcall(
        &route,
        &description("krb5", "localhost", 0, USER, None, requester.pid()),
    );
    assert_accepted(
        &fixture,
        &payload.unwrap_or_else(|e| panic!("DIR: {e} {status:?}")),
        KRB5_OID,
    );
    drop(requester);

    // No environment probe (-E): the default ccache of the user (krb5.conf's default_ccache_name).
    let default = fixture.alice_ccache(&format!("default_cc_{USER}"));
    let requester = Requester::spawn(None);
    let route = fixture.route(&ours(), &["-E"]);
    let (payload, status) = upcall(
        &route,
        &description("krb5", "localhost", 0, USER, None, requester.pid()),
    );
    assert_accepted(
        &fixture,
        &payload.unwrap_or_else(|e| panic!("default: {e} {status:?}")),
        KRB5_OID,
    );
    fs::remove_file(default).unwrap();

    // No ccache at all, user=alice and -K: a TGT from the keytab, in memory only.
    let before = listing(&fixture.dir);
    let route = fixture.route(&ours(), &["-K", fixture.alice_keytab.to_str().unwrap()]);
    let (payload, status) = upcall(
        &route,
        &description("krb5", "localhost", 0, USER, Some("alice"), requester.pid()),
    );
    assert_accepted(
        &fixture,
        &payload.unwrap_or_else(|e| panic!("keytab: {e} {status:?}")),
        KRB5_OID,
    );
    assert_eq!(listing(&fixture.dir), before, "the keytab login wrote no file");
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn without_credentials_the_key_is_negated_for_60_seconds_and_the_helper_exits_1() {
    let fixture = Fixture::start();
    let requester = Requester::spawn(None);
    let route = fixture.route(&ours(), &[]);
    let description = description("krb5", "localhost", 0, USER, None, requester.pid());
    let (payload, status) = upcall(&route, &description);
    assert_eq!(payload.unwrap_err(), kup_sys::errno::ENOKEY);
    assert_eq!(
        status,
        Some(UpcallStatus::Exited(1)),
        "decisions.md 2: never 0 after a failure"
    );
    assert_negated_for_60_seconds(&route);
}

#[test]
fn creduid_is_the_user_and_legacy_uid_takes_uid() {
    let fixture = Fixture::start();
    let ccache = fixture.alice_ccache("alice_cc");
    let requester = Requester::spawn(Some(&format!("FILE:{}", ccache.display())));
    // uid=0 creduid=nobody: nobody's ccache from the environment works.
    let request = description("krb5", "localhost", 0, USER, None, requester.pid());
    let (payload, _) = upcall(&fixture.route(&ours(), &[]), &request);
    assert!(payload.is_ok(), "creduid chosen");
    // -l: uid 0 (root), no environment probe for root, no default ccache for root: fails.
    let (payload, status) = upcall(&fixture.route(&ours(), &["-l"]), &request);
    assert_eq!(payload.unwrap_err(), kup_sys::errno::ENOKEY, "{status:?}");
    assert_eq!(status, Some(UpcallStatus::Exited(1)));
}

/// Runs `kinit`/`kdestroy` as the user (with the fixture's krb5.conf), bounded.
fn as_user(fixture: &Fixture, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("KRB5_CONFIG", &fixture.krb5_conf);
    kup_testkit::krb5::run_bounded(&mut command, None, std::time::Duration::from_secs(20)).expect("setpriv")
}

/// The user's persistent kernel keyring, emptied again on every exit path.
struct PersistentCcache<'a>(&'a Fixture);

impl Drop for PersistentCcache<'_> {
    fn drop(&mut self) {
        let _ = as_user(self.0, &["kdestroy", "-A", "-c", "KEYRING:persistent:65534"]);
    }
}

/// `KEYRING:persistent:<uid>`: libkrb5 finds the user's persistent keyring from the uid the
/// credential child runs as (cifs-upcall.md §11.2).
#[test]
fn a_keyring_ccache_of_the_user_works_through_the_environment() {
    let fixture = Fixture::start();
    let keytab = fixture.alice_keytab.to_str().unwrap().to_owned();
    let _cleanup = PersistentCcache(&fixture);
    let kinit = as_user(
        &fixture,
        &[
            "kinit",
            "-k",
            "-t",
            &keytab,
            "-c",
            "KEYRING:persistent:65534",
            "alice@KUP.TEST",
        ],
    );
    assert!(kinit.status.success(), "{kinit:?}");
    let requester = Requester::spawn(Some("KEYRING:persistent:65534"));
    let route = fixture.route(&ours(), &[]);
    let (payload, status) = upcall(
        &route,
        &description("krb5", "localhost", 0, USER, None, requester.pid()),
    );
    let payload = payload.unwrap_or_else(|errno| panic!("KEYRING: errno {errno}, helper {status:?}"));
    assert_eq!(assert_accepted(&fixture, &payload, KRB5_OID), "alice@KUP.TEST");
}

/// A KCM daemon (Heimdal's `kcm`; sssd-kcm speaks the same protocol), killed on every exit path.
/// Heimdal's daemon ignores `--socket-path` and always binds `/run/.heim_org.h5l.kcm-socket`, so it
/// runs in a mount namespace of its own whose `/run` is the fixture's `kcm` directory: the socket
/// appears there, where the fixture's krb5.conf points `kcm_socket`, and the host's `/run` stays
/// untouched.
struct Kcm(std::process::Child);

impl Kcm {
    fn start(fixture: &Fixture) -> Self {
        let run = fixture.dir.join("kcm");
        fs::DirBuilder::new()
            .mode(0o755)
            .create(&run)
            .expect("the kcm directory");
        let socket = run.join(".heim_org.h5l.kcm-socket");
        let child = std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!(
                "mount --bind '{}' /run && exec /usr/sbin/kcm",
                run.display()
            ))
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("Heimdal's kcm (heimdal-kcm)");
        let kcm = Self(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !socket.exists() {
            assert!(std::time::Instant::now() < deadline, "kcm made no socket");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        kcm
    }
}

impl Drop for Kcm {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `KCM:`: the user's default cache in a KCM daemon, which knows the user only by the peer
/// credentials of its socket — so the ticket is found only if the helper asks as the user, from
/// the credential child (cifs-upcall.md §11.2). Debian's helper is run on the same cache.
#[test]
fn a_kcm_ccache_of_the_user_works_through_the_environment() {
    let fixture = Fixture::start();
    let _kcm = Kcm::start(&fixture);
    let keytab = fixture.alice_keytab.to_str().unwrap().to_owned();
    let kinit = as_user(
        &fixture,
        &["kinit", "-k", "-t", &keytab, "-c", "KCM:", "alice@KUP.TEST"],
    );
    assert!(kinit.status.success(), "{kinit:?}");
    let klist = as_user(&fixture, &["klist", "-c", "KCM:"]);
    assert!(
        String::from_utf8_lossy(&klist.stdout).contains("alice@KUP.TEST"),
        "{klist:?}"
    );
    // Root's view of the same daemon has no cache for root: only the user's identity finds it.
    let mut as_root = std::process::Command::new("klist");
    as_root
        .args(["-c", "KCM:"])
        .env_clear()
        .env("KRB5_CONFIG", &fixture.krb5_conf);
    let root_view = kup_testkit::krb5::run_bounded(&mut as_root, None, std::time::Duration::from_secs(20))
        .expect("klist as root");
    assert!(!root_view.status.success(), "{root_view:?}");

    let requester = Requester::spawn(Some("KCM:"));
    let request = description("krb5", "localhost", 0, USER, None, requester.pid());
    let (payload, status) = upcall(&fixture.route(&ours(), &[]), &request);
    let payload = payload.unwrap_or_else(|errno| panic!("KCM: errno {errno}, helper {status:?}"));
    assert_eq!(assert_accepted(&fixture, &payload, KRB5_OID), "alice@KUP.TEST");
    assert_eq!(status, Some(UpcallStatus::Exited(0)));
    // The service ticket was stored back into the user's KCM cache.
    let klist = as_user(&fixture, &["klist", "-c", "KCM:"]);
    assert!(
        String::from_utf8_lossy(&klist.stdout).contains("cifs/localhost@KUP.TEST"),
        "{klist:?}"
    );

    if let Ok(theirs) = reference::theirs(Tool::CifsUpcall) {
        let (payload, status) = upcall(&fixture.route(&theirs, &[]), &request);
        let payload = payload.unwrap_or_else(|errno| panic!("Debian's, KCM: errno {errno}, {status:?}"));
        assert_eq!(assert_accepted(&fixture, &payload, KRB5_OID), "alice@KUP.TEST");
    }
}
