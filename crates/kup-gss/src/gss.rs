//! Owned wrappers over MIT GSSAPI: host-based names, credentials (an acceptor's from a keytab,
//! an initiator's from a ccache or the defaults), security contexts on both sides, and the
//! session key of an established krb5 context through its lucid export (cifs-upcall spec
//! §14.2). Failures are a typed [`GssStatus`] with the library's `gss_display_status` text.
//!
//! IAKERB with Debian 12's MIT krb5 1.20.1 (decision 6; measured by the
//! `iakerb_against_mits_acceptor` test): MIT's acceptor takes it when its credentials are
//! acquired for the IAKERB mechanism explicitly (the default mechanism set leaves IAKERB out:
//! `GSS_S_NO_CRED`). An initiator holding only a TGT needs two tokens (the acceptor relays a
//! TGS exchange to the KDC, then the AP-REQ); one holding the service ticket needs one, and
//! stores a ticket it fetched through the acceptor in its ccache. Both sides then hold the
//! same key, except that exporting an acceptor context completed in one step crashes the
//! library (refused here, see [`SecurityContext::into_lucid_session_key`]).

use std::ffi::{CString, c_void};
use std::fmt;
use std::path::Path;
use std::ptr;

use crate::secret::{SecretBytes, SessionKey};
use crate::sys;

/// `GSS_S_COMPLETE`.
pub const GSS_S_COMPLETE: u32 = 0;
/// `GSS_S_CONTINUE_NEEDED`.
pub const GSS_S_CONTINUE_NEEDED: u32 = 1;
/// `GSS_S_BAD_MECH`.
pub const GSS_S_BAD_MECH: u32 = 1 << 16;
/// `GSS_S_BAD_QOP`.
pub const GSS_S_BAD_QOP: u32 = 14 << 16;
/// `GSS_S_CALL_BAD_STRUCTURE` (a calling error).
pub const GSS_S_CALL_BAD_STRUCTURE: u32 = 3 << 24;
/// `GSS_S_BAD_NAME`.
pub const GSS_S_BAD_NAME: u32 = 2 << 16;
/// `GSS_S_NO_CRED` (cifs.upcall's "No Kerberos credentials available" case, spec §11.4).
pub const GSS_S_NO_CRED: u32 = 7 << 16;
/// `GSS_S_DEFECTIVE_TOKEN`.
pub const GSS_S_DEFECTIVE_TOKEN: u32 = 9 << 16;
/// `GSS_S_UNAVAILABLE`.
pub const GSS_S_UNAVAILABLE: u32 = 16 << 16;
/// `GSS_S_FAILURE`.
pub const GSS_S_FAILURE: u32 = 13 << 16;
/// `GSS_S_UNAUTHORIZED`.
pub const GSS_S_UNAUTHORIZED: u32 = 15 << 16;
/// The calling-error and routine-error bits: a status with any of them set is a failure.
const GSS_ERROR_MASK: u32 = 0xffff_0000;
/// `GSS_KRB5_GET_CRED_IMPERSONATOR`, 1.2.840.113554.1.2.2.5.14 (`gssapi_krb5.h`).
const GET_CRED_IMPERSONATOR: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x05, 0x0e];

/// A failed GSSAPI call: major and minor status and the library's text for both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GssStatus {
    /// The major status (`GSS_S_*`, routine and calling error bits).
    pub major: u32,
    /// The mechanism's minor status (for krb5, a `krb5_error_code` as unsigned).
    pub minor: u32,
    /// `gss_display_status` of the major, then of the minor status.
    pub message: String,
}

impl GssStatus {
    /// The routine error alone (`GSS_ROUTINE_ERROR`), e.g. [`GSS_S_NO_CRED`].
    #[must_use]
    pub fn routine_error(&self) -> u32 {
        self.major & 0x00ff_0000
    }
}

impl fmt::Display for GssStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (major 0x{:x}, minor {})",
            self.message, self.major, self.minor
        )
    }
}

impl std::error::Error for GssStatus {}

/// A GSS mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mech {
    /// Kerberos 5, 1.2.840.113554.1.2.2 (RFC 1964/4121).
    Krb5,
    /// IAKERB, 1.3.6.1.5.2.5 (Kerberos through the acceptor as a proxy to the KDC).
    Iakerb,
}

impl Mech {
    /// The OID's DER content bytes.
    #[must_use]
    pub fn oid(self) -> &'static [u8] {
        match self {
            Mech::Krb5 => &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02],
            Mech::Iakerb => &[0x2b, 0x06, 0x01, 0x05, 0x02, 0x05],
        }
    }
}

/// `GSS_C_NT_HOSTBASED_SERVICE`, 1.2.840.113554.1.2.1.4.
const NT_HOSTBASED_SERVICE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
/// `GSS_KRB5_NT_PRINCIPAL_NAME`, 1.2.840.113554.1.2.2.1.
const NT_KRB5_PRINCIPAL: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x01];

/// A `gss_OID_desc` pointing at `bytes` (the library only reads OIDs we pass; the descriptor
/// is used only while `bytes` lives).
fn oid_desc(bytes: &[u8]) -> sys::gss_OID_desc {
    sys::gss_OID_desc {
        // An OID's content is a handful of bytes.
        length: u32::try_from(bytes.len()).unwrap_or(0),
        elements: bytes.as_ptr().cast::<c_void>().cast_mut(),
    }
}

/// An imported GSS name (`gss_name_t`), released on drop.
pub struct Name {
    raw: sys::gss_name_t,
}

impl Name {
    /// Imports `service@host` as `GSS_C_NT_HOSTBASED_SERVICE`, passing exactly the string's
    /// bytes (no NUL, unlike cifs.upcall 7.0's `strlen(host) + 7`).
    pub fn hostbased(service_at_host: &str) -> Result<Self, GssStatus> {
        Self::import(service_at_host, NT_HOSTBASED_SERVICE)
    }

    /// Imports `name` (`primary/instance@REALM`) as a krb5 principal name
    /// (`GSS_KRB5_NT_PRINCIPAL_NAME`), exactly the string's bytes.
    pub fn principal(name: &str) -> Result<Self, GssStatus> {
        Self::import(name, NT_KRB5_PRINCIPAL)
    }

    /// Imports `bytes` with the name type whose OID content bytes are `name_type` (empty:
    /// `GSS_C_NO_OID`, the mechanism's default); a name holding a NUL byte is refused.
    pub fn import_typed(bytes: &[u8], name_type: &[u8]) -> Result<Self, GssStatus> {
        if bytes.contains(&0) {
            return Err(GssStatus {
                major: GSS_S_BAD_NAME,
                minor: 0,
                message: "the name contains a NUL byte".to_owned(),
            });
        }
        let mut buffer = sys::gss_buffer_desc {
            length: bytes.len(),
            value: bytes.as_ptr().cast::<c_void>().cast_mut(),
        };
        let mut oid = oid_desc(name_type);
        let oid_ptr = if name_type.is_empty() {
            ptr::null_mut()
        } else {
            &raw mut oid
        };
        let mut raw = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: `buffer` points at `length` readable bytes the library only reads; the
        // name-type OID (or null) is valid for the call; `raw` is a valid out-pointer (owned by
        // Name).
        let major = unsafe { sys::gss_import_name(&raw mut minor, &raw mut buffer, oid_ptr, &raw mut raw) };
        check(major, minor, None)?;
        Ok(Name { raw })
    }

    fn import(service_at_host: &str, name_type: &'static [u8]) -> Result<Self, GssStatus> {
        if service_at_host.contains('\0') {
            return Err(GssStatus {
                major: GSS_S_BAD_NAME,
                minor: 0,
                message: "the name contains a NUL byte".to_owned(),
            });
        }
        let mut buffer = sys::gss_buffer_desc {
            length: service_at_host.len(),
            value: service_at_host.as_ptr().cast::<c_void>().cast_mut(),
        };
        let mut name_type = oid_desc(name_type);
        let mut raw = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: `buffer` points at `length` readable bytes the library only reads; the
        // name-type OID is valid for the call; `raw` is a valid out-pointer (owned by Name).
        let major = unsafe {
            sys::gss_import_name(&raw mut minor, &raw mut buffer, &raw mut name_type, &raw mut raw)
        };
        check(major, minor, None)?;
        Ok(Name { raw })
    }
}

