//! `kup-gpconf`: gssproxy's configuration, read as gssproxy 0.9.1 (with libini 0.6.2) reads it.
//!
//! - [`ini`]: one file's syntax (sections, keys, values, comments, encodings) into sections
//!   with every entry, repeats inside the file merged.
//! - [`files`]: which directory entries are snippets ([`is_snippet_name`]) and how the main
//!   file and the snippets combine ([`merge`]), with notes for what is skipped.
//! - [`config`]: the typed [`Config`] (`[gssproxy]` as [`Global`], each `[service/NAME]` as a
//!   [`Service`]) with the reference's defaults and its fatal/ignored rules ([`load`] does
//!   merge and parse in one call).
//! - [`matching`]: `euid` user names resolved by the caller's lookup and the cross-service checks
//!   ([`Config::resolve`]), then the per-request choice of a service ([`Resolved::match_peer`]).
//! - [`policy`]: what one acquire gets through its service (spec §6.1): target uid, desired
//!   name, the expanded credential store ([`policy::credential_environment`]).
//!
//! The caller does all I/O: it reads `gssproxy.conf` (or `-c`), lists the directory (`-C`,
//! none when only `-c` is given), keeps the regular files whose names [`is_snippet_name`]
//! accepts, reads them and calls [`load`]; then [`Config::resolve`] with its `getpwnam`, and
//! [`Resolved::match_peer`] for every request.
//!
//! ```
//! use std::path::Path;
//! use kup_gpconf::{Peer, Source, load};
//!
//! let main = Source { path: Path::new("/etc/gssproxy/gssproxy.conf"), contents: b"[gssproxy]\n" };
//! let nfs = b"[service/nfs-server]\n  mechs = krb5\n  socket = /run/gssproxy.sock\n  euid = 0\n";
//! let snippets = [Source { path: Path::new("/etc/gssproxy/24-nfs-server.conf"), contents: nfs }];
//! let loaded = load(main, &snippets)?; // fatal errors: file, line, message
//! for note in &loaded.notes { /* log at LOG_INFO */ let _ = note.to_string(); }
//! let resolved = loaded.config.resolve(|name| (name == "root").then_some(0))?; // getpwnam
//! let default_socket = Path::new("/var/lib/gssproxy/default.sock"); // -s
//! let kernel = Peer { uid: 0, gid: 0, pid: None, program: None, selinux_context: None };
//! let listener = Path::new("/run/gssproxy.sock");
//! let service = resolved.match_peer(&kernel, listener, default_socket);
//! assert_eq!(service.map(|s| s.service.name.as_str()), Some("nfs-server"));
//! # Ok::<(), kup_gpconf::Error>(())
//! ```
//!
//! Every divergence from the reference is listed in `docs/compat/gssproxy.md`.
//!
//! Pure: no I/O, no `unsafe`, no panics; every function is total over arbitrary bytes, and
//! every input is bounded ([`MAX_FILE_BYTES`], [`MAX_LINE_BYTES`], [`MAX_SECTIONS`],
//! [`MAX_ENTRIES`], [`MAX_SNIPPETS`]).

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod config;
pub mod error;
pub mod files;
pub mod ini;
pub mod matching;
pub mod policy;

pub use config::{
    Config, CredStoreEntry, CredUsage, DEFAULT_SOCKET, Dropped, Euid, ExpandError, Global, GssFlags, Loaded,
    Mech, SelinuxContext, Service,
};
pub use error::{Error, ErrorKind, Note, NoteKind};
pub use files::{Located, Merged, Source, is_snippet_name, locations, merge};
pub use matching::{Peer, Resolved, ResolvedService};

/// Reads a whole configuration: [`merge`] then [`config::parse`].
///
/// # Errors
/// A fatal error of the main file or of any option, or no service left.
pub fn load(main: Source<'_>, snippets: &[Source<'_>]) -> Result<Loaded, Error> {
    config::parse(&merge(main, snippets)?)
}

/// Largest configuration file read (the reference has no limit; real files are a few hundred
/// bytes).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Longest line (the reference reads lines of any length).
pub const MAX_LINE_BYTES: usize = 64 << 10;

/// Most sections in one load, all files together.
pub const MAX_SECTIONS: usize = 4096;

/// Most `key = value` entries in one load, all files together.
pub const MAX_ENTRIES: usize = 65_536;

/// Most snippet files merged; the ones sorting after are noted and not read.
pub const MAX_SNIPPETS: usize = 1024;

/// Most services in one configuration (each may open a socket in the daemon).
pub const MAX_SERVICES: usize = 1024;
