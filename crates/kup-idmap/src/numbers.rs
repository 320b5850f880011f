//! The C library's number and ordering rules that the reference's behaviour depends on.
//!
//! Pure functions, no I/O: C `strtol` (base 10), `atoi`, and `strverscmp` (the order of
//! `versionsort`, used for the `idmapd.conf.d` directory).

use std::cmp::Ordering;

/// C `strtol(text, NULL, 10)` on a 64-bit `long`: leading white space, an optional sign, then
/// decimal digits; no digits gives 0; out of range saturates at `i64::MIN`/`i64::MAX`.
#[must_use]
pub fn strtol(text: &[u8]) -> i64 {
    let mut rest = text;
    while let Some((&first, tail)) = rest.split_first() {
        if matches!(first, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
            rest = tail;
        } else {
            break;
        }
    }
    let negative = match rest.first() {
        Some(b'-') => {
            rest = rest.get(1..).unwrap_or_default();
            true
        }
        Some(b'+') => {
            rest = rest.get(1..).unwrap_or_default();
            false
        }
        _ => false,
    };
    let mut value: i64 = 0;
    for &byte in rest.iter().take_while(|byte| byte.is_ascii_digit()) {
        let digit = i64::from(byte - b'0');
        value = if negative {
            value.saturating_mul(10).saturating_sub(digit)
        } else {
            value.saturating_mul(10).saturating_add(digit)
        };
    }
    value
}

/// C `atoi` as glibc implements it: `(int) strtol(text, NULL, 10)` (truncating to 32 bits).
#[must_use]
pub fn atoi(text: &[u8]) -> i32 {
    // Truncation is the point: glibc's atoi casts the long to int.
    #[allow(clippy::cast_possible_truncation)]
    let truncated = strtol(text) as i32;
    truncated
}

/// glibc `strverscmp`: byte order, except that runs of digits compare as numbers (a longer run
/// without leading zero is larger). Runs with leading zeros compare byte-wise.
#[must_use]
pub fn version_compare(left: &[u8], right: &[u8]) -> Ordering {
    let common = left.iter().zip(right).take_while(|(a, b)| a == b).count();
    if common == left.len() || common == right.len() {
        return left.len().cmp(&right.len());
    }
    // Back up to the start of the digit run the difference falls in.
    let mut start = common;
    while start > 0 && left.get(start - 1).is_some_and(u8::is_ascii_digit) {
        start -= 1;
    }
    let left_run = digit_run(left.get(start..).unwrap_or_default());
    let right_run = digit_run(right.get(start..).unwrap_or_default());
    let fractional = left_run.first() == Some(&b'0') || right_run.first() == Some(&b'0');
    if !left_run.is_empty() && !right_run.is_empty() && !fractional {
        return left_run
            .len()
            .cmp(&right_run.len())
            .then_with(|| left_run.cmp(right_run));
    }
    left.get(common).cmp(&right.get(common))
}

fn digit_run(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .position(|byte| !byte.is_ascii_digit())
        .unwrap_or(bytes.len());
    bytes.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_reads_like_c() {
        assert_eq!(strtol(b"1234"), 1234);
        assert_eq!(strtol(b"12abc"), 12);
        assert_eq!(strtol(b"-1"), -1);
        assert_eq!(strtol(b" +7"), 7);
        assert_eq!(strtol(b"abc"), 0);
        assert_eq!(strtol(b"00"), 0);
        assert_eq!(strtol(b"99999999999999999999999"), i64::MAX);
        assert_eq!(strtol(b"-99999999999999999999999"), i64::MIN);
    }

    #[test]
    fn atoi_truncates_to_32_bits() {
        assert_eq!(atoi(b"4294967295"), -1);
        assert_eq!(atoi(b"1x"), 1);
        assert_eq!(atoi(b"-1"), -1);
        assert_eq!(atoi(b""), 0);
    }

    #[test]
    fn version_order_puts_9_before_50() {
        assert_eq!(version_compare(b"9-z.conf", b"50-x.conf"), Ordering::Less);
        assert_eq!(version_compare(b"a10.conf", b"a9.conf"), Ordering::Greater);
        assert_eq!(version_compare(b"a.conf", b"b.conf"), Ordering::Less);
        assert_eq!(version_compare(b"a.conf", b"a.conf"), Ordering::Equal);
        assert_eq!(version_compare(b"x", b"xy"), Ordering::Less);
    }
}
