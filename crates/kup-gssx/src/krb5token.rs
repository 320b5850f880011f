//! Where a krb5 initial context token names its acceptor: the `realm` and `sname` of the ticket
//! inside the AP-REQ (RFC 2743 §3.1 framing, RFC 4121 §4.1 token id `01 00`, RFC 4120 §5.3 and
//! §5.5.1), as the DER bytes they are sent in. Those bytes are in clear text: the daemon uses
//! them only as a key for the acceptor name MIT already reported for the same bytes, never as a
//! name of their own.
//!
//! The walk is strict DER over a borrowed token: definite lengths only, every element within its
//! parent; anything else (a SPNEGO or IAKERB token, a malformed one) is `None`.

/// The krb5 mechanism OID as DER (tag, length, content).
const KRB5_OID_DER: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// The AP-REQ token id (RFC 4121 §4.1).
const TOK_ID_AP_REQ: &[u8] = &[0x01, 0x00];

/// One DER element: its tag, its content, and what follows it.
fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (digits, after) = rest.split_at_checked(count)?;
        rest = after;
        digits.iter().try_fold(0usize, |value, &digit| {
            value.checked_mul(256)?.checked_add(usize::from(digit))
        })?
    };
    let (content, after) = rest.split_at_checked(length)?;
    Some((tag, content, after))
}

/// The content of the element with `tag` at the start of `bytes`, and what follows it.
fn expect(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, content, after) = element(bytes)?;
    (found == tag).then_some((content, after))
}

/// The ticket's `realm [1]` and `sname [2]` elements (tags and lengths included, adjacent in the
/// token) of a krb5 initial context token carrying an AP-REQ; `None` for anything else.
#[must_use]
pub fn ticket_server(token: &[u8]) -> Option<&[u8]> {
    let (framed, _) = expect(token, 0x60)?;
    let inner = framed.strip_prefix(KRB5_OID_DER)?.strip_prefix(TOK_ID_AP_REQ)?;
    let (ap_req, _) = expect(inner, 0x6e)?;
    let (mut fields, _) = expect(ap_req, 0x30)?;
    // pvno [0], msg-type [1], ap-options [2], then ticket [3].
    for tag in [0xa0, 0xa1, 0xa2] {
        fields = expect(fields, tag)?.1;
    }
    let (ticket, _) = expect(fields, 0xa3)?;
    let (ticket, _) = expect(ticket, 0x61)?;
    let (ticket, _) = expect(ticket, 0x30)?;
    let (_, after_vno) = expect(ticket, 0xa0)?;
    let (_, after_realm) = expect(after_vno, 0xa1)?;
    let (_, after_sname) = expect(after_realm, 0xa2)?;
    let length = after_vno.len().checked_sub(after_sname.len())?;
    after_vno.get(..length)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let length = u32::try_from(content.len()).unwrap().to_be_bytes();
        let significant = length.iter().position(|&byte| byte != 0).unwrap_or(3);
        if content.len() < 0x80 {
            out.push(length[3]);
        } else {
            out.push(0x80 | u8::try_from(4 - significant).unwrap());
            out.extend_from_slice(&length[significant..]);
        }
        out.extend_from_slice(content);
        out
    }

    /// realm [1] KUP.TEST, sname [2] { name-type 3, [nfs, localhost] }.
    fn realm_and_sname() -> Vec<u8> {
        let realm = der(0xa1, &der(0x1b, b"KUP.TEST"));
        let names = [der(0x1b, b"nfs"), der(0x1b, b"localhost")].concat();
        let principal = der(
            0x30,
            &[der(0xa0, &der(0x02, &[3])), der(0xa1, &der(0x30, &names))].concat(),
        );
        [realm, der(0xa2, &principal)].concat()
    }

    fn token(server: &[u8], cipher: usize) -> Vec<u8> {
        let ticket = der(
            0x61,
            &der(
                0x30,
                &[
                    der(0xa0, &der(0x02, &[5])),
                    server.to_vec(),
                    der(0xa3, &der(0x30, &vec![0x55; cipher])),
                ]
                .concat(),
            ),
        );
        let ap_req = der(
            0x6e,
            &der(
                0x30,
                &[
                    der(0xa0, &der(0x02, &[5])),
                    der(0xa1, &der(0x02, &[14])),
                    der(0xa2, &der(0x03, &[0, 0x20, 0, 0, 0])),
                    der(0xa3, &ticket),
                    der(0xa4, &der(0x30, &[0x66; 40])),
                ]
                .concat(),
            ),
        );
        der(0x60, &[KRB5_OID_DER, TOK_ID_AP_REQ, &ap_req].concat())
    }

    #[test]
    fn finds_the_ticket_server_of_short_and_long_tokens() {
        let server = realm_and_sname();
        for cipher in [10, 300, 70_000] {
            let token = token(&server, cipher);
            assert_eq!(ticket_server(&token), Some(server.as_slice()), "cipher {cipher}");
        }
    }

    #[test]
    fn anything_else_is_none() {
        let server = realm_and_sname();
        let good = token(&server, 10);
        // Every truncation.
        for end in 0..good.len() {
            assert_eq!(ticket_server(&good[..end]), None, "truncated at {end}");
        }
        // Another mechanism OID, another token id, a SPNEGO-style outer tag.
        let mut other = good.clone();
        other[4] ^= 1;
        assert_eq!(ticket_server(&other), None);
        let tok_id = good
            .windows(KRB5_OID_DER.len())
            .position(|window| window == KRB5_OID_DER)
            .unwrap()
            + KRB5_OID_DER.len();
        let mut other = good.clone();
        other[tok_id] = 0x02;
        assert_eq!(ticket_server(&other), None);
        let mut other = good.clone();
        other[0] = 0xa0;
        assert_eq!(ticket_server(&other), None);
        // An indefinite or oversized length.
        assert_eq!(ticket_server(&[0x60, 0x80, 0, 0]), None);
        assert_eq!(ticket_server(&[0x60, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(ticket_server(&[0x60, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
    }
}
