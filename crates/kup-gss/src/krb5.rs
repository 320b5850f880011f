//! Owned wrappers over MIT krb5: a library context, principals, credential caches, keytabs,
//! the keytab fallback into a `MEMORY:` ccache (cifs-upcall spec §11.3) and the native AP-REQ
//! with its send subkey (§12).
//!
//! Every object borrows the [`Context`] it was made with and is released on drop. Nothing here
//! chooses a ccache or a host: the caller does (spec §11, §13).

use std::ffi::{CStr, CString, c_char};
use std::fmt;
use std::ops::ControlFlow;
use std::ptr;

use crate::secret::{SecretBytes, SessionKey, wipe};
use crate::sys;

/// A failed krb5 call: the library's error code and its message
/// (`krb5_get_error_message`, which includes the detail MIT records, e.g. the principal).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Krb5Error {
    /// The `krb5_error_code` (a `com_err` code such as `KRB5_CC_NOTFOUND`, or an errno).
    pub code: i32,
    /// The library's message for it.
    pub message: String,
}

impl fmt::Display for Krb5Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (krb5 error {})", self.message, self.code)
    }
}

impl std::error::Error for Krb5Error {}

/// `EINVAL`, for a string argument that cannot be passed to C (an interior NUL byte).
const EINVAL: i32 = 22;

/// The 24-byte value of the GSS-API (0x8003) authenticator checksum the caller passes to
/// [`Context::ap_req`] (built by kup-spnego for cifs.upcall: length 16, no channel bindings,
/// no flags).
pub type GssChecksum = [u8; 24];

/// An MIT krb5 library context (`krb5_context`). Not thread-safe: `!Send`, `!Sync`.
pub struct Context {
    raw: sys::krb5_context,
}

impl Context {
    /// `krb5_init_context`: reads the configuration (`KRB5_CONFIG`, else `/etc/krb5.conf`) now.
    pub fn new() -> Result<Self, Krb5Error> {
        let mut raw = ptr::null_mut();
        // SAFETY: `raw` is a valid out-pointer; on success it owns a context freed in `Drop`.
        let code = unsafe { sys::krb5_init_context(&raw mut raw) };
        if code != 0 || raw.is_null() {
            return Err(Krb5Error {
                code,
                message: format!("cannot initialise the Kerberos library (krb5_init_context: {code})"),
            });
        }
        Ok(Context { raw })
    }

    /// The typed error for `code`, with the library's message.
    fn error(&self, code: sys::krb5_error_code) -> Krb5Error {
        // SAFETY: `self.raw` is a live context; the returned string is freed below.
        let text = unsafe { sys::krb5_get_error_message(self.raw, code) };
        let message = if text.is_null() {
            format!("unknown Kerberos error {code}")
        } else {
            // SAFETY: the library returned a NUL-terminated string that lives until freed.
            let owned = unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned();
            // SAFETY: `text` came from krb5_get_error_message on this context, freed once.
            unsafe { sys::krb5_free_error_message(self.raw, text) };
            owned
        };
        Krb5Error { code, message }
    }

    fn check(&self, code: sys::krb5_error_code) -> Result<(), Krb5Error> {
        if code == 0 { Ok(()) } else { Err(self.error(code)) }
    }

    /// The current time as the library sees it (`krb5_timeofday`: includes any time offset).
    pub fn now(&self) -> Result<i32, Krb5Error> {
        let mut now = 0;
        // SAFETY: live context, valid out-pointer.
        let code = unsafe { sys::krb5_timeofday(self.raw, &raw mut now) };
        self.check(code)?;
        Ok(now)
    }

