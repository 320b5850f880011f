//! End to end in the QEMU guest (real `cifs.idmap` key type, Debian's kernel): a Samba AD DC, a
//! `cifsacl` mount of one of its shares, and our cifs.idmap as the only helper routed for
//! `cifs.idmap` keys (Debian's is not in any rule). `ls -ln` must show owners mapped through us,
//! and `chown`/`chgrp` to a domain user and group (the `oi:`/`gi:` path) must reach the server.
//!
//! About 2–4 minutes under TCG (domain provisioning dominates).

use std::time::Duration;

use kup_testkit::guest::Guest;

const SCRIPT: &str = r#"
set -u
. "$KUP_CHECKOUT/tests/guest/lib.sh"
PW='Passw0rd!Kup1'
step() { echo "== $*"; }
hostname dc1
printf '127.0.0.1 localhost\n127.0.0.1 dc1.kuptest.test dc1\n' > /etc/hosts
step provision
rm -f /etc/samba/smb.conf
samba-tool domain provision --realm=KUPTEST.TEST --domain=KUPTEST --server-role=dc \
    --dns-backend=NONE --adminpass="$PW" --host-name=dc1 --host-ip=127.0.0.1 --use-rfc2307 \
    --option="interfaces=lo" --option="bind interfaces only=yes" > provision.log 2>&1 \
    || { echo "provision failed"; tail -20 provision.log; exit 10; }
mkdir -p /srv/share && chmod 777 /srv/share
printf '[share]\n\tpath = /srv/share\n\tread only = no\n' >> /etc/samba/smb.conf
samba-tool group add kupstaff --nis-domain=kuptest --gid-number=70000 > /dev/null || exit 11
samba-tool user add kupalice "$PW" --nis-domain=kuptest --uid-number=70001 --gid-number=70000 \
    --unix-home=/nonexistent --login-shell=/bin/false > /dev/null || exit 12
step start samba
samba -D || exit 13
for i in $(seq 1 120); do smbclient -N -L //127.0.0.1 > /dev/null 2>&1 && break; sleep 1; done
wbinfo --name-to-sid 'KUPTEST\kupalice' > alice.sid || exit 14
step routes
kup_modprobe cifs || exit 15
kup_rules "create cifs.idmap * * $(kup_helper ours 20 "$IDMAP") %k"
cat /etc/request-key.d/*.conf > rules.txt
step mount
mkdir -p /mnt/cifs
opts="username=administrator,password=$PW,domain=KUPTEST,vers=3.1.1,cifsacl,actimeo=0"
mount -t cifs //127.0.0.1/share /mnt/cifs -o "$opts" || { dmesg | tail -20; exit 16; }
touch /mnt/cifs/f1 || exit 17
ls -ln /mnt/cifs/f1 > before.txt
step chown chgrp
chown 70001 /mnt/cifs/f1; echo $? > chown.rc
chgrp 70000 /mnt/cifs/f1; echo $? > chgrp.rc
umount /mnt/cifs
mount -t cifs //127.0.0.1/share /mnt/cifs -o "$opts" || exit 18
ls -ln /mnt/cifs/f1 > after.txt
umount /mnt/cifs
samba-tool ntacl get /srv/share/f1 --as-sddl > server-acl.txt 2>&1
grep -E 'cifs\.idm' /proc/keys > keys.txt
cat before.txt after.txt server-acl.txt upcalls.log
exit 0
"#;

#[test]
fn a_cifsacl_mount_maps_owners_and_chown_through_our_cifs_idmap() {
    let outcome = Guest::new()
        .expect("the QEMU guest harness is available")
        .with_env("IDMAP", env!("CARGO_BIN_EXE_cifs-idmap"))
        .run_script(SCRIPT, Duration::from_mins(15))
        .expect("the guest ran");
    outcome.assert_success();
    let text = |name: &str| outcome.file_string(name).unwrap_or_default();
    let log = text("upcalls.log");
    assert!(
        !log.is_empty() && log.lines().all(|line| line.starts_with("ours ")),
        "only our helper answered cifs.idmap keys (rules: {}):\n{log}",
        text("rules.txt")
    );
    // /proc/keys: `serial flags usage expiry perm uid gid cifs.idma <description>: <length>`.
    let keys = text("keys.txt");
    for request in ["os:S-1-", "gs:S-1-", "oi:70001:", "gi:70000:"] {
        let positive = keys.lines().any(|line| {
            let flags = line.split_whitespace().nth(1).unwrap_or("N");
            line.contains(request) && !flags.contains('N')
        });
        assert!(positive, "a positive {request} key:\n{keys}\nupcalls:\n{log}");
    }
    let after = text("after.txt");
    let columns: Vec<&str> = after.split_whitespace().collect();
    assert_eq!(
        (columns.get(2).copied(), columns.get(3).copied()),
        (Some("70001"), Some("70000")),
        "ls -ln after chown/chgrp: {after} (before: {})",
        text("before.txt")
    );
    assert_eq!(text("chown.rc").trim(), "0");
    assert_eq!(text("chgrp.rc").trim(), "0");
    let alice = text("alice.sid");
    let alice_sid = alice.split_whitespace().next().unwrap_or("?");
    assert!(
        text("server-acl.txt").starts_with(&format!("O:{alice_sid}")),
        "the server stores kupalice as the owner: {}",
        text("server-acl.txt")
    );
}
