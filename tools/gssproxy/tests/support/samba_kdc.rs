//! A throw-away Samba AD DC that serves only its KDC: the one KDC on this machine that grants
//! constrained delegation (`S4U2Proxy` by `msDS-AllowedToDelegateTo`, `S4U2Self` evidence made
//! forwardable by "trusted to authenticate for delegation"), which MIT's db2 database cannot.
//!
//! `samba-tool domain provision --targetdir` puts the whole domain into a temp dir (about 7 s
//! here); accounts, service names, delegation rights and keytabs are written offline with
//! `samba-tool` on that database; then `samba -i` runs with `server services = kdc` on
//! 127.0.0.1 and a free port (`krb5 port`, `kpasswd port`). Its pid, ncalrpc, lock, state and
//! winbindd-socket directories are all in the temp dir: no fixed path or port is shared with
//! another test (cifs-idmap's DC uses `/run/samba/winbindd` and a lock; this one neither).
//! samba runs under `timeout`, so even a test killed with SIGKILL leaves no daemon behind for
//! more than [`LIFETIME`]; dropping the [`Dc`] stops it (SIGTERM to `timeout`, which passes it
//! on) and removes the directory.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Upper bound on one DC's life (the `timeout` wrapper).
pub(crate) const LIFETIME: Duration = Duration::from_mins(10);
/// Every account's password (never typed by a client in these tests).
pub(crate) const PASSWORD: &str = "Passw0rd!KupImp1";

/// A running DC (KDC only). Dropping it stops the daemon and removes its directory.
pub(crate) struct Dc {
    dir: PathBuf,
    config: PathBuf,
    realm: String,
    port: u16,
    child: Option<Child>,
}

impl Dc {
    /// Provisions the domain `realm` (DNS domain: the realm in lower case; `NetBIOS` name
    /// `domain`) into a fresh directory under `parent`. The KDC is not started yet: add
    /// accounts first, then [`Dc::start_kdc`].
    pub(crate) fn provision(parent: &Path, realm: &str, domain: &str) -> io::Result<Self> {
        let dir = parent.join("dc");
        fs::create_dir_all(&dir)?;
        for sub in ["pid", "ncalrpc", "winbindd"] {
            fs::create_dir_all(dir.join(sub))?;
        }
        let mut dc = Self {
            config: dir.join("db/etc/smb.conf"),
            dir,
            realm: realm.to_owned(),
            port: 0,
            child: None,
        };
        let text = |name: &str| format!("{}/{name}", dc.dir.display());
        run(Command::new("samba-tool").args([
            "domain",
            "provision",
            &format!("--targetdir={}", text("db")),
            &format!("--realm={realm}"),
            &format!("--domain={domain}"),
            "--server-role=dc",
            "--dns-backend=NONE",
            &format!("--adminpass={PASSWORD}"),
            "--host-name=kupdc",
            "--host-ip=127.0.0.1",
            "--option=interfaces=127.0.0.1/8",
            "--option=bind interfaces only=yes",
            &format!("--option=winbindd socket directory={}", text("winbindd")),
            &format!("--option=pid directory={}", text("pid")),
            &format!("--option=ncalrpc dir={}", text("ncalrpc")),
            &format!("--option=log file={}", text("log.%m")),
        ]))?;
        // Provisioning lists every AD service; keep the KDC only, on free ports.
        dc.port = free_port()?;
        let kpasswd = free_port()?;
        let config = fs::read_to_string(&dc.config)?;
        let mut rewritten = String::new();
        for line in config.lines() {
            if line.trim_start().starts_with("server services") {
                rewritten.push_str("\tserver services = kdc\n");
                let _ = writeln!(rewritten, "\tkrb5 port = {}\n\tkpasswd port = {kpasswd}", dc.port);
            } else {
                rewritten.push_str(line);
                rewritten.push('\n');
            }
        }
        fs::write(&dc.config, rewritten)?;
        Ok(dc)
    }

    /// `samba-tool ARGS -s <this DC's smb.conf>` on the domain's database; its stdout.
    pub(crate) fn samba_tool(&self, args: &[&str]) -> io::Result<String> {
        run(Command::new("samba-tool").args(args).arg("-s").arg(&self.config))
    }

    /// Adds a user account `name` with [`PASSWORD`].
    pub(crate) fn add_user(&self, name: &str) -> io::Result<()> {
        self.samba_tool(&["user", "add", name, PASSWORD]).map(drop)
    }

    /// Writes the keys of `principal` (an account name or one of its service names) into the
    /// keytab `path` (appended).
    pub(crate) fn export_keytab(&self, principal: &str, path: &Path) -> io::Result<()> {
        let path = path
            .to_str()
            .ok_or_else(|| io::Error::other("keytab path not UTF-8"))?;
        self.samba_tool(&[
            "domain",
            "exportkeytab",
            path,
            &format!("--principal={principal}"),
        ])
        .map(drop)
    }

    /// Starts the KDC and waits until it accepts TCP connections.
    pub(crate) fn start_kdc(&mut self) -> io::Result<()> {
        let log = fs::File::create(self.dir.join("samba.out"))?;
        let child = Command::new("timeout")
            .arg(LIFETIME.as_secs().to_string())
            .arg("samba")
            .arg("-s")
            .arg(&self.config)
            .arg("-i")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(100));
        }
        Err(io::Error::other(format!(
            "the Samba KDC did not listen within 30 s: {}",
            fs::read_to_string(self.dir.join("samba.out")).unwrap_or_default()
        )))
    }

    /// A client krb5.conf for this realm: its KDC, no DNS, `domain_realm` for its DNS domain,
    /// and forwardable tickets (a service's TGT must be forwardable for the KDC to make its
    /// `S4U2Self` evidence forwardable).
    pub(crate) fn write_krb5_conf(&self, path: &Path) -> io::Result<()> {
        let realm = &self.realm;
        let domain = realm.to_ascii_lowercase();
        fs::write(
            path,
            format!(
                "[libdefaults]\n default_realm = {realm}\n dns_lookup_kdc = false\n \
                 dns_lookup_realm = false\n dns_canonicalize_hostname = false\n rdns = false\n \
                 forwardable = true\n\n[realms]\n {realm} = {{\n  kdc = 127.0.0.1:{port}\n }}\n\n\
                 [domain_realm]\n .{domain} = {realm}\n {domain} = {realm}\n",
                port = self.port
            ),
        )
    }
}

impl Drop for Dc {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SIGTERM to `timeout`, which sends it on to samba (SIGKILL would not).
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
                thread::sleep(Duration::from_millis(50));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A loopback TCP port nothing listens on now.
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Runs `command` (at most two minutes, no input); its stdout, or an error with its output.
fn run(command: &mut Command) -> io::Result<String> {
    let output = kup_testkit::krb5::run_bounded(command, None, Duration::from_mins(2))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
