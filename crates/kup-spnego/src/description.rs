//! The `cifs.spnego` key description, read as cifs-utils 7.0's `cifs.upcall` reads it, and the
//! checks it makes before doing anything with it.
//!
//! The reference splits the **whole** describe string (`type;uid;gid;perm;description`) at every
//! `;` and tests each token against fixed prefixes (`host=`, `ip4=`/`ip6=`, `user=`, `pid=`,
//! `sec=`, `uid=`, `creduid=`, `ver=`, and since 7.2 `upcall_target=`); tokens matching none are
//! skipped (so the key type, ids and permission mask are skipped too). Numbers are C `strtol`
//! (`pid` base 0, the others base 16), only overflow is an error, and the value is kept in a
//! 32-bit C type (it wraps). `host` and the address may be at most 1025 bytes, `user` 256,
//! `upcall_target` 6. The reference keeps the last of repeated fields; we refuse a repeated field
//! ([`Duplicates::Refuse`], decisions.md 4): `host=x;user=y` inside `host` or a `;uid=0` inside
//! `user` would otherwise change the identity the helper acts for. [`Duplicates::LastWins`] is the
//! reference's rule, kept for tests that document it.
//!
//! `upcall_target` is read with the 7.2+ grammar and honoured as 7.4+ does (an absent value means
//! `app`; CVE-2025-2312). The reference we compare with (7.0) ignores the field: a recorded
//! divergence.
//!
//! Must not: do I/O, panic.

use std::fmt;

use kup_text::number::{Radix, strtol};

/// Longest `host=` and `ip4=`/`ip6=` value the parser accepts (the reference's buffer).
pub const MAX_HOST_FIELD: usize = 1025;
/// A host name this long or longer is refused after parsing (`NI_MAXHOST` with its NUL).
pub const MAX_HOST_LEN: usize = 1025;
/// Longest `user=` value.
pub const MAX_USER_FIELD: usize = 256;
/// Longest `upcall_target=` value.
pub const MAX_UPCALL_TARGET_FIELD: usize = 6;
/// The newest description version the reference understands (`CIFS_SPNEGO_UPCALL_VERSION`).
pub const MAX_VERSION: i32 = 2;

/// A field of the description. Its [`Field::flag`] is the reference's bit for it, which the
/// reference logs (`0x…`) when a required field is missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `host=`.
    Host,
    /// `ver=`.
    Version,
    /// `sec=` (the bit is set only for a recognised mechanism).
    Sec,
    /// `ip4=` or `ip6=` (one slot).
    Address,
    /// `uid=`.
    Uid,
    /// `pid=`.
    Pid,
    /// `creduid=`.
    CredentialUid,
    /// `user=`.
    User,
    /// `upcall_target=`.
    UpcallTarget,
}

impl Field {
    /// Every field, in the order the reference tests the prefixes.
    pub const ALL: [Self; 9] = [
        Self::Host,
        Self::Address,
        Self::User,
        Self::Pid,
        Self::Sec,
        Self::Uid,
        Self::CredentialUid,
        Self::Version,
        Self::UpcallTarget,
    ];

    /// The reference's bit for this field.
    #[must_use]
    pub const fn flag(self) -> u32 {
        match self {
            Self::Host => 0x1,
            Self::Version => 0x2,
            Self::Sec => 0x4,
            Self::Address => 0x8,
            Self::Uid => 0x10,
            Self::Pid => 0x20,
            Self::CredentialUid => 0x40,
            Self::User => 0x80,
            Self::UpcallTarget => 0x100,
        }
    }

