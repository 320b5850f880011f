//! The Kerberos half of the credential step (spec §11–§14), run in the credential child after it
//! has become the user (`kup_priv`): the ccache, the keytab fallback, the host names tried, and
//! the ticket with its session key.
//!
//! Order, as the reference (cifs-utils 7.0):
//! 1. the environment for libkrb5: `KRB5_CONFIG` from `-k`, `KRB5CCNAME` scraped from the
//!    requester (nothing else: the helper's environment was rebuilt at start-up);
//! 2. the default ccache, kept only if it holds a usable TGT (§11.2);
//! 3. otherwise, with `user=`, a TGT from the keytab (`-K`, else the default keytab) into a
//!    `MEMORY:` ccache, `KRB5CCNAME` dropped first (§11.3);
//! 4. for each host name of §13 (as given, lower-cased; with the domain of its canonical name;
//!    with `-t`, the server address's reverse name, once): the native path (§12) when a ccache
//!    survived, else the GSSAPI path with default credentials (§14.2).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;

use kup_gss::gss::{self, Mech as GssMech, Name};
use kup_gss::krb5::{Ccache, Context};
use kup_runtime::helper::{self, Printable};
use kup_spnego::{SecretBytes, gss_checksum};
use kup_sys::syslog::Severity;

use crate::{Answer, Error, MechToken, SpnegoPlan};

/// `NI_MAXHOST`: the reference's buffer for `<host><.domain>` and the reverse name.
const MAX_HOST: usize = 1025;

/// Gets the token and session key for `plan`, as the user, in the requester's namespaces.
/// `ccname` is the requester's `KRB5CCNAME`, when the environment probe found one.
pub fn obtain(plan: &SpnegoPlan, ccname: Option<&[u8]>) -> Result<Answer, Error> {
    set_environment(plan.krb5_config.as_deref(), ccname)?;
    let context = Context::new().map_err(|error| Error::Failed {
        step: "initialising Kerberos",
        reason: error.to_string(),
    })?;
    let mut ccache = usable_ccache(&context);
    if ccache.is_none()
        && let Some(user) = &plan.request.user
    {
        set_environment(plan.krb5_config.as_deref(), None)?;
        ccache = keytab_ccache(&context, user, plan.keytab.as_deref());
    }
    let mut host = plan.request.host.to_ascii_lowercase();
    let mut reversed = false;
    loop {
        let mut last = match attempt(&context, ccache.as_ref(), &host) {
            Ok(answer) => return Ok(answer),
            Err(error) => error,
        };
        if !host.contains(&b'.') {
            let fqdn = with_domain(&host)?;
            last = match attempt(&context, ccache.as_ref(), &fqdn) {
                Ok(answer) => return Ok(answer),
                Err(error) => error,
            };
        }
        let address = plan
            .request
            .address
            .as_ref()
            .filter(|_| plan.trust_dns && !reversed);
        let Some(address) = address else {
            return Err(last);
        };
        reversed = true;
        host = reverse_name(address)?.to_ascii_lowercase();
    }
}

/// The environment libkrb5 reads: `HOME`, `PATH` (as at start-up), `KRB5_CONFIG` (`-k`) and
/// `KRB5CCNAME` (scraped), nothing else. The credential child is single-threaded, which
/// `replace_environment` checks.
fn set_environment(krb5_config: Option<&OsStr>, ccname: Option<&[u8]>) -> Result<(), Error> {
    let mut variables: Vec<(&OsStr, &OsStr)> = vec![
        (OsStr::new("HOME"), OsStr::new("/")),
        (OsStr::new("PATH"), OsStr::new(helper::HELPER_PATH)),
    ];
    if let Some(config) = krb5_config {
        variables.push((OsStr::new("KRB5_CONFIG"), config));
    }
    if let Some(ccname) = ccname {
        variables.push((OsStr::new("KRB5CCNAME"), OsStr::from_bytes(ccname)));
    }
    kup_sys::process::replace_environment(&variables).map_err(|error| Error::Failed {
        step: "setting the Kerberos environment",
        reason: error.to_string(),
    })
}

/// The default ccache if it holds a usable TGT (spec §11.2); debug lines otherwise.
fn usable_ccache(context: &Context) -> Option<Ccache<'_>> {
    let ccache = match context.default_ccache() {
        Ok(ccache) => ccache,
        Err(error) => {
            helper::log(Severity::Debug, &format!("krb5_cc_default: {error}"));
            return None;
        }
    };
    match ccache.has_usable_tgt() {
        Ok(true) => Some(ccache),
        Ok(false) => {
            helper::log(Severity::Debug, "valid TGT is not present in credential cache");
            None
        }
        Err(error) => {
            helper::log(Severity::Debug, &format!("reading the credential cache: {error}"));
            None
        }
    }
}

