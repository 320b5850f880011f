//! DNS messages (RFC 1035 §4): building queries and decoding answers.
//!
//! Decoding happens in two passes, like glibc's `ns_initparse` + `ns_parserr`:
//!
//! 1. [`Message::decode`] checks the *structure*: header, every question and record skippable
//!    within the message (names walked without following pointers, fixed fields present, RDATA
//!    inside the message), and nothing left over. Counts that lie, truncation and trailing bytes
//!    fail here with a [`DecodeError`].
//! 2. Each record is then decoded on its own; a record whose owner name or RDATA is bad (pointer
//!    loop, short SRV RDATA) becomes an `Err` in its slot, so callers can skip it and keep the
//!    rest, as the reference does.
//!
//! Pure: no I/O, no panics, bounded work (every record consumes at least 11 bytes of input).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::DecodeError;
use crate::name::Name;

/// Size of the fixed header.
pub const HEADER_LENGTH: usize = 12;

/// Record types this crate decodes (others are kept as raw RDATA).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordType(pub u16);

impl RecordType {
    /// IPv4 host address.
    pub const A: Self = Self(1);
    /// Canonical name.
    pub const CNAME: Self = Self(5);
    /// Start of authority.
    pub const SOA: Self = Self(6);
    /// Text strings.
    pub const TXT: Self = Self(16);
    /// AFS database location (RFC 1183).
    pub const AFSDB: Self = Self(18);
    /// IPv6 host address.
    pub const AAAA: Self = Self(28);
    /// Service location (RFC 2782).
    pub const SRV: Self = Self(33);
    /// EDNS0 pseudo-record.
    pub const OPT: Self = Self(41);
}

/// The Internet class.
pub const CLASS_IN: u16 = 1;

/// Response codes (RFC 1035 §4.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseCode(pub u8);

impl ResponseCode {
    /// No error.
    pub const NOERROR: Self = Self(0);
    /// The server could not interpret the query.
    pub const FORMERR: Self = Self(1);
    /// Server failure.
    pub const SERVFAIL: Self = Self(2);
    /// The name does not exist.
    pub const NXDOMAIN: Self = Self(3);
    /// Not implemented.
    pub const NOTIMP: Self = Self(4);
    /// Refused.
    pub const REFUSED: Self = Self(5);
}

/// The message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // one bool per header flag bit
pub struct Header {
    /// Query identifier.
    pub id: u16,
    /// QR: this is a response.
    pub response: bool,
    /// Opcode (0 = standard query).
    pub opcode: u8,
    /// AA.
    pub authoritative: bool,
    /// TC: the message was cut to fit the transport.
    pub truncated: bool,
    /// RD.
    pub recursion_desired: bool,
    /// RA.
    pub recursion_available: bool,
    /// RCODE.
    pub response_code: ResponseCode,
    /// QDCOUNT.
    pub question_count: u16,
    /// ANCOUNT.
    pub answer_count: u16,
    /// NSCOUNT.
    pub authority_count: u16,
    /// ARCOUNT.
    pub additional_count: u16,
}

impl Header {
    /// Decodes the first 12 bytes.
    pub fn decode(message: &[u8]) -> Result<Self, DecodeError> {
        let bytes: &[u8; HEADER_LENGTH] = message
            .get(..HEADER_LENGTH)
            .and_then(|slice| slice.try_into().ok())
            .ok_or(DecodeError::truncated("header", 0))?;
        let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11] = *bytes;
        Ok(Self {
            id: u16::from_be_bytes([b0, b1]),
            response: b2 & 0x80 != 0,
            opcode: (b2 >> 3) & 0x0f,
            authoritative: b2 & 0x04 != 0,
            truncated: b2 & 0x02 != 0,
            recursion_desired: b2 & 0x01 != 0,
            recursion_available: b3 & 0x80 != 0,
            response_code: ResponseCode(b3 & 0x0f),
            question_count: u16::from_be_bytes([b4, b5]),
            answer_count: u16::from_be_bytes([b6, b7]),
            authority_count: u16::from_be_bytes([b8, b9]),
            additional_count: u16::from_be_bytes([b10, b11]),
        })
    }

    /// Encodes the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.id.to_be_bytes());
        let flags_high = u8::from(self.response) << 7
            | (self.opcode & 0x0f) << 3
            | u8::from(self.authoritative) << 2
            | u8::from(self.truncated) << 1
            | u8::from(self.recursion_desired);
        let flags_low = u8::from(self.recursion_available) << 7 | (self.response_code.0 & 0x0f);
        out.push(flags_high);
        out.push(flags_low);
        for count in [
            self.question_count,
            self.answer_count,
            self.authority_count,
            self.additional_count,
        ] {
            out.extend_from_slice(&count.to_be_bytes());
        }
    }
}

