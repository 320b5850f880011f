//! The mapping library proper: libnfsidmap's init, its method chain and the three methods
//! `nsswitch`, `static` and `regex` (nfs-utils 2.6.2 `support/nfsidmap/`).
//!
//! [`Idmap::new`] reads the settings from a [`Config`], decides the domain, resolves
//! `Nobody-User`/`Nobody-Group` and sets up the methods of `[Translation] Method` (and
//! `GSS-Methods`). Lookups run the methods in order: "not found" (`ENOENT`) moves on to the next
//! method, any other answer stops the chain. Rules reproduced, each with a unit test:
//! case-insensitive domain comparison, stripping at the *last* `@`, numeric owner fallback with
//! C `strtol`, the nobody fallback (`4294967294` when nothing resolves), No-Strip and
//! Reformat-Group, Local-Realms (exact case), `[Static]` first-assignment-wins reverse mapping,
//! regex capture/prefix rules, the 128-byte name buffer (`ENOMEM` beyond).
//!
//! Divergences (decisions.md #8, in `docs/compat/nfsidmap.md`): `regex` with a missing or bad
//! regex fails init instead of crashing at the first lookup; `umich_ldap` is refused at init
//! with a clear message; an empty method list (`Method = ,`) maps nothing (the reference
//! "succeeds" with uninitialised results: uid 0 for every name); a `[Static]` principal longer
//! than the name buffer is `ENOMEM` instead of a buffer overflow.

use std::cell::OnceCell;
use std::fmt;

use kup_sys::passwd::Passwd;
use kup_sys::posix_regex::Regex;
use kup_sys::{Gid, Uid};

use crate::conf::Config;
use crate::domain::{self, Origin};
use crate::system::{Accounts, HostNaming};

/// A lookup failure, as libnfsidmap's negative errno values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    /// `ENOENT`: not found; the chain tries the next method.
    pub const NOT_FOUND: Self = Self(kup_sys::errno::ENOENT);
    /// `ENOMEM`: the answer does not fit the caller's buffer.
    pub const NO_MEMORY: Self = Self(kup_sys::errno::ENOMEM);
    /// `EINVAL`: the name cannot be mapped by this method (stops the chain).
    pub const INVALID: Self = Self(kup_sys::errno::EINVAL);
    /// `ERANGE`: too many groups / domain longer than the caller's buffer.
    pub const RANGE: Self = Self(kup_sys::errno::ERANGE);
}

impl fmt::Display for Errno {
    /// The reference prints its negative return codes through `%m`, i.e. `strerror(-N)`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Unknown error -{}", self.0)
    }
}

/// Why the library could not be set up (nfsidmap: "Unable to create name to user id mappings.").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitError {
    /// A `Method`/`GSS-Methods` entry names no method we have.
    MethodUnavailable(Vec<u8>),
}

impl fmt::Display for InitError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MethodUnavailable(name) => write!(
                formatter,
                "libnfsidmap: requested translation method, '{}', is not available",
                String::from_utf8_lossy(name)
            ),
        }
    }
}

/// The size of the domain buffer callers of `nfs4_get_default_domain` use.
pub const MAX_DOMAIN_LENGTH: usize = 512;

/// The name buffer nfsidmap hands to `nfs4_uid_to_name` (`IDMAP_NAMESZ`).
pub const NAME_BUFFER: usize = 128;

/// `uid_t`/`gid_t` `-2`: the id when neither the name nor any nobody resolves.
pub const NOBODY_FALLBACK: u32 = 4_294_967_294;

/// A sink for library log lines (libnfsidmap's `IDMAP_LOG`, `syslog(LOG_WARNING)` by default).
pub type Logger = Box<dyn Fn(&str)>;

/// The configured mapping library.
pub struct Idmap<A: Accounts> {
    accounts: A,
    config: Config,
    domain: Vec<u8>,
    origin: Origin,
    methods: Vec<Method>,
    gss_methods: Option<Vec<Method>>,
    /// `Nobody-User`/`Nobody-Group` resolved on first use (the reference resolves them at init;
    /// the answers are the same, and the common path of a name that maps saves two NSS lookups).
    nobody_uid: OnceCell<Option<Uid>>,
    nobody_gid: OnceCell<Option<Gid>>,
    no_strip_user: bool,
    no_strip_group: bool,
    reformat_group: bool,
    local_realms: Vec<Vec<u8>>,
    verbosity: u32,
    logger: Logger,
}

