//! The keyring layer against this machine's real kernel (`CONFIG_KEYS`).
//!
//! Every test first joins a fresh anonymous session keyring, so tests running in parallel threads
//! never see each other's keys (session keyrings are per thread).

use std::io;
use std::time::Duration;

use kup_sys::proc_keys::{self, Expiry};
use kup_sys::{Gid, KeyPerm, KeySerial, Uid, keyctl};

fn fresh_session() -> KeySerial {
    keyctl::join_session_keyring(None).expect("join an anonymous session keyring")
}

fn errno(error: &io::Error) -> i32 {
    error.raw_os_error().expect("an OS error")
}

#[test]
fn add_key_then_read_and_describe_return_what_the_kernel_stored() {
    let session = fresh_session();
    let key = keyctl::add_key("user", b"kup:add-read", b"payload\0with nul", session).unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"payload\0with nul");
    let described = keyctl::describe(key).unwrap();
    assert_eq!(described.key_type, b"user");
    assert_eq!(described.description, b"kup:add-read");
    assert_eq!(described.uid, Uid::new(0));
    assert_eq!(described.gid, Gid::new(0));
    assert_eq!(described.perm, KeyPerm::new(0x3f01_0000));
    assert_eq!(
        keyctl::describe_raw(key).unwrap(),
        b"user;0;0;3f010000;kup:add-read"
    );
}

#[test]
fn session_keyring_id_resolves_to_the_joined_keyring() {
    let session = fresh_session();
    assert_eq!(
        keyctl::keyring_id(KeySerial::SESSION_KEYRING, false).unwrap(),
        session
    );
    let described = keyctl::describe(session).unwrap();
    assert_eq!(described.key_type, b"keyring");
    assert_eq!(described.description, b"_ses");
}

#[test]
fn named_session_keyring_carries_its_name() {
    let name = format!("kup-named-{}", std::process::id());
    let session = keyctl::join_session_keyring(Some(name.as_bytes())).unwrap();
    assert_eq!(keyctl::describe(session).unwrap().description, name.as_bytes());
    fresh_session();
}

#[test]
fn update_replaces_the_payload() {
    let session = fresh_session();
    let key = keyctl::add_key("user", b"kup:update", b"old", session).unwrap();
    keyctl::update(key, b"new payload").unwrap();
    assert_eq!(keyctl::read(key).unwrap(), b"new payload");
}

#[test]
fn search_finds_a_key_by_type_and_description_and_links_it() {
    let session = fresh_session();
    let inner = keyctl::add_key("keyring", b"kup:inner", b"", session).unwrap();
    let key = keyctl::add_key("user", b"kup:searched", b"x", inner).unwrap();
    assert_eq!(
        keyctl::search(session, "user", b"kup:searched", None).unwrap(),
        key
    );
    let error = keyctl::search(session, "user", b"kup:absent", None).unwrap_err();
    assert_eq!(errno(&error), libc::ENOKEY);
    // With a destination, the found key is linked there too.
    let other = keyctl::add_key("keyring", b"kup:dest", b"", session).unwrap();
    keyctl::search(session, "user", b"kup:searched", Some(other)).unwrap();
    assert_eq!(keyctl::keyring_members(other).unwrap(), vec![key]);
}

#[test]
fn link_and_unlink_change_keyring_membership() {
    let session = fresh_session();
    let ring = keyctl::add_key("keyring", b"kup:ring", b"", session).unwrap();
    let key = keyctl::add_key("user", b"kup:linked", b"x", session).unwrap();
    keyctl::link(key, ring).unwrap();
    assert_eq!(keyctl::keyring_members(ring).unwrap(), vec![key]);
    keyctl::unlink(key, ring).unwrap();
    assert!(keyctl::keyring_members(ring).unwrap().is_empty());
    assert_eq!(errno(&keyctl::unlink(key, ring).unwrap_err()), libc::ENOENT);
}

#[test]
fn clear_empties_a_keyring() {
    let session = fresh_session();
    let ring = keyctl::add_key("keyring", b"kup:clear", b"", session).unwrap();
    for index in 0..3 {
        keyctl::add_key("user", format!("kup:clear:{index}").as_bytes(), b"x", ring).unwrap();
    }
    assert_eq!(keyctl::keyring_members(ring).unwrap().len(), 3);
    keyctl::clear(ring).unwrap();
    assert!(keyctl::keyring_members(ring).unwrap().is_empty());
}

