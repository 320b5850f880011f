//! `nfsidmap`: the request-key helper for the kernel's `id_resolver` keys, a drop-in for
//! nfs-utils 2.6.2's `nfsidmap` (Debian 12 nfs-common).
//!
//! Run by `/sbin/request-key` as `nfsidmap -t 600 KEY DESC` (upcall mode) it answers `uid:NAME`,
//! `gid:NAME`, `user:UID`, `group:GID` through `kup-idmap`; run by hand it prints the NFSv4 domain
//! (`-d`), lists (`-l`) or clears (`-c`) the kernel's `.id_resolver` keyring, or invalidates the
//! cached keys of one name (`-u`/`-g`/`-r`). Flow: [`plan`] turns argv into an [`Invocation`]
//! (pure), [`execute`] runs it. Behaviour, messages and exit codes follow the reference; the
//! recorded divergences (we finish the key ourselves, refuse ambiguous descriptions, never crash
//! on a bad regex config) are in `docs/compat/nfsidmap.md`.

#![forbid(unsafe_code)]
// Prose names protocol terms (NFSv4, idmapd.conf) that are not code items.
#![allow(clippy::doc_markdown)]

use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Write as _};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::Path;
use std::process::ExitCode;

use kup_idmap::conf::Config;
use kup_idmap::description::{self, Description, Query, Refusal};
use kup_idmap::idmap::NAME_BUFFER;
use kup_idmap::system::{SystemAccounts, SystemHost};
use kup_idmap::{Errno, Idmap};
use kup_runtime::cli::{self, CliError, Flag, Ordering, Spec};
use kup_runtime::helper::{self, Disposition, KeyGuard, Printable, StartOptions};
use kup_sys::syslog::{self, Severity};
use kup_sys::{Gid, KeySerial, Uid, keyctl};

/// The configuration file the reference reads (compile-time path, no option or variable).
pub const CONFIG_PATH: &str = "/etc/idmapd.conf";

/// The kernel's cache keyring for `id_resolver` keys.
pub const KEYRING_NAME: &[u8] = b".id_resolver";

/// The default key timeout of the upcall mode, in seconds.
pub const DEFAULT_TIMEOUT: i32 = 600;

/// The negative-key time the kernel applies when a helper leaves its key unfinished; ours
/// negates with it itself (decisions.md #8).
pub const NEGATIVE_TIMEOUT: u32 = 60;
/// The total deadline of one run (decisions.md 10, `docs/compat/nfsidmap.md`): 30 s from start-up,
/// then the key is negated for [`NEGATIVE_TIMEOUT`] and the helper exits 1.
pub const DEADLINE: kup_runtime::deadline::Deadline =
    kup_runtime::deadline::Deadline::new(kup_runtime::deadline::DEFAULT_LIMIT, 1);

/// The options, in the reference's getopt string order `hdu:g:r:ct:vl`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionId {
    /// `-h`
    Help,
    /// `-d`
    Domain,
    /// `-u NAME`
    User,
    /// `-g NAME`
    Group,
    /// `-r NAME`
    Both,
    /// `-c`
    Clear,
    /// `-t TIMEOUT`
    Timeout,
    /// `-v`
    Verbose,
    /// `-l`
    List,
}

/// The flag table (short options only: the reference uses plain `getopt`).
pub const FLAGS: &[Flag<OptionId>] = &[
    Flag::new(OptionId::Help)
        .short(b'h')
        .help("print the usage line and exit"),
    Flag::new(OptionId::Domain)
        .short(b'd')
        .help("print the NFSv4 domain"),
    Flag::new(OptionId::User)
        .short(b'u')
        .required("user")
        .help("invalidate the cached uid key of a user"),
    Flag::new(OptionId::Group)
        .short(b'g')
        .required("group")
        .help("invalidate the cached gid key of a group"),
    Flag::new(OptionId::Both)
        .short(b'r')
        .required("name")
        .help("invalidate the cached uid and gid keys of a name"),
    Flag::new(OptionId::Clear)
        .short(b'c')
        .help("clear the .id_resolver keyring"),
    Flag::new(OptionId::Timeout)
        .short(b't')
        .required("timeout")
        .help("key timeout in seconds (upcall mode)"),
    Flag::new(OptionId::Verbose)
        .short(b'v')
        .help("more messages (repeatable)"),
    Flag::new(OptionId::List)
        .short(b'l')
        .help("list the .id_resolver keyring"),
];

