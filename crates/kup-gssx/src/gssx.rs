//! The `gss_proxy.x` types (program 400112 version 1) the daemon needs first, and the procedure
//! table.
//!
//! Every type implements [`Xdr`]: `decode` under the decoder's [`Limits`](crate::xdr::Limits)
//! (buffers bounded by `max_opaque`, arrays by `max_array` and by the bytes left, each array's
//! elements counted at their smallest wire size before anything is reserved) and `encode`. The
//! types nest to a fixed depth (no type contains itself), so decoding needs no depth counter.
//! Enumerations carried in structures (`cred_usage`) are kept as the raw number, as the
//! reference's XDR library does not check them either.

use crate::xdr::{Decoder, Encoder, XdrError};

/// The procedures of `gss_proxy.x`, numbered as there (0, NULL, is not served by gssproxy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Procedure {
    /// 1
    IndicateMechs,
    /// 2
    GetCallContext,
    /// 3
    ImportAndCanonName,
    /// 4
    ExportCred,
    /// 5
    ImportCred,
    /// 6
    AcquireCred,
    /// 7
    StoreCred,
    /// 8
    InitSecContext,
    /// 9
    AcceptSecContext,
    /// 10
    ReleaseHandle,
    /// 11
    GetMic,
    /// 12
    Verify,
    /// 13
    Wrap,
    /// 14
    Unwrap,
    /// 15
    WrapSizeLimit,
}

impl Procedure {
    /// Every procedure, by number.
    pub const ALL: [Self; 15] = [
        Self::IndicateMechs,
        Self::GetCallContext,
        Self::ImportAndCanonName,
        Self::ExportCred,
        Self::ImportCred,
        Self::AcquireCred,
        Self::StoreCred,
        Self::InitSecContext,
        Self::AcceptSecContext,
        Self::ReleaseHandle,
        Self::GetMic,
        Self::Verify,
        Self::Wrap,
        Self::Unwrap,
        Self::WrapSizeLimit,
    ];

    /// The procedure with this number (1–15).
    #[must_use]
    pub fn from_number(number: u32) -> Option<Self> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        Self::ALL.get(index).copied()
    }

    /// Its number.
    #[must_use]
    pub fn number(self) -> u32 {
        match self {
            Self::IndicateMechs => 1,
            Self::GetCallContext => 2,
            Self::ImportAndCanonName => 3,
            Self::ExportCred => 4,
            Self::ImportCred => 5,
            Self::AcquireCred => 6,
            Self::StoreCred => 7,
            Self::InitSecContext => 8,
            Self::AcceptSecContext => 9,
            Self::ReleaseHandle => 10,
            Self::GetMic => 11,
            Self::Verify => 12,
            Self::Wrap => 13,
            Self::Unwrap => 14,
            Self::WrapSizeLimit => 15,
        }
    }

    /// Its name in `gss_proxy.x` (`GSSX_ACCEPT_SEC_CONTEXT`, …).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::IndicateMechs => "GSSX_INDICATE_MECHS",
            Self::GetCallContext => "GSSX_GET_CALL_CONTEXT",
            Self::ImportAndCanonName => "GSSX_IMPORT_AND_CANON_NAME",
            Self::ExportCred => "GSSX_EXPORT_CRED",
            Self::ImportCred => "GSSX_IMPORT_CRED",
            Self::AcquireCred => "GSSX_ACQUIRE_CRED",
            Self::StoreCred => "GSSX_STORE_CRED",
            Self::InitSecContext => "GSSX_INIT_SEC_CONTEXT",
            Self::AcceptSecContext => "GSSX_ACCEPT_SEC_CONTEXT",
            Self::ReleaseHandle => "GSSX_RELEASE_HANDLE",
            Self::GetMic => "GSSX_GET_MIC",
            Self::Verify => "GSSX_VERIFY",
            Self::Wrap => "GSSX_WRAP",
            Self::Unwrap => "GSSX_UNWRAP",
            Self::WrapSizeLimit => "GSSX_WRAP_SIZE_LIMIT",
        }
    }
}

