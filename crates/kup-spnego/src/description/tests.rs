//! Spec vectors (`cifs-upcall.md` §20) and the parser's rules, one test each.

use super::*;

const PREFIX: &str = "cifs.spnego;0;0;39010000;";

fn describe(description: &str) -> Vec<u8> {
    format!("{PREFIX}{description}").into_bytes()
}

const ROW1: &str = "ver=0x2;host=localhost;ip4=127.0.0.1;sec=krb5;uid=0x3e8;creduid=0x3e8;user=alice;pid=0x1a2b;upcall_target=app";

#[test]
fn the_kernels_description_reads_into_a_request() {
    let request = request(&describe(ROW1), false).unwrap();
    assert_eq!(
        request,
        SpnegoRequest {
            version: 2,
            host: b"localhost".to_vec(),
            address: Some(b"127.0.0.1".to_vec()),
            sec: Sec::Krb5,
            target_uid: Uid(1000),
            user: Some(b"alice".to_vec()),
            pid: Pid(0x1a2b),
            upcall_target: UpcallTarget::App,
            have: 0x1ff,
        }
    );
}

#[test]
fn an_ipv6_description_without_user_reads() {
    let text = "ver=0x2;host=FS1;ip6=2001:0db8:0000:0000:0000:0000:0000:0010;sec=mskrb5;uid=0x3e8;creduid=0x3e8;pid=0x4d2;upcall_target=mount";
    let request = request(&describe(text), false).unwrap();
    assert_eq!(request.sec, Sec::MsKrb5);
    assert_eq!(request.host, b"FS1");
    assert_eq!(request.user, None);
    assert_eq!(request.pid, Pid(1234));
    assert_eq!(request.upcall_target, UpcallTarget::Mount);
    assert_eq!(
        request.address.as_deref(),
        Some(&b"2001:0db8:0000:0000:0000:0000:0000:0010"[..])
    );
}

/// Row 3.
#[test]
fn a_missing_sec_is_refused_with_the_bits_found() {
    let error = request(&describe("ver=0x2;host=h;uid=0x0;pid=0x1"), false).unwrap_err();
    assert_eq!(error, DescriptionError::Missing { have: 0x33 });
    assert_eq!(
        error.to_string(),
        "unable to get necessary params from key description (0x33)"
    );
}

/// Row 4: the reference knows no `IAKerb`.
#[test]
fn sec_iakerb_is_refused_as_missing() {
    let error = request(&describe("ver=0x2;host=h;sec=iakerb;uid=0x0"), false).unwrap_err();
    assert_eq!(error, DescriptionError::Missing { have: 0x13 });
}

/// Row 5.
#[test]
fn a_newer_version_is_refused() {
    let error = request(&describe("ver=0x3;host=h;sec=krb5;uid=0x0"), false).unwrap_err();
    assert_eq!(error, DescriptionError::IncompatibleVersion { version: 3 });
    assert_eq!(error.to_string(), "incompatible kernel upcall version: 0x3");
}

#[test]
fn older_versions_are_accepted_and_echoed() {
    for (text, version) in [("ver=0", 0), ("ver=1", 1), ("ver=0xffffffff", -1)] {
        let parsed = request(&describe(&format!("{text};host=h;sec=krb5;uid=0")), false).unwrap();
        assert_eq!(parsed.version, version, "{text}");
    }
}

/// Row 6.
#[test]
fn a_missing_version_is_refused() {
    let error = request(&describe("host=h;sec=krb5;uid=0x0"), false).unwrap_err();
    assert_eq!(error, DescriptionError::Missing { have: 0x15 });
}

#[test]
fn a_missing_host_is_refused() {
    let error = request(&describe("ver=2;sec=krb5;uid=0x0"), false).unwrap_err();
    assert_eq!(error, DescriptionError::Missing { have: 0x16 });
}

/// Row 7.
#[test]
fn a_missing_uid_is_refused() {
    let error = request(&describe("ver=0x2;host=h;sec=krb5;pid=0x5"), false).unwrap_err();
    assert_eq!(error, DescriptionError::NoUid);
    assert_eq!(error.to_string(), "No uid= or creduid= parm specified");
}

/// Row 8.
#[test]
fn sec_values_match_by_prefix() {
    for (value, sec) in [
        ("krb5", Sec::Krb5),
        ("krb5i", Sec::Krb5),
        ("krb5xyz", Sec::Krb5),
        ("mskrb5", Sec::MsKrb5),
        ("mskrb5x", Sec::MsKrb5),
    ] {
        let parsed = request(&describe(&format!("ver=2;host=h;sec={value};uid=0")), false).unwrap();
        assert_eq!(parsed.sec, sec, "{value}");
    }
    for value in ["", "KRB5", "krb", "ntlm", "iakerb", "ms"] {
        assert!(request(&describe(&format!("ver=2;host=h;sec={value};uid=0")), false).is_err());
    }
}

