//! `key.dns_resolver`: answers the kernel's `dns_resolver` key requests (CIFS, NFS, Ceph, AFS)
//! like keyutils 1.6.3's helper, with the divergences of `docs/compat/key.dns_resolver.md`.
//!
//! Flow: parse argv and the key id into a [`Plan`] (pure, [`plan`]) → start-up
//! (`helper::start`) → guard the key → read the config ([`config`]; the reference reads it
//! before it looks at the key) → describe the key and read the callout ([`request`]) → look up
//! ([`resolve`]) → finish the key (set timeout + instantiate, or reject) and exit 0. Every
//! failure is an [`Error`] and ends through [`error::report`], which alone decides the key's
//! disposition, the log line and the exit status.

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod error;
pub mod log;
pub mod payload;
pub mod request;
pub mod resolve;
pub mod server_list;

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use kup_dns::client::Failure;
use kup_runtime::cli::{Radix, strtol};
use kup_runtime::helper::{self, Disposition, KeyGuard, Printable, StartOptions};
use kup_sys::{KeySerial, keyctl};

use crate::cli::{Command, ConfigSource};
pub use crate::error::Error;
use crate::error::{ERROR_NEGATE_SECS, EXIT_ERROR, Failed, Malformed, report};
use crate::request::Query;
use crate::resolve::{Outcome, Resolve, System};

/// Exit status of a usage error.
const EXIT_USAGE: u8 = 2;
/// How long a rejected key stays negative. keyutils 1.6.3 always rejects through
/// `nsError(NO_DATA, …)`, whose timeout is 60 s; its per-status table (1 s / 10 s) is never
/// reached, and we keep the observable 60 s.
const REJECT_SECS: u32 = 60;

/// The total deadline of one run (decisions.md 10, `docs/compat/key.dns_resolver.md`): 30 s from
/// start-up, then the key is negated with its guard's disposition (1 s, like the error path) and
/// the helper exits 1.
pub const DEADLINE: kup_runtime::deadline::Deadline =
    kup_runtime::deadline::Deadline::new(kup_runtime::deadline::DEFAULT_LIMIT, EXIT_ERROR);

/// What one run does, decided from argv alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Which configuration file to read.
    pub config: ConfigSource,
    /// `-v` count.
    pub verbosity: u32,
    /// What to do once the config is read.
    pub mode: Mode,
}

/// The part of a [`Plan`] that follows the config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `--dump-config`: print the settings, exit 0 (operands ignored).
    DumpConfig,
    /// Wrong operand count: the usage line, exit 2 (after the config, like the reference).
    Usage,
    /// `-D <desc> <callout>`: answer on stdout without a key.
    Debug {
        /// The describe string built from `<desc>`.
        describe: Vec<u8>,
        /// The callout info (up to its first NUL).
        callout: Vec<u8>,
    },
    /// Answer this key.
    Key(KeySerial),
    /// A key id the reference refuses: after the config, the serial `strtol` left (which the
    /// reference negates) is negated for 1 s with this error.
    BadKey(KeySerial, Malformed),
}

/// What the command line asks for: the pure first step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Print the version, exit 0.
    Version,
    /// Usage error, exit 2; `error` is what getopt writes to stderr, if anything.
    Usage {
        /// getopt's message bytes.
        error: Option<Vec<u8>>,
        /// `-v` seen before the error (the usage line is logged at verbosity 1).
        verbosity: u32,
    },
    /// Run.
    Run(Plan),
}

/// Parses argv (program name first) and the key id, without any effect.
#[must_use]
pub fn plan(argv: Vec<OsString>) -> Parsed {
    let options = match cli::parse(argv) {
        Command::Version => return Parsed::Version,
        Command::Usage { error, verbosity } => return Parsed::Usage { error, verbosity },
        Command::Run(options) => options,
    };
    let mode = match (options.dump_config, options.debug, options.operands.as_slice()) {
        (true, _, _) => Mode::DumpConfig,
        (false, true, [description, callout]) => Mode::Debug {
            describe: request::debug_describe(description.as_encoded_bytes()),
            callout: request::c_string(callout.as_encoded_bytes()).to_vec(),
        },
        (false, false, [key]) => match parse_key(key.as_encoded_bytes()) {
            Ok(key) => Mode::Key(key),
            Err((key, error)) => Mode::BadKey(key, error),
        },
        _ => Mode::Usage,
    };
    Parsed::Run(Plan {
        config: options.config,
        verbosity: options.verbosity,
        mode,
    })
}

