//! A CALL record decoded as gssproxy decodes it: the header, its checks in the reference's order,
//! then the arguments of every procedure. Trailing bytes after the arguments are
//! ignored, as the reference ignores them.

use crate::gssx::{ArgAcceptSecContext, ArgGetCallContext, ArgIndicateMechs, Procedure, Xdr};
use crate::interposer::{
    ArgAcquireCred, ArgExportCred, ArgGetMic, ArgImportAndCanonName, ArgImportCred, ArgInitSecContext,
    ArgReleaseHandle, ArgStoreCred, ArgUnwrap, ArgVerifyMic, ArgWrap, ArgWrapSizeLimit,
};
use crate::rpc::{AcceptStat, CallHeader, ReplyHeader};
use crate::xdr::{Decoder, Limits};

/// The decoded arguments of a call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Arguments {
    /// `INDICATE_MECHS`.
    IndicateMechs(ArgIndicateMechs),
    /// `GET_CALL_CONTEXT`.
    GetCallContext(ArgGetCallContext),
    /// `ACCEPT_SEC_CONTEXT`.
    AcceptSecContext(Box<ArgAcceptSecContext>),
    /// `IMPORT_AND_CANON_NAME`.
    ImportAndCanonName(Box<ArgImportAndCanonName>),
    /// `EXPORT_CRED`.
    ExportCred(Box<ArgExportCred>),
    /// `IMPORT_CRED`.
    ImportCred(Box<ArgImportCred>),
    /// `ACQUIRE_CRED`.
    AcquireCred(Box<ArgAcquireCred>),
    /// `STORE_CRED`.
    StoreCred(Box<ArgStoreCred>),
    /// `INIT_SEC_CONTEXT`.
    InitSecContext(Box<ArgInitSecContext>),
    /// `RELEASE_HANDLE`.
    ReleaseHandle(Box<ArgReleaseHandle>),
    /// `GET_MIC`.
    GetMic(Box<ArgGetMic>),
    /// `VERIFY`.
    Verify(Box<ArgVerifyMic>),
    /// `WRAP`.
    Wrap(Box<ArgWrap>),
    /// `UNWRAP`.
    Unwrap(Box<ArgUnwrap>),
    /// `WRAP_SIZE_LIMIT`.
    WrapSizeLimit(Box<ArgWrapSizeLimit>),
}

impl Arguments {
    /// The procedure these are the arguments of.
    #[must_use]
    pub fn procedure(&self) -> Procedure {
        match self {
            Self::IndicateMechs(_) => Procedure::IndicateMechs,
            Self::GetCallContext(_) => Procedure::GetCallContext,
            Self::AcceptSecContext(_) => Procedure::AcceptSecContext,
            Self::ImportAndCanonName(_) => Procedure::ImportAndCanonName,
            Self::ExportCred(_) => Procedure::ExportCred,
            Self::ImportCred(_) => Procedure::ImportCred,
            Self::AcquireCred(_) => Procedure::AcquireCred,
            Self::StoreCred(_) => Procedure::StoreCred,
            Self::InitSecContext(_) => Procedure::InitSecContext,
            Self::ReleaseHandle(_) => Procedure::ReleaseHandle,
            Self::GetMic(_) => Procedure::GetMic,
            Self::Verify(_) => Procedure::Verify,
            Self::Wrap(_) => Procedure::Wrap,
            Self::Unwrap(_) => Procedure::Unwrap,
            Self::WrapSizeLimit(_) => Procedure::WrapSizeLimit,
        }
    }

