//! `kup-gss`: MIT Kerberos 5 and GSSAPI for cifs.upcall (and later gssproxy).
//!
//! The only crate besides `kup-sys` that holds `unsafe` (STYLE §3): hand-written declarations of
//! the MIT krb5 1.20 / GSSAPI entry points cifs.upcall needs (`sys`, private) and owned, safe
//! wrappers over them: every library object is released on `Drop`, every key is copied into a
//! [`SessionKey`] that is zeroed on drop, every failure is a typed error carrying the library's
//! own text ([`krb5::Krb5Error`], [`gss::GssStatus`]). Library handles are `!Send` and `!Sync`.
//!
//! It decides nothing: which ccache, which host name, which fallback, and the SPNEGO wrapping
//! are the caller's (tools/cifs-upcall, kup-spnego). The no-Kerberos helpers must never depend
//! on it (scripts/fences): it links `libkrb5.so.3` and `libgssapi_krb5.so.2`.
//!
//! MIT krb5 reads its configuration from the process environment (`KRB5_CONFIG`,
//! `KRB5CCNAME`, `KRB5_KTNAME`, ...) when a context is created or a default is resolved: set
//! the environment before, from a single thread (kup-sys refuses `setenv` otherwise).
//!
//! Library handles stay on the thread that made them; keys may move:
//!
//! ```
//! fn movable<T: Send>() {}
//! movable::<kup_gss::SessionKey>();
//! ```
//! ```compile_fail
//! fn movable<T: Send>() {}
//! movable::<kup_gss::krb5::Context>();
//! ```
//! ```compile_fail
//! fn movable<T: Send>() {}
//! movable::<kup_gss::gss::SecurityContext>();
//! ```
//! ```compile_fail
//! fn shared<T: Sync>() {}
//! shared::<kup_gss::gss::Credential>();
//! ```

pub mod gss;
pub mod krb5;
mod secret;
mod sys;

pub use secret::{SecretBytes, SessionKey};
