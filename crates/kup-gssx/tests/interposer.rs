//! Real interposer traffic: every record Debian's `proxymech.so` and Debian's gssproxy 0.9.1
//! exchanged while MIT's `gss-server` (no keytab of its own) and `gss-client` authenticated through
//! the daemon (`tests/interposer/capture` recorded them). Each call decodes as its procedure and
//! each reply as that procedure's result, both re-encoding byte for byte; then the fields the
//! daemon acts on are checked against what the spec (`gssproxy-protocol.md` §5) says was sent.

use kup_gssx::call::{Arguments, Decoded, decode_call};
use kup_gssx::gssx::{KRB5_OID, Procedure, ResAcceptSecContext, ResIndicateMechs, Xdr};
use kup_gssx::interposer::{ResAcquireCred, ResImportAndCanonName, ResInitSecContext};
use kup_gssx::rpc::{AcceptStat, ReplyBody, ReplyHeader};
use kup_gssx::xdr::{Decoder, Encoder, Limits};

/// The captured records: (`call`/`reply` and procedure, bytes), in capture order.
fn records() -> Vec<(String, Vec<u8>)> {
    include_str!("interposer/captured.txt")
        .lines()
        .map(|line| {
            let mut fields = line.split(' ');
            let (kind, procedure, hex) = (
                fields.next().unwrap(),
                fields.next().unwrap(),
                fields.next().unwrap(),
            );
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
                .collect();
            (format!("{kind} {procedure}"), bytes)
        })
        .collect()
}

fn procedure_named(name: &str) -> Procedure {
    let stem = name.split(' ').nth(1).unwrap();
    Procedure::ALL
        .into_iter()
        .find(|procedure| procedure.name().eq_ignore_ascii_case(&format!("GSSX_{stem}")))
        .unwrap_or_else(|| panic!("{name}: no procedure {stem}"))
}

fn reencoded<T: Xdr>(value: &T, capacity: usize) -> Vec<u8> {
    let mut encoder = Encoder::new(capacity);
    value.encode(&mut encoder);
    encoder.finish().unwrap()
}

#[test]
fn every_captured_call_decodes_as_its_procedure_and_reencodes_byte_for_byte() {
    let calls: Vec<_> = records()
        .into_iter()
        .filter(|(name, _)| name.starts_with("call "))
        .collect();
    assert!(calls.len() >= 9, "the capture holds the whole exchange");
    for (name, bytes) in calls {
        let Decoded::Call { header, arguments } = decode_call(&bytes, Limits::DEFAULT) else {
            panic!("{name}: not a call");
        };
        assert_eq!(arguments.procedure(), procedure_named(&name), "{name}");
        let mut encoder = Encoder::new(bytes.len());
        header.encode(&mut encoder);
        arguments.encode(&mut encoder);
        assert_eq!(encoder.finish().unwrap(), bytes, "{name}");
    }
}

/// Decodes a reply record as `T` after an accepted/SUCCESS header; checks the byte round trip.
fn reply<T: Xdr>(name: &str, bytes: &[u8]) -> T {
    let mut decoder = Decoder::new(bytes, Limits::DEFAULT);
    let header = ReplyHeader::decode(&mut decoder).unwrap();
    assert!(
        matches!(
            header.body,
            ReplyBody::Accepted {
                status: AcceptStat::Success,
                ..
            }
        ),
        "{name}: {header:?}"
    );
    let result = T::decode(&mut decoder).unwrap_or_else(|error| panic!("{name}: {error:?}"));
    assert!(decoder.remaining().is_empty(), "{name}: trailing bytes");
    let mut encoder = Encoder::new(bytes.len());
    header.encode(&mut encoder);
    let mut again = encoder.finish().unwrap();
    again.extend(reencoded(&result, bytes.len()));
    assert_eq!(again, bytes, "{name}");
    result
}

