//! The lookups behind a request, as keyutils 1.6.3 does them, decided against a [`Resolve`]
//! implementation (the system's in production, a table in unit tests).
//!
//! Address requests: one `getaddrinfo`, addresses in its order, first one only unless `list`.
//! AFS requests: `_afs3-vlserver._udp.<cell>` SRV first, AFSDB on `<cell>` only if the SRV query
//! failed; each distinct target (case-insensitive) resolved like `list`, `+port` appended for SRV;
//! expiry = the smallest TTL of all SRV/AFSDB records in the answer.
//!
//! Divergences (decisions.md 5, 7, 8): the errno of a rejection follows the failure; answers
//! larger than 512 bytes are read; more than 15 targets are bounded and logged instead of
//! overflowing a table.

use std::net::IpAddr;

use kup_dns::DecodeError;
use kup_dns::address::{self, Family, LookupError};
use kup_dns::client::{Failure, QueryError, Resolver};
use kup_dns::message::{Message, RecordData, RecordType};
use kup_runtime::helper::Printable;

use crate::log;
use crate::payload::{Payload, Pushed};
use crate::request::AddressOptions;
use crate::server_list::{SOURCE_AFSDB, SOURCE_SRV, Server};

/// Distinct resolvable targets kept per answer (the reference's `MAX_VLS`).
pub const MAX_TARGETS: usize = 15;
/// Target lookups attempted per answer at most (bounds the time spent on a hostile answer).
pub const MAX_TARGET_LOOKUPS: usize = 64;

/// The two kinds of lookup a request needs.
pub trait Resolve {
    /// `getaddrinfo(host, NULL, {family})`.
    fn addresses(&mut self, host: &[u8], family: Family) -> Result<Vec<IpAddr>, LookupError>;
    /// `res_query(name, IN, record_type)`; a positive answer only.
    fn query(&mut self, name: &[u8], record_type: RecordType) -> Result<Message, QueryError>;
}

/// The system's resolver: libc `getaddrinfo` and a stub resolver over `/etc/resolv.conf`.
#[derive(Debug, Default)]
pub struct System {
    resolver: Option<Resolver>,
}

impl Resolve for System {
    fn addresses(&mut self, host: &[u8], family: Family) -> Result<Vec<IpAddr>, LookupError> {
        address::lookup(host, family)
    }

    fn query(&mut self, name: &[u8], record_type: RecordType) -> Result<Message, QueryError> {
        self.resolver
            .get_or_insert_with(Resolver::from_system)
            .query(name, record_type)
            .map(|answer| answer.message)
    }
}

/// What to do with the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Set the timeout, then instantiate the payload.
    Instantiate {
        /// The addresses.
        payload: Payload,
        /// `KEYCTL_SET_TIMEOUT` value (0 = never expires).
        expiry: u32,
        /// AFS requests: the resolved servers, for the optional binary v1 answer.
        servers: Vec<Server>,
    },
    /// The lookup produced nothing: reject the key.
    Reject {
        /// Why.
        status: Failure,
        /// The name the failure is about (for the log line).
        domain: Vec<u8>,
        /// A timeout the reference sets before rejecting (AFS path).
        timeout_before: Option<u32>,
    },
    /// A positive answer that does not decode: the reference's error path (negate for 1 s,
    /// exit 1).
    Error(DecodeError),
}

/// An address request.
pub fn address_request(
    resolver: &mut dyn Resolve,
    name: &[u8],
    options: AddressOptions,
    default_ttl: u32,
) -> Outcome {
    log::debug(&format!("Get A/AAAA RR for hostname:'{}'", Printable(name)));
    let mut payload = Payload::new();
    if let Err(error) = append_host(
        resolver,
        name,
        options.family,
        options.first_only,
        None,
        &mut payload,
    ) {
        return Outcome::Reject {
            status: error.status(),
            domain: name.to_vec(),
            timeout_before: None,
        };
    }
    if payload.is_empty() {
        return Outcome::Reject {
            status: Failure::NoData,
            domain: name.to_vec(),
            timeout_before: None,
        };
    }
    Outcome::Instantiate {
        payload,
        expiry: default_ttl,
        servers: Vec::new(),
    }
}