/// Which cached keys `-u`/`-g`/`-r` invalidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyKinds {
    /// `uid:` keys.
    pub uid: bool,
    /// `gid:` keys.
    pub gid: bool,
}

/// What one run does, decided from argv alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `-h` (exit 0) or a getopt error (its message, then exit 1): print the usage line.
    Usage {
        /// glibc getopt's own message, already formatted, for an error.
        getopt_error: Option<Vec<u8>>,
    },
    /// `-d`.
    Domain,
    /// `-l`.
    List,
    /// `-u`/`-g`/`-r NAME`.
    Invalidate {
        /// The name prefix to match.
        name: Vec<u8>,
        /// Which kinds of keys.
        kinds: KeyKinds,
    },
    /// `-c`.
    Clear,
    /// The upcall mode with exactly two operands.
    Upcall {
        /// The key serial (C `strtol`, truncated to 32 bits).
        key: KeySerial,
        /// The description as given.
        description: Vec<u8>,
    },
    /// The upcall mode with another number of operands.
    BadArgCount,
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The base name of argv[0] (syslog ident and usage text).
    pub program: Vec<u8>,
    /// Number of `-v`.
    pub verbosity: u32,
    /// `-t` (C `atoi`), passed to the kernel as an unsigned value.
    pub timeout: i32,
    /// What to do.
    pub mode: Mode,
}

/// How argv is scanned: like the reference's `getopt`, except that the first operand (the key)
/// ends the options. request-key runs `nfsidmap -t 600 %k %d`, and the description `%d` is
/// chosen by whoever requests the key: with GNU permutation a description such as `-c` or
/// `-uNAME` would run that mode (clear the `.id_resolver` keyring, revoke cached mappings)
/// instead of answering the key (decisions.md #11; divergence in `docs/compat/nfsidmap.md`).
pub const ARGV_SPEC: Spec<'static, OptionId> = Spec::getopt(FLAGS).with_ordering(Ordering::RequireOrder);

/// Turns argv into an [`Invocation`] as the reference's option loop and mode order do, with
/// [`ARGV_SPEC`]'s one difference: nothing after the key operand is an option.
#[must_use]
pub fn plan(argv: &[OsString]) -> Invocation {
    let parsed = cli::parse(ARGV_SPEC, argv.iter().cloned());
    let argv0 = argv.first().map_or(&b""[..], |arg| arg.as_bytes());
    let program = argv0
        .iter()
        .rposition(|&byte| byte == b'/')
        .map_or(argv0, |slash| argv0.get(slash + 1..).unwrap_or_default())
        .to_vec();
    let mut invocation = Invocation {
        program,
        verbosity: 0,
        timeout: DEFAULT_TIMEOUT,
        mode: Mode::BadArgCount,
    };
    let (mut domain, mut list, mut clear) = (false, false, false);
    let mut invalidate: Option<(Vec<u8>, KeyKinds)> = None;
    for option in &parsed.options {
        let value = option.value.as_deref().map_or(&b""[..], OsStr::as_bytes);
        match option.id {
            OptionId::Help => {
                invocation.mode = Mode::Usage { getopt_error: None };
                return invocation;
            }
            OptionId::Domain => domain = true,
            OptionId::List => list = true,
            OptionId::Clear => clear = true,
            OptionId::Verbose => invocation.verbosity = invocation.verbosity.saturating_add(1),
            OptionId::Timeout => invocation.timeout = cli::atoi(value),
            OptionId::User => {
                invalidate = Some((
                    value.to_vec(),
                    KeyKinds {
                        uid: true,
                        gid: false,
                    },
                ));
            }
            OptionId::Group => {
                invalidate = Some((
                    value.to_vec(),
                    KeyKinds {
                        uid: false,
                        gid: true,
                    },
                ));
            }
            OptionId::Both => invalidate = Some((value.to_vec(), KeyKinds { uid: true, gid: true })),
        }
    }
    if let Some(error) = &parsed.error {
        invocation.mode = Mode::Usage {
            getopt_error: Some(getopt_message(error, &parsed.prog)),
        };
        return invocation;
    }
    invocation.mode = if domain {
        Mode::Domain
    } else if list {
        Mode::List
    } else if let Some((name, kinds)) = invalidate {
        Mode::Invalidate { name, kinds }
    } else if clear {
        Mode::Clear
    } else if let [key, description] = parsed.operands.as_slice() {
        // strtol then the implicit conversion to key_serial_t: truncation is the reference's.
        #[allow(clippy::cast_possible_truncation)]
        let key = KeySerial::new(cli::strtol(key.as_bytes(), cli::Radix::DECIMAL).value as i32);
        Mode::Upcall {
            key,
            description: description.as_bytes().to_vec(),
        }
    } else {
        Mode::BadArgCount
    };
    invocation
}

