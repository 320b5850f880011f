//! The throw-away MIT realm of `kup_testkit::krb5`, exercised end to end against a real
//! `krb5kdc`: passwords, keytabs, service tickets, TCP, parallel realms, clean shutdown.

use std::fs;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use kup_testkit::krb5::{Realm, run_bounded};

const REALM: &str = "KUP.TEST";
const SERVICE: &str = "nfs/host.kup.test";

fn start() -> Realm {
    match Realm::start(REALM) {
        Ok(realm) => realm,
        Err(e) => panic!("starting the test realm failed:\n{e}"),
    }
}

/// The klist line of a ticket for `principal` (the "Service principal" column).
fn has_ticket_for(klist: &str, principal: &str) -> bool {
    klist
        .lines()
        .any(|line| line.split_whitespace().last() == Some(principal))
}

#[test]
fn a_user_gets_a_tgt_with_the_password_and_then_a_service_ticket_for_a_harness_principal() {
    let realm = start();
    let service = realm.add_principal(SERVICE).unwrap();
    assert_eq!(service, "nfs/host.kup.test@KUP.TEST");
    let alice = realm.add_user("alice", "alice-pw1").unwrap();
    assert_eq!(alice, "alice@KUP.TEST");

    let ccache = realm.kinit_password(&alice, "alice-pw1").unwrap();
    let before = realm.klist(&ccache).unwrap();
    assert!(before.contains("Default principal: alice@KUP.TEST"), "{before}");
    assert!(has_ticket_for(&before, "krbtgt/KUP.TEST@KUP.TEST"), "{before}");
    assert!(!has_ticket_for(&before, &service), "{before}");

    let kvno = realm.kvno(&ccache, &service).unwrap();
    assert_eq!(kvno.trim(), "nfs/host.kup.test@KUP.TEST: kvno = 1");

    let after = realm.klist(&ccache).unwrap();
    assert!(
        has_ticket_for(&after, &service),
        "klist shows no service ticket:\n{after}"
    );
    let log = realm.kdc_log();
    assert!(
        log.contains("TGS_REQ")
            && log.contains("ISSUE")
            && log.contains("alice@KUP.TEST for nfs/host.kup.test@KUP.TEST"),
        "the KDC did not log issuing the service ticket:\n{log}"
    );
}

#[test]
fn a_service_principal_gets_a_tgt_from_the_keytab_the_harness_wrote() {
    let realm = start();
    let service = realm.add_principal(SERVICE).unwrap();
    let host = realm.add_principal("host/host.kup.test").unwrap();
    let keytab = realm.dir().join("server.keytab");
    realm
        .write_keytab(&[SERVICE, "host/host.kup.test"], &keytab)
        .unwrap();

    let entries = realm.klist_keytab(&keytab).unwrap();
    assert!(entries.contains(&service) && entries.contains(&host), "{entries}");
    assert!(entries.contains("aes256-cts-hmac-sha1-96"), "{entries}");

    let ccache = realm.kinit_keytab(&service, &keytab).unwrap();
    let klist = realm.klist(&ccache).unwrap();
    assert!(
        klist.contains("Default principal: nfs/host.kup.test@KUP.TEST"),
        "{klist}"
    );
    assert!(has_ticket_for(&klist, "krbtgt/KUP.TEST@KUP.TEST"), "{klist}");

    // -norandkey: writing a second keytab must not invalidate the first one.
    realm
        .write_keytab(&[SERVICE], &realm.dir().join("again.keytab"))
        .unwrap();
    realm.kinit_keytab(&service, &keytab).unwrap();
    // And the keytab really holds the service key: a ticket for the service decrypts with it.
    let alice = realm.add_user("alice", "alice-pw1").unwrap();
    let user_cc = realm.kinit_password(&alice, "alice-pw1").unwrap();
    let mut kvno_k = realm.command("/usr/bin/kvno");
    kvno_k
        .arg("-k")
        .arg(&keytab)
        .arg(&service)
        .envs(realm.env_with_ccache(&user_cc));
    let out = run_bounded(&mut kvno_k, None, Duration::from_secs(20)).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kvno -k: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("keytab entry valid"), "{stdout}");
}

#[test]
fn a_wrong_password_is_refused_by_the_kdc() {
    let realm = start();
    let alice = realm.add_user("alice", "alice-pw1").unwrap();
    let err = realm.kinit_password(&alice, "not-the-password").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("Password incorrect"), "{message}");
    let log = realm.kdc_log();
    assert!(
        log.contains("PREAUTH_FAILED: alice@KUP.TEST"),
        "the KDC did not judge the password:\n{log}"
    );
    // The right password still works afterwards (no lockout policy in the throw-away realm).
    realm.kinit_password(&alice, "alice-pw1").unwrap();
}