/// The keytab fallback (spec §11.3): `user` (parsed as a principal name, default realm when it
/// has none) logs in from `keytab` or the default keytab into a `MEMORY:` ccache.
fn keytab_ccache<'c>(context: &'c Context, user: &[u8], keytab: Option<&OsStr>) -> Option<Ccache<'c>> {
    let attempt = || -> Result<Ccache<'c>, String> {
        let keytab = match keytab {
            Some(path) => context
                .resolve_keytab(&String::from_utf8_lossy(path.as_bytes()))
                .map_err(|error| format!("krb5_kt_resolve: {error}"))?,
            None => context
                .default_keytab()
                .map_err(|error| format!("krb5_kt_default: {error}"))?,
        };
        let user = std::str::from_utf8(user).map_err(|_| "user= is not UTF-8".to_owned())?;
        let client = context
            .parse_name(user)
            .map_err(|error| format!("krb5_parse_name: {error}"))?;
        context
            .init_creds_keytab(&client, &keytab)
            .map_err(|error| format!("krb5_get_init_creds_keytab: {error}"))
    };
    match attempt() {
        Ok(ccache) => Some(ccache),
        Err(why) => {
            helper::log(
                Severity::Debug,
                &format!("keytab login failed: {}", Printable(why.as_bytes())),
            );
            None
        }
    }
}

/// One host name: the native path with a ccache, the GSSAPI path without.
fn attempt(context: &Context, ccache: Option<&Ccache<'_>>, host: &[u8]) -> Result<Answer, Error> {
    let host_text = std::str::from_utf8(host).map_err(|_| Error::Failed {
        step: "getting a service ticket",
        reason: format!("host name {} is not UTF-8", Printable(host)),
    })?;
    let failed = |reason: String| Error::Failed {
        step: "getting a service ticket",
        reason: format!("cifs/{}: {reason}", Printable(host)),
    };
    if let Some(ccache) = ccache {
        let server = context
            .service_principal(host_text, "cifs")
            .map_err(|error| failed(error.to_string()))?;
        let (ap_req, key) = context
            .ap_req(ccache, &server, &gss_checksum(0))
            .map_err(|error| failed(error.to_string()))?;
        return Ok(Answer {
            session_key: SecretBytes::new(key.as_bytes().to_vec()),
            token: MechToken::ApReq(ap_req),
        });
    }
    let target = Name::hostbased(&format!("cifs@{host_text}")).map_err(|error| failed(error.to_string()))?;
    let step = gss::init_sec_context(&target, GssMech::Krb5).map_err(|error| failed(error.to_string()))?;
    let token = step.token;
    let key = step
        .context
        .into_lucid_session_key()
        .map_err(|error| failed(error.to_string()))?;
    Ok(Answer {
        session_key: SecretBytes::new(key.as_bytes().to_vec()),
        token: MechToken::Gss(token),
    })
}

/// `<host><.domain>` with the domain part (from the first `.`) of `host`'s canonical name,
/// lower-cased (spec §13.1 step 2). No canonical name, or one without a `.`, ends the attempts.
fn with_domain(host: &[u8]) -> Result<Vec<u8>, Error> {
    let canonical = kup_sys::netdb::canonical_name(host).map_err(|error| Error::Failed {
        step: "resolving the host address",
        reason: format!("{} [{}]", Printable(host), error.message()),
    })?;
    let canonical = canonical.unwrap_or_default();
    let Some(dot) = canonical.iter().position(|&byte| byte == b'.') else {
        return Err(Error::Failed {
            step: "getting a service ticket",
            reason: format!(
                "{}: its canonical name {} has no domain part",
                Printable(host),
                Printable(&canonical)
            ),
        });
    };
    let mut fqdn = host.to_vec();
    fqdn.extend(canonical[dot..].to_ascii_lowercase());
    if fqdn.len() >= MAX_HOST {
        return Err(Error::Failed {
            step: "getting a service ticket",
            reason: format!("{}: the name with its domain is too long", Printable(host)),
        });
    }
    Ok(fqdn)
}

/// The reverse name of the server address (spec §13.3, `-t`): an old kernel's colon-less IPv6
/// text gets its colons back first.
fn reverse_name(address: &[u8]) -> Result<Vec<u8>, Error> {
    let address = with_ipv6_colons(address);
    kup_sys::netdb::reverse_name(&address).map_err(|error| Error::Failed {
        step: "resolving the server address",
        reason: format!("{} [{}]", Printable(&address), error.message()),
    })
}

/// An IPv6 address sent as 32 hex digits without colons (`%pi6`, kernels before 2.6.3x): longer
/// than 16 bytes and without a `:` gets a `:` after every 4 characters (not at the end).
fn with_ipv6_colons(address: &[u8]) -> Vec<u8> {
    if address.len() <= 16 || address.contains(&b':') {
        return address.to_vec();
    }
    let mut converted = Vec::with_capacity(address.len() + address.len() / 4);
    for (index, chunk) in address.chunks(4).enumerate() {
        if index > 0 {
            converted.push(b':');
        }
        converted.extend_from_slice(chunk);
    }
    converted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colonless_ipv6_gets_its_colons_back() {
        assert_eq!(
            with_ipv6_colons(b"20010db8000000000000000000000010"),
            b"2001:0db8:0000:0000:0000:0000:0000:0010".to_vec()
        );
        assert_eq!(with_ipv6_colons(b"192.0.2.10"), b"192.0.2.10".to_vec());
        assert_eq!(with_ipv6_colons(b"2001:db8::10"), b"2001:db8::10".to_vec());
    }
}
