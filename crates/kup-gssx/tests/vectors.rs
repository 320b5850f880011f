//! The test vectors of `shared/spec/gssproxy-protocol.md` §7: the kernel-style `ACCEPT_SEC_CONTEXT`
//! call and gssproxy 0.9.1's reply (§7.1), decoded field by field and re-encoded byte for byte,
//! through the record reader and writer.
//!
//! The spec prints every structural byte of §7.1 but elides the middle of five opaque values (the
//! 710-byte AP-REQ, the 32-byte subkey, the two exported names, the 156-byte AP-REP). Here those
//! keep their printed prefix and length and are filled with a counter; everything else is the
//! spec's bytes, and the totals (880- and 588-byte records) match it.

use kup_gssx::call::{Arguments, Decoded, decode_call};
use kup_gssx::gssx::{
    EXPORTED_CONTEXT_TYPE, EXPORTED_CREDS_TYPE, KRB5_OID, LINUX_CREDS_V1, LINUX_LUCID_V1, Procedure,
    ResAcceptSecContext, Xdr, find_option,
};
use kup_gssx::lucid::LinuxCreds;
use kup_gssx::record::{RecordReader, write_record};
use kup_gssx::rpc::{AcceptStat, CallHeader, ReplyBody, ReplyHeader};
use kup_gssx::xdr::{Decoder, Encoder, Limits};

fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

/// `length` bytes starting with `prefix`, then a counter.
fn filled(prefix: &str, length: usize) -> Vec<u8> {
    let mut bytes = hex(prefix);
    let mut counter = 0_u8;
    while bytes.len() < length {
        bytes.push(counter);
        counter = counter.wrapping_add(37);
    }
    bytes
}

fn opaque(bytes: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out.resize(out.len() + (4 - bytes.len() % 4) % 4, 0);
    out
}

