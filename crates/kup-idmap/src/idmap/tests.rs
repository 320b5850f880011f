//! Unit tests of the mapping rules with a hand-written account table (Debian-like: `nobody`
//! 65534, group `nogroup` 65534, no group `nobody`) and a fixed host.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::rc::Rc;

use kup_sys::passwd::{Group, Passwd};

use super::*;

struct Table;

const USERS: &[(&[u8], u32, u32)] = &[
    (b"root", 0, 0),
    (b"daemon", 1, 1),
    (b"nobody", 65534, 65534),
    (b"spec_alice", 45001, 45002),
    (b"spec_bob", 45004, 45004),
    (b"dom@user", 45010, 45002),
];
const GROUPS: &[(&[u8], u32)] = &[
    (b"root", 0),
    (b"daemon", 1),
    (b"nogroup", 65534),
    (b"spec_grp", 45002),
    (b"SPEC_UP", 45003),
    (b"D\\SPEC_UP", 45005),
];

impl Accounts for Table {
    fn user_by_name(&self, name: &[u8]) -> Result<Option<Passwd>, i32> {
        Ok(USERS.iter().find(|user| user.0 == name).map(passwd))
    }
    fn user_by_uid(&self, uid: Uid) -> Result<Option<Passwd>, i32> {
        Ok(USERS.iter().find(|user| user.1 == uid.get()).map(passwd))
    }
    fn group_by_name(&self, name: &[u8]) -> Result<Option<Group>, i32> {
        Ok(GROUPS.iter().find(|group| group.0 == name).map(group))
    }
    fn group_by_gid(&self, gid: Gid) -> Result<Option<Group>, i32> {
        Ok(GROUPS.iter().find(|group| group.1 == gid.get()).map(group))
    }
    fn group_list(&self, _user: &[u8], primary: Gid) -> Result<Vec<Gid>, i32> {
        Ok(vec![primary, Gid::new(45003)])
    }
}

fn passwd(entry: &(&[u8], u32, u32)) -> Passwd {
    Passwd {
        name: entry.0.to_vec(),
        uid: Uid::new(entry.1),
        gid: Gid::new(entry.2),
    }
}

fn group(entry: &(&[u8], u32)) -> Group {
    Group {
        name: entry.0.to_vec(),
        gid: Gid::new(entry.1),
    }
}

struct Host;

impl HostNaming for Host {
    fn host_name(&self) -> Option<Vec<u8>> {
        Some(b"vm".to_vec())
    }
    fn canonical_name(&self, _name: &[u8]) -> Option<Vec<u8>> {
        Some(b"vm".to_vec())
    }
    fn txt_query(&self, _name: &[u8], _domain: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

type Lines = Rc<RefCell<Vec<String>>>;

fn build(text: &str) -> (Result<Idmap<Table>, InitError>, Lines) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&log);
    let config = Config::parse(text.as_bytes(), Path::new("/etc/idmapd.conf"));
    let idmap = Idmap::new(
        config,
        Table,
        &Host,
        0,
        Box::new(move |line| sink.borrow_mut().push(line.to_owned())),
    );
    (idmap, log)
}

fn idmap(text: &str) -> Idmap<Table> {
    build(text).0.unwrap()
}

const DEBIAN: &str = "[General]\nVerbosity = 0\n[Mapping]\nNobody-User = nobody\nNobody-Group = nogroup\n";

fn uid(map: &Idmap<Table>, name: &str) -> u32 {
    map.owner_to_uid(name.as_bytes()).get()
}

fn gid(map: &Idmap<Table>, name: &str) -> u32 {
    map.group_owner_to_gid(name.as_bytes()).get()
}

fn user(map: &Idmap<Table>, id: u32) -> Result<String, Errno> {
    map.uid_to_name(Uid::new(id), NAME_BUFFER)
        .map(|name| String::from_utf8(name).unwrap())
}

fn group_name(map: &Idmap<Table>, id: u32) -> Result<String, Errno> {
    map.gid_to_name(Gid::new(id), NAME_BUFFER)
        .map(|name| String::from_utf8(name).unwrap())
}

