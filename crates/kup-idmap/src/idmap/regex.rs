//! The `regex` method: `[Regex] User-Regex`/`Group-Regex` (POSIX extended, case-insensitive)
//! pick the local name out of an NFSv4 name as their first participating capture group; ids map
//! back to the local name wrapped in the configured prefix and suffix.
//!
//! Rules reproduced: `Group-Name-Prefix` is removed from a captured group name unless
//! `Group-Name-No-Prefix-Regex` matches it, and added back on the way out unless the name
//! already has it or matches that regex. A missing or bad regex fails init (the reference
//! crashes at the first lookup). No I/O of its own: NSS through [`Services`]; the regex engine
//! is libc's, through `kup-sys`.

use kup_sys::passwd::Passwd;
use kup_sys::posix_regex::Regex;
use kup_sys::{Gid, Uid};

use super::{Errno, Method, Services, fit, gss_secname_ok};

/// The compiled `[Regex]` settings.
pub(super) struct RegexMap {
    user: Regex,
    group: Regex,
    no_prefix: Option<Regex>,
    group_name_prefix: Vec<u8>,
    user_prefix: Vec<u8>,
    user_suffix: Vec<u8>,
    group_prefix: Vec<u8>,
    group_suffix: Vec<u8>,
}

impl RegexMap {
    /// Compiles `[Regex]`; `None` (logged) when a regex is missing or does not compile.
    pub(super) fn load(services: &Services<'_>) -> Option<Self> {
        let compile = |tag: &str, what: &str| -> Option<Regex> {
            let Some(pattern) = services.config.get("Regex", tag.as_bytes()) else {
                services.log(0, &format!("regex_init: regex for {what} missing"));
                return None;
            };
            if expansion(&pattern) > MAX_EXPANSION {
                services.log(
                    0,
                    &format!(
                        "regex_init: compiling regex for {what} failed with status {REG_ESPACE}: \
                         its repetitions would expand past {MAX_EXPANSION} elements"
                    ),
                );
                return None;
            }
            match Regex::extended_case_insensitive(&pattern) {
                Ok(regex) => Some(regex),
                Err(status) => {
                    services.log(
                        0,
                        &format!("regex_init: compiling regex for {what} failed with status {status}"),
                    );
                    None
                }
            }
        };
        let user = compile("User-Regex", "user mapping")?;
        let group = compile("Group-Regex", "group mapping")?;
        let no_prefix = match services.config.get("Regex", b"Group-Name-No-Prefix-Regex") {
            None => None,
            Some(_) => Some(compile("Group-Name-No-Prefix-Regex", "group prefix exclusion")?),
        };
        let text = |tag: &str| services.config.get("Regex", tag.as_bytes()).unwrap_or_default();
        Some(Self {
            user,
            group,
            no_prefix,
            group_name_prefix: text("Group-Name-Prefix"),
            user_prefix: text("Prepend-Before-User"),
            user_suffix: text("Append-After-User"),
            group_prefix: text("Prepend-Before-Group"),
            group_suffix: text("Append-After-Group"),
        })
    }

    /// The user `User-Regex` captures from `name`.
    fn user(&self, services: &Services<'_>, name: &[u8]) -> Result<Passwd, Errno> {
        let local = first_capture(&self.user, name).ok_or(Errno::NOT_FOUND)?;
        match services.accounts.user_by_name(local) {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(Errno::NOT_FOUND),
            Err(error) => Err(Errno(error)),
        }
    }
}

