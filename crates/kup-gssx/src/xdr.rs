//! XDR (RFC 4506) with limits.
//!
//! [`Decoder`] reads big-endian items from a borrowed record. Every variable-length item is
//! bounded twice before anything is allocated: by a caller-given maximum (a [`Limits`] field or an
//! explicit cap) and by the bytes actually left in the record, so a length or count claiming 4 GiB
//! fails at once without allocating. Padding bytes are skipped without checking that they are
//! zero, as the reference's XDR library does.
//!
//! [`Encoder`] writes items into a `Vec` bounded by a maximum output size; the first error (output
//! too large, a length over 32 bits) is kept and returned by [`Encoder::finish`].

use std::fmt;

/// Why bytes did not decode (or a value did not encode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdrError {
    /// The record ended inside an item.
    Truncated,
    /// A length is over its limit.
    TooLong {
        /// The length on the wire.
        length: u64,
        /// The limit.
        max: usize,
    },
    /// An array count is over its limit (or over what the bytes left could hold).
    TooMany {
        /// The count on the wire.
        count: u64,
        /// The limit.
        max: usize,
    },
    /// A `bool` other than 0 or 1.
    BadBool(u32),
    /// An enum or union discriminant that the type does not have.
    BadDiscriminant(u32),
    /// An RPC message that is not what was expected (a reply where a call was expected, …).
    BadMessage,
    /// The encoded output would exceed the encoder's maximum.
    OutputTooLarge,
}

impl fmt::Display for XdrError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => formatter.write_str("the record ends inside an item"),
            Self::TooLong { length, max } => write!(formatter, "length {length} is over the limit {max}"),
            Self::TooMany { count, max } => write!(formatter, "count {count} is over the limit {max}"),
            Self::BadBool(value) => write!(formatter, "bool value {value} is neither 0 nor 1"),
            Self::BadDiscriminant(value) => write!(formatter, "unknown discriminant {value}"),
            Self::BadMessage => formatter.write_str("not the RPC message expected"),
            Self::OutputTooLarge => formatter.write_str("the encoded message is over the size limit"),
        }
    }
}

impl std::error::Error for XdrError {}

/// Caps applied while decoding gssx structures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The longest `opaque<>`/string (buffers, tokens, names, option values).
    pub max_opaque: usize,
    /// The most elements in one variable array (options, OID sets, cred elements, …).
    pub max_array: usize,
}

impl Limits {
    /// The limits for gssproxy's transport: nothing can be longer than the 1 MiB record, and no
    /// array longer than 65,536 elements (`NGROUPS_MAX`, the largest list the kernel takes).
    pub const DEFAULT: Self = Self {
        max_opaque: MAX_RECORD_DEFAULT,
        max_array: 65_536,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// gssproxy's record limit (`MAX_RPC_SIZE`, 1 MiB).
pub const MAX_RECORD_DEFAULT: usize = 1 << 20;

/// Reads XDR items from a borrowed byte slice.
#[derive(Clone, Debug)]
pub struct Decoder<'a> {
    rest: &'a [u8],
    limits: Limits,
}

impl<'a> Decoder<'a> {
    /// A decoder over `bytes` with the given limits.
    #[must_use]
    pub fn new(bytes: &'a [u8], limits: Limits) -> Self {
        Self { rest: bytes, limits }
    }

    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The bytes not read yet.
    #[must_use]
    pub fn remaining(&self) -> &'a [u8] {
        self.rest
    }

