# tests/package/guest-script.sh: runs inside the QEMU test guest (tests/guest/guest.sh run) while
# kup is installed on the host, whose /usr, /etc and /var the guest sees. Usage: guest-script.sh
# PARTS, PARTS a comma list of nfs and cifs (cifs: a cifsacl mount through cifs.idmap and sec=krb5
# mounts through cifs.upcall). No test rule, no wrapper: the request-key rules are
# the ones nfs-common and cifs-utils installed, and the helpers they name are kup's (checked
# against dpkg's md5sums). Every exec in the guest is traced (tracefs sched_process_exec), so the
# script shows that request-key itself ran the installed helpers for the kernel's upcalls.
# Exit status 0 when every check passed; it prints what it saw either way.
set -u
parts=,${1:-nfs},
fail=0
step() { echo; echo "== $*"; }
check() { # description, command...
    local what=$1
    shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

step "installed helpers and stock rules"
# The host's test harness rule only routes user and dns_resolver keys; drop it anyway (guest only).
rm -f /etc/request-key.d/kup-test.conf
grep -h '^create' /etc/request-key.conf /etc/request-key.d/*.conf
kup_md5() { awk -v p="${1#/}" '$2 == p { print $1 }' /var/lib/dpkg/info/kup.md5sums; }
for helper in /usr/sbin/nfsidmap /usr/sbin/cifs.idmap /usr/sbin/cifs.upcall; do
    check "$helper is kup's ($(dpkg-query -S "$helper" | tail -1))" \
        test "$(md5sum < "$helper" | cut -d' ' -f1)" = "$(kup_md5 "$helper")"
done
check "nfs-common's rule runs /usr/sbin/nfsidmap" \
    grep -q '^create[[:space:]]*id_resolver[[:space:]].*/usr/sbin/nfsidmap ' /etc/request-key.d/id_resolver.conf
check "cifs-utils' rule runs /usr/sbin/cifs.idmap" \
    grep -q '^create[[:space:]]*cifs.idmap[[:space:]].*/usr/sbin/cifs.idmap ' /etc/request-key.d/cifs.idmap.conf
check "cifs-utils' rule runs /usr/sbin/cifs.upcall" \
    grep -q '^create[[:space:]]*cifs.spnego[[:space:]].*/usr/sbin/cifs.upcall %k' /etc/request-key.d/cifs.spnego.conf

tracing=/sys/kernel/tracing
mountpoint -q "$tracing" || mount -t tracefs nodev "$tracing"
echo 0 > "$tracing/tracing_on"
echo > "$tracing/trace"
echo 1 > "$tracing/events/sched/sched_process_exec/enable"
echo 1 > "$tracing/tracing_on"

if [[ $parts == *,nfs,* ]]; then
    step "NFSv4 mount with id mapping"
    modprobe nfsd && modprobe nfsv4 || { echo "FAIL: modules"; exit 10; }
    printf '[General]\nDomain = pkg.test\n[Mapping]\nNobody-User = nobody\nNobody-Group = nogroup\n' > /etc/idmapd.conf
    groupadd -g 45202 kuppkg_grp && useradd -u 45201 -g 45202 -M -N -s /bin/false kuppkg_alice || exit 11
    mkdir -p /run/rpc_pipefs
    mountpoint -q /run/rpc_pipefs || mount -t rpc_pipefs sunrpc /run/rpc_pipefs
    mount -t nfsd nfsd /proc/fs/nfsd
    echo N > /sys/module/nfsd/parameters/nfs4_disable_idmapping
    echo N > /sys/module/nfs/parameters/nfs4_disable_idmapping
    rpcbind -w || echo "rpcbind failed"
    rpc.idmapd -p /run/rpc_pipefs || echo "idmapd failed"
    mkdir -p /srv/export
    install -o kuppkg_alice -g kuppkg_grp /dev/null /srv/export/f-alice
    touch /srv/export/f-root /srv/export/f-new
    echo "/srv/export 127.0.0.1(rw,no_root_squash,fsid=0,no_subtree_check,sec=sys)" > /etc/exports
    rpc.mountd -N 2 -N 3 || echo "mountd failed"
    exportfs -ra
    rpc.nfsd -N 3 4 || echo "nfsd failed"
    mkdir -p /mnt/nfs
    mount -t nfs4 -o sec=sys,vers=4.2 127.0.0.1:/ /mnt/nfs || { dmesg | tail -20; exit 12; }
    ls -ln /mnt/nfs
    listing=$(ls -ln /mnt/nfs | awk 'NR > 1 { print $3, $4, $9 }')
    check "ls -ln maps kuppkg_alice@pkg.test to 45201 45202" grep -qx '45201 45202 f-alice' <<<"$listing"
    check "ls -ln maps root@pkg.test to 0 0" grep -qx '0 0 f-root' <<<"$listing"
    chown kuppkg_alice:kuppkg_grp /mnt/nfs/f-new
    check "chown through the mount reaches the server" \
        test "$(stat -c '%u %g' /srv/export/f-new)" = "45201 45202"
    check "the client sees the new owner" test "$(stat -c '%u %g' /mnt/nfs/f-new)" = "45201 45202"
    grep id_resolv /proc/keys
    check "the kernel cached positive id_resolver keys for 10 minutes (-t 600 of the stock rule)" \
        grep -Eq ' (10|9)m .*id_resolv +uid:kuppkg_alice@pkg.test' /proc/keys
    umount /mnt/nfs
    rpc.nfsd 0
fi

if [[ $parts == *,cifs,* ]]; then
    step "cifsacl mount against a Samba AD DC"
    PW='Passw0rd!Kup1'
    hostname dc1
    printf '127.0.0.1 localhost\n127.0.0.1 dc1.kuptest.test dc1\n' > /etc/hosts
    rm -f /etc/samba/smb.conf
    samba-tool domain provision --realm=KUPTEST.TEST --domain=KUPTEST --server-role=dc \
        --dns-backend=NONE --adminpass="$PW" --host-name=dc1 --host-ip=127.0.0.1 --use-rfc2307 \
        --option="interfaces=lo" --option="bind interfaces only=yes" > /tmp/provision.log 2>&1 ||
        { echo "FAIL: provision"; tail -20 /tmp/provision.log; exit 20; }
    mkdir -p /srv/share && chmod 777 /srv/share
    printf '[share]\n\tpath = /srv/share\n\tread only = no\n' >> /etc/samba/smb.conf
    samba-tool group add kupstaff --nis-domain=kuptest --gid-number=70000 > /dev/null || exit 21
    samba-tool user add kupalice "$PW" --nis-domain=kuptest --uid-number=70001 --gid-number=70000 \
        --unix-home=/nonexistent --login-shell=/bin/false > /dev/null || exit 22
    samba -D || exit 23
    for _ in $(seq 1 120); do smbclient -N -L //127.0.0.1 > /dev/null 2>&1 && break; sleep 1; done
    modprobe cifs || exit 24
    update-alternatives --query idmap-plugin | grep -E '^(Status|Value):'
    mkdir -p /mnt/cifs
    opts="username=administrator,password=$PW,domain=KUPTEST,vers=3.1.1,cifsacl,actimeo=0"
    mount -t cifs //127.0.0.1/share /mnt/cifs -o "$opts" || { dmesg | tail -20; exit 25; }
    touch /mnt/cifs/f1
    ls -ln /mnt/cifs/f1
    chown 70001 /mnt/cifs/f1; check "chown 70001 on the cifsacl mount" test $? -eq 0
    chgrp 70000 /mnt/cifs/f1; check "chgrp 70000 on the cifsacl mount" test $? -eq 0
    umount /mnt/cifs
    mount -t cifs //127.0.0.1/share /mnt/cifs -o "$opts" || exit 26
    ls -ln /mnt/cifs/f1
    check "after a remount ls -ln shows 70001 70000" \
        test "$(ls -ln /mnt/cifs/f1 | awk '{ print $3, $4 }')" = "70001 70000"
    umount /mnt/cifs
    grep cifs.idm /proc/keys
    for request in os:S-1- gs:S-1- oi:70001 gi:70000; do
        check "a positive $request key" \
            awk -v r="$request" 'index($0, r) && $2 !~ /N/ { found = 1 } END { exit !found }' /proc/keys
    done

    step "sec=krb5 mounts through cifs-utils' stock cifs.spnego rule"
    # The same DC as tests/guest-krb5/cifs-krb5.sh (its krb5.conf); kuppkg_krb (45311) holds
    # kupalice's ticket in its default ccache, kuppkg_none (45312) has none.
    echo "/usr/sbin/cifs.upcall -v: $(/usr/sbin/cifs.upcall -v)"
    check "/usr/sbin/cifs.upcall -v names kup's version, not cifs-utils' 7.0" \
        test "$(/usr/sbin/cifs.upcall -v)" = "version: $(dpkg-query -W -f '${Version}' kup)"
    cp "$KUP_CHECKOUT/tests/guest-krb5/krb5.conf" /etc/krb5.conf
    useradd -u 45311 -M -N -s /bin/false kuppkg_krb && useradd -u 45312 -M -N -s /bin/false kuppkg_none || exit 27
    busybox syslogd -O /tmp/syslog.txt
    printf '%s\n' "$PW" | setpriv --reuid=45311 --regid=45311 --clear-groups kinit kupalice@KUPTEST.TEST > /dev/null ||
        { echo "FAIL: kinit"; exit 28; }
    krb5=vers=3.1.1,noperm,actimeo=0,sec=krb5
    mkdir -p /mnt/krb5
    timeout 120 mount -t cifs //dc1.kuptest.test/share /mnt/krb5 -o "$krb5,cruid=45311" < /dev/null
    check "sec=krb5,cruid=45311 mount (kupalice's ticket in the user's default ccache)" mountpoint -q /mnt/krb5
    echo "written through kup's cifs.upcall" > /mnt/krb5/f-krb5
    check "the file read back is the server's" cmp -s /mnt/krb5/f-krb5 /srv/share/f-krb5
    check "the server's owner is kupalice (70001)" test "$(stat -c %u /srv/share/f-krb5)" = 70001
    mountpoint -q /mnt/krb5 && umount /mnt/krb5
    out=$(timeout 120 mount -t cifs //dc1.kuptest.test/share /mnt/krb5 -o "$krb5,cruid=45312" 2>&1 < /dev/null)
    echo "$out"
    check "a user without credentials gets mount error(126)" grep -q 'mount error(126)' <<<"$out"
    mountpoint -q /mnt/krb5 && umount /mnt/krb5
    sleep 1
    grep cifs.upcall /tmp/syslog.txt
    # kup's helper logs a credential failure at daemon.err; cifs-utils' 7.0 logs those only at
    # daemon.debug, in other words.
    check "kup's cifs.upcall logged that failure (daemon.err)" \
        grep -q 'daemon.err cifs.upcall: getting a Kerberos ticket: .*krb5cc_45312' /tmp/syslog.txt
fi

step "who the kernel's request-key ran"
echo 0 > "$tracing/tracing_on"
grep -o 'sched_process_exec: filename=[^ ]* pid=[0-9]*' "$tracing/trace" |
    sed 's/sched_process_exec: filename=//; s/ pid=/ /' > /tmp/execs
# request-key execs the rule's program in the process the kernel started for /sbin/request-key.
awk '$1 == "/sbin/request-key" { rk[$2] = 1 }
     rk[$2] && $1 != "/sbin/request-key" { print $1; delete rk[$2] }' /tmp/execs | sort | uniq -c | tee /tmp/helpers
expect_helper() { # path, part
    [[ $parts == *,$2,* ]] || return 0
    check "request-key ran $1 for the kernel" grep -q " $1\$" /tmp/helpers
}
expect_helper /usr/sbin/nfsidmap nfs
expect_helper /usr/sbin/cifs.idmap cifs
expect_helper /usr/sbin/cifs.upcall cifs
check "no other program served an upcall (no .distrib, no wrapper, no dispatcher)" \
    test -z "$(grep -v -e ' /usr/sbin/nfsidmap$' -e ' /usr/sbin/cifs.idmap$' -e ' /usr/sbin/cifs.upcall$' \
        -e ' /sbin/modprobe$' /tmp/helpers)"
exit "$fail"
