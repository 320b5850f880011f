//! Unit tests of the pure parts: the command line, the plan, the payload assembly.

use super::*;
use kup_spnego::{Pid, Sec, Uid};

fn command(args: &[&str]) -> Result<Command, UsageError> {
    parse_command_line(std::iter::once("cifs.upcall").chain(args.iter().copied()))
}

fn options(args: &[&str]) -> Options {
    match command(args) {
        Ok(Command::Answer { options, .. }) => options,
        other => panic!("{args:?}: {other:?}"),
    }
}

#[test]
fn version_wins_wherever_it_is_even_after_other_options() {
    for args in [
        &["-v"][..],
        &["--version"],
        &["-c", "-v"],
        &["-c", "-v", "-x"],
        &["--vers", "12"],
    ] {
        assert_eq!(command(args), Ok(Command::Version), "{args:?}");
    }
}

#[test]
fn a_missing_serial_prints_the_usage_line() {
    let error = command(&[]).unwrap_err();
    assert_eq!(error.stderr, USAGE.as_bytes());
    assert_eq!(error.log, None);
    assert!(command(&["-t", "-l"]).is_err());
}

#[test]
fn unknown_options_and_missing_arguments_are_getopts_errors() {
    let error = command(&["-h", "5"]).unwrap_err();
    assert_eq!(error.stderr, b"cifs.upcall: invalid option -- 'h'\n");
    assert_eq!(error.log.as_deref(), Some("unknown option"));
    let error = command(&["5", "--expire"]).unwrap_err();
    assert_eq!(
        error.stderr,
        b"cifs.upcall: option '--expire' requires an argument\n"
    );
    let error = command(&["5", "-K"]).unwrap_err();
    assert_eq!(error.stderr, b"cifs.upcall: option requires an argument -- 'K'\n");
}

#[test]
fn options_may_follow_the_serial_and_take_every_spelling() {
    let parsed = command(&["12", "-E", "--keytab=/k", "-k/c", "-lt", "--expire", "30"]).unwrap();
    assert_eq!(
        parsed,
        Command::Answer {
            key: KeySerial::new(12),
            options: Options {
                no_env_probe: true,
                krb5_config: Some("/c".into()),
                keytab: Some("/k".into()),
                legacy_uid: true,
                trust_dns: true,
                expire: 30,
            },
        }
    );
    let long = options(&[
        "--no-env-probe",
        "--krb5conf",
        "/x",
        "--legacy-uid",
        "--trust-dns",
        "1",
    ]);
    assert!(long.no_env_probe && long.legacy_uid && long.trust_dns);
}

/// Spec §20 row 22 and the reference's unchecked `strtoul`.
#[test]
fn expire_is_an_unchecked_strtoul() {
    assert_eq!(options(&["1"]).expire, DEFAULT_EXPIRE);
    assert_eq!(options(&["-e", "abc", "1"]).expire, 0);
    assert_eq!(options(&["-e", "12abc", "1"]).expire, 12);
    assert_eq!(options(&["-e", "-1", "1"]).expire, u32::MAX);
    assert_eq!(options(&["-e", "4294967297", "1"]).expire, 1);
}

#[test]
fn the_serial_is_a_base_ten_strtol_prefix() {
    let key = |args: &[&str]| match command(args) {
        Ok(Command::Answer { key, .. }) => Some(key.get()),
        _ => None,
    };
    assert_eq!(key(&["12abc"]), Some(12));
    assert_eq!(key(&["0x10"]), None); // 0: refused (the reference fails at describe)
    assert_eq!(key(&["abc"]), None);
    assert_eq!(key(&[""]), None);
    assert_eq!(key(&["-5"]), None);
    assert_eq!(key(&["99999999999999999999"]), None);
    assert_eq!(key(&["7", "8"]), Some(7));
}

const DESCRIBE: &[u8] =
    b"cifs.spnego;0;0;39010000;ver=0x2;host=localhost;ip4=127.0.0.1;sec=krb5;uid=0x3e8;creduid=0x3e9;user=alice;pid=0x1a2b;upcall_target=app";

#[test]
fn a_kernel_description_becomes_a_plan() {
    let plan = plan(DESCRIBE, &options(&["-K", "/etc/k", "1"])).unwrap();
    assert_eq!(plan.request.target_uid, Uid(0x3e9));
    assert_eq!(plan.request.pid, Pid(0x1a2b));
    assert_eq!(plan.request.sec, Sec::Krb5);
    assert!(plan.env_probe && plan.switch_namespaces && !plan.trust_dns);
    assert_eq!(plan.keytab.as_deref(), Some(OsStr::new("/etc/k")));
    let legacy = super::plan(DESCRIBE, &options(&["-l", "1"])).unwrap();
    assert_eq!(legacy.request.target_uid, Uid(0x3e8));
}

use std::ffi::OsStr;

#[test]
fn the_probe_and_the_switch_follow_the_references_rules() {
    let with = |text: &str, args: &[&str]| {
        let describe = format!("cifs.spnego;0;0;39010000;ver=2;host=h;sec=krb5;{text}");
        let plan = plan(describe.as_bytes(), &options(args)).unwrap();
        (plan.env_probe, plan.switch_namespaces)
    };
    assert_eq!(with("uid=0x3e8;pid=0x5", &["1"]), (true, true));
    assert_eq!(with("uid=0x3e8;pid=0x5", &["-E", "1"]), (false, true));
    assert_eq!(with("uid=0x0;pid=0x5", &["1"]), (false, true));
    assert_eq!(with("uid=0x3e8;pid=zz", &["1"]), (false, false));
    assert_eq!(
        with("uid=0x3e8;pid=0x5;upcall_target=mount", &["1"]),
        (false, false)
    );
    assert_eq!(with("uid=0x3e8;pid=0x5;upcall_target=app", &["1"]), (true, true));
}

