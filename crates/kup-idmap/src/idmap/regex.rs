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
