//! The typed configuration: `[gssproxy]` ([`Global`]) and each `[service/NAME]` ([`Service`]),
//! with gssproxy 0.9.1's defaults, value syntax and rules for what is fatal and what is ignored.
//!
//! Owns: option names (looked up ignoring case, first value wins, `cred_store` takes all),
//! booleans, libini's lenient integers, flag lists, `mechs`, per-service validation, and, once
//! the caller resolved `euid` user names ([`Config::resolve`]), the cross-service checks. Does
//! no I/O and no user lookups (the caller passes a lookup function).
//!
//! Reproduced (tests below): a service section is one whose name starts with lower-case
//! `service/` (`[SERVICE/x]` is silently not a service); unknown keys and sections are ignored;
//! booleans are true for `1`, `on`, `true`, `yes` in any case, false for anything else;
//! integers are C `strtoll` base 10 with trailing text ignored (`12abc` is 12, `0x21` is 0), no
//! digits or outside `int` is an error; `euid` is such an integer (negative wraps: `-1` is
//! 4294967295) or else a user name; the order in which options are checked (a missing `euid`
//! is fatal even in a service later dropped for its `mechs`; a service dropped for its `mechs`
//! is not checked further); every fatal option error of the reference is fatal here.
//!
//! Divergences (docs/compat/gssproxy.md):
//! - `mechs` is a list: the service is enabled when one token is `krb5`, other tokens are noted
//!   and ignored (the reference compares the whole value with `krb5`, so `krb5, foo` drops the
//!   service).
//! - Flag lists are read to the end (the reference drops the rest of the list after a number or
//!   an unknown name) and `INTEGRITY` is recognised as documented (`INTEGRITIY`, the
//!   reference's spelling, too).

use std::path::{Path, PathBuf};

use kup_text::number::{Radix, strtol, strtoul};

use crate::error::{Error, ErrorKind, Note, NoteKind};
use crate::files::{Located, Merged};
use crate::{MAX_SERVICES, ini::Section};

/// The compiled-in default socket (`-s` changes the daemon's, not this one: the reference's
/// cross-service check compares against this constant).
pub const DEFAULT_SOCKET: &str = "/var/lib/gssproxy/default.sock";

/// `worker threads` when unset or not positive.
pub const DEFAULT_WORKER_THREADS: u32 = 5;

/// `min_lifetime` when unset or unusable.
pub const DEFAULT_MIN_LIFETIME: u32 = 15;

/// A whole configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `[gssproxy]` (defaults when absent).
    pub global: Global,
    /// The usable services, in matching order.
    pub services: Vec<Service>,
    /// The services dropped because their `mechs` names no `krb5`. The reference reads `euid`
    /// before `mechs`, so their user names must still resolve ([`Config::resolve`]).
    pub dropped: Vec<Dropped>,
}

/// A `[service/NAME]` dropped for its `mechs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// NAME.
    pub name: String,
    /// The file it came from.
    pub file: PathBuf,
    /// The line of its header.
    pub line: u32,
    /// Its `euid`.
    pub euid: Euid,
}

/// The `[gssproxy]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    /// The effective debug level: `debug_level` when present (even 0), else 1 when `debug` is
    /// true, else 0. The config's value replaces the command line's at every load.
    pub debug_level: i32,
    /// `syslog_status` when present (it then overrides `--syslog-status`).
    pub syslog_status: Option<bool>,
    /// `run_as_user`: drop privileges to this user once the sockets exist.
    pub run_as_user: Option<String>,
    /// `worker threads`: [`DEFAULT_WORKER_THREADS`] when unset or not positive.
    pub worker_threads: u32,
}

impl Default for Global {
    fn default() -> Self {
        Self {
            debug_level: 0,
            syslog_status: None,
            run_as_user: None,
            worker_threads: DEFAULT_WORKER_THREADS,
        }
    }
}

/// The `euid` of a service: a number, or a user name the caller must resolve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Euid {
    /// A numeric uid (the value as the C `int` read it, wrapped to `uid_t`).
    Id(u32),
    /// A user name (`getpwnam` in the reference; unknown is fatal).
    Name(String),
}

