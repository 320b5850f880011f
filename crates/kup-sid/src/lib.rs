//! `kup-sid`: Windows security identifiers (SIDs) and `cifs.idmap` key descriptions, as the Linux
//! cifs client writes and reads them.
//!
//! - [`sid`]: the SID value, its text form (`S-1-5-21-…`, both the canonical form and the exact
//!   string the kernel puts into a key description), and the 68-byte packed `struct cifs_sid` the
//!   kernel expects back from `oi:`/`gi:` upcalls.
//! - [`number`]: C `strtoul(…, 0)` number parsing as cifs-utils' `cifs.idmap` 7.0 applies it to
//!   `-t` values and to the id in `oi:`/`gi:` descriptions (`0x`/octal bases, signs, the
//!   `UINT_MAX` limit).
//! - [`request`]: the four descriptions (`os:`, `gs:`, `oi:`, `gi:`), with both the reference's
//!   search rule and our stricter one (see `docs/compat/cifs.idmap.md`).
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

pub mod number;
pub mod request;
pub mod sid;

pub use number::{NumberError, parse_c_uint};
pub use request::{Request, RequestError, RequestKind};
pub use sid::{CIFS_SID_LEN, MAX_SUB_AUTHORITIES, Sid, SidError};
