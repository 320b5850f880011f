//! `cifs.upcall`: answers the kernel's `cifs.spnego` keys, a drop-in for cifs-utils 7.0's helper.
//!
//! The cifs client asks for a `cifs.spnego` key for every SMB session set up with Kerberos; the
//! answer is `struct cifs_spnego_msg`: the Kerberos session key and the SPNEGO security blob
//! (`kup_spnego::payload`). `/sbin/request-key` runs us as `cifs.upcall %k`. Like the reference,
//! a key whose describe string starts with `dns_resolver` or `cifs.resolver` is answered as a
//! host name lookup instead ([`resolve`]).
//!
//! Flow: options → key serial → guard → describe → dispatch ([`Mode`]). SPNEGO: the description is
//! parsed and checked into a [`SpnegoPlan`] (pure, [`plan`]); the credential step (namespaces, the
//! user's identity, Kerberos) is one call through the [`Ticketing`] trait, which returns the
//! session key and the token; [`assemble`] wraps the token and builds the payload (pure). Every
//! failure is one [`Error`], turned into a log line, the key's negation and the exit status by
//! [`report`].
//!
//! Divergences from the reference (`docs/compat/cifs.upcall.md`): we negate the key for 60 s
//! ourselves (the reference never finishes it; decisions.md 1), every failure exits 1 (the
//! reference can exit 0; decisions.md 2), a repeated description field is refused
//! (decisions.md 4), `upcall_target` is honoured as cifs-utils 7.4+ does (CVE-2025-2312), every
//! run ends within [`DEADLINE`] (decisions.md 10), a key serial ≤ 0 is refused, `--version` prints
//! our version number.

#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write as _};
use std::os::unix::ffi::OsStrExt as _;
use std::process::ExitCode;

use kup_runtime::cli::{self, Flag, Radix, Spec};
use kup_runtime::helper::{self, Disposition, Failure, KeyGuard, Printable, StartOptions};
use kup_spnego::description::{self, DescriptionError, Mode};
use kup_spnego::{
    Mech, SecretBytes, SpnegoRequest, UpcallTarget, build_payload, krb5_initial_token, spnego_init,
};
use kup_sys::KeySerial;
use kup_sys::keyctl;
use kup_sys::syslog::Severity;

/// The syslog ident of the reference.
pub const IDENT: &std::ffi::CStr = c"cifs.upcall";
/// The program name the reference prints in its usage line.
pub const PROGRAM: &str = "cifs.upcall";
/// The usage line, written to stderr when the key serial is missing.
pub const USAGE: &str = "Usage: cifs.upcall [ -K /path/to/keytab] [-k /path/to/krb5.conf] [-E] [-t] [-v] [-l] [-e nsecs] key_serial\n";
/// Timeout of a `dns_resolver` answer when `-e` is not given (seconds).
pub const DEFAULT_EXPIRE: u32 = 600;
/// How long a failed key stays negative: what the kernel does when the reference exits.
pub const NEGATIVE_TIMEOUT: u32 = 60;
/// The exit status of every failure (decisions.md 2: never 0).
pub const FAILURE_EXIT: u8 = 1;
/// The total deadline of one run (decisions.md 10): 30 s from start-up, then the key is negated
/// for [`NEGATIVE_TIMEOUT`] and the helper exits 1.
pub const DEADLINE: kup_runtime::deadline::Deadline =
    kup_runtime::deadline::Deadline::new(kup_runtime::deadline::DEFAULT_LIMIT, FAILURE_EXIT);

/// Our options, one row per option of the reference (`getopt_long`, `"cEk:K:ltve:"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opt {
    /// `-c`: deprecated, ignored.
    Deprecated,
    /// `-E`, `--no-env-probe`.
    NoEnvProbe,
    /// `-k`, `--krb5conf`.
    Krb5Conf,
    /// `-K`, `--keytab`.
    Keytab,
    /// `-l`, `--legacy-uid`.
    LegacyUid,
    /// `-t`, `--trust-dns`.
    TrustDns,
    /// `-v`, `--version`.
    Version,
    /// `-e`, `--expire`.
    Expire,
}