/// `exported_context_type\0`: the kernel's call-context option asking for a lucid export.
pub const EXPORTED_CONTEXT_TYPE: &[u8] = b"exported_context_type\0";
/// `linux_lucid_v1\0`: its value.
pub const LINUX_LUCID_V1: &[u8] = b"linux_lucid_v1\0";
/// `exported_creds_type\0`: the kernel's call-context option asking for the caller's creds.
pub const EXPORTED_CREDS_TYPE: &[u8] = b"exported_creds_type\0";
/// `linux_creds_v1\0`: its value, and the name of the result option carrying the creds.
pub const LINUX_CREDS_V1: &[u8] = b"linux_creds_v1\0";
/// The krb5 mechanism OID's DER contents (1.2.840.113554.1.2.2).
pub const KRB5_OID: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];

/// A value with an XDR form.
pub trait Xdr: Sized {
    /// The fewest bytes its encoding takes (used to bound array counts by the bytes left).
    const MIN_SIZE: usize;

    /// Decodes one.
    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError>;

    /// Encodes it.
    fn encode(&self, encoder: &mut Encoder);
}

pub(crate) fn array<T: Xdr>(decoder: &mut Decoder<'_>) -> Result<Vec<T>, XdrError> {
    decoder.array(T::MIN_SIZE, T::decode)
}

pub(crate) fn encode_array<T: Xdr>(encoder: &mut Encoder, items: &[T]) {
    encoder.array(items, |encoder, item| item.encode(encoder));
}

pub(crate) fn buffers(decoder: &mut Decoder<'_>) -> Result<Vec<Vec<u8>>, XdrError> {
    decoder.array(4, Decoder::opaque)
}

pub(crate) fn encode_buffers(encoder: &mut Encoder, items: &[Vec<u8>]) {
    encoder.array(items, |encoder, item| encoder.opaque(item));
}

pub(crate) fn optional<T: Xdr>(decoder: &mut Decoder<'_>) -> Result<Option<T>, XdrError> {
    decoder.optional(T::decode)
}

pub(crate) fn encode_optional<T: Xdr>(encoder: &mut Encoder, item: Option<&T>) {
    encoder.optional(item, |encoder, item| item.encode(encoder));
}

/// `gssx_option`: a name/value pair.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GssxOption {
    /// The name (gssproxy's names include the trailing NUL).
    pub option: Vec<u8>,
    /// The value.
    pub value: Vec<u8>,
}

impl Xdr for GssxOption {
    const MIN_SIZE: usize = 8;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            option: decoder.opaque()?,
            value: decoder.opaque()?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        encoder.opaque(&self.option);
        encoder.opaque(&self.value);
    }
}

/// The value of the option named exactly `name` (length and bytes, NUL included), the first one
/// if there are several.
#[must_use]
pub fn find_option<'a>(options: &'a [GssxOption], name: &[u8]) -> Option<&'a [u8]> {
    options
        .iter()
        .find(|option| option.option == name)
        .map(|option| option.value.as_slice())
}

/// `gssx_status`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// GSS major status (RFC 2744 value widened to 64 bits).
    pub major_status: u64,
    /// The mechanism OID (DER contents), may be empty.
    pub mech: Vec<u8>,
    /// Mechanism minor status.
    pub minor_status: u64,
    /// Display text of the major status.
    pub major_status_string: Vec<u8>,
    /// Display text of the minor status.
    pub minor_status_string: Vec<u8>,
    /// Unused (empty).
    pub server_ctx: Vec<u8>,
    /// Options.
    pub options: Vec<GssxOption>,
}

impl Xdr for Status {
    const MIN_SIZE: usize = 36;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            major_status: decoder.u64()?,
            mech: decoder.opaque()?,
            minor_status: decoder.u64()?,
            major_status_string: decoder.opaque()?,
            minor_status_string: decoder.opaque()?,
            server_ctx: decoder.opaque()?,
            options: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        encoder.u64(self.major_status);
        encoder.opaque(&self.mech);
        encoder.u64(self.minor_status);
        encoder.opaque(&self.major_status_string);
        encoder.opaque(&self.minor_status_string);
        encoder.opaque(&self.server_ctx);
        encode_array(encoder, &self.options);
    }
}

/// `gssx_call_ctx`: the first argument of every procedure.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallCtx {
    /// Locale for status strings (empty from the kernel and the interposer).
    pub locale: Vec<u8>,
    /// Unused (empty).
    pub server_ctx: Vec<u8>,
    /// Request options (the kernel's `exported_context_type`/`exported_creds_type`).
    pub options: Vec<GssxOption>,
}

