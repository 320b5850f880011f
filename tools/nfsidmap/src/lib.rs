//! `nfsidmap`: the request-key helper for the kernel's `id_resolver` keys, a drop-in for
//! nfs-utils 2.6.2's `nfsidmap` (Debian 12 nfs-common).
//!
//! Run by `/sbin/request-key` as `nfsidmap -t 600 KEY DESC` (upcall mode) it answers `uid:NAME`,
//! `gid:NAME`, `user:UID`, `group:GID` through `kup-idmap`; run by hand it prints the NFSv4 domain
//! (`-d`), lists (`-l`) or clears (`-c`) the kernel's `.id_resolver` keyring, or invalidates the
//! cached keys of one name (`-u`/`-g`/`-r`).
//!
//! Flow: [`plan`] turns argv, and in upcall mode the key description, into an [`Invocation`]
//! (pure: a malformed description is an [`Error`] value in the plan); [`main`] starts the process
//! and runs the plan in the reference's order (root check, idmapd.conf and the mapping library,
//! then the mode, so a malformed description is reported after the configuration's own
//! messages, as the reference does); [`answer`] decides an upcall's answer through the
//! [`IdMapper`] trait; every failure is an [`Error`] that one `report` alone turns into the
//! key's end (negated for [`NEGATIVE_TIMEOUT`], before any log line), its log line and the exit
//! code. Behaviour, messages and exit codes follow the reference; the recorded divergences (we
//! finish the key ourselves, refuse ambiguous descriptions, never crash on a bad regex config)
//! are in `docs/compat/nfsidmap.md`.

#![forbid(unsafe_code)]
// Prose names protocol terms (NFSv4, idmapd.conf) that are not code items.
#![allow(clippy::doc_markdown)]

use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::io::{self, Write as _};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::Path;
use std::process::ExitCode;

use kup_idmap::conf::Config;
use kup_idmap::description::{self, Description, Query, Refusal};
use kup_idmap::idmap::NAME_BUFFER;
use kup_idmap::system::{SystemAccounts, SystemHost};
use kup_idmap::{Errno, Idmap};
use kup_runtime::cli::{self, Flag, Ordering, Spec};
use kup_runtime::helper::{self, Disposition, KeyGuard, Printable, StartOptions};
use kup_sys::syslog::{self, Severity};
use kup_sys::{Gid, KeySerial, Uid, keyctl};

/// The configuration file the reference reads (compile-time path, no option or variable).
const CONFIG_PATH: &str = "/etc/idmapd.conf";

/// The kernel's cache keyring for `id_resolver` keys.
const KEYRING_NAME: &[u8] = b".id_resolver";

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

/// What one run does, decided from argv (and, in upcall mode, the description) alone.
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
        /// The parsed description, or why it is refused (reported where the reference
        /// reports it: after the configuration is loaded).
        request: Result<Request, Malformed>,
    },
    /// The upcall mode with another number of operands.
    BadArgCount,
}

/// An `id_resolver` key's question, parsed from its description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `uid:NAME`: the uid of an NFSv4 owner string.
    NameToUid {
        /// The owner string.
        name: Vec<u8>,
    },
    /// `gid:NAME`: the gid of an NFSv4 owner_group string.
    NameToGid {
        /// The owner_group string.
        name: Vec<u8>,
    },
    /// `user:UID`: the owner string of a uid.
    UidToName {
        /// The uid (C `atoi` of the value, as the reference reads it).
        uid: Uid,
        /// The value as given (for the verbose log line).
        value: Vec<u8>,
    },
    /// `group:GID`: the owner_group string of a gid.
    GidToName {
        /// The gid (C `atoi` of the value).
        gid: Gid,
        /// The value as given.
        value: Vec<u8>,
    },
    /// Any other type (the reference leaves such keys unanswered and exits 0).
    Unknown {
        /// The type field as given.
        type_field: Vec<u8>,
        /// The value as given.
        value: Vec<u8>,
    },
}