    /// `krb5_parse_name`: `alice` means `alice@<default_realm>`.
    pub fn parse_name(&self, name: &str) -> Result<Principal<'_>, Krb5Error> {
        let name = c_string("principal name", name)?;
        let mut raw = ptr::null_mut();
        // SAFETY: live context, NUL-terminated input, valid out-pointer (owned by Principal).
        let code = unsafe { sys::krb5_parse_name(self.raw, name.as_ptr(), &raw mut raw) };
        self.check(code)?;
        Ok(Principal { context: self, raw })
    }

    /// `krb5_parse_name` of raw bytes (a displayed GSS name need not be UTF-8).
    pub fn parse_name_bytes(&self, name: &[u8]) -> Result<Principal<'_>, Krb5Error> {
        let name = CString::new(name).map_err(|_| Krb5Error {
            code: EINVAL,
            message: "principal name contains a NUL byte".to_owned(),
        })?;
        let mut raw = ptr::null_mut();
        // SAFETY: live context, NUL-terminated input, valid out-pointer (owned by Principal).
        let code = unsafe { sys::krb5_parse_name(self.raw, name.as_ptr(), &raw mut raw) };
        self.check(code)?;
        Ok(Principal { context: self, raw })
    }

    /// `krb5_sname_to_principal(host, service, KRB5_NT_UNKNOWN)`: `cifs/<host>@<realm>` with
    /// the realm from `[domain_realm]` (or the referral realm), no host canonicalisation.
    pub fn service_principal(&self, host: &str, service: &str) -> Result<Principal<'_>, Krb5Error> {
        let host = c_string("host name", host)?;
        let service = c_string("service name", service)?;
        let mut raw = ptr::null_mut();
        // SAFETY: live context, NUL-terminated inputs, valid out-pointer (owned by Principal).
        let code = unsafe {
            sys::krb5_sname_to_principal(
                self.raw,
                host.as_ptr(),
                service.as_ptr(),
                sys::KRB5_NT_UNKNOWN,
                &raw mut raw,
            )
        };
        self.check(code)?;
        Ok(Principal { context: self, raw })
    }

    /// `krb5_cc_default`: `KRB5CCNAME`, else krb5.conf's `default_ccache_name`, else
    /// `FILE:/tmp/krb5cc_<uid>`. Resolving does not open the cache.
    pub fn default_ccache(&self) -> Result<Ccache<'_>, Krb5Error> {
        let mut raw = ptr::null_mut();
        // SAFETY: live context, valid out-pointer (owned by Ccache).
        let code = unsafe { sys::krb5_cc_default(self.raw, &raw mut raw) };
        self.check(code)?;
        Ok(Ccache::closing(self, raw))
    }

    /// `krb5_cc_resolve` of a `TYPE:residual` name (`FILE:`, `DIR:`, `KEYRING:`, `KCM:`, ...).
    pub fn resolve_ccache(&self, name: &str) -> Result<Ccache<'_>, Krb5Error> {
        let name = c_string("ccache name", name)?;
        let mut raw = ptr::null_mut();
        // SAFETY: live context, NUL-terminated input, valid out-pointer (owned by Ccache).
        let code = unsafe { sys::krb5_cc_resolve(self.raw, name.as_ptr(), &raw mut raw) };
        self.check(code)?;
        Ok(Ccache::closing(self, raw))
    }

    /// A fresh, empty, process-private `MEMORY:` ccache (`krb5_cc_new_unique`), destroyed (not
    /// merely closed) on drop, so its tickets and keys leave memory with it.
    pub fn new_memory_ccache(&self) -> Result<Ccache<'_>, Krb5Error> {
        let mut raw = ptr::null_mut();
        // SAFETY: live context, static NUL-terminated type, null hint allowed, valid out-pointer.
        let code =
            unsafe { sys::krb5_cc_new_unique(self.raw, c"MEMORY".as_ptr(), ptr::null(), &raw mut raw) };
        self.check(code)?;
        Ok(Ccache {
            context: self,
            raw,
            destroy_on_drop: true,
        })
    }

    /// `krb5_kt_default`: `KRB5_KTNAME`, else krb5.conf's `default_keytab_name`, else
    /// `FILE:/etc/krb5.keytab`.
    pub fn default_keytab(&self) -> Result<Keytab<'_>, Krb5Error> {
        let mut raw = ptr::null_mut();
        // SAFETY: live context, valid out-pointer (owned by Keytab).
        let code = unsafe { sys::krb5_kt_default(self.raw, &raw mut raw) };
        self.check(code)?;
        Ok(Keytab { context: self, raw })
    }

    /// `krb5_kt_resolve` of a keytab name (`FILE:/path` or a bare path).
    pub fn resolve_keytab(&self, name: &str) -> Result<Keytab<'_>, Krb5Error> {
        let name = c_string("keytab name", name)?;
        let mut raw = ptr::null_mut();
        // SAFETY: live context, NUL-terminated input, valid out-pointer (owned by Keytab).
        let code = unsafe { sys::krb5_kt_resolve(self.raw, name.as_ptr(), &raw mut raw) };
        self.check(code)?;
        Ok(Keytab { context: self, raw })
    }

    /// The keytab fallback (spec §11.3): initial credentials for `client` from `keytab`
    /// (`krb5_get_init_creds_keytab`), stored in a fresh `MEMORY:` ccache; nothing is written
    /// to disk.
    pub fn init_creds_keytab(
        &self,
        client: &Principal<'_>,
        keytab: &Keytab<'_>,
    ) -> Result<Ccache<'_>, Krb5Error> {
        let mut creds = OwnedCreds {
            context: self,
            creds: sys::krb5_creds::zeroed(),
        };
        // SAFETY: live context; `creds` is a zeroed struct the library fills (freed by
        // OwnedCreds); client and keytab are live handles of this context; no options.
        let code = unsafe {
            sys::krb5_get_init_creds_keytab(
                self.raw,
                &raw mut creds.creds,
                client.raw,
                keytab.raw,
                0,
                ptr::null(),
                ptr::null_mut(),
            )
        };
        self.check(code)?;
        let ccache = self.new_memory_ccache()?;
        ccache.initialize(client)?;
        // SAFETY: live context and ccache; `creds` holds the credentials just obtained (the
        // library copies them).
        let code = unsafe { sys::krb5_cc_store_cred(self.raw, ccache.raw, &raw mut creds.creds) };
        self.check(code)?;
        Ok(ccache)
    }

    /// The native path of spec §12: a service ticket for `server` from `ccache`
    /// (`krb5_get_credentials`: cached, or from the KDC and then stored in `ccache`), then an
    /// AP-REQ from an addressless auth context with `AP_OPTS_USE_SUBKEY` and the GSS-API
    /// (0x8003) checksum `checksum`. Returns the AP-REQ's DER bytes and the send subkey.
    pub fn ap_req(
        &self,
        ccache: &Ccache<'_>,
        server: &Principal<'_>,
        checksum: &GssChecksum,
    ) -> Result<(Vec<u8>, SessionKey), Krb5Error> {
        let client = ccache.principal()?;
        let mut in_creds = sys::krb5_creds::zeroed();
        in_creds.client = client.raw;
        in_creds.server = server.raw;
        let mut out_creds: *mut sys::krb5_creds = ptr::null_mut();
        // SAFETY: live context and ccache; `in_creds` only borrows the two principals (which
        // outlive the call) and is never freed by us; `out_creds` is a valid out-pointer.
        let code = unsafe {
            sys::krb5_get_credentials(self.raw, 0, ccache.raw, &raw mut in_creds, &raw mut out_creds)
        };
        self.check(code)?;
        let service_creds = AllocatedCreds {
            context: self,
            raw: out_creds,
        };

        let mut auth_context = AuthContext {
            context: self,
            raw: ptr::null_mut(),
        };
        // SAFETY: live context, valid out-pointer (owned by AuthContext).
        let code = unsafe { sys::krb5_auth_con_init(self.raw, &raw mut auth_context.raw) };
        self.check(code)?;
        // SAFETY: live context and auth context; null addresses are allowed (no addresses).
        let code = unsafe {
            sys::krb5_auth_con_setaddrs(self.raw, auth_context.raw, ptr::null_mut(), ptr::null_mut())
        };
        self.check(code)?;
        // SAFETY: live context and auth context.
        let code = unsafe {
            sys::krb5_auth_con_set_req_cksumtype(self.raw, auth_context.raw, sys::CKSUMTYPE_GSSAPI)
        };
        self.check(code)?;

        let mut in_data = sys::krb5_data {
            magic: 0,
            length: 24,
            data: checksum.as_ptr().cast::<c_char>().cast_mut(),
        };
        let mut out = OwnedData {
            context: self,
            data: sys::krb5_data {
                magic: 0,
                length: 0,
                data: ptr::null_mut(),
            },
        };
        // SAFETY: live context; `auth_context.raw` is a live auth context (the library may
        // replace it through the pointer; AuthContext frees whatever is there); `in_data`
        // points at 24 readable bytes the library only reads; `service_creds.raw` are the
        // credentials from krb5_get_credentials; `out.data` is an empty krb5_data to fill.
        let code = unsafe {
            sys::krb5_mk_req_extended(
                self.raw,
                &raw mut auth_context.raw,
                sys::AP_OPTS_USE_SUBKEY,
                &raw mut in_data,
                service_creds.raw,
                &raw mut out.data,
            )
        };
        self.check(code)?;
        let ap_req = out.to_vec();

        let mut keyblock: *mut sys::krb5_keyblock = ptr::null_mut();
        // SAFETY: live context and auth context; valid out-pointer (freed below).
        let code = unsafe { sys::krb5_auth_con_getsendsubkey(self.raw, auth_context.raw, &raw mut keyblock) };
        self.check(code)?;
        if keyblock.is_null() {
            return Err(Krb5Error {
                code: EINVAL,
                message: "the auth context has no send subkey".to_owned(),
            });
        }
        // SAFETY: non-null keyblock returned by the library, valid until freed below.
        let block = unsafe { &*keyblock };
        let key = if block.contents.is_null() || block.length == 0 {
            None
        } else {
            // SAFETY: `contents` points at `length` bytes owned by the keyblock.
            let bytes = unsafe { std::slice::from_raw_parts(block.contents, block.length as usize) };
            Some(SessionKey::new(block.enctype, bytes))
        };
        // SAFETY: `keyblock` came from krb5_auth_con_getsendsubkey; freed once (the library
        // zeroes the contents).
        unsafe { sys::krb5_free_keyblock(self.raw, keyblock) };
        let key = key.ok_or_else(|| Krb5Error {
            code: EINVAL,
            message: "the send subkey is empty".to_owned(),
        })?;
        Ok((ap_req, key))
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: `raw` came from krb5_init_context; every object borrowing it is gone.
        unsafe { sys::krb5_free_context(self.raw) };
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("krb5::Context")
    }
}

