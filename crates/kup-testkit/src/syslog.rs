//! Capturing what helpers send to syslog.
//!
//! The helpers log through glibc's `syslog(3)`, which writes datagrams to `/dev/log`. No syslog
//! daemon runs on the test machines, so a test binds `/dev/log` itself for the few upcalls it checks.
//! Three things make that fragile, and this module handles them once:
//! - `/dev/log` is machine-wide: another suite may hold it (we wait for it), and other programs may
//!   log meanwhile (callers select lines by ident with [`SyslogLine::ident`]);
//! - glibc blocks in `syslog()` when the socket's queue (`net.unix.max_dgram_qlen`, 10) is full, which
//!   would hang a chatty helper until its timeout: a thread drains the socket while the test runs;
//! - a bound `/dev/log` left behind would swallow every later log line: it is removed on drop.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const DEV_LOG: &str = "/dev/log";

/// `/dev/log`, bound by this test until [`SyslogCapture::finish`] or drop.
#[derive(Debug)]
pub struct SyslogCapture {
    stop: Arc<AtomicBool>,
    reader: Option<JoinHandle<Vec<String>>>,
}

/// One datagram as glibc's syslog sent it: `<PRI>Mmm dd hh:mm:ss ident[pid]: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyslogLine {
    /// The whole datagram, as text.
    pub raw: String,
}

impl SyslogCapture {
    /// Binds `/dev/log`, waiting up to `wait` while another test holds it. Fails at once if a
    /// syslog daemon's socket is there for longer than that (we never replace one).
    pub fn start(wait: Duration) -> io::Result<Self> {
        let path = Path::new(DEV_LOG);
        let deadline = Instant::now() + wait;
        let socket = loop {
            if !path.exists() {
                match UnixDatagram::bind(path) {
                    Ok(socket) => break socket,
                    Err(error) if error.kind() != io::ErrorKind::AddrInUse => return Err(error),
                    Err(_) => {}
                }
            }
            if Instant::now() >= deadline {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    "/dev/log is taken (a syslog daemon or another test)",
                ));
            }
            thread::sleep(Duration::from_millis(100));
        };
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop_reader = Arc::clone(&stop);
        let reader = thread::spawn(move || {
            let mut lines = Vec::new();
            let mut buffer = vec![0_u8; 8192];
            loop {
                match socket.recv(&mut buffer) {
                    Ok(length) => {
                        lines.push(
                            String::from_utf8_lossy(buffer.get(..length).unwrap_or_default()).into_owned(),
                        );
                    }
                    // Timed out with nothing queued: done once asked to stop.
                    Err(_) if stop_reader.load(Ordering::SeqCst) => break,
                    Err(_) => {}
                }
            }
            lines
        });
        Ok(Self {
            stop,
            reader: Some(reader),
        })
    }

    /// Stops capturing (after draining what is queued), unbinds `/dev/log` and returns every line
    /// received, oldest first.
    #[must_use]
    pub fn finish(mut self) -> Vec<SyslogLine> {
        self.stop_reader()
    }

    fn stop_reader(&mut self) -> Vec<SyslogLine> {
        self.stop.store(true, Ordering::SeqCst);
        let lines = self
            .reader
            .take()
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default();
        let _ = std::fs::remove_file(DEV_LOG);
        lines.into_iter().map(|raw| SyslogLine { raw }).collect()
    }
}

impl Drop for SyslogCapture {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.stop_reader();
        }
    }
}

impl SyslogLine {
    /// The `<PRI>` number (facility × 8 + severity).
    #[must_use]
    pub fn priority(&self) -> Option<u32> {
        self.raw.strip_prefix('<')?.split_once('>')?.0.parse().ok()
    }

    /// The facility number (`LOG_DAEMON` is 3).
    #[must_use]
    pub fn facility(&self) -> Option<u32> {
        self.priority().map(|priority| priority >> 3)
    }

    /// The severity number (`LOG_ERR` 3, `LOG_WARNING` 4, `LOG_INFO` 6, `LOG_DEBUG` 7).
    #[must_use]
    pub fn severity(&self) -> Option<u32> {
        self.priority().map(|priority| priority & 7)
    }

    /// The tag before the first `": "`, after the timestamp: `nfsidmap[1234]` or `cifs.idmap`.
    #[must_use]
    pub fn tag(&self) -> Option<&str> {
        let (head, _) = self.raw.split_once(": ")?;
        head.rsplit(' ').next()
    }

    /// The ident: the tag without a `[pid]` suffix.
    #[must_use]
    pub fn ident(&self) -> Option<&str> {
        let tag = self.tag()?;
        Some(tag.split_once('[').map_or(tag, |(ident, _)| ident))
    }

    /// The message after the tag.
    #[must_use]
    pub fn message(&self) -> Option<&str> {
        self.raw.split_once(": ").map(|(_, message)| message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glibc_line_splits_into_its_parts() {
        let line = SyslogLine {
            raw: "<28>Nov 25 01:42:40 nfsidmap[12017]: config error: x: y".to_owned(),
        };
        assert_eq!(line.priority(), Some(28));
        assert_eq!(line.facility(), Some(3));
        assert_eq!(line.severity(), Some(4));
        assert_eq!(line.tag(), Some("nfsidmap[12017]"));
        assert_eq!(line.ident(), Some("nfsidmap"));
        assert_eq!(line.message(), Some("config error: x: y"));
    }

    #[test]
    fn a_line_without_pid_has_the_ident_as_its_tag() {
        let line = SyslogLine {
            raw: "<27>Nov 25 01:42:40 cifs.idmap: Unable to convert abc".to_owned(),
        };
        assert_eq!(line.ident(), Some("cifs.idmap"));
        assert_eq!(line.tag(), Some("cifs.idmap"));
        assert_eq!(line.severity(), Some(3));
    }

    #[test]
    fn garbage_has_no_parts() {
        let line = SyslogLine {
            raw: "no priority here".to_owned(),
        };
        assert_eq!(line.priority(), None);
        assert_eq!(line.ident(), None);
    }
}
