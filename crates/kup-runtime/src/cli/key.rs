//! The key operand request-key passes (`%k`), read as the C helpers read it.

use std::fmt;

use kup_sys::KeySerial;

use super::{Radix, strtol};

/// C's `key_serial_t serial = value;` for a `long`: the low 32 bits, as a signed serial.
#[must_use]
pub fn truncated_key_serial(value: i64) -> KeySerial {
    KeySerial::new(i32::from_ne_bytes(
        u32::try_from(value & 0xffff_ffff).unwrap_or(0).to_ne_bytes(),
    ))
}

/// Why a key operand is refused ([`key_operand`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyOperandError {
    /// `strtol` overflowed (`ERANGE`): the C helpers refuse this.
    OutOfRange,
    /// The serial is 0 or negative: request-key never passes one, and the C helpers would fail at
    /// their first key call.
    NotASerial,
}

impl fmt::Display for KeyOperandError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::OutOfRange => "Numerical result out of range",
            Self::NotASerial => "not a key serial",
        })
    }
}

/// The key operand as cifs-utils' helpers read it: `strtol(operand, NULL, 10)` with only overflow
/// detected (`12abc` is 12, `abc` is 0), stored in a 32-bit `key_serial_t`; ours also refuses a
/// serial ≤ 0 before any key call.
pub fn key_operand(operand: &[u8]) -> Result<KeySerial, KeyOperandError> {
    let number = strtol(operand, Radix::DECIMAL);
    if number.overflow {
        return Err(KeyOperandError::OutOfRange);
    }
    let serial = truncated_key_serial(number.value);
    if serial.get() <= 0 {
        return Err(KeyOperandError::NotASerial);
    }
    Ok(serial)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_operand_is_a_base_ten_strtol_prefix_in_32_bits() {
        assert_eq!(key_operand(b"123"), Ok(KeySerial::new(123)));
        assert_eq!(key_operand(b"12abc"), Ok(KeySerial::new(12)));
        assert_eq!(key_operand(b" +7"), Ok(KeySerial::new(7)));
        assert_eq!(
            key_operand(b"4294967297"),
            Ok(KeySerial::new(1)),
            "the low 32 bits"
        );
        assert_eq!(key_operand(b"abc"), Err(KeyOperandError::NotASerial));
        assert_eq!(key_operand(b"-5"), Err(KeyOperandError::NotASerial));
        assert_eq!(
            key_operand(b"2147483648"),
            Err(KeyOperandError::NotASerial),
            "wraps negative"
        );
        assert_eq!(
            key_operand(b"99999999999999999999"),
            Err(KeyOperandError::OutOfRange)
        );
        assert_eq!(truncated_key_serial(-1), KeySerial::new(-1));
        assert_eq!(truncated_key_serial(0x1_0000_0005), KeySerial::new(5));
    }
}
