//! End to end in the QEMU guest (Debian's 6.1 kernel with the nfsv4 module): the real
//! `id_resolver` key type and the kernel's `.id_resolver` keyring, for ours or Debian's nfsidmap
//! (`KUP_UNDER_TEST=ours|theirs`).
//!
//! One boot: userspace requests of `id_resolver` keys (payloads, negative keys), then an
//! `NFSv4` export mounted on the guest's loopback with id mapping on, where `ls -ln`, `ls -l`, `chown
//! name` and `stat` go through kernel-made upcalls to the nfsidmap under test; then `-l`, `-u`,
//! `-g`, `-c` on the keys the kernel cached. Everything runs in the guest's overlay `/etc`; the
//! host is untouched. The test accounts come from the host's `/etc/passwd` (shared read-only).

#[path = "support/system.rs"]
mod system;

use std::time::Duration;

use kup_testkit::guest::Guest;
use kup_testkit::reference::{self, Tool};

const TIMEOUT: Duration = Duration::from_mins(5);

const SCRIPT: &str = r#"
set -u
. "$KUP_CHECKOUT/tests/guest/lib.sh"
kup_modprobe nfsd nfsv4 || exit 10
printf '[General]\nDomain = g.test\n[Mapping]\nNobody-User = nobody\nNobody-Group = nogroup\n' > /etc/idmapd.conf
h=$(kup_helper nfsidmap 20 "$HELPER" -t 600)
kup_rules "create id_resolver * * $h %k %d"

# 1. the real key type, requested from userspace
for d in uid:root@g.test uid:kupnfs_alice@g.test gid:kupnfs_grp@g.test uid:nosuch@g.test \
         user:0 user:45101 group:45102 user:99999 foo:bar uid:; do
    if k=$(kup_request id_resolver "$d" 2>/dev/null); then
        printf '%s ok %s %s\n' "$d" "$(keyctl rdescribe "$k")" "$(keyctl pipe "$k" | od -An -tx1 | tr -d ' \n')"
    else
        printf '%s neg %s\n' "$d" "$(awk -v d="$d" '$9 == d {print $2, $4, $5, $8}' /proc/keys | head -1)"
    fi
done > userspace.txt
# drop the userspace-requested keys: -u/-g must see only the kernel's
keyctl clear @s

# 2. NFSv4 with id mapping on both sides
mount -t rpc_pipefs sunrpc /run/rpc_pipefs 2>/dev/null || { mkdir -p /run/rpc_pipefs; mount -t rpc_pipefs sunrpc /run/rpc_pipefs; }
mount -t nfsd nfsd /proc/fs/nfsd
echo N > /sys/module/nfsd/parameters/nfs4_disable_idmapping
echo N > /sys/module/nfs/parameters/nfs4_disable_idmapping
rpcbind -w || echo "rpcbind failed"
rpc.idmapd -p /run/rpc_pipefs || echo "idmapd failed"
mkdir -p /srv/export
install -o kupnfs_alice -g kupnfs_grp /dev/null /srv/export/f-alice
install -o kupnfs_bob -g KUPNFS_UP /dev/null /srv/export/f-bob
touch /srv/export/f-root
echo "/srv/export 127.0.0.1(rw,no_root_squash,fsid=0,no_subtree_check,sec=sys)" > /etc/exports
rpc.mountd -N 2 -N 3 || echo "mountd failed"
exportfs -ra
rpc.nfsd -N 3 4 || echo "nfsd failed"
mkdir -p /mnt/nfs
mount -t nfs4 -o sec=sys,vers=4.2 127.0.0.1:/ /mnt/nfs || { dmesg | tail -20; exit 11; }
ls -ln /mnt/nfs | awk 'NR>1 {print $3, $4, $9}' > ls-ln.txt
ls -l /mnt/nfs | awk 'NR>1 {print $3, $4, $9}' > ls-l.txt
touch /mnt/nfs/new
chown kupnfs_alice:kupnfs_grp /mnt/nfs/new
stat -c '%u %g %U %G' /mnt/nfs/new > stat-new.txt
stat -c '%u %g %U %G' /srv/export/new > stat-server.txt
grep -E 'id_resolv' /proc/keys | awk '{print $4, $9}' | sort > kernel-keys.txt

# 3. keyring management on the kernel's cache
"$HELPER" -l > list.txt; echo "rc=$?" >> list.txt
"$HELPER" -u kupnfs_alice > inv-u.txt 2>&1; echo "rc=$?" >> inv-u.txt
"$HELPER" -g KUPNFS_UP > inv-g.txt 2>&1; echo "rc=$?" >> inv-g.txt
sleep 1
grep -E 'id_resolv' /proc/keys | awk '{print $9}' | sort > after-invalidate.txt
"$HELPER" -v -c > clear.txt 2>&1; echo "rc=$?" >> clear.txt
"$HELPER" -l > list-after.txt; echo "rc=$?" >> list-after.txt
umount /mnt/nfs; rpc.nfsd 0
cp /xchg/upcalls.log upcalls.txt 2>/dev/null
exit 0
"#;

