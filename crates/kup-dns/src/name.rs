//! Domain names: wire form (RFC 1035 §3.1, §4.1.4 compression) and the presentation text the
//! BIND-derived resolver in glibc produces (`ns_name_ntop`) and accepts (`ns_name_pton`).
//!
//! Pure: no I/O. Every loop is bounded by the 255-byte wire limit and, for pointers, by the
//! message's length (glibc's loop rule), so a hostile message (pointer loops, labels running past
//! the end) yields an error, never a hang.

use std::fmt;

use crate::DecodeError;

/// Longest name in wire form, root label included (RFC 1035 §2.3.4).
pub const MAX_WIRE_LENGTH: usize = 255;
/// Longest label.
pub const MAX_LABEL_LENGTH: usize = 63;

/// A domain name as a list of labels (bytes, case preserved), without the root label.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Name {
    labels: Vec<Vec<u8>>,
}

impl Name {
    /// The root name `.`.
    #[must_use]
    pub fn root() -> Self {
        Self::default()
    }

    /// The labels, leftmost first.
    #[must_use]
    pub fn labels(&self) -> &[Vec<u8>] {
        &self.labels
    }

    /// Length of the uncompressed wire form, root label included.
    #[must_use]
    pub fn wire_length(&self) -> usize {
        self.labels.iter().map(|label| label.len() + 1).sum::<usize>() + 1
    }

    /// Compares two names the way DNS does: ASCII case-insensitively.
    #[must_use]
    pub fn eq_ignore_case(&self, other: &Self) -> bool {
        self.labels.len() == other.labels.len()
            && self
                .labels
                .iter()
                .zip(&other.labels)
                .all(|(left, right)| left.eq_ignore_ascii_case(right))
    }

    /// Parses presentation text (`www.example.org`, `www.example.org.`, `\.` and `\DDD` escapes)
    /// the way `ns_name_pton` does. Empty interior labels, labels over 63 bytes, names over 255
    /// bytes and bad escapes are refused.
    pub fn from_text(text: &[u8]) -> Result<Self, NameTextError> {
        if text == b"." {
            return Ok(Self::root());
        }
        let mut labels = Vec::new();
        let mut label = Vec::new();
        let mut bytes = text.iter().copied().peekable();
        let mut ended_with_dot = false;
        while let Some(byte) = bytes.next() {
            ended_with_dot = false;
            match byte {
                b'\\' => {
                    let first = bytes.next().ok_or(NameTextError::BadEscape)?;
                    if first.is_ascii_digit() {
                        let second = bytes.next().filter(u8::is_ascii_digit);
                        let third = bytes.next().filter(u8::is_ascii_digit);
                        let (Some(second), Some(third)) = (second, third) else {
                            return Err(NameTextError::BadEscape);
                        };
                        let value = u32::from(first - b'0') * 100
                            + u32::from(second - b'0') * 10
                            + u32::from(third - b'0');
                        label.push(u8::try_from(value).map_err(|_| NameTextError::BadEscape)?);
                    } else {
                        label.push(first);
                    }
                }
                b'.' => {
                    if label.is_empty() {
                        return Err(NameTextError::EmptyLabel);
                    }
                    labels.push(std::mem::take(&mut label));
                    ended_with_dot = true;
                }
                other => label.push(other),
            }
            if label.len() > MAX_LABEL_LENGTH {
                return Err(NameTextError::LabelTooLong);
            }
        }
        if !label.is_empty() {
            labels.push(label);
        } else if !ended_with_dot && !labels.is_empty() {
            return Err(NameTextError::EmptyLabel);
        }
        let name = Self { labels };
        if name.wire_length() > MAX_WIRE_LENGTH {
            return Err(NameTextError::TooLong);
        }
        Ok(name)
    }