/// The flag table.
pub const FLAGS: &[Flag<Opt>] = &[
    Flag::new(Opt::Deprecated)
        .short(b'c')
        .help("accepted and ignored (deprecated)"),
    Flag::new(Opt::NoEnvProbe)
        .short(b'E')
        .long("no-env-probe")
        .help("do not take KRB5CCNAME from the requesting process's environment"),
    Flag::new(Opt::Krb5Conf)
        .short(b'k')
        .long("krb5conf")
        .required("path")
        .help("Kerberos configuration file to use (KRB5_CONFIG)"),
    Flag::new(Opt::Keytab)
        .short(b'K')
        .long("keytab")
        .required("path")
        .help("keytab for the fallback login with the user= name"),
    Flag::new(Opt::LegacyUid)
        .short(b'l')
        .long("legacy-uid")
        .help("act as the uid= user instead of creduid="),
    Flag::new(Opt::TrustDns)
        .short(b't')
        .long("trust-dns")
        .help("retry with the server address's reverse DNS name"),
    Flag::new(Opt::Version)
        .short(b'v')
        .long("version")
        .help("print the version and exit"),
    Flag::new(Opt::Expire)
        .short(b'e')
        .long("expire")
        .required("seconds")
        .help("timeout of dns_resolver answers (default 600)"),
];

/// The options that shape a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// `-E`.
    pub no_env_probe: bool,
    /// `-k`: `KRB5_CONFIG` for the credential step.
    pub krb5_config: Option<OsString>,
    /// `-K`.
    pub keytab: Option<OsString>,
    /// `-l`.
    pub legacy_uid: bool,
    /// `-t`.
    pub trust_dns: bool,
    /// `-e` (default [`DEFAULT_EXPIRE`]).
    pub expire: u32,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print the version on stdout, exit 0.
    Version,
    /// Answer this key.
    Answer {
        /// The key under construction.
        key: KeySerial,
        /// The options.
        options: Options,
    },
}

/// A command line the reference refuses before touching any key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError {
    /// Bytes for stderr (getopt's message, or the usage line).
    pub stderr: Vec<u8>,
    /// The syslog line, if any.
    pub log: Option<String>,
}

/// Reads the command line as the reference's `getopt_long` loop does (GNU permutation: options
/// may follow the key serial): options in order, `-v` ends it with the version, an unknown option
/// or a missing argument is an error (exit 1). `-e` is `strtoul(…, 10)` without any check (`abc`
/// is 0: never expires). Then the first operand is the key serial (`strtol` base 10, only
/// overflow is an error, as in the reference; ours also refuses serials ≤ 0, which request-key
/// never passes and for which the reference fails at `KEYCTL_DESCRIBE`). Later operands are
/// ignored.
pub fn parse_command_line<I>(argv: I) -> Result<Command, UsageError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    let parsed = cli::parse(Spec::getopt_long(FLAGS), argv);
    let mut options = Options {
        expire: DEFAULT_EXPIRE,
        ..Options::default()
    };
    for option in &parsed.options {
        let value = || option.value.clone().unwrap_or_default();
        match option.id {
            Opt::Version => return Ok(Command::Version),
            Opt::Deprecated => {}
            Opt::NoEnvProbe => options.no_env_probe = true,
            Opt::Krb5Conf => options.krb5_config = Some(value()),
            Opt::Keytab => options.keytab = Some(value()),
            Opt::LegacyUid => options.legacy_uid = true,
            Opt::TrustDns => options.trust_dns = true,
            Opt::Expire => {
                let number = cli::strtoul(value().as_bytes(), Radix::DECIMAL);
                // The reference keeps the unsigned long in a 32-bit unsigned int.
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "the reference's 32-bit timeout: the truncation is what is imitated"
                )]
                let expire = number.value as u32;
                options.expire = expire;
            }
        }
    }
    if let Some(bytes) = parsed.error_bytes() {
        return Err(UsageError {
            stderr: bytes,
            log: Some("unknown option".to_owned()),
        });
    }
    let Some(operand) = parsed.operands.first() else {
        return Err(UsageError {
            stderr: USAGE.as_bytes().to_vec(),
            log: None,
        });
    };
    let invalid = |reason: &str| UsageError {
        stderr: Vec::new(),
        log: Some(format!("Invalid key format: {reason}")),
    };
    let serial = cli::key_operand(operand.as_bytes()).map_err(|error| invalid(&error.to_string()))?;
    Ok(Command::Answer { key: serial, options })
}

/// Every way a run fails. [`report`] turns it into the log line, the key's negation and the
/// exit status; the key is negated for [`NEGATIVE_TIMEOUT`] seconds in every case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The describe string is not one we act on (reference: the same refusals, exit 1).
    Malformed(Malformed),
    /// A well-formed request we do not serve.
    Refused(&'static str),
    /// A step failed: what was being done, and why.
    Failed {
        /// The step.
        step: &'static str,
        /// The reason (already escaped where it carries outside text).
        reason: String,
    },
}