/// One entry of the question section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Question {
    /// QNAME.
    pub name: Name,
    /// QTYPE.
    pub record_type: RecordType,
    /// QCLASS.
    pub class: u16,
}

/// Decoded RDATA of the types `key.dns_resolver` and `cifs.upcall` care about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// The canonical name.
    Cname(Name),
    /// A service location.
    Srv {
        /// Lower is preferred.
        priority: u16,
        /// Higher is preferred among equal priorities.
        weight: u16,
        /// Port of the service.
        port: u16,
        /// Host providing it.
        target: Name,
    },
    /// An AFS database server.
    Afsdb {
        /// 1 = AFS volume location server, 2 = DCE directory server.
        subtype: u16,
        /// Host name of the server.
        hostname: Name,
    },
    /// TXT character-strings.
    Txt(Vec<Vec<u8>>),
    /// Any other type, RDATA undecoded.
    Other(Vec<u8>),
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Owner name.
    pub name: Name,
    /// TYPE.
    pub record_type: RecordType,
    /// CLASS.
    pub class: u16,
    /// TTL in seconds (the 32-bit field read unsigned, as glibc's `ns_rr_ttl` does).
    pub ttl: u32,
    /// RDATA.
    pub data: RecordData,
}

/// A decoded message. Record slots hold `Err` when that record alone is bad.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The header.
    pub header: Header,
    /// The question section.
    pub questions: Vec<Question>,
    /// The answer section.
    pub answers: Vec<Result<Record, DecodeError>>,
    /// The authority section.
    pub authorities: Vec<Result<Record, DecodeError>>,
    /// The additional section.
    pub additionals: Vec<Result<Record, DecodeError>>,
}

impl Message {
    /// Decodes a whole message (see the module documentation for the two passes).
    pub fn decode(message: &[u8]) -> Result<Self, DecodeError> {
        let header = Header::decode(message)?;
        let mut position = HEADER_LENGTH;

        let mut question_starts = Vec::new();
        for _ in 0..header.question_count {
            question_starts.push(position);
            position = Name::skip(message, position)?;
            position = checked_end(message, position, 4, "question")?;
        }
        let mut record_starts: [Vec<(usize, usize)>; 3] = Default::default();
        for (section, count) in record_starts.iter_mut().zip([
            header.answer_count,
            header.authority_count,
            header.additional_count,
        ]) {
            for _ in 0..count {
                let start = position;
                position = Name::skip(message, position)?;
                let fixed_end = checked_end(message, position, 10, "record header")?;
                let rdlength = usize::from(read_u16(message, fixed_end - 2)?);
                position = checked_end(message, fixed_end, rdlength, "rdata")?;
                section.push((start, position));
            }
        }
        if position != message.len() {
            return Err(DecodeError::malformed("data after the last record", position));
        }

        let mut questions = Vec::with_capacity(question_starts.len());
        for start in question_starts {
            let (name, after) = Name::decode(message, start)?;
            questions.push(Question {
                name,
                record_type: RecordType(read_u16(message, after)?),
                class: read_u16(message, after + 2)?,
            });
        }
        let [answers, authorities, additionals] = record_starts.map(|section| {
            section
                .into_iter()
                .map(|(start, end)| decode_record(message, start, end))
                .collect()
        });
        Ok(Self {
            header,
            questions,
            answers,
            authorities,
            additionals,
        })
    }

    /// The well-formed answer records, skipping bad ones.
    pub fn answer_records(&self) -> impl Iterator<Item = &Record> {
        self.answers.iter().filter_map(|record| record.as_ref().ok())
    }
}

/// Builds a standard query with one question and RD set, as `res_mkquery` does (no EDNS0).
#[must_use]
pub fn build_query(id: u16, name: &Name, record_type: RecordType) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LENGTH + name.wire_length() + 4);
    Header {
        id,
        response: false,
        opcode: 0,
        authoritative: false,
        truncated: false,
        recursion_desired: true,
        recursion_available: false,
        response_code: ResponseCode::NOERROR,
        question_count: 1,
        answer_count: 0,
        authority_count: 0,
        additional_count: 0,
    }
    .encode(&mut out);
    name.encode(&mut out);
    out.extend_from_slice(&record_type.0.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out
}