/// The `[UMICH_SCHEMA]` options, read so a config using them is understood; the method itself
/// is not implemented yet (selecting it fails init).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UmichSchema {
    /// Every `[UMICH_SCHEMA]` tag the reference reads, with its value when set.
    pub options: Vec<(&'static str, Option<Vec<u8>>)>,
}

/// The tags umich_ldap reads from `[UMICH_SCHEMA]`.
pub const UMICH_SCHEMA_TAGS: [&str; 24] = [
    "LDAP_server",
    "LDAP_port",
    "LDAP_base",
    "LDAP_people_base",
    "LDAP_group_base",
    "LDAP_use_ssl",
    "LDAP_CA_CERT",
    "LDAP_tls_reqcert",
    "LDAP_sasl_mech",
    "LDAP_sasl_realm",
    "LDAP_user_dn",
    "LDAP_passwd",
    "LDAP_timeout_seconds",
    "NFSv4_person_objectclass",
    "NFSv4_name_attr",
    "NFSv4_uid_attr",
    "GSS_principal_attr",
    "NFSv4_acctname_attr",
    "NFSv4_group_objectclass",
    "NFSv4_gid_attr",
    "NFSv4_group_attr",
    "NFSv4_member_attr",
    "NFSv4_member_of_attr",
    "NFSv4_grouplist_filter",
];

impl UmichSchema {
    /// Reads every `[UMICH_SCHEMA]` option.
    #[must_use]
    pub fn read(config: &Config) -> Self {
        Self {
            options: UMICH_SCHEMA_TAGS
                .iter()
                .map(|&tag| (tag, config.get("UMICH_SCHEMA", tag.as_bytes())))
                .collect(),
        }
    }
}

enum Method {
    Nsswitch,
    Static(StaticTable),
    Regex(RegexMethod),
}

impl Method {
    fn name(&self) -> &'static str {
        match self {
            Self::Nsswitch => "nsswitch",
            Self::Static(_) => "static",
            Self::Regex(_) => "regex",
        }
    }
}

/// `[Static]` reverse tables, in the order the bindings took effect (first entry wins).
struct StaticTable {
    users: Vec<(Uid, Vec<u8>)>,
    groups: Vec<(Gid, Vec<u8>)>,
}

struct RegexMethod {
    user: Regex,
    group: Regex,
    no_prefix: Option<Regex>,
    group_name_prefix: Vec<u8>,
    user_prefix: Vec<u8>,
    user_suffix: Vec<u8>,
    group_prefix: Vec<u8>,
    group_suffix: Vec<u8>,
}

/// Which kind of id a chain resolves (for log texts and the nobody fallback).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

