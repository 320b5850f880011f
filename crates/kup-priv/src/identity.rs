//! The privilege typestate: [`Root`] → [`Entered`] → [`User`], each step consuming the last.
//!
//! Runs only in the single-threaded child [`crate::run_in_child`] forks (entering a user
//! namespace and glibc's set*id calls need one thread; the parent must keep its namespaces).

use std::fmt;
use std::fs::File;
use std::io::{self, Read as _, Write as _};
use std::os::fd::{AsFd as _, BorrowedFd, OwnedFd};

use kup_sys::capability::{self, CapabilitySets};
use kup_sys::fork::{self, ExitStatus};
use kup_sys::namespace::{self, Namespace};
use kup_sys::{Gid, Pid, Uid, credentials, passwd, prctl, process};

use crate::id_map::IdMap;

/// The namespaces entered, in the reference's fixed order (cifs-upcall.md §9; Debian's build
/// has no `time`). `user` comes last: after it the child has no capability outside it.
pub const NAMESPACE_ORDER: [Namespace; 7] = [
    Namespace::Cgroup,
    Namespace::Ipc,
    Namespace::Uts,
    Namespace::Net,
    Namespace::Pid,
    Namespace::Mount,
    Namespace::User,
];

/// The kernel's overflow group id (`/proc/sys/kernel/overflowgid` default; Debian's `nogroup`),
/// which owns nothing: the group the passwd lookup runs under (see the crate documentation).
pub const LOOKUP_GID: Gid = Gid::new(65534);

/// Whose namespaces the credential work runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Namespaces {
    /// The requesting process's (`pid=` of the description, `upcall_target=app`). A pid whose
    /// namespace files do not exist (0, or a process that has exited) means no switch, as in
    /// the reference.
    Requester(Pid),
    /// The helper's own (`upcall_target=mount`): no switch.
    Own,
}

/// What the child should become.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The user, as a kernel (initial user namespace) uid: the description's `creduid`/`uid`.
    pub uid: Uid,
    /// Whose namespaces to enter.
    pub namespaces: Namespaces,
}

/// Why the namespace or identity switch failed.
#[derive(Debug)]
pub enum Error {
    /// The helper does not run with effective uid 0.
    NotRoot,
    /// The requester's `/proc/<pid>` could not be opened (other than `ENOENT`).
    Process(io::Error),
    /// A namespace file could not be opened (other than `ENOENT`).
    Open(Namespace, io::Error),
    /// The requester's uid or gid map could not be read or parsed.
    IdMap(&'static str, io::Error),
    /// `setns` into this namespace failed.
    Enter(Namespace, io::Error),
    /// The kernel uid has no id in the requester's user namespace.
    UnmappedUser(Uid),
    /// The user has no passwd entry (`getpwuid`, in the requester's namespaces, as the user).
    NoPasswdEntry(Uid),
    /// The passwd lookup failed.
    Lookup(String),
    /// A credential call failed; the step names it.
    Switch(&'static str, io::Error),
    /// After the switch the process is not what it should be; names what differs.
    Verify(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRoot => write!(formatter, "not running as root"),
            Self::Process(error) => write!(formatter, "cannot open the requester's /proc entry: {error}"),
            Self::Open(kind, error) => {
                write!(
                    formatter,
                    "cannot open the requester's {} namespace: {error}",
                    kind.name()
                )
            }
            Self::IdMap(which, error) => write!(formatter, "cannot read the requester's {which}: {error}"),
            Self::Enter(kind, error) => {
                write!(
                    formatter,
                    "cannot enter the requester's {} namespace: {error}",
                    kind.name()
                )
            }
            Self::UnmappedUser(uid) => {
                write!(
                    formatter,
                    "uid {uid} is not mapped in the requester's user namespace"
                )
            }
            Self::NoPasswdEntry(uid) => write!(formatter, "unable to find pw entry for uid {uid}"),
            Self::Lookup(message) => write!(formatter, "passwd lookup failed: {message}"),
            Self::Switch(step, error) => write!(formatter, "{step} failed: {error}"),
            Self::Verify(what) => write!(formatter, "identity switch not verified: {what}"),
        }
    }
}

impl std::error::Error for Error {}

/// The helper as started: effective uid 0, the initial namespaces.
pub(crate) struct Root {
    last_capability: u32,
}

/// The requester's namespaces entered, all but the user namespace, which is entered as part of
/// the identity switch ([`Entered::become_user`]) so that the passwd lookup's group can be set
/// while still in the initial user namespace.
pub(crate) struct Entered {
    last_capability: u32,
    /// The requester's `environ`, opened (not read) through the initial procfs before any switch.
    environ: Option<File>,
    user_namespace: Option<OwnedFd>,
    uid_map: IdMap,
    gid_map: IdMap,
}

/// Proof that the calling process is the requested user and nothing more: real, effective and
/// saved uid and gid switched, no supplementary groups, no capabilities in any set, an empty
/// bounding set, no-new-privileges; all checked after the switch. Only this crate constructs it:
///
/// ```compile_fail
/// # use kup_priv::{Gid, Uid, User};
/// let forged = User { kernel_uid: Uid::new(1000), uid: Uid::new(1000), gid: Gid::new(1000) };
/// ```
#[derive(Debug)]
pub struct User {
    kernel_uid: Uid,
    uid: Uid,
    gid: Gid,
    environ: Option<File>,
}

impl User {
    /// The uid as the kernel sent it (initial user namespace).
    #[must_use]
    pub fn kernel_uid(&self) -> Uid {
        self.kernel_uid
    }

