//! ONC RPC version 2 message headers (RFC 5531) for program 400112 version 1.
//!
//! [`CallHeader::decode`] reads a CALL header and leaves the decoder at the arguments;
//! [`CallHeader::check`] applies gssproxy 0.9.1's checks in its order (rpcvers, program, version,
//! procedure, credential flavour) and gives either the procedure or the reply to send.
//! [`ReplyHeader`] encodes and decodes replies: accepted (SUCCESS, `PROG_UNAVAIL`, `PROG_MISMATCH`,
//! `PROC_UNAVAIL`, `GARBAGE_ARGS`, `SYSTEM_ERR`) and denied (`RPC_MISMATCH`, `AUTH_ERROR`).

use crate::gssx::Procedure;
use crate::xdr::{Decoder, Encoder, XdrError};

/// `msg_type` CALL.
pub const CALL: u32 = 0;
/// `msg_type` REPLY.
pub const REPLY: u32 = 1;
/// The RPC protocol version.
pub const RPC_VERSION: u32 = 2;
/// gssproxy's program number.
pub const GSSX_PROGRAM: u32 = 400_112;
/// gssproxy's program version.
pub const GSSX_VERSION: u32 = 1;
/// The largest `opaque_auth` body (RFC 5531).
pub const MAX_AUTH_BODY: usize = 400;
/// `AUTH_NONE`.
pub const AUTH_NONE: u32 = 0;
/// `AUTH_SYS`.
pub const AUTH_SYS: u32 = 1;
/// `auth_stat` `AUTH_FAILED`, gssproxy's answer to any credential other than `AUTH_NONE`.
pub const AUTH_FAILED: u32 = 7;

/// A credential or verifier: flavour and body (at most 400 bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OpaqueAuth {
    /// The flavour (`AUTH_NONE`, `AUTH_SYS`, …).
    pub flavor: u32,
    /// The body, uninterpreted.
    pub body: Vec<u8>,
}

impl OpaqueAuth {
    /// `AUTH_NONE` with an empty body.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// Decodes one, the body bounded to 400 bytes.
    pub fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let flavor = decoder.u32()?;
        let body = decoder.opaque_ref(MAX_AUTH_BODY)?.to_vec();
        Ok(Self { flavor, body })
    }

    /// Encodes it.
    pub fn encode(&self, encoder: &mut Encoder) {
        encoder.u32(self.flavor);
        encoder.opaque(&self.body);
    }
}

/// The header of a CALL message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallHeader {
    /// Transaction id, copied into the reply.
    pub xid: u32,
    /// RPC version (must be 2).
    pub rpc_version: u32,
    /// Program number.
    pub program: u32,
    /// Program version.
    pub version: u32,
    /// Procedure number.
    pub procedure: u32,
    /// Credential.
    pub credential: OpaqueAuth,
    /// Verifier (ignored by gssproxy).
    pub verifier: OpaqueAuth,
}

impl CallHeader {
    /// A call to gssproxy's program with `AUTH_NONE`, as the kernel and the interposer send it.
    #[must_use]
    pub fn gssproxy(xid: u32, procedure: Procedure) -> Self {
        Self {
            xid,
            rpc_version: RPC_VERSION,
            program: GSSX_PROGRAM,
            version: GSSX_VERSION,
            procedure: procedure.number(),
            credential: OpaqueAuth::none(),
            verifier: OpaqueAuth::none(),
        }
    }

    /// Decodes a CALL header; a message of another type is [`XdrError::BadMessage`].
    pub fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let xid = decoder.u32()?;
        if decoder.u32()? != CALL {
            return Err(XdrError::BadMessage);
        }
        Ok(Self {
            xid,
            rpc_version: decoder.u32()?,
            program: decoder.u32()?,
            version: decoder.u32()?,
            procedure: decoder.u32()?,
            credential: OpaqueAuth::decode(decoder)?,
            verifier: OpaqueAuth::decode(decoder)?,
        })
    }

    /// Encodes it.
    pub fn encode(&self, encoder: &mut Encoder) {
        encoder.u32(self.xid);
        encoder.u32(CALL);
        encoder.u32(self.rpc_version);
        encoder.u32(self.program);
        encoder.u32(self.version);
        encoder.u32(self.procedure);
        self.credential.encode(encoder);
        self.verifier.encode(encoder);
    }

    /// gssproxy 0.9.1's checks, in its order: the procedure to run, or the reply to send instead
    /// (`RPC_MISMATCH`, `PROG_UNAVAIL`, `PROG_MISMATCH`, `PROC_UNAVAIL` — NULL included —, then
    /// `AUTH_ERROR`/`AUTH_FAILED` for any credential but `AUTH_NONE`).
    pub fn check(&self) -> Result<Procedure, ReplyHeader> {
        let reply = |body| ReplyHeader { xid: self.xid, body };
        if self.rpc_version != RPC_VERSION {
            return Err(reply(ReplyBody::Denied(RejectedReply::RpcMismatch {
                low: RPC_VERSION,
                high: RPC_VERSION,
            })));
        }
        if self.program != GSSX_PROGRAM {
            return Err(reply(ReplyBody::accepted(AcceptStat::ProgUnavail)));
        }
        if self.version != GSSX_VERSION {
            return Err(reply(ReplyBody::accepted(AcceptStat::ProgMismatch {
                low: GSSX_VERSION,
                high: GSSX_VERSION,
            })));
        }
        let Some(procedure) = Procedure::from_number(self.procedure) else {
            return Err(reply(ReplyBody::accepted(AcceptStat::ProcUnavail)));
        };
        if self.credential.flavor != AUTH_NONE {
            return Err(reply(ReplyBody::Denied(RejectedReply::AuthError(AUTH_FAILED))));
        }
        Ok(procedure)
    }
}

