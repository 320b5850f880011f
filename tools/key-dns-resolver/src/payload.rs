//! The text payload `key.dns_resolver` instantiates: `addr[,addr...]` plus a NUL.
//!
//! keyutils 1.6.3 collects the payload in a 256-entry iovec array: an address takes one entry,
//! every address after the first a comma entry too, and the NUL the last one, so at most 128
//! addresses fit (2 × 128 − 1 + 1 = 256; observed through the kernel with 140 A records — the
//! spec's "127" was off by one). Further addresses are dropped silently (we log them at debug
//! level). Exact duplicates (same text, including any `+port`) are dropped.

/// Payload segments of the reference (`N_PAYLOAD`).
const SEGMENTS: usize = 256;

/// Addresses collected for the payload.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payload {
    addresses: Vec<String>,
}

/// What [`Payload::push`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pushed {
    /// Appended.
    Added,
    /// Already present.
    Duplicate,
    /// No room left (128 addresses).
    Full,
}

impl Payload {
    /// Most addresses a payload holds.
    pub const MAX_ADDRESSES: usize = SEGMENTS / 2;

    /// An empty payload.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one address text (room is checked before duplicates, as in the reference).
    pub fn push(&mut self, address: String) -> Pushed {
        if self.addresses.len() >= Self::MAX_ADDRESSES {
            return Pushed::Full;
        }
        if self.addresses.contains(&address) {
            return Pushed::Duplicate;
        }
        self.addresses.push(address);
        Pushed::Added
    }

    /// No address yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// The addresses so far.
    #[must_use]
    pub fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// The text without the terminating NUL.
    #[must_use]
    pub fn text(&self) -> Vec<u8> {
        self.addresses.join(",").into_bytes()
    }

    /// The bytes to instantiate: the text and a NUL (the kernel requires it and strips it).
    #[must_use]
    pub fn to_key_bytes(&self) -> Vec<u8> {
        let mut bytes = self.text();
        bytes.push(0);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_joined_with_commas_and_nul_terminated() {
        let mut payload = Payload::new();
        assert_eq!(payload.push("192.0.2.1".into()), Pushed::Added);
        assert_eq!(payload.push("2001:db8::1".into()), Pushed::Added);
        assert_eq!(payload.to_key_bytes(), b"192.0.2.1,2001:db8::1\0");
    }

    #[test]
    fn duplicates_are_dropped_by_exact_text() {
        let mut payload = Payload::new();
        payload.push("192.0.2.1+7003".into());
        assert_eq!(payload.push("192.0.2.1+7003".into()), Pushed::Duplicate);
        assert_eq!(payload.push("192.0.2.1+7004".into()), Pushed::Added);
        assert_eq!(payload.text(), b"192.0.2.1+7003,192.0.2.1+7004");
    }

    #[test]
    fn at_most_128_addresses_fit() {
        let mut payload = Payload::new();
        for index in 0..140 {
            payload.push(format!("10.0.{}.{}", index / 256, index % 256));
        }
        assert_eq!(payload.addresses().len(), 128);
        assert_eq!(payload.push("10.1.0.0".into()), Pushed::Full);
        // A duplicate of a kept address counts as dropped once full, as in the reference.
        assert_eq!(payload.push("10.0.0.0".into()), Pushed::Full);
    }

    #[test]
    fn empty_payload_is_just_the_terminator() {
        assert_eq!(Payload::new().to_key_bytes(), b"\0");
    }
}