/// A Kerberos principal (`krb5_principal`), freed on drop.
pub struct Principal<'c> {
    context: &'c Context,
    raw: sys::krb5_principal,
}

impl Principal<'_> {
    /// `krb5_unparse_name`: `name/instance@REALM`, with MIT's escaping.
    pub fn unparse(&self) -> Result<String, Krb5Error> {
        unparse(self.context, self.raw)
    }

    /// The realm's bytes.
    #[must_use]
    pub fn realm(&self) -> Vec<u8> {
        realm_of(self.raw)
    }

    /// `krb5_aname_to_localname` with the same 8,192-byte buffer (`BUFSIZ`) MIT's krb5
    /// mechanism gives it for `gss_localname`: the local account name the context's
    /// `auth_to_local` rules (and localauth modules) map this principal to.
    pub fn local_name(&self) -> Result<Vec<u8>, Krb5Error> {
        const BUFSIZ: usize = 8192;
        let mut buffer = vec![0u8; BUFSIZ];
        // SAFETY: live context and principal; `buffer` has BUFSIZ writable bytes, which is the
        // size passed (the library writes a NUL-terminated name within it).
        let code = unsafe {
            sys::krb5_aname_to_localname(
                self.context.raw,
                self.raw,
                std::ffi::c_int::try_from(BUFSIZ).unwrap_or(0),
                buffer.as_mut_ptr().cast::<c_char>(),
            )
        };
        self.context.check(code)?;
        let end = buffer.iter().position(|&byte| byte == 0).unwrap_or(buffer.len());
        buffer.truncate(end);
        Ok(buffer)
    }
}

impl PartialEq for Principal<'_> {
    /// `krb5_principal_compare`: same components and realm.
    fn eq(&self, other: &Self) -> bool {
        // SAFETY: live context; both principals are live.
        unsafe { sys::krb5_principal_compare(self.context.raw, self.raw, other.raw) != 0 }
    }
}