/// The malformed inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Malformed {
    /// A `cifs.spnego` description refused by the parser or its checks.
    Description(DescriptionError),
    /// A resolver describe string with fewer than four `;`.
    NoResolverName,
}

impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(Malformed::Description(error)) => write!(formatter, "{error}"),
            Self::Malformed(Malformed::NoResolverName) => {
                formatter.write_str("no host name in the dns_resolver key description")
            }
            Self::Refused(why) => formatter.write_str(why),
            Self::Failed { step, reason } => write!(formatter, "{step}: {reason}"),
        }
    }
}

impl From<DescriptionError> for Error {
    fn from(error: DescriptionError) -> Self {
        Self::Malformed(Malformed::Description(error))
    }
}

/// The one mapping from a failure to its log line, key disposition and exit status.
#[must_use]
pub fn failure(error: &Error) -> Failure {
    Failure::new(FAILURE_EXIT, error.to_string()).with_disposition(Disposition::Negate {
        timeout_secs: NEGATIVE_TIMEOUT,
    })
}

/// Finishes the key after `error` and returns the exit status.
#[must_use = "the exit code is what main returns"]
pub fn report(error: &Error, guard: Option<KeyGuard>) -> ExitCode {
    helper::report(Err(failure(error)), guard)
}

/// Everything the credential step needs, decided before it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpnegoPlan {
    /// The checked description.
    pub request: SpnegoRequest,
    /// Whether to read `KRB5CCNAME` from `/proc/<pid>/environ`: not with `-E`, not for uid 0, not
    /// without a pid, not for `upcall_target=mount`.
    pub env_probe: bool,
    /// Whether to switch to the requester's namespaces: only for `upcall_target=app` (or absent)
    /// with a pid.
    pub switch_namespaces: bool,
    /// `-k`.
    pub krb5_config: Option<OsString>,
    /// `-K`.
    pub keytab: Option<OsString>,
    /// `-t`.
    pub trust_dns: bool,
}

/// Parses and checks a `cifs.spnego` describe string into the plan (pure).
pub fn plan(describe: &[u8], options: &Options) -> Result<SpnegoPlan, Error> {
    let request = description::request(describe, options.legacy_uid).map_err(|error| {
        // The reference treats `sec=iakerb` as a missing `sec`; say why (decisions.md 6).
        if matches!(error, DescriptionError::Missing { .. })
            && describe
                .split(|&byte| byte == b';')
                .any(|token| token.starts_with(b"sec=iakerb"))
        {
            Error::Refused("sec=iakerb: IAKerb is not supported")
        } else {
            Error::from(error)
        }
    })?;
    let app = request.upcall_target == UpcallTarget::App && request.pid.0 != 0;
    Ok(SpnegoPlan {
        env_probe: app && !options.no_env_probe && request.target_uid.0 != 0,
        switch_namespaces: app,
        krb5_config: options.krb5_config.clone(),
        keytab: options.keytab.clone(),
        trust_dns: options.trust_dns,
        request,
    })
}

/// The credential step's token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MechToken {
    /// A bare Kerberos AP-REQ (native krb5 path): wrapped in the GSS-API token here.
    ApReq(Vec<u8>),
    /// A GSS-API initial context token already (GSSAPI path).
    Gss(Vec<u8>),
}

/// What the credential step returns.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    /// The session key (zeroed on drop).
    pub session_key: SecretBytes,
    /// The token for the server.
    pub token: MechToken,
}

/// The credential step: namespaces, the user's identity, Kerberos. One call per request.
pub trait Ticketing {
    /// Gets the session key and the token for `plan`.
    fn spnego(&self, plan: &SpnegoPlan) -> Result<Answer, Error>;
}

/// The credential step (decisions.md 3): a child of this process enters the requester's
/// namespaces and becomes the user (`kup_priv`), reads the requester's `KRB5CCNAME` there if the
/// plan says so, and does the Kerberos work ([`kerberos::obtain`]); its answer comes back through
/// a pipe. This process never leaves the initial namespaces, so it keeps the authority to finish
/// the key, also for requesters in their own user namespace.
#[derive(Clone, Copy, Debug, Default)]
pub struct Kerberos;

/// How long the credential child may take: the run's deadline less a margin, so that the parent,
/// not the deadline's handler, reports a slow child.
pub const CHILD_LIMIT: std::time::Duration = std::time::Duration::from_secs(25);