impl<A: Accounts> Idmap<A> {
    /// libnfsidmap's `nfs4_init_name_mapping`. Library messages of level ≤ `verbosity` go to
    /// `logger` (nfsidmap initialises with verbosity 0 and raises it afterwards).
    pub fn new(
        config: Config,
        accounts: A,
        host: &dyn HostNaming,
        verbosity: u32,
        logger: Logger,
    ) -> Result<Self, InitError> {
        let mut notes = Vec::new();
        let (domain, origin) = domain::decide(config.get("General", b"Domain"), host, &mut notes);
        let no_strip = config
            .get("General", b"No-Strip")
            .unwrap_or_else(|| b"none".to_vec());
        let (no_strip_user, no_strip_group) = if no_strip.eq_ignore_ascii_case(b"both") {
            (true, true)
        } else {
            (
                no_strip.eq_ignore_ascii_case(b"user"),
                no_strip.eq_ignore_ascii_case(b"group"),
            )
        };
        let reformat_group = no_strip_group
            && config.get("General", b"Reformat-Group").is_some_and(|value| {
                [&b"true"[..], b"on", b"yes"]
                    .iter()
                    .any(|word| value.eq_ignore_ascii_case(word))
            });
        let local_realms = config.get_list("General", b"Local-Realms").unwrap_or_else(|| {
            let nss_domain = if domain.len() < MAX_DOMAIN_LENGTH {
                domain.clone()
            } else {
                Vec::new()
            };
            vec![nss_domain.to_ascii_uppercase()]
        });
        let mut idmap = Self {
            accounts,
            config,
            domain,
            origin,
            methods: Vec::new(),
            gss_methods: None,
            nobody_uid: OnceCell::new(),
            nobody_gid: OnceCell::new(),
            no_strip_user,
            no_strip_group,
            reformat_group,
            local_realms,
            verbosity,
            logger,
        };
        for (level, note) in notes {
            idmap.log(level, &note);
        }
        let origin_text = if idmap.origin == Origin::Configured {
            ""
        } else {
            " (default)"
        };
        idmap.log(
            1,
            &format!(
                "libnfsidmap: using{origin_text} domain: {}",
                String::from_utf8_lossy(&idmap.domain)
            ),
        );
        let method_names = idmap
            .config
            .get_list("Translation", b"Method")
            .unwrap_or_else(|| vec![b"nsswitch".to_vec()]);
        idmap.methods = idmap.load_methods(&method_names)?;
        if let Some(names) = idmap.config.get_list("Translation", b"GSS-Methods") {
            idmap.gss_methods = Some(idmap.load_methods(&names)?);
        }
        Ok(idmap)
    }

    /// Raises or lowers the library verbosity (`nfs4_set_debug`), logging the new level.
    pub fn set_verbosity(&mut self, verbosity: u32) {
        self.verbosity = verbosity;
        self.log(0, &format!("Setting log level to {verbosity}\n"));
    }

    /// The configuration the library was built from.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The NFSv4 domain and where it came from.
    #[must_use]
    pub fn domain(&self) -> (&[u8], Origin) {
        (&self.domain, self.origin)
    }

    /// `nfs4_get_default_domain` with the usual 512-byte buffer: `ERANGE` if it does not fit.
    pub fn default_domain(&self) -> Result<&[u8], Errno> {
        if self.domain.len() < MAX_DOMAIN_LENGTH {
            Ok(&self.domain)
        } else {
            Err(Errno::RANGE)
        }
    }

    /// The realms treated as local for principals (`Local-Realms`, default: upper-cased domain).
    #[must_use]
    pub fn local_realms(&self) -> &[Vec<u8>] {
        &self.local_realms
    }

    /// `nfs4_name_to_uid`: the raw chain.
    pub fn name_to_uid(&self, name: &[u8]) -> Result<Uid, Errno> {
        self.chain(false, "nfs4_name_to_uid", "name_to_uid", |method| match method {
            Method::Nsswitch => self.nss_name_to_uid(name),
            Method::Static(_) => self.static_name_to_user(name).map(|user| user.uid),
            Method::Regex(regex) => self.regex_name_to_user(regex, name).map(|user| user.uid),
        })
    }

    /// `nfs4_name_to_gid`: the raw chain.
    pub fn name_to_gid(&self, name: &[u8]) -> Result<Gid, Errno> {
        self.chain(false, "nfs4_name_to_gid", "name_to_gid", |method| match method {
            Method::Nsswitch => self.nss_name_to_gid(name),
            Method::Static(_) => self.static_name_to_gid(name),
            Method::Regex(regex) => self.regex_name_to_gid(regex, name),
        })
    }

    /// `nfs4_owner_to_uid`: the chain, else the name as a number (C `strtol`, `0` only when
    /// spelled `0`), else the nobody uid. Never fails.
    #[must_use]
    pub fn owner_to_uid(&self, name: &[u8]) -> Uid {
        match self.name_to_uid(name) {
            Ok(uid) => uid,
            Err(_) => Uid::new(numeric_id(name).unwrap_or_else(|| self.nobody_id(Kind::User))),
        }
    }

