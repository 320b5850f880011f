//! The binary "server list" payload, version 1 (`include/uapi/linux/dns_resolver.h`), that kafs
//! prefers for `afsdb:` keys with callout `srv=1`. keyutils never produces it; kafs-client's
//! `kafs-dns` does. Ours produces it only when `afs_server_list_v1 = 1` is configured.
//!
//! Layout (little-endian, packed): header `0, 0 (server list), 1 (version), source, status,
//! nr_servers`; per server `name_len u16, priority u16, weight u16, port u16, source u8,
//! status u8, protocol u8, nr_addrs u8, name, addresses`; an address is `0` + 4 bytes (IPv4) or
//! `1` + 16 bytes (IPv6), network order. Pure.

use std::net::IpAddr;

/// `DNS_RECORD_FROM_DNS_AFSDB`.
pub const SOURCE_AFSDB: u8 = 3;
/// `DNS_RECORD_FROM_DNS_SRV`.
pub const SOURCE_SRV: u8 = 4;
/// `DNS_LOOKUP_GOOD`.
pub const STATUS_GOOD: u8 = 1;
/// `DNS_SERVER_PROTOCOL_UDP`.
pub const PROTOCOL_UDP: u8 = 1;

/// One server of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    /// Host name (presentation form, no trailing dot).
    pub name: Vec<u8>,
    /// SRV priority (0 for AFSDB).
    pub priority: u16,
    /// SRV weight (0 for AFSDB).
    pub weight: u16,
    /// SRV port (0 = the service default, for AFSDB).
    pub port: u16,
    /// Where the record came from ([`SOURCE_SRV`] or [`SOURCE_AFSDB`]).
    pub source: u8,
    /// Its addresses (at most 255 are encoded).
    pub addresses: Vec<IpAddr>,
}

/// Encodes a list of servers (at most 255; names cut to 65535 bytes cannot happen: DNS names are
/// at most 253 bytes). The list's source is that of its first server.
#[must_use]
pub fn encode(servers: &[Server]) -> Vec<u8> {
    let servers = servers.get(..servers.len().min(255)).unwrap_or_default();
    let source = servers.first().map_or(SOURCE_SRV, |server| server.source);
    let mut out = vec![
        0,
        0,
        1,
        source,
        STATUS_GOOD,
        u8::try_from(servers.len()).unwrap_or(u8::MAX),
    ];
    for server in servers {
        let addresses = server
            .addresses
            .get(..server.addresses.len().min(255))
            .unwrap_or_default();
        let name = server
            .name
            .get(..server.name.len().min(usize::from(u16::MAX)))
            .unwrap_or_default();
        out.extend_from_slice(&u16::try_from(name.len()).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&server.priority.to_le_bytes());
        out.extend_from_slice(&server.weight.to_le_bytes());
        out.extend_from_slice(&server.port.to_le_bytes());
        out.push(server.source);
        out.push(STATUS_GOOD);
        out.push(PROTOCOL_UDP);
        out.push(u8::try_from(addresses.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(name);
        for address in addresses {
            match address {
                IpAddr::V4(v4) => {
                    out.push(0);
                    out.extend_from_slice(&v4.octets());
                }
                IpAddr::V6(v6) => {
                    out.push(1);
                    out.extend_from_slice(&v6.octets());
                }
            }
        }
    }
    out
}

/// Decodes a v1 list (tests and fuzzing); `None` for anything that is not exactly one.
#[must_use]
pub fn decode(bytes: &[u8]) -> Option<Vec<Server>> {
    let (header, mut rest) = bytes.split_at_checked(6)?;
    if header.get(..3)? != [0, 0, 1] {
        return None;
    }
    let count = *header.get(5)?;
    let mut servers = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let (fixed, tail) = rest.split_at_checked(12)?;
        let field = |at: usize| Some(u16::from_le_bytes([*fixed.get(at)?, *fixed.get(at + 1)?]));
        let (name, mut tail) = tail.split_at_checked(usize::from(field(0)?))?;
        let mut addresses = Vec::new();
        for _ in 0..*fixed.get(11)? {
            let (&kind, after) = tail.split_first()?;
            let (address, after) = match kind {
                0 => {
                    let (octets, after) = after.split_at_checked(4)?;
                    (IpAddr::from(<[u8; 4]>::try_from(octets).ok()?), after)
                }
                1 => {
                    let (octets, after) = after.split_at_checked(16)?;
                    (IpAddr::from(<[u8; 16]>::try_from(octets).ok()?), after)
                }
                _ => return None,
            };
            addresses.push(address);
            tail = after;
        }
        servers.push(Server {
            name: name.to_vec(),
            priority: field(2)?,
            weight: field(4)?,
            port: field(6)?,
            source: *fixed.get(8)?,
            addresses,
        });
        rest = tail;
    }
    rest.is_empty().then_some(servers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_encodes_byte_for_byte() {
        let servers = [Server {
            name: b"vl01".to_vec(),
            priority: 0,
            weight: 0,
            port: 7003,
            source: SOURCE_SRV,
            addresses: vec!["127.0.0.1".parse().unwrap()],
        }];
        let bytes = encode(&servers);
        assert_eq!(
            bytes,
            [
                0x00, 0x00, 0x01, 0x04, 0x01, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5b, 0x1b, 0x04,
                0x01, 0x01, 0x01, b'v', b'l', b'0', b'1', 0x00, 0x7f, 0x00, 0x00, 0x01
            ]
        );
        assert_eq!(decode(&bytes).unwrap(), servers);
    }

    #[test]
    fn ipv6_addresses_and_several_servers_round_trip() {
        let servers = vec![
            Server {
                name: b"a.example".to_vec(),
                priority: 1,
                weight: 5,
                port: 7004,
                source: SOURCE_SRV,
                addresses: vec!["2001:db8::1".parse().unwrap(), "192.0.2.1".parse().unwrap()],
            },
            Server {
                name: b"b.example".to_vec(),
                priority: 0,
                weight: 0,
                port: 0,
                source: SOURCE_AFSDB,
                addresses: Vec::new(),
            },
        ];
        assert_eq!(decode(&encode(&servers)).unwrap(), servers);
    }

    #[test]
    fn decode_refuses_other_shapes() {
        assert_eq!(decode(b""), None);
        assert_eq!(decode(&[0, 0, 2, 4, 1, 0]), None);
        assert_eq!(decode(&[0, 0, 1, 4, 1, 1]), None);
        assert_eq!(decode(&[0, 0, 1, 4, 1, 0, 9]), None);
        assert_eq!(decode(&[0, 0, 1, 4, 1, 0]), Some(Vec::new()));
    }
}