    /// The field's name as it appears in descriptions.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::Version => "ver",
            Self::Sec => "sec",
            Self::Address => "ip4/ip6",
            Self::Uid => "uid",
            Self::Pid => "pid",
            Self::CredentialUid => "creduid",
            Self::User => "user",
            Self::UpcallTarget => "upcall_target",
        }
    }

    /// The field a token belongs to, and the value after its prefix.
    fn of(token: &[u8]) -> Option<(Self, &[u8])> {
        let prefixes: [(&[u8], Self); 10] = [
            (b"host=", Self::Host),
            (b"ip4=", Self::Address),
            (b"ip6=", Self::Address),
            (b"user=", Self::User),
            (b"pid=", Self::Pid),
            (b"sec=", Self::Sec),
            (b"uid=", Self::Uid),
            (b"creduid=", Self::CredentialUid),
            (b"ver=", Self::Version),
            (b"upcall_target=", Self::UpcallTarget),
        ];
        prefixes
            .iter()
            .find_map(|&(prefix, field)| token.strip_prefix(prefix).map(|value| (field, value)))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The Kerberos mechanism the kernel asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sec {
    /// `sec=krb5…` (any value starting with `krb5`, as in the reference).
    Krb5,
    /// `sec=mskrb5…`.
    MsKrb5,
}

/// Whose namespaces serve the request (`upcall_target=`, cifs-utils 7.2+).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UpcallTarget {
    /// `mount…`: the request-key (host) namespaces, no environment probe.
    Mount,
    /// `app…` or anything else: the requesting application's namespaces.
    App,
}

/// A user id as the kernel writes it (`uid_t`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uid(pub u32);

impl fmt::Display for Uid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// A process id as the kernel writes it (`pid_t`; 0 means none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Pid(pub i32);

/// What to do with a repeated field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Duplicates {
    /// Refuse the description (ours, decisions.md 4).
    Refuse,
    /// Keep the last occurrence (the reference, 7.0 to 7.5).
    LastWins,
}

/// Why a description is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DescriptionError {
    /// A value is longer than the field allows (reference: a parse error).
    TooLong {
        /// The field.
        field: Field,
        /// The value's length.
        length: usize,
    },
    /// A number does not fit a C `long` (reference: a parse error).
    Overflow {
        /// The field.
        field: Field,
    },
    /// The field appears twice (ours only).
    Repeated {
        /// The field.
        field: Field,
        /// Byte offset of the second occurrence in the describe string.
        offset: usize,
    },
    /// `host`, `ver` or a recognised `sec` is missing; `have` is the reference's bit mask of the
    /// fields found (it logs it).
    Missing {
        /// Bits of the fields present ([`Field::flag`]).
        have: u32,
    },
    /// `ver` is newer than [`MAX_VERSION`].
    IncompatibleVersion {
        /// The version sent.
        version: i32,
    },
    /// The host name is [`MAX_HOST_LEN`] bytes or longer.
    HostTooLong {
        /// Its length.
        length: usize,
    },
    /// Neither `uid` nor (without `-l`) `creduid` is present.
    NoUid,
}

impl fmt::Display for DescriptionError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { field, length } => {
                write!(formatter, "the {field} field is too long ({length} bytes)")
            }
            Self::Overflow { field } => write!(formatter, "the {field} field is out of range"),
            Self::Repeated { field, offset } => {
                write!(formatter, "the {field} field is repeated (at byte {offset})")
            }
            Self::Missing { have } => write!(
                formatter,
                "unable to get necessary params from key description (0x{have:x})"
            ),
            Self::IncompatibleVersion { version } => {
                write!(formatter, "incompatible kernel upcall version: 0x{version:x}")
            }
            Self::HostTooLong { length } => {
                write!(
                    formatter,
                    "hostname provided by kernel is too long ({length} bytes)"
                )
            }
            Self::NoUid => formatter.write_str("No uid= or creduid= parm specified"),
        }
    }
}

impl std::error::Error for DescriptionError {}

/// The fields as parsed, before the checks (the reference's `struct decoded_args`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    /// `ver=` (C `int`).
    pub version: i32,
    /// `host=`.
    pub host: Vec<u8>,
    /// `ip4=`/`ip6=`.
    pub address: Vec<u8>,
    /// `user=`.
    pub user: Vec<u8>,
    /// `sec=`, when recognised.
    pub sec: Option<Sec>,
    /// `uid=`.
    pub uid: Uid,
    /// `creduid=`.
    pub credential_uid: Uid,
    /// `pid=`.
    pub pid: Pid,
    /// `upcall_target=`.
    pub upcall_target: Option<UpcallTarget>,
    /// The reference's bit mask of the fields found.
    pub have: u32,
}

