//! The arguments and results of the `gss_proxy.x` procedures that interposer clients
//! (`proxymech.so`, `GSS_USE_PROXY=yes`) call and the kernel does not: name import, credential
//! acquire/export/import/store, context initiation, handle release and the per-message calls.
//! Field order is wire order (`gssproxy-protocol.md` §2.3–§2.4).
//!
//! Each structure is declared once through [`xdr_struct!`], which writes the type, its
//! [`Xdr`] decoder (every buffer and array under the decoder's limits, through the same helpers
//! as the kernel's types) and its encoder from one field list, so the three cannot disagree.

use crate::gssx::{
    CallCtx, Cb, Cred, Ctx, GssxOption, Name, NameAttr, Status, Xdr, array, buffers, encode_array,
    encode_buffers, encode_optional, optional,
};
use crate::xdr::{Decoder, Encoder, XdrError};

/// The Rust type of one field kind.
macro_rules! field_type {
    (item $ty:ty) => { $ty };
    (opt $ty:ty) => { Option<$ty> };
    (list $ty:ty) => { Vec<$ty> };
    (buf) => { Vec<u8> };
    (optbuf) => { Option<Vec<u8>> };
    (bufs) => { Vec<Vec<u8>> };
    (u32) => { u32 };
    (u64) => { u64 };
    (bool) => { bool };
    (optu64) => { Option<u64> };
    (optbool) => { Option<bool> };
}

/// The fewest wire bytes of one field kind.
macro_rules! field_min {
    (item $ty:ty) => {
        <$ty as Xdr>::MIN_SIZE
    };
    (u64) => {
        8
    };
    ($($other:tt)*) => {
        4
    };
}

/// Decodes one field kind.
macro_rules! field_decode {
    ($d:ident, item $ty:ty) => {
        <$ty as Xdr>::decode($d)?
    };
    ($d:ident, opt $ty:ty) => {
        optional::<$ty>($d)?
    };
    ($d:ident, list $ty:ty) => {
        array::<$ty>($d)?
    };
    ($d:ident, buf) => {
        $d.opaque()?
    };
    ($d:ident, optbuf) => {
        $d.optional(Decoder::opaque)?
    };
    ($d:ident, bufs) => {
        buffers($d)?
    };
    ($d:ident, u32) => {
        $d.u32()?
    };
    ($d:ident, u64) => {
        $d.u64()?
    };
    ($d:ident, bool) => {
        $d.bool()?
    };
    ($d:ident, optu64) => {
        $d.optional(Decoder::u64)?
    };
    ($d:ident, optbool) => {
        $d.optional(Decoder::bool)?
    };
}

/// Encodes one field kind.
macro_rules! field_encode {
    ($e:ident, $v:expr, item $ty:ty) => {
        $v.encode($e)
    };
    ($e:ident, $v:expr, opt $ty:ty) => {
        encode_optional($e, $v.as_ref())
    };
    ($e:ident, $v:expr, list $ty:ty) => {
        encode_array($e, &$v)
    };
    ($e:ident, $v:expr, buf) => {
        $e.opaque(&$v)
    };
    ($e:ident, $v:expr, optbuf) => {
        $e.optional($v.as_ref(), |e, v| e.opaque(v))
    };
    ($e:ident, $v:expr, bufs) => {
        encode_buffers($e, &$v)
    };
    ($e:ident, $v:expr, u32) => {
        $e.u32($v)
    };
    ($e:ident, $v:expr, u64) => {
        $e.u64($v)
    };
    ($e:ident, $v:expr, bool) => {
        $e.bool($v)
    };
    ($e:ident, $v:expr, optu64) => {
        $e.optional($v.as_ref(), |e, v| e.u64(*v))
    };
    ($e:ident, $v:expr, optbool) => {
        $e.optional($v.as_ref(), |e, v| e.bool(*v))
    };
}

/// One XDR structure: the type, `MIN_SIZE`, `decode` and `encode`, from one field list.
macro_rules! xdr_struct {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $kind:ident $(<$ty:ty>)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: field_type!($kind $($ty)?), )*
        }

        impl Xdr for $name {
            const MIN_SIZE: usize = 0 $( + field_min!($kind $($ty)?) )*;

            fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
                Ok(Self {
                    $( $field: field_decode!(decoder, $kind $($ty)?), )*
                })
            }

            fn encode(&self, encoder: &mut Encoder) {
                $( field_encode!(encoder, self.$field, $kind $($ty)?); )*
            }
        }
    };
}

/// `gssx_handle_type`: `GSSX_C_HANDLE_SEC_CTX`.
pub const HANDLE_SEC_CTX: u32 = 0;
/// `gssx_handle_type`: `GSSX_C_HANDLE_CRED`.
pub const HANDLE_CRED: u32 = 1;

