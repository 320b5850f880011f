//! One property check per fuzz target. Each takes arbitrary bytes and panics when a property of
//! `kup-sid` does not hold (the parsers themselves must never panic).

// `pub` for the fuzz crate; the same file is a private module of the corpus replay test.
#![allow(unreachable_pub)]

use std::cell::RefCell;
use std::ffi::CString;

use cifs_idmap::{IdMapper, NEGATIVE_TIMEOUT};
use kup_runtime::helper::Disposition;
use kup_sid::request::{self, RequestKind, reference_pick};
use kup_sid::sid::CIFS_SID_LEN;
use kup_sid::{NumberError, Request, Sid, parse_c_uint};
use kup_sys::plugin::{IdType, PluginError, UnixId};
use kup_text::{Radix, strtoul};

/// SID text: `parse` accepts exactly the canonical spelling (so `Display` gives the input back),
/// and the binary form round-trips.
pub fn sid_text(data: &[u8]) {
    let Ok(sid) = Sid::parse(data) else {
        return;
    };
    assert_eq!(
        sid.to_string().as_bytes(),
        data,
        "parse accepted a non-canonical spelling"
    );
    let binary = sid.to_cifs_sid();
    assert_eq!(Sid::from_cifs_sid(&binary), Ok(sid));
    assert!(
        binary[sid.meaningful_len()..].iter().all(|&byte| byte == 0),
        "tail not zeroed"
    );
    if sid.authority() < 1 << 40 {
        assert_eq!(sid.kernel_text(), sid.to_string());
    }
}

/// Binary SID: whatever the kernel-style reader accepts re-encodes to the same meaningful bytes
/// and survives a trip through text.
pub fn sid_binary(data: &[u8]) {
    let Ok(sid) = Sid::from_cifs_sid(data) else {
        return;
    };
    let length = sid.meaningful_len();
    assert!(length <= data.len());
    assert_eq!(&sid.to_cifs_sid()[..length], &data[..length]);
    assert_eq!(Sid::parse(sid.to_string().as_bytes()), Ok(sid));
}

/// Descriptions: our strict reading never disagrees with the reference's on what it accepts.
pub fn description(data: &[u8]) {
    let picked = reference_pick(data);
    match request::parse(data) {
        Ok(parsed) => {
            let (kind, value) = picked.expect("we accepted what the reference would not");
            assert_eq!(kind, parsed.kind());
            match parsed {
                Request::OwnerSid(ours) | Request::GroupSid(ours) => assert_eq!(ours, value),
                Request::OwnerId(id) | Request::GroupId(id) => assert_eq!(parse_c_uint(value), Ok(id)),
            }
        }
        Err(request::RequestError::BadId { kind, error }) => {
            let (reference_kind, value) = picked.expect("a bad id implies a prefix");
            assert_eq!(kind, reference_kind);
            assert!(matches!(kind, RequestKind::OwnerId | RequestKind::GroupId));
            assert_eq!(parse_c_uint(value), Err(error));
        }
        Err(request::RequestError::NoPrefix) => assert!(picked.is_none()),
        Err(request::RequestError::Ambiguous) => {}
    }
}

/// `parse_c_uint` against the glibc `strtoul` model in `kup-text` (tested against glibc itself):
/// the end check and the 32-bit range.
pub fn number(data: &[u8]) {
    if data.contains(&0) {
        // C strings end at the first NUL; callers never pass one (argv, describe strings).
        return;
    }
    let model = strtoul(data, Radix::AUTO);
    let expected = if model.consumed_all(data) {
        u32::try_from(model.value).map_err(|_| NumberError::Overflow)
    } else {
        Err(NumberError::Invalid)
    };
    assert_eq!(
        parse_c_uint(data),
        expected,
        "{:?}",
        String::from_utf8_lossy(data)
    );
}

