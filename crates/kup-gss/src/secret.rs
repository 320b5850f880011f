//! Owned secret bytes that are wiped when dropped.

use std::fmt;
use std::sync::atomic::{Ordering, compiler_fence};

/// A Kerberos session key (the AP-REQ's send subkey, or a GSS context key): the encryption
/// type and the raw key bytes. The bytes are overwritten with zeros on drop; `Debug` never
/// shows them.
pub struct SessionKey {
    enctype: i32,
    bytes: Vec<u8>,
}

impl SessionKey {
    /// Copies `bytes` (from a library buffer that the caller frees) into an owned key.
    pub(crate) fn new(enctype: i32, bytes: &[u8]) -> Self {
        SessionKey {
            enctype,
            bytes: bytes.to_vec(),
        }
    }

    /// A key of `enctype` made of `bytes` (e.g. one kept by the caller).
    #[must_use]
    pub fn from_bytes(enctype: i32, bytes: &[u8]) -> Self {
        Self::new(enctype, bytes)
    }

    /// The Kerberos encryption type number (18 = aes256-cts-hmac-sha1-96, 17 = aes128, 23 = rc4).
    #[must_use]
    pub fn enctype(&self) -> i32 {
        self.enctype
    }

    /// The raw key bytes (32 for AES256, 16 for AES128 and RC4).
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl PartialEq for SessionKey {
    /// Same enctype and same bytes, compared without an early exit on the first difference.
    fn eq(&self, other: &Self) -> bool {
        self.enctype == other.enctype
            && self.bytes.len() == other.bytes.len()
            && self
                .bytes
                .iter()
                .zip(&other.bytes)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

impl Eq for SessionKey {}

impl fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKey")
            .field("enctype", &self.enctype)
            .field("length", &self.bytes.len())
            .field("bytes", &"<redacted>")
            .finish()
    }
}

impl Drop for SessionKey {
    fn drop(&mut self) {
        wipe(&mut self.bytes);
    }
}

/// Owned bytes that hold secrets (an exported credential with its tickets and keys, a
/// decrypted credential handle): overwritten with zeros on drop, never shown by `Debug`.
#[derive(Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`.
    #[must_use]
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes)
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Overwrites `bytes` with zeros in a way the optimiser may not remove.
pub(crate) fn wipe(bytes: &mut [u8]) {
    for byte in bytes.iter_mut() {
        // SAFETY: `byte` is a valid, aligned, exclusive reference to one initialised u8.
        unsafe { std::ptr::write_volatile(byte, 0) };
    }
    compiler_fence(Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_key_bytes() {
        let key = SessionKey::new(18, &[0xab; 32]);
        let text = format!("{key:?}");
        assert!(text.contains("<redacted>"), "{text}");
        assert!(
            !text.to_lowercase().contains("ab, ab") && !text.contains("171"),
            "{text}"
        );
    }

    #[test]
    fn keys_are_equal_only_with_the_same_enctype_and_bytes() {
        assert_eq!(SessionKey::new(18, &[1, 2]), SessionKey::new(18, &[1, 2]));
        assert_ne!(SessionKey::new(18, &[1, 2]), SessionKey::new(17, &[1, 2]));
        assert_ne!(SessionKey::new(18, &[1, 2]), SessionKey::new(18, &[1, 3]));
        assert_ne!(SessionKey::new(18, &[1, 2]), SessionKey::new(18, &[1]));
    }

    #[test]
    fn wipe_zeroes_every_byte() {
        let mut bytes = vec![0x5a_u8; 40];
        wipe(&mut bytes);
        assert!(bytes.iter().all(|&b| b == 0));
    }
}
