//! The SPNEGO blob decoded by an independent minimal DER reader (`fuzz/spnego/src/checks.rs`,
//! shared with the fuzz targets): every AP-REQ size around the length-form boundaries, every
//! mechanism, and a payload around it.

#[path = "../../../fuzz/spnego/src/checks.rs"]
mod checks;

use kup_spnego::{Mech, krb5_initial_token, spnego_init};

#[test]
fn blobs_decode_to_their_mechanism_and_ap_req_at_every_length_boundary() {
    for length in [
        0usize, 1, 100, 0x6f, 0x70, 0x7f, 0x80, 0xff, 0x100, 0x299, 0xffff, 0x1_0000, 0x10_0005,
    ] {
        let ap_req: Vec<u8> = (0..length)
            .map(|index| u8::try_from(index % 251).unwrap())
            .collect();
        for mech in [Mech::Krb5, Mech::MsKrb5, Mech::Iakerb] {
            let blob = spnego_init(mech, &krb5_initial_token(&ap_req));
            let decoded = checks::decode_blob(&blob).unwrap_or_else(|error| panic!("{length}: {error}"));
            assert_eq!(decoded.mech_oid, mech.oid());
            assert_eq!(decoded.ap_req, &ap_req[..]);
        }
    }
}

#[test]
fn the_reader_refuses_non_minimal_and_overlong_lengths() {
    assert!(checks::read(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5]).is_err());
    assert!(checks::read(&[0x04, 0x82, 0x00, 0x80]).is_err());
    assert!(checks::read(&[0x04, 0x03, 1, 2]).is_err());
    assert!(checks::read(&[0x04, 0x02, 1, 2]).is_ok());
}

#[test]
fn token_check_holds_for_seed_shapes() {
    checks::token(&[]);
    checks::token(&[1, 0, 32, 0x6e, 0x00]);
    checks::token(&[2, 0, 16]);
    checks::environ(b"KRB5CCNAME=FILE:/tmp/x\0");
    checks::description(b"cifs.spnego;0;0;39010000;ver=0x2;host=h;sec=krb5;uid=0x0;uid=0x1");
}
