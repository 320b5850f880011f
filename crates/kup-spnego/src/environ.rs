//! Reading a process environment as the kernel shows it in `/proc/<pid>/environ`: NUL-separated
//! `NAME=value` entries (the last one may lack its NUL).
//!
//! cifs.upcall 7.0 takes the **first** entry that starts with `KRB5CCNAME=` and has at least one
//! byte after the `=`; the value is used verbatim. It reads at most [`ENVIRON_LIMIT`] bytes.
//!
//! Must not: do I/O, panic.

/// The variable cifs.upcall looks for.
pub const KRB5CCNAME: &[u8] = b"KRB5CCNAME=";
/// The first read size of the reference.
pub const ENVIRON_INITIAL: usize = 4096;
/// The most the reference reads of an environment (a fuller buffer is given up).
pub const ENVIRON_LIMIT: usize = 131_072;

/// The value of the first non-empty `KRB5CCNAME=` entry of `environ`.
#[must_use]
pub fn krb5ccname(environ: &[u8]) -> Option<&[u8]> {
    environ
        .split(|&byte| byte == 0)
        .filter_map(|entry| entry.strip_prefix(KRB5CCNAME))
        .find(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_non_empty_value_wins() {
        let environ = b"PATH=/bin\0KRB5CCNAME=\0HOME=/root\0KRB5CCNAME=FILE:/tmp/a\0KRB5CCNAME=b\0";
        assert_eq!(krb5ccname(environ), Some(&b"FILE:/tmp/a"[..]));
    }

    #[test]
    fn names_must_match_from_the_start_of_an_entry() {
        assert_eq!(krb5ccname(b"XKRB5CCNAME=a\0krb5ccname=b\0KRB5CCNAME"), None);
        assert_eq!(krb5ccname(b""), None);
        assert_eq!(krb5ccname(b"\0\0"), None);
    }

    #[test]
    fn the_last_entry_needs_no_terminator_and_values_are_verbatim() {
        assert_eq!(
            krb5ccname(b"A=1\0KRB5CCNAME=KEYRING:persistent:1000=x"),
            Some(&b"KEYRING:persistent:1000=x"[..])
        );
        assert_eq!(krb5ccname(b"KRB5CCNAME=\xff\n"), Some(&b"\xff\n"[..]));
    }
}