    /// `nfs4_group_owner_to_gid`: as [`Idmap::owner_to_uid`] for groups.
    #[must_use]
    pub fn group_owner_to_gid(&self, name: &[u8]) -> Gid {
        match self.name_to_gid(name) {
            Ok(gid) => gid,
            Err(_) => Gid::new(numeric_id(name).unwrap_or_else(|| self.nobody_id(Kind::Group))),
        }
    }

    /// `nfs4_uid_to_name` into a buffer of `capacity` bytes (NUL included), with the default
    /// domain.
    pub fn uid_to_name(&self, uid: Uid, capacity: usize) -> Result<Vec<u8>, Errno> {
        let domain = self.default_domain()?.to_vec();
        self.chain(false, "nfs4_uid_to_name", "uid_to_name", |method| match method {
            Method::Nsswitch => {
                let user = self
                    .accounts
                    .user_by_uid(uid)
                    .ok()
                    .flatten()
                    .ok_or(Errno::NOT_FOUND)?;
                write_owner(&user.name, &domain, capacity, !self.no_strip_user)
            }
            Method::Static(table) => table
                .users
                .iter()
                .find(|(id, _)| *id == uid)
                .ok_or(Errno::NOT_FOUND)
                .and_then(|(_, principal)| fit(principal.clone(), capacity)),
            Method::Regex(regex) => {
                let user = self
                    .accounts
                    .user_by_uid(uid)
                    .ok()
                    .flatten()
                    .ok_or(Errno::NOT_FOUND)?;
                fit(
                    [regex.user_prefix.as_slice(), &user.name, &regex.user_suffix].concat(),
                    capacity,
                )
            }
        })
    }

    /// `nfs4_gid_to_name` into a buffer of `capacity` bytes, with the default domain.
    pub fn gid_to_name(&self, gid: Gid, capacity: usize) -> Result<Vec<u8>, Errno> {
        let domain = self.default_domain()?.to_vec();
        self.chain(false, "nfs4_gid_to_name", "gid_to_name", |method| match method {
            Method::Nsswitch => {
                let group = self
                    .accounts
                    .group_by_gid(gid)
                    .map_err(Errno)?
                    .ok_or(Errno::NOT_FOUND)?;
                write_owner(&group.name, &domain, capacity, !self.no_strip_group)
            }
            Method::Static(table) => table
                .groups
                .iter()
                .find(|(id, _)| *id == gid)
                .ok_or(Errno::NOT_FOUND)
                .and_then(|(_, principal)| fit(principal.clone(), capacity)),
            Method::Regex(regex) => {
                let group = self
                    .accounts
                    .group_by_gid(gid)
                    .map_err(Errno)?
                    .ok_or(Errno::NOT_FOUND)?;
                let skip_prefix = regex.group_name_prefix.is_empty()
                    || group.name.starts_with(&regex.group_name_prefix)
                    || regex
                        .no_prefix
                        .as_ref()
                        .is_some_and(|no_prefix| no_prefix.is_match(&group.name));
                let name_prefix: &[u8] = if skip_prefix {
                    b""
                } else {
                    &regex.group_name_prefix
                };
                fit(
                    [
                        regex.group_prefix.as_slice(),
                        name_prefix,
                        &group.name,
                        &regex.group_suffix,
                    ]
                    .concat(),
                    capacity,
                )
            }
        })
    }

    /// `nfs4_gss_princ_to_ids(secname, principal)`: uid and primary gid, over `GSS-Methods`
    /// (default: `Method`).
    pub fn principal_to_ids(&self, secname: &[u8], principal: &[u8]) -> Result<(Uid, Gid), Errno> {
        self.chain(true, "nfs4_gss_princ_to_ids", "princ_to_ids", |method| {
            let user = match method {
                Method::Nsswitch => {
                    if secname == b"spkm3" {
                        return Err(Errno::NOT_FOUND);
                    }
                    if secname != b"krb5" {
                        return Err(Errno::INVALID);
                    }
                    let at = principal
                        .iter()
                        .position(|&byte| byte == b'@')
                        .ok_or(Errno::INVALID)?;
                    let realm = principal.get(at + 1..).unwrap_or_default();
                    if !self.local_realms.iter().any(|local| local.as_slice() == realm) {
                        self.log(
                            1,
                            &format!(
                                "nss_gss_princ_to_ids: Local-Realm '{}': NOT FOUND",
                                String::from_utf8_lossy(realm)
                            ),
                        );
                        return Err(Errno::NOT_FOUND);
                    }
                    self.accounts
                        .user_by_name(before_last_at(principal))
                        .ok()
                        .flatten()
                        .ok_or(Errno::NOT_FOUND)?
                }
                table => self.principal_table_user(table, secname, principal)?,
            };
            Ok((user.uid, user.gid))
        })
    }

