//! What the kernel asks: the describe string and callout info of a `dns_resolver` key, turned
//! into a [`Query`] exactly as keyutils 1.6.3 does (facts: `docs/compat/key.dns_resolver.md`).
//!
//! Pure: bytes in, typed request or an [`Error`] out.

use kup_dns::address::Family;

use crate::error::{Error, Malformed, Refused};

/// The key type this helper serves.
pub const KEY_TYPE: &[u8] = b"dns_resolver";

/// A parsed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// No prefix, `a:` or `aaaa:`: host addresses through `getaddrinfo`.
    Address {
        /// The host name (bytes after the prefix).
        name: Vec<u8>,
        /// What the callout options ask for.
        options: AddressOptions,
    },
    /// `afsdb:`: the volume location servers of an AFS cell.
    Afs {
        /// The cell name.
        cell: Vec<u8>,
        /// `ipv4`/`ipv6` restriction (exact callout string), else both.
        family: Family,
    },
}

/// The address-lookup options from the callout info.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressOptions {
    /// Address family asked of `getaddrinfo`.
    pub family: Family,
    /// Only the first address (no `list`).
    pub first_only: bool,
}

/// The C code treats describe strings and callout info as C strings: text after a NUL is
/// invisible.
#[must_use]
pub fn c_string(bytes: &[u8]) -> &[u8] {
    bytes.split(|&byte| byte == 0).next().unwrap_or_default()
}

/// The describe string used in `-D` mode: `dns_resolver;-1;-1;0;<desc>`.
#[must_use]
pub fn debug_describe(description: &[u8]) -> Vec<u8> {
    [KEY_TYPE, b";-1;-1;0;", c_string(description)].concat()
}

/// Checks the key type and returns the name part: the text after the **last** `;` (the
/// reference's rule; request-key uses the fourth `;`).
pub fn key_name(describe: &[u8]) -> Result<&[u8], Error> {
    let describe = c_string(describe);
    let Some(first) = describe.iter().position(|&byte| byte == b';') else {
        return Err(Malformed::Description(describe.to_vec()).into());
    };
    let key_type = describe.get(..first).unwrap_or_default();
    if key_type != KEY_TYPE {
        return Err(Refused::KeyType(key_type.to_vec()).into());
    }
    let rest = describe.get(first + 1..).unwrap_or_default();
    let Some(last) = rest.iter().rposition(|&byte| byte == b';') else {
        return Err(Malformed::NoName(describe.to_vec()).into());
    };
    Ok(rest.get(last + 1..).unwrap_or_default())
}

/// Splits `[type:]name` and parses the callout options for that type.
pub fn parse_query(name: &[u8], callout: &[u8]) -> Result<Query, Error> {
    let callout = c_string(callout);
    let Some(colon) = name.iter().position(|&byte| byte == b':') else {
        return Ok(Query::Address {
            name: name.to_vec(),
            options: address_options(callout)?,
        });
    };
    let query_type = name.get(..colon).unwrap_or_default();
    let rest = name.get(colon + 1..).unwrap_or_default().to_vec();
    match query_type {
        b"a" | b"aaaa" => Ok(Query::Address {
            name: rest,
            options: address_options(callout)?,
        }),
        b"afsdb" => Ok(Query::Afs {
            cell: rest,
            family: match callout {
                b"ipv4" => Family::Ipv4,
                b"ipv6" => Family::Ipv6,
                _ => Family::Any,
            },
        }),
        other => Err(Refused::QueryType(other.to_vec()).into()),
    }
}

/// Whether an `afsdb:` callout asks for the binary server list the way kafs-client's helper reads
/// it: comma-separated options, one of them `srv=<version>` with a version of 1 or more.
#[must_use]
pub fn asks_for_server_list(callout: &[u8]) -> bool {
    c_string(callout).split(|&byte| byte == b',').any(|option| {
        option
            .strip_prefix(b"srv=")
            .and_then(|version| std::str::from_utf8(version).ok())
            .and_then(|version| version.parse::<u32>().ok())
            .is_some_and(|version| version >= 1)
    })
}

/// The query type text (before the first `:`), for the reference's info line.
#[must_use]
pub fn query_type(name: &[u8]) -> Option<&[u8]> {
    name.iter()
        .position(|&byte| byte == b':')
        .and_then(|colon| name.get(..colon))
}

