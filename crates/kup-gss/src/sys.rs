//! Hand-written declarations of the few MIT krb5 1.20 and GSSAPI entry points and structures
//! cifs.upcall needs (Debian 12: `libkrb5.so.3`, `libgssapi_krb5.so.2`).
//!
//! Written from the installed headers (`krb5/krb5.h`, `gssapi/gssapi.h`, `gssapi/gssapi_ext.h`,
//! `gssapi/gssapi_krb5.h`, package libkrb5-dev 1.20.1); every structure whose fields Rust reads
//! or writes is checked against the C compiler's `sizeof`/`offsetof` by this module's tests.
//! Opaque handles are distinct zero-sized types behind raw pointers. Nothing here is `pub`
//! outside the crate: the safe wrappers in `krb5` and `gss` are the API.
//!
//! Linking: the versioned sonames verbatim (`-l:libkrb5.so.3`), so building needs only the
//! runtime packages (libkrb5-3, libgssapi-krb5-2, libk5crypto3), not libkrb5-dev's unversioned symlinks
//! (docs/deps.md).

#![allow(non_camel_case_types, non_snake_case, dead_code)]

use std::ffi::{c_char, c_int, c_uint, c_void};

/// `krb5_error_code`, `krb5_magic`, `krb5_timestamp`, `krb5_enctype`, `krb5_flags`,
/// `krb5_cksumtype`: all `krb5_int32`.
pub(crate) type krb5_int32 = i32;
pub(crate) type krb5_error_code = krb5_int32;
pub(crate) type krb5_timestamp = krb5_int32;
pub(crate) type krb5_boolean = c_uint;

macro_rules! opaque {
    ($($name:ident),* $(,)?) => {$(
        #[repr(C)]
        pub(crate) struct $name {
            _private: [u8; 0],
            _not_send_or_sync: core::marker::PhantomData<*mut u8>,
        }
    )*};
}
opaque!(
    _krb5_context,
    _krb5_ccache,
    _krb5_kt,
    _krb5_auth_context,
    _krb5_get_init_creds_opt,
    _krb5_address,
    _krb5_authdata,
    gss_name_struct,
    gss_cred_id_struct,
    gss_ctx_id_struct,
);

pub(crate) type krb5_context = *mut _krb5_context;
pub(crate) type krb5_ccache = *mut _krb5_ccache;
pub(crate) type krb5_keytab = *mut _krb5_kt;
pub(crate) type krb5_auth_context = *mut _krb5_auth_context;
pub(crate) type krb5_principal = *mut krb5_principal_data;
pub(crate) type krb5_cc_cursor = *mut c_void;

/// `krb5_data`.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct krb5_data {
    pub(crate) magic: krb5_int32,
    pub(crate) length: c_uint,
    pub(crate) data: *mut c_char,
}

/// `krb5_principal_data` (the realm is read by the TGT check).
#[repr(C)]
pub(crate) struct krb5_principal_data {
    pub(crate) magic: krb5_int32,
    pub(crate) realm: krb5_data,
    pub(crate) data: *mut krb5_data,
    pub(crate) length: krb5_int32,
    pub(crate) type_: krb5_int32,
}

/// `krb5_keyblock`.
#[repr(C)]
pub(crate) struct krb5_keyblock {
    pub(crate) magic: krb5_int32,
    pub(crate) enctype: krb5_int32,
    pub(crate) length: c_uint,
    pub(crate) contents: *mut u8,
}

/// `krb5_ticket_times`.
#[repr(C)]
pub(crate) struct krb5_ticket_times {
    pub(crate) authtime: krb5_timestamp,
    pub(crate) starttime: krb5_timestamp,
    pub(crate) endtime: krb5_timestamp,
    pub(crate) renew_till: krb5_timestamp,
}

/// `krb5_creds`: filled by the library (iteration, `krb5_get_credentials`) and, all-zero but for
/// `client` and `server`, by us as the `in_creds` of `krb5_get_credentials`.
#[repr(C)]
pub(crate) struct krb5_creds {
    pub(crate) magic: krb5_int32,
    pub(crate) client: krb5_principal,
    pub(crate) server: krb5_principal,
    pub(crate) keyblock: krb5_keyblock,
    pub(crate) times: krb5_ticket_times,
    pub(crate) is_skey: krb5_boolean,
    pub(crate) ticket_flags: krb5_int32,
    pub(crate) addresses: *mut *mut _krb5_address,
    pub(crate) ticket: krb5_data,
    pub(crate) second_ticket: krb5_data,
    pub(crate) authdata: *mut *mut _krb5_authdata,
}

impl krb5_creds {
    /// All fields zero / null, as C's `memset(&creds, 0, sizeof creds)`.
    pub(crate) fn zeroed() -> Self {
        let empty = || krb5_data {
            magic: 0,
            length: 0,
            data: std::ptr::null_mut(),
        };
        krb5_creds {
            magic: 0,
            client: std::ptr::null_mut(),
            server: std::ptr::null_mut(),
            keyblock: krb5_keyblock {
                magic: 0,
                enctype: 0,
                length: 0,
                contents: std::ptr::null_mut(),
            },
            times: krb5_ticket_times {
                authtime: 0,
                starttime: 0,
                endtime: 0,
                renew_till: 0,
            },
            is_skey: 0,
            ticket_flags: 0,
            addresses: std::ptr::null_mut(),
            ticket: empty(),
            second_ticket: empty(),
            authdata: std::ptr::null_mut(),
        }
    }
}

