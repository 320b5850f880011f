//! `cifs.idmap`: answers the kernel's `cifs.idmap` keys, a drop-in for cifs-utils 7.0's helper.
//!
//! The cifs client asks for a key described `os:<SID>` / `gs:<SID>` (answer: the uid / gid as 4
//! native-endian bytes) or `oi:<uid>` / `gi:<gid>` (answer: the 68-byte `struct cifs_sid`).
//! `/sbin/request-key` runs us as `cifs.idmap [-t timeout] %k`. Like the reference we do not map
//! anything ourselves: we load the configured cifs-utils idmap plugin (winbind's `idmapwb.so` or
//! sssd's `cifs_idmap_sss.so`) and call it.
//!
//! Flow (the reference's order): options → key serial → load the plugin → set the key timeout →
//! describe the key → parse the description → ask the plugin → instantiate. Parsing and deciding
//! are pure ([`parse_command_line`], [`answer`]); the effects are in [`run`].
//!
//! Divergences from the reference (see `docs/compat/cifs.idmap.md`): every failure negates the
//! key for 60 s ourselves (the reference leaves it to the kernel, which does the same); the SID
//! tail is zeroed; descriptions that do not start with exactly one request are refused; the plugin
//! must be root-owned and not group/world-writable; a key serial ≤ 0 is refused; `--version` prints
//! our version number.

#![forbid(unsafe_code)]

use std::ffi::{CString, OsString};
use std::fmt;
use std::io::{self, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use kup_runtime::cli::{self, Flag, Spec};
use kup_runtime::helper::{self, Disposition, Failure, KeyGuard, Printable, StartOptions};
use kup_sid::sid::CIFS_SID_LEN;
use kup_sid::{NumberError, Request, RequestError, Sid, parse_c_uint};
use kup_sys::KeySerial;
use kup_sys::keyctl;
use kup_sys::plugin::{IdType, IdmapPlugin, PluginError, UnixId};
use kup_sys::syslog::Severity;

/// Where cifs-utils (Debian: alternatives symlink) keeps the plugin to load.
pub const PLUGIN_PATH: &str = "/etc/cifs-utils/idmap-plugin";
/// The syslog ident of the reference.
pub const IDENT: &std::ffi::CStr = c"cifs.idmap";
/// The program name the reference prints in its usage line.
pub const PROGRAM: &str = "cifs.idmap";
/// Key timeout when `-t` is not given (seconds).
pub const DEFAULT_TIMEOUT: u32 = 600;
/// How long a failed key stays negative: what the kernel does when the reference exits.
pub const NEGATIVE_TIMEOUT: u32 = 60;
/// The total deadline of one run (decisions.md 10, `docs/compat/cifs.idmap.md`): 30 s from
/// start-up, then the key is negated for [`NEGATIVE_TIMEOUT`] and the helper exits 1.
pub const DEADLINE: kup_runtime::deadline::Deadline =
    kup_runtime::deadline::Deadline::new(kup_runtime::deadline::DEFAULT_LIMIT, 1);
/// The usage line, written to stderr by `-h` and when the key serial is missing.
pub const USAGE: &str = "Usage: cifs.idmap [-h] [-v] [-t timeout] key_serial\n";

/// `-EINVAL` as the reference returns it when the plugin answered with the wrong id type.
const WRONG_TYPE: i32 = -kup_sys::errno::EINVAL;

/// Our options, one row per option of the reference (`getopt_long`, `"ht:v"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    /// `-h`, `--help`.
    Help,
    /// `-t`, `--timeout`.
    Timeout,
    /// `-v`, `--version`.
    Version,
}

/// The flag table.
pub const FLAGS: &[Flag<Opt>] = &[
    Flag::new(Opt::Help)
        .short(b'h')
        .long("help")
        .help("print the usage line and exit"),
    Flag::new(Opt::Timeout)
        .short(b't')
        .long("timeout")
        .required("timeout")
        .help("seconds the answer stays cached (default 600, 0 = forever)"),
    Flag::new(Opt::Version)
        .short(b'v')
        .long("version")
        .help("print the version and exit"),
];

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print [`USAGE`] on stderr, exit 0.
    Help,
    /// Print the version on stdout, exit 0.
    Version,
    /// Answer this key, setting this timeout first.
    Map {
        /// The key under construction.
        key: KeySerial,
        /// Seconds for `KEYCTL_SET_TIMEOUT`.
        timeout: u32,
    },
}

