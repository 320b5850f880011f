//! The procedures interposer clients call (`proxymech.so`, `GSS_USE_PROXY=yes`; spec
//! gssproxy-protocol.md §2.4, §5): `ACQUIRE_CRED`, `IMPORT_AND_CANON_NAME`,
//! `INIT_SEC_CONTEXT` and the per-message calls (`GET_MIC`, `VERIFY`, `WRAP`, `UNWRAP`,
//! `WRAP_SIZE_LIMIT`), on MIT through `kup-gss`, with the service's credential policy and flag
//! masks from `kup-gpconf` (config §6.1, §6.6). Credentials travel as sealed handles
//! (`crate::handle`), contexts as MIT export tokens: the daemon keeps no state between calls.
//! `ACCEPT_SEC_CONTEXT` is `crate::accept` (which opens the caller's credential handle and
//! returns a delegated one).
//!
//! Impersonation (config §6.2, the reference's behaviour in gssproxy 0.9.1): an `impersonate`
//! service acquiring initiator credentials (`initiate` or `both`, after `cred_usage`) takes
//! its own credential from its store (usage both, no name), and unless that already is the
//! name wanted, gets the user's (the target uid's `getpwuid` name) by `S4U2Self`, runs one
//! context from the user to itself and hands out the credential its acceptor makes of the
//! evidence ticket (none made: `GSS_S_NO_CRED`); that credential
//! initiates to other services by `S4U2Proxy`, as far as the KDC allows. A client's explicit
//! `gss_acquire_cred_impersonate_name` (`acquire_type` = `impersonate_name`, with its own
//! credential as impersonator; another `acquire_type` is `SYSTEM_ERR`) is `S4U2Self` when the service is `allow_protocol_transition` or
//! `trusted`; otherwise the reference acquires the name from the daemon's default environment,
//! and so do we. `INIT_SEC_CONTEXT` with a credential carrying `S4U2Self` evidence is refused
//! (`GSS_S_UNAUTHORIZED`) unless the service is `trusted`, `impersonate` or
//! `allow_constrained_delegation`, or the target is the impersonator itself.
//!
//! Every failure is the result's status (RPC `SUCCESS`), never a dropped connection. Runs on a
//! worker thread: every call may block (keytab, KDC, NSS).

use kup_gpconf::config::{CredUsage as PolicyUsage, GssFlags};
use kup_gpconf::policy::{self, DesiredName, NameKind, PolicyError, RequestedName};
use kup_gss::gss::{self, CredUsage, Credential, GssStatus, Mech, Name, SecurityContext};
use kup_gss::krb5;
use kup_gssx::gssx::{Cred, CredElement, Ctx, GssxOption, KRB5_OID, Name as GssxName, Status, find_option};
use kup_gssx::interposer::{
    ArgAcquireCred, ArgGetMic, ArgImportAndCanonName, ArgInitSecContext, ArgUnwrap, ArgVerifyMic, ArgWrap,
    ArgWrapSizeLimit, ResAcquireCred, ResGetMic, ResImportAndCanonName, ResInitSecContext, ResUnwrap,
    ResVerifyMic, ResWrap, ResWrapSizeLimit,
};
use kup_sys::{Uid, errno};

use crate::accept::{SystemError, status};
use crate::config::ServiceConfig;
use crate::handle;

/// `GSS_C_NT_USER_NAME`, 1.2.840.113554.1.2.1.1.
const NT_USER_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x01];
/// `GSS_C_NT_MACHINE_UID_NAME`, 1.2.840.113554.1.2.1.2.
const NT_MACHINE_UID_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x02];
/// `GSS_C_NT_STRING_UID_NAME`, 1.2.840.113554.1.2.1.3.
const NT_STRING_UID_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x03];
/// `GSS_C_NT_EXPORT_NAME`, 1.3.6.1.5.6.4.
const NT_EXPORT_NAME: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x06, 0x04];
/// The `localname\0` option of `IMPORT_AND_CANON_NAME` (call and result).
pub const LOCALNAME: &[u8] = b"localname\0";
/// Longest name accepted from a client (a principal is far shorter).
const MAX_NAME: usize = 4096;
/// The `acquire_type\0` option of `ACQUIRE_CRED` (read only with an input credential) and its
/// one value, `impersonate_name\0` (the interposer's `gss_acquire_cred_impersonate_name`).
const ACQUIRE_TYPE: &[u8] = b"acquire_type\0";
const IMPERSONATE_NAME: &[u8] = b"impersonate_name\0";
/// `GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG`: the flags of the context an impersonating
/// service runs from the user to itself.
const SELF_CONTEXT_FLAGS: u32 = 0x04 | 0x08;
/// `gssx_cred_usage` values.
const USAGE_INITIATE: u32 = 1;
const USAGE_ACCEPT: u32 = 2;
const USAGE_BOTH: u32 = 3;

fn failure(minor: i32) -> GssStatus {
    GssStatus {
        major: gss::GSS_S_FAILURE,
        minor: minor.unsigned_abs(),
        message: String::new(),
    }
}

