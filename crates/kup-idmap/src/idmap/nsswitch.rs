//! The `nsswitch` method (libnfsidmap's default): an NFSv4 name is `local@domain` and `local` is
//! looked up in the system's user and group databases; ids map back to `name@domain`.
//!
//! It alone reads `[General] No-Strip`, `Reformat-Group` and `Local-Realms`. Rules reproduced:
//! stripping at the *last* `@` with a case-insensitive domain comparison (a name outside the
//! domain stops the chain with `EINVAL`), the unstripped lookups of No-Strip (and the
//! `DOMAIN\name` form of Reformat-Group), principals only from the local realms (exact case) for
//! ids but from any realm for group lists. No I/O of its own: NSS through [`Services`].

use kup_runtime::helper::Printable;
use kup_sys::{Gid, Uid};

use super::{Errno, Method, Services, fit};
use crate::conf::Config;

/// The nsswitch method with the settings it reads.
#[derive(Clone, Debug)]
pub(super) struct Nsswitch {
    /// The domain names must carry (empty when it did not fit the domain buffer).
    domain: Vec<u8>,
    no_strip_user: bool,
    no_strip_group: bool,
    reformat_group: bool,
    local_realms: Vec<Vec<u8>>,
}

impl Nsswitch {
    /// Reads `No-Strip` and `Reformat-Group`; `domain` is the library's domain as nsswitch sees
    /// it, `local_realms` the library's `Local-Realms`.
    pub(super) fn new(config: &Config, domain: &[u8], local_realms: &[Vec<u8>]) -> Self {
        let no_strip = config
            .get("General", b"No-Strip")
            .unwrap_or_else(|| b"none".to_vec());
        let (no_strip_user, no_strip_group) = if no_strip.eq_ignore_ascii_case(b"both") {
            (true, true)
        } else {
            (
                no_strip.eq_ignore_ascii_case(b"user"),
                no_strip.eq_ignore_ascii_case(b"group"),
            )
        };
        let reformat_group = no_strip_group
            && config.get("General", b"Reformat-Group").is_some_and(|value| {
                [&b"true"[..], b"on", b"yes"]
                    .iter()
                    .any(|word| value.eq_ignore_ascii_case(word))
            });
        Self {
            domain: domain.to_vec(),
            no_strip_user,
            no_strip_group,
            reformat_group,
            local_realms: local_realms.to_vec(),
        }
    }
}