/// A command line the reference refuses before touching any key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    /// Bytes for stderr (getopt's message, or the usage line).
    pub stderr: Vec<u8>,
    /// The syslog line, if the reference logs one.
    pub log: Option<String>,
    /// Exit status.
    pub exit_code: u8,
}

/// Reads the command line as the reference's `getopt_long` loop does: options in order, the first
/// `-h`/`-v` wins, a bad `-t` or an unknown option ends the run (exit 22 or 75); then the first
/// operand is the key serial (`strtol` base 10, only overflow is an error, as in the reference;
/// ours also refuses serials ≤ 0, which request-key never passes).
pub fn parse_command_line<I>(argv: I) -> Result<Command, UsageError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use std::os::unix::ffi::OsStrExt as _;
    let parsed = cli::parse(Spec::getopt_long(FLAGS), argv);
    let mut timeout = DEFAULT_TIMEOUT;
    for option in &parsed.options {
        match option.id {
            Opt::Help => return Ok(Command::Help),
            Opt::Version => return Ok(Command::Version),
            Opt::Timeout => {
                let value = option.value.as_deref().unwrap_or_default().as_bytes();
                timeout = parse_c_uint(value).map_err(|error| UsageError {
                    stderr: Vec::new(),
                    log: Some(format!("bad timeout value {}: {error}", Printable(value))),
                    exit_code: exit_byte(number_errno(error)),
                })?;
            }
        }
    }
    if let Some(bytes) = parsed.error_bytes() {
        return Err(UsageError {
            stderr: bytes,
            log: Some("unknown option: ?".to_owned()),
            exit_code: exit_byte(number_errno(NumberError::Invalid)),
        });
    }
    let Some(operand) = parsed.operands.first() else {
        return Err(UsageError {
            stderr: USAGE.as_bytes().to_vec(),
            log: None,
            exit_code: 1,
        });
    };
    let invalid = |reason: &str| UsageError {
        stderr: Vec::new(),
        log: Some(format!("Invalid key format: {reason}")),
        exit_code: 1,
    };
    let serial = cli::key_operand(operand.as_bytes()).map_err(|error| invalid(&error.to_string()))?;
    Ok(Command::Map { key: serial, timeout })
}

/// The mapping service: the cifs-utils plugin, or a fake in unit tests.
pub trait IdMapper {
    /// `cifs_idmap_str_to_sid`.
    fn str_to_sid(&self, value: &CString) -> Result<[u8; CIFS_SID_LEN], PluginError>;
    /// `cifs_idmap_sids_to_ids` with one SID.
    fn sid_to_id(&self, sid: &[u8; CIFS_SID_LEN]) -> Result<UnixId, PluginError>;
    /// `cifs_idmap_ids_to_sids` with one id.
    fn id_to_sid(&self, id: UnixId) -> Result<[u8; CIFS_SID_LEN], PluginError>;
}

impl IdMapper for IdmapPlugin {
    fn str_to_sid(&self, value: &CString) -> Result<[u8; CIFS_SID_LEN], PluginError> {
        IdmapPlugin::str_to_sid(self, value)
    }

    fn sid_to_id(&self, sid: &[u8; CIFS_SID_LEN]) -> Result<UnixId, PluginError> {
        IdmapPlugin::sid_to_id(self, sid)
    }

    fn id_to_sid(&self, id: UnixId) -> Result<[u8; CIFS_SID_LEN], PluginError> {
        IdmapPlugin::id_to_sid(self, id)
    }
}

/// The errno the reference returns (and exits with) for a refused number.
fn number_errno(error: NumberError) -> i32 {
    match error {
        NumberError::Invalid => kup_sys::errno::EINVAL,
        NumberError::Overflow => kup_sys::errno::EOVERFLOW,
    }
}

/// The reference's exit status for a C `int` return value: its low 8 bits (`-5` → 251).
#[must_use]
pub fn exit_byte(code: i32) -> u8 {
    code.to_le_bytes()[0]
}

