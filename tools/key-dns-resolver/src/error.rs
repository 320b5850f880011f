//! The tool's one error type and the one place ([`report`]) that turns an error into the key's
//! disposition, the log line and the exit status.
//!
//! Families (STYLE §5): [`Malformed`] input (the key id, the describe string or callout, the
//! config file, a DNS answer), [`Refused`] requests (parsed, but not ours to serve), and
//! [`Failed`] local operations. Every value shown from a key description or callout goes through
//! [`Printable`]; config file text is root's and is shown as the reference shows it
//! ([`crate::config::ConfigError`]).
//!
//! Every error takes the reference's error path (keyutils 1.6.3 `error()`): log `Error: <text>`,
//! negate the key for 1 s, exit 1 — except the failures that happen before the reference knows
//! the key (the config file, our start-up), where the requester sees what the kernel does to an
//! unfinished key: negative for 60 s (decisions.md 8). We finish the key before we log
//! (a full `/dev/log` queue must not delay the requester).

use std::fmt;
use std::io::{self, Write as _};
use std::process::ExitCode;

use kup_dns::DecodeError;
use kup_runtime::helper::{Disposition, KeyGuard, Printable};

use crate::config::ConfigError;
use crate::log;

/// Exit status of the reference's error path.
pub const EXIT_ERROR: u8 = 1;
/// The reference negates for 1 s on its error path.
pub const ERROR_NEGATE_SECS: u32 = 1;
/// What the kernel does to a key left unfinished; ours for failures before the reference knows
/// the key (decisions.md 8: we do it ourselves).
pub const KERNEL_NEGATE_SECS: u32 = 60;

/// Everything that ends a run on the error path.
#[derive(Debug)]
pub enum Error {
    /// Input that does not parse.
    Malformed(Malformed),
    /// A well-formed request this helper does not serve.
    Refused(Refused),
    /// A local operation failed.
    Failed(Failed),
}

/// Input that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// The key id operand is empty.
    BlankKeyId,
    /// The key id operand is not a base-10 number.
    KeyIdFormat,
    /// The describe string has no `;`.
    Description(Vec<u8>),
    /// The describe string has no `;` after the key type.
    NoName(Vec<u8>),
    /// A callout option word contains a comma.
    OptionComma(Vec<u8>),
    /// The config file.
    Config(ConfigError),
    /// A positive DNS answer that does not decode.
    Answer(DecodeError),
}

/// A well-formed request this helper does not serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The key is not a `dns_resolver` key.
    KeyType(Vec<u8>),
    /// A `type:` prefix other than `a`, `aaaa`, `afsdb`.
    QueryType(Vec<u8>),
}

/// A local operation failed.
#[derive(Debug)]
pub enum Failed {
    /// [`kup_runtime::helper::start`] (environment, fds, syslog, deadline).
    Start(io::Error),
    /// `--config` without argument: the reference's NULL path.
    ConfigPathNull,
    /// Reading the config file.
    ConfigRead {
        /// The path as the message shows it.
        path: String,
        /// Why.
        error: io::Error,
    },
    /// `KEYCTL_DESCRIBE` on the key.
    Describe(io::Error),
    /// `KEYCTL_READ` of the callout info.
    Callout(io::Error),
    /// `KEYCTL_SET_TIMEOUT`.
    SetTimeout(io::Error),
    /// `KEYCTL_INSTANTIATE` (the guard negated the key already).
    Instantiate(io::Error),
    /// `KEYCTL_REJECT` (the guard negated the key already).
    Reject(io::Error),
}

impl From<Malformed> for Error {
    fn from(error: Malformed) -> Self {
        Self::Malformed(error)
    }
}

impl From<Refused> for Error {
    fn from(error: Refused) -> Self {
        Self::Refused(error)
    }
}

impl From<Failed> for Error {
    fn from(error: Failed) -> Self {
        Self::Failed(error)
    }
}

