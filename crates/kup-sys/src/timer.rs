//! A one-shot timer that interrupts the calling thread with a signal: the mechanism under
//! `kup-runtime`'s total deadline.
//!
//! [`arm_thread_timer`] installs a handler for one signal and creates a POSIX timer
//! (`CLOCK_MONOTONIC`) that sends it to the calling thread only (`SIGEV_THREAD_ID`), once. Three
//! system calls, no thread: a watchdog thread costs a stack mapping, a `clone3` and a second task
//! for the kernel to schedule on every upcall (see `docs/benchmarks.md`).
//!
//! The handler runs on the interrupted thread, in the middle of whatever it was doing (perhaps
//! inside `malloc` or glibc's syslog, holding their locks), so it may only use calls that are
//! async-signal-safe: atomics, raw system calls (this crate's `keyctl` wrappers allocate nothing),
//! [`crate::syslog::send_datagram`], [`crate::process::write_stderr`] and
//! [`crate::process::exit_immediately`].

use std::io;
use std::time::Duration;

/// A signal handler: `extern "C" fn(signal_number)`.
pub type SignalHandler = extern "C" fn(std::ffi::c_int);

/// The highest real-time signal number of this process (`SIGRTMAX`).
#[must_use]
pub fn realtime_signal_max() -> i32 {
    libc::SIGRTMAX()
}

/// Arranges for `handler` to run on the calling thread once `after` has passed: installs it for
/// `signal` (every other signal blocked while it runs) and starts a one-shot timer on
/// `CLOCK_MONOTONIC` directed at this thread. The timer belongs to the process and is not
/// inherited by children (`fork`) or kept across `exec`.
pub fn arm_thread_timer(after: Duration, signal: i32, handler: SignalHandler) -> io::Result<()> {
    install_handler(signal, handler)?;
    let timer = create_timer(signal)?;
    start_timer(timer, after)
}

fn install_handler(signal: i32, handler: SignalHandler) -> io::Result<()> {
    // SAFETY: `sigaction` is a plain C struct for which all-zero bytes are a valid (empty) value.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as libc::sighandler_t;
    action.sa_flags = 0;
    // SAFETY: `action.sa_mask` is a valid, writable sigset_t owned by this frame.
    let filled = unsafe { libc::sigfillset(&raw mut action.sa_mask) };
    if filled < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `action` is fully initialised and lives across the call; the old action is not
    // asked for (null). `handler` is an `extern "C" fn(c_int)`, the shape the kernel calls
    // without SA_SIGINFO.
    let ret = unsafe { libc::sigaction(signal, &raw const action, std::ptr::null_mut()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn create_timer(signal: i32) -> io::Result<libc::timer_t> {
    // SAFETY: `sigevent` is a plain C struct (a union tail) for which all-zero bytes are valid.
    let mut event: libc::sigevent = unsafe { std::mem::zeroed() };
    event.sigev_notify = libc::SIGEV_THREAD_ID;
    event.sigev_signo = signal;
    // SAFETY: gettid takes no arguments and cannot fail.
    event.sigev_notify_thread_id = unsafe { libc::gettid() };
    let mut timer: libc::timer_t = std::ptr::null_mut();
    // SAFETY: `event` is initialised for SIGEV_THREAD_ID (signal number and this thread's id) and
    // `timer` is a valid place for the new timer's id; both outlive the call.
    let ret = unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &raw mut event, &raw mut timer) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(timer)
}

fn start_timer(timer: libc::timer_t, after: Duration) -> io::Result<()> {
    // At least one nanosecond: an all-zero `it_value` would disarm the timer instead.
    let after = after.max(Duration::from_nanos(1));
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: libc::time_t::try_from(after.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::from(after.subsec_nanos().cast_signed()),
        },
    };
    // SAFETY: `timer` was returned by timer_create above; `spec` is initialised and outlives the
    // call; the previous setting is not asked for (null).
    let ret = unsafe { libc::timer_settime(timer, 0, &raw const spec, std::ptr::null_mut()) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI32, Ordering};

    static FIRED: AtomicI32 = AtomicI32::new(0);

    extern "C" fn record(signal: libc::c_int) {
        FIRED.store(signal, Ordering::SeqCst);
    }

    #[test]
    fn the_timer_interrupts_the_arming_thread_once() {
        // In a thread of its own: the signal must reach this thread, not the test harness's.
        std::thread::spawn(|| {
            let signal = realtime_signal_max() - 2;
            arm_thread_timer(Duration::from_millis(20), signal, record).unwrap();
            let started = std::time::Instant::now();
            while FIRED.load(Ordering::SeqCst) == 0 && started.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(1));
            }
            assert_eq!(FIRED.load(Ordering::SeqCst), signal);
        })
        .join()
        .unwrap();
    }
}
