//! The `NFSv4` domain decision without `Domain`, against a real DNS server (dnsmasq) on the
//! guest's loopback: canonical host name → text after the first dot → `_nfsv4idmapdomain` TXT
//! record. Runs in the QEMU guest because it must change the host name, `/etc/hosts` and
//! `/etc/resolv.conf` (the guest's `/etc` is an overlay and it has no network at all, so nothing
//! can reach a real resolver). For ours or Debian's nfsidmap (`KUP_UNDER_TEST=ours|theirs`).

#[path = "support/system.rs"]
mod system;

use std::time::Duration;

use kup_testkit::guest::Guest;
use kup_testkit::reference::{self, Tool};

const TIMEOUT: Duration = Duration::from_mins(5);

const SCRIPT: &str = r#"
set -u
. "$KUP_CHECKOUT/tests/guest/lib.sh"
kup_modprobe nfsv4 || exit 10
printf '[General]\nVerbosity = 0\n[Mapping]\nNobody-User = nobody\nNobody-Group = nogroup\n' > /etc/idmapd.conf
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > /etc/resolv.conf
printf 'hosts: files dns\n' > /etc/nsswitch.conf.kup && cp /etc/nsswitch.conf.kup /etc/nsswitch.conf
dnsmasq --port=53 --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --pid-file=/run/kup-dnsmasq.pid --log-facility=/xchg/dnsmasq.log --log-queries \
    --txt-record=_nfsv4idmapdomain.kup-dns.test,Nfs.Domain.From.Txt \
    --txt-record=_nfsv4idmapdomain.other.test,other-txt.test \
    --txt-record=_nfsv4idmapdomain.fallback.test,fallback-txt.test \
    --address=/ahost.nodata.test/127.0.0.9 || exit 12
h=$(kup_helper nfsidmap 20 "$HELPER" -t 600)
kup_rules "create id_resolver * * $h %k %d"

domain() { # NAME: print "<name> <nfsidmap -d output> <user:0 payload>"
    local k payload
    k=$(kup_request id_resolver "user:0" 2>/dev/null) && payload=$(keyctl pipe "$k") || payload=neg
    keyctl clear @s
    echo "$1 $("$HELPER" -d 2>/dev/null) $payload"
}

# canonical name with a dot, TXT record present
hostname h1; printf '127.0.0.1 h1.kup-dns.test h1\n127.0.0.1 localhost\n' > /etc/hosts
domain txt-present
# canonical name from /etc/hosts differs from the host name
hostname h2; printf '127.0.0.1 h2.other.test h2\n127.0.0.1 localhost\n' > /etc/hosts
domain canonical-name
# canonical name with a dot, no TXT record for its domain
hostname h3; printf '127.0.0.1 h3.notxt.test h3\n127.0.0.1 localhost\n' > /etc/hosts
domain no-txt
# host name unknown to files and DNS: nfs-utils 2.6.2 gives up (localdomain)
hostname h4.fallback.test; printf '127.0.0.1 localhost\n' > /etc/hosts
domain hostname-as-is
# no dot anywhere
hostname h5; printf '127.0.0.1 h5\n127.0.0.1 localhost\n' > /etc/hosts
domain no-dot
# the DNS server is gone: the derived domain, within the resolver's own timeout
kill "$(cat /run/kup-dnsmasq.pid)"; sleep 0.5
hostname h6; printf '127.0.0.1 h6.kup-dns.test h6\n127.0.0.1 localhost\n' > /etc/hosts
start=$(date +%s)
domain server-down
echo "server-down-seconds $(( $(date +%s) - start ))"
exit 0
"#;

#[test]
fn domain_comes_from_the_canonical_host_name_and_the_dns_txt_record() -> std::io::Result<()> {
    system::ensure_accounts()?;
    let helper = reference::tool_path(Tool::Nfsidmap)?;
    let outcome = Guest::new()?
        .with_env("HELPER", helper.display().to_string())
        .run_script(SCRIPT, TIMEOUT)?;
    outcome.assert_success();
    let output = &outcome.output;
    let result = |name: &str| {
        output
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        result("txt-present"),
        "Nfs.Domain.From.Txt root@Nfs.Domain.From.Txt",
        "{outcome}"
    );
    assert_eq!(
        result("canonical-name"),
        "other-txt.test root@other-txt.test",
        "{outcome}"
    );
    assert_eq!(result("no-txt"), "notxt.test root@notxt.test", "{outcome}");
    // nfs-utils 2.6.2 gives up when the host name does not resolve (later versions use its own
    // domain part).
    assert_eq!(
        result("hostname-as-is"),
        "localdomain root@localdomain",
        "{outcome}"
    );
    assert_eq!(result("no-dot"), "localdomain root@localdomain", "{outcome}");
    assert_eq!(
        result("server-down"),
        "kup-dns.test root@kup-dns.test",
        "{outcome}"
    );
    let seconds: u64 = result("server-down-seconds").parse().unwrap_or(u64::MAX);
    assert!(
        seconds <= 10,
        "a dead DNS server costs at most the resolver timeout: {seconds} s"
    );
    Ok(())
}
