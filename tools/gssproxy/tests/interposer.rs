//! Interposer clients (`GSS_USE_PROXY=yes`, Debian's `proxymech.so`) through the daemon, with
//! programs no one here wrote: MIT's `gss-server` and `gss-client` (krb5-gss-samples) and a
//! throw-away KDC (`kup_testkit::krb5`), as spec gssproxy-protocol.md §5 observed them.
//!
//! The acceptor: `gss-server -once` runs with `GSSPROXY_BEHAVIOR=REMOTE_ONLY`, the daemon's
//! socket, and a keytab of its own that does not exist, so it can accept only through the
//! daemon (`ACQUIRE_CRED` for `gsstest@localhost`, `ACCEPT_SEC_CONTEXT` with the encrypted handle,
//! `IMPORT_AND_CANON_NAME` for the local name); a plain `gss-client` with alice's ticket
//! authenticates to it and sends a message. The same test runs against Debian's gssproxy 0.9.1
//! (compliance), and once against no daemon at all, which must fail (the test can fail).

mod support;

use std::ffi::OsString;
use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kup_testkit::krb5::{Realm, run_bounded};
use kup_testkit::reference::{self, Tool};
use support::*;

const REALM: &str = "KUP.TEST";
const SERVICE: &str = "gsstest/localhost";
const USER: &str = "alice";
const PASSWORD: &str = "kup-gssproxy-pw-2";
const MESSAGE: &str = "kup interposer test message";
const PROGRAM_TIMEOUT: Duration = Duration::from_secs(30);

const CONFIG: &str = "[gssproxy]\n\n[service/test]\n  mechs = krb5\n  socket = @DIR@/gssproxy.sock\n  \
                      cred_store = keytab:@DIR@/service.keytab\n  \
                      cred_store = ccache:FILE:@DIR@/clients/krb5cc_%U\n  \
                      cred_store = client_keytab:@DIR@/clients/%U.keytab\n  euid = 0\n  trusted = yes\n";

struct Fixture {
    realm: Realm,
    dir: TempDir,
}

impl Fixture {
    fn start() -> Self {
        let realm = Realm::start(REALM).expect("starting the realm");
        realm.add_principal(SERVICE).expect("service principal");
        realm.add_user(USER, PASSWORD).expect("user principal");
        let dir = TempDir::new("interposer");
        fs::create_dir_all(dir.0.join("clients")).expect("clients dir");
        realm
            .write_keytab(&[&realm.principal(SERVICE)], &dir.0.join("service.keytab"))
            .expect("service keytab");
        Self { realm, dir }
    }

    fn daemon(&self, program: &Path) -> Daemon {
        Daemon::launch(program, &self.dir.0, CONFIG, &self.realm.env(), &[])
    }

    /// The environment of an interposer client talking to `socket` only, with no keytab of
    /// its own.
    fn proxied_env(&self, socket: &Path) -> Vec<(OsString, OsString)> {
        let mut env = self.realm.env();
        env.retain(|(key, _)| key != "KRB5_KTNAME");
        let mut none = OsString::from("FILE:");
        none.push(self.dir.0.join("no-such.keytab"));
        env.push(("KRB5_KTNAME".into(), none));
        env.push(("GSS_USE_PROXY".into(), "yes".into()));
        env.push(("GSSPROXY_BEHAVIOR".into(), "REMOTE_ONLY".into()));
        env.push(("GSSPROXY_SOCKET".into(), socket.into()));
        env
    }

    /// `gss-server -once` through the daemon at `socket`, then `gss-client` as alice; returns
    /// whether both succeeded, and both outputs.
    fn authenticate(&self, socket: &Path) -> (bool, String, String) {
        let ccache = self
            .realm
            .kinit_password(&self.realm.principal(USER), PASSWORD)
            .expect("kinit alice");
        self.exchange(self.proxied_env(socket), &self.realm.env_with_ccache(&ccache))
    }

    /// A plain `gss-server -once` with the service keytab, then `gss-client` through the daemon
    /// at `socket` with no ticket of its own: alice's TGT is only in the daemon's store
    /// (`clients/krb5cc_0`, the service's `ccache` for uid 0).
    fn initiate(&self, socket: &Path) -> (bool, String, String) {
        let ccache = self
            .realm
            .kinit_password(&self.realm.principal(USER), PASSWORD)
            .expect("kinit alice");
        fs::copy(&ccache, self.dir.0.join("clients/krb5cc_0")).expect("the daemon's ccache");
        fs::remove_file(&ccache).expect("the client's ccache removed");
        let mut server_env = self.realm.env();
        server_env.retain(|(key, _)| key != "KRB5_KTNAME");
        let mut keytab = OsString::from("FILE:");
        keytab.push(self.dir.0.join("service.keytab"));
        server_env.push(("KRB5_KTNAME".into(), keytab));
        let mut client_env = self.proxied_env(socket);
        client_env.retain(|(key, _)| key != "KRB5CCNAME");
        let mut none = OsString::from("FILE:");
        none.push(self.dir.0.join("no-such.ccache"));
        client_env.push(("KRB5CCNAME".into(), none));
        self.exchange(server_env, &client_env)
    }

