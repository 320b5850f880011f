//! One record in, one reply record out (or the connection closed), as gssproxy 0.9.1's
//! `gp_rpc_process.c` does (spec gssproxy-protocol.md §1.5, §2.4): the RPC header checks of
//! `kup_gssx::decode_call`, then the procedure.
//!
//! - `GSSX_GET_CALL_CONTEXT`: the reference's stub, `SUCCESS` with the all-zero result.
//! - `GSSX_INDICATE_MECHS`: every mechanism MIT offers, described as the reference does.
//! - `GSSX_ACCEPT_SEC_CONTEXT`: `crate::accept`.
//! - `GSSX_ACQUIRE_CRED`, `GSSX_IMPORT_AND_CANON_NAME`, `GSSX_INIT_SEC_CONTEXT` and the
//!   per-message procedures (`GET_MIC`, `VERIFY`, `WRAP`, `UNWRAP`, `WRAP_SIZE_LIMIT`):
//!   `crate::interposer`.
//! - `EXPORT_CRED`, `IMPORT_CRED`, `STORE_CRED`: the reference's stubs (zero result).
//! - every other procedure: not implemented by kup yet; answered `SUCCESS` with a result whose
//!   status is `GSS_S_UNAVAILABLE` and every other field absent or empty (`RELEASE_HANDLE`'s
//!   answer in the reference), never a dropped connection.

use kup_gss::gss;
use kup_gssx::call::{Arguments, Decoded, decode_call};
use kup_gssx::gssx::{
    MechAttr, MechInfo, Procedure, ResAcceptSecContext, ResGetCallContext, ResIndicateMechs, Status, Xdr,
};
use kup_gssx::interposer::{
    ResAcquireCred, ResExportCred, ResGetMic, ResImportAndCanonName, ResImportCred, ResInitSecContext,
    ResReleaseHandle, ResStoreCred, ResUnwrap, ResVerifyMic, ResWrap, ResWrapSizeLimit,
};
use kup_gssx::record::write_record;
use kup_gssx::rpc::{AcceptStat, ReplyHeader};
use kup_gssx::xdr::{Encoder, Limits, MAX_RECORD_DEFAULT};

use kup_sys::Uid;

use crate::accept;
use crate::config::ServiceConfig;
use crate::interposer;

/// The reply record (record mark included) to `record`, or `None` when the connection must be
/// closed without a reply.
#[must_use]
pub fn answer(record: &[u8], service: &ServiceConfig, peer: Uid) -> Option<Vec<u8>> {
    let body = match decode_call(record, Limits::DEFAULT) {
        Decoded::Close => return None,
        Decoded::Reply(header) => encode(&header, |_| {}),
        Decoded::Call { header, arguments } => {
            let success = ReplyHeader::accepted(header.xid, AcceptStat::Success);
            let mut failed = false;
            let result = encode(&success, |encoder| {
                failed = result(&arguments, service, peer, encoder).is_err();
            });
            if failed || result.len() > MAX_RECORD_DEFAULT {
                encode(&ReplyHeader::accepted(header.xid, AcceptStat::SystemErr), |_| {})
            } else {
                result
            }
        }
    };
    write_record(&body, MAX_RECORD_DEFAULT).ok()
}

fn encode(header: &ReplyHeader, result: impl FnOnce(&mut Encoder)) -> Vec<u8> {
    // Over-long output is cut by the encoder's limit and reported by `finish`; the caller
    // replaces such a reply with SYSTEM_ERR.
    let mut encoder = Encoder::new(MAX_RECORD_DEFAULT.saturating_add(1));
    header.encode(&mut encoder);
    result(&mut encoder);
    encoder
        .finish()
        .unwrap_or_else(|_| vec![0; MAX_RECORD_DEFAULT.saturating_add(1)])
}