#[test]
#[allow(clippy::too_many_lines)] // one boot, its checks in script order
fn real_id_resolver_keys_and_an_nfs_mount_are_served_end_to_end() -> std::io::Result<()> {
    system::ensure_accounts()?;
    let helper = reference::tool_path(Tool::Nfsidmap)?;
    let outcome = Guest::new()?
        .with_env("HELPER", helper.display().to_string())
        .run_script(SCRIPT, TIMEOUT)?;
    outcome.assert_success();
    let file = |name: &str| outcome.file_string(name).unwrap_or_default();

    let userspace = file("userspace.txt");
    let line = |description: &str| {
        userspace
            .lines()
            .find(|line| line.split(' ').next() == Some(description))
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        line("uid:root@g.test"),
        "uid:root@g.test ok id_resolver;0;0;3b010000;uid:root@g.test 3000",
        "{userspace}"
    );
    assert!(
        line("uid:kupnfs_alice@g.test").ends_with(" 343531303100"),
        "{userspace}"
    );
    assert!(
        line("gid:kupnfs_grp@g.test").ends_with(" 343531303200"),
        "{userspace}"
    );
    assert!(
        line("uid:nosuch@g.test").ends_with(" 363535333400"),
        "{userspace}"
    );
    assert!(
        line("user:0").ends_with(&format!(" {}", hex(b"root@g.test"))),
        "{userspace}"
    );
    assert!(
        line("user:45101").ends_with(&format!(" {}", hex(b"kupnfs_alice@g.test"))),
        "{userspace}"
    );
    assert!(
        line("group:45102").ends_with(&format!(" {}", hex(b"kupnfs_grp@g.test"))),
        "{userspace}"
    );
    for negative in ["user:99999", "foo:bar", "uid:"] {
        let found = line(negative);
        assert!(found.starts_with(&format!("{negative} neg ")), "{userspace}");
        let fields: Vec<&str> = found.split(' ').collect();
        assert!(
            fields.get(2).is_some_and(|flags| flags.contains('N'))
                && fields
                    .get(3)
                    .is_some_and(|expiry| *expiry == "1m" || expiry.ends_with('s')),
            "negative for about 60 s: {found}"
        );
    }

    let listing = file("ls-ln.txt");
    assert!(listing.contains("45101 45102 f-alice"), "{listing}");
    assert!(listing.contains("45104 45103 f-bob"), "{listing}");
    assert!(listing.contains("0 0 f-root"), "{listing}");
    let names = file("ls-l.txt");
    assert!(names.contains("kupnfs_alice kupnfs_grp f-alice"), "{names}");
    assert!(names.contains("kupnfs_bob KUPNFS_UP f-bob"), "{names}");
    assert_eq!(file("stat-new.txt").trim(), "45101 45102 kupnfs_alice kupnfs_grp");
    assert_eq!(
        file("stat-server.txt").trim(),
        "45101 45102 kupnfs_alice kupnfs_grp"
    );

    let kernel_keys = file("kernel-keys.txt");
    for description in [
        "uid:kupnfs_alice@g.test:",
        "gid:kupnfs_grp@g.test:",
        "user:45101:",
        "group:45102:",
    ] {
        let key = kernel_keys
            .lines()
            .find(|line| line.ends_with(description))
            .unwrap_or_else(|| panic!("no kernel key {description}:\n{kernel_keys}"));
        assert!(
            key.starts_with("10m ") || key.starts_with("9m "),
            "-t 600 applies to kernel-made keys: {key}"
        );
    }

    let list = file("list.txt");
    assert!(
        list.lines()
            .next()
            .is_some_and(|first| first.ends_with(".id_resolver keys found:")),
        "{list}"
    );
    assert!(list.contains("\n  uid:kupnfs_alice@g.test\n"), "{list}");
    assert!(list.contains("\n  user:45101\n"), "{list}");
    assert!(list.ends_with("rc=0\n"), "{list}");
    assert_eq!(file("inv-u.txt"), "rc=0\n");
    assert_eq!(file("inv-g.txt"), "rc=0\n");
    let after = file("after-invalidate.txt");
    assert!(!after.contains("uid:kupnfs_alice@g.test"), "{after}");
    assert!(!after.contains("gid:KUPNFS_UP@g.test"), "{after}");
    assert!(after.contains("gid:kupnfs_grp@g.test"), "{after}");
    assert_eq!(file("clear.txt"), "nfsidmap: '.id_resolver' cleared\nrc=0\n");
    assert_eq!(file("list-after.txt"), "No .id_resolver keys found.\nrc=0\n");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut text, byte| {
        let _ = write!(text, "{byte:02x}");
        text
    })
}