    /// The uid in the user namespace the process is in now (equal to [`Self::kernel_uid`] when
    /// no user namespace was entered).
    #[must_use]
    pub fn uid(&self) -> Uid {
        self.uid
    }

    /// The primary group: `pw_gid` of the user's passwd entry, in the current user namespace.
    #[must_use]
    pub fn gid(&self) -> Gid {
        self.gid
    }

    /// The requester's `/proc/<pid>/environ`, opened before the switch (see [`Root::enter`]).
    pub(crate) fn environ(&self) -> Option<&File> {
        self.environ.as_ref()
    }
}

impl Root {
    /// Checks that the process runs with effective uid 0.
    pub(crate) fn check() -> Result<Self, Error> {
        let ids = process::user_ids().map_err(|error| Error::Switch("getresuid", error))?;
        if ids.effective != Uid::ROOT {
            return Err(Error::NotRoot);
        }
        // Read now: the requester's mount namespace may have no /proc.
        let last_capability =
            capability::last_capability().map_err(|error| Error::Switch("reading cap_last_cap", error))?;
        Ok(Self { last_capability })
    }

    /// Enters the namespaces `namespaces` names (cifs-upcall.md §9): every file opened first,
    /// `ENOENT` skipping that namespace, the user namespace skipped when it is ours; the id maps
    /// read (from the initial procfs) before any switch; supplementary groups cleared while the
    /// initial user namespace still allows it; then `setns` in order, the first failure aborting.
    pub(crate) fn enter(self, namespaces: Namespaces, user: Uid) -> Result<Entered, Error> {
        let mut entered = Entered {
            last_capability: self.last_capability,
            environ: None,
            user_namespace: None,
            uid_map: IdMap::IDENTITY,
            gid_map: IdMap::IDENTITY,
        };
        credentials::clear_groups().map_err(|error| Error::Switch("setgroups", error))?;
        let Namespaces::Requester(pid) = namespaces else {
            return Ok(entered);
        };
        // Everything below is opened through this directory, so it all belongs to one process
        // even if the pid is reused meanwhile.
        let process = match namespace::open_process(pid) {
            Ok(process) => process,
            Err(error) if gone(&error) => return Ok(entered),
            Err(error) => return Err(Error::Process(error)),
        };
        // Opened now, read only as the user, and only when the requester runs as the user (one
        // of its real, effective or saved uids is the user's): the kernel checks access to
        // another process's environment when the file is opened (as `ptrace` would), and would
        // refuse the user a requester whose effective uid is root (mount.cifs is setuid root).
        // Through the initial procfs, which always shows the requester under the kernel's pid;
        // the requester's own /proc (another pid namespace) may not. Any other requester's file
        // is opened as the user after the switch, where the kernel decides.
        if runs_as(process.as_fd(), user) {
            entered.environ = File::open(namespace::process_file(process.as_fd(), "environ")).ok();
        }
        let mut opened = Vec::new();
        for kind in NAMESPACE_ORDER {
            match namespace::open_in(process.as_fd(), kind) {
                Ok(fd) => opened.push((kind, fd)),
                Err(error) if gone(&error) => {}
                Err(error) => return Err(Error::Open(kind, error)),
            }
        }
        if let Some(position) = opened.iter().position(|(kind, _)| *kind == Namespace::User) {
            let (_, theirs) = opened.remove(position);
            let ours = namespace::open(None, Namespace::User)
                .map_err(|error| Error::Open(Namespace::User, error))?;
            let inode = |fd: BorrowedFd<'_>| {
                namespace::inode(fd).map_err(|error| Error::Open(Namespace::User, error))
            };
            if inode(theirs.as_fd())? != inode(ours.as_fd())? {
                entered.uid_map = read_map(process.as_fd(), "uid_map")?;
                entered.gid_map = read_map(process.as_fd(), "gid_map")?;
                entered.user_namespace = Some(theirs);
            }
        }
        for (kind, fd) in &opened {
            namespace::enter(fd.as_fd(), *kind).map_err(|error| Error::Enter(*kind, error))?;
        }
        Ok(entered)
    }
}