impl Method for RegexMap {
    fn name(&self) -> &'static str {
        "regex"
    }

    fn name_to_uid(&self, services: &Services<'_>, name: &[u8]) -> Result<Uid, Errno> {
        self.user(services, name).map(|user| user.uid)
    }

    fn name_to_gid(&self, services: &Services<'_>, name: &[u8]) -> Result<Gid, Errno> {
        let captured = first_capture(&self.group, name).ok_or(Errno::NOT_FOUND)?;
        let mut local = captured;
        if !self.group_name_prefix.is_empty() && captured.starts_with(&self.group_name_prefix) {
            let keep = self
                .no_prefix
                .as_ref()
                .is_some_and(|no_prefix| no_prefix.is_match(captured));
            if !keep {
                local = captured.get(self.group_name_prefix.len()..).unwrap_or_default();
            }
        }
        match services.accounts.group_by_name(local) {
            Ok(Some(group)) => Ok(group.gid),
            Ok(None) => Err(Errno::NOT_FOUND),
            Err(error) => Err(Errno(error)),
        }
    }

    fn uid_to_name(
        &self,
        services: &Services<'_>,
        uid: Uid,
        _domain: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, Errno> {
        let user = services
            .accounts
            .user_by_uid(uid)
            .ok()
            .flatten()
            .ok_or(Errno::NOT_FOUND)?;
        fit(
            [self.user_prefix.as_slice(), &user.name, &self.user_suffix].concat(),
            capacity,
        )
    }

    fn gid_to_name(
        &self,
        services: &Services<'_>,
        gid: Gid,
        _domain: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, Errno> {
        let group = services
            .accounts
            .group_by_gid(gid)
            .map_err(Errno)?
            .ok_or(Errno::NOT_FOUND)?;
        let skip_prefix = self.group_name_prefix.is_empty()
            || group.name.starts_with(&self.group_name_prefix)
            || self
                .no_prefix
                .as_ref()
                .is_some_and(|no_prefix| no_prefix.is_match(&group.name));
        let name_prefix: &[u8] = if skip_prefix { b"" } else { &self.group_name_prefix };
        fit(
            [
                self.group_prefix.as_slice(),
                name_prefix,
                &group.name,
                &self.group_suffix,
            ]
            .concat(),
            capacity,
        )
    }

    fn principal_to_ids(
        &self,
        services: &Services<'_>,
        secname: &[u8],
        principal: &[u8],
    ) -> Result<(Uid, Gid), Errno> {
        gss_secname_ok(secname)?;
        let user = self.user(services, principal)?;
        Ok((user.uid, user.gid))
    }

    fn principal_to_groups(
        &self,
        services: &Services<'_>,
        secname: &[u8],
        principal: &[u8],
    ) -> Result<Vec<Gid>, Errno> {
        gss_secname_ok(secname)?;
        services.group_list(&self.user(services, principal)?)
    }
}

/// The first participating capture group (1..99) of a match.
fn first_capture<'a>(regex: &Regex, text: &'a [u8]) -> Option<&'a [u8]> {
    let captures = regex.captures(text)?;
    let (start, end) = captures.iter().skip(1).find_map(|slot| *slot)?;
    text.get(start..end)
}

/// glibc's `REG_ESPACE`: what its `regcomp` answers when it runs out of memory.
const REG_ESPACE: i32 = 12;

/// The most elements a `[Regex]` pattern may expand to (see [`expansion`]).
const MAX_EXPANSION: u64 = 1 << 16;

