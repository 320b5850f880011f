//! [`run_in_child`]: the credential work in a forked child, its result back through a pipe.
//!
//! Frame (child → parent, little-endian): one tag byte, a `u32` length, then the body:
//! tag 0 = the work's bytes; 1 = the work's error (`u32` code, then a message); 2 = the
//! namespace or identity switch failed (a message). The parent reads at most [`MAX_RESULT`]
//! body bytes, within the caller's deadline, until end of file or until the child has exited and
//! the pipe is drained (another process forked meanwhile may hold a copy of the write end, so
//! end of file alone cannot be waited for), and accepts exactly one frame.

use std::fmt;
use std::io::{self, Read, Write as _};
use std::os::fd::AsFd as _;
use std::time::{Duration, Instant};

use kup_runtime::deadline;
use kup_spnego::SecretBytes;
use kup_spnego::payload::wipe;
use kup_sys::fork::{self, ExitStatus};
use kup_sys::process::{self, Signal};
use kup_sys::{Pid, keyctl, prctl};

use crate::identity::{Request, Root, User};

/// The largest result body the parent accepts (a SPNEGO blob and a session key fit many times).
pub const MAX_RESULT: usize = 64 * 1024;

/// Messages are cut to this many bytes in the child.
const MAX_MESSAGE: usize = 512;

/// Tag and length.
const HEADER: usize = 5;

/// How often the parent checks whether a silent child has exited.
const EXIT_CHECK: Duration = Duration::from_millis(10);

const TAG_OK: u8 = 0;
const TAG_WORK: u8 = 1;
const TAG_SWITCH: u8 = 2;

/// A failure of the work itself, carried from the child to the parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkError {
    /// The caller's own code (e.g. its exit status or a GSS major status).
    pub code: u32,
    /// A short description, cut to 512 bytes. It is shown in logs: no secrets.
    pub message: String,
}

impl fmt::Display for WorkError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} (code {})", self.message, self.code)
    }
}

/// Why [`run_in_child`] produced no result.
#[derive(Debug)]
pub enum ChildError {
    /// The pipe or the fork failed in the parent.
    Start(io::Error),
    /// The namespace or identity switch failed in the child (its message).
    Switch(String),
    /// The work returned an error.
    Work(WorkError),
    /// The deadline passed; the child was killed and reaped.
    TimedOut,
    /// The child was ended by this signal (a crash, an abort, a kill) before a full result.
    Killed(i32),
    /// The child exited with this status without a full result (e.g. 125: it panicked).
    Exited(i32),
    /// The child's frame was malformed or over [`MAX_RESULT`].
    Malformed(&'static str),
    /// Reading the pipe or reaping the child failed.
    Io(io::Error),
}

impl fmt::Display for ChildError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Start(error) => write!(formatter, "cannot start the credential process: {error}"),
            Self::Switch(message) => write!(formatter, "{message}"),
            Self::Work(error) => write!(formatter, "{error}"),
            Self::TimedOut => write!(formatter, "the credential process did not finish in time"),
            Self::Killed(signal) => write!(formatter, "the credential process was killed by signal {signal}"),
            Self::Exited(status) => {
                write!(
                    formatter,
                    "the credential process exited with status {status} and no result"
                )
            }
            Self::Malformed(what) => {
                write!(formatter, "the credential process's result is malformed: {what}")
            }
            Self::Io(error) => write!(formatter, "reading the credential process's result: {error}"),
        }
    }
}

impl std::error::Error for ChildError {}