impl Request {
    /// Parses a `type:value` description (the kernel's shape; see `kup_idmap::description`).
    pub fn parse(description: &[u8]) -> Result<Self, Malformed> {
        let parsed = Description::parse(description).map_err(|refusal| match refusal {
            Refusal::NullValue => Malformed::NullValue,
            Refusal::Ambiguous => Malformed::Ambiguous {
                description: description.to_vec(),
            },
        })?;
        let value = parsed.value.to_vec();
        let id = || cli::atoi(parsed.value).cast_unsigned();
        Ok(match parsed.query {
            Some(Query::NameToUid) => Self::NameToUid { name: value },
            Some(Query::NameToGid) => Self::NameToGid { name: value },
            Some(Query::UidToName) => Self::UidToName {
                uid: Uid::new(id()),
                value,
            },
            Some(Query::GidToName) => Self::GidToName {
                gid: Gid::new(id()),
                value,
            },
            None => Self::Unknown {
                type_field: parsed.type_field.to_vec(),
                value,
            },
        })
    }

    /// The type field of the description.
    #[must_use]
    pub fn type_field(&self) -> &[u8] {
        match self {
            Self::NameToUid { .. } => b"uid",
            Self::NameToGid { .. } => b"gid",
            Self::UidToName { .. } => b"user",
            Self::GidToName { .. } => b"group",
            Self::Unknown { type_field, .. } => type_field,
        }
    }

    /// The value of the description, as given.
    #[must_use]
    pub fn value(&self) -> &[u8] {
        match self {
            Self::NameToUid { name } | Self::NameToGid { name } => name,
            Self::UidToName { value, .. } | Self::GidToName { value, .. } | Self::Unknown { value, .. } => {
                value
            }
        }
    }
}

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The base name of `argv[0]` (syslog ident and usage text).
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
const ARGV_SPEC: Spec<'static, OptionId> = Spec::getopt(FLAGS).with_ordering(Ordering::RequireOrder);

/// Turns argv into an [`Invocation`] as the reference's option loop and mode order do, with
/// `ARGV_SPEC`'s one difference: nothing after the key operand is an option. In upcall mode
/// the description is parsed here too.
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
        let kinds = |uid, gid| Some((value.to_vec(), KeyKinds { uid, gid }));
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
            OptionId::User => invalidate = kinds(true, false),
            OptionId::Group => invalidate = kinds(false, true),
            OptionId::Both => invalidate = kinds(true, true),
        }
    }
    if let Some(error) = &parsed.error {
        invocation.mode = Mode::Usage {
            getopt_error: Some(error.stderr_bytes(&parsed.prog)),
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
            request: Request::parse(description.as_bytes()),
        }
    } else {
        Mode::BadArgCount
    };
    invocation
}

/// The reference's usage line for `program`.
#[must_use]
pub fn usage(program: &[u8]) -> String {
    format!(
        "Usage: {} [-vh] [-c || [-u|-g|-r key] || -d || -l || [-t timeout] key desc]",
        String::from_utf8_lossy(program)
    )
}

/// A description the reference would read by guessing, or not at all (family `Malformed`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// No value (`uid:`, `nocolon`): the reference's "Null uid/gid value".
    NullValue,
    /// An empty field or a second `:` (decisions.md #4: refused).
    Ambiguous {
        /// The description as given (shown only through [`Printable`]).
        description: Vec<u8>,
    },
}

