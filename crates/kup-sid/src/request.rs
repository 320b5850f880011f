//! The four `cifs.idmap` key descriptions the kernel sends, and how they are read.
//!
//! The kernel writes exactly one of `os:<SID>`, `gs:<SID>` (map a SID to a uid / gid) or
//! `oi:<uid>`, `gi:<gid>` (map an id to a SID), with the SID in [`crate::Sid::kernel_text`] form
//! and the id in plain decimal.
//!
//! Two readers:
//! - [`reference_pick`]: what cifs.idmap 7.0 does. It searches the **whole** describe string
//!   (`type;uid;gid;perm;description`) for `os:`, then `gs:`, `oi:`, `gi:`, anywhere; a prefix
//!   with nothing after it counts as absent. The value is everything after the prefix.
//! - [`parse`] (ours): the description proper must **start** with one of the prefixes, be followed
//!   by a value, and contain no second prefix. Anything the reference would have to guess about
//!   (`gs:x os:S-1-1-0`, `xos:…`) is refused ([`RequestError::Ambiguous`], a recorded divergence
//!   under decision 4); every description the kernel can send reads the same in both. Ids are
//!   parsed with [`crate::parse_c_uint`] exactly like the reference (`oi:0x3e8` is 1000).
//!
//! Must not: do I/O, panic.

use std::fmt;

use crate::number::{NumberError, parse_c_uint};

/// Which question a description asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `os:` — owner SID to uid.
    OwnerSid,
    /// `gs:` — group SID to gid.
    GroupSid,
    /// `oi:` — uid to owner SID.
    OwnerId,
    /// `gi:` — gid to group SID.
    GroupId,
}

impl RequestKind {
    /// All kinds, in the order the reference tries them.
    pub const ALL: [Self; 4] = [Self::OwnerSid, Self::GroupSid, Self::OwnerId, Self::GroupId];

    /// The description prefix.
    #[must_use]
    pub const fn prefix(self) -> &'static [u8] {
        match self {
            Self::OwnerSid => b"os:",
            Self::GroupSid => b"gs:",
            Self::OwnerId => b"oi:",
            Self::GroupId => b"gi:",
        }
    }
}

/// A parsed description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `os:<value>`: the value is handed to the plugin's `str_to_sid` as is (a SID string, or a
    /// name the plugin may resolve, as the reference allows).
    OwnerSid(&'a [u8]),
    /// `gs:<value>`.
    GroupSid(&'a [u8]),
    /// `oi:<uid>`.
    OwnerId(u32),
    /// `gi:<gid>`.
    GroupId(u32),
}

impl Request<'_> {
    /// Which kind of request this is.
    #[must_use]
    pub const fn kind(&self) -> RequestKind {
        match self {
            Self::OwnerSid(_) => RequestKind::OwnerSid,
            Self::GroupSid(_) => RequestKind::GroupSid,
            Self::OwnerId(_) => RequestKind::OwnerId,
            Self::GroupId(_) => RequestKind::GroupId,
        }
    }
}

/// Why a description is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// No prefix followed by a value: the reference's "Invalid key" (exit status 1).
    NoPrefix,
    /// The prefix is not at the start, or a second prefix follows (ours only; exit status 1).
    Ambiguous,
    /// The id of `oi:`/`gi:` is not a number or too large (exit status 22 / 75, as the reference).
    BadId {
        /// `OwnerId` or `GroupId`.
        kind: RequestKind,
        /// Which number error.
        error: NumberError,
    },
}

impl fmt::Display for RequestError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoPrefix => formatter.write_str("no os:, gs:, oi: or gi: request in the description"),
            Self::Ambiguous => formatter
                .write_str("description does not start with exactly one os:, gs:, oi: or gi: request"),
            Self::BadId { kind, error } => {
                let what = if *kind == RequestKind::GroupId {
                    "gid"
                } else {
                    "uid"
                };
                write!(formatter, "bad {what}: {error}")
            }
        }
    }
}

impl std::error::Error for RequestError {}

/// The reference's rule over the whole describe string: the first kind (in [`RequestKind::ALL`]
/// order) whose prefix occurs with at least one byte after its first occurrence, and that value.
#[must_use]
pub fn reference_pick(describe: &[u8]) -> Option<(RequestKind, &[u8])> {
    RequestKind::ALL.into_iter().find_map(|kind| {
        let prefix = kind.prefix();
        let start = find(describe, prefix)?;
        let value = describe.get(start.saturating_add(prefix.len())..)?;
        (!value.is_empty()).then_some((kind, value))
    })
}

/// Our reading of the description proper (the text after the fourth `;` of the describe string).
pub fn parse(description: &[u8]) -> Result<Request<'_>, RequestError> {
    let Some((kind, value)) = RequestKind::ALL
        .into_iter()
        .find_map(|kind| description.strip_prefix(kind.prefix()).map(|value| (kind, value)))
    else {
        return Err(if reference_pick(description).is_some() {
            RequestError::Ambiguous
        } else {
            RequestError::NoPrefix
        });
    };
    if value.is_empty() {
        return Err(if reference_pick(description).is_some() {
            RequestError::Ambiguous
        } else {
            RequestError::NoPrefix
        });
    }
    let repeated = RequestKind::ALL
        .into_iter()
        .any(|other| find(value, other.prefix()).is_some());
    if repeated {
        return Err(RequestError::Ambiguous);
    }
    let id = |kind| parse_c_uint(value).map_err(|error| RequestError::BadId { kind, error });
    Ok(match kind {
        RequestKind::OwnerSid => Request::OwnerSid(value),
        RequestKind::GroupSid => Request::GroupSid(value),
        RequestKind::OwnerId => Request::OwnerId(id(kind)?),
        RequestKind::GroupId => Request::GroupId(id(kind)?),
    })
}

