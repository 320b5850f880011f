//! A kernel consumer of `dns_resolver` keys answered by our `key.dns_resolver`
//! (or Debian's with `KUP_UNDER_TEST=theirs`), in the QEMU guest
//! (Debian's 6.1 kernel, `kup_testkit::guest`): mounting an AFS cell makes kafs look up the
//! cell's volume location servers with `dns_query(afsdb, <cell>, "srv=1")` → request-key → our
//! helper → a Knot DNS server inside the guest serving `_afs3-vlserver._udp.<cell>` SRV. No VL
//! server runs, so the mount fails after the lookup; the test checks that the upcall ran our
//! binary successfully and that kafs took the server address and port from our text payload
//! (`/proc/net/afs/<cell>/vlservers` lists `127.0.0.1:7003`).
//!
//! Why AFS: in 6.1, cifs resolves a UNC host through `dns_resolver` only on reconnect/DFS (a plain
//! `mount -i` fails with "Unable to determine destination address" without an upcall), mount.nfs
//! resolves in userspace, and Debian's libceph is built without its DNS option ("Failed to parse
//! monitor IPs: -22").
//!
//! The guest has no NIC and its own `/etc` overlay, so the guest's `resolv.conf` points at the
//! guest's knotd and nothing reaches the host's resolver.

use std::io;
use std::time::Duration;

use kup_testkit::guest::Guest;
use kup_testkit::reference::{self, Tool, UnderTest};

const SCRIPT: &str = r#"
set -u
. "$KUP_CHECKOUT/tests/guest/lib.sh"
kup_modprobe dns_resolver
ip link set lo up 2>/dev/null || true
ip addr > ip.txt 2>&1 || true
mkdir -p /run/knot-test/db
cat > /run/knot-test/knot.conf <<EOF
server:
    listen: 127.0.0.53@53
    rundir: /run/knot-test
    user: root:root
database:
    storage: /run/knot-test/db
template:
  - id: default
    storage: /run/knot-test
    semantic-checks: off
zone:
  - domain: kup.test
    file: kup.test.zone
EOF
cat > /run/knot-test/kup.test.zone <<EOF
\$ORIGIN kup.test.
\$TTL 300
@ SOA ns admin 1 3600 600 86400 60
@ NS ns
ns A 127.0.0.53
fileserver A 127.0.0.1
_afs3-vlserver._udp 300 SRV 0 0 7003 fileserver
EOF
knotd -c /run/knot-test/knot.conf > knot.log 2>&1 &
printf 'nameserver 127.0.0.53\n' > /etc/resolv.conf
# (getent ahosts uses AI_ADDRCONFIG, which ignores loopback-only hosts; ask getaddrinfo plainly)
resolve='import socket; print(socket.getaddrinfo("fileserver.kup.test", None, socket.AF_INET)[0][4][0])'
for _ in $(seq 50); do
    python3 -c "$resolve" > getent.txt 2>&1 && break
    sleep 0.2
done
printf '%s\n' "${HELPER_CONFIG:-default_ttl = 5}" > helper.conf
h=$(kup_helper helper 20 "$HELPER" -c "$KUP_XCHG/helper.conf")
kup_rules "create dns_resolver * * $h %k"
kup_modprobe kafs
mkdir -p /mnt/afs
timeout 60 mount -t afs -i '#kup.test:root.cell.' /mnt/afs > mount.txt 2>&1
echo "mount status $?" >> mount.txt
cat /proc/net/afs/kup.test/vlservers > vlservers.txt 2>&1 || true
dmesg | grep -i -E 'afs|dns' > dmesg.txt || true
exit 0
"#;

fn run_guest(config: &str) -> io::Result<(String, String)> {
    // KUP_UNDER_TEST=theirs runs Debian's binary (the guest sees the host's /sbin).
    let helper = reference::tool_path(Tool::KeyDnsResolver)?;
    let run = || {
        Guest::new()?
            .with_env("HELPER", helper.display().to_string())
            .with_env("HELPER_CONFIG", config)
            .run_script(SCRIPT, Duration::from_mins(4))
    };
    // The guest's kafs (Debian 6.1.192) sometimes oopses in rxrpc_kernel_recv_data while it
    // probes the VL server the answer names (nothing listens there), and the guest then hangs
    // until the run's timeout. That is a kernel race, not the helper's doing: it shows up for
    // either helper and only under load. Run once more when the console shows that oops.
    let outcome = match run() {
        Err(error) if error.to_string().contains("rxrpc_kernel_recv_data") => {
            // The test harness shows this line with the test's output when the retry fails too.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("guest kernel oopsed in rxrpc (kafs race), one more run: {error}");
            }
            run()?
        }
        other => other?,
    };
    outcome.assert_success();
    let getent = outcome.file_string("getent.txt")?;
    let knot_log = outcome.file_string("knot.log").unwrap_or_default();
    assert!(
        getent.contains("127.0.0.1"),
        "the guest's knotd answers: {getent}\nknot: {knot_log}\noutput: {}",
        outcome.output
    );
    let upcalls = outcome.file_string("upcalls.log").unwrap_or_default();
    let vlservers = outcome.file_string("vlservers.txt")?;
    let mount = outcome.file_string("mount.txt")?;
    let dmesg = outcome.file_string("dmesg.txt").unwrap_or_default();
    let context = format!("upcalls: {upcalls}\nvlservers: {vlservers}\nmount: {mount}\ndmesg: {dmesg}");
    assert!(
        upcalls.lines().any(|line| line.starts_with("helper rc=0")),
        "{context}"
    );
    assert!(vlservers.contains("127.0.0.1:7003"), "{context}");
    assert!(
        !mount.contains("mount status 0"),
        "no VL server runs, the mount must fail: {context}"
    );
    Ok((vlservers, context))
}

#[test]
fn an_afs_mount_takes_its_vl_servers_from_our_key_dns_resolver() -> io::Result<()> {
    let (vlservers, context) = run_guest("default_ttl = 5")?;
    // The text form carries no record source: kafs shows it as unavailable.
    assert!(vlservers.contains("source unav"), "{context}");
    Ok(())
}

#[test]
fn an_afs_mount_reads_the_optional_binary_server_list() -> io::Result<()> {
    let (vlservers, context) = run_guest("afs_server_list_v1 = 1")?;
    match reference::under_test()? {
        // The reference warns about the unknown option and answers in text.
        UnderTest::Theirs => assert!(vlservers.contains("source unav"), "{context}"),
        // The v1 list names its source (SRV) and the server.
        UnderTest::Ours => {
            assert!(vlservers.contains("source SRV, status good"), "{context}");
            assert!(vlservers.contains("fileserver.kup.test"), "{context}");
        }
    }
    Ok(())
}
