//! The NFSv4 domain decision (libnfsidmap `nfs4_init_name_mapping` / `domain_from_dns`).
//!
//! Order: `[General] Domain`; else the host's canonical name after its first `.`, replaced by the
//! first string of a `_nfsv4idmapdomain.<that domain>` TXT record when one exists; else
//! `localdomain` (also when the host name does not resolve: that is nfs-utils 2.6.2). The DNS answer is parsed here (pure); the query itself is [`HostNaming`]'s.
//! Divergence: the reference reads the answer without bounds checks; a malformed answer here is
//! "no TXT record" (the derived domain is used). The DNS wire walking (header, name skipping and
//! expansion with glibc's limits) is `kup-dns`'s, the one DNS codec of the workspace.

use kup_dns::message::{HEADER_LENGTH, Header};
use kup_dns::name::Name;

use crate::system::HostNaming;

/// The fallback domain.
pub const DEFAULT_DOMAIN: &[u8] = b"localdomain";

/// The TXT owner name the reference queries under the derived domain.
pub const TXT_RECORD: &[u8] = b"_nfsv4idmapdomain";

/// Where the domain came from (the reference logs "(default)" for anything not configured).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `[General] Domain`.
    Configured,
    /// Host name or DNS TXT record.
    Derived,
    /// Nothing worked: `localdomain`.
    Fallback,
}

/// One log line the decision wants written, with its libnfsidmap verbosity level.
pub type Note = (u32, String);

/// Decides the domain. `configured` is `[General] Domain` after `$` expansion.
pub fn decide(
    configured: Option<Vec<u8>>,
    host: &dyn HostNaming,
    notes: &mut Vec<Note>,
) -> (Vec<u8>, Origin) {
    if let Some(domain) = configured {
        return (domain, Origin::Configured);
    }
    if let Some(domain) = from_host(host) {
        return (domain, Origin::Derived);
    }
    notes.push((
        1,
        "libnfsidmap: Unable to determine the NFSv4 domain; Using 'localdomain' as the NFSv4 domain which means UIDs will be mapped to the 'Nobody-User' user defined in /etc/idmapd.conf".to_owned(),
    ));
    (DEFAULT_DOMAIN.to_vec(), Origin::Fallback)
}

fn from_host(host: &dyn HostNaming) -> Option<Vec<u8>> {
    let host_name = host.host_name()?;
    // nfs-utils 2.6.2: a host name that does not resolve gives up (later versions fall back to
    // the host name's own domain part; Debian 12's does not).
    let name = host.canonical_name(&host_name)?;
    let dot = name.iter().position(|&byte| byte == b'.')?;
    let derived = name.get(dot + 1..)?;
    if derived.is_empty() {
        return None;
    }
    let from_dns = host
        .txt_query(TXT_RECORD, derived)
        .and_then(|answer| first_txt_string(&answer));
    Some(from_dns.unwrap_or_else(|| derived.to_vec()))
}

