//! `gssproxy --extract-ccache SRC [--into-ccache DST]` (spec gssproxy-config.md §1.1): turns
//! the credential a `GSS_USE_PROXY` client keeps in its ccache — the gssproxy-encrypted
//! `gssx_cred` the interposer stores as the "ticket" of an entry for the pseudo-service
//! [`ENCRYPTED_CREDENTIALS`] — back into a plain ccache, and exits.
//!
//! As gssproxy 0.9.1 does it [obs: Debian's daemon, `tests/bindings_sync.rs`]: SRC resolved
//! and its entry for that service found; the entry's bytes decoded as XDR `gssx_cred`; its
//! `cred_handle_reference` decrypted with the key a service without a `cred_store` gets (the
//! default keytab's first permitted key, else a random one, which then cannot decrypt:
//! `crate::handle::service_key(None)`); the export token imported (`gss_import_cred`) and
//! stored (`gss_store_cred_into`, both usages, overwrite, as the default credential) into DST,
//! or the default ccache without `--into-ccache`. Success prints `decrypted` on stderr
//! (the reference's one line) and exits 0. A failure prints nothing and exits with the low
//! byte of the krb5 error code or GSS minor status (the reference returns the code from
//! `main`: a missing SRC file is `KRB5_FCC_NOFILE`, status 195), `EIO` (5) when the entry does
//! not decode. One difference, recorded in docs/compat/gssproxy.md: where that low byte is 0
//! the reference exits 0 after a failure; ours exits 1.

use std::ffi::OsStr;
use std::io::Write as _;

use kup_gss::gss::{CredUsage, Credential, Mech};
use kup_gss::krb5;
use kup_gssx::gssx::{Cred, Xdr as _};
use kup_gssx::xdr::{Decoder, Limits};

/// The pseudo-service principal of the interposer's ccache entry (`GPKRB_SRV_NAME`).
pub const ENCRYPTED_CREDENTIALS: &str = "Encrypted/Credentials/v1@X-GSSPROXY:";
/// `EIO`, the reference's status for an entry that does not decode.
const EIO: i64 = 5;

/// Runs the extraction; returns the exit status.
#[must_use]
pub fn run(source: &OsStr, destination: Option<&OsStr>) -> u8 {
    match extract(source, destination) {
        Ok(()) => 0,
        Err(code) => match u8::try_from(code & 0xff) {
            Ok(0) | Err(_) => 1,
            Ok(status) => status,
        },
    }
}

/// The failure's code (a krb5 error code, a GSS minor status or an errno), as the reference
/// returns it.
fn extract(source: &OsStr, destination: Option<&OsStr>) -> Result<(), i64> {
    let krb5_code = |error: krb5::Krb5Error| i64::from(error.code);
    let source = source.to_str().ok_or(i64::from(kup_sys::errno::EINVAL))?;
    let context = krb5::Context::new().map_err(krb5_code)?;
    let ccache = context.resolve_ccache(source).map_err(krb5_code)?;
    ccache.principal().map_err(krb5_code)?;
    // MIT's "matching credential not found" when the cache has no such entry.
    let ticket = ccache
        .ticket_for(ENCRYPTED_CREDENTIALS)
        .map_err(krb5_code)?
        .ok_or(KRB5_CC_NOTFOUND)?;
    let mut decoder = Decoder::new(&ticket, Limits::DEFAULT);
    let cred = Cred::decode(&mut decoder).map_err(|_| EIO)?;
    let key = crate::handle::service_key(None).ok_or(EIO)?;
    let token = context
        .decrypt(key.key(), &cred.cred_handle_reference)
        .map_err(krb5_code)?;
    let _ = std::io::stderr().lock().write_all(b"decrypted\n");
    let credential = Credential::import(token.as_bytes()).map_err(|status| i64::from(status.minor))?;
    let store: Vec<(String, String)> = match destination {
        Some(name) => vec![(
            "ccache".to_owned(),
            name.to_str().ok_or(i64::from(kup_sys::errno::EINVAL))?.to_owned(),
        )],
        None => Vec::new(),
    };
    credential
        .store_as_default_into(CredUsage::Both, Mech::Krb5, &store)
        .map_err(|status| i64::from(status.minor))
}

/// `KRB5_CC_NOTFOUND` ("Matching credential not found").
const KRB5_CC_NOTFOUND: i64 = -1_765_328_243;
