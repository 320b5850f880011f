//! The properties each fuzz target checks. Every function must return normally for any input;
//! a panic (assertion, overflow, index) is a finding.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use key_dns_resolver::config;
use key_dns_resolver::payload::Payload;
use key_dns_resolver::request;
use key_dns_resolver::resolve::{self, MAX_TARGET_LOOKUPS, Outcome, Resolve};
use key_dns_resolver::server_list;
use kup_dns::address::{Family, LookupError};
use kup_dns::client::{self, Expected, QueryError, TcpStep, Transport};
use kup_dns::message::{CLASS_IN, Header, Message, Record, RecordType, ResponseCode, encode_record};
use kup_dns::name::Name;
use kup_dns::resolv_conf::{MAX_NAMESERVERS, ResolvConf};

/// Decoding never panics; every record that decodes re-encodes (uncompressed) to bytes that
/// decode to the same record.
pub fn dns_message(data: &[u8]) {
    let Ok(message) = Message::decode(data) else {
        return;
    };
    assert_eq!(
        message.questions.len(),
        usize::from(message.header.question_count)
    );
    assert_eq!(message.answers.len(), usize::from(message.header.answer_count));
    let records = message
        .answers
        .iter()
        .chain(&message.authorities)
        .chain(&message.additionals)
        .filter_map(|record| record.as_ref().ok());
    for record in records {
        assert_eq!(reencoded(record), *record);
    }
}

fn reencoded(record: &Record) -> Record {
    let mut wire = Vec::new();
    Header {
        id: 0,
        response: true,
        opcode: 0,
        authoritative: false,
        truncated: false,
        recursion_desired: false,
        recursion_available: false,
        response_code: ResponseCode::NOERROR,
        question_count: 0,
        answer_count: 1,
        authority_count: 0,
        additional_count: 0,
    }
    .encode(&mut wire);
    encode_record(record, &mut wire);
    let message = Message::decode(&wire).expect("an encoded record decodes");
    message
        .answers
        .into_iter()
        .next()
        .expect("one answer")
        .expect("a good record")
}

/// Presentation text that parses prints back to text that parses to the same name, within the
/// wire limits.
pub fn name_text(data: &[u8]) {
    let Ok(name) = Name::from_text(data) else {
        return;
    };
    assert!(name.wire_length() <= 255);
    assert!(
        name.labels()
            .iter()
            .all(|label| !label.is_empty() && label.len() <= 63)
    );
    let again = Name::from_text(&name.to_text()).expect("printed names parse");
    assert_eq!(again, name);
    let mut wire = Vec::new();
    name.encode(&mut wire);
    let (decoded, end) = Name::decode(&wire, 0).expect("encoded names decode");
    assert_eq!(decoded, name);
    assert_eq!(end, wire.len());
}

/// resolv.conf parsing is total and stays within glibc's limits.
pub fn resolv_conf(data: &[u8]) {
    let config = ResolvConf::parse(data);
    assert!((1..=MAX_NAMESERVERS).contains(&config.nameservers.len()));
    assert!(config.attempts <= 5);
    assert!(config.timeout.as_secs() <= 30);
}

/// key.dns_resolver.conf parsing is total; an accepted TTL is in range.
pub fn config(data: &[u8]) {
    let parsed = config::parse(data, "/fuzz.conf");
    if let Ok(config) = parsed.result {
        assert!((1..=0x7fff_ffff).contains(&config.default_ttl));
    }
}

/// Describe strings and callouts (split at the first newline) parse without panicking, and a
/// parsed address request names the bytes after the prefix.
pub fn request(data: &[u8]) {
    let (describe, callout) = match data.iter().position(|&byte| byte == b'\n') {
        Some(split) => (&data[..split], &data[split + 1..]),
        None => (data, &[][..]),
    };
    let _ = request::key_name(describe);
    let name = request::c_string(describe);
    if let Ok(request::Query::Address { name: host, .. }) = request::parse_query(name, callout) {
        assert!(name.ends_with(&host));
    }
}

/// Any decodable SRV answer yields a bounded outcome: at most 128 addresses, at most
/// [`MAX_TARGET_LOOKUPS`] target lookups, never the error path.
pub fn afs_answer(data: &[u8]) {
    let Ok(message) = Message::decode(data) else {
        return;
    };
    let mut resolver = Canned {
        answer: Some(message),
        lookups: 0,
    };
    let outcome = resolve::afs_request(&mut resolver, b"cell", Family::Any, 5);
    assert!(resolver.lookups <= MAX_TARGET_LOOKUPS);
    match outcome {
        Outcome::Instantiate { payload, .. } => {
            assert!(!payload.is_empty());
            assert!(payload.addresses().len() <= Payload::MAX_ADDRESSES);
            assert!(!payload.text().contains(&0));
        }
        Outcome::Reject { .. } => {}
        Outcome::Error(message) => panic!("decoded answers never take the error path: {message}"),
    }
}

/// The v1 server-list decoder never panics, and what it accepts re-encodes to a list that
/// decodes to the same servers.
pub fn server_list(data: &[u8]) {
    if let Some(servers) = server_list::decode(data) {
        assert_eq!(server_list::decode(&server_list::encode(&servers)), Some(servers));
    }
}