/// The child's answer on the wire: the token's kind, the key's length (u32, little-endian), the
/// key, the token.
const TOKEN_AP_REQ: u8 = 1;
const TOKEN_GSS: u8 = 2;

impl Ticketing for Kerberos {
    fn spnego(&self, plan: &SpnegoPlan) -> Result<Answer, Error> {
        let pid = kup_priv::Pid::new(plan.request.pid.0);
        let request = kup_priv::Request {
            uid: kup_priv::Uid::new(plan.request.target_uid.0),
            namespaces: if plan.switch_namespaces {
                kup_priv::Namespaces::Requester(pid)
            } else {
                kup_priv::Namespaces::Own
            },
        };
        let deadline = std::time::Instant::now() + CHILD_LIMIT;
        let secret = kup_priv::run_in_child(deadline, &request, |user: &kup_priv::User| {
            let environ = if plan.env_probe {
                match kup_priv::read_environ(user, pid) {
                    Ok(environ) => Some(environ),
                    Err(error) => {
                        helper::log(
                            Severity::Debug,
                            &format!("reading the requester's environment: {error}"),
                        );
                        None
                    }
                }
            } else {
                None
            };
            let ccname = environ.as_deref().and_then(kup_spnego::environ::krb5ccname);
            let answer = kerberos::obtain(plan, ccname).map_err(|error| kup_priv::WorkError {
                code: 1,
                message: error.to_string(),
            })?;
            Ok::<_, kup_priv::WorkError>(encode_answer(&answer))
        })
        .map_err(|error| match error {
            kup_priv::ChildError::Work(work) => Error::Failed {
                step: "getting a Kerberos ticket",
                reason: work.message,
            },
            other => Error::Failed {
                step: "switching to the user",
                reason: other.to_string(),
            },
        })?;
        decode_answer(secret.as_bytes()).ok_or(Error::Failed {
            step: "getting a Kerberos ticket",
            reason: "the credential process's answer is malformed".to_owned(),
        })
    }
}

fn encode_answer(answer: &Answer) -> Vec<u8> {
    let (kind, token) = match &answer.token {
        MechToken::ApReq(token) => (TOKEN_AP_REQ, token),
        MechToken::Gss(token) => (TOKEN_GSS, token),
    };
    let key = answer.session_key.as_bytes();
    let mut bytes = Vec::with_capacity(5 + key.len() + token.len());
    bytes.push(kind);
    bytes.extend_from_slice(&u32::try_from(key.len()).unwrap_or(u32::MAX).to_le_bytes());
    bytes.extend_from_slice(key);
    bytes.extend_from_slice(token);
    bytes
}

fn decode_answer(bytes: &[u8]) -> Option<Answer> {
    let (&kind, rest) = bytes.split_first()?;
    let (length, rest) = rest.split_first_chunk::<4>()?;
    let length = usize::try_from(u32::from_le_bytes(*length)).ok()?;
    if length > rest.len() {
        return None;
    }
    let (key, token) = rest.split_at(length);
    let token = match kind {
        TOKEN_AP_REQ => MechToken::ApReq(token.to_vec()),
        TOKEN_GSS => MechToken::Gss(token.to_vec()),
        _ => return None,
    };
    Some(Answer {
        session_key: SecretBytes::new(key.to_vec()),
        token,
    })
}

/// Wraps the answer's token (the SPNEGO `NegTokenInit` offering the mechanism of `sec=`) and
/// builds the key payload (pure).
pub fn assemble(plan: &SpnegoPlan, answer: &Answer) -> Result<SecretBytes, Error> {
    let wrapped;
    let inner = match &answer.token {
        MechToken::ApReq(ap_req) => {
            wrapped = krb5_initial_token(ap_req);
            &wrapped
        }
        MechToken::Gss(token) => token,
    };
    let blob = spnego_init(Mech::from(plan.request.sec), inner);
    build_payload(plan.request.version, &answer.session_key, &blob).map_err(|error| Error::Failed {
        step: "building the payload",
        reason: error.to_string(),
    })
}

/// The resolver mode's work, decided from the describe string (pure).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolverPlan {
    /// The name to look up.
    pub name: Vec<u8>,
    /// The kernel's cache keyring to request for possession.
    pub cache_keyring: &'static str,
    /// The answer's timeout.
    pub expire: u32,
}