/// A krb5 library failure: `GSS_S_FAILURE` with the krb5 code as the minor status, as MIT
/// reports krb5 codes (the unsigned value of the negative `com_err` code).
fn krb5_failure(error: &krb5::Krb5Error) -> GssStatus {
    GssStatus {
        major: gss::GSS_S_FAILURE,
        minor: error.code.cast_unsigned(),
        message: String::new(),
    }
}

/// A name's bytes as a client sent them: the interposer puts a NUL inside the length of the
/// names it imports (`gsstest@localhost\0`), which is dropped here; any other NUL, or a name
/// over [`MAX_NAME`] bytes, is refused (`GSS_S_BAD_NAME`).
fn name_bytes(bytes: &[u8]) -> Result<&[u8], GssStatus> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.len() > MAX_NAME || bytes.contains(&0) {
        return Err(GssStatus {
            major: gss::GSS_S_BAD_NAME,
            minor: 0,
            message: String::new(),
        });
    }
    Ok(bytes)
}

/// Imports a client's `gssx_name`: its display form with its type, else its exported form.
fn import_name(name: &GssxName) -> Result<Name, GssStatus> {
    if name.display_name.is_empty() && !name.exported_name.is_empty() {
        return Name::import_typed(&name.exported_name, NT_EXPORT_NAME);
    }
    Name::import_typed(name_bytes(&name.display_name)?, &name.name_type)
}

/// A `gssx_name` of an MIT name: display bytes (no NUL), name type, and when it is a
/// mechanism name its exported token and MIT's composite export, as the reference fills them.
pub fn describe_name(name: &Name) -> Result<GssxName, GssStatus> {
    let (display_name, name_type) = name.display_with_type()?;
    Ok(GssxName {
        display_name,
        name_type,
        exported_name: name.export().unwrap_or_default(),
        exported_composite_name: name.export_composite().unwrap_or_default(),
        ..GssxName::default()
    })
}

/// The `gssx_cred` of an MIT credential: its krb5 element and its handle sealed with the
/// service's key.
pub fn describe_cred(credential: &Credential, service: &ServiceConfig) -> Result<Cred, GssStatus> {
    let key = service
        .handle_key
        .as_ref()
        .ok_or_else(|| failure(errno::EINVAL))?;
    let info = credential.inquire(Mech::Krb5)?;
    let name = describe_name(&info.name)?;
    let cred_usage = match info.usage {
        CredUsage::Initiate => USAGE_INITIATE,
        CredUsage::Accept => USAGE_ACCEPT,
        CredUsage::Both => USAGE_BOTH,
    };
    Ok(Cred {
        desired_name: name.clone(),
        elements: vec![CredElement {
            mn: name,
            mech: KRB5_OID.to_vec(),
            cred_usage,
            initiator_time_rec: u64::from(info.initiator_lifetime),
            acceptor_time_rec: u64::from(info.acceptor_lifetime),
            options: Vec::new(),
        }],
        cred_handle_reference: handle::seal(key, credential)?,
        needs_release: false,
    })
}

/// The credential a client's `gssx_cred` stands for (its handle opened with the service's key).
pub fn open_cred(cred: &Cred, service: &ServiceConfig) -> Result<Credential, GssStatus> {
    let key = service
        .handle_key
        .as_ref()
        .ok_or_else(|| failure(errno::EINVAL))?;
    handle::open(key, &cred.cred_handle_reference)
}

/// `GSSX_ACQUIRE_CRED` for a caller with uid `peer` through `service`. With an input
/// credential and an `acquire_type` option, the credential is opened first (its failure is the
/// status); an `acquire_type` other than `impersonate_name` is then `SYSTEM_ERR`, as the
/// reference answers it (observed: its `GSS_S_FAILURE`/`EINVAL` status names no mechanism and
/// cannot be encoded, like an unknown `exported_creds_type`); so is a failure the reference
/// cannot describe ([`describable`]).
pub fn acquire_cred(
    arguments: &ArgAcquireCred,
    service: &ServiceConfig,
    peer: Uid,
) -> Result<ResAcquireCred, SystemError> {
    let failed = |failure: GssStatus| ResAcquireCred {
        status: status(failure.major, failure.minor),
        ..ResAcquireCred::default()
    };
    let impersonator = match (
        &arguments.input_cred_handle,
        find_option(&arguments.options, ACQUIRE_TYPE),
    ) {
        (Some(input), Some(kind)) => {
            let credential = match open_cred(input, service) {
                Ok(credential) => credential,
                Err(failure) => return Ok(failed(failure)),
            };
            if kind != IMPERSONATE_NAME {
                return Err(SystemError);
            }
            Some(credential)
        }
        _ => None,
    };
    if arguments.add_cred_to_input_handle && impersonator.is_none() {
        return acquire_added(arguments, service, peer);
    }
    match acquire(arguments, service, peer, impersonator.as_ref()) {
        Ok(cred) => Ok(ResAcquireCred {
            status: status(0, 0),
            output_cred_handle: Some(cred),
            options: Vec::new(),
        }),
        Err(failure) if !describable(failure.major) => Err(SystemError),
        Err(failure) => Ok(failed(failure)),
    }
}

