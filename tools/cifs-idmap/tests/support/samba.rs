//! A throw-away Samba AD DC whose winbindd answers the cifs idmap plugins.
//!
//! `samba-tool domain provision --targetdir` puts the whole domain (sam.ldb, idmap.ldb, smb.conf)
//! into a temp dir (about 4 s on the host). We then run `samba -i` with `server services =
//! winbindd, rpc` only: no LDAP, KDC or SMB listener, so nothing collides with other tests' KDCs;
//! the RPC server (needed for name lookups) listens on 127.0.0.1 only. Startup takes about 0.3 s.
//!
//! The one global thing: libwbclient (inside the plugin inside a helper the *kernel* starts, with
//! request-key's fixed environment) finds winbindd only at the compiled-in socket directory
//! `/run/samba/winbindd`. So the DC serves there. Before starting we refuse to run if a live
//! winbindd already answers on it; afterwards we remove the socket and every directory we created.
//! A lock file serialises test processes that need it. samba runs under `timeout`, so even a test
//! process killed with SIGKILL leaves no daemon behind for more than [`DC_LIFETIME`].

use std::fs::{self, File};
use std::io;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The socket directory libwbclient uses (compiled into Debian's libwbclient0).
pub(crate) const SOCKET_DIR: &str = "/run/samba/winbindd";
/// Upper bound on one DC's life (the `timeout` wrapper).
pub(crate) const DC_LIFETIME: Duration = Duration::from_mins(15);
/// The domain's short (`NetBIOS`) name.
pub(crate) const DOMAIN: &str = "KUPTEST";
const LOCK_PATH: &str = "/run/lock/kup-cifs-idmap-winbind.lock";
const PASSWORD: &str = "Passw0rd!Kup1";

/// A running DC (winbindd only). Dropping it stops the daemon and cleans up.
pub(crate) struct Dc {
    dir: PathBuf,
    config: PathBuf,
    child: Option<Child>,
    created: Vec<PathBuf>,
    _lock: File,
}

impl Dc {
    /// Provisions a domain into a temp dir and starts winbindd. Fails (never skips) when samba is
    /// missing or another winbindd serves [`SOCKET_DIR`].
    pub(crate) fn start() -> io::Result<Self> {
        for program in ["/usr/bin/samba-tool", "/usr/sbin/samba", "/usr/bin/wbinfo"] {
            if !Path::new(program).exists() {
                return Err(io::Error::other(format!(
                    "{program} is missing: apt-get install samba-ad-dc samba-ad-provision winbind"
                )));
            }
        }
        let lock = File::create(LOCK_PATH)?;
        lock.lock()?;
        if UnixStream::connect(Path::new(SOCKET_DIR).join("pipe")).is_ok() {
            return Err(io::Error::other(format!(
                "a winbindd already serves {SOCKET_DIR}; stop it before running these tests"
            )));
        }
        let dir = std::env::temp_dir().join(format!("kup-cifs-idmap-dc.{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir)?;
        let mut dc = Self {
            config: dir.join("dc/etc/smb.conf"),
            dir,
            child: None,
            created: Vec::new(),
            _lock: lock,
        };
        dc.provision()?;
        dc.prepare_socket_dir()?;
        dc.launch()?;
        Ok(dc)
    }

    fn provision(&self) -> io::Result<()> {
        let target = self.dir.join("dc");
        run(Command::new("samba-tool").args([
            "domain",
            "provision",
            &format!("--targetdir={}", target.display()),
            "--realm=KUPTEST.TEST",
            &format!("--domain={DOMAIN}"),
            "--server-role=dc",
            "--dns-backend=NONE",
            &format!("--adminpass={PASSWORD}"),
            "--host-name=kupdc",
            "--host-ip=127.0.0.1",
            "--use-rfc2307",
            "--option=interfaces=lo",
            "--option=bind interfaces only=yes",
            &format!("--option=winbindd socket directory={SOCKET_DIR}"),
            &format!("--option=log file = {}/log.%m", self.dir.display()),
            &format!("--option=pid directory = {}/pid", self.dir.display()),
            &format!("--option=ncalrpc dir = {}/ncalrpc", self.dir.display()),
        ]))?;
        // Provisioning writes the full AD service list; keep winbindd and the RPC server its name
        // lookups go through (it listens on 127.0.0.1 only: ports 135 and 49152-49154).
        let text = fs::read_to_string(&self.config)?;
        let rewritten: Vec<&str> = text
            .lines()
            .map(|line| {
                if line.trim_start().starts_with("server services") {
                    "\tserver services = winbindd, rpc"
                } else if line.trim_start().starts_with("interfaces") {
                    "\tinterfaces = 127.0.0.1/8"
                } else {
                    line
                }
            })
            .collect();
        fs::write(&self.config, rewritten.join("\n") + "\n")?;
        for sub in ["pid", "ncalrpc"] {
            fs::create_dir_all(self.dir.join(sub))?;
        }
        Ok(())
    }

    fn prepare_socket_dir(&mut self) -> io::Result<()> {
        for path in ["/run/samba", SOCKET_DIR] {
            if !Path::new(path).exists() {
                fs::create_dir(path)?;
                self.created.push(PathBuf::from(path));
            }
        }
        Ok(())
    }

    fn launch(&mut self) -> io::Result<()> {
        let log = File::create(self.dir.join("samba.out"))?;
        let child = Command::new("timeout")
            .arg("--kill-after=5")
            .arg(DC_LIFETIME.as_secs().to_string())
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
            if self.wbinfo(&["-p"]).is_ok() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(100));
        }
        Err(io::Error::other(format!(
            "winbindd did not answer within 30 s; see {}",
            self.dir.join("samba.out").display()
        )))
    }

    /// Runs `wbinfo` with `args` against this DC's winbindd, returning stdout (trimmed) or an
    /// error with its output.
    #[allow(clippy::unused_self)] // a method: it only makes sense while the DC runs
    pub(crate) fn wbinfo(&self, args: &[&str]) -> io::Result<String> {
        run(Command::new("wbinfo").args(args))
    }

    /// Runs `samba-tool` against this domain's database.
    pub(crate) fn samba_tool(&self, args: &[&str]) -> io::Result<String> {
        let mut command = Command::new("samba-tool");
        command.args(args).arg("-s").arg(&self.config);
        run(&mut command)
    }

    /// Creates a user with an RFC 2307 uid number (winbindd then maps its SID to that uid).
    pub(crate) fn add_user(&self, name: &str, uid: u32, gid: u32) -> io::Result<()> {
        self.samba_tool(&[
            "user",
            "add",
            name,
            PASSWORD,
            "--nis-domain=kuptest",
            &format!("--uid-number={uid}"),
            &format!("--gid-number={gid}"),
            "--unix-home=/nonexistent",
            "--login-shell=/bin/false",
        ])
        .map(drop)
    }

    /// Creates a group with an RFC 2307 gid number.
    pub(crate) fn add_group(&self, name: &str, gid: u32) -> io::Result<()> {
        self.samba_tool(&[
            "group",
            "add",
            name,
            "--nis-domain=kuptest",
            &format!("--gid-number={gid}"),
        ])
        .map(drop)
    }

    /// The SID of `DOMAIN\name`.
    pub(crate) fn sid_of(&self, name: &str) -> io::Result<String> {
        let text = self.wbinfo(&["--name-to-sid", &format!("{DOMAIN}\\{name}")])?;
        text.split_whitespace()
            .next()
            .map(str::to_owned)
            .ok_or_else(|| io::Error::other("empty wbinfo answer"))
    }

    /// Restarts the DC with its LDAP server too (127.0.0.1:389/636), accepting simple binds over
    /// plain LDAP (`ldap server require strong auth = no`): what sssd's `ldap` provider needs.
    pub(crate) fn enable_ldap(&mut self) -> io::Result<()> {
        self.stop()?;
        let text = fs::read_to_string(&self.config)?;
        let rewritten: Vec<String> = text
            .lines()
            .map(|line| {
                if line.trim_start().starts_with("server services") {
                    "\tserver services = winbindd, rpc, ldap\n\tldap server require strong auth = no"
                        .to_owned()
                } else {
                    line.to_owned()
                }
            })
            .collect();
        fs::write(&self.config, rewritten.join("\n") + "\n")?;
        self.launch()?;
        // The LDAP listener may come up after winbindd answers.
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect("127.0.0.1:389").is_err() {
            if Instant::now() > deadline {
                return Err(io::Error::other("the DC's LDAP server did not start"));
            }
            thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// The administrator's password (for LDAP binds).
    pub(crate) fn password(&self) -> &'static str {
        let _ = self;
        PASSWORD
    }

    /// Stops winbindd now (for the "winbind stopped" cases); the drop cleans up the rest.
    pub(crate) fn stop(&mut self) -> io::Result<()> {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if child.try_wait()?.is_some() {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            if child.try_wait()?.is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // Wait until the socket no longer answers (children may take a moment to exit).
        let deadline = Instant::now() + Duration::from_secs(10);
        while UnixStream::connect(Path::new(SOCKET_DIR).join("pipe")).is_ok() {
            if Instant::now() > deadline {
                return Err(io::Error::other("winbindd still answers after stop"));
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Dc {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = fs::remove_file(Path::new(SOCKET_DIR).join("pipe"));
        for path in self.created.iter().rev() {
            let _ = fs::remove_dir(path);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn run(command: &mut Command) -> io::Result<String> {
    let output = command.stdin(Stdio::null()).output()?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(io::Error::other(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
