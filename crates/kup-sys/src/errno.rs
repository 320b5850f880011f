//! Linux errno values, taken from `libc` so that no crate writes an errno as a number.
//!
//! The helpers pass errno values to the kernel (`KEYCTL_REJECT`), exit with them (cifs.idmap) and
//! compare them with what a syscall returned. These are plain constants; nothing here is
//! `unsafe`.

pub use libc::{
    EACCES, EAGAIN, ECONNREFUSED, EDQUOT, EINTR, EINVAL, EIO, EKEYEXPIRED, ENFILE, ENODATA, ENOENT, ENOKEY,
    ENOMEM, ENOSPC, ENOTSUP, EOPNOTSUPP, EOVERFLOW, ERANGE, ESRCH,
};
