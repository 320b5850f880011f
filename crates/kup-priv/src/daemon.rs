//! The gssproxy daemon's `run_as_user` (spec gssproxy-config.md §3.2): once its sockets exist,
//! the kernel is switched and readiness is signalled, the daemon becomes a configured user for
//! good. [`DaemonRoot`] → [`ServiceUser`], the second consuming the first.
//!
//! The reference's order: the user's passwd entry, its groups (`initgroups`: every group the
//! group database lists it in, its primary group included), the group ids, then the user ids;
//! with Debian's build (no libcap) no capability survives. Ours does the same with the ids, and
//! then empties the capability sets explicitly (`setresuid` from 0 to another uid already
//! clears them), sets no-new-privileges, and verifies: all three uids and gids, exactly the
//! expected supplementary groups, no capability in the permitted, effective or inheritable set,
//! no-new-privileges, and a `setresuid(0)` that must fail. The bounding set is left as it is:
//! emptying it needs `CAP_SETPCAP`, which kup's unit does not grant (its bounding set is
//! already four capabilities), and nothing the daemon does after the drop executes a program.
//!
//! Must run while the process has one thread (glibc applies each set*id call to every thread,
//! but a thread in the middle of GSS or NSS work would see its identity change under it): the
//! daemon drops before it starts its workers, as the reference does.

use std::fmt;
use std::io;

use kup_sys::capability::{self, CapabilitySets};
use kup_sys::{Gid, Uid, credentials, passwd, prctl, process};

/// Why the drop failed (the daemon exits 1).
#[derive(Debug)]
pub enum DropError {
    /// No passwd entry for the name.
    NoSuchUser(String),
    /// The passwd or group lookup failed.
    Lookup(io::Error),
    /// A credential call failed; the step names it.
    Switch(&'static str, io::Error),
    /// After the switch the process is not what it should be; names what differs.
    Verify(&'static str),
}

impl fmt::Display for DropError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchUser(name) => write!(formatter, "user {name} not found"),
            Self::Lookup(error) => write!(formatter, "user lookup failed: {error}"),
            Self::Switch(step, error) => write!(formatter, "{step} failed: {error}"),
            Self::Verify(what) => write!(formatter, "privilege drop not verified: {what}"),
        }
    }
}

impl std::error::Error for DropError {}

/// The daemon as started, before the drop: whatever identity it was given (root, normally).
#[derive(Debug)]
pub struct DaemonRoot(());

/// Proof that the daemon now runs as the configured user and nothing more: uids, gids and
/// supplementary groups switched, no capabilities, no-new-privileges; all checked. Only this
/// crate constructs it.
#[derive(Debug)]
pub struct ServiceUser {
    uid: Uid,
    gid: Gid,
    groups: Vec<Gid>,
}

impl ServiceUser {
    /// The user id now held (real, effective and saved).
    #[must_use]
    pub fn uid(&self) -> Uid {
        self.uid
    }

    /// The group id now held (real, effective and saved): the user's primary group.
    #[must_use]
    pub fn gid(&self) -> Gid {
        self.gid
    }

    /// The supplementary groups now held (`initgroups`'s list).
    #[must_use]
    pub fn groups(&self) -> &[Gid] {
        &self.groups
    }
}

impl DaemonRoot {
    /// The daemon before its drop.
    #[must_use]
    pub fn new() -> Self {
        Self(())
    }

