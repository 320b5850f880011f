# nfs-gssproxy.sh: kernel nfsd's RPCSEC_GSS (sec=krb5) through the gssproxy daemon under test, end
# to end in the kup QEMU guest. Run inside the guest (by tools/gssproxy/tests/guest_nfs_krb5.rs,
# or by hand: `tests/guest/guest.sh run -t 600 tests/guest-gssproxy/nfs-gssproxy.sh`).
#
# Environment:
#   GSSPROXY   the daemon under test (default Debian's /usr/sbin/gssproxy)
#   GP_SIDE    its name in the records: ours | theirs (default theirs)
#   GP_BIG     1 (default): also try a Kerberos token over 64 KiB (scenario 4)
#   GP_MANY_SECS  the bound of the 65,536-group user's first write (default 60)
#   GP_BISECT  group counts, e.g. "4096 32768": before many, a user in each count writes too
#              (user pN, uid 3000 + its index; exploration, default none)
#   GP_DEBUG   a debug_level for the daemon's [gssproxy] section (default none, as Debian ships)
#   GP_MANAGE_GIDS  rpc.mountd's manage-gids: n (default) or y (Debian's default). With y, nfsd
#              replaces the groups of every request, RPCSEC_GSS included, with mountd's answer
#              for the uid, which stops at about 4,678 groups (docs/compat/gssproxy-guest.md)
#
# On the guest's loopback: an MIT KDC (realm KUP.TEST), the daemon with Debian's
# 24-nfs-server.conf (kernel_nfsd = yes) started before nfsd, nfsd exporting /srv/export with
# sec=krb5:krb5i:krb5p, Debian's rpc.gssd on the client side, NFSv4.2 mounts of
# guest.kup.test:/ . The script does not stop at a failed step: every outcome goes to
# /xchg/results.txt as `key=value` lines (the test asserts on them), logs to /xchg/*.log.
# Exit status: 0 unless the setup (KDC, daemon, nfsd) failed.
set -u
. "$KUP_CHECKOUT/tests/guest/lib.sh"
GSSPROXY=${GSSPROXY:-/usr/sbin/gssproxy}
GP_SIDE=${GP_SIDE:-theirs}
GP_BIG=${GP_BIG:-1}
GP_MANAGE_GIDS=${GP_MANAGE_GIDS:-n}
REALM=KUP.TEST
SRV=guest.kup.test
EXP=/srv/export
T0=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }
step() {
    echo "== [$(ms) ms] $*"
    echo "$(ms) $*" >> timings.txt
}
# rec KEY VALUE: one result line.
rec() { echo "$1=$2" >> results.txt; echo "   $1=$2"; }
# as UID GID CMD...: run CMD as UID/GID with no supplementary groups (the client process's own
# groups must not matter: the server takes them from the daemon).
as() {
    local uid=$1 gid=$2
    shift 2
    setpriv --reuid="$uid" --regid="$gid" --clear-groups "$@"
}
# write_as KEY UID TEXT FILE: UID (its own gid, no supplementary groups) writes TEXT to FILE on a
# mount, bounded; records KEY.rc.
write_as() {
    try "$1" setpriv --reuid="$2" --regid="$2" --clear-groups sh -c 'echo "$1" > "$2"' sh "$3" "$4"
}
# try KEY CMD...: run CMD bounded to $TRY_SECS (60) s, record KEY.rc and keep its output in KEY.out.
TRY_SECS=60
try() {
    local key=$1
    shift
    timeout -k 5 "$TRY_SECS" "$@" > "$key.out" 2>&1
    local rc=$?
    rec "$key.rc" "$rc"
    [ "$rc" = 0 ] || sed 's/^/   | /' "$key.out"
    return "$rc"
}
# owner PATH: the owner uid:gid of a file on the server side (the export), or "missing".
owner() { stat -c %u:%g "$1" 2>/dev/null || echo missing; }
gp_pid=
gp_start() {
    KRB5RCACHEDIR=/var/lib/gssproxy/rcache setsid "$GSSPROXY" -i >> gssproxy.log 2>&1 < /dev/null &
    gp_pid=$!
    local i
    for i in $(seq 1 100); do
        [ -S /run/gssproxy.sock ] && [ "$(cat /proc/net/rpc/use-gss-proxy)" = 1 ] && return 0
        kill -0 "$gp_pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
gp_stop() {
    local i
    [ -n "$gp_pid" ] || return 0
    kill -TERM "$gp_pid" 2>/dev/null
    for i in $(seq 1 50); do kill -0 "$gp_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gp_pid" 2>/dev/null
    wait "$gp_pid" 2>/dev/null
    rec "$1.daemon_exit" "$?"
    gp_pid=
}
# flush: drop nfsd's cached RPCSEC_GSS contexts and credentials, so that the next access from
# any client needs a new ACCEPT_SEC_CONTEXT through the daemon.
flush() {
    local c
    for c in auth.rpcsec.context auth.rpcsec.init auth.unix.gid; do
        [ -w /proc/net/rpc/$c/flush ] && date +%s > /proc/net/rpc/$c/flush
    done
}
# kernel_conns: how many connections the kernel holds to the daemon's socket.
kernel_conns() { ss -xH state connected 2>/dev/null | grep -c /run/gssproxy.sock; }
: > results.txt
rec side "$GP_SIDE"
rec daemon "$GSSPROXY"

step "names, krb5.conf, idmapd.conf"
hostname "$SRV"
printf '127.0.0.1 localhost\n127.0.0.2 %s guest\n' "$SRV" > /etc/hosts
ip addr add 127.0.0.2/8 dev lo 2> /dev/null
cat > /etc/krb5.conf <<EOF
[libdefaults]
    default_realm = $REALM
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
[realms]
    $REALM = {
        kdc = 127.0.0.1
        admin_server = 127.0.0.1
    }
[domain_realm]
    .kup.test = $REALM
    kup.test = $REALM
EOF
# Debian has no group "nobody": rpc.idmapd exits at start without the Nobody-Group line.
printf '[General]\nDomain = kup.test\n[Mapping]\nNobody-User = nobody\nNobody-Group = nogroup\n' \
    > /etc/idmapd.conf
# Local users. alice is mapped (alice@KUP.TEST -> alice by the default auth_to_local rule);
# carol holds a ticket for ghost@KUP.TEST, a principal with no local user; many is in 65,536
# groups (primary + 65,535 supplementary: NGROUPS_MAX), mid in 1,000 (primary + kg0..kg998);
# big gets a ticket over 64 KiB.
BISECT=()
i=0
for n in ${GP_BISECT:-}; do BISECT+=("p$n:$((3000 + i))"); i=$((i + 1)); done
for u in alice:2001 bob:2002 carol:2003 many:2004 big:2006 mid:2007 "${BISECT[@]}"; do
    echo "${u%:*}:x:${u#*:}:${u#*:}::/nonexistent:/bin/bash" >> /etc/passwd
    echo "${u%:*}:x:${u#*:}:" >> /etc/group
done
echo "outsiders:x:2999:" >> /etc/group
GROUPS_N=65535
GBASE=100000
step "generate $GROUPS_N groups for many"
awk -v n=$GROUPS_N -v b=$GBASE -v bisect="${GP_BISECT:-}" 'BEGIN {
    k = split(bisect, counts, " ")
    for (i = 0; i < n; i++) {
        extra = ""
        for (j = 1; j <= k; j++) if (i < counts[j] - 1) extra = extra ",p" counts[j]
        printf "kg%d:x:%d:many%s%s\n", i, b + i, (i < 999 ? ",mid" : ""), extra
    } }' >> /etc/group
