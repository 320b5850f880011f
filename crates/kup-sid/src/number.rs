//! Unsigned numbers the way cifs.idmap 7.0 reads them: C `strtoul(text, &end, 0)` on a 64-bit
//! `unsigned long` (`kup-text`'s glibc model), then "the whole string was consumed" and "the
//! value fits `unsigned int`".
//!
//! Reproduced C behaviour (glibc 2.36, C locale), each with a test below:
//! - leading white space (space, `\t`, `\n`, `\v`, `\f`, `\r`) is skipped, then one optional `+`
//!   or `-`;
//! - base 0: `0x`/`0X` followed by a hex digit selects hex, a leading `0` selects octal, else
//!   decimal; `0x` not followed by a hex digit parses as `0` and leaves `x…` unconsumed;
//! - a `-` negates modulo 2⁶⁴ (so `-0` is 0, `-1` is `u64::MAX`, which is above `UINT_MAX`);
//! - on overflow of 64 bits the value is `u64::MAX` (never negated) and all digits are consumed;
//! - no digits at all consumes nothing; therefore the empty string is **accepted as 0**, while
//!   `" "` or `"+"` are refused.
//!
//! Must not: do I/O, panic.

use std::fmt;

use kup_text::{Radix, strtoul};

/// Why a number was refused; the C tool returns the matching errno value (`EINVAL`, `EOVERFLOW`)
/// as its exit status, which the tool maps (this crate has no errno numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NumberError {
    /// Text after the number (`EINVAL`).
    Invalid,
    /// The value does not fit an `unsigned int` (`EOVERFLOW`).
    Overflow,
}

impl NumberError {
    /// `strerror` text of the matching errno (glibc wording), for log messages.
    #[must_use]
    pub const fn description(self) -> &'static str {
        match self {
            Self::Invalid => "Invalid argument",
            Self::Overflow => "Value too large for defined data type",
        }
    }
}

impl fmt::Display for NumberError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.description())
    }
}

/// Parses `text` as cifs.idmap's `str_to_uint` does: `strtoul(text, &end, 0)` (`kup-text`'s
/// glibc model), then `*end` must be the end of the string (else [`NumberError::Invalid`]) and
/// the value at most `UINT_MAX` (else [`NumberError::Overflow`]). The end check comes first, as in
/// the reference.
pub fn parse_c_uint(text: &[u8]) -> Result<u32, NumberError> {
    let number = strtoul(text, Radix::AUTO);
    if number.end != text.len() {
        return Err(NumberError::Invalid);
    }
    u32::try_from(number.value).map_err(|_| NumberError::Overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_hex_and_octal_are_read_with_base_zero() {
        assert_eq!(parse_c_uint(b"1000"), Ok(1000));
        assert_eq!(parse_c_uint(b"0x3e8"), Ok(1000));
        assert_eq!(parse_c_uint(b"0X3E8"), Ok(1000));
        assert_eq!(parse_c_uint(b"010"), Ok(8));
        assert_eq!(parse_c_uint(b"0"), Ok(0));
    }

    #[test]
    fn leading_space_and_plus_are_accepted_like_strtoul() {
        assert_eq!(parse_c_uint(b" 73001"), Ok(73001));
        assert_eq!(parse_c_uint(b"\t\n\x0b\x0c\r 5"), Ok(5));
        assert_eq!(parse_c_uint(b"+73001"), Ok(73001));
        assert_eq!(parse_c_uint(b"-0"), Ok(0));
    }

    #[test]
    fn trailing_text_is_invalid_even_a_space() {
        assert_eq!(parse_c_uint(b"73001 "), Err(NumberError::Invalid));
        assert_eq!(parse_c_uint(b"abc"), Err(NumberError::Invalid));
        assert_eq!(parse_c_uint(b"12abc"), Err(NumberError::Invalid));
        assert_eq!(parse_c_uint(b"08"), Err(NumberError::Invalid));
        assert_eq!(parse_c_uint(b"0x"), Err(NumberError::Invalid));
        assert_eq!(parse_c_uint(b"0xg"), Err(NumberError::Invalid));
        assert_eq!(parse_c_uint(b" "), Err(NumberError::Invalid));
        assert_eq!(parse_c_uint(b"+"), Err(NumberError::Invalid));
        assert_eq!(parse_c_uint(b"--1"), Err(NumberError::Invalid));
    }

    #[test]
    fn the_empty_string_is_zero_because_strtoul_consumes_nothing() {
        assert_eq!(parse_c_uint(b""), Ok(0));
    }

    #[test]
    fn values_above_uint_max_and_negative_values_overflow() {
        assert_eq!(parse_c_uint(b"4294967295"), Ok(u32::MAX));
        assert_eq!(parse_c_uint(b"4294967296"), Err(NumberError::Overflow));
        assert_eq!(parse_c_uint(b"-1"), Err(NumberError::Overflow));
        assert_eq!(
            parse_c_uint(b"99999999999999999999999"),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            parse_c_uint(b"-99999999999999999999999"),
            Err(NumberError::Overflow)
        );
    }

    #[test]
    fn negation_wraps_modulo_two_to_the_sixty_four_as_in_c() {
        assert_eq!(parse_c_uint(b"-18446744073709551615"), Ok(1));
        assert_eq!(parse_c_uint(b"-18446744073709551616"), Err(NumberError::Overflow));
    }

    #[test]
    fn overflow_reads_like_strerror_eoverflow() {
        assert_eq!(
            NumberError::Overflow.to_string(),
            "Value too large for defined data type"
        );
    }
}
