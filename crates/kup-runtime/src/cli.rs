//! A getopt / `getopt_long` compatible argument parser (pure: no I/O, no environment access) and,
//! re-exported from `kup-text`, the C number parsers the tools' options need.
//!
//! One [`Flag`] table per tool drives parsing ([`parse`], [`Parser`]), the `--help` option
//! list ([`render_options`], [`synopsis`]) and documentation checks ([`undocumented`],
//! [`optstring`]). Behaviour and error texts are glibc 2.36's (see `docs/compat/cli.md` and the
//! differential test `tests/cli_glibc.rs`, which runs a C program against the same inputs).
//!
//! ```
//! use kup_runtime::cli::{self, Flag, Spec};
//!
//! #[derive(Clone, Copy, PartialEq, Eq, Debug)]
//! enum Opt { Help, Timeout, Version }
//! const FLAGS: &[Flag<Opt>] = &[
//!     Flag::new(Opt::Help).short(b'h').long("help").help("show usage"),
//!     Flag::new(Opt::Timeout).short(b't').long("timeout").required("seconds").help("key timeout"),
//!     Flag::new(Opt::Version).short(b'v').long("version").help("show the version"),
//! ];
//!
//! let parsed = cli::parse(Spec::getopt_long(FLAGS), ["cifs.idmap", "123", "--time=30"]);
//! assert_eq!(parsed.error, None);
//! assert_eq!(parsed.last_value(Opt::Timeout), Some("30".as_ref()));
//! assert_eq!(parsed.operands, ["123"]);
//!
//! let bad = cli::parse(Spec::getopt_long(FLAGS), ["cifs.idmap", "-x"]);
//! assert_eq!(bad.error_bytes().unwrap(), b"cifs.idmap: invalid option -- 'x'\n");
//! ```
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod help;
mod key;
mod parse;
mod table;

pub use help::{long_options, optstring, render_options, spellings, synopsis, table_problems, undocumented};
pub use key::{KeyOperandError, key_operand, truncated_key_serial};
pub use kup_text::number::{CNumber, Radix, atoi, atol, strtol, strtoul};
pub use parse::{CliError, ErrorLine, Opt, Parsed, Parser, Spelling, parse};
pub use table::{ArgKind, Flag, Ordering, Spec, Style};

#[cfg(test)]
mod tests;
