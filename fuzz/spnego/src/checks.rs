//! One property check per fuzz target, and a minimal DER reader written independently of the
//! encoder, to decode what `kup_spnego::token` writes. Each check takes arbitrary bytes and panics
//! when a property does not hold (the code under test itself must never panic).

// `pub` for the fuzz crate; the same file is a private module of the replay tests.
#![allow(unreachable_pub, dead_code)]

use kup_spnego::description::{self, DescriptionError, Duplicates, Field, Mode};
use kup_spnego::environ::krb5ccname;
use kup_spnego::payload::{HEADER_LEN, TRAILER_LEN};
use kup_spnego::token::{KRB5_OID, SPNEGO_OID};
use kup_spnego::{Mech, SecretBytes, build_payload, krb5_initial_token, spnego_init};

/// One decoded DER element: tag, content, and the bytes after it.
#[derive(Debug)]
pub struct Element<'a> {
    /// The identifier octet (single-byte tags only).
    pub tag: u8,
    /// The content octets.
    pub content: &'a [u8],
    /// What follows the element.
    pub rest: &'a [u8],
}

/// Reads one element with a definite length, insisting on the minimal length form.
pub fn read(input: &[u8]) -> Result<Element<'_>, String> {
    let (&tag, after_tag) = input.split_first().ok_or("no tag")?;
    if tag & 0x1f == 0x1f {
        return Err("multi-byte tag".into());
    }
    let (&first, mut after) = after_tag.split_first().ok_or("no length")?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 8 || count > after.len() {
            return Err(format!("bad long length form {first:#x}"));
        }
        let (bytes, rest) = after.split_at(count);
        after = rest;
        if bytes[0] == 0 {
            return Err("length with a leading zero byte".into());
        }
        let length = bytes
            .iter()
            .fold(0usize, |sum, &byte| (sum << 8) | usize::from(byte));
        if length < 0x80 {
            return Err("long form for a short length".into());
        }
        length
    };
    if length > after.len() {
        return Err(format!("length {length} past the end ({} left)", after.len()));
    }
    let (content, rest) = after.split_at(length);
    Ok(Element { tag, content, rest })
}

/// Reads exactly one element of `tag` filling `input`.
pub fn read_only(input: &[u8], tag: u8) -> Result<&[u8], String> {
    let element = read(input)?;
    if element.tag != tag {
        return Err(format!("tag {:#x}, wanted {tag:#x}", element.tag));
    }
    if !element.rest.is_empty() {
        return Err(format!("{} trailing bytes after {tag:#x}", element.rest.len()));
    }
    Ok(element.content)
}

/// Reads the next element, which must have `tag`; returns its content and the rest.
pub fn read_tag(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), String> {
    let element = read(input)?;
    if element.tag != tag {
        return Err(format!("tag {:#x}, wanted {tag:#x}", element.tag));
    }
    Ok((element.content, element.rest))
}

/// A decoded SPNEGO blob: the offered mechanism OID and the inner AP-REQ.
#[derive(Debug, PartialEq, Eq)]
pub struct Decoded<'a> {
    /// The mechTypes OID content.
    pub mech_oid: &'a [u8],
    /// The AP-REQ inside the inner GSS-API token.
    pub ap_req: &'a [u8],
}

/// Decodes a `NegTokenInit` around a krb5 initial context token, as spec §15 lays it out.
pub fn decode_blob(blob: &[u8]) -> Result<Decoded<'_>, String> {
    let outer = read_only(blob, 0x60)?;
    let (oid, rest) = read_tag(outer, 0x06)?;
    if oid != SPNEGO_OID {
        return Err("not the SPNEGO OID".into());
    }
    let init = read_only(rest, 0xa0)?;
    let sequence = read_only(init, 0x30)?;
    let (mech_types, rest) = read_tag(sequence, 0xa0)?;
    let mech_list = read_only(mech_types, 0x30)?;
    let mech_oid = read_only(mech_list, 0x06)?;
    let mech_token = read_only(rest, 0xa2)?;
    let inner = read_only(mech_token, 0x04)?;
    let gss = read_only(inner, 0x60)?;
    let (inner_oid, rest) = read_tag(gss, 0x06)?;
    if inner_oid != KRB5_OID {
        return Err("inner token OID is not krb5".into());
    }
    let ap_req = rest.strip_prefix(&[0x01, 0x00]).ok_or("token id is not AP-REQ")?;
    Ok(Decoded { mech_oid, ap_req })
}

