//! `kup-priv`: cifs.upcall's privilege separation, and the gssproxy daemon's `run_as_user`
//! ([`DaemonRoot`] → [`ServiceUser`], module `daemon`).
//!
//! cifs.upcall's privilege separation. The credential work (passwd lookup, the
//! requester's environment, ccache/keytab/krb5.conf, Kerberos) runs in a forked child that has
//! entered the requester's namespaces and become the user; the helper process itself never
//! leaves the initial namespaces and never changes identity, so it keeps the request-key
//! authority and finishes the key (decisions.md 3; request-key-mechanics.md §6: entering a user
//! namespace drops that authority).
//!
//! Safe crate: every system call is a `kup-sys` wrapper. It decides the order and checks the
//! outcome; it does not log, parse descriptions or touch keys.
//!
//! # The typestate
//!
//! `Root` (effective uid 0, checked) → `Entered` (the requester's namespaces, in the reference's
//! order cgroup, ipc, uts, net, pid, mnt, all opened before the first `setns` through one open
//! `/proc/<pid>` directory, so a reused pid cannot mix two processes' namespaces and id maps;
//! `ENOENT` (or `ESRCH`, gone meanwhile) skipping one; the user namespace is opened then,
//! skipped when it is ours, and entered during the switch) → [`User`] (all three uids and gids switched, no supplementary groups, no capability in
//! the permitted, effective or inheritable set, an empty bounding set, no-new-privileges, then
//! verified with `getresuid`, `getresgid`, `getgroups`, `capget`, `PR_CAPBSET_READ`,
//! `PR_GET_NO_NEW_PRIVS`, and a `setresuid(0)` that must fail). `Root` and `Entered` exist only
//! inside [`run_in_child`]'s child; [`User`] has no public constructor and is what the Kerberos
//! code takes as proof, and what [`read_environ`] requires.
//!
//! # Ids across user namespaces
//!
//! The kernel sends `creduid` as an id of the initial user namespace. When the requester is in
//! another user namespace, `setresuid` takes ids of that namespace, so the uid is translated
//! through the requester's `uid_map` (read from the initial procfs before any `setns`; an
//! unmapped uid is refused) and the switch lands on the same kernel uid.
//!
//! # Which group, and why NSS never runs privileged
//!
//! The group is `pw_gid` of `getpwuid(uid)` (the reference's choice), in the requester's mount
//! namespace. The reference runs that lookup as root with `CAP_SETUID`/`CAP_SETGID`, loading the
//! container's `nsswitch.conf` and NSS modules (CVE-2026-12505). Here the group must be known
//! before the switch, so the child forks a grandchild that switches first — to the user's uid
//! and the group [`LOOKUP_GID`] (the kernel's overflow gid, `nogroup`, which owns nothing; set
//! while still in the initial user namespace, so it need not be mapped in the requester's), no
//! supplementary groups, no capabilities, empty bounding set, no-new-privileges, verified — then
//! closes every descriptor but its report pipe and only then calls `getpwuid`, and reports
//! `pw_gid` (or "no entry") through the pipe. The child reads the report, and makes the same
//! switch with that group. So NSS code never runs with uid 0, a capability, root's groups or a
//! descriptor of the helper. A compromised lookup can only lie about the gid, which it could do
//! anyway as the container's passwd file; the gid must still be mapped in the user namespace
//! for `setresgid` to accept it.
//!
//! Everything else of decision 3 follows from the types: the environment reader and the
//! Kerberos code take `&User`, which exists only after the verified switch.
//!
//! # Forking a helper, and its deadline
//!
//! `kup_runtime::deadline` ends every helper run with a one-shot POSIX timer whose signal
//! interrupts the main thread; there is no watchdog thread, so a helper is single-threaded when
//! it forks and the child starts with consistent locks. (`kup_sys::fork::spawn` documents what a
//! child of a multi-threaded process could meet: a lock held by another thread blocks the
//! child, which the parent bounds by killing it.) Timers are not inherited by `fork`, so the
//! deadline never fires in the child; the handler disposition is inherited but nothing sends it
//! there. When the deadline fires in the parent (typically while it waits in [`run_in_child`]),
//! its handler finishes the key, kills the child registered with `supervise_child` (done by
//! [`run_in_child`]) and `_exit`s; the child's parent-death signal (`SIGKILL`, set again after
//! every credential change, which clears it) and the grandchild's are a second guarantee. The
//! panic hook inherited from the helper (which finishes the key) is replaced in the child by
//! `kup_sys::fork::spawn` with one that `_exit`s, and the child drops the request-key authority
//! (`KEYCTL_ASSUME_AUTHORITY` 0) before anything else, so it can never finish, negate or touch the
//! key, nor search the requester's keyrings through the authority, even where no user namespace
//! switch takes the authority away. Callers pass [`run_in_child`] a deadline earlier than the
//! helper's so that the parent, not the helper's deadline, reports a slow child.

#![forbid(unsafe_code)]

mod child;
mod daemon;
mod environ;
mod id_map;
mod identity;

pub use child::{ChildError, MAX_RESULT, WorkError, run_in_child};
pub use daemon::{DaemonRoot, DropError, ServiceUser};
pub use environ::{FIRST_READ, MAX_READ, read_environ};
pub use identity::{Error, LOOKUP_GID, NAMESPACE_ORDER, Namespaces, Request, User};
pub use kup_spnego::SecretBytes;
pub use kup_sys::{Gid, Pid, Uid};
