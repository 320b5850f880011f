//! `struct cifs_spnego_msg`, the payload of a `cifs.spnego` key, as the kernel reads it.
//!
//! Host byte order: `version`, `flags` (0), `sesskey_len`, `secblob_len` (4 bytes each), the
//! session key, the security blob, then 4 zero bytes (the reference sizes its buffer with the C
//! struct's padded size; the kernel ignores them). The kernel trusts both lengths without
//! checking them against the payload size, so they are computed here from the slices themselves.
//! The session key, and every payload holding it, is a [`SecretBytes`] that zeroes its bytes when
//! dropped.
//!
//! Must not: do I/O, panic.

use std::fmt;

/// Fixed header bytes before the key.
pub const HEADER_LEN: usize = 16;
/// The zero bytes after the blob.
pub const TRAILER_LEN: usize = 4;

/// Bytes that are zeroed when dropped (session keys, payloads holding one). Never printed.
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

    /// Their number.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "<{} secret bytes>", self.0.len())
    }
}

/// Overwrites `bytes` with zeros in a way the optimiser keeps (the zeroed slice is handed to
/// `black_box`, which the compiler must assume reads it).
pub fn wipe(bytes: &mut [u8]) {
    bytes.fill(0);
    std::hint::black_box(&*bytes);
}

/// Why no payload can be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadError {
    /// The key or the blob does not fit a 32-bit length.
    TooLong,
}

impl fmt::Display for PayloadError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("the session key or security blob is too long for the payload")
    }
}

impl std::error::Error for PayloadError {}

/// The key payload for `version` (the description's `ver`, echoed), `session_key` and `blob`.
pub fn build_payload(
    version: i32,
    session_key: &SecretBytes,
    blob: &[u8],
) -> Result<SecretBytes, PayloadError> {
    let key_len = u32::try_from(session_key.len()).map_err(|_| PayloadError::TooLong)?;
    let blob_len = u32::try_from(blob.len()).map_err(|_| PayloadError::TooLong)?;
    let total = HEADER_LEN
        .checked_add(session_key.len())
        .and_then(|sum| sum.checked_add(blob.len()))
        .and_then(|sum| sum.checked_add(TRAILER_LEN))
        .ok_or(PayloadError::TooLong)?;
    // Exact capacity: the vector never reallocates, so no copy of the key is left behind.
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&version.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&key_len.to_ne_bytes());
    out.extend_from_slice(&blob_len.to_ne_bytes());
    out.extend_from_slice(session_key.as_bytes());
    out.extend_from_slice(blob);
    out.extend_from_slice(&[0; TRAILER_LEN]);
    Ok(SecretBytes(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec §20 row 1: a 32-byte AES256 key and a 725-byte blob make a 777-byte payload whose
    /// header is `02000000 00000000 20000000 d5020000` (little-endian machines).
    #[test]
    fn payload_has_the_observed_layout() {
        let key = SecretBytes::new((0..32).collect());
        let blob = vec![0x60; 725];
        let payload = build_payload(2, &key, &blob).unwrap();
        let bytes = payload.as_bytes();
        assert_eq!(bytes.len(), 777);
        #[cfg(target_endian = "little")]
        assert_eq!(
            bytes[..16],
            [2, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0xd5, 0x02, 0, 0]
        );
        assert_eq!(&bytes[16..48], key.as_bytes());
        assert_eq!(&bytes[48..773], &blob[..]);
        assert_eq!(bytes[773..], [0, 0, 0, 0]);
    }

    #[test]
    fn version_is_echoed_and_empty_parts_are_allowed() {
        let payload = build_payload(0, &SecretBytes::new(Vec::new()), &[]).unwrap();
        assert_eq!(payload.as_bytes(), [0u8; 20]);
        let payload = build_payload(-1, &SecretBytes::new(vec![7]), &[8]).unwrap();
        assert_eq!(payload.as_bytes()[..4], (-1i32).to_ne_bytes());
        assert_eq!(payload.as_bytes()[16..18], [7, 8]);
    }

    #[test]
    fn secrets_are_not_printed_and_wipe_zeroes() {
        let secret = SecretBytes::new(vec![1, 2, 3]);
        assert_eq!(format!("{secret:?}"), "<3 secret bytes>");
        let mut bytes = [9u8; 5];
        wipe(&mut bytes);
        assert_eq!(bytes, [0; 5]);
    }
}