    /// `nfs4_gss_princ_to_grouplist(secname, principal)`: every group of the mapped user.
    pub fn principal_to_groups(&self, secname: &[u8], principal: &[u8]) -> Result<Vec<Gid>, Errno> {
        self.chain(
            true,
            "nfs4_gss_princ_to_grouplist",
            "gss_princ_to_grouplist",
            |method| {
                let user = match method {
                    Method::Nsswitch => {
                        if secname != b"krb5" {
                            return Err(Errno::INVALID);
                        }
                        self.accounts
                            .user_by_name(before_last_at(principal))
                            .ok()
                            .flatten()
                            .ok_or(Errno::NOT_FOUND)?
                    }
                    table => self.principal_table_user(table, secname, principal)?,
                };
                self.accounts
                    .group_list(&user.name, user.gid)
                    .map_err(|_| Errno::RANGE)
            },
        )
    }

    /// The static and regex methods map a GSS principal to a user the same way for ids and for
    /// group lists (only nsswitch differs between the two): checked secname, then the table.
    fn principal_table_user(
        &self,
        method: &Method,
        secname: &[u8],
        principal: &[u8],
    ) -> Result<Passwd, Errno> {
        gss_secname_ok(secname)?;
        match method {
            Method::Static(_) => self.static_name_to_user(principal),
            Method::Regex(regex) => self.regex_name_to_user(regex, principal),
            Method::Nsswitch => Err(Errno::INVALID),
        }
    }

    fn log(&self, level: u32, message: &str) {
        if level <= self.verbosity {
            (self.logger)(message);
        }
    }

    fn load_methods(&self, names: &[Vec<u8>]) -> Result<Vec<Method>, InitError> {
        let mut methods = Vec::new();
        for name in names {
            let method = match name.as_slice() {
                b"nsswitch" => Some(Method::Nsswitch),
                b"static" => Some(Method::Static(self.static_init())),
                b"regex" => self.regex_init().map(Method::Regex),
                b"umich_ldap" => {
                    self.log(
                        0,
                        "libnfsidmap: the umich_ldap method is not supported by this nfsidmap (its [UMICH_SCHEMA] options are read but LDAP lookups are not implemented)",
                    );
                    None
                }
                _ => None,
            };
            let Some(method) = method else {
                let error = InitError::MethodUnavailable(name.clone());
                self.log(0, &error.to_string());
                return Err(error);
            };
            self.log(
                1,
                &format!("libnfsidmap: loaded plugin for method {}", method.name()),
            );
            methods.push(method);
        }
        Ok(methods)
    }

    /// Runs `lookup` over the methods: `ENOENT` continues, anything else stops.
    fn chain<T>(
        &self,
        gss: bool,
        function: &str,
        operation: &str,
        lookup: impl Fn(&Method) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let methods = match (&self.gss_methods, gss) {
            (Some(gss_methods), true) => gss_methods,
            _ => &self.methods,
        };
        let mut result = Err(Errno::NOT_FOUND);
        for method in methods {
            self.log(4, &format!("{function}: calling {}->{operation}", method.name()));
            result = lookup(method);
            let code = result.as_ref().map_or_else(|error| -error.0, |_| 0);
            self.log(
                4,
                &format!("{function}: {}->{operation} returned {code}", method.name()),
            );
            if !matches!(result, Err(Errno::NOT_FOUND)) {
                break;
            }
        }
        let code = result.as_ref().map_or_else(|error| -error.0, |_| 0);
        self.log(4, &format!("{function}: final return value is {code}"));
        result
    }