/// An upper estimate of how many elements glibc's `regcomp` makes of an extended pattern once
/// repetitions are expanded: `+` copies its operand once more, `{m,n}` up to `max(m, n)` times,
/// and stacked or nested repetitions multiply. glibc accepts stacked duplication symbols, which
/// POSIX leaves undefined, and a pattern such as `^d+++…+` (forty of them) or `(a{999}){999}`
/// makes it allocate until memory runs out (a fuzz finding); such a pattern is refused as
/// `REG_ESPACE` before `regcomp` sees it. Ordinary patterns estimate to a few dozen.
fn expansion(pattern: &[u8]) -> u64 {
    // Sizes of the alternatives and of the current concatenation, per open group.
    let mut frames: Vec<(u64, u64)> = vec![(0, 0)];
    // Size of the last atom (what a following repetition applies to).
    let mut last: u64 = 0;
    let mut at = 0;
    while let Some(&byte) = pattern.get(at) {
        at += 1;
        match byte {
            b'\\' => {
                at += 1;
                grow(&mut frames, 1);
                last = 1;
            }
            b'[' => {
                // A bracket expression is one element; skip to its closing `]` (a `]` first in
                // the list is a member, `[:…:]`, `[.….]` and `[=…=]` hold their own `]`).
                if pattern.get(at) == Some(&b'^') {
                    at += 1;
                }
                if pattern.get(at) == Some(&b']') {
                    at += 1;
                }
                while let Some(&inner) = pattern.get(at) {
                    at += 1;
                    match inner {
                        b']' => break,
                        b'[' if matches!(pattern.get(at), Some(b':' | b'.' | b'=')) => {
                            let kind = pattern.get(at).copied();
                            let rest = pattern.get(at + 1..).unwrap_or_default();
                            let close = rest
                                .windows(2)
                                .position(|pair| pair.first().copied() == kind && pair.get(1) == Some(&b']'));
                            at += close.map_or(pattern.len(), |offset| offset + 3);
                        }
                        _ => {}
                    }
                }
                grow(&mut frames, 1);
                last = 1;
            }
            b'(' => {
                frames.push((0, 0));
                last = 0;
            }
            b')' if frames.len() > 1 => {
                let (alternatives, current) = frames.pop().unwrap_or_default();
                let group = alternatives.saturating_add(current).saturating_add(1);
                grow(&mut frames, group);
                last = group;
            }
            b'|' => {
                if let Some(frame) = frames.last_mut() {
                    frame.0 = frame.0.saturating_add(frame.1);
                    frame.1 = 0;
                }
                last = 0;
            }
            b'*' | b'?' | b'+' | b'{' => {
                let copies = match byte {
                    b'+' => 2,
                    b'{' => {
                        let Some((length, count)) = interval(pattern.get(at..).unwrap_or_default()) else {
                            // Not an interval: a literal `{`.
                            grow(&mut frames, 1);
                            last = 1;
                            continue;
                        };
                        at += length;
                        count.max(1)
                    }
                    _ => 1,
                };
                // The repeated atom's copies replace it in the concatenation.
                let grown = last.saturating_mul(copies).saturating_add(1);
                if let Some(frame) = frames.last_mut() {
                    frame.1 = frame.1.saturating_sub(last).saturating_add(grown);
                }
                last = grown;
            }
            _ => {
                grow(&mut frames, 1);
                last = 1;
            }
        }
    }
    frames.iter().fold(0_u64, |total, (alternatives, current)| {
        total.saturating_add(*alternatives).saturating_add(*current)
    })
}

/// Adds `size` elements to the innermost group's current concatenation.
fn grow(frames: &mut [(u64, u64)], size: u64) {
    if let Some(frame) = frames.last_mut() {
        frame.1 = frame.1.saturating_add(size);
    }
}

/// `m}`, `m,}` or `m,n}` after a `{`: its length and the larger count.
fn interval(rest: &[u8]) -> Option<(usize, u64)> {
    let close = rest.iter().position(|&byte| byte == b'}')?;
    let body = rest.get(..close)?;
    let (low, high) = match body.iter().position(|&byte| byte == b',') {
        Some(comma) => (body.get(..comma)?, body.get(comma + 1..)?),
        None => (body, &[][..]),
    };
    let number = |digits: &[u8]| -> Option<u64> {
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) || digits.len() > 6 {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let low = number(low)?;
    let high = if high.is_empty() { low } else { number(high)? };
    Some((close + 1, low.max(high)))
}

#[cfg(test)]
mod expansion_tests {
    use super::{MAX_EXPANSION, expansion};

    #[test]
    fn ordinary_patterns_estimate_small() {
        for pattern in [
            &b"^([^@]+)@EXAMPLE\\.COM$"[..],
            b"^(.*)@(example|test)\\.org$",
            b"^[[:alpha:]]+[]a-z]*{x$",
            b"^user_(.{1,32})$",
            b"^a+?$",
        ] {
            assert!(
                expansion(pattern) < 200,
                "{}: {}",
                String::from_utf8_lossy(pattern),
                expansion(pattern)
            );
        }
    }

    #[test]
    fn stacked_and_nested_repetitions_are_caught() {
        let mut stacked = b"^d".to_vec();
        stacked.extend([b'+'; 40]);
        stacked.extend(b"o1000");
        assert!(expansion(&stacked) > MAX_EXPANSION);
        assert!(expansion(b"(a{999}){999}") > MAX_EXPANSION);
        assert!(expansion(b"((((((((((((((((((a+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+") > MAX_EXPANSION);
        // The largest single interval glibc allows stays under the bound.
        assert!(expansion(b"a{32767}") <= MAX_EXPANSION);
    }
}