impl Drop for Principal<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` was allocated by the library for this context and is freed once.
        unsafe { sys::krb5_free_principal(self.context.raw, self.raw) };
    }
}

impl fmt::Debug for Principal<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unparse() {
            Ok(name) => write!(f, "Principal({name})"),
            Err(_) => f.write_str("Principal(?)"),
        }
    }
}

/// A credential cache (`krb5_ccache`): closed on drop, or destroyed for the `MEMORY:` caches
/// this crate creates.
pub struct Ccache<'c> {
    context: &'c Context,
    raw: sys::krb5_ccache,
    destroy_on_drop: bool,
}

/// One credential seen while iterating a ccache: what the checks of spec §11.2 read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialInfo {
    /// The service principal, unparsed (`krbtgt/KUP.TEST@KUP.TEST`, `cifs/host@KUP.TEST`).
    pub server: String,
    /// The service principal's realm.
    pub server_realm: Vec<u8>,
    /// The ticket's end time (seconds since the epoch, as the library stores it).
    pub end_time: i32,
}

impl<'c> Ccache<'c> {
    fn closing(context: &'c Context, raw: sys::krb5_ccache) -> Self {
        Ccache {
            context,
            raw,
            destroy_on_drop: false,
        }
    }

    /// `krb5_cc_get_full_name`: `TYPE:residual`.
    pub fn full_name(&self) -> Result<String, Krb5Error> {
        let mut name: *mut c_char = ptr::null_mut();
        // SAFETY: live context and ccache; valid out-pointer (freed below).
        let code = unsafe { sys::krb5_cc_get_full_name(self.context.raw, self.raw, &raw mut name) };
        self.context.check(code)?;
        // SAFETY: the library returned a NUL-terminated string, freed right after the copy.
        let owned = unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned();
        // SAFETY: `name` came from krb5_cc_get_full_name; freed once.
        unsafe { sys::krb5_free_string(self.context.raw, name) };
        Ok(owned)
    }

    /// `krb5_cc_get_principal`: the cache's default (client) principal. Fails when the cache
    /// does not exist or is not initialised.
    pub fn principal(&self) -> Result<Principal<'c>, Krb5Error> {
        let mut raw = ptr::null_mut();
        // SAFETY: live context and ccache; valid out-pointer (owned by Principal).
        let code = unsafe { sys::krb5_cc_get_principal(self.context.raw, self.raw, &raw mut raw) };
        self.context.check(code)?;
        Ok(Principal {
            context: self.context,
            raw,
        })
    }

    /// `krb5_cc_initialize`: empties the cache and sets its default principal.
    pub fn initialize(&self, principal: &Principal<'_>) -> Result<(), Krb5Error> {
        // SAFETY: live context, ccache and principal.
        let code = unsafe { sys::krb5_cc_initialize(self.context.raw, self.raw, principal.raw) };
        self.context.check(code)
    }

    /// Calls `visit` with each credential in the cache, in order, until it breaks
    /// (`krb5_cc_start_seq_get` / `next_cred` / `end_seq_get`; each credential's contents,
    /// keys included, are freed as soon as `visit` returns).
    pub fn for_each_credential(
        &self,
        mut visit: impl FnMut(&CredentialInfo) -> ControlFlow<()>,
    ) -> Result<(), Krb5Error> {
        self.for_each_raw(|creds| {
            let info = CredentialInfo {
                server: unparse(self.context, creds.server)?,
                server_realm: realm_of(creds.server),
                end_time: creds.times.endtime,
            };
            Ok(visit(&info))
        })
    }

    /// The ticket bytes of the first credential whose service principal unparses to `server`
    /// (the gssproxy interposer keeps its encrypted credential as the "ticket" of such an
    /// entry); `None` when the cache has none.
    pub fn ticket_for(&self, server: &str) -> Result<Option<Vec<u8>>, Krb5Error> {
        let mut found = None;
        self.for_each_raw(|creds| {
            if unparse(self.context, creds.server)? != server {
                return Ok(ControlFlow::Continue(()));
            }
            let length = usize::try_from(creds.ticket.length).unwrap_or(0);
            let bytes = if length == 0 || creds.ticket.data.is_null() {
                Vec::new()
            } else {
                // SAFETY: the library filled `ticket` with `length` readable bytes at `data`,
                // alive until the credential's contents are freed after this closure returns.
                unsafe { std::slice::from_raw_parts(creds.ticket.data.cast::<u8>(), length) }.to_vec()
            };
            found = Some(bytes);
            Ok(ControlFlow::Break(()))
        })?;
        Ok(found)
    }

    fn for_each_raw(
        &self,
        mut visit: impl FnMut(&sys::krb5_creds) -> Result<ControlFlow<()>, Krb5Error>,
    ) -> Result<(), Krb5Error> {
        let mut cursor: sys::krb5_cc_cursor = ptr::null_mut();
        // SAFETY: live context and ccache; valid out-pointer for the cursor (ended below).
        let code = unsafe { sys::krb5_cc_start_seq_get(self.context.raw, self.raw, &raw mut cursor) };
        self.context.check(code)?;
        let result = loop {
            let mut creds = OwnedCreds {
                context: self.context,
                creds: sys::krb5_creds::zeroed(),
            };
            // SAFETY: live context, ccache and cursor from start_seq_get; `creds` is zeroed
            // and filled by the library (freed by OwnedCreds).
            let code = unsafe {
                sys::krb5_cc_next_cred(self.context.raw, self.raw, &raw mut cursor, &raw mut creds.creds)
            };
            if code != 0 {
                // KRB5_CC_END ends the sequence; any other code is a read error. MIT returns
                // KRB5_CC_END (-1765328242) at the end; report anything else.
                break if code == KRB5_CC_END {
                    Ok(())
                } else {
                    Err(self.context.error(code))
                };
            }
            match visit(&creds.creds) {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => break Ok(()),
                Err(error) => break Err(error),
            }
        };
        // SAFETY: live context and ccache; `cursor` came from start_seq_get and is ended once.
        let code = unsafe { sys::krb5_cc_end_seq_get(self.context.raw, self.raw, &raw mut cursor) };
        result?;
        self.context.check(code)
    }

    /// Spec §11.2 (7.0): the cache holds a usable TGT: a credential whose service is in the
    /// client principal's realm, whose unparsed name starts (ASCII case-insensitively) with
    /// `krbtgt/<client realm>` and whose end time is after now. A cache that cannot be read
    /// (missing, no principal) has none.
    pub fn has_usable_tgt(&self) -> Result<bool, Krb5Error> {
        let Ok(client) = self.principal() else {
            return Ok(false);
        };
        let realm = client.realm();
        let mut prefix = b"krbtgt/".to_vec();
        prefix.extend_from_slice(&realm);
        let now = self.context.now()?;
        let mut found = false;
        self.for_each_credential(|cred| {
            let name = cred.server.as_bytes();
            if cred.server_realm == realm
                && name.len() >= prefix.len()
                && name[..prefix.len()].eq_ignore_ascii_case(&prefix)
                && timestamp_after(cred.end_time, now)
            {
                found = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        Ok(found)
    }

    /// Spec §11.2 (7.1+): the cache holds an unexpired ticket for exactly `server`. A cache
    /// that cannot be read (missing, no principal) has none.
    pub fn has_valid_ticket_for(&self, server: &Principal<'_>) -> Result<bool, Krb5Error> {
        if self.principal().is_err() {
            return Ok(false);
        }
        let wanted = server.unparse()?;
        let now = self.context.now()?;
        let mut found = false;
        self.for_each_credential(|cred| {
            if cred.server == wanted && timestamp_after(cred.end_time, now) {
                found = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        })?;
        Ok(found)
    }
}

impl Drop for Ccache<'_> {
    fn drop(&mut self) {
        if self.destroy_on_drop {
            // SAFETY: live context; `raw` is a handle of this context, released once (destroy
            // also closes it).
            unsafe { sys::krb5_cc_destroy(self.context.raw, self.raw) };
        } else {
            // SAFETY: live context; `raw` is a handle of this context, closed once.
            unsafe { sys::krb5_cc_close(self.context.raw, self.raw) };
        }
    }
}

impl fmt::Debug for Ccache<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.full_name() {
            Ok(name) => write!(f, "Ccache({name})"),
            Err(_) => f.write_str("Ccache(?)"),
        }
    }
}

/// `ENCTYPE_AES256_CTS_HMAC_SHA1_96`.
pub const ENCTYPE_AES256_CTS_HMAC_SHA1_96: i32 = 18;

/// Keys and encryption for data the caller keeps opaque to others (gssproxy's credential
/// handles): `krb5_c_encrypt`/`krb5_c_decrypt` with the application-data key usage, which
/// authenticates as well as encrypts (a modified or foreign ciphertext fails to decrypt).
impl Context {
    /// A fresh random key of `enctype` (`krb5_c_make_random_key`).
    pub fn random_key(&self, enctype: i32) -> Result<SessionKey, Krb5Error> {
        let mut block = sys::krb5_keyblock {
            magic: 0,
            enctype: 0,
            length: 0,
            contents: ptr::null_mut(),
        };
        // SAFETY: live context; `block` is a valid out-structure whose contents the library
        // allocates (freed, and zeroed by the library, below).
        let code = unsafe { sys::krb5_c_make_random_key(self.raw, enctype, &raw mut block) };
        self.check(code)?;
        let key = SessionKey::new(block.enctype, keyblock_bytes(&block));
        // SAFETY: contents allocated by krb5_c_make_random_key on this context; freed once.
        unsafe { sys::krb5_free_keyblock_contents(self.raw, &raw mut block) };
        Ok(key)
    }

    /// The key of the first entry of `keytab` whose enctype the configuration permits
    /// (`permitted_enctypes`); `None` when the keytab has no such entry (or no entries).
    /// A keytab that cannot be read is an error.
    pub fn first_permitted_key(&self, keytab: &Keytab<'_>) -> Result<Option<SessionKey>, Krb5Error> {
        let permitted = self.permitted_enctypes()?;
        let mut found = None;
        keytab.for_each_entry(|entry| {
            if permitted.contains(&entry.key.enctype) {
                found = Some(SessionKey::new(entry.key.enctype, keyblock_bytes(&entry.key)));
                return Ok(ControlFlow::Break(()));
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(found)
    }

    /// `krb5_get_permitted_enctypes`.
    fn permitted_enctypes(&self) -> Result<Vec<i32>, Krb5Error> {
        let mut list: *mut i32 = ptr::null_mut();
        // SAFETY: live context; valid out-pointer to a zero-terminated list (freed below).
        let code = unsafe { sys::krb5_get_permitted_enctypes(self.raw, &raw mut list) };
        self.check(code)?;
        let mut enctypes = Vec::new();
        if !list.is_null() {
            // SAFETY: the list is terminated by 0 (ENCTYPE_NULL); MIT knows far fewer than 256
            // enctypes, and reading stops at the terminator (below), so at most the
            // terminator's index is viewed; the slice is dropped before the list is freed.
            let values = unsafe { std::slice::from_raw_parts(list, terminated_length(list)) };
            enctypes.extend_from_slice(values);
        }
        // SAFETY: `list` came from krb5_get_permitted_enctypes (null is accepted); freed once.
        unsafe { sys::krb5_free_enctypes(self.raw, list) };
        Ok(enctypes)
    }

    /// `plain` encrypted with `key` (`krb5_c_encrypt`, application-data usage, no cipher state).
    pub fn encrypt(&self, key: &SessionKey, plain: &[u8]) -> Result<Vec<u8>, Krb5Error> {
        let block = borrowed_keyblock(key);
        let mut length = 0;
        // SAFETY: live context; valid out-pointer.
        let code =
            unsafe { sys::krb5_c_encrypt_length(self.raw, key.enctype(), plain.len(), &raw mut length) };
        self.check(code)?;
        let mut output = vec![0u8; length];
        let input = sys::krb5_data {
            magic: 0,
            length: c_uint_len(plain.len())?,
            data: plain.as_ptr().cast::<c_char>().cast_mut(),
        };
        let mut encrypted = sys::krb5_enc_data {
            magic: 0,
            enctype: 0,
            kvno: 0,
            ciphertext: sys::krb5_data {
                magic: 0,
                length: c_uint_len(output.len())?,
                data: output.as_mut_ptr().cast::<c_char>(),
            },
        };
        // SAFETY: live context; a keyblock borrowing the key's bytes (only read); no cipher
        // state; `input` points at `plain`'s readable bytes (only read); the ciphertext buffer
        // is `output`, exactly krb5_c_encrypt_length bytes, written by the library.
        let code = unsafe {
            sys::krb5_c_encrypt(
                self.raw,
                &raw const block,
                sys::KRB5_KEYUSAGE_APP_DATA_ENCRYPT,
                ptr::null(),
                &raw const input,
                &raw mut encrypted,
            )
        };
        self.check(code)?;
        output.truncate(encrypted.ciphertext.length as usize);
        Ok(output)
    }

    /// The plaintext of `cipher` under `key` (`krb5_c_decrypt`, application-data usage); a
    /// ciphertext made with another key or modified fails (integrity check).
    pub fn decrypt(&self, key: &SessionKey, cipher: &[u8]) -> Result<SecretBytes, Krb5Error> {
        let block = borrowed_keyblock(key);
        let mut output = vec![0u8; cipher.len()];
        let input = sys::krb5_enc_data {
            magic: 0,
            enctype: key.enctype(),
            kvno: 0,
            ciphertext: sys::krb5_data {
                magic: 0,
                length: c_uint_len(cipher.len())?,
                data: cipher.as_ptr().cast::<c_char>().cast_mut(),
            },
        };
        let mut plain = sys::krb5_data {
            magic: 0,
            length: c_uint_len(output.len())?,
            data: output.as_mut_ptr().cast::<c_char>(),
        };
        // SAFETY: live context; a keyblock borrowing the key's bytes (only read); no cipher
        // state; `input` points at `cipher`'s readable bytes (only read); `plain` is `output`,
        // as long as the ciphertext (the plaintext is shorter), written by the library, which
        // sets its final length.
        let code = unsafe {
            sys::krb5_c_decrypt(
                self.raw,
                &raw const block,
                sys::KRB5_KEYUSAGE_APP_DATA_ENCRYPT,
                ptr::null(),
                &raw const input,
                &raw mut plain,
            )
        };
        if code != 0 {
            wipe(&mut output);
            return Err(self.error(code));
        }
        let length = (plain.length as usize).min(output.len());
        wipe(&mut output[length..]);
        output.truncate(length);
        Ok(SecretBytes::new(output))
    }
}

/// How many values precede the 0 terminating an enctype list (at most 255).
fn terminated_length(list: *const i32) -> usize {
    let mut length = 0;
    while length < 255 {
        let element = list.wrapping_add(length);
        // SAFETY: `list` is a live zero-terminated enctype list and `length` has not passed its
        // terminator (the loop stops at it), so `element` points into it.
        let value = unsafe { element.read() };
        if value == 0 {
            break;
        }
        length += 1;
    }
    length
}

/// A `krb5_keyblock` borrowing `key`'s bytes (valid while `key` lives; the library only reads).
fn borrowed_keyblock(key: &SessionKey) -> sys::krb5_keyblock {
    sys::krb5_keyblock {
        magic: 0,
        enctype: key.enctype(),
        // A key is at most a few dozen bytes.
        length: u32::try_from(key.as_bytes().len()).unwrap_or(0),
        contents: key.as_bytes().as_ptr().cast_mut(),
    }
}

/// The bytes of a library keyblock (empty for none).
fn keyblock_bytes(block: &sys::krb5_keyblock) -> &[u8] {
    if block.contents.is_null() || block.length == 0 {
        return &[];
    }
    // SAFETY: a library-filled keyblock points at `length` readable bytes while it lives.
    unsafe { std::slice::from_raw_parts(block.contents, block.length as usize) }
}

/// A buffer length as `krb5_data` takes it.
fn c_uint_len(length: usize) -> Result<u32, Krb5Error> {
    u32::try_from(length).map_err(|_| Krb5Error {
        code: EINVAL,
        message: "a buffer over 4 GiB".to_owned(),
    })
}

/// A keytab handle (`krb5_keytab`), closed on drop. Resolving does not open the file.
pub struct Keytab<'c> {
    context: &'c Context,
    raw: sys::krb5_keytab,
}

impl Keytab<'_> {
    /// Calls `each` with every entry (`krb5_kt_start_seq_get` … `krb5_kt_end_seq_get`); each
    /// entry's contents are freed (key zeroed) after its call.
    fn for_each_entry(
        &self,
        mut each: impl FnMut(&mut sys::krb5_keytab_entry) -> Result<ControlFlow<()>, Krb5Error>,
    ) -> Result<(), Krb5Error> {
        let context = self.context;
        let mut cursor: *mut std::ffi::c_void = ptr::null_mut();
        // SAFETY: live context and keytab of this context; valid cursor out-pointer (ended below).
        let code = unsafe { sys::krb5_kt_start_seq_get(context.raw, self.raw, &raw mut cursor) };
        context.check(code)?;
        let mut result = Ok(());
        loop {
            let mut entry = empty_keytab_entry();
            // SAFETY: live context, keytab and cursor from krb5_kt_start_seq_get; `entry` a
            // valid out-structure whose contents the library allocates (freed below).
            let code =
                unsafe { sys::krb5_kt_next_entry(context.raw, self.raw, &raw mut entry, &raw mut cursor) };
            if code == sys::KRB5_KT_END {
                break;
            }
            if code != 0 {
                result = Err(context.error(code));
                break;
            }
            let outcome = each(&mut entry);
            // SAFETY: contents filled by krb5_kt_next_entry on this context; freed once (the
            // library zeroes the key).
            unsafe { sys::krb5_free_keytab_entry_contents(context.raw, &raw mut entry) };
            match outcome {
                Ok(ControlFlow::Continue(())) => {}
                Ok(ControlFlow::Break(())) => break,
                Err(error) => {
                    result = Err(error);
                    break;
                }
            }
        }
        // SAFETY: the cursor from krb5_kt_start_seq_get on this keytab; ended once.
        unsafe { sys::krb5_kt_end_seq_get(context.raw, self.raw, &raw mut cursor) };
        result
    }

    /// Adds every entry of `from` to this keytab (`krb5_kt_add_entry`): how a `MEMORY:` keytab
    /// gets a file keytab's keys, read once. Returns how many entries were copied.
    pub fn add_entries_of(&self, from: &Keytab<'_>) -> Result<usize, Krb5Error> {
        let mut copied = 0usize;
        from.for_each_entry(|entry| {
            // SAFETY: live context and keytab; `entry` is a complete entry the library filled
            // (the keytab copies what it keeps).
            let code = unsafe { sys::krb5_kt_add_entry(self.context.raw, self.raw, entry) };
            self.context.check(code)?;
            copied = copied.saturating_add(1);
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(copied)
    }

    /// Removes every entry (`krb5_kt_remove_entry`; MIT's `MEMORY:` keytabs outlive their
    /// handles, so their keys stay in memory until removed). Removal failures are skipped.
    pub fn remove_all_entries(&self) {
        let mut entries = Vec::new();
        let _ = self.for_each_entry(|entry| {
            entries.push(OwnedEntry::copy_of(self.context, entry));
            Ok(ControlFlow::Continue(()))
        });
        for mut owned in entries.into_iter().flatten() {
            // SAFETY: live context and keytab; `owned.entry` a complete entry we own.
            unsafe { sys::krb5_kt_remove_entry(self.context.raw, self.raw, &raw mut owned.entry) };
        }
    }
}

/// A `MEMORY:` keytab holding a copy of another keytab's entries, with its own library
/// context and an open handle for its whole life (MIT may destroy a `MEMORY:` keytab when its
/// last handle closes, and otherwise keeps it for the life of the process): every entry is
/// removed (keys zeroed by the library) and the handle closed on drop.
pub struct MemoryKeytab {
    raw: sys::krb5_keytab,
    name: String,
    // Dropped after `raw` is closed (see Drop).
    context: Context,
}

impl MemoryKeytab {
    /// `MEMORY:<residual>` with every entry of the keytab named `source`. An empty or
    /// unreadable source is an error.
    pub fn copy_of(source: &str, residual: &str) -> Result<Self, Krb5Error> {
        let context = Context::new()?;
        let name = format!("MEMORY:{residual}");
        let copy = context.resolve_keytab(&name)?;
        let copied = {
            let source = context.resolve_keytab(source)?;
            copy.add_entries_of(&source)
        };
        let raw = copy.raw;
        std::mem::forget(copy);
        let keytab = Self { raw, name, context };
        match copied {
            Ok(0) => Err(Krb5Error {
                code: sys::KRB5_KT_END,
                message: "the keytab has no entries".to_owned(),
            }),
            Ok(_) => Ok(keytab),
            Err(error) => Err(error),
        }
    }

    /// The keytab's name (`MEMORY:…`), for a credential store.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for MemoryKeytab {
    fn drop(&mut self) {
        // A view that does not close the handle (closed once below).
        let view = std::mem::ManuallyDrop::new(Keytab {
            context: &self.context,
            raw: self.raw,
        });
        view.remove_all_entries();
        // SAFETY: live context; `raw` is this context's handle, closed once.
        unsafe { sys::krb5_kt_close(self.context.raw, self.raw) };
    }
}

impl fmt::Debug for MemoryKeytab {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MemoryKeytab({})", self.name)
    }
}

/// An empty `krb5_keytab_entry` for the library to fill.
fn empty_keytab_entry() -> sys::krb5_keytab_entry {
    sys::krb5_keytab_entry {
        magic: 0,
        principal: ptr::null_mut(),
        timestamp: 0,
        vno: 0,
        key: sys::krb5_keyblock {
            magic: 0,
            enctype: 0,
            length: 0,
            contents: ptr::null_mut(),
        },
    }
}

/// A keytab entry identity (principal, vno, enctype) we own, for `krb5_kt_remove_entry`; the
/// key itself is not copied.
struct OwnedEntry<'c> {
    context: &'c Context,
    entry: sys::krb5_keytab_entry,
}

impl<'c> OwnedEntry<'c> {
    fn copy_of(context: &'c Context, entry: &sys::krb5_keytab_entry) -> Option<Self> {
        let mut principal = ptr::null_mut();
        // SAFETY: live context; the entry's principal is live during the iteration callback;
        // valid out-pointer (freed in Drop).
        let code = unsafe { sys::krb5_copy_principal(context.raw, entry.principal, &raw mut principal) };
        (code == 0).then(|| Self {
            context,
            entry: sys::krb5_keytab_entry {
                principal,
                vno: entry.vno,
                key: sys::krb5_keyblock {
                    enctype: entry.key.enctype,
                    ..empty_keytab_entry().key
                },
                ..empty_keytab_entry()
            },
        })
    }
}

impl Drop for OwnedEntry<'_> {
    fn drop(&mut self) {
        // SAFETY: the principal was copied by the library for this context; freed once.
        unsafe { sys::krb5_free_principal(self.context.raw, self.entry.principal) };
    }
}

impl Drop for Keytab<'_> {
    fn drop(&mut self) {
        // SAFETY: live context; `raw` is a handle of this context, closed once.
        unsafe { sys::krb5_kt_close(self.context.raw, self.raw) };
    }
}

impl fmt::Debug for Keytab<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keytab")
    }
}

/// `KRB5_CC_END` (`krb5_err.h`: "End of credential cache reached").
const KRB5_CC_END: i32 = -1_765_328_242;

/// A `krb5_creds` struct we own whose contents the library allocated.
struct OwnedCreds<'c> {
    context: &'c Context,
    creds: sys::krb5_creds,
}

impl Drop for OwnedCreds<'_> {
    fn drop(&mut self) {
        // SAFETY: the contents are either all null (never filled) or allocated by the library
        // for this context; krb5_free_cred_contents handles both and zeroes the key.
        unsafe { sys::krb5_free_cred_contents(self.context.raw, &raw mut self.creds) };
    }
}

/// A `krb5_creds *` the library allocated (`krb5_get_credentials`).
struct AllocatedCreds<'c> {
    context: &'c Context,
    raw: *mut sys::krb5_creds,
}

impl Drop for AllocatedCreds<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` came from krb5_get_credentials on this context; freed once.
        unsafe { sys::krb5_free_creds(self.context.raw, self.raw) };
    }
}

