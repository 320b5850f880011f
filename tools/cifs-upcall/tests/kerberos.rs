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

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kup_sys::keyctl;
use kup_sys::proc_keys::{self, Expiry};
use kup_testkit::krb5::{Realm, run_bounded};
use kup_testkit::reference::{self, Tool, workspace_example};
use kup_testkit::upcall::{Route, UpcallStatus};

const REALM: &str = "KUP.TEST";
/// The user the helper becomes: `nobody`.
const USER: u32 = 65_534;
const ALICE_PASSWORD: &str = "alice-pw-cifs";
/// How long one upcall may take (the helper's own deadline is 30 s).
const UPCALL_TIMEOUT: Duration = Duration::from_secs(45);

/// Distinct fixture directories for the tests of this process, which run in parallel.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// The realm, and the files the switched helper reads, in a directory anyone may traverse.
struct Fixture {
    realm: Realm,
    dir: PathBuf,
    krb5_conf: PathBuf,
    service_keytab: PathBuf,
    alice_keytab: PathBuf,
}

impl Fixture {
    fn start() -> Self {
        let realm = Realm::start(REALM).expect("a realm");
        realm.add_principal("cifs/localhost").expect("the cifs principal");
        realm.add_user("alice", ALICE_PASSWORD).expect("alice");
        let dir = std::env::temp_dir().join(format!(
            "kup-cifs-upcall-krb5-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::DirBuilder::new()
            .mode(0o711)
            .create(&dir)
            .expect("the shared directory");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o711)).expect("chmod 711");
        let krb5_conf = dir.join("krb5.conf");
        fs::write(
            &krb5_conf,
            format!(
                "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n \
                 dns_lookup_realm = false\n dns_canonicalize_hostname = false\n rdns = false\n \
                 default_ccache_name = FILE:{dir}/default_cc_%{{uid}}\n \
                 default_keytab_name = FILE:{dir}/default.keytab\n\
                 [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n",
                dir = dir.display(),
                port = realm.port()
            ),
        )
        .expect("krb5.conf");
        fs::set_permissions(&krb5_conf, fs::Permissions::from_mode(0o644)).expect("chmod krb5.conf");
        let service_keytab = realm.dir().join("cifs.keytab");
        realm
            .write_keytab(&[&format!("cifs/localhost@{REALM}")], &service_keytab)
            .expect("the service keytab");
        let alice_keytab = dir.join("alice.keytab");
        realm
            .write_keytab(&[&format!("alice@{REALM}")], &alice_keytab)
            .expect("alice's keytab");
        chown_to_user(&alice_keytab);
        Self {
            realm,
            dir,
            krb5_conf,
            service_keytab,
            alice_keytab,
        }
    }

    /// A FILE ccache with alice's TGT at `<dir>/<name>`, owned by the user.
    fn alice_ccache(&self, name: &str) -> PathBuf {
        let principal = format!("alice@{REALM}");
        let fresh = self
            .realm
            .kinit_password(&principal, ALICE_PASSWORD)
            .expect("kinit alice");
        let path = self.dir.join(name);
        fs::copy(&fresh, &path).expect("copying the ccache");
        chown_to_user(&path);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod ccache");
        path
    }

    /// The route running `helper -k <krb5.conf> [extra] %k`.
    fn route(&self, helper: &Path, extra: &[&str]) -> Route {
        let mut argv: Vec<OsString> = vec![helper.into(), "-k".into(), self.krb5_conf.clone().into()];
        argv.extend(extra.iter().map(OsString::from));
        argv.push("%k".into());
        Route::with_timeout(&argv, UPCALL_TIMEOUT).expect("a route")
    }

    /// MIT's acceptor on `blob`: its session key (hex) and the mechanism it saw (hex OID).
    fn accept(&self, blob: &[u8]) -> Result<(String, String), String> {
        let acceptor = workspace_example("kup-gss", "gss_accept").map_err(|e| e.to_string())?;
        let mut command = Command::new(acceptor);
        command
            .arg(&self.service_keytab)
            .env_clear()
            .env("KRB5_CONFIG", &self.krb5_conf)
            .env("KRB5RCACHETYPE", "none");
        let out =
            run_bounded(&mut command, Some(blob), Duration::from_secs(20)).map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            return Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
        }
        let field = |name: &str| {
            stdout
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::to_owned)
                .unwrap_or_default()
        };
        Ok((field("key="), field("mech=")))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn chown_to_user(path: &Path) {
    std::os::unix::fs::chown(path, Some(USER), Some(USER)).expect("chown to the user");
}