/// `krb5_keytab_entry` (read while choosing gssproxy's handle-encryption key).
#[repr(C)]
pub(crate) struct krb5_keytab_entry {
    pub(crate) magic: krb5_int32,
    pub(crate) principal: krb5_principal,
    pub(crate) timestamp: krb5_timestamp,
    pub(crate) vno: c_uint,
    pub(crate) key: krb5_keyblock,
}

/// `krb5_enc_data`.
#[repr(C)]
pub(crate) struct krb5_enc_data {
    pub(crate) magic: krb5_int32,
    pub(crate) enctype: krb5_int32,
    pub(crate) kvno: c_uint,
    pub(crate) ciphertext: krb5_data,
}

/// `KRB5_KEYUSAGE_APP_DATA_ENCRYPT`.
pub(crate) const KRB5_KEYUSAGE_APP_DATA_ENCRYPT: krb5_int32 = 16;
/// `KRB5_KT_END` (`krb5_err.h`: "End of key table reached").
pub(crate) const KRB5_KT_END: krb5_int32 = -1_765_328_202;

/// `KRB5_NT_UNKNOWN`.
pub(crate) const KRB5_NT_UNKNOWN: krb5_int32 = 0;
/// `AP_OPTS_USE_SUBKEY`.
pub(crate) const AP_OPTS_USE_SUBKEY: krb5_int32 = 0x0000_0001;
/// The GSS-API checksum type (RFC 4121 §4.1.1); MIT's `krb5_mk_req_extended` puts the caller's
/// bytes verbatim into the authenticator's checksum when the auth context asks for it.
pub(crate) const CKSUMTYPE_GSSAPI: krb5_int32 = 0x8003;