#[test]
fn debian_default_config_maps_like_the_reference_vectors() {
    let map = idmap(DEBIAN);
    assert_eq!(map.domain(), (&b"localdomain"[..], Origin::Fallback));
    assert_eq!(uid(&map, "root@localdomain"), 0);
    assert_eq!(uid(&map, "spec_alice@localdomain"), 45001);
    assert_eq!(uid(&map, "spec_alice@LocalDomain"), 45001);
    assert_eq!(uid(&map, "spec_alice@other.dom"), 65534);
    assert_eq!(uid(&map, "spec_alice"), 65534);
    assert_eq!(uid(&map, "nosuch@localdomain"), 65534);
    assert_eq!(uid(&map, "1234"), 1234);
    assert_eq!(uid(&map, "0"), 0);
    assert_eq!(uid(&map, "00"), 65534);
    assert_eq!(uid(&map, "12abc"), 12);
    assert_eq!(uid(&map, "-1"), 4_294_967_295);
    assert_eq!(uid(&map, "123@other.dom"), 123);
    assert_eq!(uid(&map, "a@b@localdomain"), 65534);
    assert_eq!(gid(&map, "spec_grp@localdomain"), 45002);
    assert_eq!(gid(&map, "nogroup@localdomain"), 65534);
    assert_eq!(gid(&map, "nosuch@localdomain"), 65534);
    assert_eq!(gid(&map, "spec_grp"), 65534);
    assert_eq!(gid(&map, "4242"), 4242);
    assert_eq!(user(&map, 0).unwrap(), "root@localdomain");
    assert_eq!(user(&map, 1).unwrap(), "daemon@localdomain");
    assert_eq!(user(&map, 45001).unwrap(), "spec_alice@localdomain");
    assert_eq!(user(&map, 99999), Err(Errno::NOT_FOUND));
    assert_eq!(group_name(&map, 45002).unwrap(), "spec_grp@localdomain");
    assert_eq!(group_name(&map, 65534).unwrap(), "nogroup@localdomain");
    assert_eq!(group_name(&map, 99999), Err(Errno::NOT_FOUND));
}

#[test]
fn name_outside_the_domain_is_logged_at_level_zero() {
    let (map, log) = build(DEBIAN);
    let map = map.unwrap();
    log.borrow_mut().clear();
    uid(&map, "spec_alice@other.dom");
    assert_eq!(
        log.borrow().as_slice(),
        ["nss_getpwnam: name 'spec_alice@other.dom' does not map into domain 'localdomain'"]
    );
}

#[test]
fn fallback_domain_is_logged_only_at_verbosity_one() {
    let (_, log) = build(DEBIAN);
    assert!(
        log.borrow()
            .iter()
            .all(|line| !line.contains("Unable to determine"))
    );
}

#[test]
fn configured_domain_keeps_case_in_output_and_ignores_it_on_input() {
    let map = idmap("[General]\nDomain = Example.COM\n");
    assert_eq!(user(&map, 0).unwrap(), "root@Example.COM");
    assert_eq!(group_name(&map, 0).unwrap(), "root@Example.COM");
    assert_eq!(uid(&map, "root@example.com"), 0);
    assert_eq!(uid(&map, "root@EXAMPLE.COM."), 65534);
}

#[test]
fn without_nobody_settings_users_fall_back_to_nobody_and_groups_to_minus_two() {
    let map = idmap("[General]\nDomain = d.test\n");
    assert_eq!(uid(&map, "zz@d.test"), 65534);
    assert_eq!(gid(&map, "zz@d.test"), NOBODY_FALLBACK);
}

#[test]
fn configured_nobody_user_and_group_are_used() {
    let map =
        idmap("[General]\nDomain = d.test\n[Mapping]\nNobody-User = spec_alice\nNobody-Group = spec_grp\n");
    assert_eq!(uid(&map, "zz@d.test"), 45001);
    assert_eq!(gid(&map, "zz@d.test"), 45002);
    let map = idmap("[General]\nDomain = d.test\n[Mapping]\nNobody-User = nosuch\nNobody-Group = nosuchg\n");
    assert_eq!(uid(&map, "zz@d.test"), 65534);
    assert_eq!(gid(&map, "zz@d.test"), NOBODY_FALLBACK);
}

