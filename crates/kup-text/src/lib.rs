//! `kup-text`: the C library's text rules that the reference tools' behaviour depends on, in one
//! place for every crate.
//!
//! - [`number`]: glibc `strtol`, `strtoul`, `atol` and `atoi` (C locale, 64-bit `long`), with the
//!   end offset and the overflow mark C reports through `endptr` and `errno`. Each caller adds its
//!   own policy on top (a base, "the whole string was consumed", a 32-bit range) as a thin
//!   wrapper: `kup-runtime::cli` for option values, `kup-sid` for cifs.idmap ids, `kup-idmap` for
//!   nfsidmap's numeric names.
//!
//! Pure: no I/O, no `unsafe`, no panics; every function is total over arbitrary bytes. The
//! differential test against the real glibc is `crates/kup-runtime/tests/cli_glibc.rs`.

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

pub mod number;

pub use number::{CNumber, Radix, atoi, atol, strtol, strtoul};