/// `gssx_handle`: a union on the handle type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handle {
    /// `GSSX_C_HANDLE_SEC_CTX`: a security context.
    SecCtx(Box<Ctx>),
    /// `GSSX_C_HANDLE_CRED`: a credential.
    Cred(Box<Cred>),
    /// Any other type: its number and the `extensions` octet string.
    Other(u32, Vec<u8>),
}

impl Default for Handle {
    fn default() -> Self {
        Self::Other(u32::MAX, Vec::new())
    }
}

impl Xdr for Handle {
    const MIN_SIZE: usize = 8;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(match decoder.u32()? {
            HANDLE_SEC_CTX => Self::SecCtx(Box::new(Ctx::decode(decoder)?)),
            HANDLE_CRED => Self::Cred(Box::new(Cred::decode(decoder)?)),
            other => Self::Other(other, decoder.opaque()?),
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        match self {
            Self::SecCtx(context) => {
                encoder.u32(HANDLE_SEC_CTX);
                context.encode(encoder);
            }
            Self::Cred(cred) => {
                encoder.u32(HANDLE_CRED);
                cred.encode(encoder);
            }
            Self::Other(kind, extensions) => {
                encoder.u32(*kind);
                encoder.opaque(extensions);
            }
        }
    }
}

xdr_struct! {
    /// `gssx_arg_import_and_canon_name` (procedure 3).
    ArgImportAndCanonName {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The name to import.
        input_name: item<Name>,
        /// Mechanism to canonicalise for (empty: none).
        mech: buf,
        /// Attributes to set.
        name_attributes: list<NameAttr>,
        /// Options (`localname\0` asks for `gss_localname`).
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_res_import_and_canon_name`.
    ResImportAndCanonName {
        /// Status.
        status: item<Status>,
        /// The imported (canonical) name.
        output_name: opt<Name>,
        /// Options (`localname\0` with the local user name).
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_arg_export_cred` (procedure 4).
    ArgExportCred {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The credential.
        input_cred_handle: item<Cred>,
        /// `gssx_cred_usage`.
        cred_usage: u32,
        /// Options.
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_res_export_cred`.
    ResExportCred {
        /// Status.
        status: item<Status>,
        /// `gssx_cred_usage` exported.
        usage_exported: u32,
        /// The exported credential token.
        exported_handle: optbuf,
        /// Options.
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_arg_import_cred` (procedure 5).
    ArgImportCred {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The exported credential token.
        exported_handle: buf,
        /// Options.
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_res_import_cred`.
    ResImportCred {
        /// Status.
        status: item<Status>,
        /// The credential.
        output_cred_handle: opt<Cred>,
        /// Options.
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_arg_acquire_cred` (procedure 6).
    ArgAcquireCred {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// A credential to reuse or add to.
        input_cred_handle: opt<Cred>,
        /// Whether to add to `input_cred_handle`.
        add_cred_to_input_handle: bool,
        /// The name wanted (absent: `GSS_C_NO_NAME`).
        desired_name: opt<Name>,
        /// Lifetime wanted, seconds.
        time_req: u64,
        /// Mechanism OIDs wanted.
        desired_mechs: bufs,
        /// `gssx_cred_usage`.
        cred_usage: u32,
        /// Initiator lifetime wanted.
        initiator_time_req: u64,
        /// Acceptor lifetime wanted.
        acceptor_time_req: u64,
        /// Options.
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_res_acquire_cred`.
    ResAcquireCred {
        /// Status.
        status: item<Status>,
        /// The credential.
        output_cred_handle: opt<Cred>,
        /// Options.
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_arg_store_cred` (procedure 7).
    ArgStoreCred {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The credential.
        input_cred_handle: item<Cred>,
        /// `gssx_cred_usage`.
        cred_usage: u32,
        /// Mechanism OID.
        desired_mech: buf,
        /// Whether to overwrite.
        overwrite_cred: bool,
        /// Whether to make it the default.
        default_cred: bool,
        /// Options.
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_res_store_cred`.
    ResStoreCred {
        /// Status.
        status: item<Status>,
        /// Mechanisms stored.
        elements_stored: bufs,
        /// `gssx_cred_usage` stored.
        cred_usage_stored: u32,
        /// Options.
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_arg_init_sec_context` (procedure 8).
    ArgInitSecContext {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The context to continue (absent on the first call).
        context_handle: opt<Ctx>,
        /// Initiator credential (absent: `GSS_C_NO_CREDENTIAL`).
        cred_handle: opt<Cred>,
        /// Target (absent: `GSS_C_NO_NAME`).
        target_name: opt<Name>,
        /// Mechanism OID.
        mech_type: buf,
        /// `req_flags`.
        req_flags: u64,
        /// Lifetime wanted.
        time_req: u64,
        /// Channel bindings.
        input_cb: opt<Cb>,
        /// The acceptor's last token.
        input_token: optbuf,
        /// Options (`sync_modified_creds\0`).
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_res_init_sec_context`.
    ResInitSecContext {
        /// Status.
        status: item<Status>,
        /// The context (partial or complete).
        context_handle: opt<Ctx>,
        /// Token for the acceptor.
        output_token: optbuf,
        /// Options.
        options: list<GssxOption>,
    }
}

xdr_struct! {
    /// `gssx_arg_release_handle` (procedure 10).
    ArgReleaseHandle {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The handle.
        cred_handle: item<Handle>,
    }
}

xdr_struct! {
    /// `gssx_res_release_handle`.
    ResReleaseHandle {
        /// Status.
        status: item<Status>,
    }
}

xdr_struct! {
    /// `gssx_arg_get_mic` (procedure 11).
    ArgGetMic {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The context.
        context_handle: item<Ctx>,
        /// QOP.
        qop_req: u64,
        /// The message.
        message_buffer: buf,
    }
}

xdr_struct! {
    /// `gssx_res_get_mic`.
    ResGetMic {
        /// Status.
        status: item<Status>,
        /// The context, re-exported.
        context_handle: opt<Ctx>,
        /// The MIC (empty on error).
        token_buffer: buf,
        /// QOP.
        qop_state: optu64,
    }
}

xdr_struct! {
    /// `gssx_arg_verify_mic` (procedure 12).
    ArgVerifyMic {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The context.
        context_handle: item<Ctx>,
        /// The message.
        message_buffer: buf,
        /// The MIC.
        token_buffer: buf,
    }
}

xdr_struct! {
    /// `gssx_res_verify_mic`.
    ResVerifyMic {
        /// Status.
        status: item<Status>,
        /// The context, re-exported.
        context_handle: opt<Ctx>,
        /// QOP.
        qop_state: optu64,
    }
}

xdr_struct! {
    /// `gssx_arg_wrap` (procedure 13).
    ArgWrap {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The context.
        context_handle: item<Ctx>,
        /// Whether confidentiality is wanted.
        conf_req: bool,
        /// The message, as buffers.
        message_buffer: bufs,
        /// QOP.
        qop_state: u64,
    }
}

xdr_struct! {
    /// `gssx_res_wrap`.
    ResWrap {
        /// Status.
        status: item<Status>,
        /// The context, re-exported.
        context_handle: opt<Ctx>,
        /// The token, as buffers.
        token_buffer: bufs,
        /// Whether confidentiality was applied.
        conf_state: optbool,
        /// QOP.
        qop_state: optu64,
    }
}

xdr_struct! {
    /// `gssx_arg_unwrap` (procedure 14).
    ArgUnwrap {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The context.
        context_handle: item<Ctx>,
        /// The token, as buffers.
        token_buffer: bufs,
        /// QOP.
        qop_state: u64,
    }
}

xdr_struct! {
    /// `gssx_res_unwrap`.
    ResUnwrap {
        /// Status.
        status: item<Status>,
        /// The context, re-exported.
        context_handle: opt<Ctx>,
        /// The message, as buffers.
        message_buffer: bufs,
        /// Whether confidentiality was applied.
        conf_state: optbool,
        /// QOP.
        qop_state: optu64,
    }
}

xdr_struct! {
    /// `gssx_arg_wrap_size_limit` (procedure 15).
    ArgWrapSizeLimit {
        /// Call context.
        call_ctx: item<CallCtx>,
        /// The context.
        context_handle: item<Ctx>,
        /// Whether confidentiality is wanted.
        conf_req: bool,
        /// QOP.
        qop_state: u64,
        /// Largest output wanted.
        req_output_size: u64,
    }
}

xdr_struct! {
    /// `gssx_res_wrap_size_limit`.
    ResWrapSizeLimit {
        /// Status.
        status: item<Status>,
        /// Largest input that fits.
        max_input_size: u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::Limits;

    fn bytes<T: Xdr>(value: &T) -> Vec<u8> {
        let mut encoder = Encoder::new(1 << 20);
        value.encode(&mut encoder);
        encoder.finish().unwrap()
    }

    fn round_trip<T: Xdr + PartialEq + std::fmt::Debug>(value: &T) {
        let encoded = bytes(value);
        let mut decoder = Decoder::new(&encoded, Limits::DEFAULT);
        assert_eq!(&T::decode(&mut decoder).unwrap(), value);
        assert!(decoder.remaining().is_empty());
    }

    /// The zero value of each type encodes to exactly its `MIN_SIZE` (what array counts are
    /// bounded with), and round-trips.
    fn minimal<T: Xdr + Default + PartialEq + std::fmt::Debug>() {
        let zero = T::default();
        assert_eq!(bytes(&zero).len(), T::MIN_SIZE, "{zero:?}");
        round_trip(&zero);
    }

    fn context() -> Ctx {
        Ctx {
            exported_context_token: vec![1, 2, 3],
            mech: crate::gssx::KRB5_OID.to_vec(),
            lifetime: 86_400,
            ctx_flags: 0x1b6,
            open: true,
            ..Ctx::default()
        }
    }

    #[test]
    fn every_type_has_a_true_minimum_size() {
        minimal::<ArgImportAndCanonName>();
        minimal::<ResImportAndCanonName>();
        minimal::<ArgExportCred>();
        minimal::<ResExportCred>();
        minimal::<ArgImportCred>();
        minimal::<ResImportCred>();
        minimal::<ArgAcquireCred>();
        minimal::<ResAcquireCred>();
        minimal::<ArgStoreCred>();
        minimal::<ResStoreCred>();
        minimal::<ArgInitSecContext>();
        minimal::<ResInitSecContext>();
        minimal::<ResReleaseHandle>();
        minimal::<ArgGetMic>();
        minimal::<ResGetMic>();
        minimal::<ArgVerifyMic>();
        minimal::<ResVerifyMic>();
        minimal::<ArgWrap>();
        minimal::<ResWrap>();
        minimal::<ArgUnwrap>();
        minimal::<ResUnwrap>();
        minimal::<ArgWrapSizeLimit>();
        minimal::<ResWrapSizeLimit>();
    }

    #[test]
    fn the_per_message_and_handle_types_round_trip_with_values() {
        round_trip(&ArgReleaseHandle {
            call_ctx: CallCtx::default(),
            cred_handle: Handle::SecCtx(Box::new(context())),
        });
        round_trip(&ArgReleaseHandle {
            call_ctx: CallCtx::default(),
            cred_handle: Handle::Cred(Box::new(Cred {
                cred_handle_reference: vec![9; 187],
                ..Cred::default()
            })),
        });
        round_trip(&ArgReleaseHandle {
            call_ctx: CallCtx::default(),
            cred_handle: Handle::Other(7, vec![1, 2, 3, 4, 5]),
        });
        round_trip(&ResGetMic {
            status: Status::default(),
            context_handle: Some(context()),
            token_buffer: vec![0xaa; 28],
            qop_state: Some(0),
        });
        round_trip(&ArgWrap {
            call_ctx: CallCtx::default(),
            context_handle: context(),
            conf_req: true,
            message_buffer: vec![b"one".to_vec(), b"three".to_vec()],
            qop_state: 0,
        });
        round_trip(&ResUnwrap {
            status: Status::default(),
            context_handle: None,
            message_buffer: vec![b"x".to_vec()],
            conf_state: Some(true),
            qop_state: None,
        });
        round_trip(&ArgWrapSizeLimit {
            call_ctx: CallCtx::default(),
            context_handle: context(),
            conf_req: false,
            qop_state: 0,
            req_output_size: 65_536,
        });
        round_trip(&ResExportCred {
            status: Status::default(),
            usage_exported: 3,
            exported_handle: Some(vec![4; 10]),
            options: vec![GssxOption {
                option: b"o\0".to_vec(),
                value: b"v".to_vec(),
            }],
        });
    }

    #[test]
    fn a_huge_claimed_count_is_refused_before_any_allocation() {
        // WRAP's message buffers: a count of 2^32 - 1 with nothing behind it.
        let mut encoded = bytes(&ArgWrap {
            context_handle: context(),
            ..ArgWrap::default()
        });
        let count_at = encoded.len() - 12;
        encoded[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut decoder = Decoder::new(&encoded, Limits::DEFAULT);
        assert!(matches!(
            ArgWrap::decode(&mut decoder),
            Err(XdrError::TooMany { .. })
        ));
    }

    #[test]
    fn a_handle_of_another_type_keeps_its_extensions() {
        let mut decoder = Decoder::new(&[0, 0, 0, 9, 0, 0, 0, 2, 0xab, 0xcd, 0, 0], Limits::DEFAULT);
        assert_eq!(
            Handle::decode(&mut decoder),
            Ok(Handle::Other(9, vec![0xab, 0xcd]))
        );
    }
}