impl Parsed {
    /// Whether `field` was found.
    #[must_use]
    pub fn has(&self, field: Field) -> bool {
        self.have & field.flag() != 0
    }
}

/// Parses a describe string (the whole `type;uid;gid;perm;description`, as `KEYCTL_DESCRIBE`
/// returns it, without the NUL) field by field.
pub fn parse(describe: &[u8], duplicates: Duplicates) -> Result<Parsed, DescriptionError> {
    let mut parsed = Parsed::default();
    let mut seen = 0u32;
    let mut offset = 0usize;
    for token in describe.split(|&byte| byte == b';') {
        let start = offset;
        offset = offset.saturating_add(token.len()).saturating_add(1);
        let Some((field, value)) = Field::of(token) else {
            continue;
        };
        if duplicates == Duplicates::Refuse && seen & field.flag() != 0 {
            return Err(DescriptionError::Repeated { field, offset: start });
        }
        seen |= field.flag();
        store(&mut parsed, field, value)?;
    }
    Ok(parsed)
}

fn store(parsed: &mut Parsed, field: Field, value: &[u8]) -> Result<(), DescriptionError> {
    let limit = |max: usize| {
        if value.len() > max {
            Err(DescriptionError::TooLong {
                field,
                length: value.len(),
            })
        } else {
            Ok(value.to_vec())
        }
    };
    match field {
        Field::Host => parsed.host = limit(MAX_HOST_FIELD)?,
        Field::Address => parsed.address = limit(MAX_HOST_FIELD)?,
        Field::User => parsed.user = limit(MAX_USER_FIELD)?,
        Field::Pid => parsed.pid = Pid(c_int(value, Radix::AUTO, field)?),
        Field::Uid => parsed.uid = Uid(c_uint(value, field)?),
        Field::CredentialUid => parsed.credential_uid = Uid(c_uint(value, field)?),
        Field::Version => parsed.version = c_int(value, Radix::HEX, field)?,
        Field::Sec => {
            let sec = if value.starts_with(b"krb5") {
                Sec::Krb5
            } else if value.starts_with(b"mskrb5") {
                Sec::MsKrb5
            } else {
                // The reference sets the field only for a mechanism it knows (`iakerb` is not
                // one); an unknown value leaves whatever an earlier token set.
                return Ok(());
            };
            parsed.sec = Some(sec);
        }
        Field::UpcallTarget => {
            limit(MAX_UPCALL_TARGET_FIELD)?;
            parsed.upcall_target = Some(if value.starts_with(b"mount") {
                UpcallTarget::Mount
            } else {
                UpcallTarget::App
            });
        }
    }
    parsed.have |= field.flag();
    Ok(())
}

/// `strtol` stored into a 32-bit C `int`: only overflow of `long` is an error (for every number
/// field, `ver` included: observed); the value wraps.
fn c_int(value: &[u8], radix: Radix, field: Field) -> Result<i32, DescriptionError> {
    let number = strtol(value, radix);
    if number.overflow {
        return Err(DescriptionError::Overflow { field });
    }
    #[expect(
        clippy::cast_possible_truncation,
        reason = "the reference stores the long in a 32-bit C type; the wrap is imitated"
    )]
    Ok(number.value as i32)
}

/// `strtol(…, 16)` stored into a `uid_t`.
fn c_uint(value: &[u8], field: Field) -> Result<u32, DescriptionError> {
    let number = c_int(value, Radix::HEX, field)?;
    Ok(u32::from_ne_bytes(number.to_ne_bytes()))
}