/// Answers the SRV query with the fuzzed message and every target with two addresses derived
/// from its name.
struct Canned {
    answer: Option<Message>,
    lookups: usize,
}

impl Resolve for Canned {
    fn addresses(&mut self, host: &[u8], _family: Family) -> Result<Vec<IpAddr>, LookupError> {
        self.lookups += 1;
        let seed = host.iter().fold(0u8, |sum, byte| sum.wrapping_add(*byte));
        if seed % 7 == 0 {
            return Err(LookupError {
                code: -2,
                message: "Name or service not known".into(),
            });
        }
        Ok(vec![
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, seed)),
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, seed)),
        ])
    }

    fn query(&mut self, _name: &[u8], record_type: RecordType) -> Result<Message, QueryError> {
        match (record_type, self.answer.take()) {
            (RecordType::SRV, Some(message)) => Ok(message),
            _ => Err(QueryError::Lookup(kup_dns::client::Failure::HostNotFound)),
        }
    }
}

/// The DNS client's reply matching and TCP framing. The input is one byte choosing the record
/// type asked for, two bytes of query id, then what the server sent on a TCP connection (every
/// frame of it is also tried as a UDP datagram). Reading the stream as the client does (exactly
/// the bytes [`client::tcp_step`] asks for) always ends, consumes at most the stream, and returns
/// the first frame that answers the question; matching agrees with a decoded question; a matched
/// reply classifies without panicking, and a positive answer is NOERROR with answers.
pub fn client_reply(data: &[u8]) {
    const TYPES: [RecordType; 5] = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::SRV,
        RecordType::AFSDB,
        RecordType::TXT,
    ];
    let [selector, high, low, stream @ ..] = data else {
        return;
    };
    let name = Name::from_text(b"host.test").expect("a valid name");
    let expected = Expected {
        id: u16::from_be_bytes([*high, *low]),
        name: &name,
        record_type: TYPES[usize::from(*selector) % TYPES.len()],
    };
    let server = SocketAddr::from((Ipv4Addr::LOCALHOST, 53));

    // Split the stream into frames independently of the client code.
    let mut frames = Vec::new();
    let mut rest = stream;
    while let [high, low, after @ ..] = rest {
        let length = usize::from(u16::from_be_bytes([*high, *low]));
        let Some(message) = after.get(..length) else {
            break;
        };
        frames.push(message);
        rest = &after[length..];
    }
    for message in &frames {
        let matched = expected.matches(message);
        assert_eq!(matched, reference_match(&expected, message), "matching");
        let framed = client::tcp_frame(message).expect("a frame fits");
        let step = client::tcp_step(&framed, &expected);
        if matched {
            assert_eq!(step, TcpStep::Reply(message));
            if let Ok(answer) = client::classify(message, Transport::Udp, server) {
                assert_eq!(answer.length, message.len());
                assert_eq!(answer.message.header.response_code, ResponseCode::NOERROR);
                assert!(!answer.message.answers.is_empty());
            }
        } else {
            assert_eq!(step, TcpStep::Skip(framed.len()));
        }
    }

    // Read the stream as exchange_tcp does: exactly the bytes asked for, dropping skipped frames.
    let expected_reply = frames.iter().find(|message| expected.matches(message));
    let mut offset = 0;
    let mut received: Vec<u8> = Vec::new();
    let mut steps = 0;
    let reply = loop {
        steps += 1;
        assert!(steps <= stream.len() + 2, "reading does not end");
        match client::tcp_step(&received, &expected) {
            TcpStep::Reply(reply) => break Some(reply.to_vec()),
            TcpStep::Skip(length) => {
                assert!(length >= 2 && length <= received.len());
                received.drain(..length);
            }
            TcpStep::Need(more) => {
                assert!(more > 0 && more <= 65_537);
                let Some(bytes) = stream.get(offset..offset + more) else {
                    break None; // the connection closes
                };
                received.extend_from_slice(bytes);
                offset += more;
            }
        }
    };
    assert_eq!(reply.as_deref(), expected_reply.copied());
}

/// `res_queriesmatch` from the decoded question (when the message decodes that far).
fn reference_match(expected: &Expected<'_>, message: &[u8]) -> bool {
    let Ok(header) = Header::decode(message) else {
        return false;
    };
    if header.id != expected.id || !header.response {
        return false;
    }
    match header.question_count {
        0 => header.response_code == ResponseCode::FORMERR,
        1 => {
            let Ok((name, end)) = Name::decode(message, kup_dns::message::HEADER_LENGTH) else {
                return false;
            };
            let Some(fields) = message.get(end..end + 4) else {
                return false;
            };
            let lower = |name: &Name| name.to_text().to_ascii_lowercase();
            lower(&name) == lower(expected.name)
                && u16::from_be_bytes([fields[0], fields[1]]) == expected.record_type.0
                && u16::from_be_bytes([fields[2], fields[3]]) == CLASS_IN
        }
        _ => false,
    }
}
