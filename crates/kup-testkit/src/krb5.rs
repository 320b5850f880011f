//! A throw-away MIT Kerberos realm for tests.
//!
//! [`Realm::start`] creates a private directory, a database (`kdb5_util`), a `kdc.conf` and a
//! `krb5.conf`, and runs Debian's `krb5kdc` in the foreground on a free loopback port (UDP and
//! TCP on the same number). Everything the MIT tools need is reached through environment
//! variables ([`Realm::env`]): nothing under `/etc` is read or written, so the host's own
//! `/etc/krb5.conf` (present or not) never matters.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! use kup_testkit::krb5::Realm;
//! let realm = Realm::start("KUP.TEST")?;
//! let service = realm.add_principal("nfs/host.kup.test")?;   // "nfs/host.kup.test@KUP.TEST"
//! let alice = realm.add_user("alice", "alicepw")?;
//! let keytab = realm.dir().join("nfs.keytab");
//! realm.write_keytab(&[service.as_str()], &keytab)?;
//! let ccache = realm.kinit_password(&alice, "alicepw")?;      // a fresh FILE: ccache
//! realm.kvno(&ccache, &service)?;                             // a service ticket, from the KDC
//! let mut helper = realm.command("/usr/sbin/cifs.upcall");     // env = exactly the realm's
//! # let _ = helper; Ok(()) }
//! ```
//!
//! Every external command runs with a cleared environment (plus `PATH`, `LC_ALL=C` and the
//! realm's variables) and is bounded by a timeout; a failure is an `io::Error` whose message
//! carries the command's output and the tail of the KDC log. Dropping the [`Realm`] kills and
//! reaps the KDC and removes the directory, unless the thread is panicking or
//! `KUP_KEEP_KRB5=1` is set: then the directory is kept and its path and the KDC log tail are
//! written to stderr. Several realms can run at once (distinct directories and ports).

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long any one MIT tool (`kdb5_util`, `kadmin.local`, `kinit`, ...) may run.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the KDC may take to bind its sockets and report "commencing operation".
pub const KDC_START_TIMEOUT: Duration = Duration::from_secs(20);
/// How many fresh ports [`Realm::start`] tries when another process takes the chosen one first.
const PORT_ATTEMPTS: u32 = 8;
/// The loopback address the KDC listens on.
const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;
/// Master key password of the throw-away database (stashed; never typed by anyone).
const MASTER_PASSWORD: &str = "kup-throwaway-master-key";
/// Line the KDC logs once every listener is bound.
const KDC_READY_LINE: &str = "commencing operation";
/// `PATH` given to every command spawned for the realm.
const CHILD_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// An MIT tool the realm runs, with the Debian package that ships it.
#[derive(Clone, Copy, Debug)]
struct Tool {
    path: &'static str,
    package: &'static str,
}

const KRB5KDC: Tool = Tool {
    path: "/usr/sbin/krb5kdc",
    package: "krb5-kdc",
};
const KDB5_UTIL: Tool = Tool {
    path: "/usr/sbin/kdb5_util",
    package: "krb5-kdc",
};
const KADMIN_LOCAL: Tool = Tool {
    path: "/usr/sbin/kadmin.local",
    package: "krb5-admin-server",
};
const KINIT: Tool = Tool {
    path: "/usr/bin/kinit",
    package: "krb5-user",
};
const KVNO: Tool = Tool {
    path: "/usr/bin/kvno",
    package: "krb5-user",
};
const KLIST: Tool = Tool {
    path: "/usr/bin/klist",
    package: "krb5-user",
};

impl Tool {
    /// The tool's path, or an error naming the package to install.
    fn require(self) -> io::Result<&'static str> {
        if Path::new(self.path).is_file() {
            Ok(self.path)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "{} is missing: install the Debian package {} (apt-get install {}; \
                     .ci/packages.d/krb5.txt lists every package the krb5 harness needs)",
                    self.path, self.package, self.package
                ),
            ))
        }
    }
}

/// Distinguishes realms started by the same process.
static REALM_SEQ: AtomicU32 = AtomicU32::new(0);