    /// libnfsidmap's `set_id_to_nobody`.
    fn nobody_id(&self, kind: Kind) -> u32 {
        let configured = match kind {
            Kind::User => self.configured_nobody_uid().map(Uid::get),
            Kind::Group => self.configured_nobody_gid().map(Gid::get),
        };
        if let Some(id) = configured {
            return id;
        }
        let name = [&b"nobody@"[..], &self.domain].concat();
        match kind {
            Kind::User => self.name_to_uid(&name).map(Uid::get),
            Kind::Group => self.name_to_gid(&name).map(Gid::get),
        }
        .unwrap_or(NOBODY_FALLBACK)
    }

    fn configured_nobody_uid(&self) -> Option<Uid> {
        *self.nobody_uid.get_or_init(|| {
            let name = self.config.get("Mapping", b"Nobody-User")?;
            if let Ok(Some(user)) = self.accounts.user_by_name(&name) {
                Some(user.uid)
            } else {
                self.log(
                    1,
                    &format!("libnfsidmap: Nobody-User ({}) not found", lossy(&name)),
                );
                None
            }
        })
    }

    fn configured_nobody_gid(&self) -> Option<Gid> {
        *self.nobody_gid.get_or_init(|| {
            let name = self.config.get("Mapping", b"Nobody-Group")?;
            if let Ok(Some(group)) = self.accounts.group_by_name(&name) {
                Some(group.gid)
            } else {
                self.log(
                    1,
                    &format!("libnfsidmap: Nobody-Group ({}) not found", lossy(&name)),
                );
                None
            }
        })
    }

    /// The domain the nsswitch method compares with (its own copy, empty if it did not fit).
    fn nss_domain(&self) -> &[u8] {
        self.default_domain().unwrap_or_default()
    }

    fn nss_name_to_uid(&self, name: &[u8]) -> Result<Uid, Errno> {
        let domain = self.nss_domain();
        if self.no_strip_user {
            if let Ok(Some(user)) = self.accounts.user_by_name(name) {
                return Ok(user.uid);
            }
            self.log(
                1,
                &format!(
                    "nss_getpwnam: name '{}' not found (domain not stripped)",
                    lossy(name)
                ),
            );
        }
        let Some(local) = strip_domain(name, domain) else {
            self.log(
                0,
                &format!(
                    "nss_getpwnam: name '{}' does not map into domain '{}'",
                    lossy(name),
                    lossy(domain)
                ),
            );
            return Err(Errno::INVALID);
        };
        self.log(
            4,
            &format!(
                "nss_getpwnam: name '{}' domain '{}': resulting localname '{}'",
                lossy(name),
                lossy(domain),
                lossy(local)
            ),
        );
        match self.accounts.user_by_name(local) {
            Ok(Some(user)) => {
                self.log(
                    4,
                    &format!("nss_name_to_uid: name '{}' uid {}", lossy(name), user.uid),
                );
                Ok(user.uid)
            }
            Ok(None) => {
                self.log(
                    1,
                    &format!(
                        "nss_getpwnam: name '{}' not found in domain '{}'",
                        lossy(local),
                        lossy(domain)
                    ),
                );
                Err(Errno::NOT_FOUND)
            }
            Err(error) => Err(Errno(error)),
        }
    }

