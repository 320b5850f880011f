//! The cifs-utils ID-mapping plugin interface (`cifsidmap.h`), loaded with `dlopen`.
//!
//! cifs-utils' `cifs.idmap`, `getcifsacl` and `setcifsacl` do not talk to winbind or sssd
//! themselves: they `dlopen` one shared object (Debian: `/etc/cifs-utils/idmap-plugin`, an
//! alternatives symlink to `idmapwb.so` or sssd's `cifs_idmap_sss.so`) and call six C functions it
//! exports. This module is the only place kup calls them. It owns:
//!
//! - loading: `dlopen(path, RTLD_LAZY)`, then `cifs_idmap_init_plugin(&handle, &errmsg)`;
//! - the calls, with the packed C structs represented as plain byte arrays (`struct cifs_sid`,
//!   68 bytes; `struct cifs_uxid`, 5 bytes) so no Rust layout assumption is involved;
//! - the error string protocol: init gets the address of a `const char *` slot, which the plugin
//!   keeps and points at its error text on any later failure; the text is copied out after every
//!   failed call. The slot is a heap cell reached only through a raw pointer (never through a
//!   `Box` or reference that Rust may assume unaliased while C writes to it) and freed on drop;
//! - `cifs_idmap_exit_plugin(handle)` on drop, only for a context init created (a plugin without
//!   init, or whose init failed, never sees exit, as in the reference). The library itself is
//!   never unloaded (`dlclose`), as in the reference: plugins link libraries (libwbclient,
//!   libsss_*) that do not expect it.
//!
//! Symbols are resolved once at load time; a missing one is reported on use as the reference does
//! (`<function> not implemented`, `-ENOSYS`). What path to load, and whether its owner and mode are
//! acceptable, is the caller's decision.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr::{self, NonNull};

/// `O_PATH`, for callers that check a plugin file by descriptor before loading it.
pub const OPEN_PATH_ONLY: i32 = libc::O_PATH;

/// Size of the packed `struct cifs_sid`.
pub const CIFS_SID_LEN: usize = 68;
/// Size of the packed `struct cifs_uxid` (`uid_t` id + `unsigned char` type).
pub const CIFS_UXID_LEN: usize = 5;

/// The plugin's answer type for an id (`CIFS_UXID_TYPE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdType {
    /// `0`: unknown / not mapped.
    Unknown,
    /// `1`: a uid.
    Uid,
    /// `2`: a gid.
    Gid,
    /// `3`: usable as uid and gid.
    Both,
    /// Any other byte a plugin might write.
    Other(u8),
}

impl IdType {
    /// The `type` byte of `struct cifs_uxid`.
    #[must_use]
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Uid => 1,
            Self::Gid => 2,
            Self::Both => 3,
            Self::Other(byte) => byte,
        }
    }

    /// Reads the `type` byte.
    #[must_use]
    pub const fn from_byte(byte: u8) -> Self {
        match byte {
            0 => Self::Unknown,
            1 => Self::Uid,
            2 => Self::Gid,
            3 => Self::Both,
            other => Self::Other(other),
        }
    }
}

/// A uid or gid with its type (`struct cifs_uxid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UnixId {
    /// The id (native endian in the C struct).
    pub id: u32,
    /// Its type.
    pub id_type: IdType,
}

/// A failed plugin call: the function's non-zero return value and the plugin's error text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginError {
    /// The C return value (the reference exits with it, truncated to 8 bits).
    pub code: i32,
    /// The string the plugin pointed `errmsg` at (lossily decoded), or the loader's message.
    pub message: String,
}

impl std::fmt::Display for PluginError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} (plugin returned {})", self.message, self.code)
    }
}

impl std::error::Error for PluginError {}

type InitFn = unsafe extern "C" fn(*mut *mut c_void, *mut *const c_char) -> c_int;
type ExitFn = unsafe extern "C" fn(*mut c_void);
type SidToStrFn = unsafe extern "C" fn(*mut c_void, *const u8, *mut *mut c_char) -> c_int;
type StrToSidFn = unsafe extern "C" fn(*mut c_void, *const c_char, *mut u8) -> c_int;
type SidsToIdsFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8) -> c_int;
type IdsToSidsFn = unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut u8) -> c_int;

/// A loaded and initialised idmap plugin.
///
/// Not `Send`/`Sync`: plugin contexts are not documented as thread-safe.
pub struct IdmapPlugin {
    handle: *mut c_void,
    /// The errmsg slot handed to init: allocated by `Box::into_raw` in [`IdmapPlugin::load`] and
    /// freed in `drop`, otherwise only read and written through this raw pointer (by the plugin
    /// and by [`IdmapPlugin::error`]), so its address stays valid and unaliased by Rust while
    /// `self` moves.
    errmsg: NonNull<*const c_char>,
    /// `Some` only once init succeeded: exit destroys the context init created.
    exit: Option<ExitFn>,
    sid_to_str: Option<SidToStrFn>,
    str_to_sid: Option<StrToSidFn>,
    sids_to_ids: Option<SidsToIdsFn>,
    ids_to_sids: Option<IdsToSidsFn>,
}

