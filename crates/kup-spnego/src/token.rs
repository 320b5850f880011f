//! The DER that `cifs.upcall` hands to the kernel as the SMB security blob.
//!
//! - [`krb5_initial_token`]: the GSS-API `InitialContextToken` (RFC 2743 §3.1) around a Kerberos
//!   AP-REQ: `[APPLICATION 0]` { krb5 mechanism OID, token id `01 00` (`KRB_AP_REQ`, RFC 1964
//!   §1.1), the AP-REQ }. The inner OID is always krb5, whatever `sec=` says.
//! - [`spnego_init`]: the SPNEGO `NegTokenInit` (RFC 4178) around that token: `[APPLICATION 0]`
//!   { SPNEGO OID, `[0]` { SEQUENCE { `[0]` mechTypes (one OID, chosen by `sec=`),
//!   `[2]` mechToken OCTET STRING } } }, no reqFlags and no mechListMIC, as cifs.upcall 7.0.
//! - [`gss_checksum`]: the 24-byte value of the `0x8003` authenticator checksum (RFC 4121 §4.1.1)
//!   with no channel bindings.
//!
//! Lengths are DER definite lengths in minimal form. Must not: do I/O, panic.

/// The krb5 mechanism OID 1.2.840.113554.1.2.2, DER content bytes.
pub const KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// Microsoft's krb5 OID 1.2.840.48018.1.2.2, DER content bytes.
pub const MS_KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// The IAKERB OID 1.3.6.1.5.2.5, DER content bytes (decisions.md 6: not offered yet).
pub const IAKERB_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x02, 0x05];
/// The SPNEGO OID 1.3.6.1.5.5.2, DER content bytes.
pub const SPNEGO_OID: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// The GSS-API krb5 token id of an AP-REQ.
pub const TOKEN_ID_AP_REQ: [u8; 2] = [0x01, 0x00];
/// The checksum type of the GSS-API authenticator checksum.
pub const GSS_CHECKSUM_TYPE: i32 = 0x8003;
/// Length of [`gss_checksum`]'s value.
pub const GSS_CHECKSUM_LEN: usize = 24;

const TAG_APPLICATION_0: u8 = 0x60;
const TAG_OID: u8 = 0x06;
const TAG_SEQUENCE: u8 = 0x30;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_CONTEXT_0: u8 = 0xa0;
const TAG_CONTEXT_2: u8 = 0xa2;

/// The mechanism named in the SPNEGO mechTypes list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mech {
    /// Kerberos 5 (`sec=krb5`).
    Krb5,
    /// Microsoft's Kerberos 5 OID (`sec=mskrb5`).
    MsKrb5,
    /// IAKERB (kernels that negotiate it send `sec=iakerb`).
    Iakerb,
}

impl Mech {
    /// The OID's DER content bytes.
    #[must_use]
    pub const fn oid(self) -> &'static [u8] {
        match self {
            Self::Krb5 => KRB5_OID,
            Self::MsKrb5 => MS_KRB5_OID,
            Self::Iakerb => IAKERB_OID,
        }
    }
}

impl From<crate::Sec> for Mech {
    fn from(sec: crate::Sec) -> Self {
        match sec {
            crate::Sec::Krb5 => Self::Krb5,
            crate::Sec::MsKrb5 => Self::MsKrb5,
        }
    }
}

/// A DER definite length in minimal form.
fn push_length(out: &mut Vec<u8>, length: usize) {
    if length < 0x80 {
        // Fits: checked just above.
        out.push(u8::try_from(length).unwrap_or_default());
        return;
    }
    let bytes = length.to_be_bytes();
    let skip = bytes.iter().take_while(|&&byte| byte == 0).count();
    let significant = bytes.get(skip..).unwrap_or_default();
    // At most 8 bytes: 0x81..=0x88.
    out.push(0x80 | u8::try_from(significant.len()).unwrap_or_default());
    out.extend_from_slice(significant);
}

/// Bytes a DER length takes.
fn length_size(length: usize) -> usize {
    let mut probe = Vec::with_capacity(9);
    push_length(&mut probe, length);
    probe.len()
}

/// One TLV whose content is the concatenation of `parts`.
fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let length = parts
        .iter()
        .fold(0usize, |sum, part| sum.saturating_add(part.len()));
    let mut out = Vec::with_capacity(length.saturating_add(1).saturating_add(length_size(length)));
    out.push(tag);
    push_length(&mut out, length);
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// The GSS-API initial context token around a krb5 AP-REQ (`ap_req` is the DER `[APPLICATION 14]`
/// value, copied as is).
#[must_use]
pub fn krb5_initial_token(ap_req: &[u8]) -> Vec<u8> {
    let oid = tlv(TAG_OID, &[KRB5_OID]);
    tlv(TAG_APPLICATION_0, &[&oid, &TOKEN_ID_AP_REQ, ap_req])
}