rec many.id_groups "$(id -G many | wc -w)"
rec mid.id_groups "$(id -G mid | wc -w)"
step "generated"

step "KDC database, principals, keytab"
mkdir -p /etc/krb5kdc /var/lib/krb5kdc
cat > /etc/krb5kdc/kdc.conf <<EOF
[kdcdefaults]
    kdc_ports = 88
    kdc_tcp_ports = 88
[realms]
    $REALM = {
        database_name = /var/lib/krb5kdc/principal
        max_life = 10h
    }
EOF
if ! kdb5_util create -s -r "$REALM" -P masterpw > kdc-setup.log 2>&1; then
    echo "kdb5_util failed"; cat kdc-setup.log; exit 10
fi
for p in "nfs/$SRV" "host/$SRV"; do
    kadmin.local -q "addprinc -randkey $p" >> kdc-setup.log 2>&1
done
for p in alice bob ghost many big mid ${GP_BISECT:+$(printf 'p%s ' $GP_BISECT)}; do
    kadmin.local -q "addprinc -pw pw-$p $p" >> kdc-setup.log 2>&1
done
rm -f /etc/krb5.keytab
kadmin.local -q "ktadd -k /etc/krb5.keytab nfs/$SRV host/$SRV" >> kdc-setup.log 2>&1
[ -s /etc/krb5.keytab ] || { echo "no keytab"; cat kdc-setup.log; exit 10; }