const ENOSYS: i32 = libc::ENOSYS;

impl IdmapPlugin {
    /// `dlopen(path, RTLD_LAZY)` and `cifs_idmap_init_plugin`. Errors: the `dlerror()` text
    /// (code `-1`), a missing init symbol (`-ENOSYS`), or the plugin's init failure.
    pub fn load(path: &Path) -> Result<Self, PluginError> {
        let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| PluginError {
            code: -libc::EINVAL,
            message: "plugin path contains a NUL byte".to_owned(),
        })?;
        // SAFETY: `c_path` is a valid NUL-terminated string for the duration of the call.
        let library = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_LAZY) };
        if library.is_null() {
            return Err(PluginError {
                code: -1,
                message: last_dl_error(),
            });
        }
        // SAFETY: `library` is a live handle from `dlopen` that is never closed, and the function
        // pointer type is the C prototype from cifs-utils' `cifsidmap.h` (same for the five below).
        let init: Option<InitFn> = unsafe { symbol(library, c"cifs_idmap_init_plugin") };
        // Without init there is no context: refuse before anything could call exit.
        let init = init.ok_or_else(|| not_implemented("cifs_idmap_init_plugin"))?;
        // SAFETY: as above.
        let exit: Option<ExitFn> = unsafe { symbol(library, c"cifs_idmap_exit_plugin") };
        let mut plugin = Self {
            handle: ptr::null_mut(),
            errmsg: NonNull::from(Box::leak(Box::new(ptr::null()))),
            exit: None,
            // SAFETY: as above.
            sid_to_str: unsafe { symbol(library, c"cifs_idmap_sid_to_str") },
            // SAFETY: as above.
            str_to_sid: unsafe { symbol(library, c"cifs_idmap_str_to_sid") },
            // SAFETY: as above.
            sids_to_ids: unsafe { symbol(library, c"cifs_idmap_sids_to_ids") },
            // SAFETY: as above.
            ids_to_sids: unsafe { symbol(library, c"cifs_idmap_ids_to_sids") },
        };
        // SAFETY: both out-pointers are valid for writes: `handle` for this call, the errmsg slot
        // (a heap cell reached only through raw pointers) until `plugin` is dropped, after the
        // last call into the plugin.
        let code = unsafe { init(&raw mut plugin.handle, plugin.errmsg.as_ptr()) };
        if code != 0 {
            // The context was not created: `exit` stays `None`.
            return Err(plugin.error(code));
        }
        plugin.exit = exit;
        Ok(plugin)
    }

    /// `cifs_idmap_str_to_sid`: a SID string or a name to a binary `struct cifs_sid`.
    pub fn str_to_sid(&self, name: &CStr) -> Result<[u8; CIFS_SID_LEN], PluginError> {
        let function = self
            .str_to_sid
            .ok_or_else(|| not_implemented("cifs_idmap_str_to_sid"))?;
        let mut sid = [0u8; CIFS_SID_LEN];
        // SAFETY: `name` is NUL-terminated; `sid` is a writable 68-byte buffer, the size of the
        // packed struct the plugin writes; `handle` is the context from init.
        let code = unsafe { function(self.handle, name.as_ptr(), sid.as_mut_ptr()) };
        if code == 0 { Ok(sid) } else { Err(self.error(code)) }
    }

    /// `cifs_idmap_sids_to_ids` with one SID. The plugin returns 0 even when it could not map
    /// the SID: then the type is [`IdType::Unknown`].
    pub fn sid_to_id(&self, sid: &[u8; CIFS_SID_LEN]) -> Result<UnixId, PluginError> {
        let function = self
            .sids_to_ids
            .ok_or_else(|| not_implemented("cifs_idmap_sids_to_ids"))?;
        let mut uxid = [0u8; CIFS_UXID_LEN];
        // SAFETY: `sid` points at one readable 68-byte struct, `uxid` at one writable 5-byte
        // struct, matching `num = 1`; `handle` is the context from init.
        let code = unsafe { function(self.handle, sid.as_ptr(), 1, uxid.as_mut_ptr()) };
        if code != 0 {
            return Err(self.error(code));
        }
        let [i0, i1, i2, i3, type_byte] = uxid;
        Ok(UnixId {
            id: u32::from_ne_bytes([i0, i1, i2, i3]),
            id_type: IdType::from_byte(type_byte),
        })
    }

    /// `cifs_idmap_ids_to_sids` with one id. Returns the 68 bytes as the plugin left them (the
    /// buffer starts zeroed, so a plugin that writes only the meaningful part leaves a zero tail);
    /// a plugin that could not map the id sets the revision byte to 0.
    pub fn id_to_sid(&self, id: UnixId) -> Result<[u8; CIFS_SID_LEN], PluginError> {
        let function = self
            .ids_to_sids
            .ok_or_else(|| not_implemented("cifs_idmap_ids_to_sids"))?;
        let [i0, i1, i2, i3] = id.id.to_ne_bytes();
        let uxid = [i0, i1, i2, i3, id.id_type.to_byte()];
        let mut sid = [0u8; CIFS_SID_LEN];
        // SAFETY: `uxid` is one readable 5-byte struct, `sid` one writable 68-byte struct,
        // matching `num = 1`; `handle` is the context from init.
        let code = unsafe { function(self.handle, uxid.as_ptr(), 1, sid.as_mut_ptr()) };
        if code == 0 { Ok(sid) } else { Err(self.error(code)) }
    }

    /// `cifs_idmap_sid_to_str`: a binary SID to the plugin's name for it (`DOMAIN\name` for
    /// winbind). The plugin allocates the string with `malloc`; it is copied and freed here.
    pub fn sid_to_str(&self, sid: &[u8; CIFS_SID_LEN]) -> Result<Vec<u8>, PluginError> {
        let function = self
            .sid_to_str
            .ok_or_else(|| not_implemented("cifs_idmap_sid_to_str"))?;
        let mut name: *mut c_char = ptr::null_mut();
        // SAFETY: `sid` is one readable 68-byte struct; `name` is a writable out-pointer.
        let code = unsafe { function(self.handle, sid.as_ptr(), &raw mut name) };
        if code != 0 {
            return Err(self.error(code));
        }
        if name.is_null() {
            return Err(PluginError {
                code: -libc::EIO,
                message: "plugin returned no name".to_owned(),
            });
        }
        // SAFETY: on success the plugin hands over a NUL-terminated heap string.
        let bytes = unsafe { CStr::from_ptr(name) }.to_bytes().to_vec();
        // SAFETY: the contract says the caller frees the string, allocated with malloc.
        unsafe { libc::free(name.cast()) };
        Ok(bytes)
    }

    /// The plugin's current error string.
    fn error(&self, code: c_int) -> PluginError {
        // SAFETY: the slot is a live, initialised heap cell (freed only in drop) that the plugin
        // writes only during calls into it, none of which is running now.
        let pointer = unsafe { self.errmsg.as_ptr().read() };
        let message = if pointer.is_null() {
            "unknown plugin error".to_owned()
        } else {
            // SAFETY: the plugin contract: errmsg points at a NUL-terminated string it keeps
            // alive (static or owned by the context, which is still alive).
            unsafe { CStr::from_ptr(pointer) }.to_string_lossy().into_owned()
        };
        PluginError { code, message }
    }
}