impl Entered {
    /// Becomes the user `uid` (a kernel uid): learns the primary group from a passwd lookup run
    /// as that user in a grandchild, then switches this process (see the crate documentation).
    pub(crate) fn become_user(self, uid: Uid) -> Result<User, Error> {
        let inside_uid = Uid::new(self.uid_map.inside(uid.get()).ok_or(Error::UnmappedUser(uid))?);
        let gid = self.primary_group(inside_uid)?;
        self.switch(GroupStep::Inside(gid), inside_uid)?;
        Ok(User {
            kernel_uid: uid,
            uid: inside_uid,
            gid,
            environ: self.environ,
        })
    }

    /// `pw_gid` of `uid`, looked up by a grandchild that has already become `uid` with the
    /// group [`LOOKUP_GID`], no supplementary groups and no capabilities, and holds no
    /// descriptor but its report pipe.
    fn primary_group(&self, uid: Uid) -> Result<Gid, Error> {
        let (reader, mut writer) = io::pipe().map_err(|error| Error::Switch("pipe", error))?;
        let grandchild = fork::spawn(|| {
            let report = match self.lookup_as(uid, writer.as_fd()) {
                Ok(Some(entry)) => [&[0u8][..], &entry.gid.get().to_le_bytes()].concat(),
                Ok(None) => vec![1],
                Err(error) => [&[2u8][..], error.to_string().as_bytes()].concat(),
            };
            u8::from(writer.write_all(&report).is_err())
        })
        .map_err(|error| Error::Switch("fork", error))?;
        drop(writer);
        let mut report = Vec::new();
        let read = reader.take(4096).read_to_end(&mut report);
        let status = fork::wait(grandchild).map_err(|error| Error::Switch("waitpid", error))?;
        read.map_err(|error| Error::Switch("reading the passwd lookup", error))?;
        match (report.split_first(), status) {
            (Some((0, gid)), ExitStatus::Exited(0)) => {
                let gid: [u8; 4] = gid
                    .try_into()
                    .map_err(|_| Error::Lookup("malformed report".into()))?;
                Ok(Gid::new(u32::from_le_bytes(gid)))
            }
            (Some((1, [])), ExitStatus::Exited(0)) => Err(Error::NoPasswdEntry(uid)),
            (Some((2, message)), ExitStatus::Exited(0)) => {
                Err(Error::Lookup(String::from_utf8_lossy(message).into_owned()))
            }
            (_, status) => Err(Error::Lookup(format!("lookup process ended with {status:?}"))),
        }
    }