step "modules, rpc_pipefs, nfsd fs"
kup_modprobe nfsd nfsv4 rpcsec_gss_krb5 || exit 11
mkdir -p /run/rpc_pipefs /var/lib/nfs
mountpoint -q /run/rpc_pipefs || mount -t rpc_pipefs sunrpc /run/rpc_pipefs
mountpoint -q /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
rec use_gss_proxy.before "$(cat /proc/net/rpc/use-gss-proxy)"

step "the daemon under test, Debian's 24-nfs-server.conf"
rm -rf /etc/gssproxy && mkdir -p /etc/gssproxy /var/lib/gssproxy/rcache /var/lib/gssproxy/clients
printf '[gssproxy]\n' > /etc/gssproxy/gssproxy.conf
[ -n "${GP_DEBUG:-}" ] && printf '  debug_level = %s\n' "$GP_DEBUG" >> /etc/gssproxy/gssproxy.conf
cat > /etc/gssproxy/24-nfs-server.conf <<'EOF'
[service/nfs-server]
  mechs = krb5
  socket = /run/gssproxy.sock
  cred_store = keytab:/etc/krb5.keytab
  trusted = yes
  kernel_nfsd = yes
  euid = 0
EOF
rm -f /run/gssproxy.sock
s=$(ms)
if gp_start; then
    rec start1.ok 1
else
    rec start1.ok 0
    echo "the daemon did not come up"; cat gssproxy.log; exit 12
fi
rec start1.ms $(( $(ms) - s ))
rec use_gss_proxy.after "$(cat /proc/net/rpc/use-gss-proxy)"
rec socket.mode "$(stat -c %A /run/gssproxy.sock)"

step "nfsd: export sec=krb5:krb5i:krb5p"
mkdir -p "$EXP" && chmod 1777 "$EXP"
echo "$EXP *(rw,sec=krb5:krb5i:krb5p,no_root_squash,fsid=0,no_subtree_check)" > /etc/exports
kup_rules "create id_resolver * * /usr/sbin/nfsidmap -t 600 %k %d"
rpcbind -w || rec setup.rpcbind_failed 1
rpc.idmapd -f -v -p /run/rpc_pipefs > idmapd.log 2>&1 &
# Debian's nfs.conf has manage-gids=y in [mountd]: nfsd then asks mountd (the auth.unix.gid
# cache) for the groups of every request's uid and uses its list instead of the daemon's. Drop
# the file's setting and add ours, so that ours is the only one.
sed -i '/^[[:space:]]*manage-gids[[:space:]]*=/d' /etc/nfs.conf
printf '[mountd]\nmanage-gids=%s\n' "$GP_MANAGE_GIDS" >> /etc/nfs.conf
rec mountd.manage_gids "$(nfsconf --get mountd manage-gids)"
# In the foreground, so its errors (e.g. "auth_unix_gid: error writing reply") land in mountd.log.
rpc.mountd -F -N 2 -N 3 > mountd.log 2>&1 &
mountd_pid=$!
for i in $(seq 1 50); do rpcinfo -p 2>/dev/null | grep -q mountd && break; sleep 0.1; done
kill -0 "$mountd_pid" 2>/dev/null || rec setup.rpc.mountd_failed 1
exportfs -ra || rec setup.exportfs_failed 1
# The shortest grace and lease nfsd accepts: creating files waits for the grace period's end.
echo 10 > /proc/fs/nfsd/nfsv4gracetime
echo 10 > /proc/fs/nfsd/nfsv4leasetime
rpc.nfsd -N 3 4 || { echo "rpc.nfsd failed"; exit 13; }
nfsd_up=$(ms)
rec kernel_conns.before_clients "$(kernel_conns)"

step "KDC, tickets"
krb5kdc || exit 14
ticket() { # UID GID PRINCIPAL
    printf 'pw-%s\n' "$3" |
        as "$1" "$2" env KRB5CCNAME="FILE:/tmp/krb5cc_$1" kinit "$3@$REALM" > /dev/null
}
ticket 2001 2001 alice || exit 14
ticket 2002 2002 bob || exit 14
ticket 2003 2003 ghost || exit 14
ticket 2004 2004 many || exit 14
ticket 2007 2007 mid || exit 14
for u in "${BISECT[@]}"; do ticket "${u#*:}" "${u#*:}" "${u%:*}" || exit 14; done

