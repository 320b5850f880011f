//! The `static` method: `[Static]` binds whole NFSv4 names (or GSS principals) to local user
//! names, `principal = localname`, tags compared case-insensitively.
//!
//! Forward lookups read `[Static]` at query time; the reverse direction uses tables built once
//! at init from the principals whose value is a user (or group), the first binding of an id
//! winning. A value that is not a user/group is logged at every init, as the reference does. A
//! principal longer than the name buffer is `ENOMEM` (the reference overflows its buffer). No
//! I/O of its own: NSS and the configuration through [`Services`].

use kup_runtime::helper::Printable;
use kup_sys::passwd::Passwd;
use kup_sys::{Gid, Uid};

use super::{Errno, Method, Services, fit, gss_secname_ok};

/// `[Static]` with its reverse tables, in the order the bindings took effect.
pub(super) struct StaticMap {
    users: Vec<(Uid, Vec<u8>)>,
    groups: Vec<(Gid, Vec<u8>)>,
}

impl StaticMap {
    /// Builds the reverse tables: each `[Static]` principal whose value is a user, then each whose
    /// value is a group (the misses are logged).
    pub(super) fn load(services: &Services<'_>) -> Self {
        let mut table = Self {
            users: Vec::new(),
            groups: Vec::new(),
        };
        let tags = services.config.tags("Static");
        for tag in &tags {
            if let Ok(user) = bound_user(services, tag) {
                table.users.push((user.uid, tag.clone()));
            }
        }
        for tag in &tags {
            if let Ok(gid) = bound_group_id(services, tag) {
                table.groups.push((gid, tag.clone()));
            }
        }
        table
    }
}

impl Method for StaticMap {
    fn name(&self) -> &'static str {
        "static"
    }

    fn name_to_uid(&self, services: &Services<'_>, name: &[u8]) -> Result<Uid, Errno> {
        bound_user(services, name).map(|user| user.uid)
    }

    fn name_to_gid(&self, services: &Services<'_>, name: &[u8]) -> Result<Gid, Errno> {
        bound_group_id(services, name)
    }

    fn uid_to_name(
        &self,
        _services: &Services<'_>,
        uid: Uid,
        _domain: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, Errno> {
        self.users
            .iter()
            .find(|(id, _)| *id == uid)
            .ok_or(Errno::NOT_FOUND)
            .and_then(|(_, principal)| fit(principal.clone(), capacity))
    }

    fn gid_to_name(
        &self,
        _services: &Services<'_>,
        gid: Gid,
        _domain: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, Errno> {
        self.groups
            .iter()
            .find(|(id, _)| *id == gid)
            .ok_or(Errno::NOT_FOUND)
            .and_then(|(_, principal)| fit(principal.clone(), capacity))
    }

    fn principal_to_ids(
        &self,
        services: &Services<'_>,
        secname: &[u8],
        principal: &[u8],
    ) -> Result<(Uid, Gid), Errno> {
        gss_secname_ok(secname)?;
        let user = bound_user(services, principal)?;
        Ok((user.uid, user.gid))
    }

    fn principal_to_groups(
        &self,
        services: &Services<'_>,
        secname: &[u8],
        principal: &[u8],
    ) -> Result<Vec<Gid>, Errno> {
        gss_secname_ok(secname)?;
        services.group_list(&bound_user(services, principal)?)
    }
}

/// The user `[Static]` binds `name` to.
fn bound_user(services: &Services<'_>, name: &[u8]) -> Result<Passwd, Errno> {
    let local = services.config.get("Static", name).ok_or(Errno::NOT_FOUND)?;
    match services.accounts.user_by_name(&local) {
        Ok(Some(user)) => Ok(user),
        result => {
            services.log(
                0,
                &format!(
                    "static_getpwnam: localname '{}' for '{}' not found",
                    Printable(&local),
                    Printable(name)
                ),
            );
            Err(result.err().map_or(Errno::NOT_FOUND, Errno))
        }
    }
}

/// The id of the group `[Static]` binds `name` to.
fn bound_group_id(services: &Services<'_>, name: &[u8]) -> Result<Gid, Errno> {
    let local = services.config.get("Static", name).ok_or(Errno::NOT_FOUND)?;
    match services.accounts.group_by_name(&local) {
        Ok(Some(group)) => Ok(group.gid),
        result => {
            services.log(
                0,
                &format!(
                    "static_getgrnam: local group '{}' for '{}' not found",
                    Printable(&local),
                    Printable(name)
                ),
            );
            Err(result.err().map_or(Errno::NOT_FOUND, Errno))
        }
    }
}