/// cifs.idmap's answer path with a fake plugin. The input is the plugin's behaviour
/// ([`FAKE_LENGTH`] bytes: which calls fail, the id type and id it maps to, its error code, the
/// 68-byte SID it writes) and then the key's describe string. `cifs_idmap::answer` never panics,
/// asks the plugin exactly what the description says (and nothing for a refused one), and its
/// payload or failure is the one the plugin's answers call for: a mapped id of the side asked for
/// as 4 native-endian bytes, or the canonical 68-byte SID with a zero tail; every failure negates
/// the key for 60 s and logs one printable line.
pub fn cifs_answer(data: &[u8]) {
    let Some((behaviour, describe)) = data.split_first_chunk::<FAKE_LENGTH>() else {
        return;
    };
    let fake = Fake::new(behaviour);
    let result = cifs_idmap::answer(describe, &fake);
    let calls = fake.calls.into_inner();
    if let Err(failure) = &result {
        assert_eq!(
            failure.disposition,
            Some(Disposition::Negate {
                timeout_secs: NEGATIVE_TIMEOUT
            })
        );
        assert!(
            failure
                .message
                .bytes()
                .all(|byte| byte == b' ' || byte.is_ascii_graphic()),
            "unprintable log line {:?}",
            failure.message
        );
    }
    let low_byte = |code: i32| code.to_le_bytes()[0];
    let description = describe
        .splitn(5, |&byte| byte == b';')
        .nth(4)
        .unwrap_or(describe);
    let Ok(request) = request::parse(description) else {
        assert!(result.is_err(), "a refused description answered");
        assert!(
            calls.is_empty(),
            "the plugin was asked about a refused description"
        );
        return;
    };
    match request {
        Request::OwnerSid(value) | Request::GroupSid(value) => {
            let Ok(text) = CString::new(value) else {
                assert!(result.is_err() && calls.is_empty());
                return;
            };
            let owner = matches!(request, Request::OwnerSid(_));
            let mut expected_calls = vec![Call::StrToSid(text)];
            let expected = if fake.fail_str_to_sid {
                Err(low_byte(fake.code))
            } else {
                expected_calls.push(Call::SidToId(fake.sid));
                let acceptable = if owner {
                    matches!(fake.id_type, IdType::Uid | IdType::Both)
                } else {
                    matches!(fake.id_type, IdType::Gid | IdType::Both)
                };
                if fake.fail_sid_to_id {
                    Err(low_byte(fake.code))
                } else if acceptable {
                    Ok(fake.id.to_ne_bytes().to_vec())
                } else {
                    Err(low_byte(-22))
                }
            };
            assert_eq!(calls, expected_calls);
            assert_eq!(result.map_err(|failure| failure.exit_code), expected);
        }
        Request::OwnerId(id) | Request::GroupId(id) => {
            let id_type = if matches!(request, Request::OwnerId(_)) {
                IdType::Uid
            } else {
                IdType::Gid
            };
            assert_eq!(calls, [Call::IdToSid(UnixId { id, id_type })]);
            let expected = if fake.fail_id_to_sid {
                Err(low_byte(fake.code))
            } else if fake.sid[0] == 0 {
                Err(0)
            } else {
                match Sid::from_cifs_sid(&fake.sid) {
                    Ok(sid) => Ok(sid.to_cifs_sid().to_vec()),
                    Err(_) => Err(0xff),
                }
            };
            assert_eq!(result.map_err(|failure| failure.exit_code), expected);
            if let Ok(payload) = expected {
                let sid = Sid::from_cifs_sid(&payload).expect("the payload is a SID");
                assert_eq!(payload.len(), CIFS_SID_LEN);
                assert!(payload[sid.meaningful_len()..].iter().all(|&byte| byte == 0));
            }
        }
    }
}

/// The bytes of a `cifs_answer` input that drive the fake plugin.
pub const FAKE_LENGTH: usize = 1 + 4 + 4 + CIFS_SID_LEN;

/// A plugin call, as the fake saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    StrToSid(CString),
    SidToId([u8; CIFS_SID_LEN]),
    IdToSid(UnixId),
}

/// A plugin whose every answer comes from the fuzz input; it records the calls.
struct Fake {
    fail_str_to_sid: bool,
    fail_sid_to_id: bool,
    fail_id_to_sid: bool,
    id_type: IdType,
    id: u32,
    code: i32,
    sid: [u8; CIFS_SID_LEN],
    calls: RefCell<Vec<Call>>,
}

impl Fake {
    fn new(behaviour: &[u8; FAKE_LENGTH]) -> Self {
        let [flags, rest @ ..] = behaviour;
        let (id, rest) = rest.split_first_chunk::<4>().expect("4 bytes of id");
        let (code, sid) = rest.split_first_chunk::<4>().expect("4 bytes of code");
        Self {
            fail_str_to_sid: flags & 1 != 0,
            fail_sid_to_id: flags & 2 != 0,
            fail_id_to_sid: flags & 4 != 0,
            id_type: match flags >> 3 {
                0 => IdType::Unknown,
                1 => IdType::Uid,
                2 => IdType::Gid,
                3 => IdType::Both,
                other => IdType::Other(other),
            },
            id: u32::from_le_bytes(*id),
            code: i32::from_le_bytes(*code),
            sid: sid.try_into().expect("68 bytes of SID"),
            calls: RefCell::new(Vec::new()),
        }
    }

    fn error(&self) -> PluginError {
        PluginError {
            code: self.code,
            message: "fake plugin failure".to_owned(),
        }
    }
}

impl IdMapper for Fake {
    fn str_to_sid(&self, value: &CString) -> Result<[u8; CIFS_SID_LEN], PluginError> {
        self.calls.borrow_mut().push(Call::StrToSid(value.clone()));
        if self.fail_str_to_sid {
            Err(self.error())
        } else {
            Ok(self.sid)
        }
    }

    fn sid_to_id(&self, sid: &[u8; CIFS_SID_LEN]) -> Result<UnixId, PluginError> {
        self.calls.borrow_mut().push(Call::SidToId(*sid));
        if self.fail_sid_to_id {
            Err(self.error())
        } else {
            Ok(UnixId {
                id: self.id,
                id_type: self.id_type,
            })
        }
    }

    fn id_to_sid(&self, id: UnixId) -> Result<[u8; CIFS_SID_LEN], PluginError> {
        self.calls.borrow_mut().push(Call::IdToSid(id));
        if self.fail_id_to_sid {
            Err(self.error())
        } else {
            Ok(self.sid)
        }
    }
}
