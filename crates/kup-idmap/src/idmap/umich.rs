//! The `umich_ldap` method: its `[UMICH_SCHEMA]` options are read so a config using them is
//! understood, but LDAP lookups are not implemented, so selecting the method fails the library's
//! init with a clear message (a recorded divergence, `docs/compat/nfsidmap.md`). No I/O.

use super::Services;
use crate::conf::Config;

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

/// Selecting `umich_ldap`: says why it cannot be used. There is no method to hand back, so the
/// library's init fails as for an unknown method.
pub(super) fn refuse(services: &Services<'_>) {
    services.log(
        0,
        "libnfsidmap: the umich_ldap method is not supported by this nfsidmap (its [UMICH_SCHEMA] options are read but LDAP lookups are not implemented)",
    );
}
