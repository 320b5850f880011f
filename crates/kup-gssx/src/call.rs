//! A CALL record decoded as gssproxy decodes it: the header, its checks in the reference's order,
//! then the arguments of the procedures this crate knows. Trailing bytes after the arguments are
//! ignored, as the reference ignores them.

use crate::gssx::{ArgAcceptSecContext, ArgGetCallContext, ArgIndicateMechs, Procedure, Xdr};
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
    /// A procedure whose arguments this crate does not decode yet; the bytes after the header.
    Other(Procedure, Vec<u8>),
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
        Procedure::AcceptSecContext => ArgAcceptSecContext::decode(&mut decoder)
            .map(|arguments| Arguments::AcceptSecContext(Box::new(arguments))),
        other => Ok(Arguments::Other(other, decoder.remaining().to_vec())),
    };
    match arguments {
        Ok(arguments) => Decoded::Call { header, arguments },
        Err(_) => Decoded::Reply(ReplyHeader::accepted(header.xid, AcceptStat::GarbageArgs)),
    }
}