/// Reads a resolver describe string.
pub fn resolver_plan(
    describe: &[u8],
    cache_keyring: &'static str,
    expire: u32,
) -> Result<ResolverPlan, Error> {
    let name = description::resolver_name(describe).ok_or(Error::Malformed(Malformed::NoResolverName))?;
    Ok(ResolverPlan {
        name: name.to_vec(),
        cache_keyring,
        expire,
    })
}

/// The resolver's payload: the address text and a NUL.
#[must_use]
pub fn resolver_payload(address: &std::net::IpAddr) -> Vec<u8> {
    let mut payload = kup_dns::address::to_text(address).into_bytes();
    payload.push(0);
    payload
}

/// `main`: start-up, command line, then [`run`].
pub fn main<I>(argv: I) -> ExitCode
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    if helper::start(&StartOptions::daemon(IDENT).with_deadline(DEADLINE)).is_err() {
        return ExitCode::from(FAILURE_EXIT);
    }
    match parse_command_line(argv) {
        Ok(Command::Version) => {
            let _ = writeln!(io::stdout().lock(), "version: {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Ok(Command::Answer { key, options }) => run(key, &options, &Kerberos),
        Err(error) => {
            let _ = io::stderr().lock().write_all(&error.stderr);
            if let Some(line) = &error.log {
                helper::log(Severity::Error, line);
            }
            ExitCode::from(FAILURE_EXIT)
        }
    }
}

/// Answers `key`, finishing it on every path.
#[must_use]
pub fn run(key: KeySerial, options: &Options, ticketing: &dyn Ticketing) -> ExitCode {
    let guard = KeyGuard::new(
        key,
        Disposition::Negate {
            timeout_secs: NEGATIVE_TIMEOUT,
        },
    );
    let describe = match keyctl::describe_raw(key) {
        Ok(describe) => describe,
        Err(error) => {
            return report(
                &Error::Failed {
                    step: "describing the key",
                    reason: error.to_string(),
                },
                Some(guard),
            );
        }
    };
    match Mode::of(&describe) {
        Mode::Resolver { cache_keyring } => match resolver_plan(&describe, cache_keyring, options.expire) {
            Ok(plan) => resolve(guard, &plan),
            Err(error) => report(&error, Some(guard)),
        },
        Mode::Spnego => {
            let payload = plan(&describe, options).and_then(|plan| {
                ticketing
                    .spnego(&plan)
                    .and_then(|answer| assemble(&plan, &answer))
            });
            match payload {
                Ok(payload) => match guard.instantiate(payload.as_bytes()) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(error) => report(
                        &Error::Failed {
                            step: "instantiating the key",
                            reason: error.to_string(),
                        },
                        None,
                    ),
                },
                Err(error) => report(&error, Some(guard)),
            }
        }
    }
}

/// The resolver mode (the reference's order): look the name up, take the first address, request
/// the kernel's cache keyring into our thread keyring (possession, so that the timeout can be set
/// after instantiation; its result is ignored), instantiate `<address>\0`, set the timeout.
#[must_use]
pub fn resolve(guard: KeyGuard, plan: &ResolverPlan) -> ExitCode {
    // No hints, as the reference: glibc then adds AI_ADDRCONFIG (no AAAA answers on a host
    // without IPv6, and the reverse), which decides which address comes first.
    let address = match kup_sys::netdb::getaddrinfo_without_hints(&plan.name) {
        Ok(addresses) => addresses.into_iter().next(),
        Err(error) => {
            return report(
                &Error::Failed {
                    step: "resolving the host name",
                    reason: format!("{}: {}", Printable(&plan.name), error.message()),
                },
                Some(guard),
            );
        }
    };
    let Some(address) = address else {
        return report(
            &Error::Failed {
                step: "resolving the host name",
                reason: format!("{}: no address", Printable(&plan.name)),
            },
            Some(guard),
        );
    };
    let key = guard.key();
    let _ = keyctl::request_key(
        "keyring",
        plan.cache_keyring.as_bytes(),
        None,
        KeySerial::THREAD_KEYRING,
    );
    if let Err(error) = guard.instantiate(&resolver_payload(&address)) {
        return report(
            &Error::Failed {
                step: "instantiating the key",
                reason: error.to_string(),
            },
            None,
        );
    }
    match keyctl::set_timeout(key, plan.expire) {
        Ok(()) => ExitCode::SUCCESS,
        // The key is positive already (as in the reference, it stays so, without expiry).
        Err(error) => report(
            &Error::Failed {
                step: "setting the key timeout",
                reason: error.to_string(),
            },
            None,
        ),
    }
}

pub mod kerberos;

#[cfg(test)]
mod tests;
