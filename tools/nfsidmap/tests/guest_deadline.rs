//! nfsidmap's total deadline (decisions.md 10), through real `id_resolver` upcalls in the QEMU
//! guest: `Domain` is unset, so a `user:0` lookup asks DNS for the `_nfsv4idmapdomain` TXT
//! record of the host's domain, and the only name server (on the guest's loopback) reads every
//! query and never answers, with the resolver's longest retry options (`timeout:30 attempts:5`:
//! minutes per query). Ours gives up after its 30 s: the key is negated (60 s) and it exits 1.
//! Debian's, run at the same time on `group:0`, is still waiting when its wrapper kills it.
//!
//! In the guest because it changes the host name, `/etc/hosts`, `/etc/resolv.conf` and
//! `/etc/idmapd.conf` (the guest's `/etc` is a throw-away overlay).

use std::time::Duration;

use kup_testkit::guest::Guest;
use kup_testkit::reference::{self, Tool};

const SCRIPT: &str = r#"
set -u
. "$KUP_CHECKOUT/tests/guest/lib.sh"
kup_modprobe nfsv4 || exit 10
printf '[General]\nVerbosity = 0\n[Mapping]\nNobody-User = nobody\nNobody-Group = nogroup\n' > /etc/idmapd.conf
printf 'nameserver 127.0.0.1\noptions timeout:30 attempts:5\n' > /etc/resolv.conf
printf 'hosts: files dns\n' > /etc/nsswitch.conf.kup && cp /etc/nsswitch.conf.kup /etc/nsswitch.conf
hostname h1; printf '127.0.0.1 h1.kup-deadline.test h1\n127.0.0.1 localhost\n' > /etc/hosts
# A name server that reads queries and never answers.
python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("listening", flush=True)
while True:
    s.recv(4096)
' > /xchg/blackhole.log 2>&1 &
for _ in $(seq 50); do grep -q listening /xchg/blackhole.log && break; sleep 0.1; done
ours=$(kup_helper ours 90 "$OURS" -t 600)
theirs=$(kup_helper theirs 45 /usr/sbin/nfsidmap -t 600)
kup_rules "create id_resolver user:* * $ours %k %d" "create id_resolver group:* * $theirs %k %d"

request() { # NAME DESCRIPTION: "<name> seconds=<s> request=<ok|error text> key=<flags>,<expiry>"
    local start end result
    start=$(date +%s)
    if kup_request id_resolver "$2" > /dev/null 2> "/tmp/$1.err"; then result=ok; else result=$(tr ' ' _ < "/tmp/$1.err"); fi
    end=$(date +%s)
    state=$(awk -v d="$2" '$8 == "id_resolv" && ($9 == d || $9 == d ":") {print $2 "," $4}' /proc/keys)
    echo "$1 seconds=$((end - start)) request=$result key=$state" >> /xchg/results.txt
}
request ours user:0 & ours_pid=$!
request theirs group:0 & theirs_pid=$!
wait "$ours_pid" "$theirs_pid"
cat /xchg/results.txt /xchg/upcalls.log
exit 0
"#;

#[test]
fn an_upcall_stuck_on_an_unanswered_dns_query_ends_at_the_deadline() {
    assert_eq!(nfsidmap::DEADLINE.limit, Duration::from_secs(30));
    let ours = reference::ours(Tool::Nfsidmap).unwrap();
    reference::theirs(Tool::Nfsidmap).unwrap();
    let outcome = Guest::new()
        .expect("the QEMU guest harness is available")
        .with_env("OURS", ours.display().to_string())
        .run_script(SCRIPT, Duration::from_mins(4))
        .expect("the guest ran");
    outcome.assert_success();
    // Debian's nfsidmap has no deadline: its wrapper's 45 s timeout ends it (status 124).
    outcome.assert_ended_at_the_deadline("waiting on DNS");
}
