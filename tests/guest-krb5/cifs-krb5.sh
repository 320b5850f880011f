# cifs-krb5.sh: sec=krb5 CIFS mounts end to end in the kup QEMU guest, through the cifs.upcall
# under test. Run inside the guest (by tools/cifs-upcall/tests/guest_krb5.rs, or by hand:
# `tests/guest/guest.sh run -t 900 tests/guest-krb5/cifs-krb5.sh`).
#
# Environment:
#   CIFS_UPCALL  the helper routed for cifs.spnego keys (default Debian's /usr/sbin/cifs.upcall)
#   CIFS_SIDE    its name in upcalls.log: ours | theirs (default theirs)
#
# A Samba AD DC (realm KUPTEST.TEST, also the KDC) on the guest's loopback serves [share] from
# /srv/share; domain users kupalice (uidNumber 70001) and kupbob (70002). Local unix users (the
# guest's /etc is throw-away) hold the tickets. The script does not stop at a failed scenario: it
# records every outcome in /xchg (s<N>.* files, upcalls.log, descriptions.log, keys-*.txt,
# syslog.txt, timings.txt) and the test asserts on them. Exit status: 0 unless the DC could not
# be set up.
set -u
. "$KUP_CHECKOUT/tests/guest/lib.sh"
CIFS_UPCALL=${CIFS_UPCALL:-/usr/sbin/cifs.upcall}
CIFS_SIDE=${CIFS_SIDE:-theirs}
PW='Passw0rd!Kup1'
SRV=//dc1.kuptest.test/share
BASE=vers=3.1.1,noperm,actimeo=0
T0=$(date +%s%N)
step() {
    echo "== $*"
    echo "$(( ($(date +%s%N) - T0) / 1000000 )) $*" >> timings.txt
}
# as UID CMD...: run CMD with real and effective uid/gid UID, no supplementary groups.
as() {
    local uid=$1
    shift
    setpriv --reuid="$uid" --regid="$uid" --clear-groups "$@"
}
# ticket UID PRINCIPAL CCACHE: kinit PRINCIPAL into CCACHE as UID (password on stdin).
ticket() {
    printf '%s\n' "$PW" | as "$1" env KRB5CCNAME="$3" kinit "$2@KUPTEST.TEST" > /dev/null
}
# owner NAME: server-side unix owner of /srv/share/NAME and its NT ACL owner SID.
# (No samba-tool for a missing file: it costs seconds under TCG.)
owner() {
    [ -e "/srv/share/$1" ] || { echo "uid=missing"; return; }
    echo "uid=$(stat -c %u "/srv/share/$1")"
    samba-tool ntacl get "/srv/share/$1" --as-sddl 2>/dev/null | sed -n 's/^O:\([^G]*\)G.*/sid=\1/p'
}
keys() { cat /proc/keys > "keys-$1.txt"; }

step provision
hostname dc1
printf '127.0.0.1 localhost\n127.0.0.1 dc1.kuptest.test dc1\n' > /etc/hosts
rm -f /etc/samba/smb.conf
samba-tool domain provision --realm=KUPTEST.TEST --domain=KUPTEST --server-role=dc \
    --dns-backend=NONE --adminpass="$PW" --host-name=dc1 --host-ip=127.0.0.1 --use-rfc2307 \
    --option="interfaces=lo" --option="bind interfaces only=yes" > provision.log 2>&1 \
    || { echo "provision failed"; tail -20 provision.log; exit 10; }
mkdir -p /srv/share && chmod 777 /srv/share
printf '[share]\n\tpath = /srv/share\n\tread only = no\n' >> /etc/samba/smb.conf
samba-tool group add kupstaff --nis-domain=kuptest --gid-number=70000 > /dev/null || exit 11
for u in kupalice:70001 kupbob:70002; do
    samba-tool user add "${u%:*}" "$PW" --nis-domain=kuptest --uid-number="${u#*:}" \
        --gid-number=70000 --unix-home=/nonexistent --login-shell=/bin/false > /dev/null || exit 12