#[test]
fn subsection_erases_the_nobody_user() {
    let map = idmap("[Mapping]\nNobody-User = spec_alice\n[Mapping \"x\"]\nNobody-User = root\n");
    assert_eq!(uid(&map, "zz@localdomain"), 65534);
}

#[test]
fn no_strip_user_looks_up_the_whole_name_first() {
    let map = idmap("[General]\nDomain = d.test\nNo-Strip = user\n");
    assert_eq!(uid(&map, "spec_alice"), 45001);
    assert_eq!(uid(&map, "spec_alice@x.test"), 65534);
    assert_eq!(user(&map, 45001).unwrap(), "spec_alice@d.test");
    assert_eq!(user(&map, 45010).unwrap(), "dom@user");
    assert_eq!(gid(&map, "spec_grp"), NOBODY_FALLBACK);
}

#[test]
fn no_strip_group_with_reformat_tries_the_domain_prefixed_name() {
    let map = idmap("[General]\nDomain = d.test\nNo-Strip = group\n");
    assert_eq!(gid(&map, "spec_grp"), 45002);
    assert_eq!(uid(&map, "spec_alice"), 65534);
    let map = idmap("[General]\nDomain = d.test\nNo-Strip = Both\nReformat-Group = yes\n");
    assert_eq!(gid(&map, "spec_up@spec.test"), NOBODY_FALLBACK);
    assert_eq!(gid(&map, "SPEC_UP@d.test"), 45005);
    assert_eq!(gid(&map, "spec_grp"), NOBODY_FALLBACK);
    assert_eq!(gid(&map, "spec_grp@d.test"), 45002);
}

#[test]
fn unknown_method_fails_init_with_the_reference_message() {
    let (result, log) = build("[Translation]\nMethod = nosuch\n");
    assert_eq!(
        result.err(),
        Some(InitError::MethodUnavailable(b"nosuch".to_vec()))
    );
    assert!(
        log.borrow()
            .iter()
            .any(|line| line == "libnfsidmap: requested translation method, 'nosuch', is not available")
    );
    let (result, _) = build("[Translation]\nMethod = nsswitch ,static\n");
    assert_eq!(
        result.err(),
        Some(InitError::MethodUnavailable(b"nsswitch ".to_vec()))
    );
    assert!(build("[Translation]\nMethod = nsswitch, static\n").0.is_ok());
}

#[test]
fn umich_ldap_fails_init_clearly_and_its_options_are_read() {
    let text = "[Translation]\nMethod = umich_ldap\n[UMICH_SCHEMA]\nLDAP_server = ldap.test\n";
    let (result, log) = build(text);
    assert!(result.is_err());
    assert!(
        log.borrow()
            .iter()
            .any(|line| line.contains("umich_ldap method is not supported"))
    );
    let schema = UmichSchema::read(&Config::parse(text.as_bytes(), Path::new("x")));
    assert_eq!(schema.options[0], ("LDAP_server", Some(b"ldap.test".to_vec())));
    assert_eq!(schema.options.len(), 24);
}

#[test]
fn empty_method_list_maps_every_name_to_nobody() {
    let map = idmap("[General]\nDomain = d.test\n[Translation]\nMethod = ,\n");
    assert_eq!(uid(&map, "root@d.test"), NOBODY_FALLBACK);
    assert_eq!(user(&map, 0), Err(Errno::NOT_FOUND));
}

const STATIC: &str = "[General]\nDomain = d.test\n[Translation]\nMethod = static,nsswitch\n[Static]\nspec_x@OTHER.REALM = spec_alice\nroot@d.test = spec_alice\n";

#[test]
fn static_maps_whole_names_case_insensitively_and_back() {
    let map = idmap(STATIC);
    assert_eq!(uid(&map, "spec_x@OTHER.REALM"), 45001);
    assert_eq!(uid(&map, "spec_x@other.realm"), 45001);
    assert_eq!(uid(&map, "root@d.test"), 45001);
    assert_eq!(user(&map, 45001).unwrap(), "spec_x@OTHER.REALM");
    assert_eq!(user(&map, 0).unwrap(), "root@d.test");
    assert_eq!(gid(&map, "spec_x@OTHER.REALM"), NOBODY_FALLBACK);
}