/// Row 9, the reference's rule: a `user=` carrying `;uid=0x0;creduid=0x0` overrides both ids.
#[test]
fn reference_keeps_the_last_of_repeated_fields() {
    let text = describe(
        "ver=0x2;host=h;ip4=1.2.3.4;sec=krb5;uid=0x3e8;creduid=0x3e8;user=bob;uid=0x0;creduid=0x0;pid=0x1",
    );
    let parsed = parse(&text, Duplicates::LastWins).unwrap();
    assert_eq!((parsed.uid, parsed.credential_uid), (Uid(0), Uid(0)));
    let chosen = validate(parsed, false).unwrap();
    assert_eq!(chosen.target_uid, Uid(0));
}

/// Row 9, ours (decisions.md 4): refused, naming the field.
#[test]
fn ours_refuses_a_repeated_field_naming_it() {
    let text = describe(
        "ver=0x2;host=h;ip4=1.2.3.4;sec=krb5;uid=0x3e8;creduid=0x3e8;user=bob;uid=0x0;creduid=0x0;pid=0x1",
    );
    let error = request(&text, false).unwrap_err();
    let offset = text.windows(7).rposition(|w| w == b";uid=0x").unwrap() + 1;
    assert_eq!(
        error,
        DescriptionError::Repeated {
            field: Field::Uid,
            offset
        }
    );
    assert!(error.to_string().contains("uid field is repeated"));
}

#[test]
fn every_known_field_is_refused_when_repeated() {
    for (first, second, field) in [
        ("ver=2", "ver=2", Field::Version),
        ("host=a", "host=b", Field::Host),
        ("ip4=1.1.1.1", "ip6=::1", Field::Address),
        ("sec=krb5", "sec=iakerb", Field::Sec),
        ("uid=1", "uid=1", Field::Uid),
        ("creduid=1", "creduid=2", Field::CredentialUid),
        ("user=a", "user=b", Field::User),
        ("pid=1", "pid=1", Field::Pid),
        ("upcall_target=app", "upcall_target=mount", Field::UpcallTarget),
    ] {
        let base = "ver=2;host=h;sec=krb5;uid=0";
        let text = describe(&format!("{first};{second};{base}"));
        // Some pairs repeat a base field too: the first repeat found is reported.
        match request(&text, false) {
            Err(DescriptionError::Repeated { field: found, .. }) => {
                assert_eq!(found, field, "{first};{second}");
            }
            other => panic!("{first};{second}: {other:?}"),
        }
    }
    // A host that smuggles a user (no user= sent) is refused only when a user= follows.
    let smuggled = describe("ver=2;host=x;user=root;sec=krb5;uid=0;user=alice");
    assert!(matches!(
        request(&smuggled, false),
        Err(DescriptionError::Repeated {
            field: Field::User,
            ..
        })
    ));
}

#[test]
fn unknown_tokens_and_the_describe_header_are_ignored() {
    let parsed = request(
        &describe("foo=1;ver=2;;x;host=h;HOST=y;sec=krb5;uid=0;pidx=1"),
        false,
    )
    .unwrap();
    assert_eq!(parsed.host, b"h");
    assert_eq!(parsed.have, 0x17);
}

/// Row 10.
#[test]
fn a_non_numeric_pid_is_zero() {
    let parsed = request(&describe("ver=2;host=h;sec=krb5;uid=0;pid=zz"), false).unwrap();
    assert_eq!(parsed.pid, Pid(0));
}

#[test]
fn pid_takes_any_c_base_and_ids_are_hex() {
    for (pid, wanted) in [("0x10", 16), ("010", 8), ("10", 10), ("12abc", 12), ("-1", -1)] {
        let parsed = request(
            &describe(&format!("ver=2;host=h;sec=krb5;uid=0;pid={pid}")),
            false,
        )
        .unwrap();
        assert_eq!(parsed.pid, Pid(wanted), "{pid}");
    }
    for (uid, wanted) in [
        ("10", 16),
        ("0x10", 16),
        ("ffffffff", u32::MAX),
        ("100000001", 1),
        ("zz", 0),
    ] {
        let parsed = request(&describe(&format!("ver=2;host=h;sec=krb5;uid={uid}")), false).unwrap();
        assert_eq!(parsed.target_uid, Uid(wanted), "{uid}");
    }
}

#[test]
fn numbers_overflowing_a_long_are_refused() {
    for field in ["pid", "uid", "creduid", "ver"] {
        let text = describe(&format!("host=h;sec=krb5;{field}=0x10000000000000000"));
        let error = parse(&text, Duplicates::LastWins).unwrap_err();
        assert!(
            matches!(error, DescriptionError::Overflow { .. }),
            "{field}: {error:?}"
        );
        assert_eq!(
            error,
            DescriptionError::Overflow {
                field: Field::of(format!("{field}=").as_bytes()).unwrap().0
            }
        );
    }
}

/// Row 12.
#[test]
fn version_and_uids_read_hex_with_or_without_prefix() {
    let parsed = parse(
        &describe("ver=2;host=h;sec=krb5;uid=3e8;creduid=0x10"),
        Duplicates::Refuse,
    )
    .unwrap();
    assert_eq!(
        (parsed.version, parsed.uid, parsed.credential_uid),
        (2, Uid(1000), Uid(16))
    );
}