#[link(name = "libkrb5.so.3", kind = "dylib", modifiers = "+verbatim")]
unsafe extern "C" {
    pub(crate) fn krb5_init_context(context: *mut krb5_context) -> krb5_error_code;
    pub(crate) fn krb5_free_context(context: krb5_context);
    pub(crate) fn krb5_get_error_message(context: krb5_context, code: krb5_error_code) -> *const c_char;
    pub(crate) fn krb5_free_error_message(context: krb5_context, msg: *const c_char);
    pub(crate) fn krb5_timeofday(context: krb5_context, timeret: *mut krb5_timestamp) -> krb5_error_code;

    pub(crate) fn krb5_parse_name(
        context: krb5_context,
        name: *const c_char,
        principal: *mut krb5_principal,
    ) -> krb5_error_code;
    pub(crate) fn krb5_sname_to_principal(
        context: krb5_context,
        hostname: *const c_char,
        sname: *const c_char,
        type_: krb5_int32,
        ret_princ: *mut krb5_principal,
    ) -> krb5_error_code;
    pub(crate) fn krb5_unparse_name(
        context: krb5_context,
        principal: *const krb5_principal_data,
        name: *mut *mut c_char,
    ) -> krb5_error_code;
    pub(crate) fn krb5_free_unparsed_name(context: krb5_context, val: *mut c_char);
    pub(crate) fn krb5_aname_to_localname(
        context: krb5_context,
        aname: *const krb5_principal_data,
        lnsize_in: std::ffi::c_int,
        lname: *mut c_char,
    ) -> krb5_error_code;
    pub(crate) fn krb5_free_principal(context: krb5_context, val: krb5_principal);
    pub(crate) fn krb5_copy_principal(
        context: krb5_context,
        inprinc: *const krb5_principal_data,
        outprinc: *mut krb5_principal,
    ) -> krb5_error_code;
    pub(crate) fn krb5_free_string(context: krb5_context, val: *mut c_char);
    pub(crate) fn krb5_principal_compare(
        context: krb5_context,
        princ1: *const krb5_principal_data,
        princ2: *const krb5_principal_data,
    ) -> krb5_boolean;

    pub(crate) fn krb5_cc_default(context: krb5_context, ccache: *mut krb5_ccache) -> krb5_error_code;
    pub(crate) fn krb5_cc_resolve(
        context: krb5_context,
        name: *const c_char,
        cache: *mut krb5_ccache,
    ) -> krb5_error_code;
    pub(crate) fn krb5_cc_new_unique(
        context: krb5_context,
        type_: *const c_char,
        hint: *const c_char,
        id: *mut krb5_ccache,
    ) -> krb5_error_code;
    pub(crate) fn krb5_cc_get_principal(
        context: krb5_context,
        cache: krb5_ccache,
        principal: *mut krb5_principal,
    ) -> krb5_error_code;
    pub(crate) fn krb5_cc_get_full_name(
        context: krb5_context,
        cache: krb5_ccache,
        fullname_out: *mut *mut c_char,
    ) -> krb5_error_code;
    pub(crate) fn krb5_cc_initialize(
        context: krb5_context,
        cache: krb5_ccache,
        principal: *const krb5_principal_data,
    ) -> krb5_error_code;
    pub(crate) fn krb5_cc_store_cred(
        context: krb5_context,
        cache: krb5_ccache,
        creds: *mut krb5_creds,
    ) -> krb5_error_code;
    pub(crate) fn krb5_cc_close(context: krb5_context, cache: krb5_ccache) -> krb5_error_code;
    pub(crate) fn krb5_cc_destroy(context: krb5_context, cache: krb5_ccache) -> krb5_error_code;
    pub(crate) fn krb5_cc_start_seq_get(
        context: krb5_context,
        cache: krb5_ccache,
        cursor: *mut krb5_cc_cursor,
    ) -> krb5_error_code;
    pub(crate) fn krb5_cc_next_cred(
        context: krb5_context,
        cache: krb5_ccache,
        cursor: *mut krb5_cc_cursor,
        creds: *mut krb5_creds,
    ) -> krb5_error_code;
    pub(crate) fn krb5_cc_end_seq_get(
        context: krb5_context,
        cache: krb5_ccache,
        cursor: *mut krb5_cc_cursor,
    ) -> krb5_error_code;
    pub(crate) fn krb5_free_cred_contents(context: krb5_context, val: *mut krb5_creds);
    pub(crate) fn krb5_free_creds(context: krb5_context, val: *mut krb5_creds);

    pub(crate) fn krb5_kt_resolve(
        context: krb5_context,
        name: *const c_char,
        ktid: *mut krb5_keytab,
    ) -> krb5_error_code;
    pub(crate) fn krb5_kt_default(context: krb5_context, id: *mut krb5_keytab) -> krb5_error_code;
    pub(crate) fn krb5_kt_close(context: krb5_context, keytab: krb5_keytab) -> krb5_error_code;
    pub(crate) fn krb5_kt_add_entry(
        context: krb5_context,
        id: krb5_keytab,
        entry: *mut krb5_keytab_entry,
    ) -> krb5_error_code;
    pub(crate) fn krb5_kt_remove_entry(
        context: krb5_context,
        id: krb5_keytab,
        entry: *mut krb5_keytab_entry,
    ) -> krb5_error_code;

    pub(crate) fn krb5_get_init_creds_keytab(
        context: krb5_context,
        creds: *mut krb5_creds,
        client: krb5_principal,
        arg_keytab: krb5_keytab,
        start_time: krb5_int32,
        in_tkt_service: *const c_char,
        k5_gic_options: *mut _krb5_get_init_creds_opt,
    ) -> krb5_error_code;
    pub(crate) fn krb5_get_credentials(
        context: krb5_context,
        options: krb5_int32,
        ccache: krb5_ccache,
        in_creds: *mut krb5_creds,
        out_creds: *mut *mut krb5_creds,
    ) -> krb5_error_code;

    pub(crate) fn krb5_auth_con_init(
        context: krb5_context,
        auth_context: *mut krb5_auth_context,
    ) -> krb5_error_code;
    pub(crate) fn krb5_auth_con_free(
        context: krb5_context,
        auth_context: krb5_auth_context,
    ) -> krb5_error_code;
    pub(crate) fn krb5_auth_con_setaddrs(
        context: krb5_context,
        auth_context: krb5_auth_context,
        local_addr: *mut _krb5_address,
        remote_addr: *mut _krb5_address,
    ) -> krb5_error_code;
    pub(crate) fn krb5_auth_con_set_req_cksumtype(
        context: krb5_context,
        auth_context: krb5_auth_context,
        cksumtype: krb5_int32,
    ) -> krb5_error_code;
    pub(crate) fn krb5_mk_req_extended(
        context: krb5_context,
        auth_context: *mut krb5_auth_context,
        ap_req_options: krb5_int32,
        in_data: *mut krb5_data,
        in_creds: *mut krb5_creds,
        outbuf: *mut krb5_data,
    ) -> krb5_error_code;
    pub(crate) fn krb5_auth_con_getsendsubkey(
        context: krb5_context,
        auth_context: krb5_auth_context,
        keyblock: *mut *mut krb5_keyblock,
    ) -> krb5_error_code;
    pub(crate) fn krb5_free_keyblock(context: krb5_context, val: *mut krb5_keyblock);
    pub(crate) fn krb5_free_keyblock_contents(context: krb5_context, key: *mut krb5_keyblock);

    pub(crate) fn krb5_kt_start_seq_get(
        context: krb5_context,
        keytab: krb5_keytab,
        cursor: *mut *mut c_void,
    ) -> krb5_error_code;
    pub(crate) fn krb5_kt_next_entry(
        context: krb5_context,
        keytab: krb5_keytab,
        entry: *mut krb5_keytab_entry,
        cursor: *mut *mut c_void,
    ) -> krb5_error_code;
    pub(crate) fn krb5_kt_end_seq_get(
        context: krb5_context,
        keytab: krb5_keytab,
        cursor: *mut *mut c_void,
    ) -> krb5_error_code;
    pub(crate) fn krb5_free_keytab_entry_contents(
        context: krb5_context,
        entry: *mut krb5_keytab_entry,
    ) -> krb5_error_code;
    pub(crate) fn krb5_get_permitted_enctypes(
        context: krb5_context,
        ktypes: *mut *mut krb5_int32,
    ) -> krb5_error_code;
    pub(crate) fn krb5_free_enctypes(context: krb5_context, val: *mut krb5_int32);

    pub(crate) fn krb5_free_data_contents(context: krb5_context, val: *mut krb5_data);
}

