//! Host name → addresses, the way the system does it, and address text as `inet_ntop` writes it.
//!
//! Lookups go through libc `getaddrinfo` (wrapped in `kup_sys::netdb`): `/etc/hosts`,
//! `nsswitch.conf` and `gai.conf` apply exactly as for the C helpers.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv6Addr};

pub use kup_sys::netdb::Family;
use kup_sys::netdb::GaiError;

/// Why a lookup produced nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupError {
    /// The `EAI_*` code.
    pub code: i32,
    /// `gai_strerror` text.
    pub message: String,
}

impl LookupError {
    /// The resolver status (`h_errno` class) this failure corresponds to.
    #[must_use]
    pub fn status(&self) -> crate::client::Failure {
        use crate::client::Failure;
        match self.code {
            GaiError::AGAIN => Failure::TryAgain,
            GaiError::FAIL => Failure::NoRecovery,
            GaiError::NO_DATA | GaiError::ADDRESS_FAMILY => Failure::NoData,
            _ => Failure::HostNotFound,
        }
    }
}

/// Looks `host` up with `getaddrinfo(host, NULL, {family})`. The result keeps glibc's order and
/// its duplicates (one per socket type); callers deduplicate as they need.
pub fn lookup(host: &[u8], family: Family) -> Result<Vec<IpAddr>, LookupError> {
    kup_sys::netdb::getaddrinfo(host, family).map_err(|error| LookupError {
        code: error.code,
        message: error.message(),
    })
}

/// Address text exactly as glibc's `inet_ntop` writes it: dotted quad for IPv4; for IPv6 lower
/// case hex, the longest run (first on ties) of two or more zero groups as `::`, and the last 32
/// bits as a dotted quad for IPv4-compatible (`::a.b.c.d`, first 96 bits zero and not `::`/`::1`
/// — glibc's rule: exactly six leading zero groups) and IPv4-mapped (`::ffff:a.b.c.d`) addresses.
#[must_use]
pub fn to_text(address: &IpAddr) -> String {
    match address {
        IpAddr::V4(address) => address.to_string(),
        IpAddr::V6(address) => ipv6_text(address),
    }
}

fn ipv6_text(address: &Ipv6Addr) -> String {
    let groups = address.segments();
    // Longest run of zero groups, length >= 2; first wins on ties.
    let mut best: Option<(usize, usize)> = None;
    let mut current: Option<(usize, usize)> = None;
    for (index, &group) in groups.iter().enumerate() {
        if group == 0 {
            let run = current.map_or((index, 1), |(start, length)| (start, length + 1));
            current = Some(run);
            if best.is_none_or(|(_, best_length)| run.1 > best_length) {
                best = Some(run);
            }
        } else {
            current = None;
        }
    }
    let best = best.filter(|&(_, length)| length >= 2);

    let mut out = String::with_capacity(45);
    let mut index = 0;
    while index < groups.len() {
        if let Some((start, length)) = best
            && index == start
        {
            out.push(':');
            index += length;
            if index == groups.len() {
                out.push(':');
            }
            continue;
        }
        if index > 0 {
            out.push(':');
        }
        let embedded_ipv4 = index == 6
            && best.is_some_and(|(start, length)| {
                start == 0 && (length == 6 || (length == 5 && groups.get(5) == Some(&0xffff)))
            });
        if embedded_ipv4 {
            let octets = address.octets();
            let [.., a, b, c, d] = octets;
            let _ = write!(out, "{a}.{b}.{c}.{d}");
            break;
        }
        if let Some(group) = groups.get(index) {
            let _ = write!(out, "{group:x}");
        }
        index += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libc's own `inet_ntop` (through Python's socket module, which calls it) for many
    /// addresses at once. Tests only; the product never calls it.
    fn libc_ntop(addresses: &[Ipv6Addr]) -> Vec<String> {
        let hex: Vec<String> = addresses
            .iter()
            .map(|address| {
                address.octets().iter().fold(String::new(), |mut hex, byte| {
                    let _ = write!(hex, "{byte:02x}");
                    hex
                })
            })
            .collect();
        let output = std::process::Command::new("python3")
            .args([
                "-c",
                "import socket,sys\nfor h in sys.argv[1:]: print(socket.inet_ntop(socket.AF_INET6, bytes.fromhex(h)))",
            ])
            .args(&hex)
            .output()
            .expect("python3 is needed to compare with libc inet_ntop");
        assert!(output.status.success());
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn ipv6_text_agrees_with_libc_on_every_zero_pattern() {
        let mut addresses = Vec::new();
        for pattern in 0u16..256 {
            let mut groups = [0u16; 8];
            for (bit, group) in groups.iter_mut().enumerate() {
                if pattern & (1 << bit) != 0 {
                    *group = 0x00a0 + u16::try_from(bit).unwrap();
                }
            }
            addresses.push(Ipv6Addr::from(groups));
        }
        addresses.push("::ffff:0.0.0.1".parse().unwrap());
        addresses.push("::ffff:0:1".parse().unwrap());
        addresses.push("0:0:0:0:0:ffff:0:0".parse().unwrap());
        let theirs = libc_ntop(&addresses);
        for (address, expected) in addresses.iter().zip(&theirs) {
            assert_eq!(&ipv6_text(address), expected, "{:?}", address.segments());
        }
        assert_eq!(theirs.len(), addresses.len());
    }

    #[test]
    fn lookup_of_localhost_gives_loopback() {
        let addresses = lookup(b"localhost", Family::Ipv4).unwrap();
        assert_eq!(to_text(&addresses[0]), "127.0.0.1");
    }

    #[test]
    fn failed_lookup_maps_to_a_status() {
        let error = lookup(b"192.0.2.1", Family::Ipv6).unwrap_err();
        assert!(!error.message.is_empty());
        let _ = error.status();
    }
}
