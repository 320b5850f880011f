//! `res_query` semantics over UDP with TCP fallback.
//!
//! What glibc 2.36 does, and so what this does (facts in `docs/compat/key.dns_resolver.md`):
//!
//! - The name is queried as given (no search list), class IN, RD set, no EDNS0.
//! - For each attempt (`attempts`), each server in turn gets the query over UDP with a per-try
//!   timeout of `timeout << attempt`, divided by the server count after the first round,
//!   at least 1 s. Replies are accepted only from the server asked (connected socket) with the
//!   query's id and question; anything else is ignored until the timeout.
//! - SERVFAIL, NOTIMP and REFUSED make it move to the next server; if every try ends like that
//!   or times out the result is "try again".
//! - A reply with TC set is asked again over TCP from the same server. Unlike the reference's
//!   512-byte buffer, the whole TCP answer is read (up to 65535 bytes): decisions.md 7.
//! - Final classification (`h_errno`): NXDOMAIN → host not found; SERVFAIL → try again;
//!   NOERROR with no answer records → no data; FORMERR/NOTIMP/REFUSED → no recovery.
//!
//! All waits are bounded: the worst case is `sum over attempts of servers × per-try timeout`.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::BuildHasher;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::DecodeError;
use crate::message::{CLASS_IN, HEADER_LENGTH, Header, Message, RecordType, ResponseCode, build_query};
use crate::name::Name;
use crate::resolv_conf::ResolvConf;

/// Resolver failure classes, numbered like `h_errno`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// `HOST_NOT_FOUND` (1): the name does not exist.
    HostNotFound,
    /// `TRY_AGAIN` (2): no server answered usefully; may work later.
    TryAgain,
    /// `NO_RECOVERY` (3): the query cannot succeed (bad name, server refused the format).
    NoRecovery,
    /// `NO_DATA` (4): the name exists but has no record of that type.
    NoData,
}

impl Failure {
    /// `hstrerror` text.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::HostNotFound => "Unknown host",
            Self::TryAgain => "Host name lookup failure",
            Self::NoRecovery => "Unknown server error",
            Self::NoData => "No address associated with name",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.message())
    }
}

/// Why a query produced no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// The resolver reported a failure class.
    Lookup(Failure),
    /// A server's positive answer could not be decoded.
    Malformed(DecodeError),
}

impl fmt::Display for QueryError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lookup(failure) => failure.fmt(formatter),
            Self::Malformed(error) => error.fmt(formatter),
        }
    }
}

impl std::error::Error for QueryError {}

/// How an answer arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// One UDP datagram.
    Udp,
    /// A TCP stream (after truncation, or `use-vc`).
    Tcp,
}

/// A positive answer: NOERROR and at least one answer record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The decoded message.
    pub message: Message,
    /// Its size on the wire.
    pub length: usize,
    /// How it arrived.
    pub transport: Transport,
    /// Which server sent it.
    pub server: SocketAddr,
}

/// A stub resolver for one configuration.
#[derive(Clone, Debug)]
pub struct Resolver {
    config: ResolvConf,
}

impl Resolver {
    /// A resolver using `config`.
    #[must_use]
    pub fn new(config: ResolvConf) -> Self {
        Self { config }
    }