impl Error {
    /// How the key is finished: see the module documentation.
    #[must_use]
    pub fn disposition(&self) -> Disposition {
        match self {
            Self::Malformed(Malformed::Config(_))
            | Self::Failed(Failed::Start(_) | Failed::ConfigPathNull | Failed::ConfigRead { .. }) => {
                Disposition::Negate {
                    timeout_secs: KERNEL_NEGATE_SECS,
                }
            }
            _ => Disposition::Negate {
                timeout_secs: ERROR_NEGATE_SECS,
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(error) => error.fmt(formatter),
            Self::Refused(error) => error.fmt(formatter),
            Self::Failed(error) => error.fmt(formatter),
        }
    }
}

impl fmt::Display for Malformed {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BlankKeyId => formatter.write_str("Invalid blank key ID"),
            Self::KeyIdFormat => formatter.write_str("Invalid key ID format"),
            Self::Description(describe) => write!(
                formatter,
                "Badly formatted key description '{}'",
                Printable(describe)
            ),
            Self::NoName(describe) => {
                write!(formatter, "Invalid key description: {}", Printable(describe))
            }
            Self::OptionComma(word) => {
                write!(formatter, "Option name '{}' contains a comma", Printable(word))
            }
            Self::Config(error) => error.fmt(formatter),
            Self::Answer(error) => write!(formatter, "ns_initparse: {error}"),
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyType(key_type) => {
                write!(formatter, "Key type is not supported: '{}'", Printable(key_type))
            }
            Self::QueryType(query_type) => write!(
                formatter,
                "Query type: \"{}\" is not supported",
                Printable(query_type)
            ),
        }
    }
}

impl fmt::Display for Failed {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Start(error) => write!(formatter, "start-up failed: {}", strerror(error)),
            Self::ConfigPathNull => formatter.write_str("(null): Bad address"),
            Self::ConfigRead { path, error } => write!(formatter, "{path}: {}", strerror(error)),
            Self::Describe(error) => {
                write!(formatter, "keyctl_describe_alloc failed: {}", strerror(error))
            }
            Self::Callout(error) => write!(formatter, "Invalid key callout_info read: {}", strerror(error)),
            Self::SetTimeout(error) => write!(formatter, "keyctl_set_timeout: {}", strerror(error)),
            Self::Instantiate(error) => write!(formatter, "keyctl_instantiate: {}", strerror(error)),
            Self::Reject(error) => write!(formatter, "nsError: keyctl_reject: {}", strerror(error)),
        }
    }
}

/// Ends a run on the error path: finishes `guard`'s key with the error's [`Error::disposition`]
/// (in `-D` mode, or when a failed instantiate/reject already negated it, there is none), then
/// logs `Error: <error>` and returns exit status 1. A failed start-up is written to stderr: syslog
/// may not be open.
#[must_use = "the exit code is what main returns"]
pub fn report(error: &Error, guard: Option<KeyGuard>) -> ExitCode {
    if let Some(mut guard) = guard {
        guard.set_failure(error.disposition());
        // Like the reference, a key that cannot be negated (a bad id's leftover serial) is not
        // reported again.
        let _ = guard.fail();
    }
    if let Error::Failed(Failed::Start(_)) = error {
        let _ = writeln!(io::stderr().lock(), "key.dns_resolver: Error: {error}");
    } else {
        log::error(&format!("Error: {error}"));
    }
    ExitCode::from(EXIT_ERROR)
}

/// `%m`: the C library's text for an errno, without Rust's " (os error N)" suffix.
#[must_use]
pub fn strerror(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text.get(..cut).unwrap_or(&text).to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_drops_the_rust_suffix() {
        assert_eq!(
            strerror(&io::Error::from_raw_os_error(2)),
            "No such file or directory"
        );
    }

    #[test]
    fn requester_bytes_are_escaped_in_messages() {
        let error = Error::from(Refused::QueryType(b"x\n\x1b[2J".to_vec()));
        assert_eq!(
            error.to_string(),
            "Query type: \"x\\x0a\\x1b[2J\" is not supported"
        );
        let error = Error::from(Malformed::OptionComma(b"a,\r".to_vec()));
        assert_eq!(error.to_string(), "Option name 'a,\\x0d' contains a comma");
    }

    #[test]
    fn report_without_a_key_logs_one_error_line_and_exits_1() {
        let _ = log::captured(0);
        let code = report(&Refused::KeyType(b"user".to_vec()).into(), None);
        assert_eq!(code, ExitCode::from(EXIT_ERROR));
        let lines: Vec<String> = log::captured(0).into_iter().map(|(_, line)| line).collect();
        assert_eq!(lines, ["Error: Key type is not supported: 'user'"]);
    }

    #[test]
    fn failures_before_the_key_is_known_negate_like_the_kernel() {
        assert_eq!(
            Error::from(Failed::ConfigPathNull).disposition(),
            Disposition::Negate { timeout_secs: 60 }
        );
        assert_eq!(
            Error::from(Failed::Start(io::Error::from_raw_os_error(24))).disposition(),
            Disposition::Negate { timeout_secs: 60 }
        );
        assert_eq!(
            Error::from(Malformed::KeyIdFormat).disposition(),
            Disposition::Negate { timeout_secs: 1 }
        );
    }
}