/// Encodes the procedure's result; `Err` when the call must fail with `SYSTEM_ERR` instead.
fn result(
    arguments: &Arguments,
    service: &ServiceConfig,
    peer: Uid,
    encoder: &mut Encoder,
) -> Result<(), accept::SystemError> {
    match arguments {
        Arguments::GetCallContext(_) => ResGetCallContext::default().encode(encoder),
        Arguments::IndicateMechs(_) => indicate_mechs().encode(encoder),
        Arguments::AcceptSecContext(arguments) => {
            accept::accept_sec_context(arguments, service)?.encode(encoder);
        }
        Arguments::AcquireCred(arguments) => {
            interposer::acquire_cred(arguments, service, peer)?.encode(encoder);
        }
        Arguments::ImportAndCanonName(arguments) => {
            interposer::import_and_canon_name(arguments).encode(encoder);
        }
        Arguments::InitSecContext(arguments) => {
            interposer::init_sec_context(arguments, service, peer)?.encode(encoder);
        }
        Arguments::GetMic(arguments) => interposer::get_mic(arguments).encode(encoder),
        Arguments::Verify(arguments) => interposer::verify_mic(arguments).encode(encoder),
        Arguments::Wrap(arguments) => interposer::wrap(arguments).encode(encoder),
        Arguments::Unwrap(arguments) => interposer::unwrap(arguments).encode(encoder),
        Arguments::WrapSizeLimit(arguments) => interposer::wrap_size_limit(arguments).encode(encoder),
        other => unserved(other.procedure(), encoder),
    }
    Ok(())
}

/// The result of a procedure this daemon does not run: the reference's zero result for its
/// stubs (`EXPORT_CRED`, `IMPORT_CRED`, `STORE_CRED`), `GSS_S_UNAVAILABLE` with nothing else for the
/// rest (the reference's `RELEASE_HANDLE` answer; the interposer procedures not built yet).
fn unserved(procedure: Procedure, encoder: &mut Encoder) {
    let unavailable = || accept::status(gss::GSS_S_UNAVAILABLE, 0);
    match procedure {
        Procedure::ExportCred => ResExportCred::default().encode(encoder),
        Procedure::ImportCred => ResImportCred::default().encode(encoder),
        Procedure::StoreCred => ResStoreCred::default().encode(encoder),
        Procedure::ReleaseHandle => ResReleaseHandle {
            status: unavailable(),
        }
        .encode(encoder),
        Procedure::ImportAndCanonName => ResImportAndCanonName {
            status: unavailable(),
            ..ResImportAndCanonName::default()
        }
        .encode(encoder),
        Procedure::AcquireCred => ResAcquireCred {
            status: unavailable(),
            ..ResAcquireCred::default()
        }
        .encode(encoder),
        Procedure::InitSecContext => ResInitSecContext {
            status: unavailable(),
            ..ResInitSecContext::default()
        }
        .encode(encoder),
        Procedure::GetMic => ResGetMic {
            status: unavailable(),
            ..ResGetMic::default()
        }
        .encode(encoder),
        Procedure::Verify => ResVerifyMic {
            status: unavailable(),
            ..ResVerifyMic::default()
        }
        .encode(encoder),
        Procedure::Wrap => ResWrap {
            status: unavailable(),
            ..ResWrap::default()
        }
        .encode(encoder),
        Procedure::Unwrap => ResUnwrap {
            status: unavailable(),
            ..ResUnwrap::default()
        }
        .encode(encoder),
        Procedure::WrapSizeLimit => ResWrapSizeLimit {
            status: unavailable(),
            ..ResWrapSizeLimit::default()
        }
        .encode(encoder),
        // Served above, never here.
        Procedure::IndicateMechs => ResIndicateMechs {
            status: unavailable(),
            ..ResIndicateMechs::default()
        }
        .encode(encoder),
        Procedure::GetCallContext => ResGetCallContext {
            status: unavailable(),
            ..ResGetCallContext::default()
        }
        .encode(encoder),
        Procedure::AcceptSecContext => ResAcceptSecContext {
            status: unavailable(),
            ..ResAcceptSecContext::default()
        }
        .encode(encoder),
    }
}

