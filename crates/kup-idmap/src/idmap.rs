//! The mapping library proper: libnfsidmap's init and its method chain (nfs-utils 2.6.2
//! `support/nfsidmap/`). Each translation method implements one `Method` trait in its own
//! module: `nsswitch`, `static_map` (`static`), `regex` and `umich` (`umich_ldap`, refused at
//! init).
//!
//! [`Idmap::new`] reads the settings from a [`Config`], decides the domain, resolves
//! `Nobody-User`/`Nobody-Group` and loads the methods of `[Translation] Method` (and
//! `GSS-Methods`). Lookups run the methods in order: "not found" (`ENOENT`) moves on to the next
//! method, any other answer stops the chain. Rules reproduced here, each with a unit test:
//! numeric owner fallback with C `strtol`, the nobody fallback (`4294967294` when nothing
//! resolves), the 128-byte name buffer (`ENOMEM` beyond), the 512-byte domain buffer (`ERANGE`);
//! each method's module lists its own.
//!
//! Divergences (decisions.md #8, in `docs/compat/nfsidmap.md`): `regex` with a missing or bad
//! regex fails init instead of crashing at the first lookup; `umich_ldap` is refused at init
//! with a clear message; an empty method list (`Method = ,`) maps nothing (the reference
//! "succeeds" with uninitialised results: uid 0 for every name); a `[Static]` principal longer
//! than the name buffer is `ENOMEM` instead of a buffer overflow.
//!
//! Every name, domain, realm or principal in a log message goes through
//! `kup_runtime::helper::Printable` (escaped, cut): names come from NFS servers and domains from
//! DNS; the reference logs them raw.

mod nsswitch;
mod regex;
mod static_map;
mod umich;

use std::cell::OnceCell;
use std::fmt;

use kup_runtime::helper::Printable;
use kup_sys::passwd::Passwd;
use kup_sys::{Gid, Uid};

use self::nsswitch::Nsswitch;
use self::regex::RegexMap;
use self::static_map::StaticMap;
pub use self::umich::{UMICH_SCHEMA_TAGS, UmichSchema};
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
                Printable(name)
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
    methods: Vec<Box<dyn Method>>,
    gss_methods: Option<Vec<Box<dyn Method>>>,
    /// `Nobody-User`/`Nobody-Group` resolved on first use (the reference resolves them at init;
    /// the answers are the same, and the common path of a name that maps saves two NSS lookups).
    nobody_uid: OnceCell<Option<Uid>>,
    nobody_gid: OnceCell<Option<Gid>>,
    local_realms: Vec<Vec<u8>>,
    verbosity: u32,
    logger: Logger,
}

/// One translation method (an entry of `[Translation] Method`, libnfsidmap's plugin table), with
/// the queries the library runs over the chain. Each answers `Ok` when the method maps the value,
/// `Err(Errno::NOT_FOUND)` when it does not know it (the chain asks the next method), and any
/// other `Err` to stop the chain with that error (e.g. nsswitch's `EINVAL` for a name outside the
/// domain, `ENOMEM` for an answer that does not fit `capacity`).
trait Method {
    /// The name the chain's trace and the load message use.
    fn name(&self) -> &'static str;
    /// `name_to_uid`: an NFSv4 owner name to a uid.
    fn name_to_uid(&self, services: &Services<'_>, name: &[u8]) -> Result<Uid, Errno>;
    /// `name_to_gid`: an NFSv4 group name to a gid.
    fn name_to_gid(&self, services: &Services<'_>, name: &[u8]) -> Result<Gid, Errno>;
    /// `uid_to_name` in `domain` (the library's, known to fit its buffer), into `capacity` bytes
    /// with the NUL.
    fn uid_to_name(
        &self,
        services: &Services<'_>,
        uid: Uid,
        domain: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, Errno>;
    /// `gid_to_name`, as [`Method::uid_to_name`] for groups.
    fn gid_to_name(
        &self,
        services: &Services<'_>,
        gid: Gid,
        domain: &[u8],
        capacity: usize,
    ) -> Result<Vec<u8>, Errno>;
    /// `princ_to_ids`: a GSS principal of mechanism `secname` to a uid and primary gid.
    fn principal_to_ids(
        &self,
        services: &Services<'_>,
        secname: &[u8],
        principal: &[u8],
    ) -> Result<(Uid, Gid), Errno>;
    /// `gss_princ_to_grouplist`: every group of the user a GSS principal maps to.
    fn principal_to_groups(
        &self,
        services: &Services<'_>,
        secname: &[u8],
        principal: &[u8],
    ) -> Result<Vec<Gid>, Errno>;
}

/// What the library lends a method for one query: the account database (the only effect a
/// method has), the configuration, and the library's log at its current verbosity.
struct Services<'a> {
    accounts: &'a dyn Accounts,
    config: &'a Config,
    logger: &'a Logger,
    verbosity: u32,
}

impl Services<'_> {
    /// Writes `message` if `level` is within the library's verbosity.
    fn log(&self, level: u32, message: &str) {
        if level <= self.verbosity {
            (self.logger)(message);
        }
    }

    /// The groups of a mapped user (`getgrouplist`; any failure is `ERANGE`).
    fn group_list(&self, user: &Passwd) -> Result<Vec<Gid>, Errno> {
        self.accounts
            .group_list(&user.name, user.gid)
            .map_err(|_| Errno::RANGE)
    }
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
        let local_realms = config
            .get_list("General", b"Local-Realms")
            .unwrap_or_else(|| vec![fitting_domain(&domain).to_ascii_uppercase()]);
        let nsswitch = Nsswitch::new(&config, fitting_domain(&domain), &local_realms);
        let mut idmap = Self {
            accounts,
            config,
            domain,
            origin,
            methods: Vec::new(),
            gss_methods: None,
            nobody_uid: OnceCell::new(),
            nobody_gid: OnceCell::new(),
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
                Printable(&idmap.domain)
            ),
        );
        let method_names = idmap
            .config
            .get_list("Translation", b"Method")
            .unwrap_or_else(|| vec![b"nsswitch".to_vec()]);
        idmap.methods = idmap.load_methods(&method_names, &nsswitch)?;
        if let Some(names) = idmap.config.get_list("Translation", b"GSS-Methods") {
            idmap.gss_methods = Some(idmap.load_methods(&names, &nsswitch)?);
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
        self.chain(false, "nfs4_name_to_uid", "name_to_uid", |method, services| {
            method.name_to_uid(services, name)
        })
    }