/// The status of an accepted call (its result, if any, follows the header).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptStat {
    /// 0: the result follows.
    Success,
    /// 1: the program is not served.
    ProgUnavail,
    /// 2: the version is not served; the versions that are.
    ProgMismatch {
        /// Lowest version served.
        low: u32,
        /// Highest version served.
        high: u32,
    },
    /// 3: the procedure is not served.
    ProcUnavail,
    /// 4: the arguments did not decode.
    GarbageArgs,
    /// 5: the server failed.
    SystemErr,
}

/// Why a call was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RejectedReply {
    /// 0: the RPC version is not 2; the versions that are served.
    RpcMismatch {
        /// Lowest.
        low: u32,
        /// Highest.
        high: u32,
    },
    /// 1: the credential was refused, with its `auth_stat`.
    AuthError(u32),
}

/// The body of a REPLY after the xid and message type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplyBody {
    /// `MSG_ACCEPTED`.
    Accepted {
        /// The server's verifier (gssproxy: `AUTH_NONE`, empty).
        verifier: OpaqueAuth,
        /// The status.
        status: AcceptStat,
    },
    /// `MSG_DENIED`.
    Denied(RejectedReply),
}

impl ReplyBody {
    /// Accepted with an `AUTH_NONE` verifier.
    #[must_use]
    pub fn accepted(status: AcceptStat) -> Self {
        Self::Accepted {
            verifier: OpaqueAuth::none(),
            status,
        }
    }
}

/// A REPLY header (the procedure's result follows when accepted with SUCCESS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyHeader {
    /// The call's xid.
    pub xid: u32,
    /// Accepted or denied.
    pub body: ReplyBody,
}

impl ReplyHeader {
    /// An accepted reply with `status` and an `AUTH_NONE` verifier.
    #[must_use]
    pub fn accepted(xid: u32, status: AcceptStat) -> Self {
        Self {
            xid,
            body: ReplyBody::accepted(status),
        }
    }

    /// Encodes it.
    pub fn encode(&self, encoder: &mut Encoder) {
        encoder.u32(self.xid);
        encoder.u32(REPLY);
        match &self.body {
            ReplyBody::Accepted { verifier, status } => {
                encoder.u32(0);
                verifier.encode(encoder);
                match *status {
                    AcceptStat::Success => encoder.u32(0),
                    AcceptStat::ProgUnavail => encoder.u32(1),
                    AcceptStat::ProgMismatch { low, high } => {
                        encoder.u32(2);
                        encoder.u32(low);
                        encoder.u32(high);
                    }
                    AcceptStat::ProcUnavail => encoder.u32(3),
                    AcceptStat::GarbageArgs => encoder.u32(4),
                    AcceptStat::SystemErr => encoder.u32(5),
                }
            }
            ReplyBody::Denied(rejected) => {
                encoder.u32(1);
                match *rejected {
                    RejectedReply::RpcMismatch { low, high } => {
                        encoder.u32(0);
                        encoder.u32(low);
                        encoder.u32(high);
                    }
                    RejectedReply::AuthError(stat) => {
                        encoder.u32(1);
                        encoder.u32(stat);
                    }
                }
            }
        }
    }

    /// Decodes a REPLY header; a CALL or an unknown status is an error.
    pub fn decode(decoder: &mut Decoder<'_>) -> Result<Self, XdrError> {
        let xid = decoder.u32()?;
        if decoder.u32()? != REPLY {
            return Err(XdrError::BadMessage);
        }
        let body = match decoder.u32()? {
            0 => {
                let verifier = OpaqueAuth::decode(decoder)?;
                let status = match decoder.u32()? {
                    0 => AcceptStat::Success,
                    1 => AcceptStat::ProgUnavail,
                    2 => AcceptStat::ProgMismatch {
                        low: decoder.u32()?,
                        high: decoder.u32()?,
                    },
                    3 => AcceptStat::ProcUnavail,
                    4 => AcceptStat::GarbageArgs,
                    5 => AcceptStat::SystemErr,
                    other => return Err(XdrError::BadDiscriminant(other)),
                };
                ReplyBody::Accepted { verifier, status }
            }
            1 => ReplyBody::Denied(match decoder.u32()? {
                0 => RejectedReply::RpcMismatch {
                    low: decoder.u32()?,
                    high: decoder.u32()?,
                },
                1 => RejectedReply::AuthError(decoder.u32()?),
                other => return Err(XdrError::BadDiscriminant(other)),
            }),
            other => return Err(XdrError::BadDiscriminant(other)),
        };
        Ok(Self { xid, body })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::Limits;

    fn words(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|value| value.to_be_bytes()).collect()
    }