/// Runs `work` as the requested user, in the requested namespaces, in a forked child; returns
/// its bytes. The calling process never changes namespace or identity, so it can still
/// instantiate or negate the key it holds authority for (decisions.md 3).
///
/// The child first drops the request-key authority it inherited (so it cannot finish the key,
/// and cannot search the requester's keyrings with it), then enters the namespaces, switches
/// identity ([`User`] is the proof `work` gets), runs
/// `work`, writes the result and `_exit`s. The parent reads within `deadline`; at the deadline
/// it kills and reaps the child ([`ChildError::TimedOut`]). The result is a [`SecretBytes`]
/// (zeroed when dropped); the child's copies and the parent's read buffer are wiped too. While
/// it runs, the child is
/// registered with `kup_runtime::deadline::supervise_child`, so the helper's own total deadline
/// kills it before ending the helper; and the child (and the grandchild of the passwd lookup) die
/// with the thread that forked them anyway (`PR_SET_PDEATHSIG`): none outlives the upcall. Pass a
/// `deadline` earlier than the helper's, so that the parent, not the helper's deadline, reports a
/// slow child.
pub fn run_in_child<E, F>(deadline: Instant, request: &Request, work: F) -> Result<SecretBytes, ChildError>
where
    E: Into<WorkError>,
    F: FnOnce(&User) -> Result<Vec<u8>, E>,
{
    let (reader, mut writer) = io::pipe().map_err(ChildError::Start)?;
    let parent = Pid::new(i32::try_from(std::process::id()).unwrap_or(0));
    let pid = fork::spawn(|| {
        let frame = child(parent, request, work);
        let written = writer.write_all(&frame);
        let mut frame = frame;
        wipe(&mut frame);
        u8::from(written.is_err())
    })
    .map_err(ChildError::Start)?;
    // The helper's own deadline kills it too, before it ends the helper.
    deadline::supervise_child(pid.get());
    drop(writer);
    let outcome = finish(reader, pid, deadline);
    deadline::release_child();
    outcome
}

/// The parent's side once the child runs: its result, and the child reaped.
fn finish(reader: io::PipeReader, pid: Pid, deadline: Instant) -> Result<SecretBytes, ChildError> {
    let collected = collect(reader, pid, deadline);
    let (bytes, status) = match collected {
        Ok((bytes, Some(status))) => (bytes, Ok(status)),
        Ok((bytes, None)) => match reap(pid, deadline) {
            (status, true) => (bytes, status),
            (_, false) => return Err(ChildError::TimedOut),
        },
        Err(error) => {
            let _ = process::kill(pid.get(), Signal::Kill);
            let _ = fork::wait(pid);
            return Err(error);
        }
    };
    match status? {
        ExitStatus::Exited(0) => parse_frame(bytes.as_bytes())?,
        ExitStatus::Exited(status) => Err(ChildError::Exited(status)),
        ExitStatus::Signaled(signal) => Err(ChildError::Killed(signal)),
    }
}

/// Waits for `pid` until `deadline`, then kills it and waits again: the status, and whether it
/// ended by itself in time.
fn reap(pid: Pid, deadline: Instant) -> (Result<ExitStatus, ChildError>, bool) {
    let mut pause = Duration::from_micros(50);
    loop {
        match fork::try_wait(pid) {
            Ok(Some(status)) => return (Ok(status), true),
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = process::kill(pid.get(), Signal::Kill);
                return (fork::wait(pid).map_err(ChildError::Io), false);
            }
            Err(error) => return (Err(ChildError::Io(error)), false),
        }
    }
}

/// In the child: the switch and the work, as a frame.
fn child<E, F>(parent: Pid, request: &Request, work: F) -> Vec<u8>
where
    E: Into<WorkError>,
    F: FnOnce(&User) -> Result<Vec<u8>, E>,
{
    if prctl::kill_when_parent_dies().is_err() || fork::parent_id() != parent {
        return frame(TAG_SWITCH, b"cannot tie the credential process to its parent");
    }
    if prctl::set_dumpable(false).is_err() {
        return frame(TAG_SWITCH, b"cannot make the credential process non-dumpable");
    }
    // The request-key authority survives a uid switch: without it the child can neither finish
    // the key nor search the requester's keyrings through it.
    if keyctl::assume_authority(None).is_err() {
        return frame(TAG_SWITCH, b"cannot drop the request-key authority");
    }
    // Before any setns: the requester's procfs may not show this process (another pid namespace).
    if kup_sys::process::pin_thread_count().is_err() {
        return frame(TAG_SWITCH, b"cannot open /proc/self/task");
    }
    let user = match Root::check()
        .and_then(|root| root.enter(request.namespaces, request.uid))
        .and_then(|entered| entered.become_user(request.uid))
    {
        Ok(user) => user,
        Err(error) => return frame(TAG_SWITCH, cut(error.to_string().as_bytes())),
    };
    match work(&user).map_err(Into::into) {
        Ok(mut bytes) => {
            if bytes.len() > MAX_RESULT {
                wipe(&mut bytes);
                return frame(
                    TAG_WORK,
                    &work_body(&WorkError {
                        code: u32::MAX,
                        message: format!("result over {MAX_RESULT} bytes"),
                    }),
                );
            }
            let framed = frame(TAG_OK, &bytes);
            wipe(&mut bytes);
            framed
        }
        Err(error) => frame(TAG_WORK, &work_body(&error)),
    }
}