    fn nss_name_to_gid(&self, name: &[u8]) -> Result<Gid, Errno> {
        let domain = self.nss_domain();
        if self.no_strip_group {
            let unstripped = if self.reformat_group {
                reformat_group_name(name)
            } else {
                Some(name.to_vec())
            };
            match unstripped {
                None => self.log(
                    1,
                    &format!("nss_name_to_gid: failed to reformat name '{}'", lossy(name)),
                ),
                Some(lookup) => {
                    if let Ok(Some(group)) = self.accounts.group_by_name(&lookup) {
                        return Ok(group.gid);
                    }
                }
            }
        }
        let Some(local) = strip_domain(name, domain) else {
            self.log(
                0,
                &format!(
                    "nss_name_to_gid: name '{}' does not map into domain '{}'",
                    lossy(name),
                    lossy(domain)
                ),
            );
            return Err(Errno::INVALID);
        };
        match self.accounts.group_by_name(local) {
            Ok(Some(group)) => Ok(group.gid),
            Ok(None) => {
                self.log(
                    1,
                    &format!(
                        "nss_name_to_gid: name '{}' not found in domain '{}'",
                        lossy(local),
                        lossy(domain)
                    ),
                );
                Err(Errno::NOT_FOUND)
            }
            Err(error) => Err(Errno(error)),
        }
    }

    /// `[Static]` setup: each principal whose value is a user/group is remembered for the
    /// reverse direction; values that are not logged (at every start, as the reference does).
    fn static_init(&self) -> StaticTable {
        let mut table = StaticTable {
            users: Vec::new(),
            groups: Vec::new(),
        };
        let tags = self.config.tags("Static");
        for tag in &tags {
            if let Ok(user) = self.static_name_to_user(tag) {
                table.users.push((user.uid, tag.clone()));
            }
        }
        for tag in &tags {
            if let Ok(gid) = self.static_name_to_gid(tag) {
                table.groups.push((gid, tag.clone()));
            }
        }
        table
    }

    fn static_name_to_user(&self, name: &[u8]) -> Result<Passwd, Errno> {
        let local = self.config.get("Static", name).ok_or(Errno::NOT_FOUND)?;
        match self.accounts.user_by_name(&local) {
            Ok(Some(user)) => Ok(user),
            result => {
                self.log(
                    0,
                    &format!(
                        "static_getpwnam: localname '{}' for '{}' not found",
                        lossy(&local),
                        lossy(name)
                    ),
                );
                Err(result.err().map_or(Errno::NOT_FOUND, Errno))
            }
        }
    }

    fn static_name_to_gid(&self, name: &[u8]) -> Result<Gid, Errno> {
        let local = self.config.get("Static", name).ok_or(Errno::NOT_FOUND)?;
        match self.accounts.group_by_name(&local) {
            Ok(Some(group)) => Ok(group.gid),
            result => {
                self.log(
                    0,
                    &format!(
                        "static_getgrnam: local group '{}' for '{}' not found",
                        lossy(&local),
                        lossy(name)
                    ),
                );
                Err(result.err().map_or(Errno::NOT_FOUND, Errno))
            }
        }
    }

    fn regex_init(&self) -> Option<RegexMethod> {
        let compile = |tag: &str, what: &str| -> Option<Regex> {
            let Some(pattern) = self.config.get("Regex", tag.as_bytes()) else {
                self.log(0, &format!("regex_init: regex for {what} missing"));
                return None;
            };
            match Regex::extended_case_insensitive(&pattern) {
                Ok(regex) => Some(regex),
                Err(status) => {
                    self.log(
                        0,
                        &format!("regex_init: compiling regex for {what} failed with status {status}"),
                    );
                    None
                }
            }
        };
        let user = compile("User-Regex", "user mapping")?;
        let group = compile("Group-Regex", "group mapping")?;
        let no_prefix = match self.config.get("Regex", b"Group-Name-No-Prefix-Regex") {
            None => None,
            Some(_) => Some(compile("Group-Name-No-Prefix-Regex", "group prefix exclusion")?),
        };
        let text = |tag: &str| self.config.get("Regex", tag.as_bytes()).unwrap_or_default();
        Some(RegexMethod {
            user,
            group,
            no_prefix,
            group_name_prefix: text("Group-Name-Prefix"),
            user_prefix: text("Prepend-Before-User"),
            user_suffix: text("Append-After-User"),
            group_prefix: text("Prepend-Before-Group"),
            group_suffix: text("Append-After-Group"),
        })
    }

