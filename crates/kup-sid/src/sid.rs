//! A Windows SID: revision, 48-bit identifier authority and up to 15 sub-authorities, in the
//! three forms the cifs idmap path uses.
//!
//! - Text, canonical (`S-1-5-21-1-2-3-500`): revision and sub-authorities in decimal; the
//!   authority in decimal when it is at most `u32::MAX`, else `0x` and lower-case hex (MS-DTYP).
//!   [`Sid::parse`] accepts exactly the canonical spelling, so `parse` then `Display` gives back
//!   the same bytes.
//! - Text, as the kernel writes it into an `os:`/`gs:` description ([`Sid::kernel_text`]): the
//!   same, except that the kernel assembles the authority with byte 0 shifted by 48 instead of 40
//!   (`fs/smb/client/cifsacl.c`, `sid_to_key_str`), which only changes authorities ≥ 2⁴⁰.
//! - Binary, `struct cifs_sid` (68 bytes, packed): revision, count, the authority big-endian in
//!   6 bytes, then 15 little-endian `u32` slots of which the first `count` are meaningful. We always
//!   zero the unused slots ([`Sid::to_cifs_sid`]); the kernel reads only `8 + 4 × count` bytes.
//!
//! Must not: do I/O, panic, allocate more than the text form.

use std::fmt;

/// Most sub-authorities a `struct cifs_sid` holds (and the kernel upcalls for).
pub const MAX_SUB_AUTHORITIES: usize = 15;
/// Size of the packed `struct cifs_sid`: 1 + 1 + 6 + 4 × 15.
pub const CIFS_SID_LEN: usize = 68;
/// The fixed part of `struct cifs_sid` (revision, count, authority).
pub const CIFS_SID_BASE_LEN: usize = 8;
/// Largest identifier authority (48 bits).
pub const MAX_AUTHORITY: u64 = 0xffff_ffff_ffff;

/// A security identifier.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid {
    revision: u8,
    authority: [u8; 6],
    count: u8,
    sub_authorities: [u32; MAX_SUB_AUTHORITIES],
}

/// Why bytes are not a SID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SidError {
    /// The text does not start with `S-`.
    MissingPrefix,
    /// A numeric field is empty, has a non-digit, a sign or a superfluous leading zero, or uses hex
    /// where the canonical form is decimal; `field` is 0 for the revision, 1 for the authority,
    /// `n + 2` for sub-authority `n`.
    BadField {
        /// Which dash-separated field (after `S-`).
        field: usize,
    },
    /// A field's value does not fit (revision > 255, authority ≥ 2⁴⁸, sub-authority > `u32::MAX`).
    OutOfRange {
        /// Which dash-separated field (after `S-`), numbered as in [`SidError::BadField`].
        field: usize,
    },
    /// More than [`MAX_SUB_AUTHORITIES`] sub-authorities.
    TooManySubAuthorities,
    /// Binary form shorter than `8 + 4 × count` bytes.
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes present.
        present: usize,
    },
}

impl fmt::Display for SidError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingPrefix => formatter.write_str("SID text does not start with \"S-\""),
            Self::BadField { field } => write!(formatter, "SID field {field} is not a canonical number"),
            Self::OutOfRange { field } => write!(formatter, "SID field {field} is out of range"),
            Self::TooManySubAuthorities => write!(
                formatter,
                "SID has more than {MAX_SUB_AUTHORITIES} sub-authorities"
            ),
            Self::Truncated { needed, present } => {
                write!(formatter, "binary SID needs {needed} bytes, {present} present")
            }
        }
    }
}

impl std::error::Error for SidError {}

impl Sid {
    /// Builds a SID; `authority` must fit 48 bits and there may be at most 15 sub-authorities.
    pub fn new(revision: u8, authority: u64, sub_authorities: &[u32]) -> Result<Self, SidError> {
        if authority > MAX_AUTHORITY {
            return Err(SidError::OutOfRange { field: 1 });
        }
        if sub_authorities.len() > MAX_SUB_AUTHORITIES {
            return Err(SidError::TooManySubAuthorities);
        }
        let mut slots = [0u32; MAX_SUB_AUTHORITIES];
        for (slot, value) in slots.iter_mut().zip(sub_authorities) {
            *slot = *value;
        }
        let [_, _, authority @ ..] = authority.to_be_bytes();
        Ok(Self {
            revision,
            authority,
            count: u8::try_from(sub_authorities.len()).map_err(|_| SidError::TooManySubAuthorities)?,
            sub_authorities: slots,
        })
    }

    /// The revision (1 for every SID in use).
    #[must_use]
    pub const fn revision(&self) -> u8 {
        self.revision
    }

