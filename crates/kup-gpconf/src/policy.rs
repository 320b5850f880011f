//! The credential environment of an acquire (spec §6.1, gssproxy 0.9.1's
//! `gp_get_cred_environment`): from a matched service, the caller's uid, the requested usage and
//! the requested name, which uid the credentials are for, which name to ask for, and the
//! credential store to pass to `gss_acquire_cred_from`.
//!
//! Pure: the caller passes `getpwuid` as a function and does the GSSAPI calls (importing the
//! names this module returns, creating and destroying the private `MEMORY:` ccache).
//!
//! Reproduced (tests below): `cred_usage` narrows a `both` request and refuses the other usage;
//! a trusted service called by its own euid with a "string uid" or "machine uid" name acts for
//! that uid (C `atol` of the name, wrapped to `uid_t`) and the name itself is not used; a name
//! from any other caller or of another type is the desired name, for a user request when the
//! caller is not the service's euid, else with the service keytab; without a name a trusted
//! service's own euid uses the service keytab and another uid makes a user request; a user
//! request on an `impersonate` service for initiate/both switches to the service keytab and asks
//! for the target uid's user name; `krb5_principal` names the service keytab's credential when no
//! name was asked for; no `cred_store` means the daemon's default environment; otherwise every
//! entry is expanded for the target uid in order, the service keytab case sets `client_keytab`
//! to the `keytab` value (the last of each key counts; without `keytab` a `client_keytab` alone
//! is used as it is and nothing else is added, with neither the request fails), and without a
//! `ccache` entry a private per-call ccache is added.

use kup_text::number::atol;

use crate::config::{CredStoreEntry, CredUsage, ExpandError};
use crate::matching::ResolvedService;

/// The type of a requested name, as far as the policy cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    /// `GSS_C_NT_STRING_UID_NAME` (a uid in decimal text).
    StringUid,
    /// `GSS_C_NT_MACHINE_UID_NAME`.
    MachineUid,
    /// Any other type.
    Other,
}

/// The name a client asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestedName<'a> {
    /// Its type.
    pub kind: NameKind,
    /// Its display form (for uid names, the uid in decimal).
    pub display: &'a [u8],
}

/// Which name the acquire asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DesiredName<'a> {
    /// None: the store's default.
    Default,
    /// The client's own name, unchanged.
    Requested(RequestedName<'a>),
    /// A user name (`GSS_C_NT_USER_NAME`): impersonation of the target uid.
    User(String),
    /// The service's `krb5_principal` (`GSS_KRB5_NT_PRINCIPAL_NAME`).
    Principal(&'a str),
}

/// What to acquire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment<'a> {
    /// The usage after the service's `cred_usage`.
    pub usage: CredUsage,
    /// The uid the credentials are for (`%U`/`%u` were expanded with it).
    pub target_uid: u32,
    /// A user's credentials are wanted (not the service's own).
    pub user_requested: bool,
    /// The service keytab is used (service credentials or impersonation).
    pub use_service_keytab: bool,
    /// The name to acquire.
    pub name: DesiredName<'a>,
    /// `None`: no `cred_store`, use the daemon's default krb5 environment. Otherwise the entries
    /// in order.
    pub store: Option<Vec<CredStoreEntry>>,
    /// Add a private `ccache` entry (`MEMORY:internal_<thread id>` in the reference) for this
    /// call and destroy it afterwards.
    pub private_ccache: bool,
}

/// Why no environment can be built (the acquire then fails).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyError {
    /// The service's `cred_usage` does not allow the requested usage (`EACCES`).
    UsageRefused,
    /// Impersonation needs the target uid's user name and it has none (`ENOENT`).
    UnknownUid(u32),
    /// A `cred_store` value could not be expanded.
    Expand(ExpandError),
    /// The service keytab is wanted and the store has neither `keytab` nor `client_keytab`
    /// (`EINVAL`).
    NoKeytab,
}

/// The environment for one acquire by `peer_uid` through `service`.
///
/// # Errors
/// See [`PolicyError`].
pub fn credential_environment<'a>(
    service: &'a ResolvedService,
    peer_uid: u32,
    usage: CredUsage,
    name: Option<RequestedName<'a>>,
    mut user_name: impl FnMut(u32) -> Option<String>,
) -> Result<Environment<'a>, PolicyError> {
    let config = &service.service;
    let usage = match (config.cred_usage, usage) {
        (CredUsage::Both, requested) => requested,
        (allowed, CredUsage::Both) => allowed,
        (allowed, requested) if allowed == requested => requested,
        _ => return Err(PolicyError::UsageRefused),
    };
    let own_euid = service.uid == peer_uid;
    let mut target_uid = peer_uid;
    let mut user_requested = false;
    let mut use_service_keytab = false;
    let mut desired = DesiredName::Default;
    match name {
        Some(requested)
            if config.trusted
                && own_euid
                && matches!(requested.kind, NameKind::StringUid | NameKind::MachineUid) =>
        {
            // C: atol(name) assigned to uid_t.
            #[allow(clippy::cast_sign_loss, clippy::cast_possible_truncation)]
            let uid = atol(requested.display) as u32;
            target_uid = uid;
            user_requested = true;
        }
        Some(requested) => {
            if own_euid {
                use_service_keytab = true;
            } else {
                user_requested = true;
            }
            desired = DesiredName::Requested(requested);
        }
        None => {
            if config.trusted && own_euid {
                use_service_keytab = true;
            } else if !own_euid {
                user_requested = true;
            }
        }
    }
    if user_requested && config.impersonate && matches!(usage, CredUsage::Initiate | CredUsage::Both) {
        use_service_keytab = true;
        let user = user_name(target_uid).ok_or(PolicyError::UnknownUid(target_uid))?;
        desired = DesiredName::User(user);
    }
    if use_service_keytab
        && desired == DesiredName::Default
        && let Some(principal) = &config.krb5_principal
    {
        desired = DesiredName::Principal(principal);
    }
    let mut environment = Environment {
        usage,
        target_uid,
        user_requested,
        use_service_keytab,
        name: desired,
        store: None,
        private_ccache: false,
    };
    if config.cred_store.is_empty() {
        return Ok(environment);
    }
    let mut store = Vec::with_capacity(config.cred_store.len().saturating_add(2));
    for entry in &config.cred_store {
        let value = entry
            .expand(target_uid, &mut user_name)
            .map_err(PolicyError::Expand)?;
        store.push(CredStoreEntry {
            key: entry.key.clone(),
            value,
        });
    }
    let last = |store: &[CredStoreEntry], key: &str| store.iter().rposition(|entry| entry.key == key);
    if use_service_keytab {
        let Some(keytab) = last(&store, "keytab") else {
            if last(&store, "client_keytab").is_none() {
                return Err(PolicyError::NoKeytab);
            }
            // The reference returns here: the store as it is, no private ccache.
            environment.store = Some(store);
            return Ok(environment);
        };
        let keytab_value = store
            .get(keytab)
            .map(|entry| entry.value.clone())
            .unwrap_or_default();
        match last(&store, "client_keytab").and_then(|index| store.get_mut(index)) {
            Some(entry) => entry.value = keytab_value,
            None => store.push(CredStoreEntry {
                key: "client_keytab".to_owned(),
                value: keytab_value,
            }),
        }
    }
    environment.private_ccache = last(&store, "ccache").is_none();
    environment.store = Some(store);
    Ok(environment)
}