impl CallCtx {
    /// The two options the kernel sends with every `ACCEPT_SEC_CONTEXT`.
    #[must_use]
    pub fn kernel() -> Self {
        Self {
            locale: Vec::new(),
            server_ctx: Vec::new(),
            options: vec![
                GssxOption {
                    option: EXPORTED_CONTEXT_TYPE.to_vec(),
                    value: LINUX_LUCID_V1.to_vec(),
                },
                GssxOption {
                    option: EXPORTED_CREDS_TYPE.to_vec(),
                    value: LINUX_CREDS_V1.to_vec(),
                },
            ],
        }
    }
}

impl Xdr for CallCtx {
    const MIN_SIZE: usize = 12;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            locale: decoder.opaque()?,
            server_ctx: decoder.opaque()?,
            options: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        encoder.opaque(&self.locale);
        encoder.opaque(&self.server_ctx);
        encode_array(encoder, &self.options);
    }
}

/// `gssx_name_attr`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameAttr {
    /// Attribute.
    pub attr: Vec<u8>,
    /// Value.
    pub value: Vec<u8>,
    /// Extensions.
    pub extensions: Vec<GssxOption>,
}

impl Xdr for NameAttr {
    const MIN_SIZE: usize = 12;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            attr: decoder.opaque()?,
            value: decoder.opaque()?,
            extensions: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        encoder.opaque(&self.attr);
        encoder.opaque(&self.value);
        encode_array(encoder, &self.extensions);
    }
}

/// `gssx_name`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Name {
    /// Display form (`alice@KUP.TEST`).
    pub display_name: Vec<u8>,
    /// Name type OID (DER contents).
    pub name_type: Vec<u8>,
    /// RFC 2743 exported name token.
    pub exported_name: Vec<u8>,
    /// MIT composite export.
    pub exported_composite_name: Vec<u8>,
    /// Attributes.
    pub name_attributes: Vec<NameAttr>,
    /// Extensions.
    pub extensions: Vec<GssxOption>,
}

impl Xdr for Name {
    const MIN_SIZE: usize = 24;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            display_name: decoder.opaque()?,
            name_type: decoder.opaque()?,
            exported_name: decoder.opaque()?,
            exported_composite_name: decoder.opaque()?,
            name_attributes: array(decoder)?,
            extensions: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        encoder.opaque(&self.display_name);
        encoder.opaque(&self.name_type);
        encoder.opaque(&self.exported_name);
        encoder.opaque(&self.exported_composite_name);
        encode_array(encoder, &self.name_attributes);
        encode_array(encoder, &self.extensions);
    }
}

/// `gssx_cred_element`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CredElement {
    /// The element's mechanism name.
    pub mn: Name,
    /// Mechanism OID.
    pub mech: Vec<u8>,
    /// `gssx_cred_usage`: 1 INITIATE, 2 ACCEPT, 3 BOTH (raw).
    pub cred_usage: u32,
    /// Initiator lifetime left, seconds.
    pub initiator_time_rec: u64,
    /// Acceptor lifetime left, seconds (`0xffffffff` indefinite).
    pub acceptor_time_rec: u64,
    /// Options.
    pub options: Vec<GssxOption>,
}

impl Xdr for CredElement {
    const MIN_SIZE: usize = Name::MIN_SIZE + 4 + 4 + 8 + 8 + 4;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            mn: Name::decode(decoder)?,
            mech: decoder.opaque()?,
            cred_usage: decoder.u32()?,
            initiator_time_rec: decoder.u64()?,
            acceptor_time_rec: decoder.u64()?,
            options: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        self.mn.encode(encoder);
        encoder.opaque(&self.mech);
        encoder.u32(self.cred_usage);
        encoder.u64(self.initiator_time_rec);
        encoder.u64(self.acceptor_time_rec);
        encode_array(encoder, &self.options);
    }
}

/// `gssx_cred`: a credential handle held by the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    /// Desired name.
    pub desired_name: Name,
    /// Elements.
    pub elements: Vec<CredElement>,
    /// Server state (gssproxy: the encrypted exported credential).
    pub cred_handle_reference: Vec<u8>,
    /// Whether the server holds state to release.
    pub needs_release: bool,
}

