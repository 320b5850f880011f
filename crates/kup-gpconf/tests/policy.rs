//! The credential environment of an acquire (spec §6.1) through the public API.

use std::path::Path;

use kup_gpconf::policy::{
    DesiredName, Environment, NameKind, PolicyError, RequestedName, credential_environment,
};
use kup_gpconf::{CredStoreEntry, CredUsage, ExpandError, Resolved, ResolvedService, Source, load};

fn resolved(service: &str) -> Resolved {
    let main = format!("[service/s]\nmechs = krb5\n{service}");
    let loaded = load(
        Source {
            path: Path::new("/etc/gssproxy/gssproxy.conf"),
            contents: main.as_bytes(),
        },
        &[],
    )
    .unwrap();
    loaded.config.resolve(|_| None).unwrap()
}

fn users(uid: u32) -> Option<String> {
    match uid {
        0 => Some("root".into()),
        1000 => Some("alice".into()),
        _ => None,
    }
}

fn environment<'a>(
    service: &'a ResolvedService,
    peer: u32,
    usage: CredUsage,
    name: Option<RequestedName<'a>>,
) -> Result<Environment<'a>, PolicyError> {
    credential_environment(service, peer, usage, name, users)
}

fn store(environment: &Environment<'_>) -> Vec<(String, String)> {
    environment
        .store
        .as_ref()
        .unwrap()
        .iter()
        .map(|CredStoreEntry { key, value }| (key.clone(), value.clone()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

const NFS_SERVER: &str = "euid = 0\ntrusted = yes\ncred_store = keytab:/etc/krb5.keytab\n";

const NETWORK_FS_CLIENTS: &str = "euid = 0\ntrusted = yes\nallow_any_uid = yes\ncred_usage = initiate\n\
    cred_store = keytab:/etc/krb5.keytab\ncred_store = ccache:FILE:/var/lib/gssproxy/clients/krb5cc_%U\n\
    cred_store = client_keytab:/var/lib/gssproxy/clients/%U.keytab\n";

#[allow(clippy::unnecessary_wraps)] // the argument the calls take
fn uid_name(display: &[u8]) -> Option<RequestedName<'_>> {
    Some(RequestedName {
        kind: NameKind::StringUid,
        display,
    })
}

#[test]
fn nfs_server_uses_its_keytab_as_client_keytab_and_a_private_ccache() {
    let config = resolved(NFS_SERVER);
    let env = environment(&config.services[0], 0, CredUsage::Accept, None).unwrap();
    assert!(env.use_service_keytab && !env.user_requested);
    assert_eq!(
        (env.target_uid, env.usage, &env.name),
        (0, CredUsage::Accept, &DesiredName::Default)
    );
    assert_eq!(
        store(&env),
        pairs(&[
            ("keytab", "/etc/krb5.keytab"),
            ("client_keytab", "/etc/krb5.keytab")
        ])
    );
    assert!(env.private_ccache);
}

#[test]
fn rpc_gssd_asks_a_trusted_service_for_a_uids_credentials() {
    let config = resolved(NETWORK_FS_CLIENTS);
    let service = &config.services[0];
    let env = environment(service, 0, CredUsage::Both, uid_name(b"1000")).unwrap();
    assert_eq!(env.target_uid, 1000);
    assert!(env.user_requested && !env.use_service_keytab);
    assert_eq!(env.name, DesiredName::Default, "the uid name itself is not used");
    assert_eq!(
        env.usage,
        CredUsage::Initiate,
        "both narrowed to the service's usage"
    );
    assert_eq!(
        store(&env),
        pairs(&[
            ("keytab", "/etc/krb5.keytab"),
            ("ccache", "FILE:/var/lib/gssproxy/clients/krb5cc_1000"),
            ("client_keytab", "/var/lib/gssproxy/clients/1000.keytab"),
        ])
    );
    assert!(!env.private_ccache);
    // Machine uid names too; C atol rules for the text.
    let machine = Some(RequestedName {
        kind: NameKind::MachineUid,
        display: b"42abc",
    });
    assert_eq!(
        environment(service, 0, CredUsage::Initiate, machine)
            .unwrap()
            .target_uid,
        42
    );
    assert_eq!(
        environment(service, 0, CredUsage::Initiate, uid_name(b"-1"))
            .unwrap()
            .target_uid,
        u32::MAX
    );
    // Another caller (allow_any_uid) cannot pick a uid: its own uid is the target.
    let env = environment(service, 1000, CredUsage::Initiate, uid_name(b"0")).unwrap();
    assert_eq!(env.target_uid, 1000);
    assert!(matches!(env.name, DesiredName::Requested(_)));
}

#[test]
fn cred_usage_narrows_or_refuses() {
    let config = resolved(NETWORK_FS_CLIENTS);
    assert_eq!(
        environment(&config.services[0], 1000, CredUsage::Accept, None),
        Err(PolicyError::UsageRefused)
    );
    let config = resolved("euid = 0\ncred_usage = accept\n");
    assert_eq!(
        environment(&config.services[0], 0, CredUsage::Both, None)
            .unwrap()
            .usage,
        CredUsage::Accept
    );
}

#[test]
fn impersonation_asks_for_the_users_name_with_the_service_keytab() {
    let config = resolved("euid = 0\nallow_any_uid = yes\nimpersonate = yes\ncred_store = keytab:/k\n");
    let service = &config.services[0];
    let env = environment(service, 1000, CredUsage::Initiate, None).unwrap();
    assert!(env.user_requested && env.use_service_keytab);
    assert_eq!(env.name, DesiredName::User("alice".into()));
    assert_eq!(store(&env), pairs(&[("keytab", "/k"), ("client_keytab", "/k")]));
    assert_eq!(
        environment(service, 7, CredUsage::Initiate, None),
        Err(PolicyError::UnknownUid(7))
    );
    // Not for accept.
    let env = environment(service, 1000, CredUsage::Accept, None).unwrap();
    assert!(!env.use_service_keytab);
    assert_eq!(env.name, DesiredName::Default);
}

#[test]
fn krb5_principal_names_the_service_credentials_when_no_name_was_asked() {
    let config = resolved("euid = 0\ntrusted = yes\nkrb5_principal = nfs/host@R\ncred_store = keytab:/k\n");
    let service = &config.services[0];
    assert_eq!(
        environment(service, 0, CredUsage::Accept, None).unwrap().name,
        DesiredName::Principal("nfs/host@R")
    );
    let asked = Some(RequestedName {
        kind: NameKind::Other,
        display: b"host@x",
    });
    assert!(matches!(
        environment(service, 0, CredUsage::Accept, asked).unwrap().name,
        DesiredName::Requested(_)
    ));
}

#[test]
fn service_keytab_needs_a_keytab_or_uses_a_lone_client_keytab_as_is() {
    let config = resolved("euid = 0\ntrusted = yes\ncred_store = ccache:/c\n");
    assert_eq!(
        environment(&config.services[0], 0, CredUsage::Both, None),
        Err(PolicyError::NoKeytab)
    );
    let config = resolved("euid = 0\ntrusted = yes\ncred_store = client_keytab:/ck\n");
    let env = environment(&config.services[0], 0, CredUsage::Both, None).unwrap();
    assert_eq!(store(&env), pairs(&[("client_keytab", "/ck")]));
    assert!(
        !env.private_ccache,
        "the reference returns before adding the private ccache"
    );
    // An existing client_keytab is replaced by the keytab (the last of each counts).
    let config = resolved(
        "euid = 0\ntrusted = yes\ncred_store = client_keytab:/ck\ncred_store = keytab:/k1\ncred_store = keytab:/k2\n",
    );
    let env = environment(&config.services[0], 0, CredUsage::Both, None).unwrap();
    assert_eq!(
        store(&env),
        pairs(&[("client_keytab", "/k2"), ("keytab", "/k1"), ("keytab", "/k2")])
    );
}

#[test]
fn no_cred_store_means_the_default_environment() {
    let config = resolved("euid = 0\n");
    let env = environment(&config.services[0], 0, CredUsage::Both, None).unwrap();
    assert_eq!(env.store, None);
    assert!(!env.private_ccache && !env.use_service_keytab && !env.user_requested);
}

#[test]
fn a_plain_service_called_by_its_own_euid_uses_its_store_as_is() {
    let config = resolved("euid = 1000\ncred_store = ccache:FILE:/tmp/krb5cc_%u\ncred_store = opt:%%\n");
    let env = environment(&config.services[0], 1000, CredUsage::Both, None).unwrap();
    assert!(!env.use_service_keytab && !env.user_requested);
    assert_eq!(
        store(&env),
        pairs(&[("ccache", "FILE:/tmp/krb5cc_alice"), ("opt", "%")])
    );
    assert!(!env.private_ccache);
    let config = resolved("euid = 5\ncred_store = ccache:/x/%u\n");
    assert_eq!(
        environment(&config.services[0], 5, CredUsage::Both, None),
        Err(PolicyError::Expand(ExpandError::UnknownUid(5)))
    );
}