    /// A resolver configured from `/etc/resolv.conf`.
    #[must_use]
    pub fn from_system() -> Self {
        Self::new(ResolvConf::load(std::path::Path::new(crate::resolv_conf::PATH)))
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &ResolvConf {
        &self.config
    }

    /// `res_query(name, C_IN, record_type)`: `name` is presentation text.
    pub fn query(&self, name: &[u8], record_type: RecordType) -> Result<Answer, QueryError> {
        let name = Name::from_text(name).map_err(|_| QueryError::Lookup(Failure::NoRecovery))?;
        let id = random_id();
        let query = build_query(id, &name, record_type);
        let (bytes, transport, server) = self.send(&query, &name, record_type)?;
        classify(&bytes, transport, server)
    }

    fn send(
        &self,
        query: &[u8],
        name: &Name,
        record_type: RecordType,
    ) -> Result<(Vec<u8>, Transport, SocketAddr), QueryError> {
        let servers = &self.config.nameservers;
        let server_count = u32::try_from(servers.len()).unwrap_or(u32::MAX).max(1);
        let start = if self.config.rotate && !servers.is_empty() {
            usize::from(random_id()) % servers.len()
        } else {
            0
        };
        let expected = Expected {
            id: u16::from_be_bytes([
                query.first().copied().unwrap_or_default(),
                query.get(1).copied().unwrap_or_default(),
            ]),
            name,
            record_type,
        };
        for attempt in 0..self.config.attempts {
            let base = self.config.timeout.as_secs();
            let mut seconds = base.checked_shl(attempt).unwrap_or(u64::MAX);
            if attempt > 0 {
                seconds /= u64::from(server_count);
            }
            let per_try = Duration::from_secs(seconds.max(1));
            for offset in 0..servers.len() {
                let Some(&server) = servers.get((start + offset) % servers.len()) else {
                    continue;
                };
                let reply = if self.config.use_tcp {
                    exchange_tcp(server, query, &expected, per_try).map(|bytes| (bytes, Transport::Tcp))
                } else {
                    exchange_udp(server, query, &expected, per_try).and_then(|bytes| {
                        if Header::decode(&bytes).is_ok_and(|header| header.truncated) {
                            exchange_tcp(server, query, &expected, per_try)
                                .map(|bytes| (bytes, Transport::Tcp))
                        } else {
                            Ok((bytes, Transport::Udp))
                        }
                    })
                };
                let Ok((bytes, transport)) = reply else {
                    continue;
                };
                let Ok(header) = Header::decode(&bytes) else {
                    continue;
                };
                if matches!(
                    header.response_code,
                    ResponseCode::SERVFAIL | ResponseCode::NOTIMP | ResponseCode::REFUSED
                ) {
                    continue;
                }
                return Ok((bytes, transport, server));
            }
        }
        Err(QueryError::Lookup(Failure::TryAgain))
    }
}

/// The question a reply must answer: what glibc's `res_queriesmatch` compares.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The query's id.
    pub id: u16,
    /// The name asked for (compared without regard to ASCII case).
    pub name: &'a Name,
    /// The type asked for (class is always IN).
    pub record_type: RecordType,
}

impl Expected<'_> {
    /// Whether `reply` answers this question: same id, a response, and the same question
    /// (glibc's `res_queriesmatch`); a FORMERR without a question also counts.
    #[must_use]
    pub fn matches(&self, reply: &[u8]) -> bool {
        let Ok(header) = Header::decode(reply) else {
            return false;
        };
        if header.id != self.id || !header.response {
            return false;
        }
        if header.question_count != 1 {
            // glibc accepts a question-less reply only for some opcodes/rcodes; a FORMERR with
            // no question is still a reply to us.
            return header.question_count == 0 && header.response_code == ResponseCode::FORMERR;
        }
        let Ok((name, after)) = Name::decode(reply, HEADER_LENGTH) else {
            return false;
        };
        let field = |at: usize| {
            reply.get(at..at + 2).map(|bytes| {
                u16::from_be_bytes([
                    bytes.first().copied().unwrap_or(0),
                    bytes.get(1).copied().unwrap_or(0),
                ])
            })
        };
        name.eq_ignore_case(self.name)
            && field(after) == Some(self.record_type.0)
            && field(after + 2) == Some(CLASS_IN)
    }
}

/// A message framed for TCP (RFC 1035 4.2.2): its length as two big-endian bytes, then the
/// message; `None` for a message longer than 65535 bytes.
#[must_use]
pub fn tcp_frame(message: &[u8]) -> Option<Vec<u8>> {
    let length = u16::try_from(message.len()).ok()?;
    let mut framed = Vec::with_capacity(message.len() + 2);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(message);
    Some(framed)
}

