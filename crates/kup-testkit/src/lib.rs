//! `kup-testkit`: test harnesses built from real parts, shared by every crate's tests.
//!
//! - [`upcall`]: real `request_key(2)` upcalls on the host kernel, routed through `/sbin/request-key`
//!   and one static rule to the helper a test names, in parallel and without touching the
//!   system's own request-key rules.
//! - [`krb5`]: a throw-away MIT Kerberos realm (`krb5kdc` on a loopback port, in a temp dir).
//! - [`guest`]: a QEMU guest running Debian's own kernel with the cifs, nfsv4, nfsd and
//!   `dns_resolver` modules, booted with the host's userland, running a test script.
//! - [`compliance`]: the one runner of the tools' compliance suites: a case model (argv, key
//!   request, expectation with recorded divergences), one observation of a real upcall, one check.
//! - [`corpus`]: replays the fuzz corpora through their property checks in `cargo test`.
//! - [`syslog`]: binds `/dev/log` for a test, drains it while helpers log, and parses the lines.
//! - [`man`]: checks that a tool's man page documents exactly the options its flag table accepts.
//! - [`reference`]: which implementation a compliance test runs (`KUP_UNDER_TEST=ours|theirs`)
//!   and where the Debian reference binaries live.
//!
//! Tests that use this crate run as root on a Debian 12 machine prepared by `scripts/deps`.
//! A missing part is an error with a message saying how to get it, never a silent skip.

#![forbid(unsafe_code)]

pub mod compliance;
pub mod corpus;
pub mod guest;
pub mod krb5;
pub mod man;
pub mod reference;
pub mod syslog;
pub mod upcall;