/// A running throw-away realm: a `krb5kdc` on `127.0.0.1:<port>` and its private directory.
#[derive(Debug)]
pub struct Realm {
    name: String,
    dir: PathBuf,
    port: u16,
    kdc: Option<Child>,
    ccache_seq: AtomicU32,
}

impl Realm {
    /// Creates the database and starts the KDC for realm `name` (e.g. `"KUP.TEST"`); returns
    /// once the KDC has bound its UDP and TCP sockets and accepts TCP connections.
    ///
    /// The DNS domain mapped to the realm is `name` in lower case (`.kup.test`).
    pub fn start(name: &str) -> io::Result<Self> {
        validate_realm_name(name)?;
        let kdc_path = KRB5KDC.require()?;
        let kdb5_util = KDB5_UTIL.require()?;
        KADMIN_LOCAL.require()?;

        let dir = make_private_dir()?;
        // From here on, `Drop` cleans up whatever start-up leaves behind.
        let mut realm = Realm {
            name: name.to_owned(),
            dir,
            port: 0,
            kdc: None,
            ccache_seq: AtomicU32::new(0),
        };
        fs::DirBuilder::new()
            .mode(0o700)
            .create(realm.dir.join("rcache"))?;
        // kdb5_util needs kdc.conf (database and stash paths); the port is filled in below.
        realm.write_config(0)?;
        let out = realm.run(
            kdb5_util,
            &["create", "-s", "-r", name, "-P", MASTER_PASSWORD],
            None,
            None,
        )?;
        if !out.status.success() || !realm.dir.join("principal").exists() {
            return Err(realm.failure("kdb5_util create", &out));
        }

        let mut last_error = None;
        for _ in 0..PORT_ATTEMPTS {
            let port = free_loopback_port()?;
            realm.write_config(port)?;
            match realm.spawn_kdc(kdc_path, port)? {
                KdcStart::Ready(child) => {
                    realm.port = port;
                    realm.kdc = Some(child);
                    return Ok(realm);
                }
                // Someone took the port between our probe and the KDC's bind: pick another.
                KdcStart::PortTaken(message) => last_error = Some(message),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!(
                "krb5kdc could not bind a loopback port in {PORT_ATTEMPTS} attempts; last KDC log:\n{}",
                last_error.unwrap_or_default()
            ),
        ))
    }

    /// The realm name, e.g. `KUP.TEST`.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The realm's private directory (database, configuration, logs, keytabs, ccaches).
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The loopback port the KDC serves on, over both UDP and TCP.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The KDC's process id.
    #[must_use]
    pub fn kdc_pid(&self) -> Option<u32> {
        self.kdc.as_ref().map(Child::id)
    }

    /// The client configuration (`KRB5_CONFIG`): the realm's KDC, no DNS lookups of any kind.
    #[must_use]
    pub fn krb5_conf(&self) -> PathBuf {
        self.dir.join("krb5.conf")
    }

    /// The same client configuration but with `udp_preference_limit = 1`: clients talk TCP only.
    #[must_use]
    pub fn krb5_conf_tcp_only(&self) -> PathBuf {
        self.dir.join("krb5-tcp.conf")
    }

    /// The KDC configuration (`KRB5_KDC_PROFILE`).
    #[must_use]
    pub fn kdc_conf(&self) -> PathBuf {
        self.dir.join("kdc.conf")
    }

    /// The default service keytab named by `KRB5_KTNAME` in [`Realm::env`] (written by
    /// [`Realm::write_keytab`] only when asked for).
    #[must_use]
    pub fn default_keytab(&self) -> PathBuf {
        self.dir.join("krb5.keytab")
    }

    /// The default ccache named by `KRB5CCNAME` in [`Realm::env`] (empty until someone kinits into it).
    #[must_use]
    pub fn default_ccache(&self) -> PathBuf {
        self.dir.join("ccache")
    }

    /// The KDC's log so far (requests, errors), as text.
    #[must_use]
    pub fn kdc_log(&self) -> String {
        fs::read(self.dir.join("kdc.log"))
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    }