/// `GSSX_INDICATE_MECHS` as gssproxy 0.9.1 answers it: every mechanism MIT offers (the daemon
/// runs with `GSS_USE_PROXY=NO`, so not the interposer) with its name types, attributes and
/// SASL names, then a description of every attribute, in the order they first appear (each
/// mechanism's attributes, then the ones it knows). A library failure is the status, as in the
/// reference.
#[must_use]
pub fn indicate_mechs() -> ResIndicateMechs {
    let mechs = match gss::indicate_mechs() {
        Ok(mechs) => mechs,
        Err(failure) => {
            return ResIndicateMechs {
                status: accept::status(failure.major, failure.minor),
                ..ResIndicateMechs::default()
            };
        }
    };
    let mut attributes: Vec<&[u8]> = Vec::new();
    for mech in &mechs {
        for attribute in mech.mech_attrs.iter().chain(&mech.known_mech_attrs) {
            if !attributes.contains(&attribute.as_slice()) {
                attributes.push(attribute);
            }
        }
    }
    let mut mech_attr_descs = Vec::with_capacity(attributes.len());
    for attribute in attributes {
        match gss::mech_attr_description(attribute) {
            Ok([name, short_desc, long_desc]) => mech_attr_descs.push(MechAttr {
                attr: attribute.to_vec(),
                name,
                short_desc,
                long_desc,
                extensions: Vec::new(),
            }),
            Err(failure) => {
                return ResIndicateMechs {
                    status: accept::status(failure.major, failure.minor),
                    ..ResIndicateMechs::default()
                };
            }
        }
    }
    ResIndicateMechs {
        status: Status::default(),
        mechs: mechs
            .into_iter()
            .map(|mech| MechInfo {
                mech: mech.oid,
                name_types: mech.name_types,
                mech_attrs: mech.mech_attrs,
                known_mech_attrs: mech.known_mech_attrs,
                cred_options: Vec::new(),
                sec_ctx_options: Vec::new(),
                saslname_sasl_mech_name: mech.sasl_mech_name,
                saslname_mech_name: mech.mech_name,
                saslname_mech_desc: mech.mech_description,
                extensions: Vec::new(),
            })
            .collect(),
        mech_attr_descs,
        supported_extensions: Vec::new(),
        extensions: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use kup_gssx::gssx::{ArgGetCallContext, CallCtx, KRB5_OID};
    use kup_gssx::rpc::CallHeader;

    use super::*;

    fn call(procedure_number: u32, arguments: &[u8]) -> Vec<u8> {
        let mut header = CallHeader::gssproxy(7, Procedure::GetCallContext);
        header.procedure = procedure_number;
        let mut encoder = Encoder::new(MAX_RECORD_DEFAULT);
        header.encode(&mut encoder);
        encoder.fixed(arguments);
        encoder.finish().unwrap()
    }

    fn service() -> ServiceConfig {
        ServiceConfig::new("test", Uid::new(0), None)
    }

    #[test]
    fn get_call_context_is_success_and_44_zero_bytes() {
        let mut encoder = Encoder::new(1024);
        ArgGetCallContext {
            call_ctx: CallCtx::default(),
            options: Vec::new(),
        }
        .encode(&mut encoder);
        let reply = answer(&call(2, &encoder.finish().unwrap()), &service(), Uid::new(0)).unwrap();
        let mut expected = vec![0x80, 0, 0, 24 + 44, 0, 0, 0, 7, 0, 0, 0, 1];
        expected.extend([0; 16]);
        expected.extend([0; 44]);
        assert_eq!(reply, expected);
    }

    #[test]
    fn the_null_procedure_and_short_arguments_get_the_references_rpc_errors() {
        let reply = answer(&call(0, &[]), &service(), Uid::new(0)).unwrap();
        assert_eq!(
            &reply[4..],
            &[
                0, 0, 0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3
            ]
        );
        let reply = answer(&call(2, &[0, 0]), &service(), Uid::new(0)).unwrap();
        assert_eq!(reply[reply.len() - 4..], [0, 0, 0, 4]);
        assert_eq!(answer(&[0, 0, 0], &service(), Uid::new(0)), None);
    }

    #[test]
    fn random_arguments_to_every_interposer_procedure_get_a_reply() {
        // A fixed xorshift stream: the same bytes every run.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut service = service();
        service.load_handle_key();
        for procedure in [
            Procedure::ImportAndCanonName,
            Procedure::AcquireCred,
            Procedure::InitSecContext,
            Procedure::GetMic,
            Procedure::Verify,
            Procedure::Wrap,
            Procedure::Unwrap,
            Procedure::WrapSizeLimit,
        ] {
            for _ in 0..200 {
                let length = usize::try_from(next() % 300).unwrap();
                // Small numbers keep the decoder going past the first length field sometimes.
                let arguments: Vec<u8> = (0..length)
                    .map(|_| {
                        let byte = next().to_le_bytes();
                        if byte[0] % 3 == 0 { byte[1] } else { byte[2] % 4 }
                    })
                    .collect();
                let reply = answer(&call(procedure.number(), &arguments), &service, Uid::new(0));
                assert!(reply.is_some(), "{procedure:?}");
            }
        }
    }

    /// The result's major status of a well-formed call whose contents are garbage.
    fn major_of(reply: &[u8]) -> u64 {
        // Mark (4) + xid, REPLY, MSG_ACCEPTED, verifier (8), SUCCESS: the result at 28.
        assert_eq!(&reply[20..28], &[0, 0, 0, 0, 0, 0, 0, 0], "accepted with SUCCESS");
        u64::from_be_bytes(reply[28..36].try_into().unwrap())
    }

    #[test]
    fn garbage_contexts_tokens_and_names_fail_in_the_status() {
        use kup_gssx::gssx::{Ctx, Name as GssxName};
        use kup_gssx::interposer::{ArgAcquireCred, ArgInitSecContext, ArgUnwrap, ArgWrap};
        let mut service = service();
        service.load_handle_key();
        let encode = |value: &dyn Fn(&mut Encoder)| {
            let mut encoder = Encoder::new(MAX_RECORD_DEFAULT);
            value(&mut encoder);
            encoder.finish().unwrap()
        };
        let tokens: Vec<Vec<u8>> = vec![
            Vec::new(),
            vec![0; 1],
            vec![0xff; 64],
            // An MIT export token's start (the krb5 OID's length and OID), then garbage.
            [&[0, 0, 0, 9][..], KRB5_OID, &[0xff; 40][..]].concat(),
            [
                &[0, 0, 0, 9][..],
                KRB5_OID,
                &[0, 0, 0, 0xff][..],
                &[0x41; 300][..],
            ]
            .concat(),
            vec![0x60, 0x82, 0xff, 0xff, 0x06, 0x09],
        ];
        for token in &tokens {
            let context = Ctx {
                exported_context_token: token.clone(),
                mech: KRB5_OID.to_vec(),
                ..Ctx::default()
            };
            let wrap = encode(&|e| {
                ArgWrap {
                    context_handle: context.clone(),
                    message_buffer: vec![b"m".to_vec()],
                    ..ArgWrap::default()
                }
                .encode(e);
            });
            let unwrap = encode(&|e| {
                ArgUnwrap {
                    context_handle: context.clone(),
                    token_buffer: vec![token.clone()],
                    ..ArgUnwrap::default()
                }
                .encode(e);
            });
            let init = encode(&|e| {
                ArgInitSecContext {
                    context_handle: Some(context.clone()),
                    target_name: Some(GssxName {
                        display_name: b"x@localhost".to_vec(),
                        ..GssxName::default()
                    }),
                    input_token: Some(token.clone()),
                    ..ArgInitSecContext::default()
                }
                .encode(e);
            });
            let acquire = encode(&|e| {
                ArgAcquireCred {
                    desired_name: Some(GssxName {
                        display_name: token.clone(),
                        name_type: token.clone(),
                        ..GssxName::default()
                    }),
                    cred_usage: 2,
                    ..ArgAcquireCred::default()
                }
                .encode(e);
            });
            for (procedure, arguments) in [
                (Procedure::Wrap, wrap),
                (Procedure::Unwrap, unwrap),
                (Procedure::InitSecContext, init),
                (Procedure::AcquireCred, acquire),
            ] {
                let reply = answer(&call(procedure.number(), &arguments), &service, Uid::new(0)).unwrap();
                assert_ne!(major_of(&reply), 0, "{procedure:?} with {token:02x?}");
            }
        }
    }

    #[test]
    fn every_procedure_gets_a_reply() {
        // ACCEPT_SEC_CONTEXT reaches the keytab: the integration tests cover it.
        for procedure in Procedure::ALL
            .into_iter()
            .filter(|p| *p != Procedure::AcceptSecContext)
        {
            let reply = answer(&call(procedure.number(), &[0; 64]), &service(), Uid::new(0));
            assert!(reply.is_some(), "{procedure:?}");
        }
    }
}
