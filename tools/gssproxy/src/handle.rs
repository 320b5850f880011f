//! Credential handles given to interposer clients (spec gssproxy-config.md §6.5,
//! gssproxy-protocol.md §2.3 `cred_handle_reference`): MIT's `gss_export_cred` token, encrypted
//! and authenticated with a per-service key (`krb5_c_encrypt`, application-data key usage), so
//! the daemon stays stateless and a client can neither read nor forge what it holds.
//!
//! The key, chosen when the configuration is loaded (spec config §6.5): the key of the first
//! entry whose enctype krb5 permits of the service's first `keytab` `cred_store` value (taken
//! literally, no `%U` expansion), or of the default keytab when the service names none or its
//! name does not resolve; when the chosen keytab is missing, empty or has no permitted key, a
//! random AES256-CTS-HMAC-SHA1-96 key made for this load (handles then die with a restart or a
//! SIGHUP, as the reference's).
//!
//! Format: exactly the `krb5_c_encrypt` output of the export token, nothing around it: the
//! reference's format too [obs: Debian's gssproxy's handle decrypts with the service keytab's key
//! and this key usage to the same export token ours has, and each daemon takes the other's
//! handles (tools/gssproxy/tests/interposer.rs)], so clients' cached handles survive replacing
//! one daemon by the other when the key comes from a keytab. A handle that does not open is
//! ignored by `ACQUIRE_CRED` (a fresh credential is acquired) and is
//! `GSS_S_DEFECTIVE_CREDENTIAL` where it is used by `ACCEPT_SEC_CONTEXT` or
//! `INIT_SEC_CONTEXT`.

use std::fmt;
use std::sync::Arc;

use kup_gss::SessionKey;
use kup_gss::gss::{Credential, GssStatus};
use kup_gss::krb5::{self, Krb5Error};

/// `GSS_S_DEFECTIVE_CREDENTIAL`.
pub const GSS_S_DEFECTIVE_CREDENTIAL: u32 = 10 << 16;
/// The longest handle accepted: an exported krb5 credential is a few KiB at most (a ccache's
/// tickets); the record limit bounds it anyway.
pub const MAX_HANDLE: usize = 256 * 1024;

/// A service's handle-encryption key (shared by the workers; wiped when the last user of a
/// configuration drops it).
#[derive(Clone)]
pub struct HandleKey(Arc<SessionKey>);

impl HandleKey {
    /// Where the key came from is not kept; equality is the key's.
    #[must_use]
    pub fn new(key: SessionKey) -> Self {
        Self(Arc::new(key))
    }

    /// The key.
    #[must_use]
    pub fn key(&self) -> &SessionKey {
        &self.0
    }
}

impl PartialEq for HandleKey {
    fn eq(&self, other: &Self) -> bool {
        *self.0 == *other.0
    }
}

impl Eq for HandleKey {}

impl fmt::Debug for HandleKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("HandleKey(<redacted>)")
    }
}

/// The key of a service whose `cred_store` names `keytab` (its first `keytab` value), as the
/// module text says; `None` only if krb5 cannot even make a random key.
#[must_use]
pub fn service_key(keytab: Option<&str>) -> Option<HandleKey> {
    let context = krb5::Context::new().ok()?;
    // The service's keytab when it names one that resolves (a missing file resolves: its key
    // is then random, as the reference's), else the default keytab.
    let chosen = match keytab.map(|name| context.resolve_keytab(name)) {
        Some(Ok(keytab)) => Ok(keytab),
        _ => context.default_keytab(),
    };
    let key = chosen
        .and_then(|keytab| context.first_permitted_key(&keytab))
        .ok()
        .flatten()
        .or_else(|| context.random_key(krb5::ENCTYPE_AES256_CTS_HMAC_SHA1_96).ok())?;
    Some(HandleKey::new(key))
}

/// The handle of `credential` under `key`.
pub fn seal(key: &HandleKey, credential: &Credential) -> Result<Vec<u8>, GssStatus> {
    let token = credential.export()?;
    let context = krb5::Context::new().map_err(failure)?;
    context.encrypt(key.key(), token.as_bytes()).map_err(failure)
}

/// The credential of a handle made by [`seal`] with `key`; anything else (another key, a
/// modified or foreign handle) is `GSS_S_DEFECTIVE_CREDENTIAL`.
pub fn open(key: &HandleKey, handle: &[u8]) -> Result<Credential, GssStatus> {
    // The minor status: an errno, or a krb5 code as MIT reports it (unsigned).
    let defective = |minor: u32| GssStatus {
        major: GSS_S_DEFECTIVE_CREDENTIAL,
        minor,
        message: "the credential handle cannot be decrypted".to_owned(),
    };
    if handle.is_empty() || handle.len() > MAX_HANDLE {
        return Err(defective(kup_sys::errno::EINVAL.unsigned_abs()));
    }
    let context = krb5::Context::new().map_err(failure)?;
    let token = context
        .decrypt(key.key(), handle)
        .map_err(|error| defective(error.code.cast_unsigned()))?;
    Credential::import(token.as_bytes()).map_err(|status| GssStatus {
        major: GSS_S_DEFECTIVE_CREDENTIAL,
        ..status
    })
}

/// A krb5 failure as a GSS status (`GSS_S_FAILURE` with the krb5 code as minor).
fn failure(error: Krb5Error) -> GssStatus {
    GssStatus {
        major: kup_gss::gss::GSS_S_FAILURE,
        minor: error.code.cast_unsigned(),
        message: error.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_readable_keytab_each_load_gets_its_own_random_aes256_key() {
        let first = service_key(Some("FILE:/nonexistent/kup.keytab")).unwrap();
        let second = service_key(Some("FILE:/nonexistent/kup.keytab")).unwrap();
        // Unless the machine's default keytab has a key, both are random and differ.
        if first != second {
            assert_eq!(first.key().enctype(), krb5::ENCTYPE_AES256_CTS_HMAC_SHA1_96);
            assert_eq!(first.key().as_bytes().len(), 32);
        }
        assert_eq!(format!("{first:?}"), "HandleKey(<redacted>)");
    }

    #[test]
    fn a_foreign_or_garbage_handle_is_a_defective_credential() {
        let key = service_key(Some("FILE:/nonexistent/kup.keytab")).unwrap();
        for handle in [&[][..], &[0u8; 3][..], &[0x41u8; 208][..]] {
            let error = open(&key, handle).unwrap_err();
            assert_eq!(error.major, GSS_S_DEFECTIVE_CREDENTIAL, "{handle:?}");
        }
        assert_eq!(
            open(&key, &vec![0; MAX_HANDLE + 1]).unwrap_err().major,
            GSS_S_DEFECTIVE_CREDENTIAL
        );
        // The krb5 failure as MIT reports krb5 minor codes: the com_err table 0x96c73a00.
        let error = open(&key, &[0x41u8; 208]).unwrap_err();
        assert_eq!(error.minor >> 8, 0x0096_c73a, "{:#x}", error.minor);
    }
}