/// Which credentials a service may acquire (`cred_usage`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredUsage {
    /// Initiator and acceptor (the default).
    Both,
    /// Initiator only.
    Initiate,
    /// Acceptor only.
    Accept,
}

/// A mechanism a service enables (`mechs`): only Kerberos exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mech {
    /// `krb5`.
    Krb5,
}

/// A set of GSS request flags (`GSS_C_*_FLAG` bits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GssFlags(pub u32);

impl GssFlags {
    /// `GSS_C_DELEG_FLAG`.
    pub const DELEGATE: Self = Self(0x1);
    /// `GSS_C_MUTUAL_FLAG`.
    pub const MUTUAL_AUTH: Self = Self(0x2);
    /// `GSS_C_REPLAY_FLAG`.
    pub const REPLAY_DETECT: Self = Self(0x4);
    /// `GSS_C_SEQUENCE_FLAG`.
    pub const SEQUENCE: Self = Self(0x8);
    /// `GSS_C_CONF_FLAG`.
    pub const CONFIDENTIALITY: Self = Self(0x10);
    /// `GSS_C_INTEG_FLAG`.
    pub const INTEGRITY: Self = Self(0x20);
    /// `GSS_C_ANON_FLAG`.
    pub const ANONYMOUS: Self = Self(0x40);

    /// The flags of an `init_sec_context` request after a service's policy:
    /// `(requested | enforce) & !filter` (the filter wins).
    #[must_use]
    pub fn apply(requested: u32, enforce: Self, filter: Self) -> u32 {
        (requested | enforce.0) & !filter.0
    }
}

/// One `cred_store = key:value` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredStoreEntry {
    /// Text before the first `:` (not validated, as the reference).
    pub key: String,
    /// Text after it (`%U`/`%u` are expanded per request by the daemon).
    pub value: String,
}

/// Why a `cred_store` value could not be expanded for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpandError {
    /// `%` followed by something other than `U`, `u` or `%` (or by nothing).
    InvalidCode(Option<char>),
    /// `%u` and the target uid has no user name.
    UnknownUid(u32),
}

impl CredStoreEntry {
    /// The value for one request, as gssproxy expands it per request: `%U` becomes the target
    /// uid as C `%d` prints it (so above 2^31 it is negative), `%u` the uid's user name
    /// (`user_name`, the caller's `getpwuid`, called at most once), `%%` a single `%`.
    ///
    /// Divergence (docs/compat/gssproxy.md): the reference's `%%` handling moves the wrong
    /// number of bytes and mangles the value; here it is the `%` its code means.
    ///
    /// # Errors
    /// Any other `%` code fails the request, as in the reference; so does `%u` for a uid
    /// without a name.
    pub fn expand(
        &self,
        uid: u32,
        user_name: impl FnOnce(u32) -> Option<String>,
    ) -> Result<String, ExpandError> {
        let mut user_name = Some(user_name);
        let mut name: Option<String> = None;
        let mut out = String::with_capacity(self.value.len());
        let mut chars = self.value.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                #[allow(clippy::cast_possible_wrap)] // C's %d of a uid_t: deliberately signed
                Some('U') => out.push_str(&(uid as i32).to_string()),
                Some('u') => {
                    if name.is_none() {
                        name = user_name.take().and_then(|lookup| lookup(uid));
                    }
                    out.push_str(name.as_deref().ok_or(ExpandError::UnknownUid(uid))?);
                }
                other => return Err(ExpandError::InvalidCode(other)),
            }
        }
        Ok(out)
    }
}

/// An `SELinux` context `user:role:type[:range]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelinuxContext {
    /// The user.
    pub user: String,
    /// The role.
    pub role: String,
    /// The type.
    pub kind: String,
    /// The MLS range, if any (may hold `:`).
    pub range: Option<String>,
}