/// Everything that ends a run unsuccessfully, or without an answer. Families (STYLE §5):
/// `Malformed` input, `Refused` requests (the run or the request is not acceptable), `Failed`
/// effects (a library or kernel call did not succeed). The one `report` maps each to its log
/// line, the key's end and the exit code.
#[derive(Debug)]
pub enum Error {
    /// Malformed: the command line (getopt's message, then the usage line; exit 1).
    BadOption {
        /// glibc getopt's message, for stderr.
        getopt_message: Vec<u8>,
        /// The usage line, logged.
        usage: String,
    },
    /// Malformed: the key description.
    Malformed(Malformed),
    /// Refused: not run as root.
    NotRoot,
    /// Refused: upcall mode without exactly two operands.
    BadArgCount {
        /// The usage line logged after the message.
        usage: String,
    },
    /// Refused: a description type the reference does not answer (exit 0, key left unanswered;
    /// ours negates it).
    UnknownType {
        /// The type field as given.
        type_field: Vec<u8>,
    },
    /// Refused: `-l` without a `.id_resolver` keyring.
    KeyringNotFound,
    /// Refused: `-u`/`-g`/`-r` found no key of that name.
    KeyNotFound {
        /// The name as given.
        name: Vec<u8>,
    },
    /// Failed: the mapping library could not be set up.
    MappingSetup,
    /// Failed: `-d` could not decide the domain.
    Domain(Errno),
    /// Failed: an upcall for a name could not decide the domain.
    UpcallDomain(Errno),
    /// Failed: no name for this id.
    NameLookup {
        /// `user:` or `group:`.
        kind: IdKind,
        /// The id asked for.
        id: u32,
        /// The library's error.
        errno: Errno,
    },
    /// Failed: instantiating a name key.
    InstantiateName(io::Error),
    /// Failed: instantiating an id key (the reference logs nothing).
    InstantiateId(io::Error),
    /// Failed: instantiating an id key again after clearing the keyring.
    InstantiateIdRetry(io::Error),
    /// Failed: `KEYCTL_CLEAR` on the keyring.
    ClearKeyring {
        /// The keyring.
        keyring: KeySerial,
        /// The kernel's error.
        error: io::Error,
    },
    /// Failed: reading the keyring's members.
    ReadKeyring(io::Error),
    /// Failed: describing a member of the keyring.
    DescribeKey(io::Error),
    /// Failed: `/proc/keys` could not be read.
    ProcKeys,
    /// Failed: `KEYCTL_INVALIDATE` (other than "not supported").
    Invalidate {
        /// The key.
        key: KeySerial,
        /// The kernel's error.
        error: io::Error,
    },
    /// Failed: `KEYCTL_REVOKE` (where invalidation is not supported).
    Revoke {
        /// The key.
        key: KeySerial,
        /// The kernel's error.
        error: io::Error,
    },
}

/// Which id a name lookup started from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdKind {
    /// A uid (`user:`).
    User,
    /// A gid (`group:`).
    Group,
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keyring = String::from_utf8_lossy(KEYRING_NAME);
        match self {
            Self::Malformed(Malformed::NullValue) => formatter.write_str("Error: Null uid/gid value."),
            Self::Malformed(Malformed::Ambiguous { description }) => write!(
                formatter,
                "Error: ambiguous description '{}' (empty field or second ':'), refused",
                Printable(description)
            ),
            Self::BadOption { getopt_message, .. } => {
                write!(formatter, "{}", Printable(getopt_message.trim_ascii_end()))
            }
            Self::NotRoot => formatter.write_str("Must be run as root."),
            Self::BadArgCount { .. } => formatter.write_str("Bad arg count. Check /etc/request-key.conf"),
            Self::UnknownType { type_field } => write!(
                formatter,
                "unknown id_resolver description type '{}'",
                Printable(type_field)
            ),
            Self::KeyringNotFound => write!(formatter, "'{keyring}' keyring was not found."),
            Self::KeyNotFound { name } => {
                write!(
                    formatter,
                    "'{}' key was not found.",
                    String::from_utf8_lossy(name)
                )
            }
            Self::MappingSetup => formatter.write_str("Unable to create name to user id mappings."),
            Self::Domain(errno) => write!(formatter, "nfs4_get_default_domain failed: {errno}"),
            Self::UpcallDomain(errno) => {
                write!(formatter, "name_lookup: nfs4_get_default_domain failed: {errno}")
            }
            Self::NameLookup { kind, id, errno } => {
                let function = match kind {
                    IdKind::User => "nfs4_uid_to_name",
                    IdKind::Group => "nfs4_gid_to_name",
                };
                write!(formatter, "name_lookup: {function}: for {id} failed: {errno}")
            }
            Self::InstantiateName(error) => {
                write!(formatter, "name_lookup: keyctl_instantiate failed: {}", Os(error))
            }
            Self::InstantiateId(error) => write!(formatter, "keyctl_instantiate failed: {}", Os(error)),
            Self::InstantiateIdRetry(error) => {
                write!(formatter, "id_lookup: keyctl_instantiate failed: {}", Os(error))
            }
            Self::ClearKeyring { keyring, error } => {
                write!(
                    formatter,
                    "keyctl_clear(0x{:x}) failed: {}",
                    keyring.get(),
                    Os(error)
                )
            }
            Self::ReadKeyring(error) => write!(formatter, "Failed to read keyring {keyring}: {}", Os(error)),
            Self::DescribeKey(error) => write!(formatter, "Failed to describe key: {}", Os(error)),
            Self::ProcKeys => formatter.write_str("fopen(/proc/keys) failed"),
            Self::Invalidate { key, error } => {
                write!(
                    formatter,
                    "keyctl_invalidate(0x{:x}) failed: {}",
                    key.get(),
                    Os(error)
                )
            }
            Self::Revoke { key, error } => {
                write!(
                    formatter,
                    "keyctl_revoke(0x{:x}) failed: {}",
                    key.get(),
                    Os(error)
                )
            }
        }
    }
}

