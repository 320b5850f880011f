//! The kernel's krb5 context format (`linux_lucid_v1`) and caller credentials (`linux_creds_v1`).
//!
//! Both are **host byte order** (the kernel copies the words), unlike the XDR around them.
//!
//! `linux_lucid_v1` (spec §4.1): flags u32 (0x1 initiator, 0x2 CFX, 0x4 acceptor subkey),
//! endtime u32, `send_seq` u64, enctype u32, then the raw key; no padding, no lengths. The encoder
//! refuses what the kernel would refuse on import (a `send_seq` over 32 bits, an enctype it does
//! not know, a key of the wrong length, an acceptor subkey without CFX) rather than send it.
//! Keys and the encoded token are zeroed when dropped.
//!
//! `linux_creds_v1` (spec §4.3): uid, gid, n, then n gids, each u32.

use std::fmt;

/// Flag: this side initiated the context.
pub const FLAG_INITIATOR: u32 = 0x1;
/// Flag: RFC 4121 ("CFX") tokens.
pub const FLAG_CFX: u32 = 0x2;
/// Flag: the key is the acceptor's subkey.
pub const FLAG_ACCEPTOR_SUBKEY: u32 = 0x4;
/// The largest exported context the kernel reads (`GSSX_max_output_handle_sz`).
pub const MAX_LUCID_LEN: usize = 128;
/// The kernel's `NGROUPS_MAX`.
pub const NGROUPS_MAX: usize = 65_536;
/// The id that means "no mapping" (`(u32)-1`).
pub const INVALID_ID: u32 = u32::MAX;

/// Key bytes, zeroed when dropped and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "<{} secret bytes>", self.0.len())
    }
}

/// Why a context cannot be exported in a form the kernel takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LucidError {
    /// The kernel needs the initial send sequence number to fit 32 bits.
    SendSequenceTooLarge(u64),
    /// An enctype the kernel does not implement.
    UnsupportedEnctype(u32),
    /// The key length is not the enctype's.
    WrongKeyLength {
        /// The enctype.
        enctype: u32,
        /// The key's length.
        length: usize,
    },
    /// An acceptor subkey flag on a non-CFX context.
    SubkeyWithoutCfx,
    /// Not a `linux_lucid_v1` blob (decoding).
    Malformed,
}

impl fmt::Display for LucidError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SendSequenceTooLarge(value) => {
                write!(formatter, "send sequence {value} does not fit 32 bits")
            }
            Self::UnsupportedEnctype(enctype) => {
                write!(formatter, "enctype {enctype} is not supported by the kernel")
            }
            Self::WrongKeyLength { enctype, length } => {
                write!(formatter, "a {length}-byte key does not fit enctype {enctype}")
            }
            Self::SubkeyWithoutCfx => formatter.write_str("an acceptor subkey needs a CFX context"),
            Self::Malformed => formatter.write_str("not a linux_lucid_v1 context"),
        }
    }
}

impl std::error::Error for LucidError {}

/// The key length of an enctype the Linux 6.x `RPCSEC_GSS` krb5 code can import.
#[must_use]
pub fn enctype_key_length(enctype: u32) -> Option<usize> {
    match enctype {
        16 => Some(24),           // des3-cbc-sha1 (where still built)
        17 | 19 | 25 => Some(16), // aes128-cts-hmac-sha1-96, aes128-cts-hmac-sha256-128, camellia128
        18 | 20 | 26 => Some(32), // aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha384-192, camellia256
        _ => None,
    }
}

/// The values of an established context, as the kernel wants them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LucidContext {
    /// This side initiated the context (never for nfsd).
    pub initiator: bool,
    /// RFC 4121 tokens (MIT lucid `protocol` = 1).
    pub cfx: bool,
    /// The key is the acceptor's asserted subkey.
    pub acceptor_subkey: bool,
    /// Context expiry, Unix seconds.
    pub endtime: u32,
    /// Initial send sequence number (must fit 32 bits).
    pub send_seq: u64,
    /// Kerberos enctype of the key.
    pub enctype: u32,
    /// The key: the acceptor subkey, else the context key.
    pub key: SecretBytes,
}