    /// `name` with `@REALM` appended unless it already names a realm.
    #[must_use]
    pub fn principal(&self, name: &str) -> String {
        if name.contains('@') {
            name.to_owned()
        } else {
            format!("{name}@{}", self.name)
        }
    }

    /// The environment that puts a program inside this realm:
    /// `KRB5_CONFIG`, `KRB5_KDC_PROFILE`, `KRB5CCNAME` (= [`Realm::default_ccache`]),
    /// `KRB5_KTNAME` (= [`Realm::default_keytab`]), `KRB5_CLIENT_KTNAME` and `KRB5RCACHEDIR`
    /// (both inside the realm directory, so nothing falls back to `/var/lib/krb5` or `/var/tmp`).
    #[must_use]
    pub fn env(&self) -> Vec<(OsString, OsString)> {
        self.env_for(&self.krb5_conf(), &self.default_ccache())
    }

    /// [`Realm::env`] with `KRB5CCNAME` pointing at `ccache` instead.
    #[must_use]
    pub fn env_with_ccache(&self, ccache: &Path) -> Vec<(OsString, OsString)> {
        self.env_for(&self.krb5_conf(), ccache)
    }

    /// [`Realm::env`] with `KRB5_CONFIG` = [`Realm::krb5_conf_tcp_only`].
    #[must_use]
    pub fn env_tcp_only(&self) -> Vec<(OsString, OsString)> {
        self.env_for(&self.krb5_conf_tcp_only(), &self.default_ccache())
    }

    fn env_for(&self, krb5_conf: &Path, ccache: &Path) -> Vec<(OsString, OsString)> {
        let file = |path: &Path| {
            let mut value = OsString::from("FILE:");
            value.push(path);
            value
        };
        vec![
            ("KRB5_CONFIG".into(), krb5_conf.into()),
            ("KRB5_KDC_PROFILE".into(), self.kdc_conf().into()),
            ("KRB5CCNAME".into(), file(ccache)),
            ("KRB5_KTNAME".into(), file(&self.default_keytab())),
            ("KRB5_CLIENT_KTNAME".into(), file(&self.dir.join("client.keytab"))),
            ("KRB5RCACHEDIR".into(), self.dir.join("rcache").into()),
        ]
    }