impl Name {
    /// The name as text (`gss_display_name`; bytes that are not UTF-8 are replaced).
    pub fn display(&self) -> Result<String, GssStatus> {
        let mut output = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        // SAFETY: `raw` is a live name owned by self; `output` an empty buffer the library
        // fills (released by take_buffer); the name type is not wanted (null).
        let major =
            unsafe { sys::gss_display_name(&raw mut minor, self.raw, &raw mut output, ptr::null_mut()) };
        let text = take_buffer(&mut output);
        check(major, minor, None)?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    /// `gss_display_name`'s bytes and the name type it reports (OID content bytes, empty for
    /// none), as gssproxy puts them in a `gssx_name`.
    pub fn display_with_type(&self) -> Result<(Vec<u8>, Vec<u8>), GssStatus> {
        let mut output = sys::gss_buffer_desc::empty();
        let mut name_type: sys::gss_OID = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: `raw` is a live name owned by self; `output` an empty buffer the library
        // fills (released by take_buffer); `name_type` receives a pointer to a library-owned
        // static OID (read below, never freed).
        let major =
            unsafe { sys::gss_display_name(&raw mut minor, self.raw, &raw mut output, &raw mut name_type) };
        let text = take_buffer(&mut output);
        check(major, minor, None)?;
        Ok((text, oid_bytes(name_type)))
    }

    /// `gss_compare_name`: whether both names denote the same entity.
    pub fn same_as(&self, other: &Name) -> Result<bool, GssStatus> {
        let mut equal: std::ffi::c_int = 0;
        let mut minor = 0;
        // SAFETY: two live names owned by their `Name`s, only read; `equal` a valid
        // out-pointer.
        let major = unsafe { sys::gss_compare_name(&raw mut minor, self.raw, other.raw, &raw mut equal) };
        check(major, minor, None)?;
        Ok(equal != 0)
    }

    /// The RFC 2743 exported name token (`gss_export_name`; the name must be a mechanism name).
    pub fn export(&self) -> Result<Vec<u8>, GssStatus> {
        let mut output = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        // SAFETY: `raw` is a live name owned by self; `output` an empty buffer the library
        // fills (released by take_buffer).
        let major = unsafe { sys::gss_export_name(&raw mut minor, self.raw, &raw mut output) };
        let token = take_buffer(&mut output);
        check(major, minor, None)?;
        Ok(token)
    }

    /// `gss_canonicalize_name` for `mech`: the mechanism name (MN) of this name.
    pub fn canonicalize(&self, mech: Mech) -> Result<Name, GssStatus> {
        let mut oid = oid_desc(mech.oid());
        let mut output = Name { raw: ptr::null_mut() };
        let mut minor = 0;
        // SAFETY: `raw` is a live name owned by self; the OID is valid for the call;
        // `output.raw` receives a name the library allocates (owned by `output`).
        let major = unsafe {
            sys::gss_canonicalize_name(&raw mut minor, self.raw, &raw mut oid, &raw mut output.raw)
        };
        check(major, minor, Some(mech))?;
        Ok(output)
    }

    /// MIT's composite export of a mechanism name (`gss_export_name_composite`: the `04 02`
    /// token, with the name's attributes such as a ticket's authorization data).
    pub fn export_composite(&self) -> Result<Vec<u8>, GssStatus> {
        let mut output = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        // SAFETY: `raw` is a live name owned by self; `output` an empty buffer the library
        // fills (released by take_buffer).
        let major = unsafe { sys::gss_export_name_composite(&raw mut minor, self.raw, &raw mut output) };
        let token = take_buffer(&mut output);
        check(major, minor, None)?;
        Ok(token)
    }

    /// The local account name krb5 maps this name to (`gss_localname` with the krb5
    /// mechanism: the `auth_to_local` rules of krb5.conf, by default the first component of a
    /// one-component principal of the default realm). The failure keeps the library's minor
    /// code (gssproxy tells "no mapping" apart by it).
    pub fn localname(&self) -> Result<Vec<u8>, GssStatus> {
        let mut mech = oid_desc(Mech::Krb5.oid());
        let mut output = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        // SAFETY: `raw` is a live name owned by self; the OID is valid for the call; `output`
        // an empty buffer the library fills (released by take_buffer).
        let major = unsafe { sys::gss_localname(&raw mut minor, self.raw, &raw mut mech, &raw mut output) };
        let name = take_buffer(&mut output);
        check(major, minor, Some(Mech::Krb5))?;
        Ok(name)
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        if self.raw.is_null() {
            return;
        }
        let mut minor = 0;
        // SAFETY: `raw` came from the library (gss_import_name, or the acceptor's src_name);
        // released once (the library nulls it).
        unsafe { sys::gss_release_name(&raw mut minor, &raw mut self.raw) };
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("gss::Name")
    }
}

/// A GSS credential handle (`gss_cred_id_t`), released on drop.
pub struct Credential {
    raw: sys::gss_cred_id_t,
}

impl Credential {
    /// Acceptor credentials for every principal in the keytab at `keytab`
    /// (`gss_acquire_cred_from` with the `keytab` credential-store element: nothing
    /// process-wide is changed).
    pub fn acceptor_from_keytab(keytab: &Path) -> Result<Self, GssStatus> {
        Self::acceptor_from_keytab_for(keytab, None)
    }

    /// [`Credential::acceptor_from_keytab`] for one mechanism only (`desired_mechs` = {mech});
    /// MIT's default mechanism set for acceptors does not include IAKERB.
    pub fn acceptor_from_keytab_for(keytab: &Path, mech: Option<Mech>) -> Result<Self, GssStatus> {
        Self::acceptor(Some(keytab), None, mech)
    }