// MIT's crypto library (`libk5crypto.so.3`, a dependency of libkrb5 already): only linked
// into programs that call these (gssproxy's handle encryption).
#[link(name = "libk5crypto.so.3", kind = "dylib", modifiers = "+verbatim")]
unsafe extern "C" {
    pub(crate) fn krb5_c_make_random_key(
        context: krb5_context,
        enctype: krb5_int32,
        random_key: *mut krb5_keyblock,
    ) -> krb5_error_code;
    pub(crate) fn krb5_c_encrypt_length(
        context: krb5_context,
        enctype: krb5_int32,
        inputlen: usize,
        length: *mut usize,
    ) -> krb5_error_code;
    pub(crate) fn krb5_c_encrypt(
        context: krb5_context,
        key: *const krb5_keyblock,
        usage: krb5_int32,
        cipher_state: *const krb5_data,
        input: *const krb5_data,
        output: *mut krb5_enc_data,
    ) -> krb5_error_code;
    pub(crate) fn krb5_c_decrypt(
        context: krb5_context,
        key: *const krb5_keyblock,
        usage: krb5_int32,
        cipher_state: *const krb5_data,
        input: *const krb5_enc_data,
        output: *mut krb5_data,
    ) -> krb5_error_code;
}

// ---- GSSAPI -------------------------------------------------------------------------------

/// `OM_uint32`.
pub(crate) type OM_uint32 = u32;
pub(crate) type gss_name_t = *mut gss_name_struct;
pub(crate) type gss_cred_id_t = *mut gss_cred_id_struct;
pub(crate) type gss_ctx_id_t = *mut gss_ctx_id_struct;
pub(crate) type gss_OID = *mut gss_OID_desc;
pub(crate) type gss_buffer_t = *mut gss_buffer_desc;

/// `gss_OID_desc`.
#[repr(C)]
pub(crate) struct gss_OID_desc {
    pub(crate) length: OM_uint32,
    pub(crate) elements: *mut c_void,
}

/// `gss_OID_set_desc`.
#[repr(C)]
pub(crate) struct gss_OID_set_desc {
    pub(crate) count: usize,
    pub(crate) elements: gss_OID,
}

/// `gss_buffer_desc`.
#[repr(C)]
pub(crate) struct gss_buffer_desc {
    pub(crate) length: usize,
    pub(crate) value: *mut c_void,
}

impl gss_buffer_desc {
    /// `GSS_C_EMPTY_BUFFER`.
    pub(crate) fn empty() -> Self {
        gss_buffer_desc {
            length: 0,
            value: std::ptr::null_mut(),
        }
    }
}

/// `struct gss_channel_bindings_struct` (RFC 2744 §3.11).
#[repr(C)]
pub(crate) struct gss_channel_bindings_struct {
    pub(crate) initiator_addrtype: OM_uint32,
    pub(crate) initiator_address: gss_buffer_desc,
    pub(crate) acceptor_addrtype: OM_uint32,
    pub(crate) acceptor_address: gss_buffer_desc,
    pub(crate) application_data: gss_buffer_desc,
}

/// `gss_buffer_set_desc` (`gssapi_ext.h`): what `gss_inquire_cred_by_oid` returns.
#[repr(C)]
pub(crate) struct gss_buffer_set_desc {
    pub(crate) count: usize,
    pub(crate) elements: gss_buffer_t,
}

/// `gss_key_value_element_desc` (`gssapi_ext.h`).
#[repr(C)]
pub(crate) struct gss_key_value_element_desc {
    pub(crate) key: *const c_char,
    pub(crate) value: *const c_char,
}

/// `gss_key_value_set_desc` (`gssapi_ext.h`).
#[repr(C)]
pub(crate) struct gss_key_value_set_desc {
    pub(crate) count: OM_uint32,
    pub(crate) elements: *mut gss_key_value_element_desc,
}

/// `gss_krb5_lucid_key_t`.
#[repr(C)]
pub(crate) struct gss_krb5_lucid_key_t {
    pub(crate) type_: OM_uint32,
    pub(crate) length: OM_uint32,
    pub(crate) data: *mut c_void,
}

/// `gss_krb5_rfc1964_keydata_t`.
#[repr(C)]
pub(crate) struct gss_krb5_rfc1964_keydata_t {
    pub(crate) sign_alg: OM_uint32,
    pub(crate) seal_alg: OM_uint32,
    pub(crate) ctx_key: gss_krb5_lucid_key_t,
}

/// `gss_krb5_cfx_keydata_t`.
#[repr(C)]
pub(crate) struct gss_krb5_cfx_keydata_t {
    pub(crate) have_acceptor_subkey: OM_uint32,
    pub(crate) ctx_key: gss_krb5_lucid_key_t,
    pub(crate) acceptor_subkey: gss_krb5_lucid_key_t,
}

/// `gss_krb5_lucid_context_v1_t`.
#[repr(C)]
pub(crate) struct gss_krb5_lucid_context_v1_t {
    pub(crate) version: OM_uint32,
    pub(crate) initiate: OM_uint32,
    pub(crate) endtime: OM_uint32,
    pub(crate) send_seq: u64,
    pub(crate) recv_seq: u64,
    pub(crate) protocol: OM_uint32,
    pub(crate) rfc1964_kd: gss_krb5_rfc1964_keydata_t,
    pub(crate) cfx_kd: gss_krb5_cfx_keydata_t,
}