    /// A `Command` for `program` with a cleared environment plus `PATH`, `LC_ALL=C` and
    /// [`Realm::env`]. Run it bounded, e.g. with [`run_bounded`].
    #[must_use]
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", CHILD_PATH)
            .env("LC_ALL", "C")
            .envs(self.env())
            .current_dir(&self.dir);
        command
    }

    /// Adds a principal with a random key (a service, e.g. `nfs/host.kup.test`); returns its
    /// full name (`nfs/host.kup.test@KUP.TEST`).
    pub fn add_principal(&self, name: &str) -> io::Result<String> {
        validate_word("principal name", name)?;
        self.add(&format!("addprinc -randkey {name}"), name)
    }

    /// Adds a principal with a password (a user; pre-authentication required, as every
    /// principal of this realm); returns its full name (`alice@KUP.TEST`).
    pub fn add_user(&self, name: &str, password: &str) -> io::Result<String> {
        validate_word("principal name", name)?;
        validate_word("password", password)?;
        self.add(&format!("addprinc -pw {password} {name}"), name)
    }

    /// Sets (`+flag`) or clears (`-flag`) a principal attribute with `modprinc`, e.g.
    /// `+ok_to_auth_as_delegate` (the KDC's `S4U2Self` evidence tickets for that service become
    /// forwardable, so `S4U2Proxy` can use them).
    pub fn set_principal_attribute(&self, name: &str, attribute: &str) -> io::Result<()> {
        validate_word("principal name", name)?;
        let flag = attribute
            .strip_prefix('+')
            .or_else(|| attribute.strip_prefix('-'))
            .unwrap_or_default();
        if flag.is_empty() || !flag.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a principal attribute is +name or -name (lower case and '_')",
            ));
        }
        let full = self.principal(name);
        // kadmin.local -q exits 0 even when the command fails: success is the "modified" line.
        let out = self.kadmin(&format!("modprinc {attribute} {name}"))?;
        if out.status.success() && contains(&out.stdout, &format!("Principal \"{full}\" modified.")) {
            Ok(())
        } else {
            Err(self.failure(&format!("kadmin.local modprinc {attribute} {name}"), &out))
        }
    }

    fn add(&self, query: &str, name: &str) -> io::Result<String> {
        let full = self.principal(name);
        // kadmin.local -q exits 0 even when the command fails: success is the "created" line.
        let out = self.kadmin(query)?;
        if out.status.success() && contains(&out.stdout, &format!("Principal \"{full}\" created.")) {
            Ok(full)
        } else {
            Err(self.failure(&format!("kadmin.local addprinc {name}"), &out))
        }
    }

    /// Writes the current keys of `principals` into the keytab `path` (created or appended to).
    /// Keys are not re-randomised (`-norandkey`), so keytabs written earlier stay valid.
    pub fn write_keytab(&self, principals: &[&str], path: &Path) -> io::Result<()> {
        if principals.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "write_keytab: no principals",
            ));
        }
        let path_text = path
            .to_str()
            .filter(|p| p.starts_with('/') && !p.chars().any(char::is_whitespace));
        let Some(path_text) = path_text else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "write_keytab: keytab path must be absolute, UTF-8, without spaces: {}",
                    path.display()
                ),
            ));
        };
        let mut query = format!("ktadd -k FILE:{path_text} -norandkey");
        for principal in principals {
            validate_word("principal name", principal)?;
            query.push(' ');
            query.push_str(principal);
        }
        // kadmin.local -q exits 0 even when ktadd fails: every principal must have an entry line.
        let out = self.kadmin(&query)?;
        let all_added = principals
            .iter()
            .all(|p| contains(&out.stdout, &format!("Entry for principal {p} with kvno")));
        if out.status.success() && all_added && path.is_file() {
            Ok(())
        } else {
            Err(self.failure(&format!("kadmin.local ktadd {}", principals.join(" ")), &out))
        }
    }

    /// Gets a TGT for `principal` with `password` (typed on kinit's stdin) into a fresh ccache
    /// in the realm directory; returns the ccache's path (use `FILE:<path>` as `KRB5CCNAME`,
    /// or [`Realm::env_with_ccache`]).
    pub fn kinit_password(&self, principal: &str, password: &str) -> io::Result<PathBuf> {
        let kinit = KINIT.require()?;
        let ccache = self.fresh_ccache();
        let mut input = password.as_bytes().to_vec();
        input.push(b'\n');
        let out = self.run(kinit, &[principal], Some(&input), Some(&ccache))?;
        if out.status.success() && ccache.is_file() {
            Ok(ccache)
        } else {
            Err(self.failure(&format!("kinit {principal} (password)"), &out))
        }
    }

    /// Gets a TGT for `principal` from `keytab` (`kinit -k -t`) into a fresh ccache; returns its path.
    pub fn kinit_keytab(&self, principal: &str, keytab: &Path) -> io::Result<PathBuf> {
        let kinit = KINIT.require()?;
        let ccache = self.fresh_ccache();
        let mut keytab_name = OsString::from("FILE:");
        keytab_name.push(keytab);
        let args = [
            OsStr::new("-k"),
            OsStr::new("-t"),
            &keytab_name,
            OsStr::new(principal),
        ];
        let out = self.run(kinit, &args, None, Some(&ccache))?;
        if out.status.success() && ccache.is_file() {
            Ok(ccache)
        } else {
            Err(self.failure(&format!("kinit -k {principal} ({})", keytab.display()), &out))
        }
    }

    /// Gets a service ticket for `service` with the TGT in `ccache` (`kvno`); returns kvno's
    /// output (`<service>: kvno = N`).
    pub fn kvno(&self, ccache: &Path, service: &str) -> io::Result<String> {
        let kvno = KVNO.require()?;
        let out = self.run(kvno, &[service], None, Some(ccache))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(self.failure(&format!("kvno {service}"), &out))
        }
    }

    /// `klist` of `ccache`: the tickets it holds, as text.
    pub fn klist(&self, ccache: &Path) -> io::Result<String> {
        let klist = KLIST.require()?;
        let out = self.run(klist, &[] as &[&str], None, Some(ccache))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(self.failure("klist", &out))
        }
    }

    /// `klist -k -e` of `keytab`: its entries (kvno, principal, enctype), as text.
    pub fn klist_keytab(&self, keytab: &Path) -> io::Result<String> {
        let klist = KLIST.require()?;
        let mut keytab_name = OsString::from("FILE:");
        keytab_name.push(keytab);
        let args = [OsStr::new("-k"), OsStr::new("-e"), &keytab_name];
        let out = self.run(klist, &args, None, None)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(self.failure("klist -k", &out))
        }
    }

    fn fresh_ccache(&self) -> PathBuf {
        let n = self.ccache_seq.fetch_add(1, Ordering::Relaxed);
        self.dir.join(format!("ccache-{n}"))
    }

    fn kadmin(&self, query: &str) -> io::Result<Output> {
        let kadmin = KADMIN_LOCAL.require()?;
        self.run(kadmin, &["-r", &self.name, "-q", query], None, None)
    }

    /// Runs one realm tool, bounded, in the realm's environment (optionally another ccache).
    fn run<S: AsRef<OsStr>>(
        &self,
        program: &str,
        args: &[S],
        input: Option<&[u8]>,
        ccache: Option<&Path>,
    ) -> io::Result<Output> {
        let mut command = self.command(program);
        command.args(args);
        if let Some(ccache) = ccache {
            command.envs(self.env_with_ccache(ccache));
        }
        run_bounded(&mut command, input, COMMAND_TIMEOUT).map_err(|e| self.with_log(&e))
    }

    /// An error for a failed command: its status, output and the KDC log tail.
    fn failure(&self, what: &str, out: &Output) -> io::Error {
        let mut message = format!("{what} failed ({})", describe_status(out.status));
        for (label, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if !bytes.is_empty() {
                let _ = write!(
                    message,
                    "\n--- {label}:\n{}",
                    String::from_utf8_lossy(bytes).trim_end()
                );
            }
        }
        self.with_log(&io::Error::other(message))
    }

    /// Appends the KDC log tail to `error`'s message.
    fn with_log(&self, error: &io::Error) -> io::Error {
        io::Error::new(
            error.kind(),
            format!(
                "{error}\n--- KDC log ({}), last lines:\n{}",
                self.dir.join("kdc.log").display(),
                tail(&self.kdc_log(), 30)
            ),
        )
    }

    /// Writes kdc.conf, krb5.conf and krb5-tcp.conf for `port`.
    fn write_config(&self, port: u16) -> io::Result<()> {
        let dir = self
            .dir
            .to_str()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "temp dir path is not UTF-8"))?;
        let realm = &self.name;
        let domain = realm.to_ascii_lowercase();
        let kdc_conf = format!(
            "[kdcdefaults]\n \
             kdc_listen = {LOOPBACK}:{port}\n \
             kdc_tcp_listen = {LOOPBACK}:{port}\n\
             [realms]\n \
             {realm} = {{\n  \
              database_name = {dir}/principal\n  \
              key_stash_file = {dir}/stash\n  \
              kdc_listen = {LOOPBACK}:{port}\n  \
              kdc_tcp_listen = {LOOPBACK}:{port}\n  \
              default_principal_flags = +preauth\n \
             }}\n\
             [logging]\n \
             kdc = FILE:{dir}/kdc.log\n \
             admin_server = FILE:{dir}/kadmin.log\n \
             default = FILE:{dir}/krb5lib.log\n"
        );
        let client = |extra: &str| {
            format!(
                "[libdefaults]\n \
                 default_realm = {realm}\n \
                 dns_lookup_kdc = false\n \
                 dns_lookup_realm = false\n \
                 dns_uri_lookup = false\n \
                 dns_canonicalize_hostname = false\n \
                 rdns = false\n \
                 qualify_shortname = \"\"\n \
                 default_ccache_name = FILE:{dir}/ccache\n \
                 default_keytab_name = FILE:{dir}/krb5.keytab\n \
                 default_client_keytab_name = FILE:{dir}/client.keytab\n\
                 {extra}\
                 [realms]\n \
                 {realm} = {{\n  \
                  kdc = {LOOPBACK}:{port}\n \
                 }}\n\
                 [domain_realm]\n \
                 .{domain} = {realm}\n \
                 {domain} = {realm}\n"
            )
        };
        fs::write(self.kdc_conf(), kdc_conf)?;
        fs::write(self.krb5_conf(), client(""))?;
        fs::write(self.krb5_conf_tcp_only(), client(" udp_preference_limit = 1\n"))
    }

    /// Starts `krb5kdc -n` on `port` and waits until its log says it is serving.
    fn spawn_kdc(&self, kdc_path: &str, port: u16) -> io::Result<KdcStart> {
        let log_path = self.dir.join("kdc.log");
        let log_start = fs::metadata(&log_path).map_or(0, |m| m.len());
        let stdio_path = self.dir.join("kdc.stdio");
        let stdio = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stdio_path)?;
        let mut child = self
            .command(kdc_path)
            .args(["-n", "-r", &self.name])
            .stdin(Stdio::null())
            .stdout(stdio.try_clone()?)
            .stderr(stdio)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("spawning {kdc_path}: {e}")))?;

        let new_log = || {
            let mut text = String::new();
            if let Ok(mut file) = fs::File::open(&log_path) {
                let mut bytes = Vec::new();
                if io::Seek::seek(&mut file, io::SeekFrom::Start(log_start)).is_ok()
                    && file.read_to_end(&mut bytes).is_ok()
                {
                    text = String::from_utf8_lossy(&bytes).into_owned();
                }
            }
            text
        };
        let deadline = Instant::now() + KDC_START_TIMEOUT;
        let mut pause = Duration::from_millis(1);
        loop {
            if let Some(status) = child.try_wait()? {
                let log = new_log();
                if log.contains("Address already in use") {
                    return Ok(KdcStart::PortTaken(log));
                }
                let stdio = fs::read_to_string(&stdio_path).unwrap_or_default();
                return Err(io::Error::other(format!(
                    "krb5kdc exited during start-up ({}) on port {port}\n--- KDC output:\n{}\n--- KDC log:\n{}",
                    describe_status(status),
                    stdio.trim_end(),
                    tail(&log, 30)
                )));
            }
            if new_log().contains(KDC_READY_LINE)
                && TcpStream::connect_timeout(
                    &SocketAddr::V4(SocketAddrV4::new(LOOPBACK, port)),
                    Duration::from_secs(1),
                )
                .is_ok()
            {
                return Ok(KdcStart::Ready(child));
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "krb5kdc did not report \"{KDC_READY_LINE}\" on port {port} within {KDC_START_TIMEOUT:?}\n--- KDC log:\n{}",
                        tail(&new_log(), 30)
                    ),
                ));
            }
            thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