/// Decides the payload for a described key: the pure core of the tool.
///
/// `describe` is the full `type;uid;gid;perm;description` string. Errors carry the reference's
/// exit status; the key is then negated for [`NEGATIVE_TIMEOUT`] seconds by the caller.
pub fn answer(describe: &[u8], mapper: &dyn IdMapper) -> Result<Vec<u8>, Failure> {
    // The description proper follows the fourth `;` (the describe string of a key always has
    // four); the reference searches the whole string, which only matters for descriptions we
    // refuse anyway.
    let description = describe
        .splitn(5, |&byte| byte == b';')
        .nth(4)
        .unwrap_or(describe);
    let request = kup_sid::request::parse(description).map_err(|error| match error {
        RequestError::NoPrefix | RequestError::Ambiguous => failure(
            1,
            Severity::Error,
            format!("Invalid key: {} ({error})", Printable(describe)),
        ),
        RequestError::BadId { error: number, .. } => failure(
            exit_byte(number_errno(number)),
            Severity::Error,
            format!(
                "Unable to convert {} to {}: {number}",
                Printable(description.get(3..).unwrap_or_default()),
                if matches!(
                    error,
                    RequestError::BadId {
                        kind: kup_sid::RequestKind::GroupId,
                        ..
                    }
                ) {
                    "gid"
                } else {
                    "uid"
                }
            ),
        ),
    })?;
    match request {
        Request::OwnerSid(value) => sid_to_id(value, mapper, Side::Owner),
        Request::GroupSid(value) => sid_to_id(value, mapper, Side::Group),
        Request::OwnerId(id) => id_to_sid(
            UnixId {
                id,
                id_type: IdType::Uid,
            },
            mapper,
        ),
        Request::GroupId(id) => id_to_sid(
            UnixId {
                id,
                id_type: IdType::Gid,
            },
            mapper,
        ),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Owner,
    Group,
}

impl fmt::Display for Side {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Owner => "UID",
            Self::Group => "GID",
        })
    }
}

fn sid_to_id(value: &[u8], mapper: &dyn IdMapper, side: Side) -> Result<Vec<u8>, Failure> {
    let plugin_failure = |error: &PluginError, what: &str| {
        failure(
            exit_byte(error.code),
            Severity::Info,
            format!(
                "Unable to convert {} to {what}: {}",
                Printable(value),
                Printable(error.message.as_bytes())
            ),
        )
    };
    // The describe string is a C string: it cannot hold a NUL byte.
    let text = CString::new(value)
        .map_err(|_| failure(1, Severity::Error, "NUL byte in key description".to_owned()))?;
    let sid = mapper
        .str_to_sid(&text)
        .map_err(|error| plugin_failure(&error, "SID"))?;
    let unix_id = mapper
        .sid_to_id(&sid)
        .map_err(|error| plugin_failure(&error, &side.to_string()))?;
    let acceptable = match side {
        Side::Owner => matches!(unix_id.id_type, IdType::Uid | IdType::Both),
        Side::Group => matches!(unix_id.id_type, IdType::Gid | IdType::Both),
    };
    if !acceptable {
        return Err(failure(
            exit_byte(WRONG_TYPE),
            Severity::Info,
            format!(
                "Unable to convert {} to {side}: the plugin mapped it to {:?} {}",
                Printable(value),
                unix_id.id_type,
                unix_id.id
            ),
        ));
    }
    Ok(unix_id.id.to_ne_bytes().to_vec())
}

fn id_to_sid(id: UnixId, mapper: &dyn IdMapper) -> Result<Vec<u8>, Failure> {
    let what = if id.id_type == IdType::Gid { "gid" } else { "uid" };
    let bytes = mapper.id_to_sid(id).map_err(|error| {
        failure(
            exit_byte(error.code),
            Severity::Info,
            format!(
                "{what} {} to SID error: {}",
                id.id,
                Printable(error.message.as_bytes())
            ),
        )
    })?;
    if bytes.first() == Some(&0) {
        // The plugin reported success but left the SID unset: the reference exits 0 here
        // without instantiating; the kernel then negates the key.
        return Err(failure(
            0,
            Severity::Info,
            format!("{what} {} to SID error: not mapped", id.id),
        ));
    }
    let sid = Sid::from_cifs_sid(&bytes).map_err(|error| {
        failure(
            0xff,
            Severity::Error,
            format!(
                "{what} {} to SID error: the plugin returned a malformed SID ({error})",
                id.id
            ),
        )
    })?;
    Ok(sid.to_cifs_sid().to_vec())
}

