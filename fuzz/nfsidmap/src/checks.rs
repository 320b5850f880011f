//! One property check per fuzz target. Each takes arbitrary bytes and panics when a property of
//! `kup-idmap` does not hold (the parsers themselves must never panic).

// `pub` for the fuzz crate; the same file is a private module of the corpus replay test.
#![allow(unreachable_pub)]

use std::cmp::Ordering;
use std::path::Path;

use kup_idmap::conf::Config;
use kup_idmap::description::{Description, Refusal, reference_split};
use kup_idmap::domain::first_txt_string;
use kup_idmap::idmap::{Idmap, NAME_BUFFER};
use kup_idmap::numbers::version_compare;
use kup_idmap::system::{Accounts, HostNaming};
use kup_sys::passwd::{Group, Passwd};
use kup_sys::{Gid, Uid};
use kup_text::{Radix, atoi, strtol};

/// Descriptions: an accepted one is exactly `type:value` with no further `:` and agrees with the
/// reference's `strtok` reading; a refusal is exactly where the reference has no value
/// (`NullValue`) or reads something else than the kernel's shape (`Ambiguous`).
pub fn description(data: &[u8]) {
    let reference = reference_split(data);
    match Description::parse(data) {
        Ok(parsed) => {
            let rebuilt = [parsed.type_field, b":", parsed.value].concat();
            assert_eq!(rebuilt, data, "accepted description does not rebuild");
            assert!(!parsed.value.contains(&b':') && !parsed.value.is_empty());
            assert_eq!(reference, (Some(parsed.type_field), Some(parsed.value)));
        }
        Err(Refusal::NullValue) => assert!(reference.1.is_none(), "value existed"),
        Err(Refusal::Ambiguous) => assert!(reference.1.is_some(), "no value at all"),
    }
}

/// idmapd.conf: parsing never panics; stored sections are lower-case, values non-empty and
/// single-line; every plain binding is visible to a lookup (unless it is a `$` reference).
pub fn config(data: &[u8]) {
    let config = Config::parse(data, Path::new("/nonexistent/kup-fuzz/idmapd.conf"));
    for binding in config.bindings() {
        assert!(!binding.value.is_empty(), "empty value stored");
        assert!(!binding.value.contains(&b'\n') && !binding.tag.contains(&b'\n'));
        assert_eq!(binding.section, binding.section.to_ascii_lowercase());
        assert!(!binding.tag.is_empty());
        if binding.subsection.is_none() && !binding.value.starts_with(b"$") {
            let section = String::from_utf8_lossy(&binding.section);
            if section.as_bytes() == binding.section.as_slice() {
                assert!(config.get(&section, &binding.tag).is_some(), "binding invisible");
            }
        }
    }
    let _ = config.get_list("Translation", b"Method");
    let _ = config.get_number("General", b"Verbosity", 0);
}

/// DNS answers: never a panic; a result is at most 255 bytes and NUL-free.
pub fn txt_answer(data: &[u8]) {
    if let Some(text) = first_txt_string(data) {
        assert!(text.len() <= 255 && !text.contains(&0));
    }
}

/// C number rules and the version order: no panic, `atoi` is `strtol` truncated, the order is
/// antisymmetric and reflexive.
pub fn numbers(data: &[u8]) {
    let value = strtol(data, Radix::DECIMAL).value;
    #[allow(clippy::cast_possible_truncation)]
    let truncated = value as i32;
    assert_eq!(atoi(data), truncated);
    let (left, right) = data.split_at(data.len() / 2);
    assert_eq!(
        version_compare(left, right),
        version_compare(right, left).reverse()
    );
    assert_eq!(version_compare(left, left), Ordering::Equal);
}

struct Table;

impl Accounts for Table {
    fn user_by_name(&self, name: &[u8]) -> Result<Option<Passwd>, i32> {
        Ok(match name {
            b"root" => Some(Passwd {
                name: b"root".to_vec(),
                uid: Uid::new(0),
                gid: Gid::new(0),
            }),
            b"nobody" => Some(Passwd {
                name: b"nobody".to_vec(),
                uid: Uid::new(65534),
                gid: Gid::new(65534),
            }),
            b"alice" => Some(Passwd {
                name: b"alice".to_vec(),
                uid: Uid::new(1000),
                gid: Gid::new(100),
            }),
            _ => None,
        })
    }
    fn user_by_uid(&self, uid: Uid) -> Result<Option<Passwd>, i32> {
        Ok((uid.get() == 1000).then(|| Passwd {
            name: b"alice".to_vec(),
            uid,
            gid: Gid::new(100),
        }))
    }
    fn group_by_name(&self, name: &[u8]) -> Result<Option<Group>, i32> {
        Ok((name == b"users").then(|| Group {
            name: b"users".to_vec(),
            gid: Gid::new(100),
        }))
    }
    fn group_by_gid(&self, gid: Gid) -> Result<Option<Group>, i32> {
        Ok((gid.get() == 100).then(|| Group {
            name: b"users".to_vec(),
            gid,
        }))
    }
    fn group_list(&self, _user: &[u8], primary: Gid) -> Result<Vec<Gid>, i32> {
        Ok(vec![primary])
    }
}

struct Host;

impl HostNaming for Host {
    fn host_name(&self) -> Option<Vec<u8>> {
        Some(b"h".to_vec())
    }
    fn canonical_name(&self, _name: &[u8]) -> Option<Vec<u8>> {
        Some(b"h.fuzz.test".to_vec())
    }
    fn txt_query(&self, _name: &[u8], _domain: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

/// The whole library on a fuzzed config (first line of the input is a name to map): init either
/// fails cleanly or every lookup answers without panicking, names fit the buffer.
pub fn mapping(data: &[u8]) {
    let (name, text) = data
        .iter()
        .position(|&byte| byte == b'\n')
        .map_or((data, &b""[..]), |newline| {
            (&data[..newline], &data[newline + 1..])
        });
    let config = Config::parse(text, Path::new("/nonexistent/kup-fuzz/idmapd.conf"));
    let Ok(idmap) = Idmap::new(config, Table, &Host, 0, Box::new(|_| {})) else {
        return;
    };
    let _ = idmap.owner_to_uid(name);
    let _ = idmap.group_owner_to_gid(name);
    for id in [0, 100, 1000, 65534] {
        if let Ok(owner) = idmap.uid_to_name(Uid::new(id), NAME_BUFFER) {
            assert!(owner.len() < NAME_BUFFER);
        }
        if let Ok(owner) = idmap.gid_to_name(Gid::new(id), NAME_BUFFER) {
            assert!(owner.len() < NAME_BUFFER);
        }
    }
    let _ = idmap.principal_to_ids(b"krb5", name);
    let _ = idmap.principal_to_groups(b"krb5", name);
}
