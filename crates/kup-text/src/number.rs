//! C number parsing as glibc does it (`strtol`, `strtoul`, `atoi`, `atol`): C locale, `long` is
//! 64 bits (x86-64/aarch64 Linux).
//!
//! Reproduced C behaviour (glibc 2.36), each with a test below and re-checked live against glibc
//! by `crates/kup-runtime/tests/cli_glibc.rs`:
//! - leading white space (space, `\t`, `\n`, `\v`, `\f`, `\r`) is skipped, then one optional
//!   `+` or `-`;
//! - base 0: `0x`/`0X` followed by a hex digit selects hex, a leading `0` octal, else decimal;
//!   `0x` not followed by a hex digit converts the `0` and leaves the end on the `x`;
//! - digits stop at the first byte that is not one in the base (trailing text is the caller's
//!   business: [`CNumber::rest`], [`CNumber::consumed_all`]);
//! - no digits at all converts nothing: value 0, end 0;
//! - overflow saturates (`strtol`: `i64::MIN`/`i64::MAX`; `strtoul`: `u64::MAX`, never negated)
//!   and sets [`CNumber::overflow`] (C's `ERANGE`); `strtoul` negates in unsigned arithmetic.
//!
//! Must not: do I/O, panic.

/// The base for [`strtol`]/[`strtoul`]: 0 (auto: `0x` hex, leading `0` octal, else decimal) or
/// 2..=36. An invalid base (C `EINVAL`) cannot be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Radix(u32);

impl Radix {
    /// Base 0: C's automatic base (`0x`/`0X` → 16, leading `0` → 8, else 10).
    pub const AUTO: Self = Self(0);
    /// Base 10.
    pub const DECIMAL: Self = Self(10);
    /// Base 16 (an optional `0x`/`0X` prefix is accepted, as in C).
    pub const HEX: Self = Self(16);

    /// A base as C accepts it: 0 or 2..=36.
    #[must_use]
    pub const fn new(base: u32) -> Option<Self> {
        if base == 0 || (base >= 2 && base <= 36) {
            Some(Self(base))
        } else {
            None
        }
    }

    /// The numeric base (0 for auto).
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// The outcome of a C `strto*` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CNumber<T> {
    /// The returned value (saturated on overflow, as C does).
    pub value: T,
    /// Byte offset of C's `*endptr`: 0 when nothing was converted (then `value` is 0).
    pub end: usize,
    /// C set `errno = ERANGE` (the value was out of range and is saturated).
    pub overflow: bool,
}

impl<T> CNumber<T> {
    /// Whether any digits were converted (C: `endptr != nptr`).
    #[must_use]
    pub const fn converted(&self) -> bool {
        self.end > 0
    }

    /// The unparsed rest of `input` (C: the string at `endptr`); `input` must be the string
    /// that was parsed.
    #[must_use]
    pub fn rest<'a>(&self, input: &'a [u8]) -> &'a [u8] {
        input.get(self.end..).unwrap_or_default()
    }

    /// Whether the whole `input` was consumed (C: `*endptr == '\0'`). True for an empty string,
    /// as in C; combine with [`CNumber::converted`] to reject it.
    #[must_use]
    pub fn consumed_all(&self, input: &[u8]) -> bool {
        self.end >= input.len() || input.get(self.end) == Some(&0)
    }
}

/// C `isspace` in the C locale.
const fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn digit_value(b: u8) -> Option<u32> {
    // `to_digit(36)` maps 0-9, a-z and A-Z to 0..36 and everything else to None.
    char::from(b).to_digit(36)
}

/// Shared scan: sign, magnitude (saturating, with an overflow mark), end offset.
struct Scan {
    negative: bool,
    magnitude: u64,
    overflow: bool,
    end: usize,
}