#[test]
fn set_timeout_shows_in_proc_keys_and_zero_clears_it() {
    let session = fresh_session();
    let key = keyctl::add_key("user", b"kup:timeout", b"x", session).unwrap();
    assert_eq!(proc_keys::find(key).unwrap().unwrap().expiry, Expiry::Permanent);
    keyctl::set_timeout(key, 600).unwrap();
    match proc_keys::find(key).unwrap().unwrap().expiry {
        // /proc/keys rounds down to the unit it prints: 10 minutes shows as "9m" a moment later.
        Expiry::In(left) => assert!((Duration::from_mins(9)..=Duration::from_mins(10)).contains(&left)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    keyctl::set_timeout(key, 0).unwrap();
    assert_eq!(proc_keys::find(key).unwrap().unwrap().expiry, Expiry::Permanent);
}

#[test]
fn expired_key_reads_as_expired() {
    let session = fresh_session();
    let key = keyctl::add_key("user", b"kup:expire", b"x", session).unwrap();
    keyctl::set_timeout(key, 1).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(errno(&keyctl::read(key).unwrap_err()), libc::EKEYEXPIRED);
}

#[test]
fn revoked_key_refuses_reads_and_shows_the_revoked_flag() {
    let session = fresh_session();
    let key = keyctl::add_key("user", b"kup:revoke", b"secret", session).unwrap();
    keyctl::revoke(key).unwrap();
    assert_eq!(errno(&keyctl::read(key).unwrap_err()), libc::EKEYREVOKED);
    let listed = proc_keys::find(key)
        .unwrap()
        .expect("revoked keys stay listed until collected");
    assert!(listed.flags.revoked);
}

#[test]
fn invalidated_key_disappears_from_search() {
    let session = fresh_session();
    let key = keyctl::add_key("user", b"kup:invalidate", b"x", session).unwrap();
    keyctl::invalidate(key).unwrap();
    // Until the garbage collector unlinks it, the invalidated key is still found and reported
    // as revoked; afterwards it is gone (ENOKEY). Either way it is never returned.
    let error = keyctl::search(session, "user", b"kup:invalidate", None).unwrap_err();
    assert!(
        matches!(errno(&error), libc::EKEYREVOKED | libc::ENOKEY),
        "{error}"
    );
    assert!(keyctl::read(key).is_err());
}

#[test]
fn set_perm_and_chown_are_visible_in_describe() {
    let session = fresh_session();
    let key = keyctl::add_key("user", b"kup:perm", b"x", session).unwrap();
    keyctl::set_perm(key, KeyPerm::new(0x3f3f_0000)).unwrap();
    keyctl::chown(key, None, Some(Gid::new(65534))).unwrap();
    let described = keyctl::describe(key).unwrap();
    assert_eq!(described.perm, KeyPerm::new(0x3f3f_0000));
    assert_eq!(described.gid, Gid::new(65534));
    assert_eq!(described.uid, Uid::new(0));
}

#[test]
fn request_key_without_callout_never_upcalls() {
    let session = fresh_session();
    let error = keyctl::request_key("user", b"kup:no-such-key", None, session).unwrap_err();
    assert_eq!(errno(&error), libc::ENOKEY);
    let key = keyctl::add_key("user", b"kup:present", b"x", session).unwrap();
    assert_eq!(
        keyctl::request_key("user", b"kup:present", None, session).unwrap(),
        key
    );
}

#[test]
fn helper_operations_without_authority_are_refused() {
    let session = fresh_session();
    let key = keyctl::add_key("user", b"kup:no-authority", b"x", session).unwrap();
    // Not under construction and no assumed authority: the kernel refuses the helper protocol.
    assert!(keyctl::instantiate(key, b"y", KeySerial::NONE).is_err());
    assert!(keyctl::negate(key, 5, KeySerial::NONE).is_err());
    assert!(keyctl::reject(key, 5, libc::EACCES, KeySerial::NONE).is_err());
    assert!(keyctl::instantiate_iov(key, &[b"a", b"b"], KeySerial::NONE).is_err());
    assert_eq!(
        errno(&keyctl::assume_authority(Some(key)).unwrap_err()),
        libc::ENOKEY
    );
    keyctl::assume_authority(None).unwrap();
    assert_eq!(
        keyctl::read(key).unwrap(),
        b"x",
        "the refused calls changed nothing"
    );
}

#[test]
fn proc_keys_lists_every_key_of_the_session_with_its_type() {
    let session = fresh_session();
    let key = keyctl::add_key("user", b"kup:listed", b"12345", session).unwrap();
    let all = proc_keys::read().unwrap();
    let listed = all.iter().find(|entry| entry.serial == key).expect("listed");
    assert_eq!(listed.key_type, "user");
    assert_eq!(listed.description, b"kup:listed: 5");
    assert!(listed.flags.instantiated && !listed.flags.negative);
    assert!(
        all.iter()
            .any(|entry| entry.serial == session && entry.key_type == "keyring")
    );
}

#[test]
fn interior_nul_in_descriptions_is_refused_before_the_kernel() {
    let error = keyctl::request_key("user", b"a\0b", Some(b""), KeySerial::SESSION_KEYRING).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
}