/// `gss_cred_usage_t` values.
pub(crate) const GSS_C_BOTH: c_int = 0;
pub(crate) const GSS_C_INITIATE: c_int = 1;
pub(crate) const GSS_C_ACCEPT: c_int = 2;
/// `gss_display_status` status types.
pub(crate) const GSS_C_GSS_CODE: c_int = 1;
pub(crate) const GSS_C_MECH_CODE: c_int = 2;
/// `GSS_C_INDEFINITE`.
pub(crate) const GSS_C_INDEFINITE: OM_uint32 = 0xffff_ffff;

#[link(name = "libgssapi_krb5.so.2", kind = "dylib", modifiers = "+verbatim")]
unsafe extern "C" {
    pub(crate) fn gss_import_name(
        minor_status: *mut OM_uint32,
        input_name_buffer: gss_buffer_t,
        input_name_type: gss_OID,
        output_name: *mut gss_name_t,
    ) -> OM_uint32;
    pub(crate) fn gss_release_name(minor_status: *mut OM_uint32, input_name: *mut gss_name_t) -> OM_uint32;
    pub(crate) fn gss_display_name(
        minor_status: *mut OM_uint32,
        input_name: gss_name_t,
        output_name_buffer: gss_buffer_t,
        output_name_type: *mut gss_OID,
    ) -> OM_uint32;
    pub(crate) fn gss_init_sec_context(
        minor_status: *mut OM_uint32,
        claimant_cred_handle: gss_cred_id_t,
        context_handle: *mut gss_ctx_id_t,
        target_name: gss_name_t,
        mech_type: gss_OID,
        req_flags: OM_uint32,
        time_req: OM_uint32,
        input_chan_bindings: *mut gss_channel_bindings_struct,
        input_token: gss_buffer_t,
        actual_mech_type: *mut gss_OID,
        output_token: gss_buffer_t,
        ret_flags: *mut OM_uint32,
        time_rec: *mut OM_uint32,
    ) -> OM_uint32;
    pub(crate) fn gss_accept_sec_context(
        minor_status: *mut OM_uint32,
        context_handle: *mut gss_ctx_id_t,
        acceptor_cred_handle: gss_cred_id_t,
        input_token_buffer: gss_buffer_t,
        input_chan_bindings: *mut gss_channel_bindings_struct,
        src_name: *mut gss_name_t,
        mech_type: *mut gss_OID,
        output_token: gss_buffer_t,
        ret_flags: *mut OM_uint32,
        time_rec: *mut OM_uint32,
        delegated_cred_handle: *mut gss_cred_id_t,
    ) -> OM_uint32;
    pub(crate) fn gss_delete_sec_context(
        minor_status: *mut OM_uint32,
        context_handle: *mut gss_ctx_id_t,
        output_token: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_release_buffer(minor_status: *mut OM_uint32, buffer: gss_buffer_t) -> OM_uint32;
    pub(crate) fn gss_display_status(
        minor_status: *mut OM_uint32,
        status_value: OM_uint32,
        status_type: c_int,
        mech_type: gss_OID,
        message_context: *mut OM_uint32,
        status_string: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_acquire_cred_from(
        minor_status: *mut OM_uint32,
        desired_name: gss_name_t,
        time_req: OM_uint32,
        desired_mechs: *mut gss_OID_set_desc,
        cred_usage: c_int,
        cred_store: *const gss_key_value_set_desc,
        output_cred_handle: *mut gss_cred_id_t,
        actual_mechs: *mut *mut gss_OID_set_desc,
        time_rec: *mut OM_uint32,
    ) -> OM_uint32;
    pub(crate) fn gss_store_cred_into(
        minor_status: *mut OM_uint32,
        input_cred_handle: gss_cred_id_t,
        input_usage: c_int,
        desired_mech: gss_OID,
        overwrite_cred: OM_uint32,
        default_cred: OM_uint32,
        cred_store: *const gss_key_value_set_desc,
        elements_stored: *mut *mut gss_OID_set_desc,
        cred_usage_stored: *mut c_int,
    ) -> OM_uint32;
    pub(crate) fn gss_release_cred(
        minor_status: *mut OM_uint32,
        cred_handle: *mut gss_cred_id_t,
    ) -> OM_uint32;
    pub(crate) fn gss_indicate_mechs(
        minor_status: *mut OM_uint32,
        mech_set: *mut *mut gss_OID_set_desc,
    ) -> OM_uint32;
    pub(crate) fn gss_release_oid_set(
        minor_status: *mut OM_uint32,
        set: *mut *mut gss_OID_set_desc,
    ) -> OM_uint32;
    pub(crate) fn gss_inquire_names_for_mech(
        minor_status: *mut OM_uint32,
        mechanism: gss_OID,
        name_types: *mut *mut gss_OID_set_desc,
    ) -> OM_uint32;
    pub(crate) fn gss_inquire_attrs_for_mech(
        minor_status: *mut OM_uint32,
        mech: gss_OID,
        mech_attrs: *mut *mut gss_OID_set_desc,
        known_mech_attrs: *mut *mut gss_OID_set_desc,
    ) -> OM_uint32;
    pub(crate) fn gss_inquire_saslname_for_mech(
        minor_status: *mut OM_uint32,
        desired_mech: gss_OID,
        sasl_mech_name: gss_buffer_t,
        mech_name: gss_buffer_t,
        mech_description: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_display_mech_attr(
        minor_status: *mut OM_uint32,
        mech_attr: gss_OID,
        name: gss_buffer_t,
        short_desc: gss_buffer_t,
        long_desc: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_export_sec_context(
        minor_status: *mut OM_uint32,
        context_handle: *mut gss_ctx_id_t,
        interprocess_token: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_export_name(
        minor_status: *mut OM_uint32,
        input_name: gss_name_t,
        exported_name: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_localname(
        minor_status: *mut OM_uint32,
        name: gss_name_t,
        mech_type: gss_OID,
        localname: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_inquire_context(
        minor_status: *mut OM_uint32,
        context_handle: gss_ctx_id_t,
        src_name: *mut gss_name_t,
        targ_name: *mut gss_name_t,
        lifetime_rec: *mut OM_uint32,
        mech_type: *mut gss_OID,
        ctx_flags: *mut OM_uint32,
        locally_initiated: *mut c_int,
        open: *mut c_int,
    ) -> OM_uint32;
    pub(crate) fn gss_krb5_export_lucid_sec_context(
        minor_status: *mut OM_uint32,
        context_handle: *mut gss_ctx_id_t,
        version: OM_uint32,
        kctx: *mut *mut c_void,
    ) -> OM_uint32;
    pub(crate) fn gss_canonicalize_name(
        minor_status: *mut OM_uint32,
        input_name: gss_name_t,
        mech_type: gss_OID,
        output_name: *mut gss_name_t,
    ) -> OM_uint32;
    pub(crate) fn gss_export_name_composite(
        minor_status: *mut OM_uint32,
        name: gss_name_t,
        exp_composite_name: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_import_sec_context(
        minor_status: *mut OM_uint32,
        interprocess_token: gss_buffer_t,
        context_handle: *mut gss_ctx_id_t,
    ) -> OM_uint32;
    pub(crate) fn gss_get_mic(
        minor_status: *mut OM_uint32,
        context_handle: gss_ctx_id_t,
        qop_req: OM_uint32,
        message_buffer: gss_buffer_t,
        message_token: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_verify_mic(
        minor_status: *mut OM_uint32,
        context_handle: gss_ctx_id_t,
        message_buffer: gss_buffer_t,
        message_token: gss_buffer_t,
        qop_state: *mut OM_uint32,
    ) -> OM_uint32;
    pub(crate) fn gss_wrap(
        minor_status: *mut OM_uint32,
        context_handle: gss_ctx_id_t,
        conf_req_flag: c_int,
        qop_req: OM_uint32,
        input_message_buffer: gss_buffer_t,
        conf_state: *mut c_int,
        output_message_buffer: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_unwrap(
        minor_status: *mut OM_uint32,
        context_handle: gss_ctx_id_t,
        input_message_buffer: gss_buffer_t,
        output_message_buffer: gss_buffer_t,
        conf_state: *mut c_int,
        qop_state: *mut OM_uint32,
    ) -> OM_uint32;
    pub(crate) fn gss_wrap_size_limit(
        minor_status: *mut OM_uint32,
        context_handle: gss_ctx_id_t,
        conf_req_flag: c_int,
        qop_req: OM_uint32,
        req_output_size: OM_uint32,
        max_input_size: *mut OM_uint32,
    ) -> OM_uint32;
    pub(crate) fn gss_export_cred(
        minor_status: *mut OM_uint32,
        cred_handle: gss_cred_id_t,
        token: gss_buffer_t,
    ) -> OM_uint32;
    pub(crate) fn gss_import_cred(
        minor_status: *mut OM_uint32,
        token: gss_buffer_t,
        cred_handle: *mut gss_cred_id_t,
    ) -> OM_uint32;
    pub(crate) fn gss_inquire_cred_by_mech(
        minor_status: *mut OM_uint32,
        cred_handle: gss_cred_id_t,
        mech_type: gss_OID,
        name: *mut gss_name_t,
        initiator_lifetime: *mut OM_uint32,
        acceptor_lifetime: *mut OM_uint32,
        cred_usage: *mut c_int,
    ) -> OM_uint32;
    pub(crate) fn gss_acquire_cred_impersonate_name(
        minor_status: *mut OM_uint32,
        impersonator_cred_handle: gss_cred_id_t,
        desired_name: gss_name_t,
        time_req: OM_uint32,
        desired_mechs: *mut gss_OID_set_desc,
        cred_usage: c_int,
        output_cred_handle: *mut gss_cred_id_t,
        actual_mechs: *mut *mut gss_OID_set_desc,
        time_rec: *mut OM_uint32,
    ) -> OM_uint32;
    pub(crate) fn gss_compare_name(
        minor_status: *mut OM_uint32,
        name1: gss_name_t,
        name2: gss_name_t,
        name_equal: *mut c_int,
    ) -> OM_uint32;
    pub(crate) fn gss_inquire_cred_by_oid(
        minor_status: *mut OM_uint32,
        cred_handle: gss_cred_id_t,
        desired_object: gss_OID,
        data_set: *mut *mut gss_buffer_set_desc,
    ) -> OM_uint32;
    pub(crate) fn gss_release_buffer_set(
        minor_status: *mut OM_uint32,
        buffer_set: *mut *mut gss_buffer_set_desc,
    ) -> OM_uint32;
    pub(crate) fn gss_krb5_free_lucid_sec_context(
        minor_status: *mut OM_uint32,
        kctx: *mut c_void,
    ) -> OM_uint32;
}

#[cfg(test)]
mod tests {
    //! The layouts above against the C compiler's view of the installed headers.

    use std::mem::{offset_of, size_of};
    use std::path::Path;
    use std::process::Command;

    use super::*;

    /// A C program printing `name value` for every size and offset we rely on.
    const LAYOUT_PROGRAM: &str = r#"
#include <stddef.h>
#include <stdio.h>
#include <krb5/krb5.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#define S(t) printf("sizeof %s %zu\n", #t, sizeof(t));
#define O(t, f) printf("offsetof %s.%s %zu\n", #t, #f, offsetof(t, f));
int main(void) {
    S(krb5_data) O(krb5_data, length) O(krb5_data, data)
    S(krb5_principal_data) O(krb5_principal_data, realm) O(krb5_principal_data, data)
    O(krb5_principal_data, length) O(krb5_principal_data, type)
    S(krb5_keyblock) O(krb5_keyblock, enctype) O(krb5_keyblock, length) O(krb5_keyblock, contents)
    S(krb5_ticket_times) O(krb5_ticket_times, endtime)
    S(krb5_creds) O(krb5_creds, client) O(krb5_creds, server) O(krb5_creds, keyblock)
    O(krb5_creds, times) O(krb5_creds, is_skey) O(krb5_creds, ticket_flags) O(krb5_creds, addresses)
    O(krb5_creds, ticket) O(krb5_creds, second_ticket) O(krb5_creds, authdata)
    S(gss_OID_desc) O(gss_OID_desc, elements)
    S(gss_OID_set_desc) O(gss_OID_set_desc, elements)
    S(gss_buffer_desc) O(gss_buffer_desc, value)
    S(gss_buffer_set_desc) O(gss_buffer_set_desc, elements)
    S(gss_key_value_element_desc) O(gss_key_value_element_desc, value)
    S(gss_key_value_set_desc) O(gss_key_value_set_desc, elements)
    S(gss_krb5_lucid_key_t) O(gss_krb5_lucid_key_t, length) O(gss_krb5_lucid_key_t, data)
    S(gss_krb5_rfc1964_keydata_t) O(gss_krb5_rfc1964_keydata_t, ctx_key)
    S(gss_krb5_cfx_keydata_t) O(gss_krb5_cfx_keydata_t, ctx_key) O(gss_krb5_cfx_keydata_t, acceptor_subkey)
    S(gss_krb5_lucid_context_v1_t) O(gss_krb5_lucid_context_v1_t, send_seq)
    O(gss_krb5_lucid_context_v1_t, recv_seq) O(gss_krb5_lucid_context_v1_t, protocol)
    O(gss_krb5_lucid_context_v1_t, rfc1964_kd) O(gss_krb5_lucid_context_v1_t, cfx_kd)
    S(krb5_keytab_entry) O(krb5_keytab_entry, principal) O(krb5_keytab_entry, timestamp)
    O(krb5_keytab_entry, vno) O(krb5_keytab_entry, key)
    S(krb5_enc_data) O(krb5_enc_data, enctype) O(krb5_enc_data, kvno) O(krb5_enc_data, ciphertext)
    printf("const KRB5_KEYUSAGE_APP_DATA_ENCRYPT %d\n", (int)KRB5_KEYUSAGE_APP_DATA_ENCRYPT);
    printf("const KRB5_KT_END %ld\n", (long)KRB5_KT_END);
    printf("const GSS_C_BOTH %d\n", (int)GSS_C_BOTH);
    printf("const GSS_C_INITIATE %d\n", (int)GSS_C_INITIATE);
    printf("const KRB5_NT_UNKNOWN %d\n", (int)KRB5_NT_UNKNOWN);
    printf("const AP_OPTS_USE_SUBKEY %d\n", (int)AP_OPTS_USE_SUBKEY);
    printf("const GSS_C_ACCEPT %d\n", (int)GSS_C_ACCEPT);
    printf("const GSS_C_GSS_CODE %d\n", (int)GSS_C_GSS_CODE);
    printf("const GSS_C_MECH_CODE %d\n", (int)GSS_C_MECH_CODE);
    printf("const GSS_C_INDEFINITE %u\n", (unsigned)GSS_C_INDEFINITE);
    printf("const GSS_S_CONTINUE_NEEDED %u\n", (unsigned)GSS_S_CONTINUE_NEEDED);
    return 0;
}
"#;

    /// What Rust says for the same names, in the same format.
    fn rust_layout() -> Vec<String> {
        macro_rules! size {
            ($t:ident) => {
                format!("sizeof {} {}", stringify!($t), size_of::<$t>())
            };
        }
        macro_rules! offset {
            ($t:ident, $f:ident) => {
                offset!($t, $f, stringify!($f))
            };
            ($t:ident, $f:ident, $c:expr) => {
                format!("offsetof {}.{} {}", stringify!($t), $c, offset_of!($t, $f))
            };
        }
        let constant = |name: &str, value: i64| format!("const {name} {value}");
        vec![
            size!(krb5_data),
            offset!(krb5_data, length),
            offset!(krb5_data, data),
            size!(krb5_principal_data),
            offset!(krb5_principal_data, realm),
            offset!(krb5_principal_data, data),
            offset!(krb5_principal_data, length),
            offset!(krb5_principal_data, type_, "type"),
            size!(krb5_keyblock),
            offset!(krb5_keyblock, enctype),
            offset!(krb5_keyblock, length),
            offset!(krb5_keyblock, contents),
            size!(krb5_ticket_times),
            offset!(krb5_ticket_times, endtime),
            size!(krb5_creds),
            offset!(krb5_creds, client),
            offset!(krb5_creds, server),
            offset!(krb5_creds, keyblock),
            offset!(krb5_creds, times),
            offset!(krb5_creds, is_skey),
            offset!(krb5_creds, ticket_flags),
            offset!(krb5_creds, addresses),
            offset!(krb5_creds, ticket),
            offset!(krb5_creds, second_ticket),
            offset!(krb5_creds, authdata),
            size!(gss_OID_desc),
            offset!(gss_OID_desc, elements),
            size!(gss_OID_set_desc),
            offset!(gss_OID_set_desc, elements),
            size!(gss_buffer_desc),
            offset!(gss_buffer_desc, value),
            size!(gss_buffer_set_desc),
            offset!(gss_buffer_set_desc, elements),
            size!(gss_key_value_element_desc),
            offset!(gss_key_value_element_desc, value),
            size!(gss_key_value_set_desc),
            offset!(gss_key_value_set_desc, elements),
            size!(gss_krb5_lucid_key_t),
            offset!(gss_krb5_lucid_key_t, length),
            offset!(gss_krb5_lucid_key_t, data),
            size!(gss_krb5_rfc1964_keydata_t),
            offset!(gss_krb5_rfc1964_keydata_t, ctx_key),
            size!(gss_krb5_cfx_keydata_t),
            offset!(gss_krb5_cfx_keydata_t, ctx_key),
            offset!(gss_krb5_cfx_keydata_t, acceptor_subkey),
            size!(gss_krb5_lucid_context_v1_t),
            offset!(gss_krb5_lucid_context_v1_t, send_seq),
            offset!(gss_krb5_lucid_context_v1_t, recv_seq),
            offset!(gss_krb5_lucid_context_v1_t, protocol),
            offset!(gss_krb5_lucid_context_v1_t, rfc1964_kd),
            offset!(gss_krb5_lucid_context_v1_t, cfx_kd),
            size!(krb5_keytab_entry),
            offset!(krb5_keytab_entry, principal),
            offset!(krb5_keytab_entry, timestamp),
            offset!(krb5_keytab_entry, vno),
            offset!(krb5_keytab_entry, key),
            size!(krb5_enc_data),
            offset!(krb5_enc_data, enctype),
            offset!(krb5_enc_data, kvno),
            offset!(krb5_enc_data, ciphertext),
            constant(
                "KRB5_KEYUSAGE_APP_DATA_ENCRYPT",
                KRB5_KEYUSAGE_APP_DATA_ENCRYPT.into(),
            ),
            constant("KRB5_KT_END", KRB5_KT_END.into()),
            constant("GSS_C_BOTH", GSS_C_BOTH.into()),
            constant("GSS_C_INITIATE", GSS_C_INITIATE.into()),
            constant("KRB5_NT_UNKNOWN", KRB5_NT_UNKNOWN.into()),
            constant("AP_OPTS_USE_SUBKEY", AP_OPTS_USE_SUBKEY.into()),
            constant("GSS_C_ACCEPT", GSS_C_ACCEPT.into()),
            constant("GSS_C_GSS_CODE", GSS_C_GSS_CODE.into()),
            constant("GSS_C_MECH_CODE", GSS_C_MECH_CODE.into()),
            constant("GSS_C_INDEFINITE", GSS_C_INDEFINITE.into()),
            constant("GSS_S_CONTINUE_NEEDED", crate::gss::GSS_S_CONTINUE_NEEDED.into()),
        ]
    }

    #[test]
    fn struct_layouts_and_constants_match_the_installed_mit_headers() {
        assert!(
            Path::new("/usr/include/krb5/krb5.h").is_file(),
            "the MIT headers are missing: install libkrb5-dev (.ci/packages.d/krb5.txt lists it)"
        );
        let dir = std::env::temp_dir().join(format!("kup-gss-layout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = dir.join("layout.c");
        let program = dir.join("layout");
        std::fs::write(&source, LAYOUT_PROGRAM).unwrap();
        let compiled = Command::new("cc")
            .arg("-o")
            .arg(&program)
            .arg(&source)
            .output()
            .unwrap();
        assert!(
            compiled.status.success(),
            "cc failed:\n{}",
            String::from_utf8_lossy(&compiled.stderr)
        );
        let run = Command::new(&program).output().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(run.status.success());
        let c_text = String::from_utf8(run.stdout).unwrap();
        let mut c_lines: Vec<&str> = c_text.lines().collect();
        let mut rust_lines = rust_layout();
        c_lines.sort_unstable();
        rust_lines.sort_unstable();
        assert_eq!(rust_lines, c_lines);
    }
}