#[test]
fn static_logs_values_that_are_not_groups_at_init() {
    let (_, log) = build(STATIC);
    assert!(
        log.borrow().iter().any(
            |line| line == "static_getgrnam: local group 'spec_alice' for 'spec_x@OTHER.REALM' not found"
        )
    );
}

#[test]
fn nsswitch_before_static_stops_the_chain_on_a_foreign_domain() {
    let map = idmap(
        "[General]\nDomain = d.test\n[Translation]\nMethod = nsswitch,static\n[Static]\nspec_x@OTHER.REALM = spec_alice\n",
    );
    assert_eq!(uid(&map, "spec_x@OTHER.REALM"), 65534);
}

#[test]
fn static_without_section_maps_nothing() {
    let map = idmap("[General]\nDomain = d.test\n[Translation]\nMethod = static\n");
    assert_eq!(uid(&map, "root@d.test"), NOBODY_FALLBACK);
}

#[test]
fn static_principal_too_long_for_the_buffer_is_no_memory() {
    let long = "p".repeat(130);
    let map = idmap(&format!(
        "[Translation]\nMethod = static\n[Static]\n{long} = spec_alice\n"
    ));
    assert_eq!(user(&map, 45001), Err(Errno::NO_MEMORY));
}

const REGEX: &str = "[General]\nDomain = d.test\n[Translation]\nMethod = regex\n[Regex]\nUser-Regex = ^DOM\\\\([^@]+)@D\\.TEST$\nGroup-Regex = ^([^@]+)@d\\.test$\nGroup-Name-Prefix = spec_\nPrepend-Before-Group = G:\nAppend-After-Group = @d.test\n";

#[test]
fn regex_maps_captures_and_builds_names() {
    let map = idmap(REGEX);
    assert_eq!(uid(&map, "dom\\spec_alice@d.test"), 45001);
    assert_eq!(uid(&map, "spec_alice@d.test"), NOBODY_FALLBACK);
    assert_eq!(gid(&map, "spec_grp@d.test"), NOBODY_FALLBACK);
    assert_eq!(gid(&map, "spec_SPEC_UP@d.test"), 45003);
    assert_eq!(group_name(&map, 45002).unwrap(), "G:spec_grp@d.test");
    assert_eq!(group_name(&map, 0).unwrap(), "G:spec_root@d.test");
    assert_eq!(user(&map, 45001).unwrap(), "spec_alice");
}

#[test]
fn regex_no_prefix_regex_keeps_the_prefix() {
    let map = idmap(&format!("{REGEX}Group-Name-No-Prefix-Regex = ^spec_grp$\n"));
    assert_eq!(gid(&map, "spec_grp@d.test"), 45002);
    assert_eq!(group_name(&map, 0).unwrap(), "G:spec_root@d.test");
}

#[test]
fn regex_without_its_regexes_fails_init_instead_of_crashing() {
    let (result, log) = build("[Translation]\nMethod = regex\n");
    assert!(result.is_err());
    assert!(
        log.borrow()
            .iter()
            .any(|line| line == "regex_init: regex for user mapping missing")
    );
    assert!(
        build("[Translation]\nMethod = regex\n[Regex]\nUser-Regex = (\nGroup-Regex = x\n")
            .0
            .is_err()
    );
}

#[test]
fn names_longer_than_the_buffer_are_no_memory() {
    let map = idmap(&format!("[General]\nDomain = {}\n", "d".repeat(122)));
    assert_eq!(user(&map, 0).unwrap().len(), 127);
    let map = idmap(&format!("[General]\nDomain = {}\n", "d".repeat(123)));
    assert_eq!(user(&map, 0), Err(Errno::NO_MEMORY));
}

#[test]
fn domain_too_long_for_the_domain_buffer_is_range() {
    let map = idmap(&format!("[General]\nDomain = {}\n", "d".repeat(512)));
    assert_eq!(map.default_domain(), Err(Errno::RANGE));
    assert_eq!(user(&map, 0), Err(Errno::RANGE));
}