impl Drop for Realm {
    fn drop(&mut self) {
        if let Some(mut kdc) = self.kdc.take() {
            let _ = kdc.kill();
            let _ = kdc.wait();
        }
        let keep = thread::panicking() || std::env::var_os("KUP_KEEP_KRB5").is_some_and(|v| v == "1");
        if keep {
            let _ = writeln!(
                io::stderr().lock(),
                "kup-testkit krb5: realm {} kept in {} (KDC port {}); KDC log tail:\n{}",
                self.name,
                self.dir.display(),
                self.port,
                tail(&self.kdc_log(), 30)
            );
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Outcome of one KDC start attempt.
enum KdcStart {
    Ready(Child),
    PortTaken(String),
}

/// Runs `command` with `input` on its stdin (or /dev/null) and its stdout and stderr captured,
/// killing it if it is still running after `timeout` (then the error kind is `TimedOut` and
/// the message carries what it printed so far).
pub fn run_bounded(command: &mut Command, input: Option<&[u8]>, timeout: Duration) -> io::Result<Output> {
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("spawning {program}: {e}")))?;
    // Feed stdin and drain stdout/stderr on their own threads so that no pipe can block us.
    let writer = child
        .stdin
        .take()
        .zip(input.map(<[u8]>::to_vec))
        .map(|(mut stdin, data)| {
            thread::spawn(move || {
                let _ = stdin.write_all(&data);
            })
        });
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));

    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let out = stdout.join().unwrap_or_default();
            let err = stderr.join().unwrap_or_default();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{program} still running after {timeout:?}: killed\n--- stdout:\n{}\n--- stderr:\n{}",
                    String::from_utf8_lossy(&out).trim_end(),
                    String::from_utf8_lossy(&err).trim_end()
                ),
            ));
        }
        thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Ok(Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// A port that is free on 127.0.0.1 for both TCP and UDP right now (the kernel picks it).
fn free_loopback_port() -> io::Result<u16> {
    let mut last = None;
    for _ in 0..32 {
        let tcp = TcpListener::bind(SocketAddrV4::new(LOOPBACK, 0))?;
        let port = tcp.local_addr()?.port();
        match UdpSocket::bind(SocketAddrV4::new(LOOPBACK, port)) {
            Ok(_udp) => return Ok(port),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free loopback port")))
}

/// A fresh mode-0700 directory under the temp dir, unique across processes and threads.
fn make_private_dir() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for _ in 0..16 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let seq = REALM_SEQ.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!("kup-krb5-{}-{seq}-{nanos:08x}", std::process::id()));
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                // The umask may have narrowed the mode; make sure it is exactly 0700.
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
                return Ok(dir);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("creating {}: {e}", dir.display()),
                ));
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a unique realm directory",
    ))
}

