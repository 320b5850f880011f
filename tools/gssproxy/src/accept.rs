//! `GSSX_ACCEPT_SEC_CONTEXT` with MIT's acceptor (`kup-gss`), as gssproxy 0.9.1 answers the
//! kernel (spec gssproxy-protocol.md §2.5, §3, §4): the export options of the call context
//! checked first (an unknown value is `GSS_S_FAILURE`/`EINVAL`), a fresh context every call
//! (the reference ignores `context_handle`), the credential of the call's `cred_handle` (an
//! interposer client's, from `ACQUIRE_CRED`) or else the service's acceptor credential (its keytab
//! and `krb5_principal`), the completed context exported as `linux_lucid_v1` when asked (else MIT's
//! interprocess token), both names as `gss_display_name` shows them with their type and
//! exported form, and the `linux_creds_v1` option mapped from the initiator: `gss_localname`
//! (krb5's `auth_to_local`), `getpwnam`, `getgrouplist` (primary gid included); uid = gid = -1
//! with no groups when krb5 has no local name (`ENOENT`) or the user does not exist. A GSS
//! failure is reported in the result's status only (no context, no token, no options). A failed
//! user or group lookup (the user in more than `NGROUPS_MAX` groups, an NSS error) fails the RPC
//! instead (`SYSTEM_ERR`), as the reference's does: it reports such a failure with a bare errno
//! as the minor code under the krb5 mechanism, which MIT cannot display, and a status it cannot
//! display fails its whole reply (observed, `tests/many_groups.rs`).
//!
//! Runs on a worker thread: every call here may block (keytab, replay cache, NSS). The acceptor
//! credential is the worker's kept one while the keytab and the configuration are unchanged
//! ([`crate::cache`]).

use std::rc::Rc;

use kup_gss::gss::{self, GssStatus, Mech, Name, SecurityContext};
use kup_gssx::gssx::{
    ArgAcceptSecContext, Ctx, EXPORTED_CONTEXT_TYPE, EXPORTED_CREDS_TYPE, GssxOption, KRB5_OID,
    LINUX_CREDS_V1, LINUX_LUCID_V1, Name as GssxName, ResAcceptSecContext, Status, find_option,
};
use kup_gssx::lucid::{LinuxCreds, LucidContext, NGROUPS_MAX, SecretBytes};
use kup_sys::errno;

use crate::config::ServiceConfig;

/// `GSS_S_FAILURE`.
const GSS_S_FAILURE: u32 = gss::GSS_S_FAILURE;

/// The call fails at the RPC level (`SYSTEM_ERR`) instead of in the result's status: what
/// gssproxy 0.9.1 answers to an `exported_creds_type` it does not know (observed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemError;

/// Answers one call for `service`.
pub fn accept_sec_context(
    arguments: &ArgAcceptSecContext,
    service: &ServiceConfig,
) -> Result<ResAcceptSecContext, SystemError> {
    let export = export_options(arguments)?;
    match accept(arguments, service, export) {
        Ok(result) => Ok(result),
        Err(Refusal::Status(failure)) => Ok(ResAcceptSecContext {
            status: status(failure.major, failure.minor),
            ..ResAcceptSecContext::default()
        }),
        Err(Refusal::System) => Err(SystemError),
    }
}

/// A status as gssproxy fills it: the krb5 mechanism on success only (observed: a failure's
/// mechanism is empty), the library's text of each code with a trailing NUL inside the length
/// (an errno minor code the library has no text for gets `strerror`'s), empty texts for zero
/// codes.
#[must_use]
pub fn status(major: u32, minor: u32) -> Status {
    let text = |code: u32, display: fn(u32) -> String| {
        if code == 0 {
            return Vec::new();
        }
        let mut text = display(code);
        if text.is_empty() {
            text = strerror(code);
        }
        let mut bytes = text.into_bytes();
        bytes.push(0);
        bytes
    };
    Status {
        major_status: u64::from(major),
        mech: if major == 0 { KRB5_OID.to_vec() } else { Vec::new() },
        minor_status: u64::from(minor),
        major_status_string: text(major, gss::major_status_text),
        minor_status_string: text(minor, gss::minor_status_text),
        server_ctx: Vec::new(),
        options: Vec::new(),
    }
}

/// What the call context asks the exported context and the creds to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Export {
    /// `Some(true)`: `linux_lucid_v1`; `Some(false)`: MIT's token; `None`: an unknown type.
    lucid: Option<bool>,
    creds: bool,
}