fn getopt_message(error: &CliError, prog: &OsStr) -> Vec<u8> {
    error.stderr_bytes(prog)
}

/// The reference's usage line for `program`.
#[must_use]
pub fn usage(program: &[u8]) -> String {
    format!(
        "Usage: {} [-vh] [-c || [-u|-g|-r key] || -d || -l || [-t timeout] key desc]",
        String::from_utf8_lossy(program)
    )
}

/// The process entry point: start-up hygiene, then [`execute`].
#[must_use]
pub fn main() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // `$NAME` in idmapd.conf expands from the caller's environment: keep a copy before the
    // start-up code rebuilds the environment.
    let environment: Vec<(Vec<u8>, Vec<u8>)> = std::env::vars_os()
        .map(|(name, value)| (name.into_vec(), value.into_vec()))
        .collect();
    let invocation = plan(&argv);
    let ident = CString::new(invocation.program.clone()).unwrap_or_default();
    // The syslog ident must outlive the process (libc keeps the pointer).
    let ident: &'static std::ffi::CStr = Box::leak(ident.into_boxed_c_str());
    let options = StartOptions {
        log_options: syslog::OPTION_PID,
        ..StartOptions::daemon(ident).with_deadline(DEADLINE)
    };
    if helper::start(&options).is_err() {
        return ExitCode::FAILURE;
    }
    execute(&invocation, environment)
}

/// The reference's xlog switches: stderr and syslog can each be turned off per mode.
struct Output {
    stderr: bool,
    syslog: bool,
    program: String,
}

impl Output {
    fn emit(&self, severity: Severity, message: &str) {
        if self.stderr {
            let _ = writeln!(io::stderr().lock(), "{}: {message}", self.program);
        }
        if self.syslog {
            helper::syslog_line(severity, message);
        }
    }

    fn warn(&self, message: &str) {
        self.emit(Severity::Warning, message);
    }

    /// The reference's `xlog_err`: log, then exit 1.
    fn fail(&self, message: &str) -> ExitCode {
        self.emit(Severity::Error, message);
        ExitCode::FAILURE
    }
}