/// The mapping library as the upcall and `-d` use it: `kup_idmap::Idmap`, or a fake in unit
/// tests.
pub trait IdMapper {
    /// `nfs4_get_default_domain`.
    fn default_domain(&self) -> Result<&[u8], Errno>;
    /// `nfs4_owner_to_uid` (never fails: unmapped names get nobody).
    fn owner_to_uid(&self, name: &[u8]) -> Uid;
    /// `nfs4_group_owner_to_gid`.
    fn group_owner_to_gid(&self, name: &[u8]) -> Gid;
    /// `nfs4_uid_to_name`.
    fn uid_to_name(&self, uid: Uid) -> Result<Vec<u8>, Errno>;
    /// `nfs4_gid_to_name`.
    fn gid_to_name(&self, gid: Gid) -> Result<Vec<u8>, Errno>;
}

impl IdMapper for Idmap<SystemAccounts> {
    fn default_domain(&self) -> Result<&[u8], Errno> {
        Idmap::default_domain(self)
    }

    fn owner_to_uid(&self, name: &[u8]) -> Uid {
        Idmap::owner_to_uid(self, name)
    }

    fn group_owner_to_gid(&self, name: &[u8]) -> Gid {
        Idmap::group_owner_to_gid(self, name)
    }

    fn uid_to_name(&self, uid: Uid) -> Result<Vec<u8>, Errno> {
        Idmap::uid_to_name(self, uid, NAME_BUFFER)
    }

    fn gid_to_name(&self, gid: Gid) -> Result<Vec<u8>, Errno> {
        Idmap::gid_to_name(self, gid, NAME_BUFFER)
    }
}

/// An upcall's answer, before it is written to the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A uid or gid (`uid:`/`gid:` keys): the payload is the decimal id and a NUL.
    Id(u32),
    /// An owner string (`user:`/`group:` keys), the payload as is.
    Name(Vec<u8>),
}

/// Decides an upcall's answer: the pure core of the upcall mode.
pub fn answer(request: &Request, mapper: &dyn IdMapper) -> Result<Answer, Error> {
    match request {
        Request::NameToUid { name } => Ok(Answer::Id(mapper.owner_to_uid(name).get())),
        Request::NameToGid { name } => Ok(Answer::Id(mapper.group_owner_to_gid(name).get())),
        Request::UidToName { uid, .. } => {
            mapper.default_domain().map_err(Error::UpcallDomain)?;
            mapper
                .uid_to_name(*uid)
                .map(Answer::Name)
                .map_err(|errno| Error::NameLookup {
                    kind: IdKind::User,
                    id: uid.get(),
                    errno,
                })
        }
        Request::GidToName { gid, .. } => {
            mapper.default_domain().map_err(Error::UpcallDomain)?;
            mapper
                .gid_to_name(*gid)
                .map(Answer::Name)
                .map_err(|errno| Error::NameLookup {
                    kind: IdKind::Group,
                    id: gid.get(),
                    errno,
                })
        }
        Request::Unknown { type_field, .. } => Err(Error::UnknownType {
            type_field: type_field.clone(),
        }),
    }
}

/// The process entry point: start-up hygiene, the plan, then its effects.
pub fn main<I>(argv: I) -> ExitCode
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let argv: Vec<OsString> = argv.into_iter().map(Into::into).collect();
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
    // The reference's xlog writes to stderr and syslog until a mode says otherwise.
    helper::log_to_stderr(true);
    let console = Console {
        program: invocation.program.clone(),
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
    match execute(&invocation, environment, &console, &mut guard) {
        Ok(()) => {
            drop(guard);
            ExitCode::SUCCESS
        }
        Err(error) => report(&error, guard, &invocation.mode, &console),
    }
}