/// An acquire; `impersonator`: the client's credential of an `impersonate_name` acquire.
fn acquire(
    arguments: &ArgAcquireCred,
    service: &ServiceConfig,
    peer: Uid,
    impersonator: Option<&Credential>,
) -> Result<Cred, GssStatus> {
    if !arguments.desired_mechs.is_empty() && !arguments.desired_mechs.iter().any(|mech| mech == KRB5_OID) {
        return Err(GssStatus {
            major: gss::GSS_S_BAD_MECH,
            minor: 0,
            message: String::new(),
        });
    }
    let usage = match arguments.cred_usage {
        USAGE_INITIATE => PolicyUsage::Initiate,
        USAGE_ACCEPT => PolicyUsage::Accept,
        USAGE_BOTH => PolicyUsage::Both,
        _ => return Err(failure(errno::EINVAL)),
    };
    if let Some(impersonator) = impersonator {
        return impersonate_name(arguments, service, impersonator, usage);
    }
    let requested = match &arguments.desired_name {
        Some(name) => Some(RequestedName {
            kind: match name.name_type.as_slice() {
                NT_STRING_UID_NAME => NameKind::StringUid,
                NT_MACHINE_UID_NAME => NameKind::MachineUid,
                _ => NameKind::Other,
            },
            display: name_bytes(&name.display_name)?,
        }),
        None => None,
    };
    let environment =
        policy::credential_environment(&service.resolved, peer.get(), usage, requested, user_name).map_err(
            |error| {
                failure(match error {
                    PolicyError::UsageRefused => errno::EACCES,
                    PolicyError::UnknownUid(_) => errno::ENOENT,
                    PolicyError::Expand(_) | PolicyError::NoKeytab => errno::EINVAL,
                })
            },
        )?;
    let usage = match environment.usage {
        PolicyUsage::Initiate => CredUsage::Initiate,
        PolicyUsage::Accept => CredUsage::Accept,
        PolicyUsage::Both => CredUsage::Both,
    };
    // A credential the client holds is used again when it is still good for the usage and no
    // particular name is asked for (config §6.1 "existing credentials"); it goes back as the
    // client sent it, as the reference's does, so the interposer (which compares the handle
    // bytes) does not write its ccache again.
    if arguments.desired_name.is_none()
        && let Some(input) = &arguments.input_cred_handle
        && let Ok(credential) = open_cred(input, service)
        && still_good(&credential, usage, service.resolved.service.min_lifetime)
    {
        return Ok(input.clone());
    }
    let name = match &environment.name {
        DesiredName::Default => None,
        DesiredName::Requested(_) => match &arguments.desired_name {
            Some(name) => Some(import_name(name)?),
            None => None,
        },
        DesiredName::User(user) => Some(Name::import_typed(user.as_bytes(), NT_USER_NAME)?),
        DesiredName::Principal(principal) => Some(Name::principal(principal)?),
    };
    let mut store: Vec<(String, String)> = environment
        .store
        .iter()
        .flatten()
        .map(|entry| (entry.key.clone(), entry.value.clone()))
        .collect();
    // The private ccache lives for this call only (destroyed when `private` drops, after the
    // credential was exported into its handle).
    let context = krb5::Context::new().map_err(|error| krb5_failure(&error))?;
    let private = if environment.private_ccache {
        let ccache = context
            .new_memory_ccache()
            .map_err(|error| krb5_failure(&error))?;
        store.push((
            "ccache".to_owned(),
            ccache.full_name().map_err(|error| krb5_failure(&error))?,
        ));
        Some(ccache)
    } else {
        None
    };
    let impersonating = service.resolved.service.impersonate
        && matches!(environment.usage, PolicyUsage::Initiate | PolicyUsage::Both);
    let credential = if impersonating {
        impersonate(name.as_ref(), usage, &store)?
    } else {
        Credential::acquire(name.as_ref(), usage, &store, Some(Mech::Krb5))?
    };
    let cred = describe_cred(&credential, service);
    drop(credential);
    drop(private);
    cred
}