#[test]
fn bad_descriptions_are_malformed_and_iakerb_is_refused() {
    let bad = |text: &str| {
        plan(
            format!("cifs.spnego;0;0;39010000;{text}").as_bytes(),
            &Options::default(),
        )
    };
    assert!(matches!(bad("ver=2;host=h;uid=0"), Err(Error::Malformed(_))));
    assert!(matches!(
        bad("ver=2;host=h;sec=krb5;uid=1;uid=0"),
        Err(Error::Malformed(Malformed::Description(
            DescriptionError::Repeated { .. }
        )))
    ));
    assert_eq!(
        bad("ver=2;host=h;sec=iakerb;uid=0").unwrap_err(),
        Error::Refused("sec=iakerb: IAKerb is not supported")
    );
}

#[test]
fn every_failure_negates_for_60_seconds_and_exits_1() {
    for error in [
        Error::from(DescriptionError::NoUid),
        Error::Malformed(Malformed::NoResolverName),
        Error::Refused("x"),
        Error::Failed {
            step: "getting a Kerberos ticket",
            reason: "no credentials".to_owned(),
        },
    ] {
        let failure = failure(&error);
        assert_eq!(failure.exit_code, 1, "{error}");
        assert_eq!(
            failure.disposition,
            Some(Disposition::Negate { timeout_secs: 60 })
        );
        assert!(!failure.message.is_empty());
    }
}

/// A fake credential step: the payload is the spec's layout around its answer.
struct Fake(MechToken);

impl Ticketing for Fake {
    fn spnego(&self, _plan: &SpnegoPlan) -> Result<Answer, Error> {
        Ok(Answer {
            session_key: SecretBytes::new(vec![0x11; 32]),
            token: self.0.clone(),
        })
    }
}

#[test]
fn an_ap_req_is_wrapped_twice_and_a_gss_token_once() {
    let plan = plan(DESCRIBE, &Options::default()).unwrap();
    let ap_req = vec![0x6e, 0x02, 0x30, 0x00];
    let native = assemble(
        &plan,
        &Fake(MechToken::ApReq(ap_req.clone())).spnego(&plan).unwrap(),
    )
    .unwrap();
    let inner = krb5_initial_token(&ap_req);
    let gss = assemble(&plan, &Fake(MechToken::Gss(inner.clone())).spnego(&plan).unwrap()).unwrap();
    assert_eq!(native, gss);
    let blob = spnego_init(Mech::Krb5, &inner);
    let bytes = native.as_bytes();
    assert_eq!(bytes[..4], 2i32.to_ne_bytes());
    assert_eq!(bytes[8..12], 32u32.to_ne_bytes());
    assert_eq!(bytes[12..16], u32::try_from(blob.len()).unwrap().to_ne_bytes());
    assert_eq!(&bytes[16..48], &[0x11; 32]);
    assert_eq!(&bytes[48..48 + blob.len()], &blob[..]);
    assert_eq!(bytes.len(), 16 + 32 + blob.len() + 4);
}

#[test]
fn mskrb5_offers_the_microsoft_oid() {
    let describe = b"cifs.spnego;0;0;39010000;ver=2;host=h;sec=mskrb5;uid=0";
    let plan = plan(describe, &Options::default()).unwrap();
    let payload = assemble(&plan, &Fake(MechToken::ApReq(vec![])).spnego(&plan).unwrap()).unwrap();
    let oid = kup_spnego::token::MS_KRB5_OID;
    assert!(payload.as_bytes().windows(oid.len()).any(|window| window == oid));
}

#[test]
fn resolver_requests_take_the_text_after_the_fourth_separator() {
    let plan = resolver_plan(b"dns_resolver;0;0;3f010000;localhost", ".dns_resolver", 600).unwrap();
    assert_eq!(plan.name, b"localhost");
    assert_eq!(
        resolver_plan(b"dns_resolver;0;0", ".dns_resolver", 600).unwrap_err(),
        Error::Malformed(Malformed::NoResolverName)
    );
    assert_eq!(resolver_payload(&"127.0.0.1".parse().unwrap()), b"127.0.0.1\0");
    assert_eq!(resolver_payload(&"::1".parse().unwrap()), b"::1\0");
}

#[test]
fn the_childs_answer_survives_the_pipe_encoding() {
    for token in [MechToken::ApReq(vec![0x6e, 1, 2]), MechToken::Gss(vec![0x60, 9])] {
        let answer = Answer {
            session_key: SecretBytes::new(vec![7; 32]),
            token,
        };
        let decoded = super::decode_answer(&super::encode_answer(&answer)).unwrap();
        assert_eq!(decoded, answer);
    }
    assert!(
        super::decode_answer(&[1, 0xff, 0, 0, 0, 1]).is_none(),
        "a key longer than the frame"
    );
    assert!(
        super::decode_answer(&[9, 0, 0, 0, 0]).is_none(),
        "an unknown kind"
    );
}