/// The export options: an unknown context type fails in the status (`GSS_S_FAILURE`, `EINVAL`,
/// checked in `accept`), an unknown creds type fails the RPC.
fn export_options(arguments: &ArgAcceptSecContext) -> Result<Export, SystemError> {
    let options = &arguments.call_ctx.options;
    let lucid = match find_option(options, EXPORTED_CONTEXT_TYPE) {
        None => Some(false),
        Some(value) if value == LINUX_LUCID_V1 => Some(true),
        Some(_) => None,
    };
    let creds = match find_option(options, EXPORTED_CREDS_TYPE) {
        None => false,
        Some(value) if value == LINUX_CREDS_V1 => true,
        Some(_) => return Err(SystemError),
    };
    Ok(Export { lucid, creds })
}

/// How a call that is not answered with a context fails.
#[derive(Debug)]
enum Refusal {
    /// In the result's status.
    Status(GssStatus),
    /// At the RPC level ([`SystemError`]).
    System,
}

impl From<GssStatus> for Refusal {
    fn from(status: GssStatus) -> Self {
        Self::Status(status)
    }
}

/// `strerror(code)`.
fn strerror(code: u32) -> String {
    let text = std::io::Error::from_raw_os_error(i32::try_from(code).unwrap_or(i32::MAX)).to_string();
    match text.rfind(" (os error ") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}

fn failure(minor: i32) -> GssStatus {
    GssStatus {
        major: GSS_S_FAILURE,
        minor: minor.unsigned_abs(),
        message: String::new(),
    }
}

fn accept(
    arguments: &ArgAcceptSecContext,
    service: &ServiceConfig,
    export: Export,
) -> Result<ResAcceptSecContext, Refusal> {
    let lucid = export.lucid.ok_or_else(|| failure(errno::EINVAL))?;
    // The interposer's call carries the credential it acquired through us (its handle is
    // opened with the service's key); the kernel's carries none: the service's own, kept by
    // the worker while its keytab is unchanged (`crate::cache`).
    let credential = match &arguments.cred_handle {
        Some(cred) => Rc::new(crate::interposer::open_cred(cred, service)?),
        None => crate::cache::acceptor(service.keytab(), service.krb5_principal.as_deref())?,
    };
    let sync = crate::sync::wanted(service, &arguments.options);
    let tickets_before = match &arguments.cred_handle {
        Some(_) => crate::sync::ticket_count(sync, &credential),
        None => 0,
    };
    let bindings = arguments.input_cb.as_ref().map(crate::sync::channel_bindings);
    let mut context = SecurityContext::new(Mech::Krb5);
    let (output_token, complete) =
        context.accept_step_bound(&credential, &arguments.input_token, bindings.as_ref())?;
    if !complete {
        // krb5 completes in one step; a mechanism that wants more is not served.
        return Err(failure(errno::ENOTSUP).into());
    }
    let source = context.source_name().ok_or_else(|| failure(errno::EINVAL))?;
    let source_display = context.initiator_display();
    // The reference leaves the composite exports out of lucid (kernel) results only.
    let src_name = match source_display {
        // The display the accept step already took (each display costs MIT a krb5 context).
        Some((display, name_type)) if lucid => plain_gssx_name(source, display.to_vec(), name_type.to_vec())?,
        _ => gssx_name(source, !lucid)?,
    };
    let targ_name = match kup_gssx::krb5token::ticket_server(&arguments.input_token) {
        // The kernel's calls: the acceptor's name is the ticket's server (kept per worker).
        Some(server) if lucid => {
            crate::cache::target_name(&credential, server, || gssx_name(&context.target_name()?, false))?
        }
        _ => gssx_name(&context.target_name()?, !lucid)?,
    };
    let creds = if export.creds {
        Some(linux_creds(source, source_display.map(|(display, _)| display))?)
    } else {
        None
    };
    // The initiator's delegated credential goes back to an interposer client that asks for it
    // (`ret_deleg_cred`; the kernel never does), as a handle like ACQUIRE_CRED's.
    let delegated = match context.take_delegated() {
        Some(credential) if arguments.ret_deleg_cred => {
            Some(crate::interposer::describe_cred(&credential, service)?)
        }
        _ => None,
    };
    let (lifetime, flags) = (context.lifetime(), context.flags());
    let exported_context_token = if lucid {
        lucid_bytes(&context.into_lucid_context()?)?
    } else {
        context.export()?
    };
    let mut options = Vec::new();
    if let Some(creds) = creds {
        options.push(GssxOption {
            option: LINUX_CREDS_V1.to_vec(),
            value: creds.encode().map_err(|_| Refusal::System)?,
        });
    }
    let tickets_after = crate::sync::ticket_count(sync, &credential);
    options.extend(crate::sync::option(
        tickets_before,
        tickets_after,
        &credential,
        service,
    ));
    Ok(ResAcceptSecContext {
        status: status(0, 0),
        context_handle: Some(Ctx {
            exported_context_token,
            state: Vec::new(),
            needs_release: false,
            mech: KRB5_OID.to_vec(),
            src_name,
            targ_name,
            lifetime: u64::from(lifetime),
            ctx_flags: u64::from(flags),
            locally_initiated: false,
            open: true,
            options: Vec::new(),
        }),
        output_token: Some(output_token),
        delegated_cred_handle: delegated,
        options,
    })
}

