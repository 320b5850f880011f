//! `kup-gssx`: the wire protocol gssproxy speaks with the kernel's nfsd and with GSS interposer
//! clients (program 400112, version 1, over a unix stream socket).
//!
//! - [`record`]: RPC record marking (RFC 5531 §11): a reader state machine fed bytes that yields
//!   complete records under a record size and fragment count limit, and the writer.
//! - [`xdr`]: XDR (RFC 4506) decoding and encoding with limits: every variable-length item is
//!   checked against a cap and against the bytes actually left before anything is allocated.
//! - [`rpc`]: ONC RPC v2 call and reply headers, and gssproxy's order of header checks.
//! - [`gssx`]: the `gss_proxy.x` types the daemon needs first, the procedure table, the kernel's
//!   option names (trailing NUL included).
//! - [`interposer`]: the arguments and results of the procedures only interposer clients call
//!   (name import, credentials, context initiation, handle release, per-message calls).
//! - [`lucid`]: the kernel's `linux_lucid_v1` context and `linux_creds_v1` value (host byte
//!   order), encoded from plain values with the kernel's import checks; keys zeroed on drop.
//! - [`krb5token`]: the clear-text ticket server (`realm`, `sname`) of a krb5 AP-REQ token.
//! - [`call`]: a whole CALL record decoded: header checked, then the procedure's arguments.
//!
//! Pure: no I/O, no `unsafe`, no panics; every decoder is total over arbitrary bytes.

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

pub mod call;
pub mod gssx;
pub mod interposer;
pub mod krb5token;
pub mod lucid;
pub mod record;
pub mod rpc;
pub mod xdr;