fn work_body(error: &WorkError) -> Vec<u8> {
    [&error.code.to_le_bytes()[..], cut(error.message.as_bytes())].concat()
}

fn frame(tag: u8, body: &[u8]) -> Vec<u8> {
    let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let mut frame = Vec::with_capacity(HEADER + body.len());
    frame.push(tag);
    frame.extend_from_slice(&length.to_le_bytes());
    frame.extend_from_slice(body);
    frame
}

fn cut(message: &[u8]) -> &[u8] {
    message.get(..MAX_MESSAGE).unwrap_or(message)
}

/// Everything the child writes, up to one byte more than the largest frame, until end of file
/// or until the child has exited and the pipe is empty (then with its status), within
/// `deadline`.
///
/// The buffer is reserved at its limit once, so it never moves (no copy of the result is left in
/// freed memory), but not zeroed: only the bytes that arrive are written, through a stack chunk
/// that is wiped afterwards. (Zeroing 64 KiB up front cost a `memset` of the whole buffer and a
/// page fault per page on every upcall.)
fn collect(
    mut reader: io::PipeReader,
    pid: Pid,
    deadline: Instant,
) -> Result<(SecretBytes, Option<ExitStatus>), ChildError> {
    let mut buffer = Vec::with_capacity(LIMIT);
    let mut chunk = [0; CHUNK];
    let mut exited = None;
    let filled = fill(&mut reader, &mut buffer, &mut chunk, &mut exited, pid, deadline);
    wipe(&mut chunk);
    match filled {
        Ok(()) => Ok((SecretBytes::new(buffer), exited)),
        Err(error) => {
            wipe(&mut buffer);
            Err(error)
        }
    }
}

/// How many bytes [`collect`] accepts: one more than the largest frame.
const LIMIT: usize = HEADER + MAX_RESULT + 1;

/// The size of one read.
const CHUNK: usize = 4096;

/// [`collect`]'s loop: reads through `chunk` into `buffer` (at most [`LIMIT`] bytes, so it never
/// grows past its reservation), notes the child's exit in `exited`.
fn fill(
    reader: &mut io::PipeReader,
    buffer: &mut Vec<u8>,
    chunk: &mut [u8; CHUNK],
    exited: &mut Option<ExitStatus>,
    pid: Pid,
    deadline: Instant,
) -> Result<(), ChildError> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ChildError::TimedOut);
        }
        // Wake up now and then to notice a child that has exited.
        let wait = if exited.is_some() {
            Duration::ZERO
        } else {
            left.min(EXIT_CHECK)
        };
        if fork::poll_readable(reader.as_fd(), wait).map_err(ChildError::Io)? {
            let room = LIMIT.saturating_sub(buffer.len()).min(CHUNK);
            if room == 0 {
                // More than any frame: the child may block writing the rest; it is killed.
                return Err(ChildError::Malformed("result too large"));
            }
            match reader.read(&mut chunk[..room]) {
                Ok(0) => break,
                Ok(count) => buffer.extend_from_slice(&chunk[..count]),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(ChildError::Io(error)),
            }
        } else if exited.is_some() {
            break;
        } else {
            *exited = fork::try_wait(pid).map_err(ChildError::Io)?;
        }
    }
    Ok(())
}