fn scan(input: &[u8], radix: Radix) -> Scan {
    let none = Scan {
        negative: false,
        magnitude: 0,
        overflow: false,
        end: 0,
    };
    // Offsets never exceed `input.len()`, so `saturating_add` never saturates.
    let mut i = input.iter().take_while(|&&b| is_c_space(b)).count();
    let mut negative = false;
    match input.get(i) {
        Some(b'-') => {
            negative = true;
            i = i.saturating_add(1);
        }
        Some(b'+') => i = i.saturating_add(1),
        _ => {}
    }
    let mut base = radix.get();
    let at = |k: usize| input.get(k).copied().unwrap_or(0);
    if at(i) == b'0' {
        let next = at(i.saturating_add(1));
        if (base == 0 || base == 16) && (next == b'x' || next == b'X') {
            // "0x" followed by no hex digit: C converts the "0" and leaves endptr on the "x".
            if digit_value(at(i.saturating_add(2))).is_none_or(|d| d >= 16) {
                return Scan {
                    end: i.saturating_add(1),
                    negative,
                    ..none
                };
            }
            i = i.saturating_add(2);
            base = 16;
        } else if base == 0 {
            base = 8;
        }
    } else if base == 0 {
        base = 10;
    }
    let start = i;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while let Some(d) = digit_value(at(i)).filter(|&d| d < base) {
        match magnitude
            .checked_mul(u64::from(base))
            .and_then(|m| m.checked_add(u64::from(d)))
        {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
        i = i.saturating_add(1);
    }
    if i == start {
        return none;
    }
    Scan {
        negative,
        magnitude,
        overflow,
        end: i,
    }
}

/// C `strtol(s, &end, base)` with a 64-bit `long`: leading C-locale white space, an optional
/// sign, the base prefix rules, digits up to the first byte that is not one. Out of range →
/// `i64::MAX`/`i64::MIN` with `overflow`. No digits → 0 with `end == 0`.
#[must_use]
pub fn strtol(input: &[u8], radix: Radix) -> CNumber<i64> {
    let s = scan(input, radix);
    let limit = if s.negative {
        i64::MIN.unsigned_abs()
    } else {
        i64::MAX.unsigned_abs()
    };
    if s.overflow || s.magnitude > limit {
        let value = if s.negative { i64::MIN } else { i64::MAX };
        return CNumber {
            value,
            end: s.end,
            overflow: true,
        };
    }
    let value = if s.negative {
        0_i64.wrapping_sub_unsigned(s.magnitude)
    } else {
        0_i64.wrapping_add_unsigned(s.magnitude)
    };
    CNumber {
        value,
        end: s.end,
        overflow: false,
    }
}

/// C `strtoul(s, &end, base)` with a 64-bit `unsigned long`: as [`strtol`], but a `-` sign
/// negates in unsigned arithmetic (`"-1"` → `u64::MAX`), and only a magnitude above `u64::MAX`
/// overflows (→ `u64::MAX`, also with a `-` sign).
#[must_use]
pub fn strtoul(input: &[u8], radix: Radix) -> CNumber<u64> {
    let s = scan(input, radix);
    if s.overflow {
        return CNumber {
            value: u64::MAX,
            end: s.end,
            overflow: true,
        };
    }
    let value = if s.negative {
        s.magnitude.wrapping_neg()
    } else {
        s.magnitude
    };
    CNumber {
        value,
        end: s.end,
        overflow: false,
    }
}

/// C `atol(s)`: `strtol(s, NULL, 10)` (garbage → 0, saturates on overflow).
#[must_use]
pub fn atol(input: &[u8]) -> i64 {
    strtol(input, Radix::DECIMAL).value
}

/// C `atoi(s)` as glibc implements it: `(int) strtol(s, NULL, 10)`, i.e. the saturated 64-bit
/// value truncated to its low 32 bits (`"4294967296"` → 0, `"99999999999999999999"` → -1).
#[must_use]
pub fn atoi(input: &[u8]) -> i32 {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "C's (int) conversion keeps the low 32 bits, which is the behaviour imitated"
    )]
    let value = atol(input) as i32;
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values below observed from glibc 2.36 (Debian 12, x86-64) with a gcc-compiled program
    // calling atoi/strtol/strtoul on each string; re-checked live in crates/kup-runtime/tests/cli_glibc.rs.

    #[test]
    fn atoi_skips_white_space_stops_at_garbage_and_truncates_the_saturated_long() {
        assert_eq!(atoi(b" -12abc"), -12);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"  +"), 0);
        assert_eq!(atoi(b"-0x10"), 0);
        assert_eq!(atoi(b"010"), 10);
        assert_eq!(atoi(b"4294967296"), 0);
        assert_eq!(atoi(b"2147483648"), i32::MIN);
        assert_eq!(atoi(b"99999999999999999999"), -1);
        assert_eq!(atoi(b"-1"), -1);
        assert_eq!(atol(b"99999999999999999999"), i64::MAX);
    }

    #[test]
    fn strtol_with_base_zero_detects_hex_and_octal_prefixes() {
        let r = strtol(b"0x1f", Radix::AUTO);
        assert_eq!((r.value, r.end, r.overflow), (31, 4, false));
        let r = strtol(b"010", Radix::AUTO);
        assert_eq!((r.value, r.end), (8, 3));
        let r = strtol(b"08", Radix::AUTO);
        assert_eq!((r.value, r.end), (0, 1));
        assert_eq!(r.rest(b"08"), b"8");
        let r = strtol(b"-0x10", Radix::AUTO);
        assert_eq!((r.value, r.end), (-16, 5));
    }

    #[test]
    fn strtol_leaves_end_on_the_x_when_0x_has_no_hex_digit() {
        for s in [&b"0x"[..], b"0xg", b"0x-1"] {
            let r = strtol(s, Radix::AUTO);
            assert_eq!((r.value, r.end), (0, 1), "{s:?}");
            assert!(r.converted());
            assert!(!r.consumed_all(s));
        }
    }

    #[test]
    fn strtol_without_digits_converts_nothing_and_reports_end_zero() {
        for s in [&b""[..], b"  ", b"  +", b"-", b"abc"] {
            let r = strtol(s, Radix::DECIMAL);
            assert_eq!((r.value, r.end, r.overflow), (0, 0, false), "{s:?}");
            assert!(!r.converted());
        }
        assert!(strtol(b"", Radix::DECIMAL).consumed_all(b""));
    }

    #[test]
    fn strtol_saturates_and_flags_overflow_at_the_64_bit_limits() {
        let r = strtol(b"9223372036854775808", Radix::DECIMAL);
        assert_eq!((r.value, r.end, r.overflow), (i64::MAX, 19, true));
        let r = strtol(b"-9223372036854775808", Radix::DECIMAL);
        assert_eq!((r.value, r.overflow), (i64::MIN, false));
        let r = strtol(b"-9223372036854775809x", Radix::DECIMAL);
        assert_eq!((r.value, r.end, r.overflow), (i64::MIN, 20, true));
    }

    #[test]
    fn strtoul_negates_in_unsigned_arithmetic_and_saturates_only_above_u64_max() {
        assert_eq!(strtoul(b"-1", Radix::DECIMAL).value, u64::MAX);
        assert_eq!(
            strtoul(b" -12abc", Radix::DECIMAL).value,
            18_446_744_073_709_551_604
        );
        let r = strtoul(b"-18446744073709551615", Radix::DECIMAL);
        assert_eq!((r.value, r.overflow), (1, false));
        let r = strtoul(b"-18446744073709551616", Radix::DECIMAL);
        assert_eq!((r.value, r.overflow), (u64::MAX, true));
        let r = strtoul(b"0xffffffffffffffff", Radix::AUTO);
        assert_eq!((r.value, r.end, r.overflow), (u64::MAX, 18, false));
        let r = strtoul(b"4294967296", Radix::AUTO);
        assert!(r.consumed_all(b"4294967296") && r.value > u64::from(u32::MAX));
    }

    #[test]
    fn radix_accepts_only_the_bases_c_accepts() {
        assert_eq!(Radix::new(0), Some(Radix::AUTO));
        assert_eq!(Radix::new(1), None);
        assert_eq!(Radix::new(37), None);
        assert_eq!(Radix::new(36).map(Radix::get), Some(36));
        assert_eq!(strtol(b"Zz", Radix::new(36).unwrap()).value, 35 * 36 + 35);
        assert_eq!(strtol(b"0x10", Radix::HEX).value, 16);
        assert_eq!(strtol(b"0b101", Radix::new(2).unwrap()).value, 0);
    }

    #[test]
    fn decimal_strtol_and_atoi_read_numeric_names_like_libnfsidmap() {
        let strtol10 = |text: &[u8]| strtol(text, Radix::DECIMAL).value;
        assert_eq!(strtol10(b"1234"), 1234);
        assert_eq!(strtol10(b"12abc"), 12);
        assert_eq!(strtol10(b"-1"), -1);
        assert_eq!(strtol10(b" +7"), 7);
        assert_eq!(strtol10(b"abc"), 0);
        assert_eq!(strtol10(b"00"), 0);
        assert_eq!(strtol10(b"99999999999999999999999"), i64::MAX);
        assert_eq!(strtol10(b"-99999999999999999999999"), i64::MIN);
        assert_eq!(atoi(b"4294967295"), -1);
        assert_eq!(atoi(b"1x"), 1);
    }

    #[test]
    fn strtoul_reports_how_much_it_consumed() {
        let end = |text: &[u8]| {
            let number = strtoul(text, Radix::AUTO);
            (number.value, number.end)
        };
        assert_eq!(end(b"0x"), (0, 1));
        assert_eq!(end(b"  12z"), (12, 4));
        assert_eq!(end(b"z"), (0, 0));
        assert_eq!(end(b"-"), (0, 0));
        assert_eq!(end(b"-0x"), (0, 2));
        assert_eq!(end(b"\t\n\x0b\x0c\r 5"), (5, 7));
        assert_eq!(end(b"99999999999999999999999"), (u64::MAX, 23));
        assert_eq!(end(b"-99999999999999999999999"), (u64::MAX, 24));
    }
}