/// An `impersonate` service's acquire: its own credential from `store` (usage both, no name);
/// when that is `name` already, `name`'s credential from the store (as asked); else `S4U2Self`
/// for `name`, a context from the user to the service itself, and the credential the
/// acceptor makes of the evidence ticket (none when the ticket is not forwardable:
/// `GSS_S_NO_CRED`).
fn impersonate(
    name: Option<&Name>,
    usage: CredUsage,
    store: &[(String, String)],
) -> Result<Credential, GssStatus> {
    let impersonator = Credential::acquire(None, CredUsage::Both, store, Some(Mech::Krb5))?;
    let own_name = impersonator.inquire(Mech::Krb5)?.name;
    if let Some(name) = name
        && own_name.same_as(name)?
        && let Ok(credential) = Credential::acquire(Some(name), usage, store, Some(Mech::Krb5))
    {
        return Ok(credential);
    }
    let user = impersonator.impersonate(name, CredUsage::Initiate, Mech::Krb5)?;
    let mut initiator = SecurityContext::with_request_flags(Mech::Krb5, SELF_CONTEXT_FLAGS);
    let (token, complete) = initiator.init_step_with(Some(&user), &own_name, &[])?;
    if !complete {
        // The reference stops at any status but complete, this one included.
        return Err(GssStatus {
            major: gss::GSS_S_CONTINUE_NEEDED,
            minor: 0,
            message: String::new(),
        });
    }
    let mut acceptor = SecurityContext::new(Mech::Krb5);
    acceptor.accept_step(&impersonator, &token)?;
    acceptor.take_delegated().ok_or(GssStatus {
        major: gss::GSS_S_NO_CRED,
        minor: 0,
        message: String::new(),
    })
}

/// `ACQUIRE_CRED` with `acquire_type` = `impersonate_name`: `S4U2Self` with the client's
/// credential as impersonator for the name it asks (initiate only) when the service allows
/// protocol transition (or is trusted); otherwise, as the reference, an ordinary acquire of
/// that name from the daemon's default environment (no store, no `cred_usage` narrowing).
fn impersonate_name(
    arguments: &ArgAcquireCred,
    service: &ServiceConfig,
    impersonator: &Credential,
    usage: PolicyUsage,
) -> Result<Cred, GssStatus> {
    let name = arguments.desired_name.as_ref().map(import_name).transpose()?;
    let policy = &service.resolved.service;
    let credential = if policy.allow_protocol_transition || policy.trusted {
        impersonator.impersonate(name.as_ref(), CredUsage::Initiate, Mech::Krb5)?
    } else {
        let usage = match usage {
            PolicyUsage::Initiate => CredUsage::Initiate,
            PolicyUsage::Accept => CredUsage::Accept,
            PolicyUsage::Both => CredUsage::Both,
        };
        Credential::acquire(name.as_ref(), usage, &[], Some(Mech::Krb5))?
    };
    describe_cred(&credential, service)
}

/// Whether `credential` may initiate to `target` through `service` (the reference's
/// `gp_cred_allowed`): always on a `trusted`, `impersonate` or `allow_constrained_delegation`
/// service; elsewhere a credential holding `S4U2Self` evidence only to its impersonator
/// (`GSS_S_UNAUTHORIZED` for any other target).
fn initiation_allowed(
    credential: &Credential,
    target: &Name,
    service: &ServiceConfig,
) -> Result<(), GssStatus> {
    let policy = &service.resolved.service;
    if policy.trusted || policy.impersonate || policy.allow_constrained_delegation {
        return Ok(());
    }
    let Some(impersonator) = credential.impersonator()? else {
        return Ok(());
    };
    // The reference compares up to the impersonator's first NUL, with the krb5 display form of
    // the target.
    let impersonator = impersonator.split(|byte| *byte == 0).next().unwrap_or_default();
    let quiet = |failure: GssStatus| GssStatus { minor: 0, ..failure };
    let (display, _) = target
        .canonicalize(Mech::Krb5)
        .and_then(|name| name.display_with_type())
        .map_err(quiet)?;
    if display == impersonator {
        Ok(())
    } else {
        Err(GssStatus {
            major: gss::GSS_S_UNAUTHORIZED,
            minor: 0,
            message: String::new(),
        })
    }
}

/// The credential allows `usage` and has more than `min_lifetime` seconds left for it.
fn still_good(credential: &Credential, usage: CredUsage, min_lifetime: u32) -> bool {
    let Ok(info) = credential.inquire(Mech::Krb5) else {
        return false;
    };
    let initiate = info.usage != CredUsage::Accept && info.initiator_lifetime > min_lifetime;
    let accept = info.usage != CredUsage::Initiate && info.acceptor_lifetime > min_lifetime;
    match usage {
        CredUsage::Initiate => initiate,
        CredUsage::Accept => accept,
        CredUsage::Both => initiate && accept,
    }
}

/// `getpwuid`'s user name.
fn user_name(uid: u32) -> Option<String> {
    kup_sys::passwd::user_by_uid(Uid::new(uid))
        .ok()
        .flatten()
        .and_then(|user| String::from_utf8(user.name).ok())
}

