//! `kup-spnego`: the parts of `cifs.upcall` that are decisions over bytes, with no I/O.
//!
//! - [`description`]: the `cifs.spnego` key description (`ver=0x2;host=…;…`) read as cifs-utils
//!   7.0's `cifs.upcall` reads it (prefix matching, C number bases, 32-bit wrap, length limits),
//!   `upcall_target` with the 7.2+ grammar honoured as 7.4+ does, a repeated field refused
//!   (decisions.md 4), and the checks after parsing, into a typed [`SpnegoRequest`]; plus the
//!   dispatch between the SPNEGO and the `dns_resolver` modes and the resolver's host name.
//! - [`token`]: the DER of the GSS-API initial context token around a Kerberos AP-REQ, the SPNEGO
//!   `NegTokenInit` around it, and the 24-byte value of the `0x8003` GSS checksum.
//! - [`payload`]: `struct cifs_spnego_msg` as the kernel reads it, lengths consistent by
//!   construction, secret bytes zeroed on drop.
//! - [`environ`]: the first usable `KRB5CCNAME=` in a `/proc/<pid>/environ` buffer.
//!
//! Pure: no I/O, no `unsafe`, no panics; every function is total over arbitrary bytes.

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

pub mod description;
pub mod environ;
pub mod payload;
pub mod token;

pub use description::{
    DescriptionError, Duplicates, Field, Mode, Parsed, Pid, Sec, SpnegoRequest, Uid, UpcallTarget,
};
pub use payload::{SecretBytes, build_payload};
pub use token::{Mech, gss_checksum, krb5_initial_token, spnego_init};