#[test]
fn principals_map_only_from_local_realms_exactly() {
    let map = idmap("[General]\nDomain = d.test\n");
    assert_eq!(map.local_realms(), [b"D.TEST".to_vec()]);
    assert_eq!(
        map.principal_to_ids(b"krb5", b"spec_alice@D.TEST"),
        Ok((Uid::new(45001), Gid::new(45002)))
    );
    assert_eq!(
        map.principal_to_ids(b"krb5", b"spec_alice@d.test"),
        Err(Errno::NOT_FOUND)
    );
    assert_eq!(
        map.principal_to_ids(b"krb5", b"spec_alice@OTHER"),
        Err(Errno::NOT_FOUND)
    );
    assert_eq!(map.principal_to_ids(b"krb5", b"spec_alice"), Err(Errno::INVALID));
    assert_eq!(
        map.principal_to_ids(b"spkm3", b"spec_alice@D.TEST"),
        Err(Errno::NOT_FOUND)
    );
    assert_eq!(
        map.principal_to_ids(b"lipkey", b"spec_alice@D.TEST"),
        Err(Errno::INVALID)
    );
    assert_eq!(
        map.principal_to_ids(b"krb5", b"nfs/h.d.test@D.TEST"),
        Err(Errno::NOT_FOUND)
    );
    assert_eq!(
        map.principal_to_groups(b"krb5", b"spec_alice@OTHER"),
        Ok(vec![Gid::new(45002), Gid::new(45003)])
    );
    let map = idmap("[General]\nDomain = d.test\nLocal-Realms = A.TEST, B.TEST\n");
    assert_eq!(
        map.principal_to_ids(b"krb5", b"spec_alice@B.TEST")
            .map(|ids| ids.0),
        Ok(Uid::new(45001))
    );
    assert_eq!(
        map.principal_to_ids(b"krb5", b"spec_alice@D.TEST"),
        Err(Errno::NOT_FOUND)
    );
}

#[test]
fn gss_methods_override_method_for_principals() {
    let map = idmap(
        "[General]\nDomain = d.test\n[Translation]\nMethod = nsswitch\nGSS-Methods = static\n[Static]\nhost/x@R = spec_bob\n",
    );
    assert_eq!(
        map.principal_to_ids(b"krb5", b"host/x@R").map(|ids| ids.0),
        Ok(Uid::new(45004))
    );
    assert_eq!(
        map.principal_to_ids(b"krb5", b"spec_alice@D.TEST"),
        Err(Errno::NOT_FOUND)
    );
}

#[test]
fn verbosity_four_traces_the_chain() {
    let (map, log) = build("[General]\nDomain = d.test\n");
    let mut map = map.unwrap();
    map.set_verbosity(4);
    log.borrow_mut().clear();
    uid(&map, "spec_alice@d.test");
    let log = log.borrow();
    assert_eq!(log[0], "nfs4_name_to_uid: calling nsswitch->name_to_uid");
    assert_eq!(log.last().unwrap(), "nfs4_name_to_uid: final return value is 0");
}

#[test]
fn numeric_id_follows_strtol() {
    assert_eq!(numeric_id(b"0"), Some(0));
    assert_eq!(numeric_id(b"00"), None);
    assert_eq!(numeric_id(b"abc"), None);
    assert_eq!(numeric_id(b"4294967296"), Some(0));
    assert_eq!(numeric_id(b"99999999999999999999"), Some(u32::MAX));
}

/// A method that gives one fixed answer to every query and counts the queries it was asked.
struct Fixed {
    answer: Result<u32, Errno>,
    asked: Rc<Cell<usize>>,
}

impl Fixed {
    fn boxed(answer: Result<u32, Errno>) -> (Box<dyn Method>, Rc<Cell<usize>>) {
        let asked = Rc::new(Cell::new(0));
        let method = Self {
            answer,
            asked: Rc::clone(&asked),
        };
        (Box::new(method), asked)
    }

    fn answer(&self) -> Result<u32, Errno> {
        self.asked.set(self.asked.get() + 1);
        self.answer
    }
}