/// Encodes one record uncompressed (used by tests and fuzz targets to build answers).
pub fn encode_record(record: &Record, out: &mut Vec<u8>) {
    record.name.encode(out);
    out.extend_from_slice(&record.record_type.0.to_be_bytes());
    out.extend_from_slice(&record.class.to_be_bytes());
    out.extend_from_slice(&record.ttl.to_be_bytes());
    let mut rdata = Vec::new();
    match &record.data {
        RecordData::A(address) => rdata.extend_from_slice(&address.octets()),
        RecordData::Aaaa(address) => rdata.extend_from_slice(&address.octets()),
        RecordData::Cname(name) => name.encode(&mut rdata),
        RecordData::Srv {
            priority,
            weight,
            port,
            target,
        } => {
            for value in [priority, weight, port] {
                rdata.extend_from_slice(&value.to_be_bytes());
            }
            target.encode(&mut rdata);
        }
        RecordData::Afsdb { subtype, hostname } => {
            rdata.extend_from_slice(&subtype.to_be_bytes());
            hostname.encode(&mut rdata);
        }
        RecordData::Txt(strings) => {
            for string in strings {
                let length = u8::try_from(string.len()).unwrap_or(u8::MAX);
                rdata.push(length);
                rdata.extend_from_slice(string.get(..usize::from(length)).unwrap_or_default());
            }
        }
        RecordData::Other(bytes) => rdata.extend_from_slice(bytes),
    }
    let rdlength = u16::try_from(rdata.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&rdlength.to_be_bytes());
    out.extend_from_slice(rdata.get(..usize::from(rdlength)).unwrap_or_default());
}

fn decode_record(message: &[u8], start: usize, end: usize) -> Result<Record, DecodeError> {
    let (name, after_name) = Name::decode(message, start)?;
    let record_type = RecordType(read_u16(message, after_name)?);
    let class = read_u16(message, after_name + 2)?;
    let ttl = read_u32(message, after_name + 4)?;
    let rdata_start = after_name + 10;
    let rdata = message
        .get(rdata_start..end)
        .ok_or(DecodeError::truncated("rdata", rdata_start))?;
    let data = match record_type {
        RecordType::A => RecordData::A(Ipv4Addr::from(
            <[u8; 4]>::try_from(rdata).map_err(|_| DecodeError::malformed("A rdata length", rdata_start))?,
        )),
        RecordType::AAAA => RecordData::Aaaa(Ipv6Addr::from(
            <[u8; 16]>::try_from(rdata)
                .map_err(|_| DecodeError::malformed("AAAA rdata length", rdata_start))?,
        )),
        RecordType::CNAME => RecordData::Cname(name_in_rdata(message, rdata_start, end)?),
        RecordType::SRV => {
            if rdata.len() < 7 {
                return Err(DecodeError::malformed("SRV rdata too short", rdata_start));
            }
            RecordData::Srv {
                priority: read_u16(message, rdata_start)?,
                weight: read_u16(message, rdata_start + 2)?,
                port: read_u16(message, rdata_start + 4)?,
                target: name_in_rdata(message, rdata_start + 6, end)?,
            }
        }
        RecordType::AFSDB => {
            if rdata.len() < 3 {
                return Err(DecodeError::malformed("AFSDB rdata too short", rdata_start));
            }
            RecordData::Afsdb {
                subtype: read_u16(message, rdata_start)?,
                hostname: name_in_rdata(message, rdata_start + 2, end)?,
            }
        }
        RecordType::TXT => RecordData::Txt(decode_txt(rdata, rdata_start)?),
        _ => RecordData::Other(rdata.to_vec()),
    };
    Ok(Record {
        name,
        record_type,
        class,
        ttl,
        data,
    })
}

/// A name inside RDATA: may point anywhere earlier in the message, but its in-place bytes must
/// end within the RDATA.
fn name_in_rdata(message: &[u8], start: usize, rdata_end: usize) -> Result<Name, DecodeError> {
    let (name, after) = Name::decode(message, start)?;
    if after > rdata_end {
        return Err(DecodeError::malformed("name runs past its rdata", start));
    }
    Ok(name)
}

