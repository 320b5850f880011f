//! The properties of the kup-gssx fuzz targets, one function per target. Each takes arbitrary
//! bytes and panics when a property does not hold (the code under test itself must never panic).

// `pub` for the fuzz crate; the same file is a private module of the replay tests.
#![allow(unreachable_pub, dead_code)]

use kup_gssx::call::{Arguments, Decoded, decode_call};
use kup_gssx::gssx::{ResAcceptSecContext, Xdr};
use kup_gssx::record::{RecordError, RecordReader, write_record};
use kup_gssx::rpc::ReplyHeader;
use kup_gssx::xdr::{Decoder, Encoder, Limits};

/// What an independent reading of a whole stream finds: the complete records, then the error
/// (if the stream breaks a limit) or whether it stops inside a record.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    records: Vec<Vec<u8>>,
    error: Option<RecordError>,
    truncated: bool,
}

/// A direct model of record marking over the whole stream at once.
fn model(stream: &[u8], max_record: usize, max_fragments: usize) -> Outcome {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut fragments = 0;
    let mut at = 0;
    while at < stream.len() {
        if stream.len() - at < 4 {
            return Outcome {
                records,
                error: None,
                truncated: true,
            };
        }
        let mark = u32::from_be_bytes([stream[at], stream[at + 1], stream[at + 2], stream[at + 3]]);
        at += 4;
        let length = (mark & 0x7fff_ffff) as usize;
        fragments += 1;
        // The last fragment allowed must be marked last.
        if fragments > max_fragments || (fragments == max_fragments && mark & 0x8000_0000 == 0) {
            return Outcome {
                records,
                error: Some(RecordError::TooManyFragments { max: max_fragments }),
                truncated: false,
            };
        }
        if record.len() + length > max_record {
            let total = (record.len() + length) as u64;
            return Outcome {
                records,
                error: Some(RecordError::TooLarge {
                    length: total,
                    max: max_record,
                }),
                truncated: false,
            };
        }
        if stream.len() - at < length {
            return Outcome {
                records,
                error: None,
                truncated: true,
            };
        }
        record.extend_from_slice(&stream[at..at + length]);
        at += length;
        if mark & 0x8000_0000 != 0 {
            records.push(std::mem::take(&mut record));
            fragments = 0;
        }
    }
    Outcome {
        records,
        error: None,
        truncated: fragments != 0,
    }
}

/// The record reader, fed the stream in pieces of a fuzzed size under fuzzed limits, finds exactly
/// what the model finds; it never buffers more than the limit; each record it yields re-frames
/// (single fragment) and reads back to itself.
pub fn record(data: &[u8]) {
    let Some((&[limit, fragments, chunk], stream)) = data.split_first_chunk::<3>() else {
        return;
    };
    let max_record = usize::from(limit) * 8;
    let max_fragments = usize::from(fragments % 8);
    let chunk = usize::from(chunk).max(1);
    let expected = model(stream, max_record, max_fragments);

    let mut reader = RecordReader::new(max_record, max_fragments);
    let mut records = Vec::new();
    let mut error = None;
    'pieces: for piece in stream.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            match reader.feed(rest) {
                Ok(fed) => {
                    assert!(fed.consumed <= rest.len());
                    assert!(reader.buffered() <= max_record);
                    rest = &rest[fed.consumed..];
                    match fed.record {
                        Some(record) => records.push(record),
                        None => assert!(rest.is_empty(), "a feed stopped early without a record"),
                    }
                }
                Err(refused) => {
                    error = Some(refused);
                    break 'pieces;
                }
            }
        }
    }
    let truncated = error.is_none() && reader.finish() == Err(RecordError::Truncated);
    assert_eq!(
        Outcome {
            records,
            error,
            truncated
        },
        expected
    );
    if error.is_some() {
        assert_eq!(reader.feed(b"more"), Err(RecordError::Failed));
    }

    for record in &expected.records {
        let framed = write_record(record, max_record).expect("a record within the limit frames");
        let mut single = RecordReader::new(max_record, 1);
        let fed = single.feed(&framed).expect("a framed record reads");
        assert_eq!(fed.consumed, framed.len());
        assert_eq!(fed.record.as_ref(), Some(record));
    }
}

/// Decoding a CALL record never panics and is stable: a decoded call re-encodes to bytes that
/// decode to the same call and are no longer than the input (trailing bytes dropped, padding
/// zeroed); a reply re-encodes and reads back; tight limits are honoured. The same bytes read as
/// an `ACCEPT_SEC_CONTEXT` result (the client side) obey the same round trip.
pub fn call(data: &[u8]) {
    let Some((&[opaque, array], record)) = data.split_first_chunk::<2>() else {
        return;
    };
    let tight = Limits {
        max_opaque: usize::from(opaque) * 4,
        max_array: usize::from(array % 16),
    };
    for limits in [Limits::DEFAULT, tight] {
        match decode_call(record, limits) {
            Decoded::Call { header, arguments } => {
                let mut encoder = Encoder::new(record.len());
                header.encode(&mut encoder);
                match &arguments {
                    Arguments::IndicateMechs(arguments) => arguments.encode(&mut encoder),
                    Arguments::GetCallContext(arguments) => arguments.encode(&mut encoder),
                    Arguments::AcceptSecContext(arguments) => {
                        assert!(arguments.input_token.len() <= limits.max_opaque);
                        // The daemon's key for a kept acceptor name: a slice of the token.
                        if let Some(server) = kup_gssx::krb5token::ticket_server(&arguments.input_token) {
                            assert!(server.len() < arguments.input_token.len());
                        }
                        assert!(arguments.call_ctx.options.len() <= limits.max_array);
                        assert!(arguments.options.len() <= limits.max_array);
                        arguments.encode(&mut encoder);
                    }
                    other => other.encode(&mut encoder),
                }
                let bytes = encoder
                    .finish()
                    .expect("the re-encoding is no longer than the input");
                assert_eq!(decode_call(&bytes, limits), Decoded::Call { header, arguments });
            }
            Decoded::Reply(reply) => {
                let mut encoder = Encoder::new(64);
                reply.encode(&mut encoder);
                let bytes = encoder.finish().expect("a reply header fits 64 bytes");
                assert_eq!(ReplyHeader::decode(&mut Decoder::new(&bytes, limits)), Ok(reply));
            }
            Decoded::Close => {}
        }
    }

    if let Ok(result) = ResAcceptSecContext::decode(&mut Decoder::new(record, Limits::DEFAULT)) {
        let mut encoder = Encoder::new(record.len());
        result.encode(&mut encoder);
        let bytes = encoder
            .finish()
            .expect("the re-encoding is no longer than the input");
        assert_eq!(
            ResAcceptSecContext::decode(&mut Decoder::new(&bytes, Limits::DEFAULT)),
            Ok(result)
        );
    }
}