impl LucidContext {
    /// The `linux_lucid_v1` bytes (20 + key length, host byte order).
    pub fn encode(&self) -> Result<SecretBytes, LucidError> {
        if self.acceptor_subkey && !self.cfx {
            return Err(LucidError::SubkeyWithoutCfx);
        }
        if self.send_seq > u64::from(u32::MAX) {
            return Err(LucidError::SendSequenceTooLarge(self.send_seq));
        }
        let length = self.key.as_bytes().len();
        let expected =
            enctype_key_length(self.enctype).ok_or(LucidError::UnsupportedEnctype(self.enctype))?;
        if length != expected {
            return Err(LucidError::WrongKeyLength {
                enctype: self.enctype,
                length,
            });
        }
        let mut flags = 0;
        if self.initiator {
            flags |= FLAG_INITIATOR;
        }
        if self.cfx {
            flags |= FLAG_CFX;
        }
        if self.acceptor_subkey {
            flags |= FLAG_ACCEPTOR_SUBKEY;
        }
        let mut bytes = Vec::with_capacity(MAX_LUCID_LEN);
        bytes.extend_from_slice(&flags.to_ne_bytes());
        bytes.extend_from_slice(&self.endtime.to_ne_bytes());
        bytes.extend_from_slice(&self.send_seq.to_ne_bytes());
        bytes.extend_from_slice(&self.enctype.to_ne_bytes());
        bytes.extend_from_slice(self.key.as_bytes());
        Ok(SecretBytes(bytes))
    }

    /// Reads `linux_lucid_v1` bytes as the kernel does (for tests and test clients): the 85-byte
    /// legacy layout, unknown flags, enctypes and lengths are refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, LucidError> {
        let word = |offset: usize| -> Result<u32, LucidError> {
            let field = bytes
                .get(offset..offset.saturating_add(4))
                .ok_or(LucidError::Malformed)?;
            let mut word = [0; 4];
            word.copy_from_slice(field);
            Ok(u32::from_ne_bytes(word))
        };
        if bytes.len() == 85 {
            return Err(LucidError::Malformed);
        }
        let flags = word(0)?;
        if flags & !(FLAG_INITIATOR | FLAG_CFX | FLAG_ACCEPTOR_SUBKEY) != 0 {
            return Err(LucidError::Malformed);
        }
        let endtime = word(4)?;
        let sequence = bytes.get(8..16).ok_or(LucidError::Malformed)?;
        let mut send_seq = [0; 8];
        send_seq.copy_from_slice(sequence);
        let enctype = word(16)?;
        let key = bytes.get(20..).ok_or(LucidError::Malformed)?;
        let context = Self {
            initiator: flags & FLAG_INITIATOR != 0,
            cfx: flags & FLAG_CFX != 0,
            acceptor_subkey: flags & FLAG_ACCEPTOR_SUBKEY != 0,
            endtime,
            send_seq: u64::from_ne_bytes(send_seq),
            enctype,
            key: SecretBytes(key.to_vec()),
        };
        // The same checks as encoding.
        context.encode()?;
        Ok(context)
    }
}

/// The caller's credentials for the kernel (`linux_creds_v1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinuxCreds {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Supplementary groups (gssproxy includes the primary gid).
    pub groups: Vec<u32>,
}

/// Why creds cannot be sent to the kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredsError {
    /// More than `NGROUPS_MAX` groups.
    TooManyGroups(usize),
    /// `(u32)-1` in the group list, which the kernel rejects.
    InvalidGroup,
    /// Not a `linux_creds_v1` value (decoding).
    Malformed,
}

impl fmt::Display for CredsError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyGroups(count) => write!(formatter, "{count} groups are more than the kernel takes"),
            Self::InvalidGroup => formatter.write_str("the group list holds the invalid id"),
            Self::Malformed => formatter.write_str("not a linux_creds_v1 value"),
        }
    }
}

impl std::error::Error for CredsError {}

impl LinuxCreds {
    /// What gssproxy sends for a principal that maps to no user: uid = gid = -1, no groups.
    #[must_use]
    pub fn unmapped() -> Self {
        Self {
            uid: INVALID_ID,
            gid: INVALID_ID,
            groups: Vec::new(),
        }
    }

    /// The value bytes (12 + 4n, host byte order).
    pub fn encode(&self) -> Result<Vec<u8>, CredsError> {
        if self.groups.len() > NGROUPS_MAX {
            return Err(CredsError::TooManyGroups(self.groups.len()));
        }
        if self.groups.contains(&INVALID_ID) {
            return Err(CredsError::InvalidGroup);
        }
        let count =
            u32::try_from(self.groups.len()).map_err(|_| CredsError::TooManyGroups(self.groups.len()))?;
        let mut bytes = Vec::with_capacity(self.groups.len().saturating_add(3).saturating_mul(4));
        bytes.extend_from_slice(&self.uid.to_ne_bytes());
        bytes.extend_from_slice(&self.gid.to_ne_bytes());
        bytes.extend_from_slice(&count.to_ne_bytes());
        for group in &self.groups {
            bytes.extend_from_slice(&group.to_ne_bytes());
        }
        Ok(bytes)
    }