impl Method for Nsswitch {
    fn name(&self) -> &'static str {
        "nsswitch"
    }

    fn name_to_uid(&self, services: &Services<'_>, name: &[u8]) -> Result<Uid, Errno> {
        let domain = self.domain.as_slice();
        if self.no_strip_user {
            if let Ok(Some(user)) = services.accounts.user_by_name(name) {
                return Ok(user.uid);
            }
            services.log(
                1,
                &format!(
                    "nss_getpwnam: name '{}' not found (domain not stripped)",
                    Printable(name)
                ),
            );
        }
        let Some(local) = strip_domain(name, domain) else {
            services.log(
                0,
                &format!(
                    "nss_getpwnam: name '{}' does not map into domain '{}'",
                    Printable(name),
                    Printable(domain)
                ),
            );
            return Err(Errno::INVALID);
        };
        services.log(
            4,
            &format!(
                "nss_getpwnam: name '{}' domain '{}': resulting localname '{}'",
                Printable(name),
                Printable(domain),
                Printable(local)
            ),
        );
        match services.accounts.user_by_name(local) {
            Ok(Some(user)) => {
                services.log(
                    4,
                    &format!("nss_name_to_uid: name '{}' uid {}", Printable(name), user.uid),
                );
                Ok(user.uid)
            }
            Ok(None) => {
                services.log(
                    1,
                    &format!(
                        "nss_getpwnam: name '{}' not found in domain '{}'",
                        Printable(local),
                        Printable(domain)
                    ),
                );
                Err(Errno::NOT_FOUND)
            }
            Err(error) => Err(Errno(error)),
        }
    }

    fn name_to_gid(&self, services: &Services<'_>, name: &[u8]) -> Result<Gid, Errno> {
        let domain = self.domain.as_slice();
        if self.no_strip_group {
            let unstripped = if self.reformat_group {
                reformat_group_name(name)
            } else {
                Some(name.to_vec())
            };
            match unstripped {
                None => services.log(
                    1,
                    &format!("nss_name_to_gid: failed to reformat name '{}'", Printable(name)),
                ),
                Some(lookup) => {
                    if let Ok(Some(group)) = services.accounts.group_by_name(&lookup) {
                        return Ok(group.gid);
                    }
                }
            }
        }
        let Some(local) = strip_domain(name, domain) else {
            services.log(
                0,
                &format!(
                    "nss_name_to_gid: name '{}' does not map into domain '{}'",
                    Printable(name),
                    Printable(domain)
                ),
            );
            return Err(Errno::INVALID);
        };
        match services.accounts.group_by_name(local) {
            Ok(Some(group)) => Ok(group.gid),
            Ok(None) => {
                services.log(
                    1,
                    &format!(
                        "nss_name_to_gid: name '{}' not found in domain '{}'",
                        Printable(local),
                        Printable(domain)
                    ),
                );
                Err(Errno::NOT_FOUND)
            }
            Err(error) => Err(Errno(error)),
        }
    }

    fn uid_to_name(
        &self,
        services: &Services<'_>,
        uid: Uid,
        domain: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, Errno> {
        let user = services
            .accounts
            .user_by_uid(uid)
            .ok()
            .flatten()
            .ok_or(Errno::NOT_FOUND)?;
        write_owner(&user.name, domain, capacity, !self.no_strip_user)
    }

    fn gid_to_name(
        &self,
        services: &Services<'_>,
        gid: Gid,
        domain: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, Errno> {
        let group = services
            .accounts
            .group_by_gid(gid)
            .map_err(Errno)?
            .ok_or(Errno::NOT_FOUND)?;
        write_owner(&group.name, domain, capacity, !self.no_strip_group)
    }

    fn principal_to_ids(
        &self,
        services: &Services<'_>,
        secname: &[u8],
        principal: &[u8],
    ) -> Result<(Uid, Gid), Errno> {
        if secname == b"spkm3" {
            return Err(Errno::NOT_FOUND);
        }
        if secname != b"krb5" {
            return Err(Errno::INVALID);
        }
        let at = principal
            .iter()
            .position(|&byte| byte == b'@')
            .ok_or(Errno::INVALID)?;
        let realm = principal.get(at + 1..).unwrap_or_default();
        if !self.local_realms.iter().any(|local| local.as_slice() == realm) {
            services.log(
                1,
                &format!(
                    "nss_gss_princ_to_ids: Local-Realm '{}': NOT FOUND",
                    Printable(realm)
                ),
            );
            return Err(Errno::NOT_FOUND);
        }
        let user = services
            .accounts
            .user_by_name(before_last_at(principal))
            .ok()
            .flatten()
            .ok_or(Errno::NOT_FOUND)?;
        Ok((user.uid, user.gid))
    }

    fn principal_to_groups(
        &self,
        services: &Services<'_>,
        secname: &[u8],
        principal: &[u8],
    ) -> Result<Vec<Gid>, Errno> {
        if secname != b"krb5" {
            return Err(Errno::INVALID);
        }
        let user = services
            .accounts
            .user_by_name(before_last_at(principal))
            .ok()
            .flatten()
            .ok_or(Errno::NOT_FOUND)?;
        services.group_list(&user)
    }
}

/// The part before the last `@` if the part after it equals `domain` case-insensitively.
fn strip_domain<'a>(name: &'a [u8], domain: &[u8]) -> Option<&'a [u8]> {
    let at = name.iter().rposition(|&byte| byte == b'@')?;
    let after = name.get(at + 1..)?;
    if !after.eq_ignore_ascii_case(domain) {
        return None;
    }
    name.get(..at)
}

/// The part before the last `@` (all of it when there is none).
fn before_last_at(name: &[u8]) -> &[u8] {
    name.iter()
        .rposition(|&byte| byte == b'@')
        .and_then(|at| name.get(..at))
        .unwrap_or(name)
}

/// `name@dom.ain` → `DOM\name` (first `@`, first label upper-cased).
fn reformat_group_name(name: &[u8]) -> Option<Vec<u8>> {
    let at = name.iter().position(|&byte| byte == b'@')?;
    let domain = name.get(at + 1..)?;
    let dot = domain.iter().position(|&byte| byte == b'.')?;
    let mut result = domain.get(..dot)?.to_ascii_uppercase();
    result.push(b'\\');
    result.extend_from_slice(name.get(..at)?);
    Some(result)
}

/// nsswitch's `write_name`: `local@domain`, or `local` as-is when not appending and it already
/// holds an `@`; `ENOMEM` when it does not fit `capacity` with its NUL.
fn write_owner(local: &[u8], domain: &[u8], capacity: usize, append: bool) -> Result<Vec<u8>, Errno> {
    if append || !local.contains(&b'@') {
        fit([local, b"@", domain].concat(), capacity)
    } else {
        fit(local.to_vec(), capacity)
    }
}