impl Xdr for Cred {
    const MIN_SIZE: usize = Name::MIN_SIZE + 4 + 4 + 4;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            desired_name: Name::decode(decoder)?,
            elements: array(decoder)?,
            cred_handle_reference: decoder.opaque()?,
            needs_release: decoder.bool()?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        self.desired_name.encode(encoder);
        encode_array(encoder, &self.elements);
        encoder.opaque(&self.cred_handle_reference);
        encoder.bool(self.needs_release);
    }
}

/// `gssx_ctx`: a security context handle.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ctx {
    /// The exported context (MIT export, partial, or `linux_lucid_v1`).
    pub exported_context_token: Vec<u8>,
    /// Opaque state.
    pub state: Vec<u8>,
    /// Whether the server holds state to release.
    pub needs_release: bool,
    /// Mechanism OID.
    pub mech: Vec<u8>,
    /// Initiator name.
    pub src_name: Name,
    /// Acceptor name.
    pub targ_name: Name,
    /// Lifetime left, seconds.
    pub lifetime: u64,
    /// GSS context flags.
    pub ctx_flags: u64,
    /// Whether this side initiated.
    pub locally_initiated: bool,
    /// Whether the context is complete.
    pub open: bool,
    /// Options.
    pub options: Vec<GssxOption>,
}

impl Xdr for Ctx {
    const MIN_SIZE: usize = 4 + 4 + 4 + 4 + 2 * Name::MIN_SIZE + 8 + 8 + 4 + 4 + 4;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            exported_context_token: decoder.opaque()?,
            state: decoder.opaque()?,
            needs_release: decoder.bool()?,
            mech: decoder.opaque()?,
            src_name: Name::decode(decoder)?,
            targ_name: Name::decode(decoder)?,
            lifetime: decoder.u64()?,
            ctx_flags: decoder.u64()?,
            locally_initiated: decoder.bool()?,
            open: decoder.bool()?,
            options: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        encoder.opaque(&self.exported_context_token);
        encoder.opaque(&self.state);
        encoder.bool(self.needs_release);
        encoder.opaque(&self.mech);
        self.src_name.encode(encoder);
        self.targ_name.encode(encoder);
        encoder.u64(self.lifetime);
        encoder.u64(self.ctx_flags);
        encoder.bool(self.locally_initiated);
        encoder.bool(self.open);
        encode_array(encoder, &self.options);
    }
}

/// `gssx_cb`: channel bindings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cb {
    /// Initiator address type.
    pub initiator_addrtype: u64,
    /// Initiator address.
    pub initiator_address: Vec<u8>,
    /// Acceptor address type.
    pub acceptor_addrtype: u64,
    /// Acceptor address.
    pub acceptor_address: Vec<u8>,
    /// Application data.
    pub application_data: Vec<u8>,
}

impl Xdr for Cb {
    const MIN_SIZE: usize = 8 + 4 + 8 + 4 + 4;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            initiator_addrtype: decoder.u64()?,
            initiator_address: decoder.opaque()?,
            acceptor_addrtype: decoder.u64()?,
            acceptor_address: decoder.opaque()?,
            application_data: decoder.opaque()?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        encoder.u64(self.initiator_addrtype);
        encoder.opaque(&self.initiator_address);
        encoder.u64(self.acceptor_addrtype);
        encoder.opaque(&self.acceptor_address);
        encoder.opaque(&self.application_data);
    }
}

/// `gssx_mech_info` (`INDICATE_MECHS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MechInfo {
    /// Mechanism OID.
    pub mech: Vec<u8>,
    /// Name types.
    pub name_types: Vec<Vec<u8>>,
    /// Mechanism attributes.
    pub mech_attrs: Vec<Vec<u8>>,
    /// Known mechanism attributes.
    pub known_mech_attrs: Vec<Vec<u8>>,
    /// Credential options.
    pub cred_options: Vec<Vec<u8>>,
    /// Context options.
    pub sec_ctx_options: Vec<Vec<u8>>,
    /// SASL mechanism name.
    pub saslname_sasl_mech_name: Vec<u8>,
    /// Mechanism name.
    pub saslname_mech_name: Vec<u8>,
    /// Mechanism description.
    pub saslname_mech_desc: Vec<u8>,
    /// Extensions.
    pub extensions: Vec<GssxOption>,
}

