//! The process entry point of kup's one-shot helpers, without Rust's runtime start-up.
//!
//! A helper lives for one upcall, and its start-up cost is paid by every mount and file access that
//! waits on it. Rust's usual `main` runs `std::rt::lang_start` first, which on glibc reads and parses
//! `/proc/self/maps` (`pthread_getattr_np`, to place a guard for the main thread's stack), sets up a
//! `sigaltstack` and SIGSEGV/SIGBUS handlers, ignores SIGPIPE and polls fds 0-2: about a quarter of
//! the instructions `key.dns_resolver` executes from `execve` to exit. The C originals do none of
//! that, and the helpers need none of it: they call [`crate::process::ensure_standard_fds`]
//! themselves, keep SIGPIPE's default like the C tools, and a stack overflow still ends the process
//! (with a plain SIGSEGV).
//!
//! A tool's `main.rs` therefore says:
//!
//! ```ignore
//! #![cfg_attr(not(test), no_main)]
//! kup_sys::entry!(|| my_tool::main());
//! ```
//!
//! [`entry!`] defines the C `main` symbol, which is the one `unsafe` construct involved (an unmangled
//! symbol); it is written here, in the crate allowed to hold `unsafe`, and tools stay
//! `#![forbid(unsafe_code)]`. `std::env::args_os` works without `lang_start` on glibc (std captures
//! `argc`/`argv` from an `.init_array` hook). Panics still run the panic hook (which finishes the
//! key under construction, see `kup_runtime::helper`) and then abort, as release builds do anyway.

use std::io::Write as _;
use std::process::ExitCode;

/// Runs a tool's body and turns its [`ExitCode`] into the `int` C's `main` returns, flushing
/// stdout first (`lang_start` would have done that at exit).
#[doc(hidden)]
#[must_use]
pub fn run(body: fn() -> ExitCode) -> i32 {
    let code = body();
    let _ = std::io::stdout().lock().flush();
    // ExitCode is opaque; it compares equal to the `u8` it was made from.
    (0..=u8::MAX)
        .find(|&value| ExitCode::from(value) == code)
        .map_or(1, i32::from)
}

/// Defines the process entry point (the C `main` symbol) for a binary crate marked `#![no_main]`;
/// `$body` is a `fn() -> ExitCode` (a path or a non-capturing closure). See the module docs.
/// Under `cfg(test)` it defines nothing, so that the test harness's own `main` runs the binary's
/// unit tests (mark the crate `#![cfg_attr(not(test), no_main)]`).
#[macro_export]
macro_rules! entry {
    ($body:expr) => {
        /// The process entry point, called by the C runtime with `argc`/`argv` (read through
        /// `std::env::args_os` instead).
        #[cfg(not(test))]
        // SAFETY: an unmangled `main` is the C entry point; the binary is `#![no_main]`, so this is
        // the only definition, and its signature is C's `int main(int, char **)`.
        #[unsafe(no_mangle)]
        extern "C" fn main(
            _argc: ::std::ffi::c_int,
            _argv: *const *const ::std::ffi::c_char,
        ) -> ::std::ffi::c_int {
            $crate::entry::run($body)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_map_to_their_number() {
        assert_eq!(run(|| ExitCode::from(0)), 0);
        assert_eq!(run(|| ExitCode::from(75)), 75);
        assert_eq!(run(|| ExitCode::from(255)), 255);
        assert_eq!(run(|| ExitCode::SUCCESS), 0);
        assert_eq!(run(|| ExitCode::FAILURE), 1);
    }
}