    /// In the grandchild: switch with the lookup group, shed descriptors, run NSS.
    fn lookup_as(&self, uid: Uid, keep: BorrowedFd<'_>) -> Result<Option<passwd::Passwd>, Error> {
        self.switch(GroupStep::Initial(LOOKUP_GID), uid)?;
        fork::close_descriptors_except(keep).map_err(|error| Error::Switch("close_range", error))?;
        passwd::user_by_uid(uid).map_err(|error| Error::Lookup(error.to_string()))
    }

    /// The switch itself, then its verification. The order matters: the group is set before the
    /// user namespace is entered when it is an initial-namespace id; the bounding set is emptied
    /// while `CAP_SETPCAP` is still held; `setresuid` clears the capability sets when the uid
    /// is not 0 and `capset` empties them in every case.
    fn switch(&self, group: GroupStep, uid: Uid) -> Result<(), Error> {
        let parent = fork::parent_id();
        prctl::kill_when_parent_dies().map_err(|error| Error::Switch("PR_SET_PDEATHSIG", error))?;
        // Not traceable by the requester's processes once it is in their user namespace.
        prctl::set_dumpable(false).map_err(|error| Error::Switch("PR_SET_DUMPABLE", error))?;
        let gid = match group {
            GroupStep::Initial(gid) => {
                credentials::set_all_group_ids(gid).map_err(|error| Error::Switch("setresgid", error))?;
                None
            }
            GroupStep::Inside(gid) => Some(gid),
        };
        if let Some(user_namespace) = &self.user_namespace {
            namespace::enter(user_namespace.as_fd(), Namespace::User)
                .map_err(|error| Error::Enter(Namespace::User, error))?;
        }
        // Cleared before entering; a user namespace whose setgroups is "deny" refuses it again.
        if let Err(error) = credentials::clear_groups()
            && credentials::groups().map_or(true, |groups| !groups.is_empty())
        {
            return Err(Error::Switch("setgroups", error));
        }
        if let Some(gid) = gid {
            credentials::set_all_group_ids(gid).map_err(|error| Error::Switch("setresgid", error))?;
        }
        for capability in 0..=self.last_capability {
            capability::drop_from_bounding_set(capability)
                .map_err(|error| Error::Switch("PR_CAPBSET_DROP", error))?;
        }
        prctl::set_no_new_privileges().map_err(|error| Error::Switch("PR_SET_NO_NEW_PRIVS", error))?;
        credentials::set_all_user_ids(uid).map_err(|error| Error::Switch("setresuid", error))?;
        capability::set(CapabilitySets::EMPTY).map_err(|error| Error::Switch("capset", error))?;
        prctl::set_dumpable(false).map_err(|error| Error::Switch("PR_SET_DUMPABLE", error))?;
        // The credential change cleared the parent-death signal; a parent that died meanwhile
        // shows as a new parent.
        prctl::kill_when_parent_dies().map_err(|error| Error::Switch("PR_SET_PDEATHSIG", error))?;
        if fork::parent_id() != parent {
            return Err(Error::Verify("the parent process is gone"));
        }
        let expected_gid = match group {
            GroupStep::Inside(gid) => Some(gid),
            GroupStep::Initial(gid) => self.gid_map.inside(gid.get()).map(Gid::new),
        };
        self.verify(uid, expected_gid)
    }