/// The whole program: `main` calls this with `std::env::args_os()`.
pub fn main<I>(argv: I) -> ExitCode
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let parsed = plan(argv.into_iter().map(Into::into).collect());
    if let Err(error) = helper::start(&StartOptions::daemon(c"key.dns_resolver").with_deadline(DEADLINE)) {
        let guard = match &parsed {
            Parsed::Run(Plan {
                mode: Mode::Key(key), ..
            }) => Some(KeyGuard::new(*key, negate_error())),
            _ => None,
        };
        return report(&Failed::Start(error).into(), guard);
    }
    match parsed {
        Parsed::Version => {
            let _ = writeln!(
                io::stdout().lock(),
                "version: 1.0 from kup-{} (key-dns-resolver)",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
        Parsed::Usage { error, verbosity } => {
            log::init(verbosity);
            if let Some(bytes) = error {
                let _ = io::stderr().lock().write_all(&bytes);
                if !log::stderr_terminal() {
                    helper::log(kup_sys::syslog::Severity::Error, "unknown option: ?");
                }
            }
            usage()
        }
        Parsed::Run(plan) => run(plan),
    }
}

/// Carries out a [`Plan`], finishing the key on every path.
fn run(plan: Plan) -> ExitCode {
    log::init(plan.verbosity);
    // The key is guarded before anything can fail, so every failure finishes it through
    // `report`; the reference reads the config file first, and so do we.
    let guard = match plan.mode {
        Mode::Key(key) => Some(KeyGuard::new(key, negate_error())),
        _ => None,
    };
    let config = match read_config(&plan.config) {
        Ok(config) => config,
        Err(error) => return report(&error, guard),
    };
    match (plan.mode, guard) {
        (Mode::DumpConfig, _) => {
            let mut out = format!("default_ttl = {}\n", config.default_ttl);
            if config.afs_server_list_v1 {
                out.push_str("afs_server_list_v1 = 1\n");
            }
            let _ = io::stdout().lock().write_all(out.as_bytes());
            ExitCode::SUCCESS
        }
        (Mode::Debug { describe, callout }, _) => {
            answer(None, &describe, &callout, config, &mut System::default())
        }
        (Mode::BadKey(key, error), _) => report(&error.into(), Some(KeyGuard::new(key, negate_error()))),
        (Mode::Key(_), Some(guard)) => match read_request(&guard) {
            Ok((describe, callout)) => {
                answer(Some(guard), &describe, &callout, config, &mut System::default())
            }
            Err(error) => report(&error, Some(guard)),
        },
        (Mode::Usage | Mode::Key(_), _) => usage(),
    }
}

fn usage() -> ExitCode {
    if log::stderr_terminal() {
        let _ = write!(
            io::stderr().lock(),
            "Usage: key.dns_resolver [-vv] [-c config] key_serial\n\
             Usage: key.dns_resolver -D [-vv] [-c config] <desc> <calloutinfo>\n"
        );
    } else {
        log::info("Usage: key.dns_resolver [-vv] [-c config] key_serial");
    }
    ExitCode::from(EXIT_USAGE)
}

/// The describe string and the callout info (up to its first NUL) of the guarded key.
fn read_request(guard: &KeyGuard) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let describe = keyctl::describe_raw(guard.key()).map_err(Failed::Describe)?;
    let callout = keyctl::read(KeySerial::REQKEY_AUTH_KEY).map_err(Failed::Callout)?;
    Ok((describe, request::c_string(&callout).to_vec()))
}

/// Everything after the describe string and callout are known; `guard` is `None` in `-D` mode.
fn answer(
    guard: Option<KeyGuard>,
    describe: &[u8],
    callout: &[u8],
    config: config::Config,
    resolver: &mut dyn Resolve,
) -> ExitCode {
    match decide(describe, callout, config, resolver) {
        Ok((outcome, binary)) => finish(guard, outcome, binary),
        Err(error) => report(&error, guard),
    }
}

/// Parses the request and looks it up: the outcome, and whether it is answered with the binary
/// server list.
fn decide(
    describe: &[u8],
    callout: &[u8],
    config: config::Config,
    resolver: &mut dyn Resolve,
) -> Result<(Outcome, bool), Error> {
    let default_ttl = config.default_ttl;
    log::info(&format!("Key description: '{}'", Printable(describe)));
    log::info(&format!("Callout info: '{}'", Printable(callout)));
    let name = request::key_name(describe)?;
    let prefixed = request::query_type(name).is_some();
    if let Some(query_type) = request::query_type(name) {
        log::info(&format!("Query type: '{}'", Printable(query_type)));
    }
    let query = request::parse_query(name, callout)?;
    let outcome = match &query {
        Query::Address { name, options } => {
            // Only the prefixed forms (`a:`, `aaaa:`) announce the query.
            if prefixed {
                log::info(&format!(
                    "Do DNS query of A/AAAA type for:'{}' mask:'{}'",
                    Printable(name),
                    Printable(callout)
                ));
            }
            resolve::address_request(resolver, name, *options, default_ttl)
        }
        Query::Afs { cell, family } => {
            log::info(&format!(
                "Do AFS VL server query for:'{}' mask:'{}'",
                Printable(cell),
                Printable(callout)
            ));
            resolve::afs_request(resolver, cell, *family, default_ttl)
        }
    };
    let binary = config.afs_server_list_v1
        && matches!(query, Query::Afs { .. })
        && request::asks_for_server_list(callout);
    Ok((outcome, binary))
}