    /// Appends the uncompressed wire form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for label in &self.labels {
            // Labels are at most 63 bytes by construction (from_text and decode both check).
            out.push(u8::try_from(label.len()).unwrap_or(u8::MAX));
            out.extend_from_slice(label);
        }
        out.push(0);
    }

    /// Decodes the (possibly compressed) name starting at `start` in `message`. Returns the name
    /// and the offset just past it in the original position (after the first pointer, if any).
    pub fn decode(message: &[u8], start: usize) -> Result<(Self, usize), DecodeError> {
        let mut labels = Vec::new();
        let mut position = start;
        let mut end_of_name = None;
        // glibc's loop rule (`ns_name_unpack`): a name whose labels and pointers add up to as many
        // bytes as the message holds must have visited some byte twice. A chain of pointers
        // without a loop is followed however long it is.
        let mut examined = 0usize;
        let mut wire_length = 1usize;
        loop {
            let length_byte = *message
                .get(position)
                .ok_or(DecodeError::truncated("name", position))?;
            match length_byte & 0xc0 {
                0x00 => {
                    if length_byte == 0 {
                        let after = end_of_name.unwrap_or(position + 1);
                        return Ok((Self { labels }, after));
                    }
                    let length = usize::from(length_byte);
                    let label = message
                        .get(position + 1..position + 1 + length)
                        .ok_or(DecodeError::truncated("label", position))?;
                    wire_length += length + 1;
                    examined += length + 1;
                    if wire_length > MAX_WIRE_LENGTH {
                        return Err(DecodeError::malformed("name longer than 255 bytes", start));
                    }
                    labels.push(label.to_vec());
                    position += 1 + length;
                }
                0xc0 => {
                    let low = *message
                        .get(position + 1)
                        .ok_or(DecodeError::truncated("compression pointer", position))?;
                    let target = usize::from(length_byte & 0x3f) << 8 | usize::from(low);
                    examined += 2;
                    if examined >= message.len() {
                        return Err(DecodeError::malformed("compression pointer loop", position));
                    }
                    if target >= message.len() {
                        return Err(DecodeError::malformed(
                            "compression pointer past the end",
                            position,
                        ));
                    }
                    end_of_name.get_or_insert(position + 2);
                    position = target;
                }
                _ => {
                    return Err(DecodeError::malformed("extended label type", position));
                }
            }
        }
    }

    /// Skips a name without following pointers, as `dn_skipname` does: returns the offset after
    /// it. Used to check a message's structure before anything is decoded.
    pub fn skip(message: &[u8], start: usize) -> Result<usize, DecodeError> {
        let mut position = start;
        loop {
            let length_byte = *message
                .get(position)
                .ok_or(DecodeError::truncated("name", position))?;
            match length_byte & 0xc0 {
                0x00 if length_byte == 0 => return Ok(position + 1),
                0x00 => {
                    position += 1 + usize::from(length_byte);
                    if position > message.len() {
                        return Err(DecodeError::truncated("label", start));
                    }
                }
                0xc0 => {
                    if position + 2 > message.len() {
                        return Err(DecodeError::truncated("compression pointer", position));
                    }
                    return Ok(position + 2);
                }
                _ => return Err(DecodeError::malformed("extended label type", position)),
            }
        }
    }

    /// The presentation text as `ns_name_ntop` writes it: labels joined by `.`, no trailing dot
    /// (the root is `.`), the characters `. " ; \ ( ) @ $` escaped with a backslash, bytes outside
    /// `0x21..=0x7e` as `\DDD`.
    #[must_use]
    pub fn to_text(&self) -> Vec<u8> {
        if self.labels.is_empty() {
            return b".".to_vec();
        }
        let mut out = Vec::with_capacity(self.wire_length());
        for (index, label) in self.labels.iter().enumerate() {
            if index > 0 {
                out.push(b'.');
            }
            for &byte in label {
                match byte {
                    b'.' | b'"' | b';' | b'\\' | b'(' | b')' | b'@' | b'$' => {
                        out.push(b'\\');
                        out.push(byte);
                    }
                    0x21..=0x7e => out.push(byte),
                    _ => {
                        out.push(b'\\');
                        out.push(b'0' + byte / 100);
                        out.push(b'0' + byte / 10 % 10);
                        out.push(b'0' + byte % 10);
                    }
                }
            }
        }
        out
    }
}

impl fmt::Display for Name {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&String::from_utf8_lossy(&self.to_text()))
    }
}

/// Why presentation text is not a valid name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameTextError {
    /// `a..b` or a leading dot.
    EmptyLabel,
    /// A label over 63 bytes.
    LabelTooLong,
    /// More than 255 bytes in wire form.
    TooLong,
    /// A `\` at the end, or `\DDD` with fewer than three digits or above 255.
    BadEscape,
}

impl fmt::Display for NameTextError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::EmptyLabel => "empty label",
            Self::LabelTooLong => "label longer than 63 bytes",
            Self::TooLong => "name longer than 255 bytes",
            Self::BadEscape => "bad escape",
        })
    }
}