    fn verify(&self, uid: Uid, gid: Option<Gid>) -> Result<(), Error> {
        let fail = |what| move |_| Error::Verify(what);
        let users = process::user_ids().map_err(fail("getresuid failed"))?;
        if [users.real, users.effective, users.saved] != [uid; 3] {
            return Err(Error::Verify("user ids"));
        }
        let groups = credentials::group_ids().map_err(fail("getresgid failed"))?;
        if groups.real != groups.effective || groups.real != groups.saved {
            return Err(Error::Verify("group ids differ"));
        }
        if gid.is_some_and(|gid| gid != groups.real) {
            return Err(Error::Verify("group ids"));
        }
        if !credentials::groups()
            .map_err(fail("getgroups failed"))?
            .is_empty()
        {
            return Err(Error::Verify("supplementary groups"));
        }
        if capability::current().map_err(fail("capget failed"))? != CapabilitySets::EMPTY {
            return Err(Error::Verify("capabilities"));
        }
        for capability in 0..=self.last_capability {
            if capability::in_bounding_set(capability).map_err(fail("PR_CAPBSET_READ failed"))? {
                return Err(Error::Verify("bounding set"));
            }
        }
        if !prctl::no_new_privileges().map_err(fail("PR_GET_NO_NEW_PRIVS failed"))? {
            return Err(Error::Verify("no_new_privs"));
        }
        if uid != Uid::ROOT && credentials::set_all_user_ids(Uid::ROOT).is_ok() {
            return Err(Error::Verify("uid 0 could be regained"));
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum GroupStep {
    /// A group id of the initial user namespace, set before entering the requester's.
    Initial(Gid),
    /// A group id of the requester's user namespace, set after entering it.
    Inside(Gid),
}

/// `ENOENT` (no such process, or no such namespace) or `ESRCH` (the process has gone since its
/// directory was opened): that namespace is skipped, as the reference skips `ENOENT`.
/// Whether the process whose `/proc` directory is `process` has `user` (a kernel uid) as its real,
/// effective or saved uid (its `status` file, read through the initial procfs).
fn runs_as(process: BorrowedFd<'_>, user: Uid) -> bool {
    std::fs::read(namespace::process_file(process, "status"))
        .is_ok_and(|status| status_uids(&status).is_some_and(|uids| uids[..3].contains(&user.get())))
}

/// The four ids of the `Uid:` line of a `/proc/<pid>/status` text (real, effective, saved, fs).
fn status_uids(status: &[u8]) -> Option<[u32; 4]> {
    let line = status
        .split(|&byte| byte == b'\n')
        .find_map(|line| line.strip_prefix(b"Uid:"))?;
    let mut ids = line
        .split(u8::is_ascii_whitespace)
        .filter(|field| !field.is_empty())
        .map(|field| std::str::from_utf8(field).ok()?.parse::<u32>().ok());
    let mut uids = [0; 4];
    for slot in &mut uids {
        *slot = ids.next()??;
    }
    Some(uids)
}

fn gone(error: &io::Error) -> bool {
    [Some(kup_sys::errno::ENOENT), Some(kup_sys::errno::ESRCH)].contains(&error.raw_os_error())
}

fn read_map(process: BorrowedFd<'_>, name: &'static str) -> Result<IdMap, Error> {
    let text =
        std::fs::read(namespace::process_file(process, name)).map_err(|error| Error::IdMap(name, error))?;
    IdMap::parse(&text).ok_or_else(|| Error::IdMap(name, io::Error::from(io::ErrorKind::InvalidData)))
}

#[cfg(test)]
mod tests {
    use super::status_uids;

    #[test]
    fn the_uid_line_of_a_status_file_gives_four_ids() {
        let status = b"Name:\tmount.cifs\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n";
        assert_eq!(status_uids(status), Some([1000, 0, 0, 0]));
        assert_eq!(status_uids(b"Name:\tx\nUid:\t1\t2\n"), None);
        assert_eq!(status_uids(b"Name:\tx\n"), None);
    }
}
