//! `key.dns_resolver`: answers the kernel's `dns_resolver` key requests (CIFS, NFS, Ceph, AFS)
//! like keyutils 1.6.3's helper, with the divergences of `docs/compat/key.dns_resolver.md`.
//!
//! Flow: parse argv ([`cli`]) → read the config ([`config`]) → describe the key and read the
//! callout ([`request`]) → look up ([`resolve`]) → finish the key (set timeout + instantiate,
//! reject, or negate) and exit with the reference's code.

#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod log;
pub mod payload;
pub mod request;
pub mod resolve;
pub mod server_list;

use std::ffi::OsString;
use std::io::{self, Write};
use std::process::ExitCode;

use kup_dns::client::Failure;
use kup_runtime::cli::{Radix, strtol};
use kup_runtime::helper::{self, Disposition, KeyGuard, Printable, StartOptions};
use kup_sys::{KeySerial, keyctl};

use crate::cli::{Command, ConfigSource, Options};
use crate::log::Log;
use crate::request::Query;
use crate::resolve::{Outcome, Resolve, System};

/// Exit status of the reference's error path.
const EXIT_ERROR: u8 = 1;
/// Exit status of a usage error.
const EXIT_USAGE: u8 = 2;
/// The reference negates for 1 s on its error path.
const ERROR_NEGATE_SECS: u32 = 1;
/// What the kernel does to a key left unfinished (decisions.md 8: we do it ourselves).
const KERNEL_NEGATE_SECS: u32 = 60;
/// How long a rejected key stays negative. keyutils 1.6.3 always rejects through
/// `nsError(NO_DATA, …)`, whose timeout is 60 s; its per-status table (1 s / 10 s) is never
/// reached, and we keep the observable 60 s.
pub const REJECT_SECS: u32 = 60;

/// The total deadline of one run (decisions.md 10, `docs/compat/key.dns_resolver.md`): 30 s from
/// start-up, then the key is negated like the error path (1 s) and the helper exits 1.
pub const DEADLINE: kup_runtime::deadline::Deadline =
    kup_runtime::deadline::Deadline::new(kup_runtime::deadline::DEFAULT_LIMIT, EXIT_ERROR);

/// The errno a rejected key carries (decisions.md 5): the mapping the reference intended,
/// instead of its raw `h_errno` value (which requesters see as `EPERM`/`ENOENT`/`ESRCH`/`EINTR`).
#[must_use]
pub fn reject_errno(status: Failure) -> i32 {
    match status {
        Failure::HostNotFound | Failure::NoData => kup_sys::errno::ENODATA,
        Failure::TryAgain => kup_sys::errno::EAGAIN,
        Failure::NoRecovery => kup_sys::errno::ECONNREFUSED,
    }
}