/// `description` target: both rules never panic; ours accepts only what the reference's rule
/// accepts, with the same fields; a repeated field is the only extra refusal; a request that
/// passes the checks has the fields the checks demand.
pub fn description(data: &[u8]) {
    let _ = Mode::of(data);
    let _ = description::resolver_name(data);
    let reference = description::parse(data, Duplicates::LastWins);
    match description::parse(data, Duplicates::Refuse) {
        Ok(ours) => {
            assert_eq!(
                Ok(&ours),
                reference.as_ref(),
                "ours and the reference read differently"
            );
            for legacy in [false, true] {
                if let Ok(request) = description::validate(ours.clone(), legacy) {
                    assert!(request.version <= 2);
                    assert!(request.host.len() < 1025);
                    assert!(ours.has(Field::Host) && ours.has(Field::Version) && ours.sec.is_some());
                    assert_eq!(request.address.is_some(), ours.has(Field::Address));
                    assert!(request.user.as_ref().is_none_or(|user| user.len() <= 256));
                }
            }
        }
        Err(DescriptionError::Repeated { field, offset }) => {
            let tail = data.get(offset..).expect("offset inside the input");
            assert!(offset == 0 || data[offset - 1] == b';');
            let token = tail.split(|&byte| byte == b';').next().unwrap_or_default();
            let name = field.name();
            let names: Vec<&str> = if field == Field::Address {
                vec!["ip4", "ip6"]
            } else {
                vec![name]
            };
            assert!(
                names
                    .iter()
                    .any(|name| token.starts_with(format!("{name}=").as_bytes())),
                "the repeated field is not at the offset"
            );
        }
        Err(error) => assert_eq!(
            reference.err(),
            Some(error),
            "a value error the reference does not have"
        ),
    }
}

/// `environ` target: the value found is the tail of the first matching, non-empty entry.
pub fn environ(data: &[u8]) {
    let found = krb5ccname(data);
    let model = data
        .split(|&byte| byte == 0)
        .find(|entry| entry.len() > 11 && entry.starts_with(b"KRB5CCNAME="))
        .map(|entry| &entry[11..]);
    assert_eq!(found, model);
    if let Some(value) = found {
        assert!(!value.is_empty() && !value.contains(&0));
    }
}

/// `token` target: the first byte picks the mechanism, the next two the session key length, the
/// rest is the AP-REQ. The blob decodes (independent reader) to that mechanism and those exact
/// bytes, and the payload's lengths cover it exactly.
pub fn token(data: &[u8]) {
    let (&selector, rest) = data.split_first().unwrap_or((&0, &[]));
    let mech = match selector % 3 {
        0 => Mech::Krb5,
        1 => Mech::MsKrb5,
        _ => Mech::Iakerb,
    };
    let (key_length, ap_req) = match rest {
        [high, low, tail @ ..] => (usize::from(u16::from_be_bytes([*high, *low]) % 65), tail),
        _ => (0, rest),
    };
    let blob = spnego_init(mech, &krb5_initial_token(ap_req));
    let decoded = decode_blob(&blob).unwrap_or_else(|error| panic!("blob does not decode: {error}"));
    assert_eq!(
        decoded,
        Decoded {
            mech_oid: mech.oid(),
            ap_req
        }
    );

    let key = SecretBytes::new(vec![0xa5; key_length]);
    let payload = build_payload(2, &key, &blob).expect("small parts fit");
    let bytes = payload.as_bytes();
    let field = |index: usize| u32::from_ne_bytes(bytes[index * 4..index * 4 + 4].try_into().unwrap());
    assert_eq!((field(0), field(1)), (2, 0));
    assert_eq!(field(2) as usize, key_length);
    assert_eq!(field(3) as usize, blob.len());
    assert_eq!(bytes.len(), HEADER_LEN + key_length + blob.len() + TRAILER_LEN);
    assert_eq!(
        &bytes[HEADER_LEN + key_length..HEADER_LEN + key_length + blob.len()],
        &blob[..]
    );
    assert!(bytes.ends_with(&[0; TRAILER_LEN]));
}