/// An `afsdb:` request.
pub fn afs_request(resolver: &mut dyn Resolve, cell: &[u8], family: Family, default_ttl: u32) -> Outcome {
    let mut payload = Payload::new();
    let mut servers = Vec::new();
    let mut expiry = default_ttl;
    let srv_name = [b"_afs3-vlserver._udp.".as_slice(), cell].concat();
    log::debug(&format!("Get VL SRV RR for name:'{}'", Printable(&srv_name)));
    let mut status = Failure::NoData;
    match resolver.query(&srv_name, RecordType::SRV) {
        Ok(message) => {
            expiry = servers_from_answer(
                resolver,
                &message,
                RecordType::SRV,
                family,
                &mut payload,
                &mut servers,
            );
        }
        Err(QueryError::Malformed(error)) => return Outcome::Error(error),
        Err(QueryError::Lookup(failure)) => {
            log::name_service_error(&Printable(cell).to_string(), failure.message());
            log::debug(&format!("Get AFSDB RR for cell name:'{}'", Printable(cell)));
            match resolver.query(cell, RecordType::AFSDB) {
                Ok(message) => {
                    expiry = servers_from_answer(
                        resolver,
                        &message,
                        RecordType::AFSDB,
                        family,
                        &mut payload,
                        &mut servers,
                    );
                }
                Err(QueryError::Malformed(error)) => {
                    return Outcome::Error(error);
                }
                Err(QueryError::Lookup(failure)) => {
                    log::name_service_error(&Printable(cell).to_string(), failure.message());
                    status = failure;
                }
            }
        }
    }
    if payload.is_empty() {
        return Outcome::Reject {
            status,
            domain: cell.to_vec(),
            timeout_before: Some(expiry),
        };
    }
    Outcome::Instantiate {
        payload,
        expiry,
        servers,
    }
}

/// Resolves the targets of the SRV or AFSDB records of an answer into `payload`; returns the
/// smallest TTL of those records (`u32::MAX` when there are none).
fn servers_from_answer(
    resolver: &mut dyn Resolve,
    message: &Message,
    wanted: RecordType,
    family: Family,
    payload: &mut Payload,
    servers: &mut Vec<Server>,
) -> u32 {
    let mut ttl = u32::MAX;
    let mut seen_targets: Vec<Vec<u8>> = Vec::new();
    let mut lookups = 0usize;
    let mut bounded = false;
    for slot in &message.answers {
        let record = match slot {
            Ok(record) => record,
            Err(error) => {
                log::error(&format!("ns_parserr failed : {error}"));
                continue;
            }
        };
        if record.record_type != wanted {
            continue;
        }
        let (target, port, priority, weight, source) = match &record.data {
            RecordData::Srv {
                priority,
                weight,
                port,
                target,
            } => {
                log::info(&format!("rdata {priority} {weight} {port}"));
                (target, Some(*port), *priority, *weight, SOURCE_SRV)
            }
            RecordData::Afsdb { hostname, .. } => (hostname, None, 0, 0, SOURCE_AFSDB),
            _ => continue,
        };
        ttl = ttl.min(record.ttl);
        let text = target.to_text();
        if seen_targets.iter().any(|seen| seen.eq_ignore_ascii_case(&text)) {
            continue;
        }
        if seen_targets.len() >= MAX_TARGETS || lookups >= MAX_TARGET_LOOKUPS {
            if !bounded {
                log::warning(&format!(
                    "more than {MAX_TARGETS} servers or {MAX_TARGET_LOOKUPS} lookups in the answer; ignoring '{}' and later ones",
                    Printable(&text)
                ));
                bounded = true;
            }
            continue;
        }
        lookups += 1;
        match append_host(resolver, &text, family, false, port, payload) {
            Ok(addresses) => {
                servers.push(Server {
                    name: text.clone(),
                    priority,
                    weight,
                    port: port.unwrap_or(0),
                    source,
                    addresses,
                });
                seen_targets.push(text);
            }
            Err(_) => log::debug(&format!("server name '{}' can't be resolved", Printable(&text))),
        }
    }
    log::info(&format!("ttl: {ttl}"));
    ttl
}