/// The SPNEGO `NegTokenInit` offering `mech` with `mech_token` (a GSS-API initial context token)
/// as its optimistic token.
#[must_use]
pub fn spnego_init(mech: Mech, mech_token: &[u8]) -> Vec<u8> {
    let mech_oid = tlv(TAG_OID, &[mech.oid()]);
    let mech_types = tlv(TAG_CONTEXT_0, &[&tlv(TAG_SEQUENCE, &[&mech_oid])]);
    let token = tlv(TAG_CONTEXT_2, &[&tlv(TAG_OCTET_STRING, &[mech_token])]);
    let init = tlv(TAG_CONTEXT_0, &[&tlv(TAG_SEQUENCE, &[&mech_types, &token])]);
    let spnego_oid = tlv(TAG_OID, &[SPNEGO_OID]);
    tlv(TAG_APPLICATION_0, &[&spnego_oid, &init])
}

/// The value of the `0x8003` checksum: the channel-binding length 16 (little-endian), 16 zero
/// bytes (no channel bindings), then `flags` (little-endian; cifs.upcall sends 0).
#[must_use]
pub fn gss_checksum(flags: u32) -> [u8; GSS_CHECKSUM_LEN] {
    let mut value = [0u8; GSS_CHECKSUM_LEN];
    let (length, rest) = value.split_at_mut(4);
    length.copy_from_slice(&16u32.to_le_bytes());
    if let Some(tail) = rest.get_mut(16..) {
        tail.copy_from_slice(&flags.to_le_bytes());
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_minimal() {
        for (length, wanted) in [
            (0usize, vec![0x00]),
            (0x7f, vec![0x7f]),
            (0x80, vec![0x81, 0x80]),
            (0xff, vec![0x81, 0xff]),
            (0x100, vec![0x82, 0x01, 0x00]),
            (0x2d1, vec![0x82, 0x02, 0xd1]),
            (0x1_0000, vec![0x83, 0x01, 0x00, 0x00]),
            (0x100_0000, vec![0x84, 0x01, 0x00, 0x00, 0x00]),
        ] {
            let mut out = Vec::new();
            push_length(&mut out, length);
            assert_eq!(out, wanted, "{length:#x}");
            assert_eq!(length_size(length), wanted.len());
        }
    }

    #[test]
    fn checksum_value_has_the_binding_length_zero_bindings_and_flags() {
        let value = gss_checksum(0);
        assert_eq!(value[..4], [0x10, 0, 0, 0]);
        assert!(value[4..].iter().all(|&byte| byte == 0));
        assert_eq!(gss_checksum(0x22)[20..], [0x22, 0, 0, 0]);
    }

    /// The spec's observed blob (host=localhost, AES256, a 0x295-byte AP-REQ): its first 56 bytes
    /// and its total length, 725 bytes; `sec=mskrb5` differs in one byte.
    #[test]
    fn blob_matches_the_observed_reference_header() {
        let mut ap_req = vec![0x6e, 0x82, 0x02, 0x95];
        ap_req.resize(0x295 + 4, 0xab);
        let blob = spnego_init(Mech::Krb5, &krb5_initial_token(&ap_req));
        let header: &[u8] = &[
            0x60, 0x82, 0x02, 0xd1, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x82, 0x02, 0xc5,
            0x30, 0x82, 0x02, 0xc1, 0xa0, 0x0d, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12,
            0x01, 0x02, 0x02, 0xa2, 0x82, 0x02, 0xae, 0x04, 0x82, 0x02, 0xaa, 0x60, 0x82, 0x02, 0xa6, 0x06,
            0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01, 0x00, 0x6e, 0x82, 0x02, 0x95,
        ];
        assert_eq!(&blob[..header.len()], header);
        assert_eq!(blob.len(), 725);
        let ms = spnego_init(Mech::MsKrb5, &krb5_initial_token(&ap_req));
        let differing: Vec<usize> = (0..blob.len()).filter(|&i| blob[i] != ms[i]).collect();
        assert_eq!(differing, [29]);
        assert_eq!(ms[29], 0x82);
    }

    #[test]
    fn iakerb_offers_its_six_byte_oid() {
        let blob = spnego_init(Mech::Iakerb, &[0x60, 0x00]);
        assert_eq!(
            blob,
            [
                0x60, 0x1e, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x14, 0x30, 0x12, 0xa0,
                0x0a, 0x30, 0x08, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x02, 0x05, 0xa2, 0x04, 0x04, 0x02,
                0x60, 0x00
            ][..]
        );
    }
}