/// Ends a failed run: finishes the key (negated for [`NEGATIVE_TIMEOUT`], before anything is
/// logged: syslog can block), writes the error's line(s) where the reference writes them in
/// that mode, and returns the exit code (table in `docs/compat/nfsidmap.md`).
///
/// Not `kup_runtime::helper::report`: the reference sends its lines to different places per
/// mode and error (stderr alone for `-c` and `-u`/`-g`/`-r`, syslog alone for an unknown type,
/// nothing for a refused first instantiation), and logs nothing when the key cannot be finished
/// (a bad serial), all of which the runtime's `report` (one `log` line, plus a line when the
/// key cannot be finished) would change.
fn report(error: &Error, guard: Option<KeyGuard>, mode: &Mode, console: &Console) -> ExitCode {
    if let Some(guard) = guard {
        // The reference logs nothing when the kernel refuses to finish the key (a bad serial).
        let _ = guard.fail();
    }
    if let Error::BadOption { getopt_message, .. } = error {
        Console::stderr(getopt_message);
    }
    let sink = error.sink(mode);
    for (severity, line) in error.lines() {
        match sink {
            Sink::Log => helper::log(severity, &line),
            Sink::Syslog => {
                helper::syslog_line(severity, &line);
            }
            Sink::Stderr => console.note(&line),
        }
    }
    ExitCode::from(error.exit_code())
}

/// Where the reference writes an error's lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sink {
    /// The runtime logger: syslog, with a copy on stderr while the mode keeps stderr on.
    Log,
    /// Syslog alone.
    Syslog,
    /// Stderr alone, as `program: line`.
    Stderr,
}

impl Error {
    /// The exit code of the reference for this error.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            // The reference exits 0 and leaves the key unanswered.
            Self::UnknownType { .. } => 0,
            _ => 1,
        }
    }

    /// The lines the reference writes for this error, in order (getopt's own message, written
    /// before them, aside).
    fn lines(&self) -> Vec<(Severity, String)> {
        match self {
            Self::BadOption { usage, .. } => vec![(Severity::Warning, usage.clone())],
            Self::BadArgCount { usage } => vec![
                (Severity::Warning, self.to_string()),
                (Severity::Warning, usage.clone()),
            ],
            // The reference exits without a line.
            Self::InstantiateId(_) => Vec::new(),
            _ => vec![(Severity::Error, self.to_string())],
        }
    }

    /// Where the lines go in `mode`.
    fn sink(&self, mode: &Mode) -> Sink {
        match self {
            // Ours only (the reference is silent there): syslog, even when verbose.
            Self::UnknownType { .. } => Sink::Syslog,
            // Raised before the mode chose its outputs.
            Self::BadOption { .. } | Self::NotRoot | Self::MappingSetup => Sink::Log,
            _ if matches!(mode, Mode::Invalidate { .. } | Mode::Clear) => Sink::Stderr,
            _ => Sink::Log,
        }
    }
}

/// What the reference prints as output rather than as log: `-d`/`-l` on stdout, the usage and
/// getopt messages, the config parser's messages and the `-c`/`-u`/`-g`/`-r` notes on stderr.
struct Console {
    program: Vec<u8>,
}

impl Console {
    fn stdout(bytes: &[u8]) {
        let _ = io::stdout().lock().write_all(bytes);
    }

    fn flush_stdout() {
        let _ = io::stdout().lock().flush();
    }

    fn stderr(bytes: &[u8]) {
        let _ = io::stderr().lock().write_all(bytes);
    }

    /// A line as the reference's xlog writes it to stderr alone: `program: message`.
    fn note(&self, message: &str) {
        let mut line = self.program.clone();
        line.extend_from_slice(b": ");
        line.extend_from_slice(message.as_bytes());
        line.push(b'\n');
        Self::stderr(&line);
    }
}