/// `GSSX_INIT_SEC_CONTEXT` for a caller with uid `peer` through `service`: the client's
/// credential (its handle opened; without one, the initiator credential `ACQUIRE_CRED` would
/// give it), the context continued from its export token when the call carries one, flags =
/// (requested | `enforce_flags`) & ~`filter_flags` (config §6.6), one `gss_init_sec_context`
/// step; the context goes back exported (a partial export, names empty, while
/// `GSS_S_CONTINUE_NEEDED`). The call's channel bindings and `time_req` go to MIT, and a
/// credential that gained tickets goes back in a `sync_creds\0` option when the client asked
/// (`crate::sync`). A failure whose major status the reference cannot describe is `SYSTEM_ERR`
/// ([`describable`]).
pub fn init_sec_context(
    arguments: &ArgInitSecContext,
    service: &ServiceConfig,
    peer: Uid,
) -> Result<ResInitSecContext, SystemError> {
    match init(arguments, service, peer) {
        Ok(result) => Ok(result),
        Err(failure) if !describable(failure.major) => Err(SystemError),
        Err(failure) => Ok(ResInitSecContext {
            status: status(failure.major, failure.minor),
            ..ResInitSecContext::default()
        }),
    }
}

/// Whether gssproxy 0.9.1 can put a failure with `major` in a result: it describes a status
/// with `gss_display_status` and its loop over the messages fails from the second message on
/// (it takes the length `asprintf` returns for an error), so the call is answered `SYSTEM_ERR`
/// instead (observed: `GSS_S_CALL_INACCESSIBLE_READ | GSS_S_BAD_NAME` from `ACQUIRE_CRED`).
/// MIT gives one message for each of: the calling error, the routine error, and every
/// supplementary bit.
fn describable(major: u32) -> bool {
    let calling = u32::from(major >> 24 != 0);
    let routine = u32::from((major >> 16) & 0xff != 0);
    calling + routine + (major & 0xffff).count_ones() <= 1
}

fn init(
    arguments: &ArgInitSecContext,
    service: &ServiceConfig,
    peer: Uid,
) -> Result<ResInitSecContext, GssStatus> {
    if !arguments.mech_type.is_empty() && arguments.mech_type != KRB5_OID {
        return Err(GssStatus {
            major: gss::GSS_S_BAD_MECH,
            minor: 0,
            message: String::new(),
        });
    }
    let target = import_name(arguments.target_name.as_ref().ok_or_else(|| GssStatus {
        major: gss::GSS_S_BAD_NAME,
        minor: 0,
        message: String::new(),
    })?)?;
    let sync = crate::sync::wanted(service, &arguments.options);
    let mut tickets_before = 0;
    let credential = if let Some(cred) = &arguments.cred_handle {
        let credential = open_cred(cred, service)?;
        tickets_before = crate::sync::ticket_count(sync, &credential);
        credential
    } else {
        let request = ArgAcquireCred {
            cred_usage: USAGE_INITIATE,
            ..ArgAcquireCred::default()
        };
        open_cred(&acquire(&request, service, peer, None)?, service)?
    };
    initiation_allowed(&credential, &target, service)?;
    let mut context = match &arguments.context_handle {
        Some(ctx) if !ctx.exported_context_token.is_empty() => {
            SecurityContext::import(&ctx.exported_context_token, Mech::Krb5)?
        }
        _ => SecurityContext::new(Mech::Krb5),
    };
    let policy = &service.resolved.service;
    // The flags are 32 bits in GSSAPI; higher bits of the wire's 64 are dropped.
    let requested = u32::try_from(arguments.req_flags & u64::from(u32::MAX)).unwrap_or(0);
    context.set_request_flags(GssFlags::apply(
        requested,
        policy.enforce_flags,
        policy.filter_flags,
    ));
    let input = arguments.input_token.as_deref().unwrap_or_default();
    let bindings = arguments.input_cb.as_ref().map(crate::sync::channel_bindings);
    let (token, complete) = context.init_step_bound(
        Some(&credential),
        &target,
        input,
        crate::sync::time_req(arguments.time_req),
        bindings.as_ref(),
    )?;
    let mut result_status = if complete {
        status(0, 0)
    } else {
        status(gss::GSS_S_CONTINUE_NEEDED, 0)
    };
    result_status.mech = KRB5_OID.to_vec();
    let context_handle = Some(export_context(&mut context, complete)?);
    let tickets_after = crate::sync::ticket_count(sync, &credential);
    Ok(ResInitSecContext {
        status: result_status,
        context_handle,
        output_token: (!token.is_empty()).then_some(token),
        options: crate::sync::option(tickets_before, tickets_after, &credential, service)
            .into_iter()
            .collect(),
    })
}

/// The `gssx_ctx` of `context`, exported (which ends it here): names, lifetime and flags from
/// the library when it is complete; while partial, empty names and lifetime 0 with the step's
/// flags, as the reference.
fn export_context(context: &mut SecurityContext, complete: bool) -> Result<Ctx, GssStatus> {
    let (src_name, targ_name, lifetime, flags, locally_initiated) = if complete {
        let info = context.inquire()?;
        let describe =
            |name: Option<&Name>| name.map(describe_name).transpose().map(Option::unwrap_or_default);
        (
            describe(info.source.as_ref())?,
            describe(info.target.as_ref())?,
            info.lifetime,
            info.flags,
            info.locally_initiated,
        )
    } else {
        // A partial context has lifetime 0 in the reference's result (observed).
        (GssxName::default(), GssxName::default(), 0, context.flags(), true)
    };
    Ok(Ctx {
        exported_context_token: context.export_token()?,
        state: Vec::new(),
        needs_release: false,
        mech: KRB5_OID.to_vec(),
        src_name,
        targ_name,
        lifetime: u64::from(lifetime),
        ctx_flags: u64::from(flags),
        locally_initiated,
        open: complete,
        options: Vec::new(),
    })
}