fn call_record() -> Vec<u8> {
    let mut record = hex("80000370
         11223344 00000000 00000002 00061af0
         00000001 00000009
         00000000 00000000 00000000 00000000
         00000000 00000000
         00000002
         00000016 6578706f 72746564 5f636f6e 74657874 5f747970 65000000
         0000000f 6c696e75 785f6c75 6369645f 76310000
         00000014 6578706f 72746564 5f637265 64735f74 79706500
         0000000f 6c696e75 785f6372 6564735f 76310000
         00000000
         00000000");
    record.extend(opaque(&filled("608202c2 06092a86 4886f712", 710)));
    record.extend(hex("00000000 00000000 00000000"));
    record
}

fn name(display: &str, name_type: &str, exported: &[u8]) -> Vec<u8> {
    let mut bytes = opaque(display.as_bytes());
    bytes.extend(opaque(&hex(name_type)));
    bytes.extend(opaque(exported));
    bytes.extend(hex("00000000 00000000 00000000"));
    bytes
}

fn reply_record() -> Vec<u8> {
    let mut record = hex("8000024c
         11223344 00000001 00000000
         00000000 00000000 00000000
         00000000 00000000
         00000009 2a864886 f7120102 02000000
         00000000 00000000
         00000000 00000000 00000000 00000000
         00000001");
    let mut lucid = hex("06000000 aa6e076b bc129c0f 00000000 12000000");
    lucid.extend(filled("eebbc031 afe0e8cb", 32));
    record.extend(opaque(&lucid));
    record.extend(hex("00000000 00000000 00000009 2a864886 f7120102 02000000"));
    record.extend(name(
        "daemon@KUP.TEST",
        "2a864886 f7120102 0201",
        &filled("0401000b 06092a86", 34),
    ));
    record.extend(name(
        "nfs/localhost@KUP.TEST",
        "2a864886 f7120102 0201",
        &filled("0401000b 06092a86", 41),
    ));
    record.extend(hex("00000000 0001525f
         00000000 000001b6
         00000000 00000001 00000000
         00000001"));
    record.extend(opaque(&filled("60819906 092a8648", 156)));
    record.extend(hex("00000000
         00000001
         0000000f 6c696e75 785f6372 6564735f 76310000
         00000010 01000000 01000000 01000000 01000000"));
    record
}

/// The record's body, read through the reader in small pieces.
fn read_record(stream: &[u8]) -> Vec<u8> {
    let mut reader = RecordReader::gssproxy();
    let mut rest = stream;
    loop {
        let piece = &rest[..rest.len().min(7)];
        let fed = reader.feed(piece).unwrap();
        rest = &rest[fed.consumed..];
        if let Some(record) = fed.record {
            assert!(rest.is_empty());
            return record;
        }
    }
}

#[test]
fn kernel_accept_call_decodes_and_re_encodes_byte_for_byte() {
    let stream = call_record();
    assert_eq!(stream.len(), 884);
    let body = read_record(&stream);
    let Decoded::Call { header, arguments } = decode_call(&body, Limits::DEFAULT) else {
        panic!("not a call");
    };
    assert_eq!(
        header,
        CallHeader::gssproxy(0x1122_3344, Procedure::AcceptSecContext)
    );
    let Arguments::AcceptSecContext(arguments) = arguments else {
        panic!("not ACCEPT_SEC_CONTEXT");
    };
    assert!(arguments.call_ctx.locale.is_empty());
    assert_eq!(
        find_option(&arguments.call_ctx.options, EXPORTED_CONTEXT_TYPE),
        Some(LINUX_LUCID_V1)
    );
    assert_eq!(
        find_option(&arguments.call_ctx.options, EXPORTED_CREDS_TYPE),
        Some(LINUX_CREDS_V1)
    );
    assert_eq!(arguments.context_handle, None);
    assert_eq!(arguments.cred_handle, None);
    assert_eq!(arguments.input_token.len(), 710);
    assert_eq!(arguments.input_token[..4], [0x60, 0x82, 0x02, 0xc2]);
    assert_eq!(arguments.input_cb, None);
    assert!(!arguments.ret_deleg_cred);
    assert!(arguments.options.is_empty());

    let mut encoder = Encoder::new(1 << 20);
    header.encode(&mut encoder);
    arguments.encode(&mut encoder);
    let re_encoded = write_record(&encoder.finish().unwrap(), 1 << 20).unwrap();
    assert_eq!(re_encoded, stream);
}

#[test]
fn gssproxy_accept_reply_decodes_and_re_encodes_byte_for_byte() {
    let stream = reply_record();
    assert_eq!(stream.len(), 592);
    let body = read_record(&stream);
    let mut decoder = Decoder::new(&body, Limits::DEFAULT);
    let header = ReplyHeader::decode(&mut decoder).unwrap();
    assert_eq!(header, ReplyHeader::accepted(0x1122_3344, AcceptStat::Success));
    assert!(matches!(header.body, ReplyBody::Accepted { .. }));
    let result = ResAcceptSecContext::decode(&mut decoder).unwrap();
    assert!(decoder.remaining().is_empty());

    assert_eq!(result.status.major_status, 0);
    assert_eq!(result.status.mech, KRB5_OID);
    let context = result.context_handle.as_ref().unwrap();
    assert_eq!(context.exported_context_token.len(), 52);
    assert_eq!(context.mech, KRB5_OID);
    assert_eq!(context.src_name.display_name, b"daemon@KUP.TEST");
    assert_eq!(context.targ_name.display_name, b"nfs/localhost@KUP.TEST");
    assert_eq!(context.lifetime, 86_623);
    assert_eq!(context.ctx_flags, 0x1b6);
    assert!(!context.locally_initiated);
    assert!(context.open);
    assert_eq!(result.output_token.as_ref().unwrap().len(), 156);
    assert_eq!(result.delegated_cred_handle, None);
    let creds = find_option(&result.options, LINUX_CREDS_V1).unwrap();
    if cfg!(target_endian = "little") {
        let lucid = kup_gssx::lucid::LucidContext::decode(&context.exported_context_token).unwrap();
        assert!(lucid.cfx && lucid.acceptor_subkey && !lucid.initiator);
        assert_eq!(
            (lucid.endtime, lucid.send_seq, lucid.enctype),
            (0x6b07_6eaa, 0x0f9c_12bc, 18)
        );
        assert_eq!(
            LinuxCreds::decode(creds).unwrap(),
            LinuxCreds {
                uid: 1,
                gid: 1,
                groups: vec![1]
            }
        );
    }

    let mut encoder = Encoder::new(1 << 20);
    header.encode(&mut encoder);
    result.encode(&mut encoder);
    let re_encoded = write_record(&encoder.finish().unwrap(), 1 << 20).unwrap();
    assert_eq!(re_encoded, stream);
}

#[test]
fn get_call_context_is_answered_with_44_zero_bytes() {
    // §7.2: SUCCESS + the zero result.
    let result = kup_gssx::gssx::ResGetCallContext::default();
    let mut encoder = Encoder::new(256);
    ReplyHeader::accepted(1, AcceptStat::Success).encode(&mut encoder);
    result.encode(&mut encoder);
    let bytes = encoder.finish().unwrap();
    assert_eq!(
        bytes[..24],
        hex("00000001 00000001 00000000 00000000 00000000 00000000")[..]
    );
    assert_eq!(bytes[24..], [0; 44]);
}

#[test]
fn truncated_arguments_get_garbage_args_and_bad_headers_close() {
    let stream = call_record();
    let body = read_record(&stream);
    // Every cut inside the arguments (the header is 40 bytes) is GARBAGE_ARGS; inside the header, close.
    for end in (0..body.len()).step_by(3) {
        let decoded = decode_call(&body[..end], Limits::DEFAULT);
        if end < 40 {
            assert_eq!(decoded, Decoded::Close, "cut at {end}");
        } else {
            assert_eq!(
                decoded,
                Decoded::Reply(ReplyHeader::accepted(0x1122_3344, AcceptStat::GarbageArgs)),
                "cut at {end}"
            );
        }
    }
    // Trailing bytes after the arguments are ignored, as the reference ignores them.
    let mut longer = body.clone();
    longer.extend([1, 2, 3, 4, 5]);
    assert!(matches!(
        decode_call(&longer, Limits::DEFAULT),
        Decoded::Call { .. }
    ));
    // A token longer than a tight opaque limit is GARBAGE_ARGS, not an allocation.
    let tight = Limits {
        max_opaque: 512,
        max_array: 16,
    };
    assert_eq!(
        decode_call(&body, tight),
        Decoded::Reply(ReplyHeader::accepted(0x1122_3344, AcceptStat::GarbageArgs))
    );
}