    /// The identifier authority, read big-endian from its 6 bytes (5 = NT AUTHORITY).
    #[must_use]
    pub fn authority(&self) -> u64 {
        let [a0, a1, a2, a3, a4, a5] = self.authority;
        u64::from_be_bytes([0, 0, a0, a1, a2, a3, a4, a5])
    }

    /// The authority's six bytes as stored in `struct cifs_sid`.
    #[must_use]
    pub const fn authority_bytes(&self) -> [u8; 6] {
        self.authority
    }

    /// The meaningful sub-authorities.
    #[must_use]
    pub fn sub_authorities(&self) -> &[u32] {
        self.sub_authorities
            .get(..usize::from(self.count))
            .unwrap_or_default()
    }

    /// Parses the canonical text form (see the module docs). Only canonical spellings are accepted:
    /// `S-` in upper case, no signs, no leading zeros, hex authority only above `u32::MAX`.
    pub fn parse(text: &[u8]) -> Result<Self, SidError> {
        let rest = text.strip_prefix(b"S-").ok_or(SidError::MissingPrefix)?;
        let mut fields = rest.split(|&byte| byte == b'-');
        let revision_field = fields.next().unwrap_or_default();
        let revision =
            u8::try_from(parse_decimal(revision_field, 0)?).map_err(|_| SidError::OutOfRange { field: 0 })?;
        let authority = parse_authority(fields.next().ok_or(SidError::BadField { field: 1 })?)?;
        let mut slots = [0u32; MAX_SUB_AUTHORITIES];
        let mut count = 0usize;
        for (index, field) in fields.enumerate() {
            let field_number = index.saturating_add(2);
            let value = u32::try_from(parse_decimal(field, field_number)?)
                .map_err(|_| SidError::OutOfRange { field: field_number })?;
            let slot = slots.get_mut(index).ok_or(SidError::TooManySubAuthorities)?;
            *slot = value;
            count = index.saturating_add(1);
        }
        Self::new(revision, authority, slots.get(..count).unwrap_or_default())
    }

    /// Reads a binary `struct cifs_sid` the way the kernel reads an `oi:`/`gi:` answer: at least 8
    /// bytes, `8 + 4 × count` bytes present, sub-authorities little-endian. Unlike the kernel, a
    /// count above 15 is refused (the kernel would copy at most 15). Bytes beyond the meaningful
    /// part are ignored.
    pub fn from_cifs_sid(bytes: &[u8]) -> Result<Self, SidError> {
        let truncated = |needed| SidError::Truncated {
            needed,
            present: bytes.len(),
        };
        let Some((&[revision, count, a0, a1, a2, a3, a4, a5], rest)) =
            bytes.split_first_chunk::<CIFS_SID_BASE_LEN>()
        else {
            return Err(truncated(CIFS_SID_BASE_LEN));
        };
        let count = usize::from(count);
        if count > MAX_SUB_AUTHORITIES {
            return Err(SidError::TooManySubAuthorities);
        }
        let mut slots = [0u32; MAX_SUB_AUTHORITIES];
        let mut chunks = rest.chunks_exact(4);
        for slot in slots.iter_mut().take(count) {
            let chunk = chunks
                .next()
                .and_then(|chunk| <[u8; 4]>::try_from(chunk).ok())
                .ok_or_else(|| truncated(meaningful_len(count)))?;
            *slot = u32::from_le_bytes(chunk);
        }
        Ok(Self {
            revision,
            authority: [a0, a1, a2, a3, a4, a5],
            count: u8::try_from(count).map_err(|_| SidError::TooManySubAuthorities)?,
            sub_authorities: slots,
        })
    }

    /// The full 68-byte `struct cifs_sid`, unused sub-authority slots zeroed.
    #[must_use]
    pub fn to_cifs_sid(&self) -> [u8; CIFS_SID_LEN] {
        let mut bytes = [0u8; CIFS_SID_LEN];
        let [a0, a1, a2, a3, a4, a5] = self.authority;
        let header = [self.revision, self.count, a0, a1, a2, a3, a4, a5];
        for (target, source) in bytes.iter_mut().zip(header) {
            *target = source;
        }
        let tail = bytes.get_mut(CIFS_SID_BASE_LEN..).unwrap_or_default();
        for (chunk, value) in tail.chunks_exact_mut(4).zip(self.sub_authorities()) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        bytes
    }

    /// How many leading bytes of [`Self::to_cifs_sid`] the kernel reads: `8 + 4 × count`.
    #[must_use]
    pub fn meaningful_len(&self) -> usize {
        meaningful_len(usize::from(self.count))
    }