/// The whole program: `main` calls this with `std::env::args_os()`.
#[must_use]
pub fn run(argv: Vec<OsString>) -> ExitCode {
    let _ = helper::start(&StartOptions::daemon(c"key.dns_resolver").with_deadline(DEADLINE));
    let command = cli::parse(argv);
    match command {
        Command::Version => {
            let _ = writeln!(
                io::stdout().lock(),
                "version: 1.0 from kup-{} (key-dns-resolver)",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
        Command::Usage { error, verbosity } => {
            let log = Log::system(verbosity);
            if let Some(bytes) = error {
                let _ = io::stderr().lock().write_all(&bytes);
                if !log.stderr_terminal() {
                    helper::syslog_line(kup_sys::syslog::Severity::Error, "unknown option: ?");
                }
            }
            usage(&log)
        }
        Command::Run(options) => execute(&options),
    }
}

fn usage(log: &Log) -> ExitCode {
    if log.stderr_terminal() {
        let _ = write!(
            io::stderr().lock(),
            "Usage: key.dns_resolver [-vv] [-c config] key_serial\n\
             Usage: key.dns_resolver -D [-vv] [-c config] <desc> <calloutinfo>\n"
        );
    } else {
        log.info("Usage: key.dns_resolver [-vv] [-c config] key_serial");
    }
    ExitCode::from(EXIT_USAGE)
}

fn execute(options: &Options) -> ExitCode {
    let log = Log::system(options.verbosity);
    let config = match read_config(options, &log) {
        Ok(config) => config,
        Err(message) => {
            log.error(&format!("Error: {message}"));
            // The reference fails here before it knows the key (it negates key 0, which fails,
            // and the kernel negates the key for 60 s). We finish it ourselves, same effect.
            if !options.debug
                && let [key] = options.operands.as_slice()
                && let Some(key) = parse_key(key.as_encoded_bytes()).ok()
            {
                let _ = keyctl::negate(key, KERNEL_NEGATE_SECS, KeySerial::NONE);
            }
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if options.dump_config {
        let mut out = format!("default_ttl = {}\n", config.default_ttl);
        if config.afs_server_list_v1 {
            out.push_str("afs_server_list_v1 = 1\n");
        }
        let _ = io::stdout().lock().write_all(out.as_bytes());
        return ExitCode::SUCCESS;
    }

    let (guard, describe, callout) = if options.debug {
        let [description, callout] = options.operands.as_slice() else {
            return usage(&log);
        };
        (
            None,
            request::debug_describe(description.as_encoded_bytes()),
            request::c_string(callout.as_encoded_bytes()).to_vec(),
        )
    } else {
        let [key_text] = options.operands.as_slice() else {
            return usage(&log);
        };
        let key = match parse_key(key_text.as_encoded_bytes()) {
            Ok(key) => key,
            Err((key, message)) => {
                return error_path(&log, Some(KeyGuard::new(key, negate_error())), message);
            }
        };
        let guard = KeyGuard::new(key, negate_error());
        let describe = match keyctl::describe_raw(key) {
            Ok(describe) => describe,
            Err(error) => {
                return error_path(
                    &log,
                    Some(guard),
                    format!("keyctl_describe_alloc failed: {}", strerror(&error)),
                );
            }
        };
        let callout = match keyctl::read(KeySerial::REQKEY_AUTH_KEY) {
            Ok(callout) => callout,
            Err(error) => {
                return error_path(
                    &log,
                    Some(guard),
                    format!("Invalid key callout_info read: {}", strerror(&error)),
                );
            }
        };
        (Some(guard), describe, request::c_string(&callout).to_vec())
    };
    handle(&log, guard, &describe, &callout, &config, &mut System::default())
}

/// Everything after the describe string and callout are known (also used by tests with a
/// table resolver).
pub fn handle(
    log: &Log,
    guard: Option<KeyGuard>,
    describe: &[u8],
    callout: &[u8],
    config: &config::Config,
    resolver: &mut dyn Resolve,
) -> ExitCode {
    let default_ttl = config.default_ttl;
    log.info(&format!("Key description: '{}'", Printable(describe)));
    log.info(&format!("Callout info: '{}'", Printable(callout)));
    let name = match request::key_name(describe) {
        Ok(name) => name,
        Err(error) => return error_path(log, guard, error.0),
    };
    let prefixed = request::query_type(name).is_some();
    if let Some(query_type) = request::query_type(name) {
        log.info(&format!("Query type: '{}'", Printable(query_type)));
    }
    let query = match request::parse_query(name, callout) {
        Ok(query) => query,
        Err(error) => return error_path(log, guard, error.0),
    };
    let outcome = match &query {
        Query::Address { name, options } => {
            // Only the prefixed forms (`a:`, `aaaa:`) announce the query.
            if prefixed {
                log.info(&format!(
                    "Do DNS query of A/AAAA type for:'{}' mask:'{}'",
                    Printable(name),
                    Printable(callout)
                ));
            }
            resolve::address_request(resolver, log, name, *options, default_ttl)
        }
        Query::Afs { cell, family } => {
            log.info(&format!(
                "Do AFS VL server query for:'{}' mask:'{}'",
                Printable(cell),
                Printable(callout)
            ));
            resolve::afs_request(resolver, log, cell, *family, default_ttl)
        }
    };
    let binary = config.afs_server_list_v1
        && matches!(query, Query::Afs { .. })
        && request::asks_for_server_list(callout);
    finish(log, guard, outcome, binary)
}

fn finish(log: &Log, guard: Option<KeyGuard>, outcome: Outcome, binary: bool) -> ExitCode {
    match outcome {
        Outcome::Instantiate {
            payload,
            expiry,
            servers,
        } => {
            if guard.is_none() {
                // -D: the reference forces verbosity 1 for the final dump.
                log.set_verbosity(1);
            }
            let bytes = if binary {
                let list = server_list::encode(&servers);
                log.info(&format!(
                    "The key instantiation data is a v1 server list: {} servers, {} bytes",
                    servers.len().min(255),
                    list.len()
                ));
                list
            } else {
                log.info(&format!(
                    "The key instantiation data is '{}'",
                    String::from_utf8_lossy(&payload.text())
                ));
                payload.to_key_bytes()
            };
            log.info(&format!("The expiry time is {expiry}s"));
            let Some(guard) = guard else {
                return ExitCode::SUCCESS;
            };
            if let Err(error) = guard.set_timeout(expiry) {
                return error_path(
                    log,
                    Some(guard),
                    format!("keyctl_set_timeout: {}", strerror(&error)),
                );
            }
            match guard.instantiate(&bytes) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    // The guard already negated the key (1 s) on the failed instantiate.
                    log.error(&format!("Error: keyctl_instantiate: {}", strerror(&error)));
                    ExitCode::from(EXIT_ERROR)
                }
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
                log.debug(&format!("lookup status: {}", status.message()));
            }
            log.name_service_error(&Printable(&domain).to_string(), Failure::NoData.message());
            log.info(&format!("Reject the key with error {errno}"));
            let Some(guard) = guard else {
                return ExitCode::SUCCESS;
            };
            if let Some(timeout) = timeout_before
                && let Err(error) = guard.set_timeout(timeout)
            {
                return error_path(
                    log,
                    Some(guard),
                    format!("keyctl_set_timeout: {}", strerror(&error)),
                );
            }
            match guard.reject(REJECT_SECS, errno) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    log.error(&format!("Error: nsError: keyctl_reject: {}", strerror(&error)));
                    ExitCode::from(EXIT_ERROR)
                }
            }
        }
        Outcome::Error(message) => error_path(log, guard, message),
    }
}