    /// `gss-server -once` with `server_env`, then `gss-client` as alice with `client_env`.
    fn exchange(
        &self,
        server_env: Vec<(OsString, OsString)>,
        client_env: &[(OsString, OsString)],
    ) -> (bool, String, String) {
        let port = free_port();
        let server_out = self.dir.0.join("gss-server.out");
        let mut server = Command::new("gss-server")
            .args(["-once", "-port", &port.to_string(), "gsstest@localhost"])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .envs(server_env)
            .current_dir(&self.dir.0)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&server_out).expect("server output"))
            .stderr(Stdio::from(
                fs::File::options()
                    .append(true)
                    .open(&server_out)
                    .expect("server output"),
            ))
            .spawn()
            .expect("gss-server started (package krb5-gss-samples)");
        let deadline = Instant::now() + PROGRAM_TIMEOUT;
        let (ok, client) = loop {
            let mut client = Command::new("gss-client");
            client
                .args([
                    "-port",
                    &port.to_string(),
                    "localhost",
                    "gsstest@localhost",
                    MESSAGE,
                ])
                .env_clear()
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .envs(client_env.iter().cloned())
                .current_dir(&self.dir.0);
            let out = run_bounded(&mut client, None, PROGRAM_TIMEOUT).expect("gss-client ran");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            // The server may not listen yet: connecting is retried, nothing else.
            let server_gone = matches!(server.try_wait(), Ok(Some(_)));
            if out.status.success() || !text.contains("connect") || server_gone || Instant::now() > deadline {
                break (out.status.success(), text);
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let server_status = wait_bounded(&mut server, Duration::from_secs(10));
        let server_text = fs::read_to_string(&server_out).unwrap_or_default();
        (ok && server_status == Some(true), client, server_text)
    }
}

/// A TCP port nothing listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Whether `child` exited successfully within `timeout` (`None`: killed).
fn wait_bounded(child: &mut Child, timeout: Duration) -> Option<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status.success());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What gss-server says once it accepted alice and unwrapped the message.
fn assert_accepted(server: &str, client: &str) {
    for expected in [
        format!("Accepted connection: \"{USER}@{REALM}\""),
        format!("Received message: \"{MESSAGE}\""),
    ] {
        assert!(
            server.contains(&expected),
            "{expected} missing; gss-server:\n{server}"
        );
    }
    assert!(client.contains("Signature verified"), "gss-client:\n{client}");
}

fn initiator_through(program: &Path) {
    let fixture = Fixture::start();
    let daemon = fixture.daemon(program);
    let (ok, client, server) = fixture.initiate(&daemon.socket);
    assert!(
        ok,
        "{}: gss-client:\n{client}\ngss-server:\n{server}\ndaemon:\n{}",
        program.display(),
        daemon.stderr_text()
    );
    assert_accepted(&server, &client);
}

#[test]
fn gss_client_initiates_through_our_daemon_with_only_the_daemons_ticket() {
    initiator_through(&ours());
}

#[test]
fn gss_client_initiates_through_debians_gssproxy_the_same_way() {
    let theirs = reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)");
    initiator_through(&theirs);
}

#[test]
fn without_a_daemon_gss_client_cannot_initiate() {
    let fixture = Fixture::start();
    let (ok, _client, _server) = fixture.initiate(&fixture.dir.0.join("nobody.sock"));
    assert!(!ok, "gss-client initiated with no daemon and no ticket");
}

fn acceptor_through(program: &Path) {
    let fixture = Fixture::start();
    let daemon = fixture.daemon(program);
    let (ok, client, server) = fixture.authenticate(&daemon.socket);
    assert!(
        ok,
        "{}: gss-client:\n{client}\ngss-server:\n{server}\ndaemon:\n{}",
        program.display(),
        daemon.stderr_text()
    );
    // What gss-server says once the interposer has accepted, mapped the local name and
    // unwrapped the message with the context the daemon exported. (It prints the local name
    // without its length, so a stray byte may follow `alice`, with either daemon.)
    for expected in [
        "localname: alice".to_owned(),
        format!("Accepted connection: \"{USER}@{REALM}\""),
        format!("Received message: \"{MESSAGE}\""),
    ] {
        assert!(
            server.contains(&expected),
            "{expected} missing; gss-server:\n{server}"
        );
    }
    assert!(client.contains("Signature verified"), "gss-client:\n{client}");
}

#[test]
fn gss_server_accepts_through_our_daemon_without_a_keytab_of_its_own() {
    acceptor_through(&ours());
}

#[test]
fn gss_server_accepts_through_debians_gssproxy_the_same_way() {
    let theirs = reference::theirs(Tool::Gssproxy).expect("Debian's gssproxy 0.9.1 (package gssproxy)");
    acceptor_through(&theirs);
}

#[test]
fn without_a_daemon_gss_server_cannot_accept() {
    let fixture = Fixture::start();
    let (ok, _client, _server) = fixture.authenticate(&fixture.dir.0.join("nobody.sock"));
    assert!(!ok, "gss-server accepted with no daemon and no keytab");
}
