//! A throw-away sssd (NSS responder only) reading the test AD DC over LDAP, and the switch of the
//! cifs-utils plugin alternative to sssd's `cifs_idmap_sss.so` for the duration of a test.
//!
//! Like winbind, sssd's client library (`libsss_nss_idmap`, inside the plugin inside a helper the
//! kernel starts) finds the daemon only at its compiled-in socket, `/var/lib/sss/pipes/nss`, so
//! the daemon must run with the default state directories. We refuse to start when a live sssd
//! answers there, and on drop stop ours and delete every file it created under `/var/lib/sss`.
//! The configuration is a private file (`sssd -c`): `id_provider = ldap`, `ldap_schema = ad`,
//! `ldap_id_mapping = true` (ids computed from the SIDs, as in an AD deployment without RFC 2307).
//!
//! Debian's sssd-common ships `/usr/lib/<triplet>/cifs-utils/cifs_idmap_sss.so` but does **not**
//! register it as an `idmap-plugin` alternative: an admin runs `update-alternatives --install`. The
//! [`SssPlugin`] guard does exactly that and puts the alternative back as it found it.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const NSS_PIPE: &str = "/var/lib/sss/pipes/nss";
const STATE_DIRS: [&str; 4] = [
    "/var/lib/sss/db",
    "/var/lib/sss/mc",
    "/var/lib/sss/pipes",
    "/var/lib/sss/pipes/private",
];
/// Where Debian's sssd-common installs the cifs idmap plugin.
pub(crate) const SSS_PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/cifs-utils/cifs_idmap_sss.so";
const ALTERNATIVE: &str = "idmap-plugin";
const LINK: &str = "/etc/cifs-utils/idmap-plugin";

/// A running sssd. Dropping it stops the daemon and removes its state files.
pub(crate) struct Sssd {
    dir: PathBuf,
    child: Option<Child>,
    before: BTreeSet<PathBuf>,
}

impl Sssd {
    /// Starts sssd against the DC's LDAP server (`bind_password` is the administrator's).
    pub(crate) fn start(bind_password: &str) -> io::Result<Self> {
        for program in ["/usr/sbin/sssd", SSS_PLUGIN] {
            if !Path::new(program).exists() {
                return Err(io::Error::other(format!(
                    "{program} is missing: apt-get install sssd-common sssd-ldap"
                )));
            }
        }
        if UnixStream::connect(NSS_PIPE).is_ok() {
            return Err(io::Error::other(format!(
                "an sssd already answers on {NSS_PIPE}; stop it before running these tests"
            )));
        }
        let before = state_files();
        let dir = std::env::temp_dir().join(format!("kup-cifs-idmap-sssd.{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let config = dir.join("sssd.conf");
        fs::write(
            &config,
            format!(
                "[sssd]\nservices = nss\ndomains = kuptest\n\n[nss]\n\n[domain/kuptest]\n\
                 id_provider = ldap\nauth_provider = none\nldap_uri = ldap://127.0.0.1\n\
                 ldap_schema = ad\nldap_id_mapping = true\nldap_search_base = DC=kuptest,DC=test\n\
                 ldap_default_bind_dn = CN=Administrator,CN=Users,DC=kuptest,DC=test\n\
                 ldap_default_authtok = {bind_password}\nldap_referrals = false\nenumerate = false\n"
            ),
        )?;
        fs::set_permissions(&config, fs::Permissions::from_mode(0o600))?;
        let log = File::create(dir.join("sssd.out"))?;
        let child = Command::new("timeout")
            .args([
                "--kill-after=5",
                "900",
                "sssd",
                "-i",
                "--logger=stderr",
                "-d",
                "2",
                "-c",
            ])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut sssd = Self {
            dir,
            child: Some(child),
            before,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if UnixStream::connect(NSS_PIPE).is_ok() {
                return Ok(sssd);
            }
            if Instant::now() > deadline {
                sssd.stop();
                return Err(io::Error::other("sssd's NSS responder did not start within 30 s"));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// sssd's own answer for a SID (`python3-libsss-nss-idmap`, the same client library the plugin
    /// uses): the id, or `None` when sssd does not map it.
    pub(crate) fn id_of(&self, sid: &str) -> io::Result<Option<u32>> {
        let _ = self;
        let output = Command::new("/usr/bin/python3")
            .args([
                "-c",
                "import sys, pysss_nss_idmap as p\n\
                 r = p.getidbysid(sys.argv[1]).get(sys.argv[1])\n\
                 print(r[p.ID_KEY] if r else '')",
                sid,
            ])
            .output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "pysss_nss_idmap (apt-get install python3-libsss-nss-idmap): {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        Ok(text.trim().parse().ok())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if matches!(child.try_wait(), Ok(Some(_))) {
                    break;
                }
                thread::sleep(Duration::from_millis(50));
            }
            if !matches!(child.try_wait(), Ok(Some(_))) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for Sssd {
    fn drop(&mut self) {
        self.stop();
        for path in state_files() {
            if !self.before.contains(&path) {
                let _ = fs::remove_file(&path);
            }
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn state_files() -> BTreeSet<PathBuf> {
    STATE_DIRS
        .iter()
        .filter_map(|dir| fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten().map(|entry| entry.path()))
        .filter(|path| !path.is_dir())
        .collect()
}

/// While alive, `/etc/cifs-utils/idmap-plugin` resolves to sssd's plugin (through the Debian
/// alternatives system); dropping it restores the previous registration and mode.
pub(crate) struct SssPlugin {
    was_registered: bool,
    previous_value: PathBuf,
    was_auto: bool,
}

impl SssPlugin {
    pub(crate) fn select() -> io::Result<Self> {
        let query = alternatives(&["--query", ALTERNATIVE])?;
        let was_registered = query
            .lines()
            .any(|line| line.trim() == format!("Alternative: {SSS_PLUGIN}"));
        let was_auto = query.lines().any(|line| line.trim() == "Status: auto");
        let previous_value = fs::canonicalize(LINK)?;
        let guard = Self {
            was_registered,
            previous_value,
            was_auto,
        };
        if !was_registered {
            alternatives(&["--install", LINK, ALTERNATIVE, SSS_PLUGIN, "10"])?;
        }
        alternatives(&["--set", ALTERNATIVE, SSS_PLUGIN])?;
        if fs::canonicalize(LINK)? != Path::new(SSS_PLUGIN) {
            return Err(io::Error::other("could not point the idmap plugin at sssd's"));
        }
        Ok(guard)
    }
}

impl Drop for SssPlugin {
    fn drop(&mut self) {
        if !self.was_registered {
            let _ = alternatives(&["--remove", ALTERNATIVE, SSS_PLUGIN]);
        }
        if self.was_auto {
            let _ = alternatives(&["--auto", ALTERNATIVE]);
        } else if let Some(value) = self.previous_value.to_str() {
            let _ = alternatives(&["--set", ALTERNATIVE, value]);
        }
    }
}

fn alternatives(args: &[&str]) -> io::Result<String> {
    let output = Command::new("update-alternatives")
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(io::Error::other(format!(
            "update-alternatives {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        )))
    }
}
