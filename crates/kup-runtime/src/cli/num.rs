//! C number parsing as glibc does it (`strtol`, `strtoul`, `atoi`, `atol`) for the C tools'
//! option and operand values. C locale; `long` is 64 bits (x86-64/aarch64 Linux).

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

const fn digit_value(b: u8) -> Option<u32> {
    let v = match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'z' => b - b'a' + 10,
        b'A'..=b'Z' => b - b'A' + 10,
        _ => return None,
    };
    Some(v as u32)
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
    let mut i = input.iter().take_while(|&&b| is_c_space(b)).count();
    let mut negative = false;
    match input.get(i) {
        Some(b'-') => {
            negative = true;
            i += 1;
        }
        Some(b'+') => i += 1,
        _ => {}
    }
    let mut base = radix.get();
    let at = |k: usize| input.get(k).copied().unwrap_or(0);
    if at(i) == b'0' {
        if (base == 0 || base == 16) && (at(i + 1) == b'x' || at(i + 1) == b'X') {
            // "0x" followed by no hex digit: C converts the "0" and leaves endptr on the "x".
            if digit_value(at(i + 2)).is_none_or(|d| d >= 16) {
                return Scan {
                    end: i + 1,
                    negative,
                    ..none
                };
            }
            i += 2;
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
        i += 1;
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
