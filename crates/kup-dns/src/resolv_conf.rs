//! `/etc/resolv.conf`, read the way glibc 2.36's `res_init` reads it (facts in
//! `docs/compat/key.dns_resolver.md`): only the parts a stub resolver doing `res_query` needs.
//!
//! - `nameserver <IPv4 | IPv6[%scope]>`: up to 3 servers, port 53, unparsable ones ignored;
//!   none at all means `127.0.0.1`.
//! - `options timeout:N` (default 5, capped at 30), `attempts:N` (default 2, capped at 5),
//!   `rotate`, `use-vc`; other options ignored.
//! - Keywords must be followed by a blank; lines starting with `#` or `;` are comments.
//!
//! `res_query` does not use `search`/`domain`/`ndots`, so they are not kept. The environment
//! variables `RES_OPTIONS`/`LOCALDOMAIN` are not read: request-key runs helpers with an
//! environment of only `HOME` and `PATH`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::path::Path;
use std::time::Duration;

/// The default path.
pub const PATH: &str = "/etc/resolv.conf";
/// glibc's `MAXNS`.
pub const MAX_NAMESERVERS: usize = 3;
const DEFAULT_TIMEOUT_SECS: u32 = 5;
const MAX_TIMEOUT_SECS: u32 = 30;
const DEFAULT_ATTEMPTS: u32 = 2;
const MAX_ATTEMPTS: u32 = 5;
const DNS_PORT: u16 = 53;

/// What the stub resolver uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvConf {
    /// Servers to ask, in order.
    pub nameservers: Vec<SocketAddr>,
    /// Base per-try timeout (`RES_TIMEOUT`, `options timeout:`).
    pub timeout: Duration,
    /// Rounds over all servers (`options attempts:`).
    pub attempts: u32,
    /// Start each query at the next server (`options rotate`).
    pub rotate: bool,
    /// Always use TCP (`options use-vc`).
    pub use_tcp: bool,
}

impl Default for ResolvConf {
    fn default() -> Self {
        Self {
            nameservers: vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), DNS_PORT)],
            timeout: Duration::from_secs(u64::from(DEFAULT_TIMEOUT_SECS)),
            attempts: DEFAULT_ATTEMPTS,
            rotate: false,
            use_tcp: false,
        }
    }
}

impl ResolvConf {
    /// Reads and parses a file; a missing or unreadable file gives the defaults, as in glibc.
    #[must_use]
    pub fn load(path: &Path) -> Self {
        std::fs::read(path).map_or_else(|_| Self::default(), |text| Self::parse(&text))
    }

    /// Parses the text of a resolv.conf.
    #[must_use]
    pub fn parse(text: &[u8]) -> Self {
        let mut config = Self {
            nameservers: Vec::new(),
            ..Self::default()
        };
        for line in text.split(|&byte| byte == b'\n') {
            if matches!(line.first(), Some(b'#' | b';')) {
                continue;
            }
            if let Some(rest) = keyword(line, b"nameserver") {
                if config.nameservers.len() < MAX_NAMESERVERS
                    && let Some(address) = first_word(rest).and_then(parse_nameserver)
                {
                    config.nameservers.push(address);
                }
            } else if let Some(rest) = keyword(line, b"options") {
                for option in rest
                    .split(u8::is_ascii_whitespace)
                    .filter(|word| !word.is_empty())
                {
                    config.apply_option(option);
                }
            }
        }
        if config.nameservers.is_empty() {
            config.nameservers = Self::default().nameservers;
        }
        config
    }

    fn apply_option(&mut self, option: &[u8]) {
        if let Some(value) = option.strip_prefix(b"timeout:") {
            let seconds = leading_number(value).min(MAX_TIMEOUT_SECS);
            self.timeout = Duration::from_secs(u64::from(seconds));
        } else if let Some(value) = option.strip_prefix(b"attempts:") {
            self.attempts = leading_number(value).min(MAX_ATTEMPTS);
        } else if option == b"rotate" {
            self.rotate = true;
        } else if option == b"use-vc" {
            self.use_tcp = true;
        }
    }
}

/// `line` starts with `word` followed by a blank (glibc's `MATCH`): returns the rest.
fn keyword<'a>(line: &'a [u8], word: &[u8]) -> Option<&'a [u8]> {
    let rest = line.strip_prefix(word)?;
    match rest.first() {
        Some(b' ' | b'\t') => Some(rest),
        _ => None,
    }
}