    /// Takes exactly `count` bytes.
    pub fn fixed(&mut self, count: usize) -> Result<&'a [u8], XdrError> {
        if count > self.rest.len() {
            return Err(XdrError::Truncated);
        }
        let (head, tail) = self.rest.split_at(count);
        self.rest = tail;
        Ok(head)
    }

    /// An unsigned 32-bit integer.
    pub fn u32(&mut self) -> Result<u32, XdrError> {
        let bytes = self.fixed(4)?;
        let mut word = [0_u8; 4];
        word.copy_from_slice(bytes);
        Ok(u32::from_be_bytes(word))
    }

    /// An unsigned hyper.
    pub fn u64(&mut self) -> Result<u64, XdrError> {
        let bytes = self.fixed(8)?;
        let mut word = [0_u8; 8];
        word.copy_from_slice(bytes);
        Ok(u64::from_be_bytes(word))
    }

    /// A `bool` (0 or 1 only).
    pub fn bool(&mut self) -> Result<bool, XdrError> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(XdrError::BadBool(other)),
        }
    }

    /// A variable `opaque<max>`, borrowed; the padding is skipped.
    pub fn opaque_ref(&mut self, max: usize) -> Result<&'a [u8], XdrError> {
        let length = self.u32()?;
        let too_long = XdrError::TooLong {
            length: u64::from(length),
            max,
        };
        let length = usize::try_from(length).map_err(|_| too_long)?;
        if length > max {
            return Err(too_long);
        }
        let bytes = self.fixed(length)?;
        self.fixed(padding(length))?;
        Ok(bytes)
    }

    /// A variable `opaque<>` bounded by [`Limits::max_opaque`], copied.
    pub fn opaque(&mut self) -> Result<Vec<u8>, XdrError> {
        Ok(self.opaque_ref(self.limits.max_opaque)?.to_vec())
    }

    /// The count of a variable array whose elements take at least `min_element_size` bytes each
    /// (≥ 1): refused when over `max` or over what the bytes left could hold, so a caller can
    /// reserve `count` elements safely.
    pub fn array_count(&mut self, max: usize, min_element_size: usize) -> Result<usize, XdrError> {
        let count = self.u32()?;
        let could_hold = self
            .rest
            .len()
            .checked_div(min_element_size)
            .unwrap_or(self.rest.len());
        let cap = max.min(could_hold);
        let too_many = XdrError::TooMany {
            count: u64::from(count),
            max: cap,
        };
        let count = usize::try_from(count).map_err(|_| too_many)?;
        if count > cap {
            return Err(too_many);
        }
        Ok(count)
    }

    /// A variable array bounded by [`Limits::max_array`], each element at least
    /// `min_element_size` bytes on the wire, decoded by `element`.
    pub fn array<T>(
        &mut self,
        min_element_size: usize,
        mut element: impl FnMut(&mut Self) -> Result<T, XdrError>,
    ) -> Result<Vec<T>, XdrError> {
        let count = self.array_count(self.limits.max_array, min_element_size)?;
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(element(self)?);
        }
        Ok(items)
    }

    /// An optional item (`T *`): a `bool` then the item when true.
    pub fn optional<T>(
        &mut self,
        item: impl FnOnce(&mut Self) -> Result<T, XdrError>,
    ) -> Result<Option<T>, XdrError> {
        if self.bool()? {
            Ok(Some(item(self)?))
        } else {
            Ok(None)
        }
    }
}

/// Writes XDR items into a growing buffer of bounded size.
#[derive(Clone, Debug)]
pub struct Encoder {
    bytes: Vec<u8>,
    max: usize,
    error: Option<XdrError>,
}

impl Encoder {
    /// An encoder whose output may grow to `max` bytes.
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            bytes: Vec::new(),
            max,
            error: None,
        }
    }

    /// The bytes, or the first error met.
    pub fn finish(self) -> Result<Vec<u8>, XdrError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.bytes),
        }
    }

    /// Appends raw bytes (no length, no padding).
    pub fn fixed(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if bytes.len() > self.max.saturating_sub(self.bytes.len()) {
            self.error = Some(XdrError::OutputTooLarge);
            return;
        }
        self.bytes.extend_from_slice(bytes);
    }

    /// An unsigned 32-bit integer.
    pub fn u32(&mut self, value: u32) {
        self.fixed(&value.to_be_bytes());
    }

    /// An unsigned hyper.
    pub fn u64(&mut self, value: u64) {
        self.fixed(&value.to_be_bytes());
    }

    /// A `bool`.
    pub fn bool(&mut self, value: bool) {
        self.u32(u32::from(value));
    }

    /// A variable `opaque<>`: length, bytes, zero padding.
    pub fn opaque(&mut self, bytes: &[u8]) {
        self.length(bytes.len());
        self.fixed(bytes);
        self.fixed([0; 3].get(..padding(bytes.len())).unwrap_or_default());
    }

    /// An array count or opaque length.
    pub fn length(&mut self, length: usize) {
        if let Ok(length) = u32::try_from(length) {
            self.u32(length);
        } else if self.error.is_none() {
            self.error = Some(XdrError::OutputTooLarge);
        }
    }

    /// A variable array: count, then each element.
    pub fn array<T>(&mut self, items: &[T], mut element: impl FnMut(&mut Self, &T)) {
        self.length(items.len());
        for item in items {
            element(self, item);
        }
    }

    /// An optional item.
    pub fn optional<T>(&mut self, item: Option<&T>, element: impl FnOnce(&mut Self, &T)) {
        self.bool(item.is_some());
        if let Some(item) = item {
            element(self, item);
        }
    }
}