    /// The SID string exactly as the kernel writes it after `os:`/`gs:`, including its authority
    /// quirk (byte 0 shifted by 48).
    #[must_use]
    pub fn kernel_text(&self) -> String {
        let [a0, a1, a2, a3, a4, a5] = self.authority.map(u64::from);
        let authority = a5 | a4 << 8 | a3 << 16 | a2 << 24 | a1 << 32 | a0 << 48;
        format_text(self.revision, authority, self.sub_authorities())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&format_text(
            self.revision,
            self.authority(),
            self.sub_authorities(),
        ))
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Sid({self})")
    }
}

fn meaningful_len(count: usize) -> usize {
    count.saturating_mul(4).saturating_add(CIFS_SID_BASE_LEN)
}

fn format_text(revision: u8, authority: u64, sub_authorities: &[u32]) -> String {
    use fmt::Write as _;
    let mut text = format!("S-{revision}");
    // Writing into a String cannot fail.
    let _ = if u32::try_from(authority).is_ok() {
        write!(text, "-{authority}")
    } else {
        write!(text, "-0x{authority:x}")
    };
    for value in sub_authorities {
        let _ = write!(text, "-{value}");
    }
    text
}

/// A canonical decimal: digits only, no leading zero unless the value is 0. At most 20 digits are
/// looked at, so the result never overflows `u64` silently.
fn parse_decimal(field: &[u8], field_number: usize) -> Result<u64, SidError> {
    let bad = SidError::BadField { field: field_number };
    if field.is_empty() || !field.iter().all(u8::is_ascii_digit) {
        return Err(bad);
    }
    if field.len() > 1 && field.first() == Some(&b'0') {
        return Err(bad);
    }
    field.iter().try_fold(0u64, |value, &digit| {
        value
            .checked_mul(10)
            .and_then(|value| value.checked_add(u64::from(digit.wrapping_sub(b'0'))))
            .ok_or(SidError::OutOfRange { field: field_number })
    })
}