step "rpc.gssd (client side)"
rpc.gssd -f -p /run/rpc_pipefs -vvv > gssd.log 2>&1 &
gssd_pid=$!
sleep 0.5
mkdir -p /mnt/k5 /mnt/k5i /mnt/k5p /mnt/k5p2 /mnt/k5p3 /mnt/r1 /mnt/r2 /mnt/big
# Creating files needs the grace period over (nfsd started at $nfsd_up ms).
left=$(( 11000 - ($(ms) - nfsd_up) ))
[ "$left" -gt 0 ] && sleep "$(awk -v l="$left" 'BEGIN { print l / 1000 }')"

# --- 1: sec=krb5, krb5i, krb5p -----------------------------------------------------------------
step "s1 mount sec=krb5"
MOPT=vers=4.2,nosharecache,actimeo=0
s=$(ms)
try s1.mount mount -t nfs4 -o "sec=krb5,$MOPT" "$SRV:/" /mnt/k5
rec s1.mount.ms $(( $(ms) - s ))
rec kernel_conns.after_mount "$(kernel_conns)"
grep " /mnt/k5 " /proc/mounts > s1.mounts.txt
try s1.root_write sh -c 'echo root > /mnt/k5/by-root'
rec s1.root_owner "$(owner $EXP/by-root)"
step "s1 alice writes"
write_as s1.alice 2001 alice /mnt/k5/by-alice
rec s1.alice_owner "$(owner $EXP/by-alice)"
write_as s1.bob 2002 bob /mnt/k5/by-bob
rec s1.bob_owner "$(owner $EXP/by-bob)"
step "s1 carol (ghost@, no local user) writes"
write_as s1.ghost 2003 ghost /mnt/k5/by-ghost
rec s1.ghost_owner "$(owner $EXP/by-ghost)"
step "s1 a user without a ticket writes"
write_as s1.noticket 2005 none /mnt/k5/by-noticket
rec s1.noticket_owner "$(owner $EXP/by-noticket)"