/// The first character-string of the first answer record of a DNS message, cut at its first NUL
/// (the reference copies it into a C string). No check of the record's type, as in the reference,
/// nor of the question count: the reference skips one question name and its type and class, then
/// insists that the answer's owner name expands (`dn_expand`), skips it, its type, class, TTL and
/// data length, and reads the length-prefixed string. The wire walking is `kup-dns`'s.
#[must_use]
pub fn first_txt_string(message: &[u8]) -> Option<Vec<u8>> {
    if Header::decode(message).ok()?.answer_count < 1 {
        return None;
    }
    // Question: name, type, class.
    let owner = Name::skip(message, HEADER_LENGTH).ok()?.checked_add(4)?;
    Name::decode(message, owner).ok()?;
    // Answer: owner name, type, class, TTL, then the data length (read, not checked).
    let data_length = Name::skip(message, owner).ok()?.checked_add(8)?;
    message.get(data_length..data_length.checked_add(2)?)?;
    let string = data_length.checked_add(2)?;
    let length = usize::from(*message.get(string)?);
    let text = message.get(string.checked_add(1)?..string.checked_add(1 + length)?)?;
    let end = text.iter().position(|&byte| byte == 0).unwrap_or(text.len());
    Some(text.get(..end)?.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FakeHost {
        name: Option<&'static [u8]>,
        canonical: Option<&'static [u8]>,
        txt: Option<Vec<u8>>,
    }

    impl HostNaming for FakeHost {
        fn host_name(&self) -> Option<Vec<u8>> {
            self.name.map(<[u8]>::to_vec)
        }
        fn canonical_name(&self, _name: &[u8]) -> Option<Vec<u8>> {
            self.canonical.map(<[u8]>::to_vec)
        }
        fn txt_query(&self, name: &[u8], _domain: &[u8]) -> Option<Vec<u8>> {
            assert_eq!(name, TXT_RECORD);
            self.txt.clone()
        }
    }

    fn txt_answer(text: &[u8]) -> Vec<u8> {
        let mut message = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
        message.extend_from_slice(b"\x11_nfsv4idmapdomain\x07example\x03org\x00\x00\x10\x00\x01");
        message.extend_from_slice(&[0xc0, 12, 0, 16, 0, 1, 0, 0, 0, 60]);
        let length = u8::try_from(text.len()).unwrap();
        message.extend_from_slice(&[0, length + 1, length]);
        message.extend_from_slice(text);
        message
    }

    fn decide_with(host: &FakeHost) -> (Vec<u8>, Origin) {
        decide(None, host, &mut Vec::new())
    }

    #[test]
    fn configured_domain_wins_verbatim() {
        let host = FakeHost {
            name: Some(b"h.a.b"),
            canonical: None,
            txt: None,
        };
        assert_eq!(
            decide(Some(b"Ex.COM".to_vec()), &host, &mut Vec::new()),
            (b"Ex.COM".to_vec(), Origin::Configured)
        );
    }

    #[test]
    fn canonical_name_after_first_dot_is_the_domain() {
        let host = FakeHost {
            name: Some(b"h"),
            canonical: Some(b"h.sub.example.org"),
            txt: None,
        };
        assert_eq!(decide_with(&host), (b"sub.example.org".to_vec(), Origin::Derived));
    }

    #[test]
    fn txt_record_replaces_the_derived_domain() {
        let host = FakeHost {
            name: Some(b"h"),
            canonical: Some(b"h.example.org"),
            txt: Some(txt_answer(b"Nfs.Domain")),
        };
        assert_eq!(decide_with(&host).0, b"Nfs.Domain");
    }

    #[test]
    fn txt_string_is_cut_at_a_nul_and_may_be_empty() {
        assert_eq!(first_txt_string(&txt_answer(b"a\0b")).unwrap(), b"a");
        assert_eq!(first_txt_string(&txt_answer(b"")).unwrap(), b"");
    }

    #[test]
    fn malformed_or_empty_answers_give_no_txt() {
        let mut no_answer = txt_answer(b"x");
        no_answer[7] = 0;
        assert_eq!(first_txt_string(&no_answer), None);
        let full = txt_answer(b"abcdef");
        assert_eq!(first_txt_string(&full[..full.len() - 2]), None);
        assert_eq!(first_txt_string(&[]), None);
        let mut looping = txt_answer(b"x");
        let owner = 12 + 31 + 4;
        looping[owner] = 0xc0;
        looping[owner + 1] = u8::try_from(owner).unwrap();
        assert_eq!(first_txt_string(&looping), None);
    }

    /// Answers whose owner name glibc 2.36's `dn_expand` refuses (observed with a gcc-compiled
    /// program), which the reference therefore treats as "no TXT record": 255 wire bytes before
    /// the root label, and a name whose labels overlap until it has examined as many bytes as the
    /// message holds (found by comparing the previous reader with this one on 3 million mutated
    /// corpus inputs: the only difference, and glibc sides with this one).
    #[test]
    fn owner_names_dn_expand_refuses_give_no_txt() {
        let mut message = vec![0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0, 1];
        for size in [63_u8, 63, 63, 62] {
            message.push(size);
            message.extend(std::iter::repeat_n(b'a', usize::from(size)));
        }
        message.extend_from_slice(&[0, 0, 0x10, 0, 1, 0, 0, 0, 0, 0, 2, 1, b'x']);
        assert_eq!(first_txt_string(&message), None);
        // One byte less in the last label: the name expands and the string is read.
        message.remove(17 + 64 * 3 + 1);
        message[17 + 64 * 3] = 61;
        assert_eq!(first_txt_string(&message).unwrap(), b"x");
        let overlapping = [
            0x12, 0x30, 0x07, 0x65, 0xff, 0xff, 0x2f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x05,
            0x05, 0x03, 0x03, 0x03, 0x03, 0x03, 0x18, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03,
            0x03, 0xc0, 0x01, 0x03, 0x03, 0x03, 0xff, 0x00, 0x03, 0x7e, 0x03, 0x03, 0x03, 0x03, 0x03, 0x6f,
            0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x01, 0x03, 0x03, 0x03, 0xff, 0x00,
            0x03, 0x7e, 0x03, 0x03, 0x03, 0x03, 0x03, 0x6f, 0xc0, 0x00, 0x05,
        ];
        assert_eq!(first_txt_string(&overlapping), None);
    }

    #[test]
    fn failed_host_lookup_falls_back_to_localdomain_as_in_2_6_2() {
        let host = FakeHost {
            name: Some(b"h.x.test"),
            canonical: None,
            txt: None,
        };
        let mut notes = Vec::new();
        assert_eq!(
            decide(None, &host, &mut notes),
            (DEFAULT_DOMAIN.to_vec(), Origin::Fallback)
        );
        assert_eq!(notes[0].0, 1);
    }

    #[test]
    fn dotless_or_trailing_dot_names_fall_back_to_localdomain() {
        for canonical in [&b"vm"[..], b"vm."] {
            let host = FakeHost {
                name: Some(b"vm"),
                canonical: Some(canonical),
                txt: None,
            };
            assert_eq!(decide_with(&host), (DEFAULT_DOMAIN.to_vec(), Origin::Fallback));
        }
        let host = FakeHost {
            name: None,
            canonical: None,
            txt: None,
        };
        assert_eq!(decide_with(&host).1, Origin::Fallback);
    }
}