    fn regex_name_to_user(&self, regex: &RegexMethod, name: &[u8]) -> Result<Passwd, Errno> {
        let local = first_capture(&regex.user, name).ok_or(Errno::NOT_FOUND)?;
        match self.accounts.user_by_name(local) {
            Ok(Some(user)) => Ok(user),
            Ok(None) => Err(Errno::NOT_FOUND),
            Err(error) => Err(Errno(error)),
        }
    }

    fn regex_name_to_gid(&self, regex: &RegexMethod, name: &[u8]) -> Result<Gid, Errno> {
        let captured = first_capture(&regex.group, name).ok_or(Errno::NOT_FOUND)?;
        let mut local = captured;
        if !regex.group_name_prefix.is_empty() && captured.starts_with(&regex.group_name_prefix) {
            let keep = regex
                .no_prefix
                .as_ref()
                .is_some_and(|no_prefix| no_prefix.is_match(captured));
            if !keep {
                local = captured.get(regex.group_name_prefix.len()..).unwrap_or_default();
            }
        }
        match self.accounts.group_by_name(local) {
            Ok(Some(group)) => Ok(group.gid),
            Ok(None) => Err(Errno::NOT_FOUND),
            Err(error) => Err(Errno(error)),
        }
    }
}

/// libnfsidmap's `id_as_chars`: `strtol` non-zero, or exactly `0`; truncated to 32 bits.
#[must_use]
pub fn numeric_id(name: &[u8]) -> Option<u32> {
    let value = kup_text::strtol(name, kup_text::Radix::DECIMAL).value;
    if value == 0 && name != b"0" {
        return None;
    }
    // Truncation to 32 bits is the reference's `(int)value`.
    #[allow(clippy::cast_possible_truncation)]
    let id = value as i32;
    Some(id.cast_unsigned())
}

/// The part before the last `@` if the part after it equals `domain` case-insensitively.
fn strip_domain<'a>(name: &'a [u8], domain: &[u8]) -> Option<&'a [u8]> {
    let at = name.iter().rposition(|&byte| byte == b'@')?;
    let after = name.get(at + 1..)?;
    if !after.eq_ignore_ascii_case(domain) {
        return None;
    }
    name.get(..at)
}

/// The part before the last `@` (all of it when there is none).
fn before_last_at(name: &[u8]) -> &[u8] {
    name.iter()
        .rposition(|&byte| byte == b'@')
        .and_then(|at| name.get(..at))
        .unwrap_or(name)
}

/// `name@dom.ain` → `DOM\name` (first `@`, first label upper-cased).
fn reformat_group_name(name: &[u8]) -> Option<Vec<u8>> {
    let at = name.iter().position(|&byte| byte == b'@')?;
    let domain = name.get(at + 1..)?;
    let dot = domain.iter().position(|&byte| byte == b'.')?;
    let mut result = domain.get(..dot)?.to_ascii_uppercase();
    result.push(b'\\');
    result.extend_from_slice(name.get(..at)?);
    Some(result)
}

/// nsswitch's `write_name`: `local@domain`, or `local` as-is when not appending and it already
/// holds an `@`; `ENOMEM` when it does not fit `capacity` with its NUL.
fn write_owner(local: &[u8], domain: &[u8], capacity: usize, append: bool) -> Result<Vec<u8>, Errno> {
    if append || !local.contains(&b'@') {
        fit([local, b"@", domain].concat(), capacity)
    } else {
        fit(local.to_vec(), capacity)
    }
}

fn fit(name: Vec<u8>, capacity: usize) -> Result<Vec<u8>, Errno> {
    if name.len() < capacity {
        Ok(name)
    } else {
        Err(Errno::NO_MEMORY)
    }
}

fn gss_secname_ok(secname: &[u8]) -> Result<(), Errno> {
    if secname == b"krb5" || secname == b"spkm3" {
        Ok(())
    } else {
        Err(Errno::INVALID)
    }
}

/// The first participating capture group (1..99) of a match.
fn first_capture<'a>(regex: &Regex, text: &'a [u8]) -> Option<&'a [u8]> {
    let captures = regex.captures(text)?;
    let (start, end) = captures.iter().skip(1).find_map(|slot| *slot)?;
    text.get(start..end)
}

fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(test)]
mod tests;
