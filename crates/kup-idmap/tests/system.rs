//! The library on the real system: NSS through `SystemAccounts`, the host through `SystemHost`.
//! Only accounts every Debian system has (`root`, `daemon`, `nobody`, group `nogroup`) are used.

use std::path::Path;

use kup_idmap::Idmap;
use kup_idmap::conf::Config;
use kup_idmap::idmap::NAME_BUFFER;
use kup_idmap::system::{HostNaming, SystemAccounts, SystemHost};
use kup_sys::{Gid, Uid};

fn idmap(text: &str) -> Idmap<SystemAccounts> {
    let config = Config::parse(text.as_bytes(), Path::new("/etc/idmapd.conf"));
    Idmap::new(config, SystemAccounts, &SystemHost, 0, Box::new(|_| {})).expect("init")
}

#[test]
fn names_map_both_ways_through_nss() {
    let map = idmap("[General]\nDomain = d.test\n[Mapping]\nNobody-User = nobody\nNobody-Group = nogroup\n");
    assert_eq!(map.owner_to_uid(b"root@d.test"), Uid::new(0));
    assert_eq!(map.owner_to_uid(b"daemon@D.TEST"), Uid::new(1));
    assert_eq!(map.owner_to_uid(b"kup-no-such-user@d.test"), Uid::new(65534));
    assert_eq!(
        map.group_owner_to_gid(b"kup-no-such-group@d.test"),
        Gid::new(65534)
    );
    assert_eq!(map.uid_to_name(Uid::new(0), NAME_BUFFER).unwrap(), b"root@d.test");
    assert_eq!(map.gid_to_name(Gid::new(0), NAME_BUFFER).unwrap(), b"root@d.test");
}

#[test]
fn principals_of_local_realms_map_to_the_user_and_its_groups() {
    let map = idmap("[General]\nDomain = d.test\n");
    assert_eq!(
        map.principal_to_ids(b"krb5", b"root@D.TEST"),
        Ok((Uid::new(0), Gid::new(0)))
    );
    assert!(map.principal_to_ids(b"krb5", b"root@OTHER.TEST").is_err());
    let groups = map.principal_to_groups(b"krb5", b"root@OTHER.TEST").unwrap();
    assert_eq!(groups.first(), Some(&Gid::new(0)));
}

#[test]
fn system_host_name_is_the_kernels() {
    let expected = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(SystemHost.host_name().unwrap(), expected.trim_end().as_bytes());
    assert_eq!(
        SystemHost.canonical_name(b"localhost").as_deref(),
        Some(&b"localhost"[..])
    );
}