impl Xdr for MechInfo {
    const MIN_SIZE: usize = 40;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            mech: decoder.opaque()?,
            name_types: buffers(decoder)?,
            mech_attrs: buffers(decoder)?,
            known_mech_attrs: buffers(decoder)?,
            cred_options: buffers(decoder)?,
            sec_ctx_options: buffers(decoder)?,
            saslname_sasl_mech_name: decoder.opaque()?,
            saslname_mech_name: decoder.opaque()?,
            saslname_mech_desc: decoder.opaque()?,
            extensions: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        encoder.opaque(&self.mech);
        encode_buffers(encoder, &self.name_types);
        encode_buffers(encoder, &self.mech_attrs);
        encode_buffers(encoder, &self.known_mech_attrs);
        encode_buffers(encoder, &self.cred_options);
        encode_buffers(encoder, &self.sec_ctx_options);
        encoder.opaque(&self.saslname_sasl_mech_name);
        encoder.opaque(&self.saslname_mech_name);
        encoder.opaque(&self.saslname_mech_desc);
        encode_array(encoder, &self.extensions);
    }
}

/// `gssx_mech_attr` (`INDICATE_MECHS`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MechAttr {
    /// Attribute OID.
    pub attr: Vec<u8>,
    /// Name.
    pub name: Vec<u8>,
    /// Short description.
    pub short_desc: Vec<u8>,
    /// Long description.
    pub long_desc: Vec<u8>,
    /// Extensions.
    pub extensions: Vec<GssxOption>,
}

impl Xdr for MechAttr {
    const MIN_SIZE: usize = 20;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            attr: decoder.opaque()?,
            name: decoder.opaque()?,
            short_desc: decoder.opaque()?,
            long_desc: decoder.opaque()?,
            extensions: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        encoder.opaque(&self.attr);
        encoder.opaque(&self.name);
        encoder.opaque(&self.short_desc);
        encoder.opaque(&self.long_desc);
        encode_array(encoder, &self.extensions);
    }
}

/// `gssx_arg_indicate_mechs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgIndicateMechs {
    /// Call context.
    pub call_ctx: CallCtx,
}

impl Xdr for ArgIndicateMechs {
    const MIN_SIZE: usize = CallCtx::MIN_SIZE;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            call_ctx: CallCtx::decode(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        self.call_ctx.encode(encoder);
    }
}

/// `gssx_res_indicate_mechs`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResIndicateMechs {
    /// Status.
    pub status: Status,
    /// Mechanisms.
    pub mechs: Vec<MechInfo>,
    /// Attribute descriptions.
    pub mech_attr_descs: Vec<MechAttr>,
    /// Supported extensions.
    pub supported_extensions: Vec<Vec<u8>>,
    /// Extensions.
    pub extensions: Vec<GssxOption>,
}

impl Xdr for ResIndicateMechs {
    const MIN_SIZE: usize = Status::MIN_SIZE + 16;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            status: Status::decode(decoder)?,
            mechs: array(decoder)?,
            mech_attr_descs: array(decoder)?,
            supported_extensions: buffers(decoder)?,
            extensions: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        self.status.encode(encoder);
        encode_array(encoder, &self.mechs);
        encode_array(encoder, &self.mech_attr_descs);
        encode_buffers(encoder, &self.supported_extensions);
        encode_array(encoder, &self.extensions);
    }
}

/// `gssx_arg_get_call_context`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgGetCallContext {
    /// Call context.
    pub call_ctx: CallCtx,
    /// Options.
    pub options: Vec<GssxOption>,
}

impl Xdr for ArgGetCallContext {
    const MIN_SIZE: usize = CallCtx::MIN_SIZE + 4;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            call_ctx: CallCtx::decode(decoder)?,
            options: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        self.call_ctx.encode(encoder);
        encode_array(encoder, &self.options);
    }
}

/// `gssx_res_get_call_context` (gssproxy 0.9.1 answers the zero value: 44 zero bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResGetCallContext {
    /// Status.
    pub status: Status,
    /// Server call context.
    pub server_call_ctx: Vec<u8>,
    /// Options.
    pub options: Vec<GssxOption>,
}

