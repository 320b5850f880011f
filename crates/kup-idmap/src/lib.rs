//! `kup-idmap`: NFSv4 name <-> id mapping as libnfsidmap (nfs-utils 2.6.2) does it.
//!
//! Modules:
//! - [`conf`]: the `idmapd.conf` reader (nfs-utils' config dialect with all its quirks). It lives
//!   here rather than in a separate crate because libnfsidmap is its only consumer today; it has
//!   no dependency on the rest of this crate and can move out unchanged when rpc.idmapd or
//!   nfs.conf readers need it.
//! - [`numbers`]: C `strverscmp` order the reference's behaviour depends on (C number parsing
//!   is `kup-text`'s).
//! - [`description`]: `id_resolver` key descriptions (`uid:`, `gid:`, `user:`, `group:`).
//! - [`domain`]: the NFSv4 domain decision (config, host name, DNS TXT, `localdomain`).
//! - [`idmap`]: the library: init from a config and the method chain over one `Method` trait,
//!   each method (nsswitch, static, regex; umich_ldap refused) in its own submodule; principal
//!   mapping for the server side.
//! - [`system`]: the traits the library uses for NSS and DNS, with the libc implementation.
//!
//! Pure modules (`conf`, `numbers`, `description`) do no `unsafe` and no I/O except reading
//! configuration files; system lookups (NSS, DNS, regex) go through `kup-sys`.

#![forbid(unsafe_code)]
// Prose names protocol terms (NFSv4, libnfsidmap, owner_group) that are not code items.
#![allow(clippy::doc_markdown)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod conf;
pub mod description;
pub mod domain;
pub mod idmap;
pub mod numbers;
pub mod system;

pub use idmap::{Errno, Idmap, InitError};