#[test]
fn an_unknown_principal_and_a_duplicate_principal_are_errors() {
    let realm = start();
    realm.add_principal(SERVICE).unwrap();
    let dup = realm.add_principal(SERVICE).unwrap_err();
    assert!(dup.to_string().contains("already exists"), "{dup}");
    let missing = realm
        .write_keytab(&["nobody/x.kup.test"], &realm.dir().join("x.keytab"))
        .unwrap_err();
    assert!(missing.to_string().contains("does not exist"), "{missing}");
    let ccache = realm
        .kinit_password(&realm.add_user("bob", "bob-pw1").unwrap(), "bob-pw1")
        .unwrap();
    let err = realm.kvno(&ccache, "cifs/nowhere.kup.test").unwrap_err();
    assert!(
        err.to_string().contains("not found in Kerberos database"),
        "{err}"
    );
}

#[test]
fn the_kdc_answers_over_tcp_as_well_as_udp() {
    let realm = start();
    let alice = realm.add_user("alice", "alice-pw1").unwrap();
    let port = realm.port();
    for (env, transport) in [(realm.env(), "UDP"), (realm.env_tcp_only(), "TCP")] {
        let ccache = realm.dir().join(format!("cc-{transport}"));
        let trace = realm.dir().join(format!("trace-{transport}"));
        let mut kinit = realm.command("/usr/bin/kinit");
        kinit
            .arg(&alice)
            .envs(env)
            .env("KRB5CCNAME", &ccache)
            .env("KRB5_TRACE", &trace);
        let out = run_bounded(&mut kinit, Some(b"alice-pw1\n"), Duration::from_secs(20)).unwrap();
        assert!(
            out.status.success(),
            "kinit over {transport}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let trace = fs::read_to_string(&trace).unwrap();
        let kind = if transport == "TCP" { "stream" } else { "dgram" };
        let expected = format!("{transport} request to {kind} 127.0.0.1:{port}");
        let answer = format!("from {kind} 127.0.0.1:{port}");
        assert!(trace.contains(&answer), "no answer {answer:?} in trace:\n{trace}");
        if transport == "TCP" {
            assert!(
                !trace.contains("UDP request"),
                "TCP-only config still used UDP:\n{trace}"
            );
        }
        assert!(trace.contains(&expected), "no {expected:?} in trace:\n{trace}");
        assert!(has_ticket_for(
            &realm.klist(&ccache).unwrap(),
            "krbtgt/KUP.TEST@KUP.TEST"
        ));
    }
}

#[test]
fn the_realm_tools_read_no_kerberos_file_under_etc() {
    let realm = start();
    let alice = realm.add_user("alice", "alice-pw1").unwrap();
    realm.add_principal(SERVICE).unwrap();
    let trace = realm.dir().join("strace.txt");
    let mut strace = realm.command("/usr/bin/strace");
    strace
        .arg("-f")
        .arg("-qq")
        .arg("-e")
        .arg("trace=%file")
        .arg("-o")
        .arg(&trace);
    strace.args([
        "/bin/sh",
        "-c",
        "kinit alice@KUP.TEST && kvno nfs/host.kup.test && klist",
    ]);
    let out = run_bounded(&mut strace, Some(b"alice-pw1\n"), Duration::from_secs(30))
        .expect("strace is needed for this test: apt-get install strace");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&alice));
    let syscalls = fs::read_to_string(&trace).unwrap();
    let config_reads = syscalls
        .lines()
        .filter(|l| l.contains(&*realm.krb5_conf().to_string_lossy()))
        .count();
    assert!(
        config_reads > 0,
        "the realm's krb5.conf was never opened:\n{syscalls}"
    );
    let etc: Vec<&str> = syscalls
        .lines()
        .filter(|l| l.contains("\"/etc/krb5") || l.contains("\"/var/lib/krb5") || l.contains("\"/tmp/krb5cc"))
        .collect();
    assert!(etc.is_empty(), "host Kerberos files touched:\n{}", etc.join("\n"));
}

#[test]
fn two_realms_run_side_by_side_and_drop_stops_the_kdc_and_removes_the_directory() {
    let started = Instant::now();
    let (one, two) = std::thread::scope(|s| {
        let a = s.spawn(|| Realm::start("ONE.KUP.TEST").unwrap());
        let b = s.spawn(|| Realm::start("TWO.KUP.TEST").unwrap());
        (a.join().unwrap(), b.join().unwrap())
    });
    let startup = started.elapsed();
    assert_ne!(one.port(), two.port());
    assert_ne!(one.dir(), two.dir());
    for realm in [&one, &two] {
        let user = realm.add_user("carol", "carol-pw1").unwrap();
        let ccache = realm.kinit_password(&user, "carol-pw1").unwrap();
        let tgt = format!("krbtgt/{0}@{0}", realm.name());
        assert!(has_ticket_for(&realm.klist(&ccache).unwrap(), &tgt));
    }
    // A user of one realm does not exist in the other.
    assert!(two.kinit_password("carol@ONE.KUP.TEST", "carol-pw1").is_err());

    let (dir, port, pid) = (one.dir().to_owned(), one.port(), one.kdc_pid().unwrap());
    drop(one);
    assert!(!dir.exists(), "{} still exists", dir.display());
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "KDC pid {pid} still alive"
    );
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).expect("TCP port freed");
    UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).expect("UDP port freed");
    assert!(
        startup < Duration::from_secs(15),
        "two realms took {startup:?} to start"
    );
    drop(two);
}
