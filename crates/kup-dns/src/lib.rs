//! `kup-dns`: the resolver shared by `key.dns_resolver` and, later, `cifs.upcall`'s `dns_resolver`
//! path.
//!
//! - [`name`], [`message`]: DNS wire format (pure, bounded, hostile-input-safe).
//! - [`resolv_conf`]: `/etc/resolv.conf` as glibc reads it (pure parser + a file reader).
//! - [`client`]: `res_query` semantics — UDP to each configured server in turn, TCP when the
//!   answer is truncated (any size, unlike a fixed 512-byte buffer), answers checked against the
//!   query, failures classified like `h_errno`.
//! - [`address`]: host name → addresses through libc `getaddrinfo` (so `/etc/hosts`, nsswitch and
//!   `gai.conf` ordering are exactly the system's), and `inet_ntop`-identical address text.
//!
//! Nothing here knows about keys or `key.dns_resolver`'s payload format.

#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod address;
pub mod client;
pub mod message;
pub mod name;
pub mod resolv_conf;

use std::fmt;

/// A DNS message (or part of one) that cannot be decoded. Carries the field and byte offset,
/// never the attacker's bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// What was wrong.
    pub kind: DecodeErrorKind,
    /// Which field.
    pub field: &'static str,
    /// Byte offset in the message.
    pub offset: usize,
}

/// The two ways a message can be bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeErrorKind {
    /// The message ends inside a field.
    Truncated,
    /// A field's value is impossible (pointer loop, bad length, extra data).
    Malformed,
}

impl DecodeError {
    pub(crate) fn truncated(field: &'static str, offset: usize) -> Self {
        Self {
            kind: DecodeErrorKind::Truncated,
            field,
            offset,
        }
    }

    pub(crate) fn malformed(field: &'static str, offset: usize) -> Self {
        Self {
            kind: DecodeErrorKind::Malformed,
            field,
            offset,
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            DecodeErrorKind::Truncated => {
                write!(
                    formatter,
                    "message truncated in {} at byte {}",
                    self.field, self.offset
                )
            }
            DecodeErrorKind::Malformed => {
                write!(
                    formatter,
                    "malformed message: {} at byte {}",
                    self.field, self.offset
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}