/// The next step in reading replies from a TCP connection; see [`tcp_step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpStep<'a> {
    /// The first framed message of the bytes received answers the question: this is the reply.
    Reply(&'a [u8]),
    /// The first framed message (this many bytes, length prefix included) is complete but does
    /// not answer the question: drop it and go on with the bytes after it.
    Skip(usize),
    /// The first frame is incomplete: read exactly this many more bytes.
    Need(usize),
}

/// Reads the bytes received so far on a TCP connection (starting at a frame boundary): either
/// the first frame is a matching reply, or a complete frame to skip, or how many bytes the
/// first frame still lacks (its length prefix first, then its message).
#[must_use]
pub fn tcp_step<'a>(received: &'a [u8], expected: &Expected<'_>) -> TcpStep<'a> {
    let Some((&high, &low)) = received.first().zip(received.get(1)) else {
        return TcpStep::Need(2 - received.len());
    };
    let end = 2 + usize::from(u16::from_be_bytes([high, low]));
    match received.get(2..end) {
        Some(message) if expected.matches(message) => TcpStep::Reply(message),
        Some(_) => TcpStep::Skip(end),
        None => TcpStep::Need(end - received.len()),
    }
}

/// What a reply means to `res_query`: a positive answer, or the failure class its response code
/// maps to (see the module text); a positive answer that does not decode is malformed.
pub fn classify(bytes: &[u8], transport: Transport, server: SocketAddr) -> Result<Answer, QueryError> {
    let header = Header::decode(bytes).map_err(QueryError::Malformed)?;
    match header.response_code {
        ResponseCode::NXDOMAIN => return Err(QueryError::Lookup(Failure::HostNotFound)),
        ResponseCode::SERVFAIL => return Err(QueryError::Lookup(Failure::TryAgain)),
        ResponseCode::NOERROR if header.answer_count == 0 => {
            return Err(QueryError::Lookup(Failure::NoData));
        }
        ResponseCode::NOERROR => {}
        _ => return Err(QueryError::Lookup(Failure::NoRecovery)),
    }
    let message = Message::decode(bytes).map_err(QueryError::Malformed)?;
    Ok(Answer {
        message,
        length: bytes.len(),
        transport,
        server,
    })
}

fn exchange_udp(
    server: SocketAddr,
    query: &[u8],
    expected: &Expected<'_>,
    per_try: Duration,
) -> io::Result<Vec<u8>> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(server)?;
    socket.send(query)?;
    let deadline = Instant::now() + per_try;
    let mut buffer = vec![0u8; 65_535];
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        socket.set_read_timeout(Some(remaining))?;
        let length = socket.recv(&mut buffer)?;
        let reply = buffer.get(..length).unwrap_or_default();
        if expected.matches(reply) {
            return Ok(reply.to_vec());
        }
    }
}

fn exchange_tcp(
    server: SocketAddr,
    query: &[u8],
    expected: &Expected<'_>,
    per_try: Duration,
) -> io::Result<Vec<u8>> {
    let deadline = Instant::now() + per_try;
    let mut stream = TcpStream::connect_timeout(&server, per_try)?;
    let remaining = |deadline: Instant| {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::Error::from(io::ErrorKind::TimedOut))
        } else {
            Ok(left)
        }
    };
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    let framed = tcp_frame(query).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
    stream.write_all(&framed)?;
    let mut received = Vec::new();
    loop {
        match tcp_step(&received, expected) {
            TcpStep::Reply(reply) => return Ok(reply.to_vec()),
            TcpStep::Skip(length) => {
                received.drain(..length);
            }
            TcpStep::Need(more) => {
                let filled = received.len();
                received.resize(filled + more, 0);
                let rest = received.get_mut(filled..).unwrap_or_default();
                read_exact_until(&mut stream, rest, deadline)?;
            }
        }
    }
}

fn read_exact_until(stream: &mut TcpStream, buffer: &mut [u8], deadline: Instant) -> io::Result<()> {
    let mut filled = 0;
    while filled < buffer.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        let Some(rest) = buffer.get_mut(filled..) else {
            break;
        };
        match stream.read(rest)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            count => filled += count,
        }
    }
    Ok(())
}