/// Runs the plan in the reference's order. `environment` is the caller's original environment
/// (for `$NAME` in idmapd.conf).
fn execute(
    invocation: &Invocation,
    environment: Vec<(Vec<u8>, Vec<u8>)>,
    console: &Console,
    guard: &mut Option<KeyGuard>,
) -> Result<(), Error> {
    if let Mode::Usage { getopt_error } = &invocation.mode {
        let usage = usage(&invocation.program);
        if let Some(message) = getopt_error {
            return Err(Error::BadOption {
                getopt_message: message.clone(),
                usage,
            });
        }
        helper::log(Severity::Warning, &usage);
        return Ok(());
    }
    if kup_sys::process::user_ids().map_or(true, |ids| ids.effective != Uid::ROOT) {
        return Err(Error::NotRoot);
    }
    let config = Config::load(Path::new(CONFIG_PATH)).with_environment(environment);
    for warning in config.warnings() {
        // The config parser's own messages: stderr with an empty program name, and syslog.
        Console::stderr(format!(": {warning}\n").as_bytes());
        helper::syslog_line(Severity::Warning, warning);
    }
    let library_log: kup_idmap::idmap::Logger = Box::new(|line| {
        helper::syslog_line(Severity::Warning, line);
    });
    let mut idmap =
        Idmap::new(config, SystemAccounts, &SystemHost, 0, library_log).map_err(|_| Error::MappingSetup)?;
    let verbose = invocation.verbosity > 0;
    match &invocation.mode {
        Mode::Domain => {
            let domain = idmap.default_domain().map_err(Error::Domain)?;
            let mut line = domain.to_vec();
            line.push(b'\n');
            Console::stdout(&line);
            Ok(())
        }
        Mode::List => list_keyring(),
        Mode::Invalidate { name, kinds } => invalidate(name, *kinds, verbose, console),
        Mode::Clear => clear_keyring(verbose, console),
        Mode::BadArgCount => {
            helper::log_to_stderr(verbose);
            Err(Error::BadArgCount {
                usage: usage(&invocation.program),
            })
        }
        Mode::Upcall { key, request } => {
            helper::log_to_stderr(verbose);
            if verbose {
                idmap.set_verbosity(invocation.verbosity);
            }
            let request = request
                .as_ref()
                .map_err(|malformed| Error::Malformed(malformed.clone()))?;
            upcall(&idmap, guard, *key, request, invocation)
        }
        Mode::Usage { .. } => Ok(()),
    }
}

fn upcall(
    mapper: &dyn IdMapper,
    guard: &mut Option<KeyGuard>,
    key: KeySerial,
    request: &Request,
    invocation: &Invocation,
) -> Result<(), Error> {
    if invocation.verbosity > 0 {
        helper::log(
            Severity::Warning,
            &format!(
                "key: 0x{:x} type: {} value: {} timeout {}",
                key.get(),
                Printable(request.type_field()),
                Printable(request.value()),
                invocation.timeout
            ),
        );
    }
    // Become a possessor of the key being built (through the kernel's .id_resolver keyring) so
    // that the timeout can still be set after instantiation, as the reference does.
    let _ = keyctl::request_key("keyring", KEYRING_NAME, None, KeySerial::THREAD_KEYRING);
    // On an error the guard stays with the caller's `report`, which finishes the key.
    let answer = answer(request, mapper)?;
    #[expect(
        clippy::expect_used,
        reason = "`main` guards the key of every upcall-mode run before calling `execute`"
    )]
    let guard = guard.take().expect("upcall keys are guarded");
    match answer {
        Answer::Id(id) => instantiate_id(guard, &description::id_payload(id))?,
        Answer::Name(name) => guard.instantiate(&name).map_err(Error::InstantiateName)?,
    }
    // Same order as the reference: the timeout after instantiation (its failure is ignored).
    let _ = keyctl::set_timeout(key, invocation.timeout.cast_unsigned());
    Ok(())
}

/// An OS error as C's `%m` prints it: the `strerror` text alone.
struct Os<'a>(&'a io::Error);

impl fmt::Display for Os<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        let plain = text.find(" (os error ").map_or(text.as_str(), |cut| &text[..cut]);
        formatter.write_str(plain)
    }
}