fn finish(guard: Option<KeyGuard>, outcome: Outcome, binary: bool) -> ExitCode {
    match outcome {
        Outcome::Instantiate {
            payload,
            expiry,
            servers,
        } => {
            if guard.is_none() {
                // -D: the reference forces verbosity 1 for the final dump.
                log::set_verbosity(1);
            }
            let bytes = if binary {
                let list = server_list::encode(&servers);
                log::info(&format!(
                    "The key instantiation data is a v1 server list: {} servers, {} bytes",
                    servers.len().min(255),
                    list.len()
                ));
                list
            } else {
                log::info(&format!(
                    "The key instantiation data is '{}'",
                    String::from_utf8_lossy(&payload.text())
                ));
                payload.to_key_bytes()
            };
            log::info(&format!("The expiry time is {expiry}s"));
            let Some(guard) = guard else {
                return ExitCode::SUCCESS;
            };
            if let Err(error) = guard.set_timeout(expiry) {
                return report(&Failed::SetTimeout(error).into(), Some(guard));
            }
            match guard.instantiate(&bytes) {
                Ok(()) => ExitCode::SUCCESS,
                // The guard already negated the key (1 s) on the failed instantiate.
                Err(error) => report(&Failed::Instantiate(error).into(), None),
            }
        }
        Outcome::Reject {
            status,
            domain,
            timeout_before,
        } => {
            let errno = reject_errno(status);
            // The reference's final line always names NO_DATA (its only nsError status); the
            // status that decides our errno is logged before it.
            if status != Failure::NoData {
                log::debug(&format!("lookup status: {}", status.message()));
            }
            log::name_service_error(&Printable(&domain).to_string(), Failure::NoData.message());
            log::info(&format!("Reject the key with error {errno}"));
            let Some(guard) = guard else {
                return ExitCode::SUCCESS;
            };
            if let Some(timeout) = timeout_before
                && let Err(error) = guard.set_timeout(timeout)
            {
                return report(&Failed::SetTimeout(error).into(), Some(guard));
            }
            match guard.reject(REJECT_SECS, errno) {
                Ok(()) => ExitCode::SUCCESS,
                // The guard already negated the key (1 s) on the failed reject.
                Err(error) => report(&Failed::Reject(error).into(), None),
            }
        }
        Outcome::Error(error) => report(&Malformed::Answer(error).into(), guard),
    }
}

/// The errno a rejected key carries (decisions.md 5): the mapping the reference intended,
/// instead of its raw `h_errno` value (which requesters see as `EPERM`/`ENOENT`/`ESRCH`/`EINTR`).
fn reject_errno(status: Failure) -> i32 {
    match status {
        Failure::HostNotFound | Failure::NoData => kup_sys::errno::ENODATA,
        Failure::TryAgain => kup_sys::errno::EAGAIN,
        Failure::NoRecovery => kup_sys::errno::ECONNREFUSED,
    }
}

fn negate_error() -> Disposition {
    Disposition::Negate {
        timeout_secs: ERROR_NEGATE_SECS,
    }
}

/// `strtol(text, &end, 10)` with the reference's checks. On error, the serial C would still have
/// stored (and then negated) comes with the error.
fn parse_key(text: &[u8]) -> Result<KeySerial, (KeySerial, Malformed)> {
    if text.is_empty() {
        return Err((KeySerial::NONE, Malformed::BlankKeyId));
    }
    let number = strtol(text, Radix::DECIMAL);
    // key_serial_t is 32 bits: C keeps the low half of the long.
    let serial = kup_runtime::cli::truncated_key_serial(number.value);
    if !number.consumed_all(text) {
        return Err((serial, Malformed::KeyIdFormat));
    }
    Ok(serial)
}