/// The one frame in `bytes`: the work's result, or the error the child reported.
fn parse_frame(bytes: &[u8]) -> Result<Result<SecretBytes, ChildError>, ChildError> {
    let Some((header, body)) = bytes.split_first_chunk::<HEADER>() else {
        return Err(ChildError::Malformed(if bytes.is_empty() {
            "no result"
        } else {
            "short header"
        }));
    };
    let [tag, length @ ..] = *header;
    let length = usize::try_from(u32::from_le_bytes(length)).unwrap_or(usize::MAX);
    if length > MAX_RESULT {
        return Err(ChildError::Malformed("result too large"));
    }
    if body.len() < length {
        return Err(ChildError::Malformed("short body"));
    }
    if body.len() > length {
        return Err(ChildError::Malformed("trailing bytes"));
    }
    match tag {
        TAG_OK => Ok(Ok(SecretBytes::new(body.to_vec()))),
        TAG_WORK => {
            let Some((code, message)) = body.split_first_chunk::<4>() else {
                return Err(ChildError::Malformed("short work error"));
            };
            Ok(Err(ChildError::Work(WorkError {
                code: u32::from_le_bytes(*code),
                message: String::from_utf8_lossy(message).into_owned(),
            })))
        }
        TAG_SWITCH => Ok(Err(ChildError::Switch(
            String::from_utf8_lossy(body).into_owned(),
        ))),
        _ => Err(ChildError::Malformed("unknown tag")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Result<SecretBytes, ChildError>, ChildError> {
        parse_frame(bytes)
    }

    #[test]
    fn a_result_frame_round_trips() {
        let result = parse(&frame(TAG_OK, b"blob")).unwrap().unwrap();
        assert_eq!(result.as_bytes(), b"blob");
    }

    #[test]
    fn a_work_error_frame_round_trips() {
        let body = work_body(&WorkError {
            code: 9,
            message: "m".repeat(600),
        });
        let Err(ChildError::Work(error)) = parse(&frame(TAG_WORK, &body)).unwrap() else {
            panic!("not a work error");
        };
        assert_eq!((error.code, error.message.len()), (9, MAX_MESSAGE));
    }

    #[test]
    fn malformed_frames_are_refused() {
        let oversized = [
            &[TAG_OK][..],
            &u32::try_from(MAX_RESULT + 1).unwrap().to_le_bytes(),
        ]
        .concat();
        let cases: [(&[u8], &str); 6] = [
            (b"", "no result"),
            (&[TAG_OK, 4, 0], "short header"),
            (&oversized, "result too large"),
            (&[TAG_OK, 4, 0, 0, 0, b'a'], "short body"),
            (&[TAG_OK, 1, 0, 0, 0, b'a', b'b'], "trailing bytes"),
            (&[7, 0, 0, 0, 0], "unknown tag"),
        ];
        for (bytes, expected) in cases {
            match parse(bytes) {
                Err(ChildError::Malformed(what)) => assert_eq!(what, expected, "{bytes:?}"),
                other => panic!("{bytes:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_silent_child_times_out_and_a_finished_one_is_collected_without_end_of_file() {
        let (reader, writer) = io::pipe().unwrap();
        let silent = fork::spawn(|| {
            std::thread::sleep(Duration::from_secs(30));
            0
        })
        .unwrap();
        let started = Instant::now();
        let outcome = collect(
            reader.try_clone().unwrap(),
            silent,
            started + Duration::from_millis(100),
        );
        assert!(matches!(outcome, Err(ChildError::TimedOut)), "{outcome:?}");
        assert!(started.elapsed() >= Duration::from_millis(100));
        process::kill(silent.get(), Signal::Kill).unwrap();
        fork::wait(silent).unwrap();
        // `writer` stays open here, as in another process forked meanwhile: no end of file.
        let mut child_writer = writer.try_clone().unwrap();
        let done = fork::spawn(|| u8::from(child_writer.write_all(&frame(TAG_OK, b"k")).is_err())).unwrap();
        drop(child_writer);
        let (bytes, status) = collect(reader, done, Instant::now() + Duration::from_secs(5)).unwrap();
        assert_eq!(status, Some(ExitStatus::Exited(0)));
        assert_eq!(parse_frame(bytes.as_bytes()).unwrap().unwrap().as_bytes(), b"k");
        drop(writer);
    }

    #[test]
    fn a_child_writing_more_than_a_frame_is_refused_without_waiting_for_it() {
        let (reader, mut writer) = io::pipe().unwrap();
        let flooding = fork::spawn(|| {
            let chunk = vec![0u8; 4096];
            while writer.write_all(&chunk).is_ok() {}
            1
        })
        .unwrap();
        drop(writer);
        let started = Instant::now();
        let outcome = collect(reader, flooding, started + Duration::from_secs(10));
        let took = started.elapsed();
        // Killed before asserting: the child also holds the read end and would block forever.
        process::kill(flooding.get(), Signal::Kill).unwrap();
        fork::wait(flooding).unwrap();
        assert!(
            matches!(outcome, Err(ChildError::Malformed("result too large"))),
            "{outcome:?}"
        );
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn wipe_clears_the_bytes() {
        let mut bytes = *b"session key";
        wipe(&mut bytes);
        assert_eq!(bytes, [0; 11]);
    }
}