/// Realm names: upper-case letters, digits, '.', '-' (what our configs can carry unquoted).
fn validate_realm_name(name: &str) -> io::Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("realm name {name:?}: use upper-case letters, digits, '.' and '-'"),
        ))
    }
}

/// Principal names and passwords go through kadmin's `-q` command line: one word each, no
/// quoting characters, not an option.
fn validate_word(what: &str, word: &str) -> io::Result<()> {
    let ok = !word.is_empty()
        && !word.starts_with('-')
        && word
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\' | b'#'));
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{what} must be printable ASCII without spaces, quotes, '\\' or '#', not starting with '-'"
            ),
        ))
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn describe_status(status: ExitStatus) -> String {
    status.to_string()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realm_names_with_lower_case_or_spaces_are_refused() {
        assert!(validate_realm_name("KUP.TEST").is_ok());
        assert!(validate_realm_name("EXAMPLE-2.ORG").is_ok());
        for bad in ["", "kup.test", "KUP TEST", ".KUP", "KUP\n", "KÜP"] {
            assert!(validate_realm_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn words_that_would_change_a_kadmin_query_are_refused() {
        assert!(validate_word("p", "nfs/host.kup.test@KUP.TEST").is_ok());
        for bad in ["", "a b", "-randkey", "a\"b", "a'b", "a\\b", "a#b", "a\tb", "é"] {
            assert!(validate_word("p", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_free_port_is_bindable_on_tcp_and_udp() {
        let port = free_loopback_port().unwrap();
        assert_ne!(port, 0);
        let _tcp = TcpListener::bind(SocketAddrV4::new(LOOPBACK, port)).unwrap();
        let _udp = UdpSocket::bind(SocketAddrV4::new(LOOPBACK, port)).unwrap();
    }

    #[test]
    fn a_command_that_outlives_its_timeout_is_killed_and_reported() {
        let started = Instant::now();
        let err = run_bounded(
            Command::new("/bin/sleep").arg("30"),
            None,
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_bounded_command_gets_its_stdin_and_returns_its_output() {
        let out = run_bounded(
            Command::new("/bin/cat").arg("-"),
            Some(b"pw\n"),
            Duration::from_secs(5),
        )
        .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, b"pw\n");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }
}