/// A `krb5_auth_context`, freed on drop (null until initialised).
struct AuthContext<'c> {
    context: &'c Context,
    raw: sys::krb5_auth_context,
}

impl Drop for AuthContext<'_> {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            // SAFETY: `raw` came from krb5_auth_con_init on this context; freed once.
            unsafe { sys::krb5_auth_con_free(self.context.raw, self.raw) };
        }
    }
}

/// A `krb5_data` whose contents the library allocated.
struct OwnedData<'c> {
    context: &'c Context,
    data: sys::krb5_data,
}

impl OwnedData<'_> {
    fn to_vec(&self) -> Vec<u8> {
        if self.data.data.is_null() || self.data.length == 0 {
            return Vec::new();
        }
        // SAFETY: the library filled `data` with `length` readable bytes.
        unsafe { std::slice::from_raw_parts(self.data.data.cast::<u8>(), self.data.length as usize) }.to_vec()
    }
}

impl Drop for OwnedData<'_> {
    fn drop(&mut self) {
        // SAFETY: null or allocated by the library for this context; freed once.
        unsafe { sys::krb5_free_data_contents(self.context.raw, &raw mut self.data) };
    }
}

/// `krb5_unparse_name` into an owned string.
fn unparse(context: &Context, principal: *const sys::krb5_principal_data) -> Result<String, Krb5Error> {
    let mut name: *mut c_char = ptr::null_mut();
    // SAFETY: live context; `principal` is a live principal of this context; valid out-pointer.
    let code = unsafe { sys::krb5_unparse_name(context.raw, principal, &raw mut name) };
    context.check(code)?;
    // SAFETY: the library returned a NUL-terminated string, freed right after the copy.
    let owned = unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned();
    // SAFETY: `name` came from krb5_unparse_name; freed once.
    unsafe { sys::krb5_free_unparsed_name(context.raw, name) };
    Ok(owned)
}