impl Drop for IdmapPlugin {
    fn drop(&mut self) {
        if let Some(exit) = self.exit.take() {
            // SAFETY: `handle` is the context init created, destroyed exactly once here.
            unsafe { exit(self.handle) };
        }
        // SAFETY: the slot came from `Box::leak` in `load` and is freed only here, after the last
        // call into the plugin (exit above).
        drop(unsafe { Box::from_raw(self.errmsg.as_ptr()) });
    }
}

fn not_implemented(function: &str) -> PluginError {
    PluginError {
        code: -ENOSYS,
        message: format!("{function} not implemented"),
    }
}

fn last_dl_error() -> String {
    // SAFETY: dlerror has no preconditions; it returns NULL or a thread-local string.
    let text = unsafe { libc::dlerror() };
    if text.is_null() {
        "dlopen failed".to_owned()
    } else {
        // SAFETY: dlerror returned a valid NUL-terminated string, read before any other dl call.
        unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
    }
}

/// Looks up `name` and reinterprets it as the function pointer type `F`.
///
/// # Safety
/// `library` must be a live `dlopen` handle, and the symbol, if present, must be a function with
/// the C prototype `F` describes.
unsafe fn symbol<F: Copy>(library: *mut c_void, name: &CStr) -> Option<F> {
    const { assert!(size_of::<F>() == size_of::<*mut c_void>()) };
    // SAFETY: `library` is live (caller's contract) and `name` is NUL-terminated.
    let address = unsafe { libc::dlsym(library, name.as_ptr()) };
    if address.is_null() {
        return None;
    }
    // SAFETY: `F` is a function pointer type of pointer size (checked above), and the caller
    // guarantees the symbol has that prototype.
    Some(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&address) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_a_missing_file_reports_the_dlerror_text() {
        let error = IdmapPlugin::load(Path::new("/nonexistent/kup-idmap-plugin.so"))
            .err()
            .expect("load must fail");
        assert_eq!(error.code, -1);
        assert!(error.message.contains("kup-idmap-plugin.so"), "{error}");
    }

    #[test]
    fn a_library_without_the_init_symbol_is_not_implemented() {
        let error = IdmapPlugin::load(Path::new("libc.so.6"))
            .err()
            .expect("libc has no idmap plugin symbols");
        assert_eq!(error.code, -libc::ENOSYS);
        assert_eq!(error.message, "cifs_idmap_init_plugin not implemented");
    }

    #[test]
    fn id_types_round_trip_through_their_byte() {
        for byte in 0..=255u8 {
            assert_eq!(IdType::from_byte(byte).to_byte(), byte);
        }
        assert_eq!(IdType::from_byte(3), IdType::Both);
    }
}