/// Callout options of an address lookup. Empty: legacy mode (IPv4, first address). Otherwise
/// space-separated words, starting from "both families, first address": `ipv4`, `ipv6` (last
/// one wins), `list`; `k=v` compares only `k`; unknown words are ignored; a word with a comma is
/// an error.
pub fn address_options(callout: &[u8]) -> Result<AddressOptions, Error> {
    let callout = c_string(callout);
    if callout.is_empty() {
        return Ok(AddressOptions {
            family: Family::Ipv4,
            first_only: true,
        });
    }
    let mut options = AddressOptions {
        family: Family::Any,
        first_only: true,
    };
    for word in callout
        .split(|&byte| byte == b' ')
        .filter(|word| !word.is_empty())
    {
        if word.contains(&b',') {
            return Err(Malformed::OptionComma(word.to_vec()).into());
        }
        let key = word.split(|&byte| byte == b'=').next().unwrap_or_default();
        match key {
            b"ipv4" => options.family = Family::Ipv4,
            b"ipv6" => options.family = Family::Ipv6,
            b"list" => options.first_only = false,
            _ => {}
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(name: &str, family: Family, first_only: bool) -> Query {
        Query::Address {
            name: name.as_bytes().to_vec(),
            options: AddressOptions { family, first_only },
        }
    }

    #[test]
    fn plain_names_are_address_lookups_in_legacy_mode() {
        assert_eq!(
            parse_query(b"server.example.org", b"").unwrap(),
            address("server.example.org", Family::Ipv4, true)
        );
    }

    #[test]
    fn a_and_aaaa_prefixes_behave_the_same() {
        for prefix in ["a:", "aaaa:"] {
            let name = format!("{prefix}host");
            assert_eq!(
                parse_query(name.as_bytes(), b"list").unwrap(),
                address("host", Family::Any, false)
            );
        }
    }

    #[test]
    fn option_words_are_applied_in_order() {
        let cases: [(&[u8], Family, bool); 8] = [
            (b"list", Family::Any, false),
            (b"ipv4", Family::Ipv4, true),
            (b"ipv6 list", Family::Ipv6, false),
            (b"ipv4 ipv6", Family::Ipv6, true),
            (b"ipv6 ipv4", Family::Ipv4, true),
            (b"list=0", Family::Any, false),
            (b"  bogus   ipv6=x  ", Family::Ipv6, true),
            (b"srv=1", Family::Any, true),
        ];
        for (callout, family, first_only) in cases {
            assert_eq!(
                address_options(callout).unwrap(),
                AddressOptions { family, first_only },
                "{:?}",
                String::from_utf8_lossy(callout)
            );
        }
    }

    #[test]
    fn tabs_do_not_separate_words() {
        assert_eq!(
            address_options(b"ipv6\tlist").unwrap(),
            AddressOptions {
                family: Family::Any,
                first_only: true
            }
        );
    }

    #[test]
    fn a_comma_in_a_word_is_refused() {
        assert_eq!(
            address_options(b"list,ipv4").unwrap_err().to_string(),
            "Option name 'list,ipv4' contains a comma"
        );
        assert!(address_options(b"ipv4 a=b,c").is_err());
    }

    #[test]
    fn afsdb_family_needs_the_exact_callout() {
        let family = |callout: &[u8]| match parse_query(b"afsdb:example.org", callout).unwrap() {
            Query::Afs { family, .. } => family,
            Query::Address { .. } => panic!("not AFS"),
        };
        assert_eq!(family(b"ipv4"), Family::Ipv4);
        assert_eq!(family(b"ipv6"), Family::Ipv6);
        assert_eq!(family(b"srv=1"), Family::Any);
        assert_eq!(family(b"ipv4 list"), Family::Any);
        assert_eq!(family(b""), Family::Any);
        // No word parsing, so a comma is fine here.
        assert_eq!(family(b"srv=1,ipv4"), Family::Any);
    }

    #[test]
    fn unsupported_types_are_refused_case_sensitively() {
        for name in ["srv:foo", "A:host", "AFSDB:cell", ":host", "afs:x"] {
            let error = parse_query(name.as_bytes(), b"").unwrap_err();
            assert!(
                error.to_string().starts_with("Query type: \""),
                "{name}: {error:?}"
            );
        }
        assert_eq!(
            parse_query(b"srv:foo", b"").unwrap_err().to_string(),
            "Query type: \"srv\" is not supported"
        );
    }

    #[test]
    fn only_the_first_colon_splits() {
        assert_eq!(
            parse_query(b"a:fe80::1", b"").unwrap(),
            address("fe80::1", Family::Ipv4, true)
        );
    }

    #[test]
    fn key_name_is_after_the_last_semicolon() {
        assert_eq!(key_name(b"dns_resolver;0;0;3b010000;host").unwrap(), b"host");
        assert_eq!(key_name(b"dns_resolver;0;0;3b010000;a;b").unwrap(), b"b");
        assert_eq!(key_name(b"dns_resolver;0;0;3b010000;").unwrap(), b"");
        assert_eq!(key_name(&debug_describe(b"x;y")).unwrap(), b"y");
    }

    #[test]
    fn wrong_key_types_and_shapes_are_refused() {
        assert_eq!(
            key_name(b"user;0;0;3f010000;host").unwrap_err().to_string(),
            "Key type is not supported: 'user'"
        );
        assert_eq!(
            key_name(b"dns_resolverx;0;0;0;host").unwrap_err().to_string(),
            "Key type is not supported: 'dns_resolverx'"
        );
        assert_eq!(
            key_name(b"dns_resolver").unwrap_err().to_string(),
            "Badly formatted key description 'dns_resolver'"
        );
        assert_eq!(
            key_name(b"dns_resolver;host").unwrap_err().to_string(),
            "Invalid key description: dns_resolver;host"
        );
    }

    #[test]
    fn server_list_is_asked_with_srv_one_or_later() {
        assert!(asks_for_server_list(b"srv=1"));
        assert!(asks_for_server_list(b"ipv4,srv=2"));
        assert!(!asks_for_server_list(b"srv=0"));
        assert!(!asks_for_server_list(b""));
        assert!(!asks_for_server_list(b"srv=x"));
        assert!(!asks_for_server_list(b"list"));
    }

    #[test]
    fn nul_bytes_end_c_strings() {
        assert!(!address_options(b"list\0,junk").unwrap().first_only);
        assert_eq!(key_name(b"dns_resolver;0;0;0;host\0;x").unwrap(), b"host");
    }
}
