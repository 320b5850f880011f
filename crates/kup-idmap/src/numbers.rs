//! The C library's ordering rule for numbered file names that the reference's behaviour depends
//! on: glibc `strverscmp` (the order of `versionsort`, used for the `idmapd.conf.d` directory).
//! C number parsing (`strtol`, `atoi`) is `kup-text`'s.
//!
//! Pure functions, no I/O.

use std::cmp::Ordering;

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
    fn version_order_puts_9_before_50() {
        assert_eq!(version_compare(b"9-z.conf", b"50-x.conf"), Ordering::Less);
        assert_eq!(version_compare(b"a10.conf", b"a9.conf"), Ordering::Greater);
        assert_eq!(version_compare(b"a.conf", b"b.conf"), Ordering::Less);
        assert_eq!(version_compare(b"a.conf", b"a.conf"), Ordering::Equal);
        assert_eq!(version_compare(b"x", b"xy"), Ordering::Less);
    }
}