/// The reference's `error()`: log `Error: <message>`, negate the key for 1 s, exit 1.
fn error_path(log: &Log, guard: Option<KeyGuard>, message: impl AsRef<str>) -> ExitCode {
    log.error(&format!("Error: {}", message.as_ref()));
    if let Some(guard) = guard {
        let _ = guard.fail();
    }
    ExitCode::from(EXIT_ERROR)
}

fn negate_error() -> Disposition {
    Disposition::Negate {
        timeout_secs: ERROR_NEGATE_SECS,
    }
}

/// `strtol(text, &end, 10)` with the reference's checks. On error, the serial C would still have
/// stored (and then negated) comes with the message.
fn parse_key(text: &[u8]) -> Result<KeySerial, (KeySerial, &'static str)> {
    if text.is_empty() {
        return Err((KeySerial::NONE, "Invalid blank key ID"));
    }
    let number = strtol(text, Radix::DECIMAL);
    // key_serial_t is 32 bits: C keeps the low half of the long.
    let serial = KeySerial::new(i32::from_ne_bytes(
        u32::try_from(number.value & 0xffff_ffff)
            .unwrap_or(0)
            .to_ne_bytes(),
    ));
    if !number.consumed_all(text) {
        return Err((serial, "Invalid key ID format"));
    }
    Ok(serial)
}