fn failure(exit_code: u8, severity: Severity, message: String) -> Failure {
    Failure {
        message,
        severity,
        exit_code,
        disposition: Some(Disposition::Negate {
            timeout_secs: NEGATIVE_TIMEOUT,
        }),
    }
}

/// Checks the plugin file before loading it (our divergence, STYLE §4): the resolved file and its
/// directory must be owned by root and not writable by group or others. Returns the resolved path,
/// which is what gets loaded.
///
/// The file is opened once with `O_PATH` (every symlink followed by the kernel) and checked with
/// `fstat`; its resolved name comes from that descriptor's `/proc/self/fd` link, one `readlink`
/// where `realpath` takes one per path component (11 for Debian's alternatives chain), and the
/// directory is checked by that name. Without `/proc` it falls back to `realpath`.
pub fn check_plugin(path: &Path) -> io::Result<PathBuf> {
    use std::os::fd::AsRawFd as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(kup_sys::plugin::OPEN_PATH_ONLY)
        .open(path)?;
    let resolved = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .or_else(|_| std::fs::canonicalize(path))?;
    require_root_owned(&resolved, &file.metadata()?)?;
    if let Some(parent) = resolved.parent() {
        require_root_owned(parent, &std::fs::metadata(parent)?)?;
    }
    Ok(resolved)
}

fn require_root_owned(item: &Path, metadata: &std::fs::Metadata) -> io::Result<()> {
    if metadata.uid() != 0 || metadata.mode() & 0o022 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} must be owned by root and not writable by group or others",
                item.display()
            ),
        ));
    }
    Ok(())
}

/// `main`: start-up, command line, then [`run`].
pub fn main<I>(argv: I) -> ExitCode
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    if helper::start(&StartOptions::daemon(IDENT).with_deadline(DEADLINE)).is_err() {
        return ExitCode::from(1);
    }
    match parse_command_line(argv) {
        Ok(Command::Help) => {
            let _ = io::stderr().lock().write_all(USAGE.as_bytes());
            ExitCode::SUCCESS
        }
        Ok(Command::Version) => {
            let _ = writeln!(io::stdout().lock(), "version: {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Map { key, timeout }) => run(key, timeout, Path::new(PLUGIN_PATH)),
        Err(error) => {
            let _ = io::stderr().lock().write_all(&error.stderr);
            if let Some(line) = &error.log {
                helper::log(Severity::Error, line);
            }
            ExitCode::from(error.exit_code)
        }
    }
}

/// Answers `key` with the plugin at `plugin_path`, finishing the key on every path.
#[must_use]
pub fn run(key: KeySerial, timeout: u32, plugin_path: &Path) -> ExitCode {
    let guard = KeyGuard::new(
        key,
        Disposition::Negate {
            timeout_secs: NEGATIVE_TIMEOUT,
        },
    );
    let result = execute(&guard, timeout, plugin_path);
    match result {
        Ok(payload) => match guard.instantiate(&payload) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => helper::report(
                Err(failure(0xff, Severity::Error, format!("key inst: {error}"))),
                None,
            ),
        },
        Err(failure) => helper::report(Err(failure), Some(guard)),
    }
}

fn execute(guard: &KeyGuard, timeout: u32, plugin_path: &Path) -> Result<Vec<u8>, Failure> {
    let init_failure = |message: String| {
        failure(
            1,
            Severity::Error,
            format!(
                "Unable to initialize ID mapping plugin: {}",
                Printable(message.as_bytes())
            ),
        )
    };
    let resolved = check_plugin(plugin_path).map_err(|error| init_failure(error.to_string()))?;
    let plugin = IdmapPlugin::load(&resolved).map_err(|error| init_failure(error.message))?;
    guard.set_timeout(timeout).map_err(|error| {
        failure(
            0xff,
            Severity::Error,
            format!("unable to set key timeout: {error}"),
        )
    })?;
    let describe = keyctl::describe_raw(guard.key()).map_err(|error| {
        failure(
            0xff,
            Severity::Error,
            format!("keyctl_describe_alloc failed: {error}"),
        )
    })?;
    answer(&describe, &plugin)
}

#[cfg(test)]
mod tests;
