//! Shared by cifs.upcall's Kerberos tests (`kerberos.rs`, `namespaces.rs`): a throw-away MIT KDC
//! on loopback (`kup_testkit::krb5`) with the files the switched helper reads, real upcalls
//! through request-key (descriptions on `user` keys, which neither implementation checks the type
//! of), the requester (a process of `nobody` whose environment carries `KRB5CCNAME`), the
//! payload decoded as the kernel reads it, and MIT's acceptor (`kup-gss`'s `gss_accept` example,
//! with the `cifs/localhost` keytab) judging the blob and naming the client that authenticated.

#![allow(dead_code, unreachable_pub)]

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

pub const REALM: &str = "KUP.TEST";
/// The user the helper becomes: `nobody`.
pub const USER: u32 = 65_534;
pub const ALICE_PASSWORD: &str = "alice-pw-cifs";
pub const BOB_PASSWORD: &str = "bob-pw-cifs";
/// How long one upcall may take (the helper's own deadline is 30 s).
pub const UPCALL_TIMEOUT: Duration = Duration::from_secs(45);

/// Distinct fixture directories for the tests of this process, which run in parallel.
static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// The realm, and the files the switched helper reads, in a directory anyone may traverse.
pub struct Fixture {
    pub realm: Realm,
    pub dir: PathBuf,
    pub krb5_conf: PathBuf,
    pub service_keytab: PathBuf,
    pub alice_keytab: PathBuf,
}

impl Fixture {
    pub fn start() -> Self {
        let realm = Realm::start(REALM).expect("a realm");
        realm.add_principal("cifs/localhost").expect("the cifs principal");
        realm.add_user("alice", ALICE_PASSWORD).expect("alice");
        realm.add_user("bob", BOB_PASSWORD).expect("bob");
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
                 default_keytab_name = FILE:{dir}/default.keytab\n \
                 kcm_socket = {dir}/kcm/.heim_org.h5l.kcm-socket\n\
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
    pub fn alice_ccache(&self, name: &str) -> PathBuf {
        self.ccache("alice", ALICE_PASSWORD, name)
    }

    /// A FILE ccache with bob's TGT at `<dir>/<name>`, owned by the user.
    pub fn bob_ccache(&self, name: &str) -> PathBuf {
        self.ccache("bob", BOB_PASSWORD, name)
    }

    /// A FILE ccache with `client`'s TGT at `<dir>/<name>`, owned by the user.
    pub fn ccache(&self, client: &str, password: &str, name: &str) -> PathBuf {
        let principal = format!("{client}@{REALM}");
        let fresh = self.realm.kinit_password(&principal, password).expect("kinit");
        let path = self.dir.join(name);
        fs::copy(&fresh, &path).expect("copying the ccache");
        chown_to_user(&path);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod ccache");
        path
    }

    /// The route running `helper -k <krb5.conf> [extra] %k`.
    pub fn route(&self, helper: &Path, extra: &[&str]) -> Route {
        let mut argv: Vec<OsString> = vec![helper.into(), "-k".into(), self.krb5_conf.clone().into()];
        argv.extend(extra.iter().map(OsString::from));
        argv.push("%k".into());
        Route::with_timeout(&argv, UPCALL_TIMEOUT).expect("a route")
    }

    /// MIT's acceptor on `blob`: what it accepted.
    pub fn accept(&self, blob: &[u8]) -> Result<Accepted, String> {
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
        Ok(Accepted {
            key: field("key="),
            mech: field("mech="),
            initiator: field("initiator="),
        })
    }
}

/// What MIT's acceptor said about a blob it took.
#[derive(Debug)]
pub struct Accepted {
    /// Its session key, hex.
    pub key: String,
    /// The mechanism it saw, hex OID.
    pub mech: String,
    /// The client principal that authenticated (`alice@KUP.TEST`).
    pub initiator: String,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

pub fn chown_to_user(path: &Path) {
    std::os::unix::fs::chown(path, Some(USER), Some(USER)).expect("chown to the user");
}

/// A process of the user whose environment holds `KRB5CCNAME=<ccname>` (or none): the requester.
pub struct Requester(pub Child);

impl Requester {
    pub fn spawn(ccname: Option<&str>) -> Self {
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

    pub fn pid(&self) -> u32 {
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
pub struct Payload {
    pub version: u32,
    pub flags: u32,
    pub key: Vec<u8>,
    pub blob: Vec<u8>,
    pub padding: Vec<u8>,
}

pub fn decode(payload: &[u8]) -> Payload {
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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}

/// SPNEGO OID, then `a0 … 30 … a0 0d 30 0b 06 09 <mech>`: the mechanism the blob offers.
pub fn offered_mech(blob: &[u8]) -> Vec<u8> {
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

pub const KRB5_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
pub const MS_KRB5_OID: [u8; 9] = [0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];

pub fn description(sec: &str, host: &str, uid: u32, creduid: u32, user: Option<&str>, pid: u32) -> String {
    let user = user.map(|user| format!(";user={user}")).unwrap_or_default();
    format!(
        "ver=0x2;host={host};ip4=127.0.0.1;sec={sec};uid={uid:#x};creduid={creduid:#x}{user};pid={pid:#x}"
    )
}

pub fn ours() -> PathBuf {
    reference::ours(Tool::CifsUpcall).expect("our cifs.upcall")
}

/// Asks for the key; the payload and the helper's exit status.
pub fn upcall(route: &Route, description: &str) -> (Result<Vec<u8>, i32>, Option<UpcallStatus>) {
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
/// Returns the client principal the acceptor saw.
pub fn assert_accepted(fixture: &Fixture, payload: &[u8], mech: [u8; 9]) -> String {
    let decoded = decode(payload);
    assert_eq!(decoded.version, 2, "{decoded:?}");
    assert_eq!(decoded.flags, 0);
    assert_eq!(decoded.padding, vec![0; 4], "the reference's 4 trailing bytes");
    assert_eq!(decoded.key.len(), 32, "an AES256 session key");
    assert_eq!(offered_mech(&decoded.blob), mech);
    let accepted = fixture
        .accept(&decoded.blob)
        .expect("MIT's acceptor takes the blob");
    assert_eq!(
        accepted.key,
        hex(&decoded.key),
        "the acceptor's session key is the payload's"
    );
    assert_eq!(accepted.mech, hex(&KRB5_OID));
    accepted.initiator
}

/// The negative key in the route's session keyring expires in 50 to 60 s.
pub fn assert_negated_for_60_seconds(route: &Route) {
    let key = keyctl::keyring_members(route.session())
        .unwrap()
        .into_iter()
        .filter_map(|serial| proc_keys::find(serial).unwrap())
        .find(|key| key.flags.negative)
        .expect("the negative key");
    match key.expiry {
        Expiry::In(left) => assert!((50..=60).contains(&left.as_secs()), "{key:?}"),
        other => panic!("{other:?}"),
    }
}