for f in krb5i:k5i krb5p:k5p; do
    sec=${f%:*} mnt=/mnt/${f#*:}
    step "s1 mount sec=$sec"
    s=$(ms)
    [ "$sec" = krb5p ] && rpcdebug -m rpc -s auth call > /dev/null 2>&1 && dmesg -c > /dev/null
    try "s1.$sec.mount" mount -t nfs4 -o "sec=$sec,$MOPT" "$SRV:/" "$mnt"
    if [ "$sec" = krb5p ]; then
        rpcdebug -m rpc -c all > /dev/null 2>&1
        dmesg > s1.krb5p.dmesg.txt
        grep -c 'mech=krb5' gssd.log > s1.krb5p.gssd_upcalls_after.txt
        # other shapes of the same mount, for the record
        try s1.krb5p_sharecache.mount mount -t nfs4 -o sec=krb5p,vers=4.2 "$SRV:/" /mnt/k5p2
        try s1.krb5p_v41.mount mount -t nfs4 -o sec=krb5p,vers=4.1,nosharecache "$SRV:/" /mnt/k5p3
        for m in /mnt/k5p2 /mnt/k5p3; do mountpoint -q $m && umount $m; done
    fi
    rec "s1.$sec.mount.ms" $(( $(ms) - s ))
    grep " $mnt " /proc/mounts >> s1.mounts.txt
    write_as "s1.$sec.alice" 2001 "alice-$sec" "$mnt/by-alice-$sec"
    rec "s1.$sec.alice_owner" "$(owner "$EXP/by-alice-$sec")"
    rec "s1.$sec.read" "$(as 2001 2001 timeout 30 cat "$mnt/by-alice-$sec" 2>&1)"
done
for m in /mnt/k5 /mnt/k5i /mnt/k5p; do mountpoint -q $m && umount $m; done
rec s1.daemon_alive "$(kill -0 "$gp_pid" 2>/dev/null && echo 1 || echo 0)"

# --- 2: restart the daemon; the kernel reconnects ------------------------------------------------
step "s2 restart the daemon"
gp_stop s2
flush
rec s2.kernel_conns.down "$(kernel_conns)"
s=$(ms)
if gp_start; then rec s2.start.ok 1; else rec s2.start.ok 0; fi
rec s2.start.ms $(( $(ms) - s ))
rec s2.use_gss_proxy "$(cat /proc/net/rpc/use-gss-proxy)"
flush
step "s2 a new mount after the restart"
s=$(ms)
try s2.mount mount -t nfs4 -o "sec=krb5,$MOPT" "$SRV:/" /mnt/r1
rec s2.mount.ms $(( $(ms) - s ))
write_as s2.alice 2001 alice-after-restart /mnt/r1/by-alice-restart
rec s2.alice_owner "$(owner $EXP/by-alice-restart)"
rec s2.kernel_conns.up "$(kernel_conns)"
mountpoint -q /mnt/r1 && umount /mnt/r1
step "s2 second restart (kill -KILL), another new mount"
kill -KILL "$gp_pid"; wait "$gp_pid" 2> /dev/null; gp_pid=
flush
if gp_start; then rec s2b.start.ok 1; else rec s2b.start.ok 0; fi
flush
try s2b.mount mount -t nfs4 -o "sec=krb5,$MOPT" "$SRV:/" /mnt/r2
write_as s2b.alice 2001 alice-after-kill /mnt/r2/by-alice-kill
rec s2b.alice_owner "$(owner $EXP/by-alice-kill)"
mountpoint -q /mnt/r2 && umount /mnt/r2

# --- 4: a Kerberos token over 64 KiB -------------------------------------------------------------
# MIT has no knob for bulk authorization data, but a ticket carries the client addresses of the
# AS-REQ (kinit -a: the host's plus libdefaults extra_addresses), and a service ticket copies its
# TGT's. 5,000 IPv4 addresses (15 DER bytes each) make the AP-REQ that rpc.gssd sends about
# 75 KiB. 127.0.0.1 is among them: the KDC checks a TGS-REQ's sender against the TGT's list.
if [ "$GP_BIG" = 1 ]; then
    step "s4 a token over 64 KiB"
    awk 'BEGIN { print "[libdefaults]"; printf "    extra_addresses = 127.0.0.1\n";
        for (i = 0; i < 5000; i++) {
            if (i % 100 == 0) printf "\n    extra_addresses = "; else printf ","
            printf "10.%d.%d.%d", int(i / 65536), int(i / 256) % 256, i % 256
        }
        print "" }' > /etc/krb5-big.conf
    try s4.kinit sh -c 'printf "pw-big\n" | setpriv --reuid=2006 --regid=2006 --clear-groups \
        env KRB5_CONFIG=/etc/krb5-big.conf:/etc/krb5.conf KRB5CCNAME=FILE:/tmp/krb5cc_2006 \
        kinit -a big@KUP.TEST'
    try s4.kvno setpriv --reuid=2006 --regid=2006 --clear-groups \
        env KRB5CCNAME=FILE:/tmp/krb5cc_2006 kvno "nfs/$SRV@$REALM"
    rec s4.ccache_bytes "$(stat -c %s /tmp/krb5cc_2006 2>/dev/null || echo 0)"
    flush
    try s4.mount mount -t nfs4 -o "sec=krb5,$MOPT" "$SRV:/" /mnt/big
    s=$(ms)
    write_as s4.big 2006 big /mnt/big/by-big
    rec s4.big.ms $(( $(ms) - s ))
    rec s4.big_owner "$(owner $EXP/by-big)"
    mountpoint -q /mnt/big && umount /mnt/big
    rec s4.daemon_alive "$(kill -0 "$gp_pid" 2>/dev/null && echo 1 || echo 0)"
fi

step "timing: 5 new sec=krb5 mounts, nfsd's contexts flushed before each"
s=$(ms); ok=0
for i in $(seq 1 5); do
    flush
    if timeout -k 5 60 mount -t nfs4 -o "sec=krb5,$MOPT" "$SRV:/" /mnt/k5 > /dev/null 2>&1; then
        ok=$((ok + 1)); umount /mnt/k5
    fi
done
rec timing.mounts_ok "$ok"
rec timing.mounts_ms $(( $(ms) - s ))