impl SelinuxContext {
    /// Parses `user:role:type[:range]` as libselinux's `context_new` does: at least three
    /// fields, empty ones allowed (checked: `::c` is accepted, `a:b` refused).
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(4, ':');
        let user = parts.next()?;
        let role = parts.next()?;
        let kind = parts.next()?;
        Some(Self {
            user: user.to_owned(),
            role: role.to_owned(),
            kind: kind.to_owned(),
            range: parts.next().map(str::to_owned),
        })
    }

    /// gssproxy's comparison: user, role and type equal, and the ranges too when both have one.
    #[must_use]
    pub fn matches(&self, other: &Self) -> bool {
        self.user == other.user
            && self.role == other.role
            && self.kind == other.kind
            && match (&self.range, &other.range) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// One usable `[service/NAME]`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // the reference's boolean options, one field each
pub struct Service {
    /// NAME: everything after `service/`, case kept.
    pub name: String,
    /// The file the section came from.
    pub file: PathBuf,
    /// The line of its header.
    pub line: u32,
    /// `euid` (required): the peer uid served.
    pub euid: Euid,
    /// `mechs` (required): the enabled mechanisms, never empty.
    pub mechs: Vec<Mech>,
    /// `socket`: the service's own listening socket; `None` = the daemon's default socket.
    pub socket: Option<PathBuf>,
    /// `cred_store`: every entry, in order.
    pub cred_store: Vec<CredStoreEntry>,
    /// `cred_usage` (default both).
    pub cred_usage: CredUsage,
    /// `krb5_principal`: default name for the service's own credentials.
    pub krb5_principal: Option<String>,
    /// `kernel_nfsd`: write `1` to `/proc/net/rpc/use-gss-proxy`.
    pub kernel_nfsd: bool,
    /// `trusted`.
    pub trusted: bool,
    /// `impersonate`.
    pub impersonate: bool,
    /// `allow_any_uid`: match any peer uid.
    pub allow_any_uid: bool,
    /// `allow_protocol_transition`.
    pub allow_protocol_transition: bool,
    /// `allow_constrained_delegation`.
    pub allow_constrained_delegation: bool,
    /// `allow_client_ccache_sync`.
    pub allow_client_ccache_sync: bool,
    /// `filter_flags` (default DELEGATE).
    pub filter_flags: GssFlags,
    /// `enforce_flags` (default none).
    pub enforce_flags: GssFlags,
    /// `min_lifetime` in seconds (default 15).
    pub min_lifetime: u32,
    /// `program`: an absolute path the peer's executable must equal.
    pub program: Option<PathBuf>,
    /// `selinux_context` (deprecated).
    pub selinux_context: Option<SelinuxContext>,
}

impl Service {
    /// The socket path this service listens on: its own, or `default_socket` (the daemon's
    /// `-s` value or [`DEFAULT_SOCKET`]).
    #[must_use]
    pub fn socket_or<'a>(&'a self, default_socket: &'a Path) -> &'a Path {
        self.socket.as_deref().unwrap_or(default_socket)
    }
}

/// A configuration and the notes of its load (what was skipped, dropped or ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// The notes, in order (the merge's first).
    pub notes: Vec<Note>,
}

impl Service {
    /// The one service of user-proxy mode (`-u`), where no file is read: serves `uid` (the
    /// daemon's euid) on `socket`, krb5, client ccache sync allowed, usage both, default flags
    /// and lifetime, no `cred_store`.
    #[must_use]
    pub fn user_proxy(uid: u32, socket: PathBuf) -> Self {
        Self {
            name: "user-proxy".to_owned(),
            file: PathBuf::new(),
            line: 0,
            euid: Euid::Id(uid),
            mechs: vec![Mech::Krb5],
            socket: Some(socket),
            cred_store: Vec::new(),
            cred_usage: CredUsage::Both,
            krb5_principal: None,
            kernel_nfsd: false,
            trusted: false,
            impersonate: false,
            allow_any_uid: false,
            allow_protocol_transition: false,
            allow_constrained_delegation: false,
            allow_client_ccache_sync: true,
            filter_flags: GssFlags::DELEGATE,
            enforce_flags: GssFlags::default(),
            min_lifetime: DEFAULT_MIN_LIFETIME,
            program: None,
            selinux_context: None,
        }
    }
}

/// The worker threads of user-proxy mode.
pub const USER_PROXY_WORKER_THREADS: u32 = 2;