/// A query id from the OS-seeded hasher keys (no extra dependency, not predictable).
fn random_id() -> u16 {
    let value = RandomState::new().hash_one(Instant::now());
    u16::try_from(value & 0xffff).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;
    use std::sync::mpsc;
    use std::thread;

    use super::*;
    use crate::message::{Record, RecordData, encode_record};

    fn reply_for(query: &[u8], rcode: ResponseCode, records: &[Record], truncated: bool) -> Vec<u8> {
        let question_end = Name::skip(query, HEADER_LENGTH).unwrap() + 4;
        let mut header = Header::decode(query).unwrap();
        header.response = true;
        header.response_code = rcode;
        header.truncated = truncated;
        header.answer_count = u16::try_from(records.len()).unwrap();
        let mut out = Vec::new();
        header.encode(&mut out);
        out.extend_from_slice(&query[HEADER_LENGTH..question_end]);
        for record in records {
            encode_record(record, &mut out);
        }
        out
    }

    fn a_records(count: usize) -> Vec<Record> {
        (0..count)
            .map(|index| Record {
                name: Name::from_text(b"host.test").unwrap(),
                record_type: RecordType::A,
                class: CLASS_IN,
                ttl: 300,
                data: RecordData::A(Ipv4Addr::new(192, 0, 2, u8::try_from(index % 250).unwrap())),
            })
            .collect()
    }

    fn config_for(server: SocketAddr) -> ResolvConf {
        ResolvConf {
            nameservers: vec![server],
            timeout: Duration::from_secs(1),
            attempts: 1,
            rotate: false,
            use_tcp: false,
        }
    }

    /// A one-shot UDP server answering with `respond(query)`; also serves TCP on the same port
    /// when `tcp_records` is set.
    fn serve(
        respond: impl Fn(&[u8]) -> Vec<Vec<u8>> + Send + 'static,
        tcp_records: Option<usize>,
    ) -> SocketAddr {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let address = udp.local_addr().unwrap();
        let (ready, wait) = mpsc::channel();
        if let Some(count) = tcp_records {
            let listener = std::net::TcpListener::bind(address).unwrap();
            thread::spawn(move || {
                let (mut stream, _) = listener.accept().unwrap();
                let mut prefix = [0u8; 2];
                stream.read_exact(&mut prefix).unwrap();
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
                stream.read_exact(&mut query).unwrap();
                let reply = reply_for(&query, ResponseCode::NOERROR, &a_records(count), false);
                let mut framed = u16::try_from(reply.len()).unwrap().to_be_bytes().to_vec();
                framed.extend_from_slice(&reply);
                stream.write_all(&framed).unwrap();
            });
        }
        thread::spawn(move || {
            ready.send(()).unwrap();
            let mut buffer = [0u8; 512];
            let (length, peer) = udp.recv_from(&mut buffer).unwrap();
            for datagram in respond(&buffer[..length]) {
                udp.send_to(&datagram, peer).unwrap();
            }
        });
        wait.recv().unwrap();
        address
    }

    fn question(id: u16) -> (Name, Vec<u8>) {
        let name = Name::from_text(b"host.test").unwrap();
        let query = build_query(id, &name, RecordType::A);
        (name, query)
    }

    #[test]
    fn matching_wants_the_id_the_response_bit_and_the_question_in_any_case() {
        let (name, query) = question(0x1234);
        let expected = Expected {
            id: 0x1234,
            name: &name,
            record_type: RecordType::A,
        };
        let reply = reply_for(&query, ResponseCode::NOERROR, &a_records(1), false);
        assert!(expected.matches(&reply));
        assert!(!expected.matches(&query), "a query is not a response");
        let mut upper = reply.clone();
        upper[HEADER_LENGTH + 1] = b'H';
        assert!(expected.matches(&upper));
        let mut other_id = reply.clone();
        other_id[1] ^= 1;
        assert!(!expected.matches(&other_id));
        let mut other_type = reply.clone();
        let type_at = Name::skip(&reply, HEADER_LENGTH).unwrap();
        other_type[type_at + 1] = 28;
        assert!(!expected.matches(&other_type));
        let mut other_class = reply.clone();
        other_class[type_at + 3] = 3;
        assert!(!expected.matches(&other_class));
        assert!(!expected.matches(&reply[..type_at + 3]), "cut in the question");
        let mut formerr = Vec::new();
        Header {
            response: true,
            response_code: ResponseCode::FORMERR,
            question_count: 0,
            ..Header::decode(&query).unwrap()
        }
        .encode(&mut formerr);
        assert!(expected.matches(&formerr), "a FORMERR without a question");
    }

    #[test]
    fn tcp_frames_carry_a_big_endian_length() {
        assert_eq!(tcp_frame(b"abc"), Some(vec![0, 3, b'a', b'b', b'c']));
        assert_eq!(tcp_frame(&[]), Some(vec![0, 0]));
        assert_eq!(tcp_frame(&vec![7; 65_535]).unwrap().len(), 65_537);
        assert_eq!(tcp_frame(&vec![7; 65_536]), None);
    }

    #[test]
    fn tcp_steps_read_the_prefix_then_the_message_and_skip_other_replies() {
        let (name, query) = question(7);
        let expected = Expected {
            id: 7,
            name: &name,
            record_type: RecordType::A,
        };
        let reply = reply_for(&query, ResponseCode::NOERROR, &a_records(1), false);
        let mut stranger = reply.clone();
        stranger[0] = 8;
        let stream = [tcp_frame(&stranger).unwrap(), tcp_frame(&reply).unwrap()].concat();
        assert_eq!(tcp_step(&[], &expected), TcpStep::Need(2));
        assert_eq!(tcp_step(&stream[..1], &expected), TcpStep::Need(1));
        assert_eq!(tcp_step(&stream[..2], &expected), TcpStep::Need(stranger.len()));
        assert_eq!(
            tcp_step(&stream[..5], &expected),
            TcpStep::Need(stranger.len() - 3)
        );
        assert_eq!(tcp_step(&stream, &expected), TcpStep::Skip(stranger.len() + 2));
        assert_eq!(
            tcp_step(&stream[stranger.len() + 2..], &expected),
            TcpStep::Reply(&reply[..])
        );
        assert_eq!(
            tcp_step(&[0, 0, 1], &expected),
            TcpStep::Skip(2),
            "an empty frame"
        );
    }

    #[test]
    fn positive_answer_over_udp_is_decoded() {
        let server = serve(
            |query| vec![reply_for(query, ResponseCode::NOERROR, &a_records(2), false)],
            None,
        );
        let answer = Resolver::new(config_for(server))
            .query(b"host.test", RecordType::A)
            .unwrap();
        assert_eq!(answer.transport, Transport::Udp);
        assert_eq!(answer.message.answer_records().count(), 2);
    }

    #[test]
    fn replies_with_a_wrong_id_or_question_are_ignored() {
        let server = serve(
            |query| {
                let mut wrong_id = reply_for(query, ResponseCode::NXDOMAIN, &[], false);
                wrong_id[0] ^= 0xff;
                let mut other_question = reply_for(query, ResponseCode::NXDOMAIN, &[], false);
                other_question[13] ^= 0x20 ^ 0x01; // change a letter beyond case
                vec![
                    wrong_id,
                    other_question,
                    reply_for(query, ResponseCode::NOERROR, &a_records(1), false),
                ]
            },
            None,
        );
        let answer = Resolver::new(config_for(server))
            .query(b"host.test", RecordType::A)
            .unwrap();
        assert_eq!(answer.message.answer_records().count(), 1);
    }

    #[test]
    fn truncated_udp_answer_is_fetched_over_tcp_whatever_its_size() {
        let server = serve(
            |query| vec![reply_for(query, ResponseCode::NOERROR, &[], true)],
            Some(200),
        );
        let answer = Resolver::new(config_for(server))
            .query(b"host.test", RecordType::A)
            .unwrap();
        assert_eq!(answer.transport, Transport::Tcp);
        assert!(answer.length > 512);
        assert_eq!(answer.message.answer_records().count(), 200);
    }

    #[test]
    fn use_vc_asks_over_tcp_only() {
        let server = serve(|_| Vec::new(), Some(3));
        let mut config = config_for(server);
        config.use_tcp = true;
        let answer = Resolver::new(config).query(b"host.test", RecordType::A).unwrap();
        assert_eq!(answer.transport, Transport::Tcp);
        assert_eq!(answer.message.answer_records().count(), 3);
    }

    #[test]
    fn a_server_failure_moves_on_to_the_next_server() {
        let failing = serve(
            |query| vec![reply_for(query, ResponseCode::SERVFAIL, &[], false)],
            None,
        );
        let working = serve(
            |query| vec![reply_for(query, ResponseCode::NOERROR, &a_records(1), false)],
            None,
        );
        let mut config = config_for(failing);
        config.nameservers.push(working);
        let answer = Resolver::new(config).query(b"host.test", RecordType::A).unwrap();
        assert_eq!(answer.server, working);
    }

    #[test]
    fn a_refused_port_moves_on_without_waiting_for_the_timeout() {
        // Nothing listens there: the connected UDP socket gets ECONNREFUSED from ICMP.
        let closed = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let working = serve(
            |query| vec![reply_for(query, ResponseCode::NOERROR, &a_records(1), false)],
            None,
        );
        let mut config = config_for(closed);
        config.nameservers.push(working);
        let started = Instant::now();
        let answer = Resolver::new(config).query(b"host.test", RecordType::A).unwrap();
        assert_eq!(answer.server, working);
        assert!(started.elapsed() < Duration::from_millis(900));
    }

    #[test]
    fn response_codes_map_to_h_errno_classes() {
        for (rcode, expected) in [
            (ResponseCode::NXDOMAIN, Failure::HostNotFound),
            (ResponseCode::NOERROR, Failure::NoData),
            (ResponseCode::FORMERR, Failure::NoRecovery),
            (ResponseCode::SERVFAIL, Failure::TryAgain),
            (ResponseCode::REFUSED, Failure::TryAgain),
        ] {
            let server = serve(move |query| vec![reply_for(query, rcode, &[], false)], None);
            let error = Resolver::new(config_for(server))
                .query(b"host.test", RecordType::A)
                .unwrap_err();
            assert_eq!(error, QueryError::Lookup(expected), "{rcode:?}");
        }
    }

    #[test]
    fn silent_server_times_out_as_try_again_within_the_bound() {
        let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
        let server = silent.local_addr().unwrap();
        let started = Instant::now();
        let error = Resolver::new(config_for(server))
            .query(b"host.test", RecordType::A)
            .unwrap_err();
        assert_eq!(error, QueryError::Lookup(Failure::TryAgain));
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(silent);
    }

    #[test]
    fn garbage_positive_answer_is_malformed() {
        let server = serve(
            |query| {
                let mut reply = reply_for(query, ResponseCode::NOERROR, &a_records(1), false);
                reply[7] = 5; // ANCOUNT lies
                vec![reply]
            },
            None,
        );
        let error = Resolver::new(config_for(server))
            .query(b"host.test", RecordType::A)
            .unwrap_err();
        assert!(matches!(error, QueryError::Malformed(_)));
    }

    #[test]
    fn unencodable_name_is_no_recovery_without_traffic() {
        let resolver = Resolver::new(config_for("127.0.0.1:9".parse().unwrap()));
        assert_eq!(
            resolver.query(b"a..b", RecordType::A).unwrap_err(),
            QueryError::Lookup(Failure::NoRecovery)
        );
        let _ = IpAddr::V4(Ipv4Addr::LOCALHOST);
    }
}