    /// Acceptor credentials from `keytab` (the library's default keytab when `None`: the
    /// `KRB5_KTNAME` environment variable or krb5.conf) for `name` (every keytab principal when
    /// `None`), limited to `mech` when given.
    pub fn acceptor(
        keytab: Option<&Path>,
        name: Option<&Name>,
        mech: Option<Mech>,
    ) -> Result<Self, GssStatus> {
        let value = keytab
            .map(|keytab| CString::new(keytab.as_os_str().as_encoded_bytes()))
            .transpose()
            .map_err(|_| GssStatus {
                major: GSS_S_FAILURE,
                minor: 0,
                message: "the keytab path contains a NUL byte".to_owned(),
            })?;
        let mut elements: Vec<sys::gss_key_value_element_desc> = value
            .iter()
            .map(|value| sys::gss_key_value_element_desc {
                key: c"keytab".as_ptr(),
                value: value.as_ptr(),
            })
            .collect();
        let store = sys::gss_key_value_set_desc {
            count: u32::try_from(elements.len()).unwrap_or(0),
            elements: elements.as_mut_ptr(),
        };
        let desired_name = name.map_or(ptr::null_mut(), |name| name.raw);
        let mut oid = mech.map(|m| oid_desc(m.oid()));
        let mut set = oid.as_mut().map(|oid| sys::gss_OID_set_desc {
            count: 1,
            elements: ptr::from_mut(oid),
        });
        let set_ptr = set.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        let mut raw = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: a live desired name borrowed for the call, or null (every keytab principal);
        // a one-element OID set valid for the call, or null (the default mechanisms); `store`
        // (possibly empty: the default keytab) and the strings it points at outlive the call and
        // are only read; `raw` is a valid out-pointer (owned by Credential); the actual-mechs and
        // time outputs are not wanted (null).
        let major = unsafe {
            sys::gss_acquire_cred_from(
                &raw mut minor,
                desired_name,
                sys::GSS_C_INDEFINITE,
                set_ptr,
                sys::GSS_C_ACCEPT,
                &raw const store,
                &raw mut raw,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        check(major, minor, None)?;
        Ok(Credential { raw })
    }
}

/// A credential store (`gss_key_value_set_desc`) over owned C strings, for the calls that take
/// one; the set [`CredStore::set`] returns points into this value and is valid while it lives.
struct CredStore {
    _strings: Vec<(CString, CString)>,
    elements: Vec<sys::gss_key_value_element_desc>,
}

impl CredStore {
    /// `store`'s key/value pairs in order; a key or value with a NUL byte is refused.
    fn new(store: &[(String, String)]) -> Result<Self, GssStatus> {
        let mut strings = Vec::with_capacity(store.len());
        for (key, value) in store {
            let pair = CString::new(key.as_str()).and_then(|key| Ok((key, CString::new(value.as_str())?)));
            strings.push(pair.map_err(|_| GssStatus {
                major: GSS_S_FAILURE,
                minor: 0,
                message: "a credential store entry contains a NUL byte".to_owned(),
            })?);
        }
        let elements = strings
            .iter()
            .map(|(key, value)| sys::gss_key_value_element_desc {
                key: key.as_ptr(),
                value: value.as_ptr(),
            })
            .collect();
        Ok(Self {
            _strings: strings,
            elements,
        })
    }

    /// The set to pass (the strings stay where they are when `self` moves: they are on the heap).
    fn set(&mut self) -> sys::gss_key_value_set_desc {
        sys::gss_key_value_set_desc {
            count: u32::try_from(self.elements.len()).unwrap_or(0),
            elements: self.elements.as_mut_ptr(),
        }
    }
}

/// What `gss_inquire_context` says about a context.
#[derive(Debug)]
pub struct ContextInfo {
    /// The initiator's name (`None` while the library has none).
    pub source: Option<Name>,
    /// The acceptor's name (`None` while the library has none).
    pub target: Option<Name>,
    /// Seconds the context stays valid.
    pub lifetime: u32,
    /// The context's flags (`GSS_C_*_FLAG`, plus `GSS_C_PROT_READY_FLAG`, `GSS_C_TRANS_FLAG`).
    pub flags: u32,
    /// This side initiated the context.
    pub locally_initiated: bool,
    /// The context is established.
    pub open: bool,
}

impl SecurityContext {
    /// `gss_import_sec_context` of a token from `gss_export_sec_context` (complete or, for
    /// krb5, partially established); `mech` names the mechanism for error texts.
    pub fn import(token: &[u8], mech: Mech) -> Result<Self, GssStatus> {
        let mut buffer = sys::gss_buffer_desc {
            length: token.len(),
            value: token.as_ptr().cast::<c_void>().cast_mut(),
        };
        let mut context = SecurityContext::new(mech);
        let mut minor = 0;
        // SAFETY: `buffer` points at `length` readable bytes the library only reads; the
        // handle receives a context the library makes (owned by `context`, deleted on drop).
        let major =
            unsafe { sys::gss_import_sec_context(&raw mut minor, &raw mut buffer, &raw mut context.raw) };
        check(major, minor, Some(mech))?;
        Ok(context)
    }

    /// `request_flags` for the following `init_step` calls.
    pub fn set_request_flags(&mut self, flags: u32) {
        self.request_flags = flags;
    }

    /// `gss_inquire_context`: names, lifetime, flags, direction and state. A context not
    /// started at all is `GSS_S_NO_CONTEXT`.
    pub fn inquire(&self) -> Result<ContextInfo, GssStatus> {
        let mut source = Name { raw: ptr::null_mut() };
        let mut target = Name { raw: ptr::null_mut() };
        let (mut lifetime, mut flags, mut local, mut open) = (0, 0, 0, 0);
        let mut minor = 0;
        // SAFETY: `raw` is a live context owned by self (or null, which the library refuses);
        // both names receive names the library allocates (owned by `source`/`target`, null
        // when it has none); every other output is a valid out-pointer; the mechanism output
        // is not wanted (null).
        let major = unsafe {
            sys::gss_inquire_context(
                &raw mut minor,
                self.raw,
                &raw mut source.raw,
                &raw mut target.raw,
                &raw mut lifetime,
                ptr::null_mut(),
                &raw mut flags,
                &raw mut local,
                &raw mut open,
            )
        };
        check(major, minor, Some(self.mech))?;
        Ok(ContextInfo {
            source: (!source.raw.is_null()).then_some(source),
            target: (!target.raw.is_null()).then_some(target),
            lifetime,
            flags,
            locally_initiated: local != 0,
            open: open != 0,
        })
    }

    /// `gss_export_sec_context` keeping the wrapper (for a context that may be partial):
    /// the token, after which this context is gone.
    pub fn export_token(&mut self) -> Result<Vec<u8>, GssStatus> {
        let mut output = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        // SAFETY: `self.raw` is a live context (the library deletes it and nulls the handle on
        // success; Drop handles a null or remaining handle); `output` an empty buffer the
        // library fills (released by take_buffer).
        let major =
            unsafe { sys::gss_export_sec_context(&raw mut minor, &raw mut self.raw, &raw mut output) };
        let token = take_buffer(&mut output);
        check(major, minor, Some(self.mech))?;
        Ok(token)
    }

    /// `gss_get_mic` of `message` with quality of protection `qop`.
    pub fn get_mic(&self, qop: u32, message: &[u8]) -> Result<Vec<u8>, GssStatus> {
        let mut input = borrowed_buffer(message);
        let mut output = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        // SAFETY: a live context owned by self; `input` borrows `message` (only read);
        // `output` an empty buffer the library fills (released by take_buffer).
        let major =
            unsafe { sys::gss_get_mic(&raw mut minor, self.raw, qop, &raw mut input, &raw mut output) };
        let token = take_buffer(&mut output);
        check(major, minor, Some(self.mech))?;
        Ok(token)
    }

    /// `gss_verify_mic` of `token` over `message`; the quality of protection on success.
    pub fn verify_mic(&self, message: &[u8], token: &[u8]) -> Result<u32, GssStatus> {
        let mut message = borrowed_buffer(message);
        let mut token = borrowed_buffer(token);
        let mut qop = 0;
        let mut minor = 0;
        // SAFETY: a live context owned by self; both buffers borrow caller bytes (only read);
        // `qop` a valid out-pointer.
        let major = unsafe {
            sys::gss_verify_mic(
                &raw mut minor,
                self.raw,
                &raw mut message,
                &raw mut token,
                &raw mut qop,
            )
        };
        check(major, minor, Some(self.mech))?;
        Ok(qop)
    }

    /// `gss_wrap` of `message`: the token and whether it is encrypted.
    pub fn wrap(&self, confidential: bool, qop: u32, message: &[u8]) -> Result<(Vec<u8>, bool), GssStatus> {
        let mut input = borrowed_buffer(message);
        let mut output = sys::gss_buffer_desc::empty();
        let mut conf_state = 0;
        let mut minor = 0;
        // SAFETY: a live context owned by self; `input` borrows `message` (only read);
        // `conf_state` a valid out-pointer; `output` an empty buffer the library fills
        // (released by take_buffer).
        let major = unsafe {
            sys::gss_wrap(
                &raw mut minor,
                self.raw,
                std::ffi::c_int::from(confidential),
                qop,
                &raw mut input,
                &raw mut conf_state,
                &raw mut output,
            )
        };
        let token = take_buffer(&mut output);
        check(major, minor, Some(self.mech))?;
        Ok((token, conf_state != 0))
    }

    /// `gss_unwrap` of `token`: the message (secret: zeroed on drop), whether it was
    /// encrypted, and the quality of protection.
    pub fn unwrap(&self, token: &[u8]) -> Result<(SecretBytes, bool, u32), GssStatus> {
        let mut input = borrowed_buffer(token);
        let mut output = sys::gss_buffer_desc::empty();
        let (mut conf_state, mut qop) = (0, 0);
        let mut minor = 0;
        // SAFETY: a live context owned by self; `input` borrows `token` (only read); the
        // states are valid out-pointers; `output` an empty buffer the library fills (released
        // by take_secret_buffer).
        let major = unsafe {
            sys::gss_unwrap(
                &raw mut minor,
                self.raw,
                &raw mut input,
                &raw mut output,
                &raw mut conf_state,
                &raw mut qop,
            )
        };
        let message = take_secret_buffer(&mut output);
        check(major, minor, Some(self.mech))?;
        Ok((message, conf_state != 0, qop))
    }

    /// `gss_wrap_size_limit`: the largest message whose token fits in `output_size` bytes.
    pub fn wrap_size_limit(&self, confidential: bool, qop: u32, output_size: u32) -> Result<u32, GssStatus> {
        let mut max = 0;
        let mut minor = 0;
        // SAFETY: a live context owned by self; `max` a valid out-pointer.
        let major = unsafe {
            sys::gss_wrap_size_limit(
                &raw mut minor,
                self.raw,
                std::ffi::c_int::from(confidential),
                qop,
                output_size,
                &raw mut max,
            )
        };
        check(major, minor, Some(self.mech))?;
        Ok(max)
    }
}

/// A buffer descriptor borrowing `bytes` for one call (the library only reads it).
fn borrowed_buffer(bytes: &[u8]) -> sys::gss_buffer_desc {
    sys::gss_buffer_desc {
        length: bytes.len(),
        value: bytes.as_ptr().cast::<c_void>().cast_mut(),
    }
}

/// What a credential is for (`gss_cred_usage_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredUsage {
    /// `GSS_C_BOTH`.
    Both,
    /// `GSS_C_INITIATE`.
    Initiate,
    /// `GSS_C_ACCEPT`.
    Accept,
}

impl CredUsage {
    fn raw(self) -> std::ffi::c_int {
        match self {
            CredUsage::Both => sys::GSS_C_BOTH,
            CredUsage::Initiate => sys::GSS_C_INITIATE,
            CredUsage::Accept => sys::GSS_C_ACCEPT,
        }
    }
}

/// What `gss_inquire_cred_by_mech` says about one mechanism's element of a credential.
#[derive(Debug)]
pub struct CredInfo {
    /// The element's mechanism name.
    pub name: Name,
    /// Seconds the initiator part stays valid (`GSS_C_INDEFINITE` = 0xffffffff).
    pub initiator_lifetime: u32,
    /// Seconds the acceptor part stays valid.
    pub acceptor_lifetime: u32,
    /// The element's usage.
    pub usage: CredUsage,
}

impl Credential {
    /// `gss_acquire_cred_from`: credentials for `name` (the default when `None`) for `usage`,
    /// from the credential store `store` (`keytab`, `ccache`, `client_keytab` … key/value
    /// pairs, in order; empty: the process defaults), limited to `mech` when given, with an
    /// indefinite lifetime requested. A key or value with a NUL byte is refused.
    pub fn acquire(
        name: Option<&Name>,
        usage: CredUsage,
        store: &[(String, String)],
        mech: Option<Mech>,
    ) -> Result<Self, GssStatus> {
        let mut owned = CredStore::new(store)?;
        let store = owned.set();
        let desired_name = name.map_or(ptr::null_mut(), |name| name.raw);
        let mut oid = mech.map(|m| oid_desc(m.oid()));
        let mut set = oid.as_mut().map(|oid| sys::gss_OID_set_desc {
            count: 1,
            elements: ptr::from_mut(oid),
        });
        let set_ptr = set.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        let mut raw = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: a live desired name borrowed for the call, or null (the default); a
        // one-element OID set valid for the call, or null; `store` and the strings it points
        // at outlive the call and are only read; `raw` is a valid out-pointer (owned by
        // Credential); the actual-mechs and time outputs are not wanted (null).
        let major = unsafe {
            sys::gss_acquire_cred_from(
                &raw mut minor,
                desired_name,
                sys::GSS_C_INDEFINITE,
                set_ptr,
                usage.raw(),
                &raw const store,
                &raw mut raw,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        check(major, minor, mech)?;
        Ok(Credential { raw })
    }

    /// `gss_acquire_cred_impersonate_name` (krb5: `S4U2Self`): credentials for `name` (`None`:
    /// `GSS_C_NO_NAME`, which the library refuses) obtained with this impersonator credential,
    /// for `usage`, limited to `mech`, with an indefinite lifetime requested.
    pub fn impersonate(&self, name: Option<&Name>, usage: CredUsage, mech: Mech) -> Result<Self, GssStatus> {
        let mut oid = oid_desc(mech.oid());
        let mut set = sys::gss_OID_set_desc {
            count: 1,
            elements: &raw mut oid,
        };
        let desired_name = name.map_or(ptr::null_mut(), |name| name.raw);
        let mut raw = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: `self.raw` a live credential and the desired name a live name (or null),
        // both only read; a one-element OID set valid for the call; `raw` a valid out-pointer
        // (owned by the returned Credential); actual mechs and time not wanted (null).
        let major = unsafe {
            sys::gss_acquire_cred_impersonate_name(
                &raw mut minor,
                self.raw,
                desired_name,
                sys::GSS_C_INDEFINITE,
                &raw mut set,
                usage.raw(),
                &raw mut raw,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        let credential = Credential { raw };
        check(major, minor, Some(mech))?;
        Ok(credential)
    }

    /// The principal (as krb5 displays it) whose `S4U2Self` evidence this credential holds
    /// (`gss_inquire_cred_by_oid` with `GSS_KRB5_GET_CRED_IMPERSONATOR`); `None` for a
    /// credential that impersonates no one.
    pub fn impersonator(&self) -> Result<Option<Vec<u8>>, GssStatus> {
        let mut oid = oid_desc(GET_CRED_IMPERSONATOR);
        let mut set: *mut sys::gss_buffer_set_desc = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: `self.raw` a live credential, only read; the OID valid for the call; `set`
        // receives a buffer set the library allocates (released below).
        let major =
            unsafe { sys::gss_inquire_cred_by_oid(&raw mut minor, self.raw, &raw mut oid, &raw mut set) };
        let value = if set.is_null() {
            None
        } else {
            // SAFETY: a non-null set the library filled, alive until it is released below.
            let desc = unsafe { &*set };
            if desc.count == 0 || desc.elements.is_null() {
                None
            } else {
                // SAFETY: `elements` points at `count` (at least one) buffers; the first is read.
                let first = unsafe { &*desc.elements };
                Some(if first.value.is_null() || first.length == 0 {
                    Vec::new()
                } else {
                    // SAFETY: the library's buffer of `length` readable bytes.
                    unsafe { std::slice::from_raw_parts(first.value.cast::<u8>(), first.length) }.to_vec()
                })
            }
        };
        let mut release_minor = 0;
        // SAFETY: the set the library allocated, or null (which it accepts), released once.
        unsafe { sys::gss_release_buffer_set(&raw mut release_minor, &raw mut set) };
        check(major, minor, Some(Mech::Krb5))?;
        Ok(value)
    }

    /// `gss_export_cred`: a token another process (or a later call) can import; it may hold
    /// tickets and keys, hence the secret buffer.
    pub fn export(&self) -> Result<SecretBytes, GssStatus> {
        let mut output = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        // SAFETY: `raw` is a live credential owned by self; `output` an empty buffer the
        // library fills (released by take_secret_buffer).
        let major = unsafe { sys::gss_export_cred(&raw mut minor, self.raw, &raw mut output) };
        let token = take_secret_buffer(&mut output);
        check(major, minor, None)?;
        Ok(token)
    }

    /// `gss_import_cred` of a token from [`Credential::export`].
    pub fn import(token: &[u8]) -> Result<Self, GssStatus> {
        let mut buffer = sys::gss_buffer_desc {
            length: token.len(),
            value: token.as_ptr().cast::<c_void>().cast_mut(),
        };
        let mut raw = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: `buffer` points at `length` readable bytes the library only reads; `raw` is
        // a valid out-pointer (owned by Credential).
        let major = unsafe { sys::gss_import_cred(&raw mut minor, &raw mut buffer, &raw mut raw) };
        check(major, minor, None)?;
        Ok(Credential { raw })
    }

    /// `gss_store_cred_into`: this credential's `mech` element for `usage` written into the
    /// credential store `store` (for krb5, a `ccache` entry: its tickets copied there),
    /// replacing what is there (`overwrite_cred`), not as the default credential.
    pub fn store_into(
        &self,
        usage: CredUsage,
        mech: Mech,
        store: &[(String, String)],
    ) -> Result<(), GssStatus> {
        self.store(usage, mech, store, false)
    }

    /// As [`Credential::store_into`], but as the default credential (`default_cred`; with an
    /// empty `store`, the library's default ccache), as `gssproxy --extract-ccache` stores.
    pub fn store_as_default_into(
        &self,
        usage: CredUsage,
        mech: Mech,
        store: &[(String, String)],
    ) -> Result<(), GssStatus> {
        self.store(usage, mech, store, true)
    }

    fn store(
        &self,
        usage: CredUsage,
        mech: Mech,
        store: &[(String, String)],
        default: bool,
    ) -> Result<(), GssStatus> {
        let mut owned = CredStore::new(store)?;
        let store = owned.set();
        let mut oid = oid_desc(mech.oid());
        let mut minor = 0;
        // SAFETY: `raw` is a live credential owned by self, only read; the OID valid for the
        // call; `store` and the strings it points at outlive the call and are only read; the
        // stored-elements and stored-usage outputs are not wanted (null).
        let major = unsafe {
            sys::gss_store_cred_into(
                &raw mut minor,
                self.raw,
                usage.raw(),
                &raw mut oid,
                1,
                u32::from(default),
                &raw const store,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        check(major, minor, Some(mech))
    }

    /// `gss_inquire_cred_by_mech` for `mech`: the element's name, lifetimes and usage.
    pub fn inquire(&self, mech: Mech) -> Result<CredInfo, GssStatus> {
        let mut oid = oid_desc(mech.oid());
        let mut name = Name { raw: ptr::null_mut() };
        let (mut initiator, mut acceptor, mut usage) = (0, 0, 0);
        let mut minor = 0;
        // SAFETY: `raw` is a live credential owned by self; the OID is valid for the call;
        // `name.raw` receives a name the library allocates (owned by `name`); the lifetimes
        // and usage are valid out-pointers.
        let major = unsafe {
            sys::gss_inquire_cred_by_mech(
                &raw mut minor,
                self.raw,
                &raw mut oid,
                &raw mut name.raw,
                &raw mut initiator,
                &raw mut acceptor,
                &raw mut usage,
            )
        };
        check(major, minor, Some(mech))?;
        let usage = match usage {
            sys::GSS_C_INITIATE => CredUsage::Initiate,
            sys::GSS_C_ACCEPT => CredUsage::Accept,
            _ => CredUsage::Both,
        };
        Ok(CredInfo {
            name,
            initiator_lifetime: initiator,
            acceptor_lifetime: acceptor,
            usage,
        })
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        if self.raw.is_null() {
            return;
        }
        let mut minor = 0;
        // SAFETY: `raw` came from the library (gss_acquire_cred_from, gss_import_cred, or the
        // acceptor's delegated credential); released once.
        unsafe { sys::gss_release_cred(&raw mut minor, &raw mut self.raw) };
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("gss::Credential")
    }
}

/// A security context (`gss_ctx_id_t`), deleted on drop.
pub struct SecurityContext {
    raw: sys::gss_ctx_id_t,
    mech: Mech,
    actual_mech: Vec<u8>,
    /// The initiator's name as the acceptor displays it (`src_name`) and its name type, once
    /// accepted (one `gss_display_name`: each costs MIT a fresh krb5 context).
    initiator: Option<(Vec<u8>, Vec<u8>)>,
    /// How many `accept_step` calls this context has had (0 on the initiator side).
    accept_steps: u32,
    /// The initiator's name handle from the last `accept_step`.
    source: Option<Name>,
    /// `req_flags` of `init_step`.
    request_flags: u32,
    /// `ret_flags` of the last step.
    flags: u32,
    /// `time_rec` of the last step (seconds the context stays valid).
    lifetime: u32,
    /// The credential the initiator delegated, from the last `accept_step`.
    delegated: Option<Credential>,
}

/// `GSS_C_MUTUAL_FLAG`.
pub const GSS_C_MUTUAL_FLAG: u32 = 2;
/// `GSS_C_REPLAY_FLAG`.
pub const GSS_C_REPLAY_FLAG: u32 = 4;
/// `GSS_C_SEQUENCE_FLAG`.
pub const GSS_C_SEQUENCE_FLAG: u32 = 8;
/// `GSS_C_CONF_FLAG`.
pub const GSS_C_CONF_FLAG: u32 = 16;
/// `GSS_C_INTEG_FLAG`.
pub const GSS_C_INTEG_FLAG: u32 = 32;

/// A krb5 context exported as a lucid context version 1 (`gss_krb5_lucid_context_v1_t`),
/// everything the kernel's `linux_lucid_v1` is made of; keys zeroed on drop.
#[derive(Debug)]
pub struct LucidContext {
    /// This side initiated the context.
    pub initiate: bool,
    /// When the context expires (Unix seconds).
    pub endtime: u32,
    /// The first sequence number this side sends.
    pub send_seq: u64,
    /// The first sequence number this side expects.
    pub recv_seq: u64,
    /// 0: RFC 1964; 1: RFC 4121 (CFX).
    pub protocol: u32,
    /// The context key (`rfc1964_kd.ctx_key` or `cfx_kd.ctx_key`).
    pub ctx_key: SessionKey,
    /// CFX only: the acceptor's subkey, when the acceptor asserted one.
    pub acceptor_subkey: Option<SessionKey>,
}

/// The key cifs.upcall takes from a lucid (exported) krb5 context, and where it came from.
#[derive(Debug)]
pub struct LucidKey {
    /// 0: RFC 1964 keys (DES, RC4); 1: RFC 4121 "CFX" keys (AES and newer).
    pub protocol: u32,
    /// `ctx_key`, or for protocol 1 the acceptor subkey when there is one.
    pub key: SessionKey,
}

/// What one `init_sec_context` or `accept_sec_context` step produced.
#[derive(Debug)]
pub struct Step {
    /// The context (complete, or waiting for the peer's next token).
    pub context: SecurityContext,
    /// The token to send to the peer (may be empty).
    pub token: Vec<u8>,
    /// `GSS_S_COMPLETE` (true) or `GSS_S_CONTINUE_NEEDED` (false).
    pub complete: bool,
}

/// The first `gss_init_sec_context` step for `target` with `mech`, default credentials
/// (`GSS_C_NO_CREDENTIAL`: the default ccache, `KRB5CCNAME`), no flags, no channel bindings
/// (cifs-upcall spec §14.2).
pub fn init_sec_context(target: &Name, mech: Mech) -> Result<Step, GssStatus> {
    let mut context = SecurityContext::new(mech);
    let (token, complete) = context.init_step(target, &[])?;
    Ok(Step {
        context,
        token,
        complete,
    })
}

/// The first `gss_accept_sec_context` step of `token` with acceptor credentials `cred`
/// (`mech` only names the mechanism for error texts; the token's own OID picks the mechanism).
pub fn accept_sec_context(cred: &Credential, token: &[u8], mech: Mech) -> Result<Step, GssStatus> {
    let mut context = SecurityContext::new(mech);
    let (token, complete) = context.accept_step(cred, token)?;
    Ok(Step {
        context,
        token,
        complete,
    })
}

/// Channel bindings (RFC 2744 §3.11): the address types as the library takes them (32 bits),
/// the addresses and the application data as bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChannelBindings {
    /// `initiator_addrtype` (`GSS_C_AF_*`).
    pub initiator_addrtype: u32,
    /// `initiator_address`.
    pub initiator_address: Vec<u8>,
    /// `acceptor_addrtype`.
    pub acceptor_addrtype: u32,
    /// `acceptor_address`.
    pub acceptor_address: Vec<u8>,
    /// `application_data`.
    pub application_data: Vec<u8>,
}

impl ChannelBindings {
    /// The library's struct, its buffers pointing into `self` (valid while `self` is, only
    /// read by the library).
    fn raw(&self) -> sys::gss_channel_bindings_struct {
        let buffer = |bytes: &[u8]| sys::gss_buffer_desc {
            length: bytes.len(),
            value: if bytes.is_empty() {
                ptr::null_mut()
            } else {
                bytes.as_ptr().cast::<c_void>().cast_mut()
            },
        };
        sys::gss_channel_bindings_struct {
            initiator_addrtype: self.initiator_addrtype,
            initiator_address: buffer(&self.initiator_address),
            acceptor_addrtype: self.acceptor_addrtype,
            acceptor_address: buffer(&self.acceptor_address),
            application_data: buffer(&self.application_data),
        }
    }
}

impl SecurityContext {
    /// A context not yet started (`GSS_C_NO_CONTEXT`) for `mech`; the first
    /// [`SecurityContext::init_step`] or [`SecurityContext::accept_step`] creates it.
    #[must_use]
    pub fn new(mech: Mech) -> Self {
        SecurityContext {
            raw: ptr::null_mut(),
            mech,
            actual_mech: Vec::new(),
            initiator: None,
            accept_steps: 0,
            source: None,
            request_flags: 0,
            flags: 0,
            lifetime: 0,
            delegated: None,
        }
    }

    /// [`SecurityContext::new`] for an initiator that asks for `request_flags`
    /// (`GSS_C_MUTUAL_FLAG` …) in every `init_step`.
    #[must_use]
    pub fn with_request_flags(mech: Mech, request_flags: u32) -> Self {
        let mut context = Self::new(mech);
        context.request_flags = request_flags;
        context
    }

    /// One `gss_init_sec_context` call (default credentials, no flags, no channel bindings)
    /// with the peer's last token `input` (empty for the first call). Returns the token to
    /// send and whether the context is complete.
    pub fn init_step(&mut self, target: &Name, input: &[u8]) -> Result<(Vec<u8>, bool), GssStatus> {
        self.init_step_with(None, target, input)
    }

    /// [`SecurityContext::init_step`] with the initiator credential `cred` (the default
    /// credentials when `None`).
    pub fn init_step_with(
        &mut self,
        cred: Option<&Credential>,
        target: &Name,
        input: &[u8],
    ) -> Result<(Vec<u8>, bool), GssStatus> {
        self.init_step_bound(cred, target, input, 0, None)
    }

    /// [`SecurityContext::init_step_with`] asking for a context lifetime of `time_req`
    /// seconds (0: the library's default) and with the channel bindings `bindings` (none
    /// when `None`), as `gss_init_sec_context` takes them.
    pub fn init_step_bound(
        &mut self,
        cred: Option<&Credential>,
        target: &Name,
        input: &[u8],
        time_req: u32,
        bindings: Option<&ChannelBindings>,
    ) -> Result<(Vec<u8>, bool), GssStatus> {
        let mut raw_bindings = bindings.map(ChannelBindings::raw);
        let bindings_ptr = raw_bindings.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        let cred_raw = cred.map_or(ptr::null_mut(), |cred| cred.raw);
        let mut mech_oid = oid_desc(self.mech.oid());
        let mut input = sys::gss_buffer_desc {
            length: input.len(),
            value: input.as_ptr().cast::<c_void>().cast_mut(),
        };
        let input_ptr = if input.length == 0 {
            ptr::null_mut()
        } else {
            &raw mut input
        };
        let mut output = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        let (mut flags, mut lifetime) = (0, 0);
        // SAFETY: a live credential borrowed for the call, or null (the default); the context
        // handle is null or one the library made (owned by self); a live target name; an OID valid for the call;
        // bindings valid for the call whose buffers point into `bindings` (only read), or
        // null; an input token of `length` readable bytes the library only reads, or
        // none; the actual mech is not wanted (null); `output` an empty buffer the library
        // fills; `flags` and `lifetime` valid out-pointers.
        let major = unsafe {
            sys::gss_init_sec_context(
                &raw mut minor,
                cred_raw,
                &raw mut self.raw,
                target.raw,
                &raw mut mech_oid,
                self.request_flags,
                time_req,
                bindings_ptr,
                input_ptr,
                ptr::null_mut(),
                &raw mut output,
                &raw mut flags,
                &raw mut lifetime,
            )
        };
        self.flags = flags;
        self.lifetime = lifetime;
        let token = take_buffer(&mut output);
        check(major, minor, Some(self.mech))?;
        Ok((token, major & GSS_S_CONTINUE_NEEDED == 0))
    }

    /// One `gss_accept_sec_context` call on the peer's token `input` with acceptor
    /// credentials `cred`. Returns the token to send back and whether the context is complete.
    pub fn accept_step(&mut self, cred: &Credential, input: &[u8]) -> Result<(Vec<u8>, bool), GssStatus> {
        self.accept_step_bound(cred, input, None)
    }

    /// [`SecurityContext::accept_step`] with the channel bindings `bindings` (none when
    /// `None`): MIT refuses an initiator's different bindings (`GSS_S_BAD_BINDINGS`).
    pub fn accept_step_bound(
        &mut self,
        cred: &Credential,
        input: &[u8],
        bindings: Option<&ChannelBindings>,
    ) -> Result<(Vec<u8>, bool), GssStatus> {
        let mut raw_bindings = bindings.map(ChannelBindings::raw);
        let bindings_ptr = raw_bindings.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        let mut input = sys::gss_buffer_desc {
            length: input.len(),
            value: input.as_ptr().cast::<c_void>().cast_mut(),
        };
        let mut output = sys::gss_buffer_desc::empty();
        let mut actual_mech: sys::gss_OID = ptr::null_mut();
        let mut source = Name { raw: ptr::null_mut() };
        let mut delegated = Credential { raw: ptr::null_mut() };
        let mut minor = 0;
        let (mut flags, mut lifetime) = (0, 0);
        // SAFETY: the context handle is null or one the library made (owned by self); a live
        // credential; an input buffer of `length` readable bytes the library only reads;
        // bindings valid for the call whose buffers point into `bindings` (only read), or
        // null; `source.raw` receives a name the library allocates (owned by `source`,
        // released on drop, null if none); `actual_mech` receives a pointer to a library-owned
        // OID (read below, never freed); other unwanted outputs null; `output` an empty buffer
        // the library fills; `flags` and `lifetime` valid out-pointers; `delegated.raw`
        // receives the credential the initiator delegated, if any (owned by `delegated`,
        // released on drop, null if none).
        let major = unsafe {
            sys::gss_accept_sec_context(
                &raw mut minor,
                &raw mut self.raw,
                cred.raw,
                &raw mut input,
                bindings_ptr,
                &raw mut source.raw,
                &raw mut actual_mech,
                &raw mut output,
                &raw mut flags,
                &raw mut lifetime,
                &raw mut delegated.raw,
            )
        };
        let token = take_buffer(&mut output);
        check(major, minor, Some(self.mech))?;
        self.actual_mech = oid_bytes(actual_mech);
        self.flags = flags;
        self.lifetime = lifetime;
        self.delegated = (!delegated.raw.is_null()).then_some(delegated);
        if !source.raw.is_null() {
            self.initiator = Some(source.display_with_type()?);
            self.source = Some(source);
        }
        self.accept_steps = self.accept_steps.saturating_add(1);
        Ok((token, major & GSS_S_CONTINUE_NEEDED == 0))
    }

    /// The initiator's name as `gss_display_name` shows it (for krb5, `user@REALM`), once an
    /// `accept_step` reported it; `None` on the initiator side.
    #[must_use]
    pub fn initiator(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.initiator
            .as_ref()
            .map(|(display, _)| String::from_utf8_lossy(display))
    }

    /// The initiator's name as `gss_display_name` returned it (bytes) and the name type it
    /// reported (OID content bytes), once an `accept_step` reported it.
    #[must_use]
    pub fn initiator_display(&self) -> Option<(&[u8], &[u8])> {
        self.initiator
            .as_ref()
            .map(|(display, name_type)| (display.as_slice(), name_type.as_slice()))
    }

    /// The credential the initiator delegated (`GSS_C_DELEG_FLAG`), taken from the last
    /// `accept_step`; `None` when it delegated none.
    pub fn take_delegated(&mut self) -> Option<Credential> {
        self.delegated.take()
    }

    /// The initiator's name handle, once an `accept_step` reported it.
    #[must_use]
    pub fn source_name(&self) -> Option<&Name> {
        self.source.as_ref()
    }

    /// The acceptor's name (`gss_inquire_context`'s `targ_name`) of a started context.
    pub fn target_name(&self) -> Result<Name, GssStatus> {
        let mut target = Name { raw: ptr::null_mut() };
        let mut minor = 0;
        // SAFETY: `raw` is a live context owned by self (or null, which the library refuses);
        // `target.raw` receives a name the library allocates (owned by `target`); every other
        // output is not wanted (null).
        let major = unsafe {
            sys::gss_inquire_context(
                &raw mut minor,
                self.raw,
                ptr::null_mut(),
                &raw mut target.raw,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        check(major, minor, Some(self.mech))?;
        Ok(target)
    }

    /// `ret_flags` of the last step (`GSS_C_MUTUAL_FLAG` …).
    #[must_use]
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// `time_rec` of the last step: how many seconds the context stays valid.
    #[must_use]
    pub fn lifetime(&self) -> u32 {
        self.lifetime
    }

    /// The mechanism the acceptor reported for the last step (`mech_type` of
    /// `gss_accept_sec_context`), as OID content bytes; empty before any accepted step.
    #[must_use]
    pub fn actual_mech(&self) -> &[u8] {
        &self.actual_mech
    }

    /// Exports the (established) krb5 context as a lucid context version 1 and returns its key
    /// as cifs.upcall does: protocol 0 (RFC 1964) → `ctx_key`; protocol 1 (CFX) → the
    /// acceptor subkey if present, else `ctx_key`; any other protocol is an error. Exporting
    /// ends the context.
    ///
    /// An IAKERB acceptor context that completed on its first token (the initiator already
    /// held the service ticket and sent the AP-REQ at once) is refused with
    /// [`GSS_S_UNAVAILABLE`]: MIT krb5 1.20.1 dereferences a null pointer when such a context
    /// is exported (observed by the `iakerb_against_mits_acceptor` test).
    pub fn into_lucid_session_key(self) -> Result<SessionKey, GssStatus> {
        self.into_lucid().map(|lucid| lucid.key)
    }

    /// [`SecurityContext::into_lucid_session_key`] with the lucid context's protocol number.
    pub fn into_lucid(self) -> Result<LucidKey, GssStatus> {
        self.with_exported_lucid(lucid_key)
    }
}

/// The session key of a version-1 lucid context (the acceptor subkey of a CFX context when
/// there is one).
fn lucid_key(context: &sys::gss_krb5_lucid_context_v1_t) -> Result<LucidKey, GssStatus> {
    let key = match (context.version, context.protocol) {
        (1, 0) => Some(&context.rfc1964_kd.ctx_key),
        (1, 1) if context.cfx_kd.have_acceptor_subkey != 0 => Some(&context.cfx_kd.acceptor_subkey),
        (1, 1) => Some(&context.cfx_kd.ctx_key),
        _ => None,
    };
    match key {
        Some(key) if !key.data.is_null() && key.length > 0 => {
            // SAFETY: the lucid key points at `length` readable bytes owned by the export.
            let bytes = unsafe { std::slice::from_raw_parts(key.data.cast::<u8>(), key.length as usize) };
            Ok(LucidKey {
                protocol: context.protocol,
                key: SessionKey::new(i32::try_from(key.type_).unwrap_or(-1), bytes),
            })
        }
        _ => Err(GssStatus {
            major: GSS_S_FAILURE,
            minor: 0,
            message: format!(
                "unusable lucid context (version {}, protocol {})",
                context.version, context.protocol
            ),
        }),
    }
}

impl SecurityContext {
    /// Exports the established krb5 context as a whole lucid context version 1 (the session
    /// keys, sequence numbers, expiry and direction). Exporting ends the context. Refused like
    /// [`SecurityContext::into_lucid`] for a one-step IAKERB acceptor context.
    pub fn into_lucid_context(self) -> Result<LucidContext, GssStatus> {
        self.with_exported_lucid(lucid_context)
    }

    /// Exports the context as a lucid context version 1 (which ends it; refused for a one-step
    /// IAKERB acceptor context, which MIT cannot export), reads it with `read` and frees it.
    fn with_exported_lucid<T>(
        mut self,
        read: fn(&sys::gss_krb5_lucid_context_v1_t) -> Result<T, GssStatus>,
    ) -> Result<T, GssStatus> {
        if self.mech == Mech::Iakerb && self.accept_steps == 1 {
            return Err(GssStatus {
                major: GSS_S_UNAVAILABLE,
                minor: 0,
                message: "MIT krb5 cannot export an IAKERB acceptor context completed in one step".to_owned(),
            });
        }
        let mut lucid: *mut c_void = ptr::null_mut();
        let mut minor = 0;
        // SAFETY: `self.raw` is a live context (the library deletes it and nulls the handle on
        // success; Drop handles a null or remaining handle); version 1; valid out-pointer
        // (freed below with gss_krb5_free_lucid_sec_context).
        let major = unsafe {
            sys::gss_krb5_export_lucid_sec_context(&raw mut minor, &raw mut self.raw, 1, &raw mut lucid)
        };
        check(major, minor, Some(self.mech))?;
        if lucid.is_null() {
            return Err(GssStatus {
                major: GSS_S_FAILURE,
                minor: 0,
                message: "the library exported no lucid context".to_owned(),
            });
        }
        // SAFETY: a version-1 export returns a gss_krb5_lucid_context_v1_t (layout checked
        // against the header by sys's test), valid until freed below.
        let context = unsafe { &*lucid.cast::<sys::gss_krb5_lucid_context_v1_t>() };
        let result = read(context);
        let mut free_minor = 0;
        // SAFETY: `lucid` came from gss_krb5_export_lucid_sec_context; freed once, after the
        // last read through `context`.
        unsafe { sys::gss_krb5_free_lucid_sec_context(&raw mut free_minor, lucid) };
        result
    }
}

impl SecurityContext {
    /// `gss_export_sec_context`: MIT's interprocess token for this context (what gssproxy
    /// returns to its interposer clients). Exporting ends the context.
    pub fn export(mut self) -> Result<Vec<u8>, GssStatus> {
        let mut output = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        // SAFETY: `self.raw` is a live context (the library deletes it and nulls the handle on
        // success; Drop handles a null or remaining handle); `output` an empty buffer the
        // library fills (released by take_buffer).
        let major =
            unsafe { sys::gss_export_sec_context(&raw mut minor, &raw mut self.raw, &raw mut output) };
        let token = take_buffer(&mut output);
        check(major, minor, Some(self.mech))?;
        Ok(token)
    }
}

/// What MIT says about one mechanism it offers (gssproxy's `INDICATE_MECHS` entry).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MechDescription {
    /// The mechanism's OID (content bytes).
    pub oid: Vec<u8>,
    /// `gss_inquire_names_for_mech`.
    pub name_types: Vec<Vec<u8>>,
    /// `gss_inquire_attrs_for_mech`: the attributes the mechanism has.
    pub mech_attrs: Vec<Vec<u8>>,
    /// `gss_inquire_attrs_for_mech`: the attributes it knows.
    pub known_mech_attrs: Vec<Vec<u8>>,
    /// `gss_inquire_saslname_for_mech`: SASL name, mechanism name, description.
    pub sasl_mech_name: Vec<u8>,
    /// See `sasl_mech_name`.
    pub mech_name: Vec<u8>,
    /// See `sasl_mech_name`.
    pub mech_description: Vec<u8>,
}

/// A `gss_OID_desc` over borrowed bytes, for the duration of one call that only reads it.
fn borrowed_oid(bytes: &[u8]) -> sys::gss_OID_desc {
    sys::gss_OID_desc {
        length: u32::try_from(bytes.len()).unwrap_or(0),
        elements: bytes.as_ptr().cast::<c_void>().cast_mut(),
    }
}

/// Copies a library-allocated OID set out and releases it.
fn take_oid_set(set: &mut *mut sys::gss_OID_set_desc) -> Vec<Vec<u8>> {
    let mut oids = Vec::new();
    if !set.is_null() {
        // SAFETY: a non-null set the library returned: `count` OIDs at `elements`.
        let desc = unsafe { &**set };
        for index in 0..desc.count {
            // SAFETY: `index < count`, within the library's array.
            let oid = unsafe { desc.elements.add(index) };
            oids.push(oid_bytes(oid));
        }
    }
    let mut minor = 0;
    // SAFETY: null or a set the library allocated, released once (the library nulls it).
    unsafe { sys::gss_release_oid_set(&raw mut minor, set) };
    oids
}

/// Every mechanism MIT offers (`gss_indicate_mechs`) with its name types, attributes and SASL
/// names.
pub fn indicate_mechs() -> Result<Vec<MechDescription>, GssStatus> {
    let mut set: *mut sys::gss_OID_set_desc = ptr::null_mut();
    let mut minor = 0;
    // SAFETY: `set` is a valid out-pointer (released by take_oid_set).
    let major = unsafe { sys::gss_indicate_mechs(&raw mut minor, &raw mut set) };
    let mechs = take_oid_set(&mut set);
    check(major, minor, None)?;
    mechs.into_iter().map(describe_mech).collect()
}

fn describe_mech(oid: Vec<u8>) -> Result<MechDescription, GssStatus> {
    let mut mech = borrowed_oid(&oid);
    let mut names: *mut sys::gss_OID_set_desc = ptr::null_mut();
    let mut minor = 0;
    // SAFETY: the OID is valid for the call and only read; `names` a valid out-pointer.
    let major = unsafe { sys::gss_inquire_names_for_mech(&raw mut minor, &raw mut mech, &raw mut names) };
    let name_types = take_oid_set(&mut names);
    check(major, minor, None)?;
    let (mut attrs, mut known): (*mut sys::gss_OID_set_desc, *mut sys::gss_OID_set_desc) =
        (ptr::null_mut(), ptr::null_mut());
    // SAFETY: as above; two valid out-pointers.
    let major = unsafe {
        sys::gss_inquire_attrs_for_mech(&raw mut minor, &raw mut mech, &raw mut attrs, &raw mut known)
    };
    let mech_attrs = take_oid_set(&mut attrs);
    let known_mech_attrs = take_oid_set(&mut known);
    check(major, minor, None)?;
    let mut buffers = [
        sys::gss_buffer_desc::empty(),
        sys::gss_buffer_desc::empty(),
        sys::gss_buffer_desc::empty(),
    ];
    let [sasl, name, description] = &mut buffers;
    // SAFETY: the OID is valid for the call; three empty buffers the library fills (released
    // by take_buffer).
    let major =
        unsafe { sys::gss_inquire_saslname_for_mech(&raw mut minor, &raw mut mech, sasl, name, description) };
    let [sasl, name, description] = buffers.map(|mut buffer| take_buffer(&mut buffer));
    // A mechanism without SASL names keeps empty ones.
    let (sasl_mech_name, mech_name, mech_description) = if major & GSS_ERROR_MASK == 0 {
        (sasl, name, description)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    Ok(MechDescription {
        oid,
        name_types,
        mech_attrs,
        known_mech_attrs,
        sasl_mech_name,
        mech_name,
        mech_description,
    })
}

/// `gss_display_mech_attr`: a mechanism attribute's name, short and long description.
pub fn mech_attr_description(attr: &[u8]) -> Result<[Vec<u8>; 3], GssStatus> {
    let mut oid = borrowed_oid(attr);
    let mut buffers = [
        sys::gss_buffer_desc::empty(),
        sys::gss_buffer_desc::empty(),
        sys::gss_buffer_desc::empty(),
    ];
    let [name, short, long] = &mut buffers;
    let mut minor = 0;
    // SAFETY: the OID is valid for the call and only read; three empty buffers the library
    // fills (released by take_buffer).
    let major = unsafe { sys::gss_display_mech_attr(&raw mut minor, &raw mut oid, name, short, long) };
    let texts = buffers.map(|mut buffer| take_buffer(&mut buffer));
    check(major, minor, None)?;
    Ok(texts)
}

/// Copies a lucid context's fields out (keys into zeroed-on-drop [`SessionKey`]s).
fn lucid_context(context: &sys::gss_krb5_lucid_context_v1_t) -> Result<LucidContext, GssStatus> {
    let unusable = || GssStatus {
        major: GSS_S_FAILURE,
        minor: 0,
        message: format!(
            "unusable lucid context (version {}, protocol {})",
            context.version, context.protocol
        ),
    };
    let copy = |key: &sys::gss_krb5_lucid_key_t| {
        if key.data.is_null() || key.length == 0 {
            return None;
        }
        // SAFETY: the lucid key points at `length` readable bytes owned by the export.
        let bytes = unsafe { std::slice::from_raw_parts(key.data.cast::<u8>(), key.length as usize) };
        Some(SessionKey::new(i32::try_from(key.type_).unwrap_or(-1), bytes))
    };
    let (ctx_key, acceptor_subkey) = match (context.version, context.protocol) {
        (1, 0) => (copy(&context.rfc1964_kd.ctx_key), None),
        (1, 1) => (
            copy(&context.cfx_kd.ctx_key),
            if context.cfx_kd.have_acceptor_subkey == 0 {
                None
            } else {
                Some(copy(&context.cfx_kd.acceptor_subkey).ok_or_else(unusable)?)
            },
        ),
        _ => return Err(unusable()),
    };
    Ok(LucidContext {
        initiate: context.initiate != 0,
        endtime: context.endtime,
        send_seq: context.send_seq,
        recv_seq: context.recv_seq,
        protocol: context.protocol,
        ctx_key: ctx_key.ok_or_else(unusable)?,
        acceptor_subkey,
    })
}

/// `gss_display_status` of a major status code (every message, joined with "; ").
#[must_use]
pub fn major_status_text(major: u32) -> String {
    display_status(major, sys::GSS_C_GSS_CODE, None)
}

/// `gss_display_status` of a krb5 minor status code.
#[must_use]
pub fn minor_status_text(minor: u32) -> String {
    display_status(minor, sys::GSS_C_MECH_CODE, Some(Mech::Krb5))
}

impl Drop for SecurityContext {
    fn drop(&mut self) {
        if !self.raw.is_null() {
            let mut minor = 0;
            // SAFETY: a live context handle of ours, deleted once; no output token wanted.
            unsafe { sys::gss_delete_sec_context(&raw mut minor, &raw mut self.raw, ptr::null_mut()) };
        }
    }
}

impl fmt::Debug for SecurityContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gss::SecurityContext({:?})", self.mech)
    }
}

/// The content bytes of a library-owned OID (empty for none).
fn oid_bytes(oid: sys::gss_OID) -> Vec<u8> {
    if oid.is_null() {
        return Vec::new();
    }
    // SAFETY: a non-null OID returned by the library, valid for the library's lifetime.
    let desc = unsafe { &*oid };
    if desc.elements.is_null() {
        return Vec::new();
    }
    // SAFETY: an OID's `elements` points at `length` readable bytes.
    unsafe { std::slice::from_raw_parts(desc.elements.cast::<u8>(), desc.length as usize) }.to_vec()
}

/// Copies a library-filled buffer into a `Vec` and releases it.
fn take_buffer(buffer: &mut sys::gss_buffer_desc) -> Vec<u8> {
    let bytes = if buffer.value.is_null() || buffer.length == 0 {
        Vec::new()
    } else {
        // SAFETY: the library filled the buffer with `length` readable bytes.
        unsafe { std::slice::from_raw_parts(buffer.value.cast::<u8>(), buffer.length) }.to_vec()
    };
    let mut minor = 0;
    // SAFETY: an empty or library-allocated buffer, released once (the library resets it).
    unsafe { sys::gss_release_buffer(&raw mut minor, buffer) };
    bytes
}

/// [`take_buffer`] for a buffer holding secrets: the library's copy is released by
/// `gss_release_buffer` (MIT frees without zeroing: a limit of the library), ours is wiped on
/// drop.
fn take_secret_buffer(buffer: &mut sys::gss_buffer_desc) -> SecretBytes {
    SecretBytes::new(take_buffer(buffer))
}

/// Ok for `GSS_S_COMPLETE`/`GSS_S_CONTINUE_NEEDED` (supplementary bits only), else the typed
/// status with its text.
fn check(major: u32, minor: u32, mech: Option<Mech>) -> Result<(), GssStatus> {
    if major & GSS_ERROR_MASK == 0 {
        return Ok(());
    }
    let mut message = display_status(major, sys::GSS_C_GSS_CODE, None);
    if minor != 0 {
        let minor_text = display_status(minor, sys::GSS_C_MECH_CODE, mech.or(Some(Mech::Krb5)));
        if !minor_text.is_empty() {
            message.push_str(": ");
            message.push_str(&minor_text);
        }
    }
    Err(GssStatus {
        major,
        minor,
        message,
    })
}

/// Every message `gss_display_status` has for `status` (at most 8), joined with "; ".
fn display_status(status: u32, status_type: std::ffi::c_int, mech: Option<Mech>) -> String {
    let mut parts = Vec::new();
    let mut message_context = 0;
    for _ in 0..8 {
        let mut mech_oid = mech.map(|m| oid_desc(m.oid()));
        let mech_ptr = mech_oid.as_mut().map_or(ptr::null_mut(), ptr::from_mut);
        let mut text = sys::gss_buffer_desc::empty();
        let mut minor = 0;
        // SAFETY: valid out-pointers; the OID (or null) is valid for the call; `text` is an
        // empty buffer the library fills (released by take_buffer).
        let major = unsafe {
            sys::gss_display_status(
                &raw mut minor,
                status,
                status_type,
                mech_ptr,
                &raw mut message_context,
                &raw mut text,
            )
        };
        let bytes = take_buffer(&mut text);
        if major & GSS_ERROR_MASK != 0 {
            break;
        }
        if !bytes.is_empty() {
            parts.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        if message_context == 0 {
            break;
        }
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mech_oids_are_the_registered_ones() {
        assert_eq!(Mech::Krb5.oid(), b"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02");
        assert_eq!(Mech::Iakerb.oid(), b"\x2b\x06\x01\x05\x02\x05");
    }

    #[test]
    fn a_failure_status_carries_the_library_text() {
        let err = check(GSS_S_NO_CRED, 0, None).unwrap_err();
        assert_eq!(err.routine_error(), GSS_S_NO_CRED);
        assert!(err.message.contains("credentials"), "{err}");
        assert!(check(GSS_S_CONTINUE_NEEDED, 0, None).is_ok());
        assert!(check(GSS_S_COMPLETE, 0, None).is_ok());
    }

    #[test]
    fn a_hostbased_name_with_a_nul_byte_is_refused() {
        let err = Name::hostbased("cifs@host\0evil").unwrap_err();
        assert_eq!(err.major, GSS_S_BAD_NAME);
        assert!(Name::hostbased("cifs@host.kup.test").is_ok());
    }
}