impl Method for Fixed {
    fn name(&self) -> &'static str {
        "fixed"
    }
    fn name_to_uid(&self, _: &Services<'_>, _: &[u8]) -> Result<Uid, Errno> {
        self.answer().map(Uid::new)
    }
    fn name_to_gid(&self, _: &Services<'_>, _: &[u8]) -> Result<Gid, Errno> {
        self.answer().map(Gid::new)
    }
    fn uid_to_name(&self, _: &Services<'_>, _: Uid, _: &[u8], _: usize) -> Result<Vec<u8>, Errno> {
        self.answer().map(|id| id.to_string().into_bytes())
    }
    fn gid_to_name(&self, _: &Services<'_>, _: Gid, _: &[u8], _: usize) -> Result<Vec<u8>, Errno> {
        self.answer().map(|id| id.to_string().into_bytes())
    }
    fn principal_to_ids(&self, _: &Services<'_>, _: &[u8], _: &[u8]) -> Result<(Uid, Gid), Errno> {
        self.answer().map(|id| (Uid::new(id), Gid::new(id)))
    }
    fn principal_to_groups(&self, _: &Services<'_>, _: &[u8], _: &[u8]) -> Result<Vec<Gid>, Errno> {
        self.answer().map(|id| vec![Gid::new(id)])
    }
}

#[test]
fn chain_asks_the_next_method_only_after_not_found() {
    let mut map = idmap("[General]\nDomain = d.test\n");
    let (missing, missing_asked) = Fixed::boxed(Err(Errno::NOT_FOUND));
    let (found, found_asked) = Fixed::boxed(Ok(7));
    let (unreached, unreached_asked) = Fixed::boxed(Ok(8));
    map.methods = vec![missing, found, unreached];
    assert_eq!(map.name_to_uid(b"x"), Ok(Uid::new(7)));
    assert_eq!(map.name_to_gid(b"x"), Ok(Gid::new(7)));
    assert_eq!(user(&map, 1).unwrap(), "7");
    assert_eq!(group_name(&map, 1).unwrap(), "7");
    assert_eq!(
        map.principal_to_ids(b"krb5", b"p@R"),
        Ok((Uid::new(7), Gid::new(7)))
    );
    assert_eq!(map.principal_to_groups(b"krb5", b"p@R"), Ok(vec![Gid::new(7)]));
    assert_eq!((missing_asked.get(), found_asked.get()), (6, 6));
    assert_eq!(unreached_asked.get(), 0);
}

#[test]
fn chain_stops_at_the_first_error_other_than_not_found() {
    let mut map = idmap("[General]\nDomain = d.test\n");
    let (failing, failing_asked) = Fixed::boxed(Err(Errno::INVALID));
    let (unreached, unreached_asked) = Fixed::boxed(Ok(8));
    map.methods = vec![failing, unreached];
    assert_eq!(map.name_to_uid(b"x"), Err(Errno::INVALID));
    assert_eq!(user(&map, 1), Err(Errno::INVALID));
    assert_eq!(uid(&map, "x"), NOBODY_FALLBACK);
    assert_eq!(uid(&map, "12"), 12);
    assert_eq!(failing_asked.get(), 5);
    assert_eq!(unreached_asked.get(), 0);
    let (missing, _) = Fixed::boxed(Err(Errno::NOT_FOUND));
    map.methods = vec![missing];
    assert_eq!(map.name_to_uid(b"x"), Err(Errno::NOT_FOUND));
}

#[test]
fn gss_methods_chain_serves_principals_and_method_chain_names() {
    let mut map = idmap("[General]\nDomain = d.test\n");
    let (names, names_asked) = Fixed::boxed(Ok(1));
    let (principals, principals_asked) = Fixed::boxed(Ok(2));
    map.methods = vec![names];
    map.gss_methods = Some(vec![principals]);
    assert_eq!(map.name_to_uid(b"x"), Ok(Uid::new(1)));
    assert_eq!(
        map.principal_to_ids(b"krb5", b"p@R"),
        Ok((Uid::new(2), Gid::new(2)))
    );
    assert_eq!(map.principal_to_groups(b"krb5", b"p@R"), Ok(vec![Gid::new(2)]));
    assert_eq!((names_asked.get(), principals_asked.get()), (1, 2));
}