done
cp "$KUP_CHECKOUT/tests/guest-krb5/krb5.conf" /etc/krb5.conf
# Local users: alice/bob (tickets in their default ccaches), carol (none), dave (scenario 5),
# erin (a ticket only in a non-default ccache named by KRB5CCNAME), frank (none, mounts),
# gina and hank (scenario 4, user-namespace containers), ivan and judy (5b/5c, pid namespaces),
# kim and lea (scenario 6: krb5i, seal; tickets in their default ccaches), mia and pat (6: mskrb5,
# krb5p: the kernel refuses these options before any upcall, so they need no ticket),
# nia and olaf (scenario 7: no ccache, the keytab fallback). Each mount of scenarios 6 and 7 has
# its own cruid, so the kernel cannot reuse an earlier session: every one is a new upcall.
for u in alice:2001 bob:2002 carol:2003 dave:2004 erin:2005 frank:2006 gina:2007 hank:2008 \
    ivan:2009 judy:2010 kim:2011 lea:2012 mia:2013 pat:2016 nia:2014 olaf:2015; do
    echo "${u%:*}:x:${u#*:}:${u#*:}::/nonexistent:/bin/bash" >> /etc/passwd
    echo "${u%:*}:x:${u#*:}:" >> /etc/group
done
busybox syslogd -O /xchg/syslog.txt
step start samba
samba -D || exit 13
for i in $(seq 1 120); do smbclient -N -L //127.0.0.1 > /dev/null 2>&1 && break; sleep 1; done
for u in kupalice kupbob; do
    wbinfo --name-to-sid "KUPTEST\\$u" | cut -d' ' -f1 > "$u.sid" || exit 14