impl std::error::Error for NameTextError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_through_wire_form() {
        let name = Name::from_text(b"www.Example.org.").unwrap();
        assert_eq!(name.labels().len(), 3);
        let mut wire = Vec::new();
        name.encode(&mut wire);
        assert_eq!(wire, b"\x03www\x07Example\x03org\x00");
        let (decoded, end) = Name::decode(&wire, 0).unwrap();
        assert_eq!(decoded, name);
        assert_eq!(end, wire.len());
        assert_eq!(decoded.to_text(), b"www.Example.org");
    }

    #[test]
    fn text_without_trailing_dot_is_the_same_name() {
        assert_eq!(
            Name::from_text(b"a.b").unwrap(),
            Name::from_text(b"a.b.").unwrap()
        );
        assert_eq!(Name::from_text(b".").unwrap(), Name::root());
        assert_eq!(Name::from_text(b"").unwrap(), Name::root());
    }

    #[test]
    fn bad_text_is_refused() {
        assert_eq!(Name::from_text(b"a..b"), Err(NameTextError::EmptyLabel));
        assert_eq!(Name::from_text(b".a"), Err(NameTextError::EmptyLabel));
        assert_eq!(Name::from_text(&[b'x'; 64]), Err(NameTextError::LabelTooLong));
        let long = [b"abcdefghi.".as_slice(); 26].concat();
        assert_eq!(Name::from_text(&long), Err(NameTextError::TooLong));
        assert_eq!(Name::from_text(b"a\\"), Err(NameTextError::BadEscape));
        assert_eq!(Name::from_text(b"a\\25"), Err(NameTextError::BadEscape));
        assert_eq!(Name::from_text(b"a\\256"), Err(NameTextError::BadEscape));
    }

    #[test]
    fn longest_legal_name_is_accepted() {
        // 4 labels of 63 + 1 of 61 = 4*64 + 62 + 1 = 319? keep to exactly 255 wire bytes:
        // 3 labels of 63 (192 bytes) + one of 61 (62 bytes) + root = 255.
        let text = [
            [b'a'; 63].as_slice(),
            b".",
            &[b'b'; 63],
            b".",
            &[b'c'; 63],
            b".",
            &[b'd'; 61],
        ]
        .concat();
        let name = Name::from_text(&text).unwrap();
        assert_eq!(name.wire_length(), 255);
        let longer = [text.as_slice(), b"d"].concat();
        assert_eq!(Name::from_text(&longer), Err(NameTextError::TooLong));
    }

    #[test]
    fn escapes_are_decoded_and_re_encoded_like_ns_name_ntop() {
        let name = Name::from_text(b"a\\.b\\032c.d").unwrap();
        assert_eq!(name.labels()[0], b"a.b c");
        assert_eq!(name.to_text(), b"a\\.b\\032c.d");
        let odd = Name {
            labels: vec![b"x;\"()@$\\\x7f\x00".to_vec()],
        };
        assert_eq!(odd.to_text(), b"x\\;\\\"\\(\\)\\@\\$\\\\\\127\\000");
    }

    #[test]
    fn compressed_names_are_followed() {
        // "example.org" at 0, then "www" + pointer to 0 at 13.
        let message = b"\x07example\x03org\x00\x03www\xc0\x00";
        let (name, end) = Name::decode(message, 13).unwrap();
        assert_eq!(name.to_text(), b"www.example.org");
        assert_eq!(end, message.len());
    }

    #[test]
    fn pointer_loops_are_refused() {
        let message = b"\xc0\x00";
        assert!(Name::decode(message, 0).is_err());
        let message = b"\x01a\xc0\x00";
        assert!(Name::decode(message, 0).is_err());
    }

    // Observed with glibc 2.36's dn_expand (a gcc-compiled program): a chain of 200 pointers,
    // each to the next, ending in the root label, expands (2 bytes consumed); a name of 255 wire
    // bytes before the root label does not, one of 254 does.
    #[test]
    fn long_pointer_chains_without_a_loop_are_followed_like_glibc() {
        let mut message = Vec::new();
        for index in 0..200_u16 {
            message.extend_from_slice(&(0xc000 | (2 * (index + 1))).to_be_bytes());
        }
        message.push(0);
        let (name, end) = Name::decode(&message, 0).unwrap();
        assert_eq!((name, end), (Name::root(), 2));
        // The root label becomes a pointer back to the start: a loop.
        let root = message.len() - 1;
        message[root] = 0xc0;
        message.push(0);
        assert!(Name::decode(&message, 0).is_err());
    }

    #[test]
    fn names_of_255_wire_bytes_before_the_root_are_refused_like_glibc() {
        let name = |sizes: &[usize]| {
            let mut message = Vec::new();
            for &size in sizes {
                message.push(u8::try_from(size).unwrap());
                message.extend(std::iter::repeat_n(b'a', size));
            }
            message.push(0);
            message
        };
        assert!(Name::decode(&name(&[63, 63, 63, 62]), 0).is_err());
        assert_eq!(Name::decode(&name(&[63, 63, 63, 61]), 0).unwrap().1, 255);
    }

    #[test]
    fn truncated_names_are_refused() {
        assert!(Name::decode(b"\x05ab", 0).is_err());
        assert!(Name::decode(b"\x01a", 0).is_err());
        assert!(Name::decode(b"\xc0", 0).is_err());
        assert!(Name::decode(b"\xc0\x09", 0).is_err());
        assert!(Name::decode(b"\x40", 0).is_err());
        assert!(Name::skip(b"\x05ab", 0).is_err());
        assert!(Name::skip(b"\xc0", 0).is_err());
        assert!(Name::skip(b"\x80", 0).is_err());
        assert_eq!(Name::skip(b"\x01a\xc0\x00", 0).unwrap(), 4);
    }

    #[test]
    fn decoded_names_over_255_bytes_are_refused() {
        // 5 labels of 63 bytes, uncompressed.
        let mut message = Vec::new();
        for _ in 0..5 {
            message.push(63);
            message.extend_from_slice(&[b'x'; 63]);
        }
        message.push(0);
        assert!(Name::decode(&message, 0).is_err());
    }

    #[test]
    fn names_compare_case_insensitively() {
        let left = Name::from_text(b"VL1.Example.ORG").unwrap();
        let right = Name::from_text(b"vl1.example.org.").unwrap();
        assert!(left.eq_ignore_case(&right));
        assert_ne!(left, right);
    }
}