/// Runs one invocation. `environment` is the caller's original environment (for `$NAME`).
#[must_use]
pub fn execute(invocation: &Invocation, environment: Vec<(Vec<u8>, Vec<u8>)>) -> ExitCode {
    let mut output = Output {
        stderr: true,
        syslog: true,
        program: String::from_utf8_lossy(&invocation.program).into_owned(),
    };
    // In upcall mode the key is known before anything can fail: guard it at once, so every
    // failure below finishes it the way the kernel would (negative, 60 s).
    let mut guard = match &invocation.mode {
        Mode::Upcall { key, .. } => Some(KeyGuard::new(
            *key,
            Disposition::Negate {
                timeout_secs: NEGATIVE_TIMEOUT,
            },
        )),
        _ => None,
    };
    if let Mode::Usage { getopt_error } = &invocation.mode {
        if let Some(message) = getopt_error {
            let _ = io::stderr().lock().write_all(message);
        }
        output.warn(&usage(&invocation.program));
        return if getopt_error.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    if kup_sys::process::user_ids().map_or(true, |ids| ids.effective != Uid::ROOT) {
        return output.fail("Must be run as root.");
    }
    let config = Config::load(Path::new(CONFIG_PATH)).with_environment(environment);
    for warning in config.warnings() {
        // The config parser's own messages: syslog and stderr with an empty program name.
        let _ = writeln!(io::stderr().lock(), ": {warning}");
        helper::syslog_line(Severity::Warning, warning);
    }
    let library_log: kup_idmap::idmap::Logger = Box::new(|line| {
        helper::syslog_line(Severity::Warning, line);
    });
    let Ok(mut idmap) = Idmap::new(config, SystemAccounts, &SystemHost, 0, library_log) else {
        return output.fail("Unable to create name to user id mappings.");
    };
    match &invocation.mode {
        Mode::Domain => display_domain(&idmap, &output),
        Mode::List => list_keyring(&output),
        Mode::Invalidate { name, kinds } => {
            output.syslog = false;
            invalidate(name, *kinds, invocation.verbosity > 0, &output)
        }
        Mode::Clear => {
            output.syslog = false;
            clear_keyring(invocation.verbosity > 0, &output)
        }
        Mode::BadArgCount => {
            output.stderr = invocation.verbosity > 0;
            output.warn("Bad arg count. Check /etc/request-key.conf");
            output.warn(&usage(&invocation.program));
            ExitCode::FAILURE
        }
        Mode::Upcall { key, description } => {
            output.stderr = invocation.verbosity > 0;
            if invocation.verbosity > 0 {
                idmap.set_verbosity(invocation.verbosity);
            }
            let Some(guard) = guard.take() else {
                return ExitCode::FAILURE;
            };
            upcall(&idmap, guard, *key, description, invocation, &output)
        }
        Mode::Usage { .. } => ExitCode::FAILURE,
    }
}

fn display_domain(idmap: &Idmap<SystemAccounts>, output: &Output) -> ExitCode {
    match idmap.default_domain() {
        Ok(domain) => {
            let mut stdout = io::stdout().lock();
            let _ = stdout.write_all(domain);
            let _ = stdout.write_all(b"\n");
            ExitCode::SUCCESS
        }
        Err(error) => output.fail(&format!("nfs4_get_default_domain failed: {error}")),
    }
}

fn upcall(
    idmap: &Idmap<SystemAccounts>,
    mut guard: KeyGuard,
    key: KeySerial,
    raw: &[u8],
    invocation: &Invocation,
    output: &Output,
) -> ExitCode {
    let parsed = match Description::parse(raw) {
        Ok(parsed) => parsed,
        Err(Refusal::NullValue) => return output.fail("Error: Null uid/gid value."),
        Err(Refusal::Ambiguous) => {
            return output.fail(&format!(
                "Error: ambiguous description '{}' (empty field or second ':'), refused",
                Printable(raw)
            ));
        }
    };
    if invocation.verbosity > 0 {
        output.warn(&format!(
            "key: 0x{:x} type: {} value: {} timeout {}",
            key.get(),
            Printable(parsed.type_field),
            Printable(parsed.value),
            invocation.timeout
        ));
    }
    // Become a possessor of the key being built (through the kernel's .id_resolver keyring) so
    // that the timeout can still be set after instantiation, as the reference does.
    let _ = keyctl::request_key("keyring", KEYRING_NAME, None, KeySerial::THREAD_KEYRING);
    let result = match parsed.query {
        None => {
            // The reference exits 0 and leaves the key to the kernel; we negate it ourselves.
            helper::syslog_line(
                Severity::Error,
                &format!(
                    "unknown id_resolver description type '{}'",
                    Printable(parsed.type_field)
                ),
            );
            return ExitCode::SUCCESS;
        }
        Some(query @ (Query::NameToUid | Query::NameToGid)) => {
            let id = if query == Query::NameToUid {
                idmap.owner_to_uid(parsed.value).get()
            } else {
                idmap.group_owner_to_gid(parsed.value).get()
            };
            instantiate_id(&mut guard, &description::id_payload(id), output)
        }
        Some(query @ (Query::UidToName | Query::GidToName)) => {
            if let Err(error) = idmap.default_domain() {
                return output.fail(&format!("name_lookup: nfs4_get_default_domain failed: {error}"));
            }
            let id = kup_runtime::cli::atoi(parsed.value).cast_unsigned();
            let name = if query == Query::UidToName {
                idmap.uid_to_name(Uid::new(id), NAME_BUFFER)
            } else {
                idmap.gid_to_name(Gid::new(id), NAME_BUFFER)
            };
            match name {
                Ok(name) => match guard.instantiate(&name) {
                    Ok(()) => Ok(()),
                    Err(error) => {
                        return output
                            .fail(&format!("name_lookup: keyctl_instantiate failed: {}", Os(&error)));
                    }
                },
                Err(error) => {
                    let function = if query == Query::UidToName {
                        "nfs4_uid_to_name"
                    } else {
                        "nfs4_gid_to_name"
                    };
                    return output.fail(&lookup_failure(function, id, error));
                }
            }
        }
    };
    if result.is_err() {
        return ExitCode::FAILURE;
    }
    // Same order as the reference: the timeout after instantiation (its failure is ignored).
    let _ = keyctl::set_timeout(key, invocation.timeout.cast_unsigned());
    ExitCode::SUCCESS
}

/// An OS error as C's `%m` prints it: the `strerror` text alone.
struct Os<'a>(&'a io::Error);

