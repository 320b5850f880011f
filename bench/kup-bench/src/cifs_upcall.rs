//! The cifs.upcall suite: a `cifs.spnego` description (on a `user` key, which neither helper
//! checks the type of) for a user whose ccache already holds the `cifs/localhost` service ticket,
//! so each upcall is the steady state of an SMB mount: no KDC exchange, only the helper's own work
//! (parse, switch to the user, find the ccache through the requester's environment, build the
//! AP-REQ and the SPNEGO blob, instantiate).
//!
//! The set-up is the one of `tools/cifs-upcall/tests/kerberos.rs`: a throw-away MIT KDC
//! (`kup_testkit::krb5`), the user `nobody`, alice's FILE ccache owned by that user in a
//! directory anyone may traverse, a requester process (`sleep`, running as the user) whose
//! environment carries `KRB5CCNAME`, and `-k <krb5.conf>` on every helper's command line.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use kup_testkit::krb5::Realm;
use kup_testkit::reference::{self, Tool};

use crate::{Role, Subject, Suite};

/// The generated section of the benchmarks page for this suite.
pub(crate) const SECTION: &str = "cifs.upcall";

const REALM: &str = "KUP.TEST";
/// The user the helpers become: `nobody`.
const USER: u32 = 65_534;
const PASSWORD: &str = "alice-pw-bench";

/// Everything the suite's upcalls need, alive until dropped.
pub(crate) struct Fixture {
    _realm: Realm,
    dir: PathBuf,
    requester: Child,
    krb5_conf: PathBuf,
    description: String,
}

impl Fixture {
    /// Runs `command` (program first) while the fixture is up, with `KUP_BENCH_DESCRIPTION` (the
    /// suite's description) and `KUP_BENCH_KRB5_CONF` (the file for `-k`) in its environment:
    /// how `bench/profile` counts one cifs.upcall upcall. Returns its exit code.
    pub(crate) fn run(&self, command: &[OsString]) -> io::Result<i32> {
        let [program, args @ ..] = command else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "--with-fixture needs a command",
            ));
        };
        let status = Command::new(program)
            .args(args)
            .env("KUP_BENCH_DESCRIPTION", &self.description)
            .env("KUP_BENCH_KRB5_CONF", &self.krb5_conf)
            .status()?;
        Ok(status.code().unwrap_or(1))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.requester.kill();
        let _ = self.requester.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Starts the realm, caches the service ticket and spawns the requester; the suite of floor,
/// Debian's `cifs.upcall` and ours (when built) on one description, then `extra` builds
/// (label, program), which get the same arguments.
pub(crate) fn suite(floor: &Path, extra: &[(String, OsString)]) -> io::Result<(Fixture, Suite)> {
    let realm = Realm::start(REALM)?;
    realm.add_principal("cifs/localhost")?;
    realm.add_user("alice", PASSWORD)?;
    let dir = std::env::temp_dir().join(format!("kup-bench-cifs-upcall-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::DirBuilder::new().mode(0o711).create(&dir)?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o711))?;
    let krb5_conf = dir.join("krb5.conf");
    fs::write(
        &krb5_conf,
        format!(
            "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n \
             dns_lookup_realm = false\n dns_canonicalize_hostname = false\n rdns = false\n \
             default_ccache_name = FILE:{dir}/default_cc_%{{uid}}\n\
             [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n",
            dir = dir.display(),
            port = realm.port()
        ),
    )?;
    fs::set_permissions(&krb5_conf, fs::Permissions::from_mode(0o644))?;
    // alice's TGT and the service ticket, cached once: every measured upcall finds the ticket.
    let fresh = realm.kinit_password(&format!("alice@{REALM}"), PASSWORD)?;
    realm.kvno(&fresh, &format!("cifs/localhost@{REALM}"))?;
    let ccache = dir.join("alice_cc");
    fs::copy(&fresh, &ccache)?;
    std::os::unix::fs::chown(&ccache, Some(USER), Some(USER))?;
    fs::set_permissions(&ccache, fs::Permissions::from_mode(0o600))?;
    let requester = Command::new("/bin/sleep")
        .arg("3600")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("KRB5CCNAME", format!("FILE:{}", ccache.display()))
        .uid(USER)
        .gid(USER)
        .stdin(Stdio::null())
        .spawn()?;
    let description = format!(
        "ver=0x2;host=localhost;ip4=127.0.0.1;sec=krb5;uid=0x0;creduid={USER:#x};user=alice;pid={:#x}",
        requester.id()
    );
    let fixture = Fixture {
        _realm: realm,
        dir,
        requester,
        krb5_conf: krb5_conf.clone(),
        description: description.clone(),
    };
    let helper = |program: OsString| {
        vec![
            program,
            "-k".into(),
            krb5_conf.clone().into_os_string(),
            "%k".into(),
        ]
    };
    let mut subjects = vec![
        Subject {
            label: "floor (constant payload)".to_owned(),
            argv: vec![floor.as_os_str().to_owned(), "%k".into()],
            role: Role::Floor,
        },
        Subject {
            label: "Debian cifs.upcall 7.0".to_owned(),
            argv: helper(reference::theirs(Tool::CifsUpcall)?.into_os_string()),
            role: Role::Reference,
        },
    ];
    if let Ok(ours) = reference::ours(Tool::CifsUpcall) {
        subjects.push(Subject {
            label: "kup cifs.upcall".to_owned(),
            argv: helper(ours.into_os_string()),
            role: Role::Ours,
        });
    }
    for (label, program) in extra {
        subjects.push(Subject {
            label: label.clone(),
            argv: helper(program.clone()),
            role: Role::Ours,
        });
    }
    let suite = Suite {
        title:
            "cifs.upcall: `sec=krb5` for `cifs/localhost`, service ticket already in the user's FILE ccache"
                .to_owned(),
        key_type: "user".to_owned(),
        description: description.into_bytes(),
        subjects,
        any_outcome: false,
    };
    Ok((fixture, suite))
}