    /// Encodes the arguments (what a client sends after the call header).
    pub fn encode(&self, encoder: &mut crate::xdr::Encoder) {
        match self {
            Self::IndicateMechs(arguments) => arguments.encode(encoder),
            Self::GetCallContext(arguments) => arguments.encode(encoder),
            Self::AcceptSecContext(arguments) => arguments.encode(encoder),
            Self::ImportAndCanonName(arguments) => arguments.encode(encoder),
            Self::ExportCred(arguments) => arguments.encode(encoder),
            Self::ImportCred(arguments) => arguments.encode(encoder),
            Self::AcquireCred(arguments) => arguments.encode(encoder),
            Self::StoreCred(arguments) => arguments.encode(encoder),
            Self::InitSecContext(arguments) => arguments.encode(encoder),
            Self::ReleaseHandle(arguments) => arguments.encode(encoder),
            Self::GetMic(arguments) => arguments.encode(encoder),
            Self::Verify(arguments) => arguments.encode(encoder),
            Self::Wrap(arguments) => arguments.encode(encoder),
            Self::Unwrap(arguments) => arguments.encode(encoder),
            Self::WrapSizeLimit(arguments) => arguments.encode(encoder),
        }
    }
}

/// Decodes `T` and boxes it into an [`Arguments`] variant.
fn boxed<T: Xdr>(
    decoder: &mut Decoder<'_>,
    variant: fn(Box<T>) -> Arguments,
) -> Result<Arguments, crate::xdr::XdrError> {
    T::decode(decoder).map(|arguments| variant(Box::new(arguments)))
}

/// What to do with one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// Run the procedure.
    Call {
        /// The header (its xid goes into the reply).
        header: CallHeader,
        /// The arguments.
        arguments: Arguments,
    },
    /// Send this reply and run nothing (`RPC_MISMATCH`, `PROG_UNAVAIL`, `PROG_MISMATCH`, `PROC_UNAVAIL`,
    /// `AUTH_ERROR`, `GARBAGE_ARGS`).
    Reply(ReplyHeader),
    /// The header did not decode (or is not a CALL): close the connection without a reply.
    Close,
}

/// Decodes one record under `limits`.
#[must_use]
pub fn decode_call(record: &[u8], limits: Limits) -> Decoded {
    let mut decoder = Decoder::new(record, limits);
    let Ok(header) = CallHeader::decode(&mut decoder) else {
        return Decoded::Close;
    };
    let procedure = match header.check() {
        Ok(procedure) => procedure,
        Err(reply) => return Decoded::Reply(reply),
    };
    let arguments = match procedure {
        Procedure::IndicateMechs => ArgIndicateMechs::decode(&mut decoder).map(Arguments::IndicateMechs),
        Procedure::GetCallContext => ArgGetCallContext::decode(&mut decoder).map(Arguments::GetCallContext),
        Procedure::AcceptSecContext => boxed(&mut decoder, Arguments::AcceptSecContext),
        Procedure::ImportAndCanonName => boxed(&mut decoder, Arguments::ImportAndCanonName),
        Procedure::ExportCred => boxed(&mut decoder, Arguments::ExportCred),
        Procedure::ImportCred => boxed(&mut decoder, Arguments::ImportCred),
        Procedure::AcquireCred => boxed(&mut decoder, Arguments::AcquireCred),
        Procedure::StoreCred => boxed(&mut decoder, Arguments::StoreCred),
        Procedure::InitSecContext => boxed(&mut decoder, Arguments::InitSecContext),
        Procedure::ReleaseHandle => boxed(&mut decoder, Arguments::ReleaseHandle),
        Procedure::GetMic => boxed(&mut decoder, Arguments::GetMic),
        Procedure::Verify => boxed(&mut decoder, Arguments::Verify),
        Procedure::Wrap => boxed(&mut decoder, Arguments::Wrap),
        Procedure::Unwrap => boxed(&mut decoder, Arguments::Unwrap),
        Procedure::WrapSizeLimit => boxed(&mut decoder, Arguments::WrapSizeLimit),
    };
    match arguments {
        Ok(arguments) => Decoded::Call { header, arguments },
        Err(_) => Decoded::Reply(ReplyHeader::accepted(header.xid, AcceptStat::GarbageArgs)),
    }
}