impl Xdr for ResGetCallContext {
    const MIN_SIZE: usize = Status::MIN_SIZE + 8;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            status: Status::decode(decoder)?,
            server_call_ctx: decoder.opaque()?,
            options: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        self.status.encode(encoder);
        encoder.opaque(&self.server_call_ctx);
        encode_array(encoder, &self.options);
    }
}

/// `gssx_arg_accept_sec_context`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ArgAcceptSecContext {
    /// Call context.
    pub call_ctx: CallCtx,
    /// Context to continue (ignored by gssproxy 0.9.1).
    pub context_handle: Option<Ctx>,
    /// Acceptor credential.
    pub cred_handle: Option<Cred>,
    /// The initiator's token (not optional).
    pub input_token: Vec<u8>,
    /// Channel bindings.
    pub input_cb: Option<Cb>,
    /// Whether to return a delegated credential.
    pub ret_deleg_cred: bool,
    /// Options.
    pub options: Vec<GssxOption>,
}

impl Xdr for ArgAcceptSecContext {
    const MIN_SIZE: usize = CallCtx::MIN_SIZE + 4 * 6;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            call_ctx: CallCtx::decode(decoder)?,
            context_handle: optional(decoder)?,
            cred_handle: optional(decoder)?,
            input_token: decoder.opaque()?,
            input_cb: optional(decoder)?,
            ret_deleg_cred: decoder.bool()?,
            options: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        self.call_ctx.encode(encoder);
        encode_optional(encoder, self.context_handle.as_ref());
        encode_optional(encoder, self.cred_handle.as_ref());
        encoder.opaque(&self.input_token);
        encode_optional(encoder, self.input_cb.as_ref());
        encoder.bool(self.ret_deleg_cred);
        encode_array(encoder, &self.options);
    }
}

/// `gssx_res_accept_sec_context`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResAcceptSecContext {
    /// Status.
    pub status: Status,
    /// The context.
    pub context_handle: Option<Ctx>,
    /// Token for the initiator.
    pub output_token: Option<Vec<u8>>,
    /// Delegated credential (must be absent for the kernel).
    pub delegated_cred_handle: Option<Cred>,
    /// Options (`linux_creds_v1\0` for the kernel).
    pub options: Vec<GssxOption>,
}

impl Xdr for ResAcceptSecContext {
    const MIN_SIZE: usize = Status::MIN_SIZE + 16;

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(Self {
            status: Status::decode(decoder)?,
            context_handle: optional(decoder)?,
            output_token: decoder.optional(Decoder::opaque)?,
            delegated_cred_handle: optional(decoder)?,
            options: array(decoder)?,
        })
    }

    fn encode(&self, encoder: &mut Encoder) {
        self.status.encode(encoder);
        encode_optional(encoder, self.context_handle.as_ref());
        encoder.optional(self.output_token.as_ref(), |encoder, token| {
            encoder.opaque(token);
        });
        encode_optional(encoder, self.delegated_cred_handle.as_ref());
        encode_array(encoder, &self.options);
    }
}