/// The realm bytes of a live principal.
fn realm_of(principal: *const sys::krb5_principal_data) -> Vec<u8> {
    // SAFETY: `principal` is a live, library-built principal (layout checked by sys's test).
    let realm = unsafe { &(*principal).realm };
    if realm.data.is_null() || realm.length == 0 {
        return Vec::new();
    }
    // SAFETY: a principal's realm points at `length` readable bytes.
    unsafe { std::slice::from_raw_parts(realm.data.cast::<u8>(), realm.length as usize) }.to_vec()
}

/// MIT's `ts_after`: timestamps compare as unsigned 32-bit values (valid past 2038).
#[allow(clippy::cast_sign_loss)]
fn timestamp_after(a: i32, b: i32) -> bool {
    (a as u32) > (b as u32)
}

/// A C string for the library, or `EINVAL` naming `what` when `value` holds a NUL byte.
fn c_string(what: &str, value: &str) -> Result<CString, Krb5Error> {
    CString::new(value).map_err(|_| Krb5Error {
        code: EINVAL,
        message: format!("{what} contains a NUL byte"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_compare_as_unsigned_like_mit() {
        assert!(timestamp_after(10, 9));
        assert!(!timestamp_after(9, 9));
        // 2040 (past i32::MAX) is after 2030.
        assert!(timestamp_after(i32::MIN + 5, 1_900_000_000));
    }

    #[test]
    fn a_name_with_a_nul_byte_is_refused_before_the_library_sees_it() {
        let context = Context::new().unwrap();
        let err = context.parse_name("alice\0@EVIL").unwrap_err();
        assert_eq!(err.code, EINVAL);
        let err = context.service_principal("host\0x", "cifs").unwrap_err();
        assert_eq!(err.code, EINVAL);
    }

    #[test]
    fn data_encrypted_with_a_key_decrypts_only_with_that_key_and_unmodified() {
        let context = Context::new().unwrap();
        let key = context.random_key(ENCTYPE_AES256_CTS_HMAC_SHA1_96).unwrap();
        assert_eq!(key.enctype(), 18);
        assert_eq!(key.as_bytes().len(), 32);
        let plain = b"an exported credential";
        let cipher = context.encrypt(&key, plain).unwrap();
        assert!(cipher.len() > plain.len());
        assert_eq!(context.decrypt(&key, &cipher).unwrap().as_bytes(), plain);
        let other = context.random_key(ENCTYPE_AES256_CTS_HMAC_SHA1_96).unwrap();
        assert!(context.decrypt(&other, &cipher).is_err());
        let mut modified = cipher.clone();
        modified[20] ^= 1;
        assert!(context.decrypt(&key, &modified).is_err());
        assert!(context.decrypt(&key, &cipher[..10]).is_err());
        assert!(context.decrypt(&key, &[]).is_err());
    }

    #[test]
    fn library_errors_carry_the_code_and_the_library_message() {
        let context = Context::new().unwrap();
        let err = context.resolve_ccache("NOSUCHTYPE:x").unwrap_err();
        assert_ne!(err.code, 0);
        assert!(
            err.message.contains("NOSUCHTYPE") || err.message.to_lowercase().contains("type"),
            "{err}"
        );
    }
}
