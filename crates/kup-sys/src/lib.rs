//! `kup-sys`: the one crate where kup calls into the kernel and libc.
//!
//! It owns every `unsafe` block that the one-shot helpers need: the keyring syscalls (`keyctl`,
//! `request_key`, `add_key`), syslog, file-descriptor and environment hygiene at start-up. Each
//! wrapper turns raw pointers, C strings and `errno` into owned Rust values and `io::Result`, and
//! each `unsafe` block holds exactly one foreign call with a `SAFETY:` note naming the precondition
//! that holds.
//!
//! Nothing here decides policy: what to instantiate, which timeout, which error. That lives in the
//! pure crates and in the tools.

pub mod capability;
pub mod credentials;
pub mod entry;
pub mod errno;
pub mod fork;
pub mod hostname;
pub mod ids;
pub mod keyctl;
pub mod namespace;
pub mod netdb;
pub mod passwd;
pub mod plugin;
pub mod posix_regex;
pub mod prctl;
pub mod proc_keys;
pub mod process;
pub mod signal;
pub mod socket;
pub mod syslog;
pub mod timer;

pub use ids::{Gid, KeyPerm, KeySerial, Pid, Uid};