done
ticket 2001 kupalice FILE:/tmp/krb5cc_2001 || exit 15
ticket 2002 kupbob FILE:/tmp/krb5cc_2002 || exit 15
ticket 2005 kupbob FILE:/tmp/erin.cc || exit 15
ticket 2007 kupalice FILE:/tmp/krb5cc_2007 || exit 15
ticket 2004 kupalice FILE:/tmp/krb5cc_2004 || exit 15
ticket 0 administrator FILE:/tmp/krb5cc_0 || exit 15
ticket 2011 kupalice FILE:/tmp/krb5cc_2011 || exit 15
ticket 2012 kupbob FILE:/tmp/krb5cc_2012 || exit 15
step routes
kup_modprobe cifs || exit 16
# The rule runs kup-describe, which records the key's description in descriptions.log (the
# authority request-key holds lets it read the key under construction), then becomes the helper.
cat > /usr/local/sbin/kup-describe <<'EOS'
#!/bin/bash
key=${!#}
echo "$key $(keyctl rdescribe "$key" 2>&1)" >> /xchg/descriptions.log
exec "$@"
EOS
chmod 755 /usr/local/sbin/kup-describe
kup_rules "create cifs.spnego * * $(kup_helper "$CIFS_SIDE" 30 /usr/local/sbin/kup-describe "$CIFS_UPCALL") %k"
cat /etc/request-key.d/*.conf > rules.txt
cat /proc/sys/kernel/unprivileged_userns_clone > userns_clone.txt 2>&1
uname -r > kernel.txt
mkdir -p /mnt/s1 /mnt/s1b /mnt/m /mnt/s3
: > upcalls.log
: > descriptions.log

# --- 1: mount with cruid= (the ticket is in that user's default FILE ccache) --------------------
step s1 mount cruid
mount -t cifs "$SRV" /mnt/s1 -o "sec=krb5,cruid=2001,$BASE" > s1.mount.out 2>&1
echo $? > s1.mount.rc
touch /mnt/s1/s1-alice; echo $? > s1.touch.rc
ls -ln /mnt/s1/s1-alice > s1.client.txt 2>&1
owner s1-alice > s1.owner.txt
keys s1
umount /mnt/s1
cp upcalls.log s1.upcalls.txt

# --- 1b: no cruid, the ccache named by the mounting process's KRB5CCNAME ------------------------
# A user mount: real uid erin, effective uid root (mount.cifs's setuid shape without the suid
# bit), an fstab "user" entry, the mount point owned by erin. The kernel sends uid=creduid=2005
# and pid=mount.cifs, whose environ holds KRB5CCNAME=FILE:/tmp/erin.cc (a kupbob ticket); erin
# has no default ccache.
step s1b mount KRB5CCNAME
chown 2005:2005 /mnt/s1b
echo "$SRV /mnt/s1b cifs user,noauto,sec=krb5,$BASE 0 0" >> /etc/fstab
setpriv --ruid=2005 --rgid=2005 --clear-groups env KRB5CCNAME=FILE:/tmp/erin.cc \
    mount.cifs "$SRV" /mnt/s1b > s1b.mount.out 2>&1
echo $? > s1b.mount.rc
touch /mnt/s1b/s1b-erin; echo $? > s1b.touch.rc
owner s1b-erin > s1b.owner.txt
keys s1b
umount /mnt/s1b
cp upcalls.log s1b.upcalls.txt

# --- 2: multiuser: each user's accesses run in a session with their own ticket -----------------
step s2 multiuser mount
mount -t cifs "$SRV" /mnt/m -o "multiuser,sec=krb5,$BASE" > s2.mount.out 2>&1
echo $? > s2.mount.rc
step s2 accesses
as 2001 touch /mnt/m/s2-alice > s2.alice.out 2>&1; echo $? > s2.alice.rc
as 2002 touch /mnt/m/s2-bob > s2.bob.out 2>&1; echo $? > s2.bob.rc
as 2003 touch /mnt/m/s2-carol > s2.carol.out 2>&1; echo $? > s2.carol.rc
ls /mnt/m > s2.after.txt 2>&1; echo $? > s2.after.rc
owner s2-alice > s2.alice.owner.txt
owner s2-bob > s2.bob.owner.txt
owner s2-carol > s2.carol.owner.txt
keys s2
cp upcalls.log s2.upcalls.txt

# --- 3: a user without credentials mounts ------------------------------------------------------
step s3 mount without credentials
s=$(date +%s%N)
timeout 120 mount -t cifs "$SRV" /mnt/s3 -o "sec=krb5,cruid=2006,$BASE" > s3.mount.out 2>&1
echo $? > s3.mount.rc
echo $(( ($(date +%s%N) - s) / 1000000 )) > s3.ms
mountpoint -q /mnt/s3 && umount /mnt/s3
keys s3
cp upcalls.log s3.upcalls.txt

# --- 4: containers with their own user + mount namespaces (the user maps herself to root) -----
# 4a: the container shares the host's /tmp; gina's ticket is in her host default ccache
# /tmp/krb5cc_2007, and nothing is at the container-root's /tmp/krb5cc_0 but the host root's
# (administrator) ccache. Whatever happens, no file may be written as administrator.
step s4a user-namespace container, shared /tmp
as 2007 unshare -Urm sh -c 'cat /proc/self/uid_map; touch /mnt/m/s4a-gina' > s4a.out 2>&1
echo $? > s4a.rc
owner s4a-gina > s4a.owner.txt
ls /mnt/m > s4a.after.txt 2>&1; echo $? > s4a.after.rc
keys s4a
cp upcalls.log s4a.upcalls.txt
# 4: the container has its own /tmp; hank, root in it, kinits kupalice there into the default
# ccache of the container's root (/tmp/krb5cc_0), also named by KRB5CCNAME in its environment.
step s4 user-namespace container, own /tmp
as 2008 unshare -Urm sh -c '
    mount -t tmpfs tmpfs /tmp || exit 20
    export KRB5CCNAME=FILE:/tmp/krb5cc_0
    printf "%s\n" "$1" | kinit kupalice@KUPTEST.TEST > /dev/null || exit 21
    touch /mnt/m/s4-hank
' sh "$PW" > s4.out 2>&1
echo $? > s4.rc
owner s4-hank > s4.owner.txt
ls /mnt/m > s4.after.txt 2>&1; echo $? > s4.after.rc
keys s4
cp upcalls.log s4.upcalls.txt

# --- 5: CVE-2021-20208 shape: a mount namespace whose /tmp holds a different ccache -----------
# On the host, dave's default ccache holds kupalice; in the container it holds kupbob. The
# helper must use the requester's (container's) ccache: the file must belong to kupbob.
step s5 mount-namespace container
unshare -m sh -c '
    mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 20
    printf "%s\n" "$1" | setpriv --reuid=2004 --regid=2004 --clear-groups \
        kinit kupbob@KUPTEST.TEST > /dev/null || exit 21
    setpriv --reuid=2004 --regid=2004 --clear-groups touch /mnt/m/s5-dave
' sh "$PW" > s5.out 2>&1
echo $? > s5.rc
owner s5-dave > s5.owner.txt
keys s5
cp upcalls.log s5.upcalls.txt

# --- 5b: the same with a pid namespace and its own /proc; the ticket only via KRB5CCNAME -------
# The kernel sends the requester's pid in the initial pid namespace; /proc/<that pid> in the
# container's procfs is not the requester (spec section 9: the probe fails and the helper falls
# back to the default ccache, which ivan does not have).
step s5b pid-namespace container
unshare -mpf --mount-proc sh -c '
    mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 20
    printf "%s\n" "$1" | setpriv --reuid=2009 --regid=2009 --clear-groups \
        env KRB5CCNAME=FILE:/tmp/ivan.cc kinit kupbob@KUPTEST.TEST > /dev/null || exit 21
    setpriv --reuid=2009 --regid=2009 --clear-groups env KRB5CCNAME=FILE:/tmp/ivan.cc \
        touch /mnt/m/s5b-ivan
' sh "$PW" > s5b.out 2>&1
echo $? > s5b.rc
owner s5b-ivan > s5b.owner.txt
keys s5b
cp upcalls.log s5b.upcalls.txt

# --- 5c: a pid-namespace container (its own /proc and /tmp) as containers usually are; judy's
# ticket (kupbob) in her default ccache there. Every helper must serve it.
step s5c pid-namespace container, default ccache
unshare -mpf --mount-proc sh -c '
    mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 20
    printf "%s\n" "$1" | setpriv --reuid=2010 --regid=2010 --clear-groups \
        kinit kupbob@KUPTEST.TEST > /dev/null || exit 21
    setpriv --reuid=2010 --regid=2010 --clear-groups touch /mnt/m/s5c-judy
' sh "$PW" > s5c.out 2>&1
echo $? > s5c.rc
owner s5c-judy > s5c.owner.txt
keys s5c
cp upcalls.log s5c.upcalls.txt

# --- 6: every sec= of the reference ------------------------------------------------------------
# mounted SCENARIO MOUNT-POINT FILE OPTIONS [status]: root mounts with OPTIONS, writes FILE, reads
# it back, records the server's view (owner, content; with "status" smbstatus's signing and
# encryption) and the client's (DebugData; the kernel log when the mount failed), unmounts.
mounted() {
    local s=$1 m=$2 f=$3 opts=$4
    mkdir -p "$m"
    timeout 120 mount -t cifs "$SRV" "$m" -o "$opts" < /dev/null > "$s.mount.out" 2>&1
    echo $? > "$s.mount.rc"
    if mountpoint -q "$m"; then
        echo "written by $s through $opts" > "$m/$f"; echo $? > "$s.write.rc"
        cat "$m/$f" > "$s.read.txt" 2>&1
        cmp -s "$s.read.txt" "/srv/share/$f"; echo $? > "$s.cmp.rc"
        cat /proc/fs/cifs/DebugData > "$s.debugdata.txt" 2>&1
        [ "${5:-}" = status ] && smbstatus > "$s.smbstatus.txt" 2>&1
    else
        dmesg | tail -5 > "$s.dmesg.txt"
    fi
    owner "$f" > "$s.owner.txt"
    keys "$s"
    mountpoint -q "$m" && umount "$m"
    cp upcalls.log "$s.upcalls.txt"
}
# 6i: sec=krb5i, SMB signing (kim: kupalice's ticket).
step s6i krb5i
mounted s6i /mnt/s6i s6i-kim "sec=krb5i,cruid=2011,$BASE" status
# 6s: sec=krb5,seal, SMB3 encryption (lea: kupbob's ticket). SMB3 has no krb5p: seal is it.
step s6s seal
mounted s6s /mnt/s6s s6s-lea "sec=krb5,seal,cruid=2012,$BASE" status
# 6p: sec=krb5p (pat).
step s6p krb5p
mounted s6p /mnt/s6p s6p-pat "sec=krb5p,cruid=2016,$BASE"
# 6m: sec=mskrb5 asked for by the mount (mia).
step s6m mskrb5
mounted s6m /mnt/s6m s6m-mia "sec=mskrb5,cruid=2013,$BASE"

# --- 7: the keytab fallback: no ccache, user= from username=, the default keytab ---------------
# kupalice's keys exported into /etc/krb5.keytab (libkrb5's default keytab; the reference opens it
# after becoming the user, spec 11.3). With cruid= alone 6.1 sends user=root; username=kupalice
# makes it user=kupalice.
step s7 keytab export
samba-tool domain exportkeytab /etc/krb5.keytab --principal=kupalice > s7.export.out 2>&1
echo $? > s7.export.rc
klist -k -e /etc/krb5.keytab > s7.keytab.txt 2>&1
# 7: nia (2014) owns the keytab and has no ccache.
step s7 keytab readable by the user
chown 2014:2014 /etc/krb5.keytab && chmod 600 /etc/krb5.keytab
mounted s7 /mnt/s7 s7-nia "sec=krb5,cruid=2014,username=kupalice,$BASE"
# 7b: olaf (2015), no ccache; the keytab is root's (0600): the user cannot open it.
step s7b keytab not readable by the user
chown 0:0 /etc/krb5.keytab
mounted s7b /mnt/s7b s7b-olaf "sec=krb5,cruid=2015,username=kupalice,$BASE"

step done
umount /mnt/m
sleep 1
cat timings.txt upcalls.log
exit 0