/// The zero bytes that follow `length` bytes to reach a multiple of four.
#[must_use]
pub fn padding(length: usize) -> usize {
    match length & 3 {
        0 => 0,
        1 => 3,
        2 => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_opaque_round_trip() {
        let mut encoder = Encoder::new(64);
        encoder.u32(0x1122_3344);
        encoder.u64(0x0102_0304_0506_0708);
        encoder.bool(true);
        encoder.opaque(b"abcde");
        let bytes = encoder.finish().unwrap();
        assert_eq!(
            bytes,
            [
                0x11, 0x22, 0x33, 0x44, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1, 0, 0, 0, 5, b'a', b'b', b'c',
                b'd', b'e', 0, 0, 0
            ]
        );
        let mut decoder = Decoder::new(&bytes, Limits::DEFAULT);
        assert_eq!(decoder.u32(), Ok(0x1122_3344));
        assert_eq!(decoder.u64(), Ok(0x0102_0304_0506_0708));
        assert_eq!(decoder.bool(), Ok(true));
        assert_eq!(decoder.opaque_ref(5), Ok(&b"abcde"[..]));
        assert!(decoder.remaining().is_empty());
        assert_eq!(decoder.u32(), Err(XdrError::Truncated));
    }

    #[test]
    fn a_length_of_four_gib_fails_without_allocating() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4];
        let mut decoder = Decoder::new(&bytes, Limits::DEFAULT);
        assert!(matches!(
            decoder.opaque(),
            Err(XdrError::TooLong {
                length: 0xffff_ffff,
                ..
            })
        ));
        // Under a cap larger than the record, the bytes left still refuse it.
        let mut decoder = Decoder::new(
            &bytes,
            Limits {
                max_opaque: usize::MAX,
                max_array: usize::MAX,
            },
        );
        assert_eq!(decoder.opaque(), Err(XdrError::Truncated));
    }

    #[test]
    fn an_array_count_of_four_gib_fails_before_any_reservation() {
        let bytes = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        let limits = Limits {
            max_opaque: usize::MAX,
            max_array: usize::MAX,
        };
        let mut decoder = Decoder::new(&bytes, limits);
        assert_eq!(
            decoder.array(4, Decoder::u32),
            Err(XdrError::TooMany {
                count: 0xffff_ffff,
                max: 1
            })
        );
        let mut decoder = Decoder::new(
            &bytes[..],
            Limits {
                max_opaque: 16,
                max_array: 0,
            },
        );
        assert!(matches!(
            decoder.array(4, Decoder::u32),
            Err(XdrError::TooMany { max: 0, .. })
        ));
    }

    #[test]
    fn bad_bools_and_encoder_overflow_are_errors() {
        let mut decoder = Decoder::new(&[0, 0, 0, 2], Limits::DEFAULT);
        assert_eq!(decoder.bool(), Err(XdrError::BadBool(2)));
        let mut encoder = Encoder::new(7);
        encoder.u32(1);
        encoder.u32(2);
        encoder.u32(3);
        assert_eq!(encoder.finish(), Err(XdrError::OutputTooLarge));
    }
}