/// Instantiates a `uid:`/`gid:` key; a full quota (`EDQUOT`, `ENFILE`, `ENOMEM`) clears
/// `.id_resolver` and retries once, as the reference does. On failure the key is negated
/// (the guard's disposition) before the error is returned.
fn instantiate_id(mut guard: KeyGuard, payload: &[u8]) -> Result<(), Error> {
    guard.set_failure(Disposition::LeaveToKernel);
    let first = keyctl::instantiate(guard.key(), payload, KeySerial::NONE);
    guard.set_failure(Disposition::Negate {
        timeout_secs: NEGATIVE_TIMEOUT,
    });
    let error = match first {
        Ok(()) => {
            // Instantiated: nothing left for the guard to finish.
            guard.set_failure(Disposition::LeaveToKernel);
            return Ok(());
        }
        Err(error) => error,
    };
    if !matches!(
        error.raw_os_error(),
        Some(kup_sys::errno::EDQUOT | kup_sys::errno::ENFILE | kup_sys::errno::ENOMEM)
    ) {
        let _ = guard.fail();
        return Err(Error::InstantiateId(error));
    }
    // As the reference's keyring_clear: a missing keyring is not an error, the retry still
    // happens.
    if let Some(keyring) = find_keyring()
        && let Err(error) = keyctl::clear(keyring)
    {
        let _ = guard.fail();
        return Err(Error::ClearKeyring { keyring, error });
    }
    guard.instantiate(payload).map_err(Error::InstantiateIdRetry)
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

/// `-l`: the keyring's members on stdout.
fn list_keyring() -> Result<(), Error> {
    let keyring = find_keyring().ok_or(Error::KeyringNotFound)?;
    let members = keyctl::keyring_members(keyring).map_err(Error::ReadKeyring)?;
    let name = String::from_utf8_lossy(KEYRING_NAME);
    Console::stdout(
        match members.len() {
            0 => format!("No {name} keys found.\n"),
            1 => format!("1 {name} key found:\n"),
            count => format!("{count} {name} keys found:\n"),
        }
        .as_bytes(),
    );
    for member in members {
        match keyctl::describe_raw(member) {
            Ok(described) => {
                let mut line = b"  ".to_vec();
                line.extend_from_slice(after_last_semicolon(&described));
                line.push(b'\n');
                Console::stdout(&line);
            }
            Err(error) if error.raw_os_error() == Some(kup_sys::errno::EKEYEXPIRED) => {
                Console::stdout(b"Expired key not displayed\n");
            }
            Err(error) => {
                Console::flush_stdout();
                return Err(Error::DescribeKey(error));
            }
        }
    }
    Ok(())
}

/// `-c`: clears the keyring (a missing keyring is no error).
fn clear_keyring(verbose: bool, console: &Console) -> Result<(), Error> {
    let Some(keyring) = find_keyring() else {
        if verbose {
            console.note(&Error::KeyringNotFound.to_string());
        }
        return Ok(());
    };
    keyctl::clear(keyring).map_err(|error| Error::ClearKeyring { keyring, error })?;
    if verbose {
        console.note(&format!("'{}' cleared", String::from_utf8_lossy(KEYRING_NAME)));
    }
    Ok(())
}

/// The reference reads `/proc/keys` with `fgets` into an 8192-byte buffer.
const PROC_KEYS_LINE: usize = 8191;

/// `-u`/`-g`/`-r`: invalidates (or, where unsupported, revokes) the first cached key of each
/// wanted kind whose name starts with `name`.
fn invalidate(name: &[u8], kinds: KeyKinds, verbose: bool, console: &Console) -> Result<(), Error> {
    let text = std::fs::read("/proc/keys").map_err(|_| Error::ProcKeys)?;
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
            console.note(&format!("invalidating '{}'", Printable(shown)));
        }
        let serial_text = line.split(|&byte| byte == b' ').next().unwrap_or_default();
        let serial = u32::from_str_radix(&String::from_utf8_lossy(serial_text), 16).unwrap_or(0);
        let key = KeySerial::new(serial.cast_signed());
        if let Err(error) = keyctl::invalidate(key) {
            if error.raw_os_error() != Some(kup_sys::errno::EOPNOTSUPP) {
                return Err(Error::Invalidate { key, error });
            }
            keyctl::revoke(key).map_err(|error| Error::Revoke { key, error })?;
        }
        if kind_is_uid {
            pending.uid = false;
        } else {
            pending.gid = false;
        }
        if !pending.uid && !pending.gid {
            return Ok(());
        }
    }
    Err(Error::KeyNotFound { name: name.to_vec() })
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