/// Reads and parses the config file (warnings logged as they come).
fn read_config(source: &ConfigSource) -> Result<config::Config, Error> {
    let (file_path, specified) = match source {
        ConfigSource::Default => (PathBuf::from(config::DEFAULT_PATH), false),
        ConfigSource::Given(path) => (PathBuf::from(path), true),
        ConfigSource::Null => {
            log::info("READ CONFIG (null)");
            return Err(Failed::ConfigPathNull.into());
        }
    };
    // The path as the messages show it (C prints the bytes; we show them lossily).
    let path = String::from_utf8_lossy(file_path.as_os_str().as_encoded_bytes()).into_owned();
    log::info(&format!("READ CONFIG {path}"));
    let contents = match std::fs::read(&file_path) {
        Ok(contents) => contents,
        Err(error) if error.kind() == io::ErrorKind::NotFound && !specified => {
            log::debug(&format!("{path}: {}", error::strerror(&error)));
            return Ok(config::Config::default());
        }
        Err(error) => return Err(Failed::ConfigRead { path, error }.into()),
    };
    let parsed = config::parse(&contents, &path);
    for warning in &parsed.warnings {
        log::warning(warning);
    }
    parsed.result.map_err(|error| Malformed::Config(error).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_plan(args: &[&str]) -> Parsed {
        let mut words = vec![OsString::from("key.dns_resolver")];
        words.extend(args.iter().map(OsString::from));
        plan(words)
    }

    fn mode(args: &[&str]) -> Mode {
        match run_plan(args) {
            Parsed::Run(plan) => plan.mode,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn key_ids_parse_like_strtol_base_10() {
        let parse = |text: &[u8]| parse_key(text).map_err(|(key, error)| (key, error.to_string()));
        assert_eq!(parse(b"123"), Ok(KeySerial::new(123)));
        assert_eq!(parse(b"  +42"), Ok(KeySerial::new(42)));
        assert_eq!(parse(b"-7"), Ok(KeySerial::new(-7)));
        assert_eq!(
            parse(b""),
            Err((KeySerial::NONE, "Invalid blank key ID".to_owned()))
        );
        assert_eq!(
            parse(b"12abc"),
            Err((KeySerial::new(12), "Invalid key ID format".to_owned()))
        );
        assert_eq!(
            parse(b"0x10"),
            Err((KeySerial::new(0), "Invalid key ID format".to_owned()))
        );
        assert_eq!(
            parse(b"  "),
            Err((KeySerial::new(0), "Invalid key ID format".to_owned()))
        );
        // 2^32 + 5 keeps its low 32 bits.
        assert_eq!(parse(b"4294967301"), Ok(KeySerial::new(5)));
    }

    #[test]
    fn the_plan_is_decided_from_argv_alone() {
        assert_eq!(mode(&["17"]), Mode::Key(KeySerial::new(17)));
        assert!(matches!(
            mode(&["12abc"]),
            Mode::BadKey(key, Malformed::KeyIdFormat) if key == KeySerial::new(12)
        ));
        assert_eq!(mode(&["--dump-config", "17"]), Mode::DumpConfig);
        assert_eq!(mode(&["1", "2"]), Mode::Usage);
        assert_eq!(mode(&["-D", "x"]), Mode::Usage);
        assert_eq!(
            mode(&["-D", "a:h", "list"]),
            Mode::Debug {
                describe: b"dns_resolver;-1;-1;0;a:h".to_vec(),
                callout: b"list".to_vec(),
            }
        );
        assert_eq!(run_plan(&["-V", "-x"]), Parsed::Version);
        assert!(matches!(run_plan(&["-x"]), Parsed::Usage { .. }));
        let Parsed::Run(plan) = run_plan(&["-vv", "-c", "/f", "5"]) else {
            panic!("not a run");
        };
        assert_eq!(plan.verbosity, 2);
        assert_eq!(plan.config, ConfigSource::Given("/f".into()));
    }

    #[test]
    fn reject_errno_follows_the_intended_table() {
        assert_eq!(reject_errno(Failure::HostNotFound), 61);
        assert_eq!(reject_errno(Failure::NoData), 61);
        assert_eq!(reject_errno(Failure::TryAgain), 11);
        assert_eq!(reject_errno(Failure::NoRecovery), 111);
    }

    #[test]
    fn debug_mode_handles_unsupported_types_through_the_error_path() {
        let _ = log::captured(0);
        let code = answer(
            None,
            &request::debug_describe(b"srv:foo"),
            b"",
            config::Config::default(),
            &mut System::default(),
        );
        assert_eq!(code, ExitCode::from(EXIT_ERROR));
        assert_eq!(
            log::captured(0)[0].1,
            "Error: Query type: \"srv\" is not supported"
        );
    }

    #[test]
    fn debug_mode_dumps_the_payload_and_expiry() {
        let _ = log::captured(0);
        let code = answer(
            None,
            &request::debug_describe(b"localhost"),
            b"",
            config::Config {
                default_ttl: 7,
                afs_server_list_v1: false,
            },
            &mut System::default(),
        );
        assert_eq!(code, ExitCode::SUCCESS);
        let lines: Vec<String> = log::captured(0).into_iter().map(|(_, line)| line).collect();
        assert_eq!(
            lines,
            [
                "The key instantiation data is '127.0.0.1'",
                "The expiry time is 7s"
            ]
        );
    }
}