    /// Reads a value as the kernel does: exact length, at most `NGROUPS_MAX`, no invalid gid.
    pub fn decode(bytes: &[u8]) -> Result<Self, CredsError> {
        let mut words = bytes.chunks_exact(4).map(|word| {
            let mut value = [0; 4];
            value.copy_from_slice(word);
            u32::from_ne_bytes(value)
        });
        if !bytes.len().is_multiple_of(4) {
            return Err(CredsError::Malformed);
        }
        let (Some(uid), Some(gid), Some(count)) = (words.next(), words.next(), words.next()) else {
            return Err(CredsError::Malformed);
        };
        let count = usize::try_from(count).map_err(|_| CredsError::Malformed)?;
        if count > NGROUPS_MAX {
            return Err(CredsError::TooManyGroups(count));
        }
        if words.len() != count {
            return Err(CredsError::Malformed);
        }
        let groups: Vec<u32> = words.collect();
        if groups.contains(&INVALID_ID) {
            return Err(CredsError::InvalidGroup);
        }
        Ok(Self { uid, gid, groups })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(enctype: u32, key_length: usize) -> LucidContext {
        LucidContext {
            initiator: false,
            cfx: true,
            acceptor_subkey: true,
            endtime: 0x6b07_6eaa,
            send_seq: 0x0f9c_12bc,
            enctype,
            key: SecretBytes::new((0..key_length).map(|byte| u8::try_from(byte).unwrap()).collect()),
        }
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn the_spec_vector_header_is_reproduced() {
        // Spec §7.1: flags 6, endtime 0x6b076eaa, send_seq 0x0f9c12bc, enctype 18, 32-byte key.
        let bytes = context(18, 32).encode().unwrap();
        assert_eq!(bytes.as_bytes().len(), 52);
        assert_eq!(
            bytes.as_bytes()[..20],
            [
                6, 0, 0, 0, 0xaa, 0x6e, 0x07, 0x6b, 0xbc, 0x12, 0x9c, 0x0f, 0, 0, 0, 0, 0x12, 0, 0, 0
            ]
        );
        assert_eq!(LucidContext::decode(bytes.as_bytes()).unwrap(), context(18, 32));
    }

    #[test]
    fn lengths_follow_the_enctype() {
        for (enctype, length) in [
            (16, 44),
            (17, 36),
            (18, 52),
            (19, 36),
            (20, 52),
            (25, 36),
            (26, 52),
        ] {
            let key = enctype_key_length(enctype).unwrap();
            assert_eq!(context(enctype, key).encode().unwrap().as_bytes().len(), length);
            assert!(length <= MAX_LUCID_LEN);
        }
    }

    #[test]
    fn what_the_kernel_would_refuse_is_not_encoded() {
        assert_eq!(context(23, 16).encode(), Err(LucidError::UnsupportedEnctype(23)));
        assert_eq!(
            context(18, 16).encode(),
            Err(LucidError::WrongKeyLength {
                enctype: 18,
                length: 16
            })
        );
        let mut big_sequence = context(18, 32);
        big_sequence.send_seq = 1 << 32;
        assert_eq!(
            big_sequence.encode(),
            Err(LucidError::SendSequenceTooLarge(1 << 32))
        );
        let mut subkey_without_cfx = context(18, 32);
        subkey_without_cfx.cfx = false;
        assert_eq!(subkey_without_cfx.encode(), Err(LucidError::SubkeyWithoutCfx));
        assert_eq!(LucidContext::decode(&[0; 85]), Err(LucidError::Malformed));
        assert_eq!(LucidContext::decode(&[0; 19]), Err(LucidError::Malformed));
    }

    #[test]
    fn keys_are_not_printed() {
        let printed = format!("{:?}", context(18, 32));
        assert!(printed.contains("<32 secret bytes>"), "{printed}");
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn creds_are_host_order_and_checked() {
        // Spec §7.1: daemon, uid 1, gid 1, groups {1}.
        let creds = LinuxCreds {
            uid: 1,
            gid: 1,
            groups: vec![1],
        };
        let bytes = creds.encode().unwrap();
        assert_eq!(bytes, [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(LinuxCreds::decode(&bytes), Ok(creds));
        assert_eq!(
            LinuxCreds::unmapped().encode().unwrap(),
            [0xff; 8].into_iter().chain([0; 4]).collect::<Vec<_>>()
        );
        let many = LinuxCreds {
            uid: 5,
            gid: 5,
            groups: (0..65_536).collect(),
        };
        assert_eq!(many.encode().unwrap().len(), 12 + 4 * 65_536);
        let too_many = LinuxCreds {
            uid: 5,
            gid: 5,
            groups: (0..65_537).collect(),
        };
        assert_eq!(too_many.encode(), Err(CredsError::TooManyGroups(65_537)));
        let invalid = LinuxCreds {
            uid: 5,
            gid: 5,
            groups: vec![INVALID_ID],
        };
        assert_eq!(invalid.encode(), Err(CredsError::InvalidGroup));
        // A count claiming 4 Gi groups, and a count that disagrees with the length.
        assert!(LinuxCreds::decode(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert_eq!(
            LinuxCreds::decode(&[0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0]),
            Err(CredsError::Malformed)
        );
    }
}