/// A process of the user whose environment holds `KRB5CCNAME=<ccname>` (or none): the requester.
struct Requester(Child);

impl Requester {
    fn spawn(ccname: Option<&str>) -> Self {
        let mut command = Command::new("/bin/sleep");
        command
            .arg("120")
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .uid(USER)
            .gid(USER)
            .stdin(Stdio::null());
        if let Some(ccname) = ccname {
            command.env("KRB5CCNAME", ccname);
        }
        Self(command.spawn().expect("the requester"))
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Requester {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The payload, decoded as the kernel reads it (host byte order).
#[derive(Debug)]
struct Payload {
    version: u32,
    flags: u32,
    key: Vec<u8>,
    blob: Vec<u8>,
    padding: Vec<u8>,
}

fn decode(payload: &[u8]) -> Payload {
    let word = |at: usize| u32::from_le_bytes(payload[at..at + 4].try_into().unwrap());
    let key_len = word(8) as usize;
    let blob_len = word(12) as usize;
    assert!(
        payload.len() >= 16 + key_len + blob_len,
        "lengths beyond the payload: {payload:02x?}"
    );
    Payload {
        version: word(0),
        flags: word(4),
        key: payload[16..16 + key_len].to_vec(),
        blob: payload[16 + key_len..16 + key_len + blob_len].to_vec(),
        padding: payload[16 + key_len + blob_len..].to_vec(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// SPNEGO OID, then `a0 … 30 … a0 0d 30 0b 06 09 <mech>`: the mechanism the blob offers.
fn offered_mech(blob: &[u8]) -> Vec<u8> {
    let spnego = [0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
    let at = blob
        .windows(spnego.len())
        .position(|window| window == spnego)
        .expect("the SPNEGO OID");
    let rest = &blob[at + spnego.len()..];
    let list = rest
        .windows(5)
        .position(|window| window == [0xa0, 0x0d, 0x30, 0x0b, 0x06])
        .expect("a mechTypes list of one OID");
    rest[list + 6..list + 15].to_vec()
}

const KRB5_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
const MS_KRB5_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];

fn description(sec: &str, host: &str, uid: u32, creduid: u32, user: Option<&str>, pid: u32) -> String {
    let user = user.map(|user| format!(";user={user}")).unwrap_or_default();
    format!(
        "ver=0x2;host={host};ip4=127.0.0.1;sec={sec};uid={uid:#x};creduid={creduid:#x}{user};pid={pid:#x}"
    )
}

fn ours() -> PathBuf {
    reference::ours(Tool::CifsUpcall).expect("our cifs.upcall")
}

/// Asks for the key; the payload and the helper's exit status.
fn upcall(route: &Route, description: &str) -> (Result<Vec<u8>, i32>, Option<UpcallStatus>) {
    let result = route
        .request("user", description.as_bytes(), b"")
        .map(|key| keyctl::read(key).expect("reading the payload"))
        .map_err(|error| error.raw_os_error().unwrap_or(0));
    let status = route
        .upcalls()
        .ok()
        .and_then(|upcalls| upcalls.last().map(|upcall| upcall.status.clone()));
    (result, status)
}

/// Checks a successful payload against the acceptor: layout, mechanism offered, key equality.
fn assert_accepted(fixture: &Fixture, payload: &[u8], mech: [u8; 9]) {
    let decoded = decode(payload);
    assert_eq!(decoded.version, 2, "{decoded:?}");
    assert_eq!(decoded.flags, 0);
    assert_eq!(decoded.padding, vec![0; 4], "the reference's 4 trailing bytes");
    assert_eq!(decoded.key.len(), 32, "an AES256 session key");
    assert_eq!(offered_mech(&decoded.blob), mech);
    let (key, accepted_mech) = fixture
        .accept(&decoded.blob)
        .expect("MIT's acceptor takes the blob");
    assert_eq!(
        key,
        hex(&decoded.key),
        "the acceptor's session key is the payload's"
    );
    assert_eq!(accepted_mech, hex(&KRB5_OID));
}

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
        assert_accepted(&fixture, &payload, mech);
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
    let key = keyctl::keyring_members(route.session())
        .unwrap()
        .into_iter()
        .filter_map(|serial| proc_keys::find(serial).unwrap())
        .find(|key| key.flags.negative)
        .expect("the negative key");
    match key.expiry {
        Expiry::In(left) => assert!(left.as_secs() <= 60 && left.as_secs() >= 50, "{key:?}"),
        other => panic!("{other:?}"),
    }
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