/// The authority: canonical decimal up to `u32::MAX`, or `0x` + lower-case hex (no leading zeros)
/// for values above it, up to 48 bits.
fn parse_authority(field: &[u8]) -> Result<u64, SidError> {
    let bad = SidError::BadField { field: 1 };
    let out_of_range = SidError::OutOfRange { field: 1 };
    let value = if let Some(hex) = field.strip_prefix(b"0x") {
        let canonical = !hex.is_empty()
            && hex.first() != Some(&b'0')
            && hex
                .iter()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(byte));
        if !canonical {
            return Err(bad);
        }
        let value = hex.iter().try_fold(0u64, |value, &digit| {
            let nibble = char::from(digit).to_digit(16).map(u64::from)?;
            value.checked_mul(16)?.checked_add(nibble)
        });
        let value = value.ok_or(out_of_range)?;
        if u32::try_from(value).is_ok() {
            return Err(bad);
        }
        value
    } else {
        let value = parse_decimal(field, 1)?;
        if value > u64::from(u32::MAX) {
            return Err(bad);
        }
        value
    };
    if value > MAX_AUTHORITY {
        return Err(out_of_range);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(text: &str) -> Sid {
        Sid::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn well_known_sids_round_trip_through_text() {
        for text in [
            "S-1-5-32-544",
            "S-1-1-0",
            "S-1-5-18",
            "S-1-22-1-1000",
            "S-1-5-21-3623811015-3361044348-30300820-1013",
            "S-1-5",
            "S-0-0",
            "S-255-4294967295-4294967295",
            "S-1-0x100000000-1",
            "S-1-0xffffffffffff",
        ] {
            assert_eq!(sid(text).to_string(), text);
        }
    }

    #[test]
    fn non_canonical_spellings_are_refused() {
        for (text, error) in [
            ("s-1-5-18", SidError::MissingPrefix),
            ("S-", SidError::BadField { field: 0 }),
            ("S-1", SidError::BadField { field: 1 }),
            ("S-1-", SidError::BadField { field: 1 }),
            ("S-1-5-", SidError::BadField { field: 2 }),
            ("S-01-5", SidError::BadField { field: 0 }),
            ("S-1-05", SidError::BadField { field: 1 }),
            ("S-1-5-018", SidError::BadField { field: 2 }),
            ("S-1-+5", SidError::BadField { field: 1 }),
            ("S-1-5- 18", SidError::BadField { field: 2 }),
            ("S-1-0x5-18", SidError::BadField { field: 1 }),
            ("S-1-0X100000000", SidError::BadField { field: 1 }),
            ("S-1-0x1000000000A", SidError::BadField { field: 1 }),
            ("S-1-0x0100000000", SidError::BadField { field: 1 }),
            ("S-1-4294967296", SidError::BadField { field: 1 }),
            ("S-256-5", SidError::OutOfRange { field: 0 }),
            ("S-1-0x1000000000000", SidError::OutOfRange { field: 1 }),
            ("S-1-5-4294967296", SidError::OutOfRange { field: 2 }),
            ("S-1-5-99999999999999999999999", SidError::OutOfRange { field: 2 }),
        ] {
            assert_eq!(Sid::parse(text.as_bytes()), Err(error), "{text}");
        }
    }

    #[test]
    fn fifteen_sub_authorities_fit_and_sixteen_do_not() {
        let fifteen = "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15";
        let parsed = sid(fifteen);
        assert_eq!(parsed.sub_authorities().len(), 15);
        assert_eq!(parsed.meaningful_len(), 68);
        assert_eq!(
            Sid::parse(format!("{fifteen}-16").as_bytes()),
            Err(SidError::TooManySubAuthorities)
        );
        assert_eq!(Sid::new(1, 5, &[0; 16]), Err(SidError::TooManySubAuthorities));
    }

    #[test]
    fn binary_form_matches_the_spec_example_with_a_zeroed_tail() {
        let bytes = sid("S-1-5-21-1-2-3-500").to_cifs_sid();
        let expected_head = [
            0x01, 0x05, 0, 0, 0, 0, 0, 0x05, 0x15, 0, 0, 0, 0x01, 0, 0, 0, 0x02, 0, 0, 0, 0x03, 0, 0, 0,
            0xf4, 0x01, 0, 0,
        ];
        assert_eq!(&bytes[..28], &expected_head);
        assert!(bytes[28..].iter().all(|&byte| byte == 0));
        assert_eq!(sid("S-1-5-21-1-2-3-500").meaningful_len(), 28);
    }

    #[test]
    fn builtin_administrators_encode_as_in_test_vector_five() {
        let bytes = sid("S-1-5-32-544").to_cifs_sid();
        assert_eq!(
            &bytes[..16],
            &[1, 2, 0, 0, 0, 0, 0, 5, 0x20, 0, 0, 0, 0x20, 0x02, 0, 0]
        );
    }

    #[test]
    fn binary_round_trips_and_ignores_bytes_after_the_meaningful_part() {
        let original = sid("S-1-5-21-3623811015-3361044348-30300820-1013");
        let mut bytes = original.to_cifs_sid();
        bytes[40..].fill(0xaa);
        assert_eq!(Sid::from_cifs_sid(&bytes), Ok(original));
        assert_eq!(Sid::from_cifs_sid(&bytes[..28]), Ok(original));
    }

    #[test]
    fn binary_reader_refuses_what_the_kernel_refuses() {
        assert_eq!(
            Sid::from_cifs_sid(&[1, 0, 0, 0, 0, 0, 0]),
            Err(SidError::Truncated {
                needed: 8,
                present: 7
            })
        );
        assert_eq!(
            Sid::from_cifs_sid(&[1, 2, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0]),
            Err(SidError::Truncated {
                needed: 16,
                present: 12
            })
        );
        let mut too_many = [0u8; 200];
        too_many[1] = 16;
        assert_eq!(
            Sid::from_cifs_sid(&too_many),
            Err(SidError::TooManySubAuthorities)
        );
        assert_eq!(
            Sid::from_cifs_sid(&[1, 0, 0, 0, 0, 0, 0, 5]).map(|sid| sid.to_string()),
            Ok("S-1-5".to_owned())
        );
    }

    #[test]
    fn kernel_text_differs_only_for_authorities_of_two_to_the_forty_and_above() {
        assert_eq!(sid("S-1-5-21-1").kernel_text(), "S-1-5-21-1");
        assert_eq!(sid("S-1-0x100000000-7").kernel_text(), "S-1-0x100000000-7");
        assert_eq!(sid("S-1-0xff00000000").kernel_text(), "S-1-0xff00000000");
        // Authority byte 0 = 1 (value 2^40): the kernel shifts it by 48.
        assert_eq!(sid("S-1-0x10000000000").kernel_text(), "S-1-0x1000000000000");
        assert_eq!(sid("S-1-0xffffffffffff").kernel_text(), "S-1-0xff00ffffffffff");
    }

    #[test]
    fn authority_is_big_endian_in_six_bytes() {
        let value = sid("S-1-0x123456789abc");
        assert_eq!(value.authority(), 0x1234_5678_9abc);
        assert_eq!(value.authority_bytes(), [0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]);
        assert_eq!(
            Sid::new(1, MAX_AUTHORITY + 1, &[]),
            Err(SidError::OutOfRange { field: 1 })
        );
    }

    #[test]
    fn errors_and_debug_render_without_raw_input() {
        assert_eq!(
            SidError::BadField { field: 3 }.to_string(),
            "SID field 3 is not a canonical number"
        );
        assert_eq!(format!("{:?}", sid("S-1-1-0")), "Sid(S-1-1-0)");
        assert!(
            SidError::Truncated {
                needed: 8,
                present: 1
            }
            .to_string()
            .contains("needs 8")
        );
    }
}
