//! Typed identifiers: key serials, user and group ids, key permission words.
//!
//! Plain `i32`/`u32` values are easy to swap by mistake (a uid passed where a key serial is
//! expected compiles); these newtypes make the kernel's meaning part of the type.

use std::fmt;

/// A key or keyring serial number as the kernel hands it out (`key_serial_t`, signed 32-bit).
///
/// Negative values are the special ids of `<linux/keyctl.h>`; see the associated constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeySerial(i32);

impl KeySerial {
    /// `KEY_SPEC_THREAD_KEYRING`: the calling thread's keyring.
    pub const THREAD_KEYRING: Self = Self(-1);
    /// `KEY_SPEC_SESSION_KEYRING`: the calling thread's session keyring.
    pub const SESSION_KEYRING: Self = Self(-3);
    /// `KEY_SPEC_REQKEY_AUTH_KEY`: the authorisation key of the key under construction.
    pub const REQKEY_AUTH_KEY: Self = Self(-7);
    /// `0`: "no keyring" where a destination is optional (instantiate, negate, reject).
    pub const NONE: Self = Self(0);

    /// Wraps a raw serial.
    #[must_use]
    pub const fn new(raw: i32) -> Self {
        Self(raw)
    }

    /// The raw serial, as the kernel wants it.
    #[must_use]
    pub const fn get(self) -> i32 {
        self.0
    }
}

impl fmt::Display for KeySerial {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// A user id in the initial user namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uid(u32);

impl Uid {
    /// The superuser.
    pub const ROOT: Self = Self(0);

    /// Wraps a raw uid.
    #[must_use]
    pub const fn new(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw uid.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// A group id in the initial user namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gid(u32);

impl Gid {
    /// The superuser's group.
    pub const ROOT: Self = Self(0);

    /// Wraps a raw gid.
    #[must_use]
    pub const fn new(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw gid.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Gid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}

/// A key permission word: possessor, user, group and other bytes, high to low.
///
/// Displayed as the kernel shows it in `KEYCTL_DESCRIBE` and `/proc/keys`: eight lower-case hex
/// digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyPerm(u32);

impl KeyPerm {
    /// Wraps a raw permission word.
    #[must_use]
    pub const fn new(raw: u32) -> Self {
        Self(raw)
    }

    /// The raw permission word.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for KeyPerm {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:08x}", self.0)
    }
}

/// A process id, as seen from the pid namespace of the process that holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid(i32);

impl Pid {
    /// Wraps a raw pid.
    #[must_use]
    pub const fn new(raw: i32) -> Self {
        Self(raw)
    }

    /// The raw pid.
    #[must_use]
    pub const fn get(self) -> i32 {
        self.0
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.0)
    }
}