/// Reads the typed configuration from merged files.
///
/// # Errors
/// Every option error the reference treats as fatal (file and line of the offending entry, or
/// of the section), and no service left.
pub fn parse(merged: &Merged) -> Result<Loaded, Error> {
    let mut notes = merged.notes.clone();
    let global = match merged.section("gssproxy") {
        Some(located) => global(located)?,
        None => Global::default(),
    };
    let mut services = Vec::new();
    let mut dropped = Vec::new();
    for located in &merged.sections {
        if let Some(service) = service(located, &mut notes, &mut dropped)? {
            if services.len() >= MAX_SERVICES {
                return Err(Error {
                    file: located.file.clone(),
                    line: located.section.line,
                    kind: ErrorKind::TooManyServices,
                });
            }
            services.push(service);
        }
    }
    if services.is_empty() {
        return Err(Error {
            file: merged.main.clone(),
            line: 0,
            kind: ErrorKind::NoServices,
        });
    }
    Ok(Loaded {
        config: Config {
            global,
            services,
            dropped,
        },
        notes,
    })
}

/// gssproxy's boolean: `1`, `on`, `true`, `yes` in any case; anything else is false.
#[must_use]
pub fn boolean(value: &str) -> bool {
    ["1", "on", "true", "yes"]
        .iter()
        .any(|t| value.eq_ignore_ascii_case(t))
}

/// Why libini's integer reading failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegerError {
    /// No leading digits (libini's `EIO`).
    NoDigits,
    /// Outside the C `int` range (libini's `ERANGE`).
    OutOfRange,
}

/// libini's non-strict integer: C `strtoll(value, 10)` (leading blanks, a sign, digits, anything
/// after ignored), within the C `int` range. Also returns whether text followed the digits.
pub fn integer(value: &str) -> Result<(i32, bool), IntegerError> {
    let number = strtol(value.as_bytes(), Radix::DECIMAL);
    if number.end == 0 {
        return Err(IntegerError::NoDigits);
    }
    if number.overflow {
        return Err(IntegerError::OutOfRange);
    }
    let value_i32 = i32::try_from(number.value).map_err(|_| IntegerError::OutOfRange)?;
    Ok((value_i32, !number.consumed_all(value.as_bytes())))
}

/// Applies a flag list to `flags`: tokens separated by spaces and commas, each `+NAME`/`-NAME`
/// or `+NUMBER`/`-NUMBER` (C syntax, non-zero, 32-bit), in order. Returns the ignored tokens.
#[must_use]
pub fn apply_flag_list(value: &str, flags: &mut GssFlags) -> Vec<String> {
    let mut ignored = Vec::new();
    for token in value.split([' ', ',']).filter(|t| !t.is_empty()) {
        let (add, name) = if let Some(name) = token.strip_prefix('+') {
            (true, name)
        } else if let Some(name) = token.strip_prefix('-') {
            (false, name)
        } else {
            ignored.push(token.to_owned());
            continue;
        };
        let Some(bits) = flag_value(name) else {
            ignored.push(token.to_owned());
            continue;
        };
        if add {
            flags.0 |= bits;
        } else {
            flags.0 &= !bits;
        }
    }
    ignored
}

fn flag_value(name: &str) -> Option<u32> {
    const NAMES: [(&str, GssFlags); 8] = [
        ("DELEGATE", GssFlags::DELEGATE),
        ("MUTUAL_AUTH", GssFlags::MUTUAL_AUTH),
        ("REPLAY_DETECT", GssFlags::REPLAY_DETECT),
        ("SEQUENCE", GssFlags::SEQUENCE),
        ("CONFIDENTIALITY", GssFlags::CONFIDENTIALITY),
        ("INTEGRITY", GssFlags::INTEGRITY),
        ("INTEGRITIY", GssFlags::INTEGRITY),
        ("ANONYMOUS", GssFlags::ANONYMOUS),
    ];
    if let Some((_, flag)) = NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
        return Some(flag.0);
    }
    // The reference: strtoul(name, 0) consuming everything, not 0, not ULONG_MAX. A sign would
    // wrap in C; here the value must be a plain 32-bit number.
    if !name.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
        return None;
    }
    let number = strtoul(name.as_bytes(), Radix::AUTO);
    if number.overflow || !number.consumed_all(name.as_bytes()) || number.value == 0 {
        return None;
    }
    u32::try_from(number.value).ok()
}

