//! The requester's environment (`/proc/<pid>/environ`), read only as the user (cifs-upcall.md
//! §11.1): one `read` into 4096 bytes; a read that fills the buffer is retried from the start
//! with twice the size, up to 131072 bytes; beyond that the reader gives up. The scan for
//! `KRB5CCNAME` is the caller's (pure) business.

use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom};

use kup_sys::Pid;

use crate::identity::User;

/// The first buffer size (the reference's, as `kup-spnego` records it).
pub const FIRST_READ: usize = kup_spnego::environ::ENVIRON_INITIAL;
/// The largest buffer size; an environment that fills it is given up on.
pub const MAX_READ: usize = kup_spnego::environ::ENVIRON_LIMIT;

/// The NUL-separated environment of `pid`, read as the user ([`User`] is the proof).
///
/// When the child entered the requester's namespaces, the file was opened before the switch
/// through the initial procfs (the requester under the kernel's pid, whatever its own pid
/// namespace; the access check at that open is root's) and only its bytes are read here. Without
/// a switch (no such process, `upcall_target=mount`), `/proc/<pid>/environ` is opened now, as the
/// user. An environment of [`MAX_READ`] bytes or more is an error (`FileTooLarge`).
pub fn read_environ(user: &User, pid: Pid) -> io::Result<Vec<u8>> {
    let opened;
    let mut file = if let Some(file) = user.environ() {
        file
    } else {
        opened = File::open(format!("/proc/{}/environ", pid.get()))?;
        &opened
    };
    let mut size = FIRST_READ;
    loop {
        let mut buffer = vec![0; size];
        let count = file.read(&mut buffer)?;
        if count < size {
            buffer.truncate(count);
            return Ok(buffer);
        }
        size *= 2;
        if size > MAX_READ {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "the requester's environment is larger than 131072 bytes",
            ));
        }
        file.seek(SeekFrom::Start(0))?;
    }
}