# --- 3: users in many groups (last: a slow reply holds up the kernel's one connection) -----------
# Directories writable only through a group: kg900 (mid and many are in it), kg60000 (many only),
# outsiders (nobody here). The client processes have no supplementary groups at all: whatever
# the server allows comes from the creds the daemon returned.
step "s3 mid (1,000 groups)"
mkdir -p "$EXP/g900" "$EXP/g60000" "$EXP/closed"
chown 0:$((GBASE + 900)) "$EXP/g900" && chmod 2770 "$EXP/g900"
chown 0:$((GBASE + 60000)) "$EXP/g60000" && chmod 2770 "$EXP/g60000"
chown 0:2999 "$EXP/closed" && chmod 2770 "$EXP/closed"
flush
try s3.mount mount -t nfs4 -o "sec=krb5,$MOPT" "$SRV:/" /mnt/k5
write_as s3.mid_top 2007 mid /mnt/k5/by-mid
rec s3.mid_top_owner "$(owner $EXP/by-mid)"
write_as s3.mid_g900 2007 mid /mnt/k5/g900/by-mid
rec s3.mid_g900_owner "$(owner $EXP/g900/by-mid)"
write_as s3.mid_g60000 2007 mid /mnt/k5/g60000/by-mid
rec s3.mid_g60000_owner "$(owner $EXP/g60000/by-mid)"
write_as s3.mid_closed 2007 mid /mnt/k5/closed/by-mid
rec s3.mid_closed_owner "$(owner $EXP/closed/by-mid)"
write_as s3.alice_g900 2001 alice /mnt/k5/g900/by-alice
rec s3.alice_g900_owner "$(owner $EXP/g900/by-alice)"
if [ ${#BISECT[@]} -gt 0 ]; then
    TRY_SECS=30
    for u in "${BISECT[@]}"; do
        step "s3 ${u%:*}"
        write_as "s3.${u%:*}" "${u#*:}" x "/mnt/k5/by-${u%:*}"
        rec "s3.${u%:*}_owner" "$(owner "$EXP/by-${u%:*}")"
    done
    TRY_SECS=60
fi
step "s3 many (65,536 groups)"
# Every 5 s while many's first write runs: the daemon's CPU ticks (utime + stime) and state, and
# rpc.gssd's upcalls for uid 2004 and their successful downcalls so far.
( while :; do
    echo "$(ms) gp_cpu=$(awk '{ print $14 + $15 }' /proc/$gp_pid/stat 2>/dev/null)" \
        "gp_state=$(awk '{ print $3 }' /proc/$gp_pid/stat 2>/dev/null)" \
        "gssd_upcalls=$(grep -c 'uid=2004 ' gssd.log) downcalls=$(grep -c 'do_downcall' gssd.log)"
    sleep 5
done ) > s3.many.samples.txt 2>&1 &
sampler=$!
# nfsd's RPC counters ("net": packets udp tcp tcp-connections; "rpc": calls badcalls badfmt
# badauth badclnt) before, and after 30 s: the counters again and the kernel stacks of the nfsd
# threads, rpc.gssd and the writer.
cp /proc/net/rpc/nfsd s3.nfsd-stats.before.txt
( sleep 30
  cp /proc/net/rpc/nfsd s3.nfsd-stats.during.txt
  for p in /proc/[0-9]*; do
      c=$(cat "$p/comm" 2>/dev/null) || continue
      case $c in nfsd|sh|setpriv|rpc.gssd) echo "== ${p#/proc/} $c"; cat "$p/stack" 2>&1 ;; esac
  done > s3.stacks.txt ) &
s=$(ms)
TRY_SECS=${GP_MANY_SECS:-60}
write_as s3.many_top 2004 many /mnt/k5/by-many
TRY_SECS=60
rec s3.many_top.ms $(( $(ms) - s ))
kill $sampler 2> /dev/null
rec s3.many_top_owner "$(owner $EXP/by-many)"
if [ -e $EXP/by-many ]; then
    write_as s3.many_g60000 2004 many /mnt/k5/g60000/by-many
    rec s3.many_g60000_owner "$(owner $EXP/g60000/by-many)"
    write_as s3.many_closed 2004 many /mnt/k5/closed/by-many
    rec s3.many_closed_owner "$(owner $EXP/closed/by-many)"
fi
rec s3.daemon_alive "$(kill -0 "$gp_pid" 2>/dev/null && echo 1 || echo 0)"
rec s3.mountd_gid_write_errors "$(grep -c 'auth_unix_gid: error writing reply' mountd.log)"
mountpoint -q /mnt/k5 && timeout 20 umount -f /mnt/k5

step "done"
kill "$gssd_pid" "$mountd_pid" 2> /dev/null
gp_stop end
rpc.nfsd 0
cp /proc/net/rpc/use-gss-proxy use-gss-proxy.end 2> /dev/null
cat timings.txt
exit 0