/// First occurrence of `needle` in `haystack` (`strstr`).
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_descriptions_parse_to_their_request() {
        assert_eq!(
            parse(b"os:S-1-5-21-3623811015-3361044348-30300820-1013"),
            Ok(Request::OwnerSid(b"S-1-5-21-3623811015-3361044348-30300820-1013"))
        );
        assert_eq!(parse(b"gs:S-1-5-32-544"), Ok(Request::GroupSid(b"S-1-5-32-544")));
        assert_eq!(parse(b"oi:1000"), Ok(Request::OwnerId(1000)));
        assert_eq!(parse(b"gi:0"), Ok(Request::GroupId(0)));
        assert_eq!(
            parse(b"gi:0").map(|request| request.kind()),
            Ok(RequestKind::GroupId)
        );
    }

    #[test]
    fn ids_use_the_reference_number_rules() {
        assert_eq!(parse(b"oi:0x3e8"), Ok(Request::OwnerId(1000)));
        assert_eq!(parse(b"oi:010"), Ok(Request::OwnerId(8)));
        assert_eq!(parse(b"oi: 73001"), Ok(Request::OwnerId(73001)));
        assert_eq!(parse(b"oi:+73001"), Ok(Request::OwnerId(73001)));
        assert_eq!(parse(b"oi:-0"), Ok(Request::OwnerId(0)));
        assert_eq!(parse(b"gi:4294967295"), Ok(Request::GroupId(u32::MAX)));
        let bad = |kind, error| Err(RequestError::BadId { kind, error });
        assert_eq!(parse(b"oi:abc"), bad(RequestKind::OwnerId, NumberError::Invalid));
        assert_eq!(
            parse(b"oi:73001 "),
            bad(RequestKind::OwnerId, NumberError::Invalid)
        );
        assert_eq!(parse(b"oi:-1"), bad(RequestKind::OwnerId, NumberError::Overflow));
        assert_eq!(
            parse(b"gi:4294967296"),
            bad(RequestKind::GroupId, NumberError::Overflow)
        );
    }

    #[test]
    fn a_prefix_with_nothing_after_it_is_no_request() {
        assert_eq!(parse(b"os:"), Err(RequestError::NoPrefix));
        assert_eq!(parse(b"xx:1"), Err(RequestError::NoPrefix));
        assert_eq!(parse(b""), Err(RequestError::NoPrefix));
        assert_eq!(reference_pick(b"user;0;0;3f010000;os:"), None);
    }

    #[test]
    fn the_reference_searches_anywhere_in_priority_order() {
        assert_eq!(
            reference_pick(b"cifs.idmap;0;0;39010000;os:S-1-1-0"),
            Some((RequestKind::OwnerSid, &b"S-1-1-0"[..]))
        );
        assert_eq!(
            reference_pick(b"user;0;0;3f010000;gs:S-1-1-0 os:S-1-5-18"),
            Some((RequestKind::OwnerSid, &b"S-1-5-18"[..]))
        );
        assert_eq!(
            reference_pick(b"x;os:gi:5"),
            Some((RequestKind::OwnerSid, &b"gi:5"[..]))
        );
        assert_eq!(reference_pick(b"os:"), None, "empty value after the only prefix");
        assert_eq!(
            reference_pick(b"gi:7os:"),
            Some((RequestKind::GroupId, &b"7os:"[..]))
        );
    }

    #[test]
    fn descriptions_the_reference_would_guess_about_are_refused() {
        assert_eq!(parse(b"gs:S-1-1-0 os:S-1-5-18"), Err(RequestError::Ambiguous));
        assert_eq!(parse(b"xos:S-1-1-0"), Err(RequestError::Ambiguous));
        assert_eq!(parse(b"os:gi:5"), Err(RequestError::Ambiguous));
        assert_eq!(parse(b"os:oi:"), Err(RequestError::Ambiguous));
        assert_eq!(parse(b"gi:7os:"), Err(RequestError::Ambiguous));
        assert_eq!(parse(b"os:gs:"), Err(RequestError::Ambiguous));
    }

    #[test]
    fn sid_values_are_passed_through_unparsed() {
        assert_eq!(parse(b"os:UFS\\alice"), Ok(Request::OwnerSid(b"UFS\\alice")));
        assert_eq!(parse(b"gs:\xff\xfe"), Ok(Request::GroupSid(b"\xff\xfe")));
    }

    #[test]
    fn errors_render_as_sentences() {
        assert_eq!(
            RequestError::BadId {
                kind: RequestKind::GroupId,
                error: NumberError::Overflow
            }
            .to_string(),
            "bad gid: Value too large for defined data type"
        );
        assert!(RequestError::NoPrefix.to_string().contains("os:"));
        assert!(RequestError::Ambiguous.to_string().contains("exactly one"));
    }
}