/// The context a per-message call carries (its MIT export token imported).
fn imported(ctx: &Ctx) -> Result<SecurityContext, GssStatus> {
    if !ctx.mech.is_empty() && ctx.mech != KRB5_OID {
        return Err(GssStatus {
            major: gss::GSS_S_BAD_MECH,
            minor: 0,
            message: String::new(),
        });
    }
    SecurityContext::import(&ctx.exported_context_token, Mech::Krb5)
}

/// The context after a per-message call, exported again (its sequence state moved on); the
/// other fields as the client sent them.
fn reexported(mut context: SecurityContext, sent: &Ctx) -> Result<Ctx, GssStatus> {
    Ok(Ctx {
        exported_context_token: context.export_token()?,
        ..sent.clone()
    })
}

/// A QOP from the wire (64 bits; GSSAPI's are 32).
fn qop(value: u64) -> Result<u32, GssStatus> {
    u32::try_from(value).map_err(|_| GssStatus {
        major: gss::GSS_S_BAD_QOP,
        minor: 0,
        message: String::new(),
    })
}

/// The one buffer of a per-message call (the protocol has a list; gssproxy uses the first).
fn single(buffers: &[Vec<u8>]) -> Result<&[u8], GssStatus> {
    match buffers {
        [only] => Ok(only),
        _ => Err(GssStatus {
            major: gss::GSS_S_CALL_BAD_STRUCTURE,
            minor: 0,
            message: String::new(),
        }),
    }
}

/// `GSSX_GET_MIC` on the call's context.
#[must_use]
pub fn get_mic(arguments: &ArgGetMic) -> ResGetMic {
    let result = (|| {
        let context = imported(&arguments.context_handle)?;
        let qop_req = qop(arguments.qop_req)?;
        let token = context.get_mic(qop_req, &arguments.message_buffer)?;
        Ok(ResGetMic {
            status: status(0, 0),
            context_handle: Some(reexported(context, &arguments.context_handle)?),
            token_buffer: token,
            qop_state: Some(u64::from(qop_req)),
        })
    })();
    result.unwrap_or_else(|failure: GssStatus| ResGetMic {
        status: status(failure.major, failure.minor),
        ..ResGetMic::default()
    })
}

/// `GSSX_VERIFY` on the call's context.
#[must_use]
pub fn verify_mic(arguments: &ArgVerifyMic) -> ResVerifyMic {
    let result = (|| {
        let context = imported(&arguments.context_handle)?;
        let qop_state = context.verify_mic(&arguments.message_buffer, &arguments.token_buffer)?;
        Ok(ResVerifyMic {
            status: status(0, 0),
            context_handle: Some(reexported(context, &arguments.context_handle)?),
            qop_state: Some(u64::from(qop_state)),
        })
    })();
    result.unwrap_or_else(|failure: GssStatus| ResVerifyMic {
        status: status(failure.major, failure.minor),
        ..ResVerifyMic::default()
    })
}

/// `GSSX_WRAP` on the call's context (exactly one message buffer).
#[must_use]
pub fn wrap(arguments: &ArgWrap) -> ResWrap {
    let result = (|| {
        let context = imported(&arguments.context_handle)?;
        let qop_req = qop(arguments.qop_state)?;
        let message = single(&arguments.message_buffer)?;
        let (token, confidential) = context.wrap(arguments.conf_req, qop_req, message)?;
        Ok(ResWrap {
            status: status(0, 0),
            context_handle: Some(reexported(context, &arguments.context_handle)?),
            token_buffer: vec![token],
            conf_state: Some(confidential),
            qop_state: Some(u64::from(qop_req)),
        })
    })();
    result.unwrap_or_else(|failure: GssStatus| ResWrap {
        status: status(failure.major, failure.minor),
        ..ResWrap::default()
    })
}

/// `GSSX_UNWRAP` on the call's context (exactly one token buffer).
#[must_use]
pub fn unwrap(arguments: &ArgUnwrap) -> ResUnwrap {
    let result = (|| {
        let context = imported(&arguments.context_handle)?;
        let token = single(&arguments.token_buffer)?;
        let (message, confidential, qop_state) = context.unwrap(token)?;
        Ok(ResUnwrap {
            status: status(0, 0),
            context_handle: Some(reexported(context, &arguments.context_handle)?),
            message_buffer: vec![message.as_bytes().to_vec()],
            conf_state: Some(confidential),
            qop_state: Some(u64::from(qop_state)),
        })
    })();
    result.unwrap_or_else(|failure: GssStatus| ResUnwrap {
        status: status(failure.major, failure.minor),
        ..ResUnwrap::default()
    })
}