fn first_word(text: &[u8]) -> Option<&[u8]> {
    text.split(u8::is_ascii_whitespace).find(|word| !word.is_empty())
}

/// glibc's `res_setoptions` reads `timeout:` and `attempts:` with `atoi` and caps them above;
/// a negative value behaves as 0 there (a timeout of at most 0 s is waited as 1 s, no attempt is
/// made), so it is 0 here.
fn leading_number(text: &[u8]) -> u32 {
    u32::try_from(kup_text::atoi(text)).unwrap_or(0)
}

fn parse_nameserver(word: &[u8]) -> Option<SocketAddr> {
    let text = std::str::from_utf8(word).ok()?;
    if let Ok(address) = text.parse::<Ipv4Addr>() {
        return Some(SocketAddr::new(IpAddr::V4(address), DNS_PORT));
    }
    let (address, scope) = match text.split_once('%') {
        Some((address, scope)) => (address, Some(scope)),
        None => (text, None),
    };
    let address = address.parse::<Ipv6Addr>().ok()?;
    let scope_id = match scope {
        None => 0,
        // A numeric scope only; interface names would need if_nametoindex (not supported).
        Some(scope) => scope.parse::<u32>().ok()?,
    };
    Some(SocketAddr::V6(SocketAddrV6::new(address, DNS_PORT, 0, scope_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_means_localhost_with_glibc_defaults() {
        let config = ResolvConf::parse(b"");
        assert_eq!(config, ResolvConf::default());
        assert_eq!(config.nameservers, vec!["127.0.0.1:53".parse().unwrap()]);
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert_eq!(config.attempts, 2);
    }

    #[test]
    fn nameservers_are_kept_in_order_up_to_three() {
        let config = ResolvConf::parse(
            b"# comment\nnameserver 127.0.0.53\nnameserver\t::1\nnameserver 127.0.0.2 extra\nnameserver 127.0.0.3\n",
        );
        assert_eq!(
            config.nameservers,
            vec![
                "127.0.0.53:53".parse().unwrap(),
                "[::1]:53".parse().unwrap(),
                "127.0.0.2:53".parse().unwrap(),
            ]
        );
    }

    #[test]
    fn bad_lines_are_ignored() {
        let config = ResolvConf::parse(
            b"nameserver bogus\nnameserver127.0.0.9\n nameserver 127.0.0.8\n;nameserver 127.0.0.7\nnameserver 127.0.0.6",
        );
        assert_eq!(config.nameservers, vec!["127.0.0.6:53".parse().unwrap()]);
    }

    #[test]
    fn options_are_read_and_capped() {
        let config = ResolvConf::parse(
            b"nameserver 127.0.0.1\noptions timeout:2 attempts:9 rotate ndots:3\noptions use-vc\n",
        );
        assert_eq!(config.timeout, Duration::from_secs(2));
        assert_eq!(config.attempts, 5);
        assert!(config.rotate);
        assert!(config.use_tcp);
        let config = ResolvConf::parse(b"options timeout:99 attempts:x\n");
        assert_eq!(config.timeout, Duration::from_secs(30));
        assert_eq!(config.attempts, 0);
    }

    /// The values go through glibc's `atoi`: a sign, C's `int` truncation, negatives as 0.
    #[test]
    fn option_values_are_read_as_glibcs_atoi_reads_them() {
        let config = ResolvConf::parse(b"options timeout:+4 attempts:-3\n");
        assert_eq!(config.timeout, Duration::from_secs(4));
        assert_eq!(config.attempts, 0);
        // 2^32 + 3: atoi keeps the low 32 bits, 3.
        let config = ResolvConf::parse(b"options timeout:4294967299 attempts:2x\n");
        assert_eq!(config.timeout, Duration::from_secs(3));
        assert_eq!(config.attempts, 2);
    }

    #[test]
    fn scoped_ipv6_nameserver_keeps_a_numeric_scope() {
        let config = ResolvConf::parse(b"nameserver fe80::1%2\n");
        let SocketAddr::V6(address) = config.nameservers[0] else {
            panic!("not v6");
        };
        assert_eq!(address.scope_id(), 2);
    }
}
