//! POSIX regular expressions through libc `regcomp`/`regexec` (the regex method of idmapd.conf).
//!
//! The reference compiles `User-Regex`, `Group-Regex` and `Group-Name-No-Prefix-Regex` with glibc's
//! `regcomp(REG_EXTENDED | REG_ICASE)`; using the same engine gives the same matches, including
//! glibc's leftmost-longest rules and its handling of bytes above 0x7f.

use std::ffi::{CString, c_char};

/// A compiled extended, case-insensitive POSIX regex.
pub struct Regex {
    // Boxed so the `regex_t` never moves after `regcomp` filled it.
    compiled: Box<libc::regex_t>,
}

/// How many sub-matches are reported (`regmatch_t` slots, the whole match included).
pub const MATCH_SLOTS: usize = 100;

impl Regex {
    /// `regcomp(pattern, REG_EXTENDED | REG_ICASE)`; `Err` carries regcomp's status code.
    pub fn extended_case_insensitive(pattern: &[u8]) -> Result<Self, i32> {
        let pattern = CString::new(pattern).map_err(|_| libc::REG_BADPAT)?;
        // SAFETY: an all-zero regex_t is a valid value to hand to regcomp as its output.
        let mut compiled: Box<libc::regex_t> = Box::new(unsafe { std::mem::zeroed() });
        // SAFETY: `compiled` is a live, exclusively borrowed regex_t; `pattern` is NUL-terminated.
        let status = unsafe {
            libc::regcomp(
                &raw mut *compiled,
                pattern.as_ptr(),
                libc::REG_EXTENDED | libc::REG_ICASE,
            )
        };
        if status != 0 {
            return Err(status);
        }
        Ok(Self { compiled })
    }

    /// `regexec` with [`MATCH_SLOTS`] slots: `None` when `text` does not match, else each slot's
    /// byte range (`None` for groups that did not take part). Text with a NUL never matches.
    #[must_use]
    pub fn captures(&self, text: &[u8]) -> Option<Vec<Option<(usize, usize)>>> {
        let text = CString::new(text).ok()?;
        let mut slots = [libc::regmatch_t { rm_so: -1, rm_eo: -1 }; MATCH_SLOTS];
        // SAFETY: `compiled` was filled by a successful regcomp; `text` is NUL-terminated;
        // `slots` has room for MATCH_SLOTS entries, which is what we pass.
        let status = unsafe {
            libc::regexec(
                &raw const *self.compiled,
                text.as_ptr().cast::<c_char>(),
                MATCH_SLOTS,
                slots.as_mut_ptr(),
                0,
            )
        };
        if status != 0 {
            return None;
        }
        Some(
            slots
                .iter()
                .map(|slot| {
                    let start = usize::try_from(slot.rm_so).ok()?;
                    let end = usize::try_from(slot.rm_eo).ok()?;
                    Some((start, end))
                })
                .collect(),
        )
    }

    /// Whether `text` matches anywhere.
    #[must_use]
    pub fn is_match(&self, text: &[u8]) -> bool {
        self.captures(text).is_some()
    }
}

impl Drop for Regex {
    fn drop(&mut self) {
        // SAFETY: `compiled` was filled by a successful regcomp and is freed exactly once.
        unsafe { libc::regfree(&raw mut *self.compiled) };
    }
}

impl std::fmt::Debug for Regex {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Regex")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_group_is_captured_case_insensitively() {
        let regex = Regex::extended_case_insensitive(br"^DOM\\([^@]+)@D\.TEST$").unwrap();
        let captures = regex.captures(b"dom\\alice@d.test").unwrap();
        assert_eq!(captures[1], Some((4, 9)));
        assert_eq!(captures[2], None);
        assert!(!regex.is_match(b"alice@d.test"));
    }

    #[test]
    fn bad_pattern_is_an_error() {
        assert!(Regex::extended_case_insensitive(b"(").is_err());
    }
}