/// A `gssx_name` of a mechanism name: display bytes (no NUL), name type, exported token, and
/// with `composite` MIT's composite export (which the reference suppresses for lucid exports).
///
/// Only for the names of a complete krb5 context (mechanism names of the krb5 mechanism): the
/// exported form is built from the display bytes (see [`krb5_exported_name`]) instead of a
/// second library call, each of which costs MIT a fresh krb5 context (krb5.conf walked again).
fn gssx_name(name: &Name, composite: bool) -> Result<GssxName, GssStatus> {
    if composite {
        return crate::interposer::describe_name(name);
    }
    let (display_name, name_type) = name.display_with_type()?;
    plain_gssx_name(name, display_name, name_type)
}

/// The `gssx_name` of a krb5 mechanism name already displayed (see [`gssx_name`]).
fn plain_gssx_name(name: &Name, display_name: Vec<u8>, name_type: Vec<u8>) -> Result<GssxName, GssStatus> {
    let exported_name = match krb5_exported_name(&display_name) {
        Some(exported) => exported,
        None => name.export()?,
    };
    Ok(GssxName {
        display_name,
        name_type,
        exported_name,
        ..GssxName::default()
    })
}

/// The exported form of a krb5 mechanism name whose unparsed principal is `display` (RFC 2743
/// §3.2 with RFC 1964 §2.1.3: token id 04 01, the DER mechanism OID with its 2-byte length, the
/// 4-byte name length, the name). MIT's krb5 mechanism displays and exports a name as the same
/// unparsed principal (`tests/names.rs` compares both with the library's own output); `None`
/// if the name is too long for the format.
#[must_use]
pub fn krb5_exported_name(display: &[u8]) -> Option<Vec<u8>> {
    let oid_length = u8::try_from(KRB5_OID.len()).ok()?;
    let name_length = u32::try_from(display.len()).ok()?;
    let mut token = Vec::with_capacity(10 + KRB5_OID.len() + display.len());
    token.extend_from_slice(&[0x04, 0x01, 0x00, oid_length.checked_add(2)?, 0x06, oid_length]);
    token.extend_from_slice(KRB5_OID);
    token.extend_from_slice(&name_length.to_be_bytes());
    token.extend_from_slice(display);
    Some(token)
}

/// The kernel's `linux_lucid_v1` bytes of an exported krb5 context.
fn lucid_bytes(lucid: &gss::LucidContext) -> Result<Vec<u8>, GssStatus> {
    let cfx = match lucid.protocol {
        0 => false,
        1 => true,
        _ => return Err(failure(errno::ENOTSUP)),
    };
    let key = lucid.acceptor_subkey.as_ref().unwrap_or(&lucid.ctx_key);
    let context = LucidContext {
        initiator: lucid.initiate,
        cfx,
        acceptor_subkey: cfx && lucid.acceptor_subkey.is_some(),
        endtime: lucid.endtime,
        send_seq: lucid.send_seq,
        enctype: u32::try_from(key.enctype()).map_err(|_| failure(errno::ENOTSUP))?,
        key: SecretBytes::new(key.as_bytes().to_vec()),
    };
    let bytes = context.encode().map_err(|_| failure(errno::ENOTSUP))?;
    Ok(bytes.as_bytes().to_vec())
}

/// The initiator's local uid, gid and groups, or the unmapped value. `display` (the name as
/// displayed) lets the worker's long-lived krb5 context map it ([`crate::cache::local_name`]);
/// `gss_localname` answers whatever that does not. krb5's mapping failure is a status; a lookup
/// that fails, or a group list longer than `NGROUPS_MAX`, fails the RPC.
fn linux_creds(source: &Name, display: Option<&[u8]>) -> Result<LinuxCreds, Refusal> {
    let mapped = display.and_then(crate::cache::local_name);
    let local = match mapped.map_or_else(|| source.localname(), Ok) {
        Ok(local) => local,
        Err(status) if status.minor == errno::ENOENT.unsigned_abs() => return Ok(LinuxCreds::unmapped()),
        Err(status) => return Err(Refusal::Status(status)),
    };
    let user = match kup_sys::passwd::user_by_name(&local) {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(LinuxCreds::unmapped()),
        Err(_) => return Err(Refusal::System),
    };
    let groups = kup_sys::passwd::group_list(&user.name, user.gid).map_err(|_| Refusal::System)?;
    if groups.len() > NGROUPS_MAX {
        return Err(Refusal::System);
    }
    Ok(LinuxCreds {
        uid: user.uid.get(),
        gid: user.gid.get(),
        groups: groups.into_iter().map(kup_sys::Gid::get).collect(),
    })
}
