//! `id_resolver` key descriptions: `uid:NAME`, `gid:NAME`, `user:UID`, `group:GID`.
//!
//! Pure parsing, no I/O. The kernel (`fs/nfs/nfs4idmap.c`) builds each description as the type,
//! one `:`, then the value bytes. The reference splits with `strtok(":")` instead, which skips
//! empty fields and drops everything after a second `:`; we parse the kernel's shape exactly and
//! refuse descriptions where the two readings disagree (decisions.md #4), see [`Refusal`].

/// What an `id_resolver` key asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// `uid:` owner string → uid.
    NameToUid,
    /// `gid:` owner_group string → gid.
    NameToGid,
    /// `user:` decimal uid → owner string.
    UidToName,
    /// `group:` decimal gid → owner_group string.
    GidToName,
}

/// A parsed description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description<'a> {
    /// The type field as given (case-sensitive: `UID` is not `uid`).
    pub type_field: &'a [u8],
    /// The query, or `None` for a type the reference ignores (it exits 0 without instantiating).
    pub query: Option<Query>,
    /// The value: everything after the first `:`.
    pub value: &'a [u8],
}

/// Why a description is not answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No value at all (`uid:`, `uid::`, `nocolon`): the reference's "Null uid/gid value".
    NullValue,
    /// An empty field or a second `:` (`uid::a`, `:uid:a`, `uid:a:b`), which the reference reads
    /// by guessing (it skips empty fields and drops the tail). Ours refuses.
    Ambiguous,
}

impl<'a> Description<'a> {
    /// Parses `type:value`.
    pub fn parse(raw: &'a [u8]) -> Result<Self, Refusal> {
        let (type_field, value) = reference_split(raw);
        let value = value.ok_or(Refusal::NullValue)?;
        let type_field = type_field.ok_or(Refusal::NullValue)?;
        // The exact reading: type up to the first ':', value the rest, verbatim.
        let colon = raw
            .iter()
            .position(|&byte| byte == b':')
            .ok_or(Refusal::NullValue)?;
        let exact_type = raw.get(..colon).unwrap_or_default();
        let exact_value = raw.get(colon + 1..).unwrap_or_default();
        if exact_type != type_field || exact_value != value {
            return Err(Refusal::Ambiguous);
        }
        let query = match type_field {
            b"uid" => Some(Query::NameToUid),
            b"gid" => Some(Query::NameToGid),
            b"user" => Some(Query::UidToName),
            b"group" => Some(Query::GidToName),
            _ => None,
        };
        Ok(Self {
            type_field,
            query,
            value,
        })
    }
}

/// The reference's `strtok(desc, ":")` twice: the first and second non-empty fields.
#[must_use]
pub fn reference_split(raw: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let mut fields = raw.split(|&byte| byte == b':').filter(|field| !field.is_empty());
    (fields.next(), fields.next())
}

/// The payload of a `uid:`/`gid:` key: the decimal id and a NUL.
#[must_use]
pub fn id_payload(id: u32) -> Vec<u8> {
    let mut payload = id.to_string().into_bytes();
    payload.push(0);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_four_kernel_types_are_recognised() {
        let parsed = Description::parse(b"uid:alice@example.org").unwrap();
        assert_eq!(parsed.query, Some(Query::NameToUid));
        assert_eq!(parsed.value, b"alice@example.org");
        assert_eq!(
            Description::parse(b"gid:staff@d").unwrap().query,
            Some(Query::NameToGid)
        );
        assert_eq!(
            Description::parse(b"user:0").unwrap().query,
            Some(Query::UidToName)
        );
        assert_eq!(
            Description::parse(b"group:65534").unwrap().query,
            Some(Query::GidToName)
        );
    }

    #[test]
    fn type_matching_is_case_sensitive() {
        let parsed = Description::parse(b"UID:root@localdomain").unwrap();
        assert_eq!(parsed.query, None);
        assert_eq!(parsed.type_field, b"UID");
        assert_eq!(Description::parse(b"foo:bar").unwrap().query, None);
    }

    #[test]
    fn missing_value_is_the_null_value_error() {
        for raw in [&b"uid:"[..], b"uid::", b"nocolon", b"", b":", b"::"] {
            assert_eq!(Description::parse(raw), Err(Refusal::NullValue), "{raw:?}");
        }
    }

    #[test]
    fn empty_fields_and_second_colons_are_refused() {
        for raw in [&b"uid::alice@d"[..], b":uid:alice", b"uid:alice@d:x", b"uid:a:"] {
            assert_eq!(Description::parse(raw), Err(Refusal::Ambiguous), "{raw:?}");
        }
    }

    #[test]
    fn reference_split_skips_empty_fields_and_drops_the_tail() {
        assert_eq!(
            reference_split(b"uid::a@d"),
            (Some(&b"uid"[..]), Some(&b"a@d"[..]))
        );
        assert_eq!(
            reference_split(b"uid:a@d:x"),
            (Some(&b"uid"[..]), Some(&b"a@d"[..]))
        );
        assert_eq!(reference_split(b"nocolon"), (Some(&b"nocolon"[..]), None));
    }

    #[test]
    fn non_utf8_values_are_kept_as_bytes() {
        let parsed = Description::parse(b"uid:\xff\xfe@d").unwrap();
        assert_eq!(parsed.value, b"\xff\xfe@d");
    }

    #[test]
    fn id_payload_is_decimal_with_a_nul() {
        assert_eq!(id_payload(0), b"0\0");
        assert_eq!(id_payload(u32::MAX), b"4294967295\0");
        assert_eq!(id_payload(u32::MAX).len(), 11);
    }
}