/// A checked request, ready for the credential step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpnegoRequest {
    /// The description version, echoed in the payload (0, 1 or 2; or a negative value the
    /// reference lets through too).
    pub version: i32,
    /// The server name (non-empty is not required: the reference takes `host=`).
    pub host: Vec<u8>,
    /// `ip4=`/`ip6=`, when sent.
    pub address: Option<Vec<u8>>,
    /// The mechanism.
    pub sec: Sec,
    /// The user to act as: `creduid`, or `uid` (`-l`, or no `creduid`).
    pub target_uid: Uid,
    /// `user=`, when sent (the keytab fallback's principal).
    pub user: Option<Vec<u8>>,
    /// The requesting process (0: none, no namespace switch and no environment probe).
    pub pid: Pid,
    /// Whose namespaces to use (absent: [`UpcallTarget::App`], as 7.4+).
    pub upcall_target: UpcallTarget,
    /// The bit mask of fields found (for log lines).
    pub have: u32,
}

/// The reference's checks after parsing: `host`, `ver` and `sec` required, `ver` ≤ 2, host name
/// shorter than 1025 bytes, then the uid (`creduid` unless `legacy_uid` or absent, else `uid`).
pub fn validate(parsed: Parsed, legacy_uid: bool) -> Result<SpnegoRequest, DescriptionError> {
    let required = Field::Host.flag() | Field::Version.flag() | Field::Sec.flag();
    let (Some(sec), true) = (parsed.sec, parsed.have & required == required) else {
        return Err(DescriptionError::Missing { have: parsed.have });
    };
    if parsed.version > MAX_VERSION {
        return Err(DescriptionError::IncompatibleVersion {
            version: parsed.version,
        });
    }
    if parsed.host.len() >= MAX_HOST_LEN {
        return Err(DescriptionError::HostTooLong {
            length: parsed.host.len(),
        });
    }
    let target_uid = if !legacy_uid && parsed.has(Field::CredentialUid) {
        parsed.credential_uid
    } else if parsed.has(Field::Uid) {
        parsed.uid
    } else {
        return Err(DescriptionError::NoUid);
    };
    let address = parsed.has(Field::Address).then_some(parsed.address);
    let user = (parsed.have & Field::User.flag() != 0).then_some(parsed.user);
    Ok(SpnegoRequest {
        version: parsed.version,
        host: parsed.host,
        address,
        sec,
        target_uid,
        user,
        pid: parsed.pid,
        upcall_target: parsed.upcall_target.unwrap_or(UpcallTarget::App),
        have: parsed.have,
    })
}

/// Parses (ours: repeated fields refused) and checks a describe string.
pub fn request(describe: &[u8], legacy_uid: bool) -> Result<SpnegoRequest, DescriptionError> {
    validate(parse(describe, Duplicates::Refuse)?, legacy_uid)
}

/// What the describe string asks for (the reference's dispatch: a prefix test of the whole
/// describe string, no check of the key type otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Starts with `cifs.resolver` or `dns_resolver`: resolve a host name; the field is the
    /// kernel cache keyring's name to link for possession.
    Resolver {
        /// `.cifs.resolver` or `.dns_resolver`.
        cache_keyring: &'static str,
    },
    /// Anything else.
    Spnego,
}

impl Mode {
    /// Dispatches on the describe string.
    #[must_use]
    pub fn of(describe: &[u8]) -> Self {
        if describe.starts_with(b"cifs.resolver") {
            Self::Resolver {
                cache_keyring: ".cifs.resolver",
            }
        } else if describe.starts_with(b"dns_resolver") {
            Self::Resolver {
                cache_keyring: ".dns_resolver",
            }
        } else {
            Self::Spnego
        }
    }
}

/// The resolver mode's host name: everything after the fourth `;` of the describe string
/// (`None` with fewer than four). A `dns_resolver` type prefix (`afsdb:`) is not understood, as
/// in the reference: it becomes part of the name.
#[must_use]
pub fn resolver_name(describe: &[u8]) -> Option<&[u8]> {
    let mut parts = describe.splitn(5, |&byte| byte == b';');
    parts.nth(4)
}

#[cfg(test)]
mod tests;