/// `%m`: the C library's text for an errno, without Rust's " (os error N)" suffix.
fn strerror(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text.get(..cut).unwrap_or(&text).to_owned(),
        None => text,
    }
}

fn read_config(options: &Options, log: &Log) -> Result<config::Config, String> {
    let (file_path, specified) = match &options.config {
        ConfigSource::Default => (std::path::PathBuf::from(config::DEFAULT_PATH), false),
        ConfigSource::Given(path) => (std::path::PathBuf::from(path), true),
        ConfigSource::Null => {
            log.info("READ CONFIG (null)");
            return Err("(null): Bad address".to_owned());
        }
    };
    // The path as the messages show it (C prints the bytes; we show them lossily).
    let path = String::from_utf8_lossy(file_path.as_os_str().as_encoded_bytes()).into_owned();
    log.info(&format!("READ CONFIG {path}"));
    let contents = match std::fs::read(&file_path) {
        Ok(contents) => contents,
        Err(error) if error.kind() == io::ErrorKind::NotFound && !specified => {
            log.debug(&format!("{path}: {}", strerror(&error)));
            return Ok(config::Config::default());
        }
        Err(error) => return Err(format!("{path}: {}", strerror(&error))),
    };
    let parsed = config::parse(&contents, &path);
    for warning in &parsed.warnings {
        log.warning(warning);
    }
    parsed.result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_parse_like_strtol_base_10() {
        assert_eq!(parse_key(b"123"), Ok(KeySerial::new(123)));
        assert_eq!(parse_key(b"  +42"), Ok(KeySerial::new(42)));
        assert_eq!(parse_key(b"-7"), Ok(KeySerial::new(-7)));
        assert_eq!(parse_key(b""), Err((KeySerial::NONE, "Invalid blank key ID")));
        assert_eq!(
            parse_key(b"12abc"),
            Err((KeySerial::new(12), "Invalid key ID format"))
        );
        assert_eq!(
            parse_key(b"0x10"),
            Err((KeySerial::new(0), "Invalid key ID format"))
        );
        assert_eq!(
            parse_key(b"  "),
            Err((KeySerial::new(0), "Invalid key ID format"))
        );
        // 2^32 + 5 keeps its low 32 bits.
        assert_eq!(parse_key(b"4294967301"), Ok(KeySerial::new(5)));
    }

    #[test]
    fn reject_errno_follows_the_intended_table() {
        assert_eq!(reject_errno(Failure::HostNotFound), 61);
        assert_eq!(reject_errno(Failure::NoData), 61);
        assert_eq!(reject_errno(Failure::TryAgain), 11);
        assert_eq!(reject_errno(Failure::NoRecovery), 111);
    }

    #[test]
    fn strerror_drops_the_rust_suffix() {
        assert_eq!(
            strerror(&io::Error::from_raw_os_error(2)),
            "No such file or directory"
        );
    }

    #[test]
    fn debug_mode_handles_unsupported_types_through_the_error_path() {
        let log = Log::capture(0);
        let code = handle(
            &log,
            None,
            &request::debug_describe(b"srv:foo"),
            b"",
            &config::Config::default(),
            &mut System::default(),
        );
        assert_eq!(code, ExitCode::from(EXIT_ERROR));
        assert_eq!(log.lines()[0].1, "Error: Query type: \"srv\" is not supported");
    }

    #[test]
    fn debug_mode_dumps_the_payload_and_expiry() {
        let log = Log::capture(0);
        let code = handle(
            &log,
            None,
            &request::debug_describe(b"localhost"),
            b"",
            &config::Config {
                default_ttl: 7,
                afs_server_list_v1: false,
            },
            &mut System::default(),
        );
        assert_eq!(code, ExitCode::SUCCESS);
        let lines: Vec<String> = log.lines().into_iter().map(|(_, line)| line).collect();
        assert_eq!(
            lines,
            [
                "The key instantiation data is '127.0.0.1'",
                "The expiry time is 7s"
            ]
        );
    }
}