/// `GSSX_WRAP_SIZE_LIMIT` on the call's context.
#[must_use]
pub fn wrap_size_limit(arguments: &ArgWrapSizeLimit) -> ResWrapSizeLimit {
    let result = (|| {
        let context = imported(&arguments.context_handle)?;
        let qop_req = qop(arguments.qop_state)?;
        let size = u32::try_from(arguments.req_output_size).unwrap_or(u32::MAX);
        let max = context.wrap_size_limit(arguments.conf_req, qop_req, size)?;
        Ok(ResWrapSizeLimit {
            status: status(0, 0),
            max_input_size: u64::from(max),
        })
    })();
    result.unwrap_or_else(|failure: GssStatus| ResWrapSizeLimit {
        status: status(failure.major, failure.minor),
        ..ResWrapSizeLimit::default()
    })
}

/// `GSSX_IMPORT_AND_CANON_NAME`: with the `localname\0` option, the local user name of the
/// (krb5) name in a result option of that name (no NUL in the value) and no output name, as
/// the reference answers it (observed, with an all-zero status); without it, the imported name.
#[must_use]
pub fn import_and_canon_name(arguments: &ArgImportAndCanonName) -> ResImportAndCanonName {
    let canonical = !arguments.mech.is_empty();
    let result = import_name(&arguments.input_name).and_then(|name| {
        // With a mechanism (krb5 is the only one), the mechanism name, as the reference.
        let name = if canonical {
            if arguments.mech != KRB5_OID {
                return Err(GssStatus {
                    major: gss::GSS_S_BAD_MECH,
                    minor: 0,
                    message: String::new(),
                });
            }
            name.canonicalize(Mech::Krb5)?
        } else {
            name
        };
        if find_option(&arguments.options, LOCALNAME).is_some() {
            let local = name.localname()?;
            Ok(ResImportAndCanonName {
                status: Status::default(),
                output_name: None,
                options: vec![GssxOption {
                    option: LOCALNAME.to_vec(),
                    value: local,
                }],
            })
        } else {
            Ok(ResImportAndCanonName {
                // The reference names the mechanism in the status of a canonicalized name.
                status: Status {
                    mech: if canonical { KRB5_OID.to_vec() } else { Vec::new() },
                    ..Status::default()
                },
                output_name: Some(describe_name(&name)?),
                options: Vec::new(),
            })
        }
    });
    result.unwrap_or_else(|failure| ResImportAndCanonName {
        status: status(failure.major, failure.minor),
        ..ResImportAndCanonName::default()
    })
}

/// `GSS_S_CRED_UNAVAIL`, which MIT's `gssapi.h` defines as `GSS_S_FAILURE`.
const GSS_S_CRED_UNAVAIL: u32 = gss::GSS_S_FAILURE;

/// `GSSX_ACQUIRE_CRED` with `add_cred_to_input_handle`, answered as gssproxy 0.9.1 answers it
/// (`gp_acquire_cred`, `gp_add_krb5_creds`): krb5 is its only mechanism and it cannot add to
/// an existing credential, so
/// - a client credential that still serves the request (krb5, the name asked for if any, the
///   usage, more than `min_lifetime` left) is not added to: `GSS_S_NO_CRED` (minor 0, the
///   status naming krb5), no credential;
/// - otherwise (no handle, a handle that does not open, a credential for another usage or
///   expired) a credential is acquired as without the flag, and thrown away: the result is
///   the client's own `gssx_cred` as it came (none when it sent none), status complete;
/// - a credential for another name: `GSS_S_CRED_UNAVAIL`.
fn acquire_added(
    arguments: &ArgAcquireCred,
    service: &ServiceConfig,
    peer: Uid,
) -> Result<ResAcquireCred, SystemError> {
    let failed = |major: u32, minor: u32, mech: &[u8]| ResAcquireCred {
        status: Status {
            mech: mech.to_vec(),
            ..status(major, minor)
        },
        ..ResAcquireCred::default()
    };
    let input = arguments
        .input_cred_handle
        .as_ref()
        .and_then(|cred| open_cred(cred, service).ok());
    if let Some(credential) = &input {
        if !arguments.desired_mechs.is_empty() && !arguments.desired_mechs.iter().any(|mech| mech == KRB5_OID)
        {
            return Ok(failed(gss::GSS_S_BAD_MECH, 0, &[]));
        }
        match serves(credential, arguments, service) {
            Ok(()) => return Ok(failed(gss::GSS_S_NO_CRED, 0, KRB5_OID)),
            Err(Unserved::Unusable) => {}
            Err(Unserved::OtherName(minor)) => return Ok(failed(GSS_S_CRED_UNAVAIL, minor, KRB5_OID)),
        }
    }
    let fresh = ArgAcquireCred {
        input_cred_handle: None,
        add_cred_to_input_handle: false,
        ..arguments.clone()
    };
    match acquire(&fresh, service, peer, None) {
        Ok(_) => Ok(ResAcquireCred {
            status: status(0, 0),
            output_cred_handle: arguments.input_cred_handle.clone(),
            options: Vec::new(),
        }),
        Err(failure) if !describable(failure.major) => Err(SystemError),
        Err(failure) => Ok(failed(failure.major, failure.minor, &[])),
    }
}