/// Encodes `value` alone under an output limit.
pub fn to_bytes<T: Xdr>(value: &T, max: usize) -> Result<Vec<u8>, XdrError> {
    let mut encoder = Encoder::new(max);
    value.encode(&mut encoder);
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::Limits;

    fn round_trip<T: Xdr + PartialEq + std::fmt::Debug>(value: &T) {
        let bytes = to_bytes(value, 1 << 20).unwrap();
        let mut decoder = Decoder::new(&bytes, Limits::DEFAULT);
        assert_eq!(&T::decode(&mut decoder).unwrap(), value);
        assert!(decoder.remaining().is_empty());
        assert!(bytes.len() >= T::MIN_SIZE);
        // Every truncation fails.
        for end in 0..bytes.len() {
            assert!(T::decode(&mut Decoder::new(&bytes[..end], Limits::DEFAULT)).is_err());
        }
    }

    fn name(display: &[u8]) -> Name {
        Name {
            display_name: display.to_vec(),
            name_type: vec![0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 1, 2, 2, 1],
            exported_name: vec![4, 1, 0, 0x0b],
            exported_composite_name: vec![4, 2],
            name_attributes: vec![NameAttr {
                attr: b"a".to_vec(),
                value: b"v".to_vec(),
                extensions: vec![GssxOption::default()],
            }],
            extensions: vec![GssxOption {
                option: b"x\0".to_vec(),
                value: b"y".to_vec(),
            }],
        }
    }

    #[test]
    fn procedures_are_numbered_as_the_x_file() {
        assert_eq!(Procedure::from_number(0), None);
        assert_eq!(Procedure::from_number(16), None);
        for (index, procedure) in Procedure::ALL.iter().enumerate() {
            let number = u32::try_from(index + 1).unwrap();
            assert_eq!(procedure.number(), number);
            assert_eq!(Procedure::from_number(number), Some(*procedure));
        }
        assert_eq!(Procedure::AcceptSecContext.number(), 9);
        assert_eq!(Procedure::AcceptSecContext.name(), "GSSX_ACCEPT_SEC_CONTEXT");
    }

    #[test]
    fn the_kernel_option_names_carry_their_nul() {
        assert_eq!(EXPORTED_CONTEXT_TYPE.len(), 22);
        assert_eq!(LINUX_LUCID_V1.len(), 15);
        assert_eq!(EXPORTED_CREDS_TYPE.len(), 20);
        assert_eq!(LINUX_CREDS_V1.len(), 15);
        let call_ctx = CallCtx::kernel();
        assert_eq!(
            find_option(&call_ctx.options, EXPORTED_CONTEXT_TYPE),
            Some(LINUX_LUCID_V1)
        );
        assert_eq!(find_option(&call_ctx.options, b"exported_context_type"), None);
    }

    #[test]
    fn every_type_round_trips_and_every_truncation_fails() {
        let cred = Cred {
            desired_name: name(b"alice@KUP.TEST"),
            elements: vec![CredElement {
                mn: name(b"alice@KUP.TEST"),
                mech: KRB5_OID.to_vec(),
                cred_usage: 2,
                initiator_time_rec: 86_387,
                acceptor_time_rec: 0xffff_ffff,
                options: vec![],
            }],
            cred_handle_reference: vec![9; 187],
            needs_release: false,
        };
        let ctx = Ctx {
            exported_context_token: vec![6, 0, 0, 0],
            state: vec![1, 2, 3],
            needs_release: true,
            mech: KRB5_OID.to_vec(),
            src_name: name(b"daemon@KUP.TEST"),
            targ_name: name(b"nfs/localhost@KUP.TEST"),
            lifetime: 86_623,
            ctx_flags: 0x1b6,
            locally_initiated: false,
            open: true,
            options: vec![GssxOption::default()],
        };
        let cb = Cb {
            initiator_addrtype: 2,
            initiator_address: vec![127, 0, 0, 1],
            acceptor_addrtype: 2,
            acceptor_address: vec![127, 0, 0, 2],
            application_data: b"tls-unique".to_vec(),
        };
        let status = Status {
            major_status: 0x000d_0000,
            mech: KRB5_OID.to_vec(),
            minor_status: 0x96c7_3a22,
            major_status_string: b"Unspecified GSS failure\0".to_vec(),
            minor_status_string: b"Request is a replay\0".to_vec(),
            server_ctx: vec![],
            options: vec![],
        };
        round_trip(&cred);
        round_trip(&ctx);
        round_trip(&cb);
        round_trip(&status);
        round_trip(&ArgAcceptSecContext {
            call_ctx: CallCtx::kernel(),
            context_handle: Some(ctx.clone()),
            cred_handle: Some(cred.clone()),
            input_token: vec![0x60; 33],
            input_cb: Some(cb),
            ret_deleg_cred: true,
            options: vec![GssxOption::default()],
        });
        round_trip(&ResAcceptSecContext {
            status: status.clone(),
            context_handle: Some(ctx),
            output_token: Some(vec![1; 5]),
            delegated_cred_handle: Some(cred),
            options: vec![GssxOption {
                option: LINUX_CREDS_V1.to_vec(),
                value: vec![1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            }],
        });
        round_trip(&ArgIndicateMechs {
            call_ctx: CallCtx::kernel(),
        });
        round_trip(&ResIndicateMechs {
            status: status.clone(),
            mechs: vec![MechInfo {
                mech: KRB5_OID.to_vec(),
                name_types: vec![vec![1], vec![2, 3]],
                mech_attrs: vec![vec![4]],
                known_mech_attrs: vec![],
                cred_options: vec![vec![]],
                sec_ctx_options: vec![],
                saslname_sasl_mech_name: b"GS2-KRB5".to_vec(),
                saslname_mech_name: b"krb5".to_vec(),
                saslname_mech_desc: b"Kerberos 5".to_vec(),
                extensions: vec![],
            }],
            mech_attr_descs: vec![MechAttr {
                attr: vec![1, 2],
                name: b"GSS_C_MA_MECH_CONCRETE".to_vec(),
                short_desc: b"concrete-mech".to_vec(),
                long_desc: b"Mechanism is neither a pseudo-mechanism nor a composite".to_vec(),
                extensions: vec![],
            }],
            supported_extensions: vec![b"ext".to_vec()],
            extensions: vec![],
        });
        round_trip(&ArgGetCallContext {
            call_ctx: CallCtx::default(),
            options: vec![GssxOption::default()],
        });
        round_trip(&ResGetCallContext::default());
        assert_eq!(to_bytes(&ResGetCallContext::default(), 64).unwrap(), vec![0; 44]);
    }

    #[test]
    fn a_record_full_of_empty_options_is_bounded_by_max_array() {
        // 1 MiB of arguments: 131,069 empty options after a 12-byte call_ctx and the count.
        let count = ((1 << 20) - 16) / 8;
        let options = vec![GssxOption::default(); count];
        let arguments = ArgGetCallContext {
            call_ctx: CallCtx::default(),
            options,
        };
        let bytes = to_bytes(&arguments, 1 << 20).unwrap();
        assert_eq!(bytes.len(), 16 + 8 * count);
        assert_eq!(
            ArgGetCallContext::decode(&mut Decoder::new(&bytes, Limits::DEFAULT)),
            Err(XdrError::TooMany {
                count: count as u64,
                max: 65_536
            })
        );
        // Within the cap the same shape decodes.
        let arguments = ArgGetCallContext {
            call_ctx: CallCtx::default(),
            options: vec![GssxOption::default(); 65_536],
        };
        let bytes = to_bytes(&arguments, 1 << 20).unwrap();
        assert_eq!(
            ArgGetCallContext::decode(&mut Decoder::new(&bytes, Limits::DEFAULT)),
            Ok(arguments)
        );
    }

    #[test]
    fn counts_claiming_four_gib_fail_without_allocating() {
        // call_ctx with an options count of 0xffffffff, then a handful of bytes.
        let mut bytes = vec![0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        bytes.extend([0; 16]);
        let unlimited = Limits {
            max_opaque: usize::MAX,
            max_array: usize::MAX,
        };
        assert_eq!(
            CallCtx::decode(&mut Decoder::new(&bytes, unlimited)),
            Err(XdrError::TooMany {
                count: 0xffff_ffff,
                max: 2
            })
        );
        // An input token claiming 4 GiB.
        let mut bytes = to_bytes(&CallCtx::kernel(), 1024).unwrap();
        bytes.extend([0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x60, 0x82]);
        assert!(matches!(
            ArgAcceptSecContext::decode(&mut Decoder::new(&bytes, Limits::DEFAULT)),
            Err(XdrError::TooLong {
                length: 0xffff_fffc,
                ..
            })
        ));
        assert_eq!(
            ArgAcceptSecContext::decode(&mut Decoder::new(&bytes, unlimited)),
            Err(XdrError::Truncated)
        );
        // A long array of empty options is bounded by max_array.
        let options = vec![GssxOption::default(); 100];
        let bytes = to_bytes(
            &ArgGetCallContext {
                call_ctx: CallCtx::default(),
                options,
            },
            4096,
        )
        .unwrap();
        let tight = Limits {
            max_opaque: 64,
            max_array: 99,
        };
        assert!(matches!(
            ArgGetCallContext::decode(&mut Decoder::new(&bytes, tight)),
            Err(XdrError::TooMany { count: 100, max: 99 })
        ));
    }
}