#[test]
fn every_captured_reply_decodes_as_its_result_and_reencodes_byte_for_byte() {
    let mut seen = Vec::new();
    for (name, bytes) in records()
        .into_iter()
        .filter(|(name, _)| name.starts_with("reply "))
    {
        let procedure = procedure_named(&name);
        seen.push(procedure);
        match procedure {
            Procedure::IndicateMechs => {
                let result: ResIndicateMechs = reply(&name, &bytes);
                assert_eq!(result.status.major_status, 0);
                assert!(result.mechs.iter().any(|mech| mech.mech == KRB5_OID), "{name}");
            }
            Procedure::AcquireCred => {
                let result: ResAcquireCred = reply(&name, &bytes);
                assert_eq!(result.status.major_status, 0, "{name}");
                let cred = result.output_cred_handle.expect("a credential");
                assert!(
                    !cred.cred_handle_reference.is_empty(),
                    "{name}: the encrypted handle"
                );
                assert!(!cred.needs_release, "{name}: gssproxy is stateless");
            }
            Procedure::InitSecContext => {
                let result: ResInitSecContext = reply(&name, &bytes);
                let context = result.context_handle.expect("a context");
                // The first call continues (an AP-REQ out), the second completes on the AP-REP.
                if result.status.major_status == 1 {
                    assert!(!context.open);
                    assert!(result.output_token.is_some_and(|token| !token.is_empty()));
                } else {
                    assert_eq!(result.status.major_status, 0, "{name}");
                    assert!(context.open);
                }
                assert!(!context.exported_context_token.is_empty(), "{name}: MIT export");
            }
            Procedure::AcceptSecContext => {
                let result: ResAcceptSecContext = reply(&name, &bytes);
                assert_eq!(result.status.major_status, 0, "{name}");
                let context = result.context_handle.expect("a context");
                assert_eq!(context.src_name.display_name, b"alice@KUP.TEST");
                assert_eq!(context.targ_name.display_name, b"gsstest/localhost@KUP.TEST");
                assert!(context.open);
                assert!(result.delegated_cred_handle.is_none());
                assert!(
                    result.options.is_empty(),
                    "no creds option without the kernel's options"
                );
            }
            Procedure::ImportAndCanonName => {
                let result: ResImportAndCanonName = reply(&name, &bytes);
                assert_eq!(result.status.major_status, 0, "{name}");
                assert_eq!(
                    result
                        .options
                        .first()
                        .map(|option| (&option.option[..], &option.value[..])),
                    Some((&b"localname\0"[..], &b"alice"[..]))
                );
            }
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
    for procedure in [
        Procedure::IndicateMechs,
        Procedure::AcquireCred,
        Procedure::InitSecContext,
        Procedure::AcceptSecContext,
        Procedure::ImportAndCanonName,
    ] {
        assert!(seen.contains(&procedure), "no {procedure:?} reply captured");
    }
}

#[test]
fn the_interposers_calls_carry_what_the_spec_describes() {
    for (name, bytes) in records()
        .into_iter()
        .filter(|(name, _)| name.starts_with("call "))
    {
        let Decoded::Call { arguments, .. } = decode_call(&bytes, Limits::DEFAULT) else {
            panic!("{name}");
        };
        match arguments {
            Arguments::AcceptSecContext(arguments) => {
                assert!(arguments.call_ctx.options.is_empty(), "no kernel options");
                assert!(
                    arguments.cred_handle.is_some(),
                    "the acquired acceptor credential"
                );
                assert_eq!(&arguments.input_token[..2], &[0x60, 0x82], "an AP-REQ");
            }
            Arguments::ImportAndCanonName(arguments) => {
                assert_eq!(arguments.input_name.display_name, b"alice@KUP.TEST");
                assert_eq!(arguments.options[0].option, b"localname\0");
            }
            Arguments::InitSecContext(arguments) => {
                assert_eq!(arguments.mech_type, KRB5_OID);
                let target = arguments.target_name.expect("a target");
                assert_eq!(target.display_name, b"gsstest@localhost");
            }
            Arguments::AcquireCred(arguments) => {
                assert!(
                    arguments.desired_mechs.is_empty() || arguments.desired_mechs == [KRB5_OID.to_vec()],
                    "{name}: no mechanism, or krb5"
                );
                assert!(
                    matches!(arguments.cred_usage, 1 | 2),
                    "{name}: initiate or accept"
                );
            }
            Arguments::IndicateMechs(_) => {}
            other => panic!("{name}: unexpected {:?}", other.procedure()),
        }
    }
}