impl std::fmt::Display for Os<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0.to_string();
        let plain = text.find(" (os error ").map_or(text.as_str(), |cut| &text[..cut]);
        formatter.write_str(plain)
    }
}

fn lookup_failure(function: &str, id: u32, error: Errno) -> String {
    format!("name_lookup: {function}: for {id} failed: {error}")
}

/// Instantiates a `uid:`/`gid:` key; a full quota (`EDQUOT`, `ENFILE`, `ENOMEM`) clears
/// `.id_resolver` and retries once, as the reference does. `guard` is left finished or, on
/// failure, still armed (it negates the key when dropped).
fn instantiate_id(guard: &mut KeyGuard, payload: &[u8], output: &Output) -> Result<(), ()> {
    guard.set_failure(Disposition::LeaveToKernel);
    let first = keyctl::instantiate(guard.key(), payload, KeySerial::NONE);
    guard.set_failure(Disposition::Negate {
        timeout_secs: NEGATIVE_TIMEOUT,
    });
    match first {
        Ok(()) => {
            // Instantiated: nothing left for the guard to finish.
            guard.set_failure(Disposition::LeaveToKernel);
            Ok(())
        }
        Err(error)
            if matches!(
                error.raw_os_error(),
                Some(kup_sys::errno::EDQUOT | kup_sys::errno::ENFILE | kup_sys::errno::ENOMEM)
            ) =>
        {
            // As the reference's keyring_clear: a missing keyring is not an error, the retry
            // still happens.
            if let Some(keyring) = find_keyring()
                && let Err(error) = keyctl::clear(keyring)
            {
                output.emit(
                    Severity::Error,
                    &format!("keyctl_clear(0x{:x}) failed: {}", keyring.get(), Os(&error)),
                );
                return Err(());
            }
            match keyctl::instantiate(guard.key(), payload, KeySerial::NONE) {
                Ok(()) => {
                    guard.set_failure(Disposition::LeaveToKernel);
                    Ok(())
                }
                Err(error) => {
                    output.emit(
                        Severity::Error,
                        &format!("id_lookup: keyctl_instantiate failed: {}", Os(&error)),
                    );
                    Err(())
                }
            }
        }
        Err(_) => Err(()),
    }
}

/// keyutils' `find_key_by_type_and_desc("keyring", ".id_resolver", 0)`: a non-upcalling
/// request, else a `/proc/keys` scan confirmed with `KEYCTL_DESCRIBE`.
fn find_keyring() -> Option<KeySerial> {
    if let Ok(serial) = keyctl::request_key("keyring", KEYRING_NAME, None, KeySerial::NONE) {
        return Some(serial);
    }
    let keys = kup_sys::proc_keys::read().ok()?;
    keys.into_iter()
        .filter(|key| key.key_type == "keyring" && key.description.starts_with(KEYRING_NAME))
        .find(|key| {
            keyctl::describe_raw(key.serial)
                .is_ok_and(|described| after_last_semicolon(&described) == KEYRING_NAME)
        })
        .map(|key| key.serial)
}

fn after_last_semicolon(described: &[u8]) -> &[u8] {
    described
        .iter()
        .rposition(|&byte| byte == b';')
        .and_then(|at| described.get(at + 1..))
        .unwrap_or(described)
}

fn keyring_missing_message() -> String {
    format!(
        "'{}' keyring was not found.",
        String::from_utf8_lossy(KEYRING_NAME)
    )
}