#[test]
fn creduid_is_chosen_unless_legacy_or_absent() {
    let both = describe("ver=2;host=h;sec=krb5;uid=0x1;creduid=0x2");
    assert_eq!(request(&both, false).unwrap().target_uid, Uid(2));
    assert_eq!(request(&both, true).unwrap().target_uid, Uid(1));
    let only_uid = describe("ver=2;host=h;sec=krb5;uid=0x1");
    assert_eq!(request(&only_uid, false).unwrap().target_uid, Uid(1));
    let only_creduid = describe("ver=2;host=h;sec=krb5;creduid=0x2");
    assert_eq!(request(&only_creduid, false).unwrap().target_uid, Uid(2));
    assert_eq!(request(&only_creduid, true).unwrap_err(), DescriptionError::NoUid);
}

/// Row 17.
#[test]
fn host_length_limits() {
    let with_host = |length: usize| describe(&format!("ver=2;host={};sec=krb5;uid=0", "a".repeat(length)));
    assert_eq!(
        request(&with_host(1026), false).unwrap_err(),
        DescriptionError::TooLong {
            field: Field::Host,
            length: 1026
        }
    );
    assert_eq!(
        request(&with_host(1025), false).unwrap_err(),
        DescriptionError::HostTooLong { length: 1025 }
    );
    assert_eq!(request(&with_host(1024), false).unwrap().host.len(), 1024);
}

#[test]
fn address_and_user_length_limits() {
    let base = "ver=2;host=h;sec=krb5;uid=0";
    let ip = describe(&format!("{base};ip4={}", "1".repeat(1026)));
    assert!(matches!(
        request(&ip, false),
        Err(DescriptionError::TooLong {
            field: Field::Address,
            ..
        })
    ));
    assert!(request(&describe(&format!("{base};ip6={}", "1".repeat(1025))), false).is_ok());
    let user = describe(&format!("{base};user={}", "u".repeat(257)));
    assert!(matches!(
        request(&user, false),
        Err(DescriptionError::TooLong {
            field: Field::User,
            ..
        })
    ));
    assert!(request(&describe(&format!("{base};user={}", "u".repeat(256))), false).is_ok());
}

/// Rows 18 and 19 (7.2+ grammar, 7.4+ meaning of an absent field).
#[test]
fn upcall_target_grammar() {
    let base = "ver=2;host=h;sec=krb5;uid=0";
    for (value, wanted) in [
        ("mount", UpcallTarget::Mount),
        ("mountx", UpcallTarget::Mount),
        ("app", UpcallTarget::App),
        ("", UpcallTarget::App),
        ("other", UpcallTarget::App),
    ] {
        let parsed = request(&describe(&format!("{base};upcall_target={value}")), false).unwrap();
        assert_eq!(parsed.upcall_target, wanted, "{value}");
    }
    assert!(matches!(
        request(&describe(&format!("{base};upcall_target=container")), false),
        Err(DescriptionError::TooLong {
            field: Field::UpcallTarget,
            length: 9
        })
    ));
    assert_eq!(
        request(&describe(base), false).unwrap().upcall_target,
        UpcallTarget::App
    );
}

#[test]
fn dispatch_is_a_prefix_test_of_the_describe_string() {
    assert_eq!(
        Mode::of(b"dns_resolver;0;0;3f010000;localhost"),
        Mode::Resolver {
            cache_keyring: ".dns_resolver"
        }
    );
    assert_eq!(
        Mode::of(b"cifs.resolver;0;0;3f010000;h"),
        Mode::Resolver {
            cache_keyring: ".cifs.resolver"
        }
    );
    assert_eq!(
        Mode::of(b"dns_resolverx;0;0;0;h"),
        Mode::Resolver {
            cache_keyring: ".dns_resolver"
        }
    );
    assert_eq!(Mode::of(b"user;0;0;3f010000;ver=2"), Mode::Spnego);
    assert_eq!(Mode::of(b"cifs.spnego;0;0;39010000;ver=2"), Mode::Spnego);
}

/// Row 21: the name follows the fourth `;`.
#[test]
fn the_resolver_name_follows_the_fourth_separator() {
    assert_eq!(
        resolver_name(b"dns_resolver;0;0;3f010000;localhost"),
        Some(&b"localhost"[..])
    );
    assert_eq!(
        resolver_name(b"dns_resolver;0;0;3f010000;afsdb:a;b"),
        Some(&b"afsdb:a;b"[..])
    );
    assert_eq!(resolver_name(b"dns_resolver;0;0;3f010000;"), Some(&b""[..]));
    assert_eq!(resolver_name(b"dns_resolver;0;0;3f010000"), None);
}

#[test]
fn field_bits_are_the_references() {
    let bits: u32 = Field::ALL.iter().map(|field| field.flag()).sum();
    assert_eq!(bits, 0x1ff);
}