fn global(located: &Located) -> Result<Global, Error> {
    let section = &located.section;
    let mut global = Global::default();
    let bad_integer = |entry: &crate::ini::Entry, option| Error {
        file: located.file.clone(),
        line: entry.line,
        kind: ErrorKind::BadInteger {
            section: section.name.clone(),
            option,
        },
    };
    if section.first("debug").is_some_and(|e| boolean(&e.value)) {
        global.debug_level = 1;
    }
    if let Some(entry) = section.first("debug_level") {
        global.debug_level = integer(&entry.value)
            .map_err(|_| bad_integer(entry, "debug_level"))?
            .0;
    }
    global.syslog_status = section.first("syslog_status").map(|e| boolean(&e.value));
    global.run_as_user = section.first("run_as_user").map(|e| e.value.clone());
    if let Some(entry) = section.first("worker threads") {
        let (threads, _) = integer(&entry.value).map_err(|_| bad_integer(entry, "worker threads"))?;
        global.worker_threads = u32::try_from(threads)
            .ok()
            .filter(|&t| t > 0)
            .unwrap_or(DEFAULT_WORKER_THREADS);
    }
    Ok(global)
}

/// One section as a service: `Ok(None)` when it is not a service section or is dropped for its
/// `mechs`.
#[allow(clippy::too_many_lines)] // one option after the other, in the reference's order
fn service(
    located: &Located,
    notes: &mut Vec<Note>,
    dropped: &mut Vec<Dropped>,
) -> Result<Option<Service>, Error> {
    let section: &Section = &located.section;
    let Some(name) = section.name.strip_prefix("service/") else {
        return Ok(None);
    };
    let fail = |line, kind| Error {
        file: located.file.clone(),
        line,
        kind,
    };
    let note = |line, kind| Note {
        file: located.file.clone(),
        line,
        kind,
    };
    let section_name = || section.name.clone();
    // 1. euid: an integer, else a name; missing is fatal.
    let Some(entry) = section.first("euid") else {
        return Err(fail(
            section.line,
            ErrorKind::MissingOption {
                section: section_name(),
                option: "euid",
            },
        ));
    };
    let euid = match integer(&entry.value) {
        Ok((uid, trailing)) => {
            #[allow(clippy::cast_sign_loss)] // C assigns the int to uid_t: -1 is 4294967295
            let uid = uid as u32;
            if trailing {
                notes.push(note(
                    entry.line,
                    NoteKind::EuidTrailingText {
                        section: section_name(),
                        uid,
                    },
                ));
            }
            Euid::Id(uid)
        }
        Err(_) => Euid::Name(entry.value.clone()),
    };
    // 2. booleans and the socket.
    let flag = |key: &str| section.first(key).is_some_and(|e| boolean(&e.value));
    let socket = section.first("socket").map(|e| PathBuf::from(&e.value));
    // 3. mechs: required; a service without krb5 is dropped.
    let Some(entry) = section.first("mechs") else {
        return Err(fail(
            section.line,
            ErrorKind::MissingOption {
                section: section_name(),
                option: "mechs",
            },
        ));
    };
    let mut mechs = Vec::new();
    for token in entry.value.split([' ', ',']).filter(|t| !t.is_empty()) {
        if token == "krb5" {
            if !mechs.contains(&Mech::Krb5) {
                mechs.push(Mech::Krb5);
            }
        } else {
            notes.push(note(
                entry.line,
                NoteKind::UnknownMech {
                    section: section_name(),
                    mech: token.to_owned(),
                },
            ));
        }
    }
    if mechs.is_empty() {
        notes.push(note(
            entry.line,
            NoteKind::NoMechs {
                section: section_name(),
            },
        ));
        dropped.push(Dropped {
            name: name.to_owned(),
            file: located.file.clone(),
            line: section.line,
            euid,
        });
        return Ok(None);
    }
    // 4. krb5: principal, obsolete options (fatal), cred_store.
    let krb5_principal = section.first("krb5_principal").map(|e| e.value.clone());
    for (option, replacement) in [
        ("krb5_keytab", "keytab"),
        ("krb5_ccache", "ccache"),
        ("krb5_client_keytab", "client_keytab"),
    ] {
        if let Some(entry) = section.first(option) {
            return Err(fail(
                entry.line,
                ErrorKind::DeprecatedOption {
                    section: section_name(),
                    option,
                    replacement,
                },
            ));
        }
    }
    let mut cred_store = Vec::new();
    for entry in section.all("cred_store") {
        let Some((key, value)) = entry.value.split_once(':') else {
            return Err(fail(
                entry.line,
                ErrorKind::CredStoreWithoutColon {
                    section: section_name(),
                },
            ));
        };
        cred_store.push(CredStoreEntry {
            key: key.to_owned(),
            value: value.to_owned(),
        });
    }
    // 5. selinux_context, cred_usage, flags, program, min_lifetime.
    let selinux_context = match section.first("selinux_context") {
        None => None,
        Some(entry) => {
            notes.push(note(
                entry.line,
                NoteKind::SelinuxDeprecated {
                    section: section_name(),
                },
            ));
            let context = SelinuxContext::parse(&entry.value).ok_or_else(|| {
                fail(
                    entry.line,
                    ErrorKind::BadSelinuxContext {
                        section: section_name(),
                    },
                )
            })?;
            Some(context)
        }
    };
    let cred_usage = match section.first("cred_usage") {
        None => CredUsage::Both,
        Some(entry) => match entry.value.to_ascii_lowercase().as_str() {
            "initiate" => CredUsage::Initiate,
            "accept" => CredUsage::Accept,
            "both" => CredUsage::Both,
            _ => {
                return Err(fail(
                    entry.line,
                    ErrorKind::BadCredUsage {
                        section: section_name(),
                    },
                ));
            }
        },
    };
    let mut flags = |option: &'static str, default: GssFlags| {
        let mut value = default;
        if let Some(entry) = section.first(option) {
            for token in apply_flag_list(&entry.value, &mut value) {
                notes.push(note(
                    entry.line,
                    NoteKind::FlagIgnored {
                        section: section_name(),
                        option,
                        token,
                    },
                ));
            }
        }
        value
    };
    let filter_flags = flags("filter_flags", GssFlags::DELEGATE);
    let enforce_flags = flags("enforce_flags", GssFlags::default());
    let program = match section.first("program") {
        None => None,
        Some(entry) => {
            if !entry.value.starts_with('/') {
                return Err(fail(
                    entry.line,
                    ErrorKind::RelativeProgram {
                        section: section_name(),
                    },
                ));
            }
            if entry.value.contains('|') {
                return Err(fail(
                    entry.line,
                    ErrorKind::ProgramWithBar {
                        section: section_name(),
                    },
                ));
            }
            Some(PathBuf::from(&entry.value))
        }
    };
    let mut min_lifetime = DEFAULT_MIN_LIFETIME;
    if let Some(entry) = section.first("min_lifetime") {
        match integer(&entry.value)
            .ok()
            .and_then(|(v, _)| u32::try_from(v).ok())
        {
            Some(seconds) => min_lifetime = seconds,
            None => notes.push(note(
                entry.line,
                NoteKind::MinLifetimeIgnored {
                    section: section_name(),
                },
            )),
        }
    }
    Ok(Some(Service {
        name: name.to_owned(),
        file: located.file.clone(),
        line: section.line,
        euid,
        mechs,
        socket,
        cred_store,
        cred_usage,
        krb5_principal,
        kernel_nfsd: flag("kernel_nfsd"),
        trusted: flag("trusted"),
        impersonate: flag("impersonate"),
        allow_any_uid: flag("allow_any_uid"),
        allow_protocol_transition: flag("allow_protocol_transition"),
        allow_constrained_delegation: flag("allow_constrained_delegation"),
        allow_client_ccache_sync: flag("allow_client_ccache_sync"),
        filter_flags,
        enforce_flags,
        min_lifetime,
        program,
        selinux_context,
    }))
}