    /// `nfs4_name_to_gid`: the raw chain.
    pub fn name_to_gid(&self, name: &[u8]) -> Result<Gid, Errno> {
        self.chain(false, "nfs4_name_to_gid", "name_to_gid", |method, services| {
            method.name_to_gid(services, name)
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
        let domain = self.default_domain()?;
        self.chain(false, "nfs4_uid_to_name", "uid_to_name", |method, services| {
            method.uid_to_name(services, uid, domain, capacity)
        })
    }

    /// `nfs4_gid_to_name` into a buffer of `capacity` bytes, with the default domain.
    pub fn gid_to_name(&self, gid: Gid, capacity: usize) -> Result<Vec<u8>, Errno> {
        let domain = self.default_domain()?;
        self.chain(false, "nfs4_gid_to_name", "gid_to_name", |method, services| {
            method.gid_to_name(services, gid, domain, capacity)
        })
    }

    /// `nfs4_gss_princ_to_ids(secname, principal)`: uid and primary gid, over `GSS-Methods`
    /// (default: `Method`).
    pub fn principal_to_ids(&self, secname: &[u8], principal: &[u8]) -> Result<(Uid, Gid), Errno> {
        self.chain(
            true,
            "nfs4_gss_princ_to_ids",
            "princ_to_ids",
            |method, services| method.principal_to_ids(services, secname, principal),
        )
    }

    /// `nfs4_gss_princ_to_grouplist(secname, principal)`: every group of the mapped user.
    pub fn principal_to_groups(&self, secname: &[u8], principal: &[u8]) -> Result<Vec<Gid>, Errno> {
        self.chain(
            true,
            "nfs4_gss_princ_to_grouplist",
            "gss_princ_to_grouplist",
            |method, services| method.principal_to_groups(services, secname, principal),
        )
    }

    /// What a method may use during a query.
    fn services(&self) -> Services<'_> {
        Services {
            accounts: &self.accounts,
            config: &self.config,
            logger: &self.logger,
            verbosity: self.verbosity,
        }
    }

    fn log(&self, level: u32, message: &str) {
        self.services().log(level, message);
    }

    /// Loads each named method in order; the first name that is no method fails init. The
    /// only place a method name picks an implementation.
    fn load_methods(
        &self,
        names: &[Vec<u8>],
        nsswitch: &Nsswitch,
    ) -> Result<Vec<Box<dyn Method>>, InitError> {
        let services = self.services();
        let mut methods = Vec::new();
        for name in names {
            let method: Option<Box<dyn Method>> = match name.as_slice() {
                b"nsswitch" => Some(Box::new(nsswitch.clone())),
                b"static" => Some(Box::new(StaticMap::load(&services))),
                b"regex" => RegexMap::load(&services).map(|regex| Box::new(regex) as Box<dyn Method>),
                b"umich_ldap" => {
                    umich::refuse(&services);
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
        lookup: impl Fn(&dyn Method, &Services<'_>) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let methods = match (&self.gss_methods, gss) {
            (Some(gss_methods), true) => gss_methods,
            _ => &self.methods,
        };
        let services = self.services();
        let mut result = Err(Errno::NOT_FOUND);
        for method in methods {
            services.log(4, &format!("{function}: calling {}->{operation}", method.name()));
            result = lookup(method.as_ref(), &services);
            let code = result.as_ref().map_or_else(|error| -error.0, |_| 0);
            services.log(
                4,
                &format!("{function}: {}->{operation} returned {code}", method.name()),
            );
            if !matches!(result, Err(Errno::NOT_FOUND)) {
                break;
            }
        }
        let code = result.as_ref().map_or_else(|error| -error.0, |_| 0);
        services.log(4, &format!("{function}: final return value is {code}"));
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
                    &format!("libnfsidmap: Nobody-User ({}) not found", Printable(&name)),
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
                    &format!("libnfsidmap: Nobody-Group ({}) not found", Printable(&name)),
                );
                None
            }
        })
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

/// The domain as the methods see it: the library's, or empty when it does not fit the domain
/// buffer (nsswitch keeps its own copy; `Local-Realms` defaults to it upper-cased).
fn fitting_domain(domain: &[u8]) -> &[u8] {
    if domain.len() < MAX_DOMAIN_LENGTH {
        domain
    } else {
        &[]
    }
}

/// `name` if it fits `capacity` bytes with its NUL, else `ENOMEM`.
fn fit(name: Vec<u8>, capacity: usize) -> Result<Vec<u8>, Errno> {
    if name.len() < capacity {
        Ok(name)
    } else {
        Err(Errno::NO_MEMORY)
    }
}

/// The mechanisms the static and regex methods accept for principals (`EINVAL` otherwise).
fn gss_secname_ok(secname: &[u8]) -> Result<(), Errno> {
    if secname == b"krb5" || secname == b"spkm3" {
        Ok(())
    } else {
        Err(Errno::INVALID)
    }
}

#[cfg(test)]
mod tests;
