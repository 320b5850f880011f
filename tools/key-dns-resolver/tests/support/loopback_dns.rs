//! A real DNS server (Knot DNS, Debian package `knot`) on a loopback address, port 53, serving a
//! zone written by the test, with `/etc/resolv.conf` pointed at it for as long as it runs.
//!
//! request-key helpers run in the initial mount namespace and `resolv.conf` cannot name a port,
//! so the system file itself must change. Safety net: a watchdog process (own session, so
//! Ctrl-C on the test does not reach it) takes an exclusive `flock` on [`LOCK_PATH`] (tests of
//! other tools that swap `resolv.conf` must take the same lock), saves the file, starts knotd,
//! writes `nameserver <address>`, and restores the saved bytes in place and stops knotd as soon as
//! the test asks it to **or the test process is gone** (killed by any signal, even SIGKILL). The
//! lock is held until the file is restored.

use std::fs;
use std::io::{self, BufRead, BufReader, Write as _};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use kup_dns::client::Resolver;
use kup_dns::message::RecordType;
use kup_dns::resolv_conf::ResolvConf;

/// Serialises every test that rewrites `/etc/resolv.conf`.
pub(crate) const LOCK_PATH: &str = "/run/kup-test-resolv.conf.lock";

const WATCHDOG: &str = r#"
set -u
parent=$1 dir=$2 address=$3
cat /etc/resolv.conf > "$dir/resolv.conf.saved" || exit 1
knotd -c "$dir/knot.conf" > "$dir/knot.log" 2>&1 &
knot=$!
printf 'nameserver %s\n' "$address" > /etc/resolv.conf
echo ready
alive() {
    # A killed test stays a zombie until reaped: count that as gone.
    state=$(sed 's/.*) //' "/proc/$parent/stat" 2>/dev/null | cut -c1)
    [ -n "$state" ] && [ "$state" != Z ]
}
while alive && [ ! -e "$dir/stop" ]; do sleep 0.1; done
cat "$dir/resolv.conf.saved" > /etc/resolv.conf
kill "$knot" 2>/dev/null
wait "$knot" 2>/dev/null
echo restored
"#;

/// The running server; [`LoopbackDns::stop`] (or dropping it) restores everything.
pub(crate) struct LoopbackDns {
    dir: PathBuf,
    address: IpAddr,
    watchdog: Child,
    output: BufReader<ChildStdout>,
    stopped: bool,
}

impl LoopbackDns {
    /// Serves `zone_text` as `zone` on `address`:53 and points `/etc/resolv.conf` at it.
    pub(crate) fn start(address: IpAddr, zone: &str, zone_text: &str) -> io::Result<Self> {
        let which = Command::new("sh").args(["-c", "command -v knotd"]).output()?;
        if !which.status.success() {
            return Err(io::Error::other(
                "knotd is missing: apt-get install knot (listed in .ci/packages.d/dns.txt)",
            ));
        }
        let dir = std::env::temp_dir().join(format!("kup-dns-test.{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("db"))?;
        fs::write(dir.join(format!("{zone}.zone")), zone_text)?;
        fs::write(
            dir.join("knot.conf"),
            format!(
                "server:\n    listen: {address}@53\n    rundir: {dir}\n    user: root:root\n\
                 log:\n  - target: stderr\n    any: warning\n\
                 database:\n    storage: {dir}/db\n\
                 template:\n  - id: default\n    storage: {dir}\n    zonefile-load: whole\n    journal-content: none\n    semantic-checks: off\n\
                 zone:\n  - domain: {zone}\n    file: {zone}.zone\n",
                dir = dir.display()
            ),
        )?;
        let mut watchdog = Command::new("setsid")
            .args(["flock", "-x", LOCK_PATH, "sh", "-c", WATCHDOG, "sh"])
            .arg(std::process::id().to_string())
            .arg(&dir)
            .arg(address.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = watchdog
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("watchdog stdout"))?;
        let mut server = Self {
            dir,
            address,
            watchdog,
            output: BufReader::new(stdout),
            stopped: false,
        };
        let mut line = String::new();
        server.output.read_line(&mut line)?;
        if line.trim() != "ready" {
            return Err(io::Error::other(format!(
                "the resolv.conf watchdog did not start: {line:?}"
            )));
        }
        server.wait_until_answering(zone)?;
        Ok(server)
    }

    fn wait_until_answering(&self, zone: &str) -> io::Result<()> {
        let resolver = Resolver::new(ResolvConf {
            nameservers: vec![SocketAddr::new(self.address, 53)],
            timeout: Duration::from_secs(1),
            attempts: 1,
            rotate: false,
            use_tcp: false,
        });
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match resolver.query(zone.as_bytes(), RecordType::SOA) {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() > deadline => {
                    let log = fs::read_to_string(self.dir.join("knot.log")).unwrap_or_default();
                    return Err(io::Error::other(format!(
                        "knotd does not answer on {}: {error}; log: {log}",
                        self.address
                    )));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }

    /// Rewrites `/etc/resolv.conf` (in place) while the server runs, e.g. to point it at another
    /// loopback server; the watchdog still restores the original bytes at the end.
    #[allow(dead_code, clippy::unused_self)] // not every user needs it; &self ties it to a running server
    pub(crate) fn point_resolv_conf(&self, text: &str) -> io::Result<()> {
        fs::write("/etc/resolv.conf", text)
    }

    /// The address knotd listens on.
    #[allow(dead_code)]
    pub(crate) fn address(&self) -> IpAddr {
        self.address
    }

    /// The directory holding the zone and server files (tests may put config files here).
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stops the server and restores `/etc/resolv.conf`; checks that it was restored.
    pub(crate) fn stop(mut self) -> io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> io::Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        fs::File::create(self.dir.join("stop"))?.flush()?;
        let mut line = String::new();
        self.output.read_line(&mut line)?;
        let _ = self.watchdog.wait();
        let _ = fs::remove_dir_all(&self.dir);
        if line.trim() == "restored" {
            Ok(())
        } else {
            Err(io::Error::other(
                "resolv.conf watchdog did not confirm the restore",
            ))
        }
    }
}

impl Drop for LoopbackDns {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