    fn reply_to(call: &[u32]) -> Vec<u8> {
        let bytes = words(call);
        let header = CallHeader::decode(&mut Decoder::new(&bytes, Limits::DEFAULT)).unwrap();
        let reply = header.check().unwrap_err();
        let mut encoder = Encoder::new(64);
        reply.encode(&mut encoder);
        let reply_bytes = encoder.finish().unwrap();
        assert_eq!(
            ReplyHeader::decode(&mut Decoder::new(&reply_bytes, Limits::DEFAULT)),
            Ok(reply)
        );
        reply_bytes
    }

    // The observed replies of spec §7.2 (xid 1).
    #[test]
    fn error_replies_match_the_reference_word_for_word() {
        assert_eq!(
            reply_to(&[1, 0, 2, 400_112, 1, 0, 0, 0, 0, 0]),
            words(&[1, 1, 0, 0, 0, 3])
        );
        assert_eq!(
            reply_to(&[1, 0, 2, 100_003, 1, 9, 0, 0, 0, 0]),
            words(&[1, 1, 0, 0, 0, 1])
        );
        assert_eq!(
            reply_to(&[1, 0, 2, 400_112, 2, 9, 0, 0, 0, 0]),
            words(&[1, 1, 0, 0, 0, 2, 1, 1])
        );
        assert_eq!(
            reply_to(&[1, 0, 3, 400_112, 1, 9, 0, 0, 0, 0]),
            words(&[1, 1, 1, 0, 2, 2])
        );
        assert_eq!(
            reply_to(&[1, 0, 2, 400_112, 1, 9, 1, 4, 0, 0, 0, 0]),
            words(&[1, 1, 1, 1, 7])
        );
        assert_eq!(
            reply_to(&[1, 0, 2, 400_112, 1, 16, 0, 0, 0, 0]),
            words(&[1, 1, 0, 0, 0, 3])
        );
        let mut encoder = Encoder::new(64);
        ReplyHeader::accepted(1, AcceptStat::GarbageArgs).encode(&mut encoder);
        assert_eq!(encoder.finish().unwrap(), words(&[1, 1, 0, 0, 0, 4]));
    }

    #[test]
    fn a_good_call_header_round_trips_and_leaves_the_arguments() {
        let header = CallHeader::gssproxy(0x1122_3344, Procedure::AcceptSecContext);
        let mut encoder = Encoder::new(64);
        header.encode(&mut encoder);
        encoder.u32(0xdead_beef);
        let bytes = encoder.finish().unwrap();
        assert_eq!(bytes[..24], words(&[0x1122_3344, 0, 2, 400_112, 1, 9])[..]);
        let mut decoder = Decoder::new(&bytes, Limits::DEFAULT);
        let read_back = CallHeader::decode(&mut decoder).unwrap();
        assert_eq!(read_back, header);
        assert_eq!(read_back.check(), Ok(Procedure::AcceptSecContext));
        assert_eq!(decoder.remaining(), &words(&[0xdead_beef])[..]);
    }

    #[test]
    fn hostile_headers_are_errors() {
        // A reply where a call is expected.
        let bytes = words(&[1, 1, 0, 0, 0, 0]);
        assert_eq!(
            CallHeader::decode(&mut Decoder::new(&bytes, Limits::DEFAULT)),
            Err(XdrError::BadMessage)
        );
        // A credential body over 400 bytes, and one claiming 4 GiB.
        let mut bytes = words(&[1, 0, 2, 400_112, 1, 9, 1, 404]);
        bytes.extend([0; 404]);
        bytes.extend(words(&[0, 0]));
        assert!(matches!(
            CallHeader::decode(&mut Decoder::new(&bytes, Limits::DEFAULT)),
            Err(XdrError::TooLong {
                length: 404,
                max: 400
            })
        ));
        let bytes = words(&[1, 0, 2, 400_112, 1, 9, 1, u32::MAX]);
        assert!(CallHeader::decode(&mut Decoder::new(&bytes, Limits::DEFAULT)).is_err());
        // Every truncation of a good header.
        let good = words(&[1, 0, 2, 400_112, 1, 9, 0, 0, 0, 0]);
        for end in 0..good.len() {
            assert_eq!(
                CallHeader::decode(&mut Decoder::new(&good[..end], Limits::DEFAULT)),
                Err(XdrError::Truncated)
            );
        }
    }
}