fn list_keyring(output: &Output) -> ExitCode {
    let Some(keyring) = find_keyring() else {
        return output.fail(&keyring_missing_message());
    };
    let members = match keyctl::keyring_members(keyring) {
        Ok(members) => members,
        Err(error) => {
            return output.fail(&format!(
                "Failed to read keyring {}: {}",
                String::from_utf8_lossy(KEYRING_NAME),
                Os(&error)
            ));
        }
    };
    let name = String::from_utf8_lossy(KEYRING_NAME);
    let mut stdout = io::stdout().lock();
    let _ = match members.len() {
        0 => writeln!(stdout, "No {name} keys found."),
        1 => writeln!(stdout, "1 {name} key found:"),
        count => writeln!(stdout, "{count} {name} keys found:"),
    };
    for member in members {
        match keyctl::describe_raw(member) {
            Ok(described) => {
                let _ = stdout.write_all(b"  ");
                let _ = stdout.write_all(after_last_semicolon(&described));
                let _ = stdout.write_all(b"\n");
            }
            Err(error) if error.raw_os_error() == Some(kup_sys::errno::EKEYEXPIRED) => {
                let _ = writeln!(stdout, "Expired key not displayed");
            }
            Err(error) => {
                let _ = stdout.flush();
                return output.fail(&format!("Failed to describe key: {}", Os(&error)));
            }
        }
    }
    ExitCode::SUCCESS
}

fn clear_keyring(verbose: bool, output: &Output) -> ExitCode {
    let Some(keyring) = find_keyring() else {
        if verbose {
            output.warn(&keyring_missing_message());
        }
        return ExitCode::SUCCESS;
    };
    if let Err(error) = keyctl::clear(keyring) {
        return output.fail(&format!(
            "keyctl_clear(0x{:x}) failed: {}",
            keyring.get(),
            Os(&error)
        ));
    }
    if verbose {
        output.warn(&format!("'{}' cleared", String::from_utf8_lossy(KEYRING_NAME)));
    }
    ExitCode::SUCCESS
}

/// The reference reads `/proc/keys` with `fgets` into an 8192-byte buffer.
const PROC_KEYS_LINE: usize = 8191;

fn invalidate(name: &[u8], kinds: KeyKinds, verbose: bool, output: &Output) -> ExitCode {
    let Ok(text) = std::fs::read("/proc/keys") else {
        return output.fail("fopen(/proc/keys) failed");
    };
    let mut pending = kinds;
    for line in proc_keys_lines(&text) {
        let Some((kind_is_uid, rest)) = match_key_line(line) else {
            continue;
        };
        let wanted = if kind_is_uid { pending.uid } else { pending.gid };
        if !wanted || !rest.starts_with(name) {
            continue;
        }
        let shown = line.strip_suffix(b"\n").unwrap_or(line);
        if verbose {
            output.warn(&format!("invalidating '{}'", Printable(shown)));
        }
        let serial_text = line.split(|&byte| byte == b' ').next().unwrap_or_default();
        let serial = u32::from_str_radix(&String::from_utf8_lossy(serial_text), 16).unwrap_or(0);
        let serial = KeySerial::new(serial.cast_signed());
        if let Err(error) = keyctl::invalidate(serial) {
            if error.raw_os_error() != Some(kup_sys::errno::EOPNOTSUPP) {
                return output.fail(&format!(
                    "keyctl_invalidate(0x{:x}) failed: {}",
                    serial.get(),
                    Os(&error)
                ));
            }
            if let Err(error) = keyctl::revoke(serial) {
                return output.fail(&format!(
                    "keyctl_revoke(0x{:x}) failed: {}",
                    serial.get(),
                    Os(&error)
                ));
            }
        }
        if kind_is_uid {
            pending.uid = false;
        } else {
            pending.gid = false;
        }
        if !pending.uid && !pending.gid {
            return ExitCode::SUCCESS;
        }
    }
    output.fail(&format!("'{}' key was not found.", String::from_utf8_lossy(name)))
}

/// `/proc/keys` split as `fgets` with an 8192-byte buffer splits it.
fn proc_keys_lines(text: &[u8]) -> Vec<&[u8]> {
    let mut lines = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&byte| byte == b'\n')
            .map_or(rest.len(), |newline| newline + 1)
            .min(PROC_KEYS_LINE);
        let (line, tail) = rest.split_at(end);
        lines.push(line);
        rest = tail;
    }
    lines
}

/// The reference's line test: lines mentioning `keyring` are skipped; then the first `uid:`
/// anywhere makes a uid key, else the first `gid:` a gid key. Returns the kind and the text
/// after the marker.
fn match_key_line(line: &[u8]) -> Option<(bool, &[u8])> {
    if find(line, b"keyring").is_some() {
        return None;
    }
    if let Some(at) = find(line, b"uid:") {
        return Some((true, line.get(at + 4..)?));
    }
    let at = find(line, b"gid:")?;
    Some((false, line.get(at + 4..)?))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests;