/// Looks `host` up and appends its addresses (with `+port` when given).
fn append_host(
    resolver: &mut dyn Resolve,
    host: &[u8],
    family: Family,
    first_only: bool,
    port: Option<u16>,
    payload: &mut Payload,
) -> Result<Vec<IpAddr>, LookupError> {
    log::debug(&format!("Resolve '{}'", Printable(host)));
    let addresses = resolver.addresses(host, family).inspect_err(|error| {
        log::info(&format!(
            "unable to resolve hostname: {} [{}]",
            Printable(host),
            error.message
        ));
    })?;
    let mut taken: Vec<IpAddr> = Vec::new();
    for address in addresses {
        let wanted = match family {
            Family::Any => true,
            Family::Ipv4 => address.is_ipv4(),
            Family::Ipv6 => address.is_ipv6(),
        };
        if !wanted {
            continue;
        }
        if !taken.contains(&address) {
            taken.push(address);
        }
        let mut text = address::to_text(&address);
        if let Some(port) = port {
            text.push('+');
            text.push_str(&port.to_string());
        }
        log::debug(&format!("append '{text}'"));
        if payload.push(text) == Pushed::Full {
            log::debug("payload full (128 addresses): address dropped");
        }
        if first_only {
            break;
        }
    }
    Ok(taken)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use kup_dns::message::{Header, Record, ResponseCode};
    use kup_dns::name::Name;

    use super::*;

    /// A table-driven resolver: host → addresses (or EAI code), (name, type) → answer.
    #[derive(Default)]
    struct Table {
        hosts: HashMap<Vec<u8>, Result<Vec<IpAddr>, i32>>,
        answers: HashMap<(Vec<u8>, u16), Result<Vec<Record>, Failure>>,
        address_calls: Vec<Vec<u8>>,
    }

    impl Table {
        fn host(mut self, name: &str, addresses: &[&str]) -> Self {
            self.hosts.insert(
                name.as_bytes().to_vec(),
                Ok(addresses.iter().map(|text| text.parse().unwrap()).collect()),
            );
            self
        }

        fn answer(
            mut self,
            name: &str,
            record_type: RecordType,
            records: Result<Vec<Record>, Failure>,
        ) -> Self {
            self.answers
                .insert((name.as_bytes().to_vec(), record_type.0), records);
            self
        }
    }

    impl Resolve for Table {
        fn addresses(&mut self, host: &[u8], family: Family) -> Result<Vec<IpAddr>, LookupError> {
            self.address_calls.push(host.to_vec());
            match self.hosts.get(host) {
                Some(Ok(addresses)) => {
                    let filtered: Vec<IpAddr> = addresses
                        .iter()
                        .copied()
                        .filter(|address| match family {
                            Family::Any => true,
                            Family::Ipv4 => address.is_ipv4(),
                            Family::Ipv6 => address.is_ipv6(),
                        })
                        .collect();
                    if filtered.is_empty() {
                        Err(LookupError {
                            code: -9,
                            message: "Address family for hostname not supported".into(),
                        })
                    } else {
                        Ok(filtered)
                    }
                }
                Some(Err(code)) => Err(LookupError {
                    code: *code,
                    message: "failure".into(),
                }),
                None => Err(LookupError {
                    code: -2,
                    message: "Name or service not known".into(),
                }),
            }
        }

        fn query(&mut self, name: &[u8], record_type: RecordType) -> Result<Message, QueryError> {
            match self.answers.get(&(name.to_vec(), record_type.0)) {
                Some(Ok(records)) => Ok(Message {
                    header: Header {
                        id: 0,
                        response: true,
                        opcode: 0,
                        authoritative: false,
                        truncated: false,
                        recursion_desired: true,
                        recursion_available: true,
                        response_code: ResponseCode::NOERROR,
                        question_count: 0,
                        answer_count: u16::try_from(records.len()).unwrap(),
                        authority_count: 0,
                        additional_count: 0,
                    },
                    questions: Vec::new(),
                    answers: records.iter().cloned().map(Ok).collect(),
                    authorities: Vec::new(),
                    additionals: Vec::new(),
                }),
                Some(Err(failure)) => Err(QueryError::Lookup(*failure)),
                None => Err(QueryError::Lookup(Failure::HostNotFound)),
            }
        }
    }

    fn srv(ttl: u32, port: u16, target: &str) -> Record {
        Record {
            name: Name::from_text(b"_afs3-vlserver._udp.example.org").unwrap(),
            record_type: RecordType::SRV,
            class: 1,
            ttl,
            data: RecordData::Srv {
                priority: 0,
                weight: 0,
                port,
                target: Name::from_text(target.as_bytes()).unwrap(),
            },
        }
    }

    fn afsdb(ttl: u32, host: &str) -> Record {
        Record {
            name: Name::from_text(b"example.org").unwrap(),
            record_type: RecordType::AFSDB,
            class: 1,
            ttl,
            data: RecordData::Afsdb {
                subtype: 1,
                hostname: Name::from_text(host.as_bytes()).unwrap(),
            },
        }
    }

    fn instantiated(outcome: Outcome) -> (String, u32) {
        match outcome {
            Outcome::Instantiate { payload, expiry, .. } => {
                (String::from_utf8(payload.text()).unwrap(), expiry)
            }
            other => panic!("not instantiated: {other:?}"),
        }
    }

    const LEGACY: AddressOptions = AddressOptions {
        family: Family::Ipv4,
        first_only: true,
    };
    const LIST: AddressOptions = AddressOptions {
        family: Family::Any,
        first_only: false,
    };

    #[test]
    fn legacy_mode_gives_the_first_ipv4_address_and_the_default_ttl() {
        let mut table = Table::default().host("h", &["2001:db8::1", "192.0.2.1", "192.0.2.2"]);
        let outcome = address_request(&mut table, b"h", LEGACY, 5);
        assert_eq!(instantiated(outcome), ("192.0.2.1".into(), 5));
    }

    #[test]
    fn list_mode_gives_every_address_once_in_order() {
        let mut table = Table::default().host(
            "h",
            &["192.0.2.1", "192.0.2.1", "2001:db8::1", "192.0.2.1", "192.0.2.2"],
        );
        let outcome = address_request(&mut table, b"h", LIST, 60);
        assert_eq!(
            instantiated(outcome),
            ("192.0.2.1,2001:db8::1,192.0.2.2".into(), 60)
        );
    }

    #[test]
    fn unknown_host_is_rejected_as_not_found() {
        let outcome = address_request(&mut Table::default(), b"nosuch", LEGACY, 5);
        assert_eq!(
            outcome,
            Outcome::Reject {
                status: Failure::HostNotFound,
                domain: b"nosuch".to_vec(),
                timeout_before: None
            }
        );
    }

    #[test]
    fn family_without_addresses_is_rejected_as_no_data() {
        let mut table = Table::default().host("localhost", &["127.0.0.1"]);
        let options = AddressOptions {
            family: Family::Ipv6,
            first_only: true,
        };
        let Outcome::Reject { status, .. } = address_request(&mut table, b"localhost", options, 5) else {
            panic!("not rejected");
        };
        assert_eq!(status, Failure::NoData);
    }

    #[test]
    fn temporary_failure_is_rejected_as_try_again() {
        let mut table = Table::default();
        table.hosts.insert(b"h".to_vec(), Err(-3));
        let Outcome::Reject { status, .. } = address_request(&mut table, b"h", LEGACY, 5) else {
            panic!("not rejected");
        };
        assert_eq!(status, Failure::TryAgain);
    }

    #[test]
    fn afs_srv_answer_gives_addresses_with_ports_and_the_smallest_ttl() {
        let mut table = Table::default()
            .answer(
                "_afs3-vlserver._udp.example.org",
                RecordType::SRV,
                Ok(vec![
                    srv(300, 7003, "vl1.example.org"),
                    srv(100, 7004, "vl2.example.org"),
                ]),
            )
            .host("vl1.example.org", &["192.0.2.1", "2001:db8::1"])
            .host("vl2.example.org", &["192.0.2.2"]);
        let outcome = afs_request(&mut table, b"example.org", Family::Any, 5);
        assert_eq!(
            instantiated(outcome),
            ("192.0.2.1+7003,2001:db8::1+7003,192.0.2.2+7004".into(), 100)
        );
    }

    #[test]
    fn afs_answer_records_each_resolved_server_for_the_binary_list() {
        let mut table = Table::default()
            .answer(
                "_afs3-vlserver._udp.c",
                RecordType::SRV,
                Ok(vec![
                    srv(300, 7003, "vl1.c"),
                    srv(100, 7004, "gone.c"),
                    srv(100, 7005, "vl2.c"),
                ]),
            )
            .host("vl1.c", &["192.0.2.1", "192.0.2.1", "2001:db8::1"])
            .host("vl2.c", &["192.0.2.2"]);
        let Outcome::Instantiate { servers, .. } = afs_request(&mut table, b"c", Family::Any, 5) else {
            panic!("not instantiated");
        };
        let summary: Vec<(String, u16, usize)> = servers
            .iter()
            .map(|server| {
                (
                    String::from_utf8(server.name.clone()).unwrap(),
                    server.port,
                    server.addresses.len(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [("vl1.c".to_owned(), 7003, 2), ("vl2.c".to_owned(), 7005, 1)]
        );
        assert!(servers.iter().all(|server| server.source == SOURCE_SRV));
    }

    #[test]
    fn afs_ttl_counts_targets_that_do_not_resolve_and_duplicates() {
        let mut table = Table::default()
            .answer(
                "_afs3-vlserver._udp.example.org",
                RecordType::SRV,
                Ok(vec![
                    srv(3000, 7003, "vl1.example.org"),
                    srv(20, 7003, "gone.example.org"),
                    srv(7, 1, "VL1.example.org"),
                ]),
            )
            .host("vl1.example.org", &["192.0.2.1"]);
        let outcome = afs_request(&mut table, b"example.org", Family::Any, 5);
        assert_eq!(instantiated(outcome), ("192.0.2.1+7003".into(), 7));
        assert_eq!(
            table.address_calls,
            [b"vl1.example.org".to_vec(), b"gone.example.org".to_vec()]
        );
    }

    #[test]
    fn afs_ttl_zero_means_a_key_that_never_expires() {
        let mut table = Table::default()
            .answer(
                "_afs3-vlserver._udp.c",
                RecordType::SRV,
                Ok(vec![srv(0, 7003, "vl")]),
            )
            .host("vl", &["192.0.2.9"]);
        let outcome = afs_request(&mut table, b"c", Family::Any, 5);
        assert_eq!(instantiated(outcome), ("192.0.2.9+7003".into(), 0));
    }

    #[test]
    fn afsdb_is_asked_only_when_the_srv_query_fails() {
        let mut table = Table::default()
            .answer(
                "c",
                RecordType::AFSDB,
                Ok(vec![afsdb(50, "afs1.c"), afsdb(40, "afs2.c")]),
            )
            .host("afs1.c", &["192.0.2.1"])
            .host("afs2.c", &["192.0.2.2", "2001:db8::2"]);
        let outcome = afs_request(&mut table, b"c", Family::Ipv4, 5);
        assert_eq!(instantiated(outcome), ("192.0.2.1,192.0.2.2".into(), 40));
    }

    #[test]
    fn srv_success_without_srv_records_does_not_fall_back() {
        let cname = Record {
            name: Name::from_text(b"_afs3-vlserver._udp.c").unwrap(),
            record_type: RecordType::CNAME,
            class: 1,
            ttl: 5,
            data: RecordData::Cname(Name::from_text(b"elsewhere").unwrap()),
        };
        let mut table = Table::default()
            .answer("_afs3-vlserver._udp.c", RecordType::SRV, Ok(vec![cname]))
            .answer("c", RecordType::AFSDB, Ok(vec![afsdb(50, "afs1.c")]))
            .host("afs1.c", &["192.0.2.1"]);
        let outcome = afs_request(&mut table, b"c", Family::Any, 5);
        assert_eq!(
            outcome,
            Outcome::Reject {
                status: Failure::NoData,
                domain: b"c".to_vec(),
                timeout_before: Some(u32::MAX)
            }
        );
    }

    #[test]
    fn both_queries_failing_rejects_with_the_last_status_after_the_default_timeout() {
        let mut table = Table::default()
            .answer(
                "_afs3-vlserver._udp.c",
                RecordType::SRV,
                Err(Failure::HostNotFound),
            )
            .answer("c", RecordType::AFSDB, Err(Failure::TryAgain));
        let outcome = afs_request(&mut table, b"c", Family::Any, 9);
        assert_eq!(
            outcome,
            Outcome::Reject {
                status: Failure::TryAgain,
                domain: b"c".to_vec(),
                timeout_before: Some(9)
            }
        );
    }

    #[test]
    fn more_than_fifteen_targets_are_bounded_and_logged() {
        let mut records = Vec::new();
        let mut table = Table::default();
        for index in 0..20 {
            let host = format!("vl{index}.c");
            records.push(srv(60, 7003, &host));
            table = table.host(&host, &[&format!("192.0.2.{index}")]);
        }
        table = table.answer("_afs3-vlserver._udp.c", RecordType::SRV, Ok(records));
        let _ = log::captured(0);
        let (payload, ttl) = instantiated(afs_request(&mut table, b"c", Family::Any, 5));
        assert_eq!(payload.split(',').count(), MAX_TARGETS);
        assert_eq!(ttl, 60);
        assert!(
            log::captured(0)
                .iter()
                .any(|(_, line)| line.contains("more than 15 servers"))
        );
    }

    #[test]
    fn target_lookups_are_bounded_even_when_none_resolve() {
        let records: Vec<Record> = (0..200).map(|index| srv(60, 1, &format!("x{index}.c"))).collect();
        let mut table = Table::default().answer("_afs3-vlserver._udp.c", RecordType::SRV, Ok(records));
        let outcome = afs_request(&mut table, b"c", Family::Any, 5);
        assert!(matches!(
            outcome,
            Outcome::Reject {
                status: Failure::NoData,
                ..
            }
        ));
        assert_eq!(table.address_calls.len(), MAX_TARGET_LOOKUPS);
    }

    #[test]
    fn a_malformed_answer_takes_the_error_path() {
        struct Broken;
        impl Resolve for Broken {
            fn addresses(&mut self, _: &[u8], _: Family) -> Result<Vec<IpAddr>, LookupError> {
                unreachable!()
            }
            fn query(&mut self, _: &[u8], _: RecordType) -> Result<Message, QueryError> {
                Err(QueryError::Malformed(Message::decode(b"\0").unwrap_err()))
            }
        }
        assert!(matches!(
            afs_request(&mut Broken, b"c", Family::Any, 5),
            Outcome::Error(_)
        ));
    }
}