fn decode_txt(rdata: &[u8], offset: usize) -> Result<Vec<Vec<u8>>, DecodeError> {
    let mut strings = Vec::new();
    let mut rest = rdata;
    while let Some((&length, tail)) = rest.split_first() {
        let length = usize::from(length);
        let string = tail
            .get(..length)
            .ok_or(DecodeError::truncated("TXT string", offset))?;
        strings.push(string.to_vec());
        rest = tail.get(length..).unwrap_or_default();
    }
    Ok(strings)
}

fn checked_end(
    message: &[u8],
    start: usize,
    length: usize,
    field: &'static str,
) -> Result<usize, DecodeError> {
    let end = start
        .checked_add(length)
        .ok_or(DecodeError::truncated(field, start))?;
    if end > message.len() {
        return Err(DecodeError::truncated(field, start));
    }
    Ok(end)
}

fn read_u16(message: &[u8], at: usize) -> Result<u16, DecodeError> {
    message
        .get(at..at + 2)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u16::from_be_bytes)
        .ok_or(DecodeError::truncated("16-bit field", at))
}

fn read_u32(message: &[u8], at: usize) -> Result<u32, DecodeError> {
    message
        .get(at..at + 4)
        .and_then(|bytes| bytes.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or(DecodeError::truncated("32-bit field", at))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Name {
        Name::from_text(text.as_bytes()).unwrap()
    }

    fn response(records: &[Record]) -> Vec<u8> {
        let mut out = Vec::new();
        Header {
            id: 7,
            response: true,
            opcode: 0,
            authoritative: true,
            truncated: false,
            recursion_desired: true,
            recursion_available: true,
            response_code: ResponseCode::NOERROR,
            question_count: 1,
            answer_count: u16::try_from(records.len()).unwrap(),
            authority_count: 0,
            additional_count: 0,
        }
        .encode(&mut out);
        name("_afs3-vlserver._udp.example.org").encode(&mut out);
        out.extend_from_slice(&RecordType::SRV.0.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        for record in records {
            encode_record(record, &mut out);
        }
        out
    }

    fn srv(ttl: u32, port: u16, target: &str) -> Record {
        Record {
            name: name("_afs3-vlserver._udp.example.org"),
            record_type: RecordType::SRV,
            class: CLASS_IN,
            ttl,
            data: RecordData::Srv {
                priority: 1,
                weight: 2,
                port,
                target: name(target),
            },
        }
    }

    #[test]
    fn query_has_rd_and_one_question() {
        let query = build_query(0x1234, &name("example.org"), RecordType::SRV);
        assert_eq!(
            query,
            b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03org\x00\x00\x21\x00\x01"
        );
        let decoded = Message::decode(&query).unwrap();
        assert!(decoded.header.recursion_desired);
        assert!(!decoded.header.response);
        assert_eq!(decoded.questions[0].record_type, RecordType::SRV);
    }

    #[test]
    fn every_record_type_round_trips() {
        let records = vec![
            srv(300, 7003, "vl1.example.org"),
            Record {
                name: name("a.example.org"),
                record_type: RecordType::A,
                class: CLASS_IN,
                ttl: 1,
                data: RecordData::A(Ipv4Addr::new(192, 0, 2, 1)),
            },
            Record {
                name: name("a.example.org"),
                record_type: RecordType::AAAA,
                class: CLASS_IN,
                ttl: 2,
                data: RecordData::Aaaa("2001:db8::1".parse().unwrap()),
            },
            Record {
                name: name("c.example.org"),
                record_type: RecordType::CNAME,
                class: CLASS_IN,
                ttl: 3,
                data: RecordData::Cname(name("a.example.org")),
            },
            Record {
                name: name("example.org"),
                record_type: RecordType::AFSDB,
                class: CLASS_IN,
                ttl: u32::MAX,
                data: RecordData::Afsdb {
                    subtype: 1,
                    hostname: name("afs1.example.org"),
                },
            },
            Record {
                name: name("example.org"),
                record_type: RecordType::TXT,
                class: CLASS_IN,
                ttl: 0,
                data: RecordData::Txt(vec![b"hello".to_vec(), Vec::new(), b"x".to_vec()]),
            },
            Record {
                name: name("example.org"),
                record_type: RecordType::SOA,
                class: CLASS_IN,
                ttl: 0,
                data: RecordData::Other(vec![1, 2, 3]),
            },
        ];
        let wire = response(&records);
        let message = Message::decode(&wire).unwrap();
        let decoded: Vec<Record> = message.answers.into_iter().map(Result::unwrap).collect();
        assert_eq!(decoded, records);
    }

    #[test]
    fn compressed_srv_target_is_expanded() {
        let mut wire = response(&[]);
        wire[7] = 1; // ANCOUNT = 1
        wire.extend_from_slice(b"\xc0\x0c"); // owner: pointer to the question name
        wire.extend_from_slice(&[0, 33, 0, 1, 0, 0, 0, 60, 0, 12]);
        wire.extend_from_slice(&[0, 0, 0, 5, 0x1b, 0x5b]);
        wire.extend_from_slice(b"\x03vl1\xc0\x20"); // "vl1" + pointer to "example.org"
        let message = Message::decode(&wire).unwrap();
        let record = message.answers[0].as_ref().unwrap();
        assert_eq!(record.ttl, 60);
        let RecordData::Srv { port, target, .. } = &record.data else {
            panic!("not SRV: {record:?}");
        };
        assert_eq!(*port, 7003);
        assert_eq!(target.to_text(), b"vl1.example.org");
    }

    #[test]
    fn counts_that_lie_are_refused() {
        let mut wire = response(&[srv(1, 1, "a.b")]);
        wire[7] = 2;
        assert!(Message::decode(&wire).is_err());
        let mut wire = response(&[srv(1, 1, "a.b")]);
        wire[5] = 0; // QDCOUNT 0: the question bytes become trailing garbage / misparsed
        assert!(Message::decode(&wire).is_err());
    }

    #[test]
    fn truncation_anywhere_is_refused_and_never_panics() {
        let wire = response(&[srv(1, 7003, "vl1.example.org"), srv(2, 7004, "vl2.example.org")]);
        for length in 0..wire.len() {
            assert!(Message::decode(&wire[..length]).is_err(), "length {length}");
        }
        assert!(Message::decode(&wire).is_ok());
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut wire = response(&[srv(1, 1, "a.b")]);
        wire.push(0);
        assert!(Message::decode(&wire).is_err());
    }

    #[test]
    fn a_record_with_a_looping_owner_is_skipped_alone() {
        let mut wire = response(&[srv(1, 1, "a.b")]);
        wire[7] = 2;
        let loop_at = wire.len();
        wire.extend_from_slice(&[0xc0, u8::try_from(loop_at).unwrap()]); // points at itself
        wire.extend_from_slice(&[0, 33, 0, 1, 0, 0, 0, 9, 0, 7, 0, 0, 0, 0, 0, 1, 0]);
        let message = Message::decode(&wire).unwrap();
        assert!(message.answers[0].is_ok());
        assert!(message.answers[1].is_err());
        assert_eq!(message.answer_records().count(), 1);
    }

    #[test]
    fn short_srv_rdata_is_a_bad_record_not_a_read_past_it() {
        let mut wire = response(&[]);
        wire[7] = 1;
        wire.extend_from_slice(b"\xc0\x0c");
        wire.extend_from_slice(&[0, 33, 0, 1, 0, 0, 0, 60, 0, 4, 0, 0, 0, 5]);
        let message = Message::decode(&wire).unwrap();
        assert!(message.answers[0].is_err());
    }

    #[test]
    fn srv_target_running_past_rdata_is_a_bad_record() {
        let mut wire = response(&[]);
        wire[7] = 2;
        wire.extend_from_slice(b"\xc0\x0c");
        // rdlength 7 but the target label claims 3 bytes that belong to the next record.
        wire.extend_from_slice(&[0, 33, 0, 1, 0, 0, 0, 60, 0, 7, 0, 0, 0, 0, 0, 5, 3]);
        wire.extend_from_slice(b"\x00");
        wire.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
        let message = Message::decode(&wire);
        // Structure is consistent; the SRV record alone is bad.
        let message = message.unwrap();
        assert!(message.answers[0].is_err());
        assert!(message.answers[1].is_ok());
    }

    #[test]
    fn header_flags_round_trip() {
        let header = Header {
            id: 0xbeef,
            response: true,
            opcode: 2,
            authoritative: true,
            truncated: true,
            recursion_desired: false,
            recursion_available: true,
            response_code: ResponseCode::NXDOMAIN,
            question_count: 1,
            answer_count: 2,
            authority_count: 3,
            additional_count: 4,
        };
        let mut wire = Vec::new();
        header.encode(&mut wire);
        assert_eq!(Header::decode(&wire).unwrap(), header);
    }
}