/// Why a client's credential does not serve an acquire request.
enum Unserved {
    /// Another usage, expired, or less than `min_lifetime` left: acquire afresh.
    Unusable,
    /// Another name (the minor status of the comparison).
    OtherName(u32),
}

/// Whether `credential` serves the request as the reference checks it (`gp_check_cred`).
fn serves(
    credential: &Credential,
    arguments: &ArgAcquireCred,
    service: &ServiceConfig,
) -> Result<(), Unserved> {
    let Ok(info) = credential.inquire(Mech::Krb5) else {
        return Err(Unserved::OtherName(0));
    };
    if let Some(wanted) = &arguments.desired_name {
        let same = import_name(wanted).and_then(|name| name.same_as(&info.name));
        match same {
            Ok(true) => {}
            Ok(false) => return Err(Unserved::OtherName(0)),
            Err(failure) => return Err(Unserved::OtherName(failure.minor)),
        }
    }
    let usable = match arguments.cred_usage {
        USAGE_ACCEPT => info.usage != CredUsage::Initiate,
        USAGE_INITIATE => info.usage != CredUsage::Accept,
        _ => info.usage == CredUsage::Both,
    };
    let lifetime = if info.usage == CredUsage::Accept {
        info.acceptor_lifetime
    } else {
        info.initiator_lifetime
    };
    let min_lifetime = service.resolved.service.min_lifetime;
    if !usable || lifetime == 0 || (min_lifetime != 0 && lifetime < min_lifetime) {
        return Err(Unserved::Unusable);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_of_more_than_one_message_are_not_describable() {
        assert!(describable(gss::GSS_S_FAILURE));
        assert!(describable(gss::GSS_S_CONTINUE_NEEDED));
        assert!(describable(gss::GSS_S_CALL_BAD_STRUCTURE));
        assert!(!describable(gss::GSS_S_CALL_BAD_STRUCTURE | gss::GSS_S_BAD_NAME));
        assert!(!describable(gss::GSS_S_FAILURE | gss::GSS_S_CONTINUE_NEEDED));
        assert!(!describable(0b11));
    }

    #[test]
    fn one_trailing_nul_is_dropped_and_any_other_refused() {
        assert_eq!(name_bytes(b"gsstest@localhost\0").unwrap(), b"gsstest@localhost");
        assert_eq!(name_bytes(b"alice@KUP.TEST").unwrap(), b"alice@KUP.TEST");
        assert_eq!(name_bytes(b"a\0b").unwrap_err().major, gss::GSS_S_BAD_NAME);
        assert_eq!(name_bytes(b"a\0\0").unwrap_err().major, gss::GSS_S_BAD_NAME);
        assert!(name_bytes(&vec![b'a'; MAX_NAME + 1]).is_err());
    }

    #[test]
    fn a_localname_request_without_a_mapping_fails_in_the_status_only() {
        // A realm no krb5.conf maps: no local name (the mapped case is proven with gss-server
        // in tests/interposer.rs).
        let arguments = ArgImportAndCanonName {
            input_name: GssxName {
                display_name: b"daemon@NO-SUCH-REALM.INVALID".to_vec(),
                name_type: vec![0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01],
                ..GssxName::default()
            },
            options: vec![GssxOption {
                option: LOCALNAME.to_vec(),
                value: Vec::new(),
            }],
            ..ArgImportAndCanonName::default()
        };
        let result = import_and_canon_name(&arguments);
        assert_ne!(result.status.major_status, 0);
        assert!(!result.status.major_status_string.is_empty());
        assert!(result.options.is_empty() && result.output_name.is_none());
        // Without the option, the same name comes back imported.
        let plain = import_and_canon_name(&ArgImportAndCanonName {
            options: Vec::new(),
            ..arguments.clone()
        });
        assert_eq!(plain.status.major_status, 0);
        let name = plain.output_name.expect("the imported name");
        assert_eq!(name.display_name, b"daemon@NO-SUCH-REALM.INVALID");
        assert_eq!(name.name_type, arguments.input_name.name_type);
        // Imported, not canonicalized (no mechanism asked): not a mechanism name, so no export.
        assert!(name.exported_name.is_empty());
    }

    #[test]
    fn a_bad_name_is_reported_in_the_status() {
        let arguments = ArgImportAndCanonName {
            input_name: GssxName {
                display_name: b"x\0y".to_vec(),
                ..GssxName::default()
            },
            ..ArgImportAndCanonName::default()
        };
        assert_eq!(
            import_and_canon_name(&arguments).status.major_status,
            u64::from(gss::GSS_S_BAD_NAME)
        );
    }
}