    /// Becomes `name` (see the module text).
    pub fn run_as_user(self, name: &str) -> Result<ServiceUser, DropError> {
        let entry = passwd::user_by_name(name.as_bytes())
            .map_err(DropError::Lookup)?
            .ok_or_else(|| DropError::NoSuchUser(name.to_owned()))?;
        let mut groups = passwd::group_list(&entry.name, entry.gid).map_err(DropError::Lookup)?;
        groups.sort_unstable_by_key(|gid| gid.get());
        groups.dedup();
        credentials::set_groups(&groups).map_err(|error| DropError::Switch("setgroups", error))?;
        credentials::set_all_group_ids(entry.gid).map_err(|error| DropError::Switch("setresgid", error))?;
        credentials::set_all_user_ids(entry.uid).map_err(|error| DropError::Switch("setresuid", error))?;
        capability::set(CapabilitySets::EMPTY).map_err(|error| DropError::Switch("capset", error))?;
        prctl::set_no_new_privileges().map_err(|error| DropError::Switch("PR_SET_NO_NEW_PRIVS", error))?;
        let user = ServiceUser {
            uid: entry.uid,
            gid: entry.gid,
            groups,
        };
        user.verify()?;
        Ok(user)
    }
}

impl Default for DaemonRoot {
    fn default() -> Self {
        Self::new()
    }
}

impl ServiceUser {
    fn verify(&self) -> Result<(), DropError> {
        let fail = |what| move |_| DropError::Verify(what);
        let users = process::user_ids().map_err(fail("getresuid failed"))?;
        if [users.real, users.effective, users.saved] != [self.uid; 3] {
            return Err(DropError::Verify("user ids"));
        }
        let ids = credentials::group_ids().map_err(fail("getresgid failed"))?;
        if [ids.real, ids.effective, ids.saved] != [self.gid; 3] {
            return Err(DropError::Verify("group ids"));
        }
        let mut held = credentials::groups().map_err(fail("getgroups failed"))?;
        held.sort_unstable_by_key(|gid| gid.get());
        held.dedup();
        if held != self.groups {
            return Err(DropError::Verify("supplementary groups"));
        }
        if capability::current().map_err(fail("capget failed"))? != CapabilitySets::EMPTY {
            return Err(DropError::Verify("capabilities"));
        }
        if !prctl::no_new_privileges().map_err(fail("PR_GET_NO_NEW_PRIVS failed"))? {
            return Err(DropError::Verify("no_new_privs"));
        }
        if self.uid != Uid::ROOT && credentials::set_all_user_ids(Uid::ROOT).is_ok() {
            return Err(DropError::Verify("uid 0 could be regained"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_user_is_refused_before_anything_changes() {
        let before = process::user_ids().unwrap();
        let error = DaemonRoot::new()
            .run_as_user("kup-no-such-user-for-this-test")
            .unwrap_err();
        assert!(matches!(error, DropError::NoSuchUser(_)), "{error}");
        assert_eq!(process::user_ids().unwrap(), before);
    }

    #[test]
    fn root_becomes_nobody_with_its_groups_and_no_capability() {
        if process::user_ids().unwrap().effective != Uid::ROOT {
            return; // needs root (the CI and the test hosts run the suite as root)
        }
        let nobody = passwd::user_by_name(b"nobody").unwrap().expect("user nobody");
        // In a forked child: the test process keeps its identity.
        let child = kup_sys::fork::spawn(|| {
            let Ok(user) = DaemonRoot::new().run_as_user("nobody") else {
                return 1;
            };
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            let field = |name: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(name))
                    .map(|rest| rest.split_whitespace().collect::<Vec<_>>().join(" "))
                    .unwrap_or_default()
            };
            let id = |value: u32| vec![value.to_string(); 4].join(" ");
            let groups: Vec<String> = user.groups().iter().map(|gid| gid.get().to_string()).collect();
            let right = field("Uid:") == id(nobody.uid.get())
                && field("Gid:") == id(nobody.gid.get())
                && field("Groups:") == groups.join(" ")
                && user.groups().contains(&nobody.gid)
                && field("CapEff:") == "0000000000000000"
                && field("CapPrm:") == "0000000000000000"
                && field("NoNewPrivs:") == "1";
            u8::from(!right) * 2
        })
        .unwrap();
        assert_eq!(
            kup_sys::fork::wait(child).unwrap(),
            kup_sys::fork::ExitStatus::Exited(0)
        );
    }
}
