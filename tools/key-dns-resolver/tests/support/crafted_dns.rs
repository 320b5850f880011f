//! A deliberately broken DNS server on a loopback address (UDP only, port 53) for the
//! hostile-answer cases: SRV queries get the answer of the current [`Mode`]; A queries get
//! `192.0.2.77` (TTL 60) for any name, so SRV targets resolve; anything else gets an empty
//! NOERROR answer. No TCP listener: a truncated answer cannot be fetched over TCP.
//!
//! Messages are put together byte by byte here (the point is to send what a real server would
//! not), with kup-dns only reading the incoming query.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use kup_dns::message::{HEADER_LENGTH, RecordType};

use crate::dns_wire::{QUESTION_POINTER, record, reply_start};

/// What the SRV answer looks like (the last two also spoil the AFSDB fallback query).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// One good SRV record, ANCOUNT says 3.
    LyingCount,
    /// One good SRV record followed by three stray bytes.
    TrailingBytes,
    /// One SRV record whose target is a compression pointer to itself.
    LoopingTarget,
    /// A SRV record whose owner is a pointer loop (TTL 5), then a good one (TTL 30).
    LoopingOwnerThenGood,
    /// TC set, no records.
    TruncatedWithoutTcp,
    /// The right answer under another query id.
    WrongId,
}

/// The running server (a detached thread; it lives as long as the test process).
pub(crate) struct CraftedDns {
    mode: Arc<Mutex<Mode>>,
}

impl CraftedDns {
    pub(crate) fn start(address: IpAddr) -> io::Result<Self> {
        let socket = UdpSocket::bind(SocketAddr::new(address, 53))?;
        let mode = Arc::new(Mutex::new(Mode::LyingCount));
        let shared = Arc::clone(&mode);
        thread::spawn(move || {
            let mut buffer = [0u8; 512];
            while let Ok((length, peer)) = socket.recv_from(&mut buffer) {
                let mode = *shared.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(reply) = reply(&buffer[..length], mode) {
                    let _ = socket.send_to(&reply, peer);
                }
            }
        });
        Ok(Self { mode })
    }

    pub(crate) fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(PoisonError::into_inner) = mode;
    }
}

fn srv_rdata(port: u16, target: &[u8]) -> Vec<u8> {
    let mut rdata = vec![0, 0, 0, 0];
    rdata.extend_from_slice(&port.to_be_bytes());
    rdata.extend_from_slice(target);
    rdata
}

fn reply(query: &[u8], mode: Mode) -> Option<Vec<u8>> {
    let (mut header, question, record_type) = reply_start(query)?;
    let mut answers: Vec<Vec<u8>> = Vec::new();
    let mut trailing: &[u8] = &[];
    let good_target = b"\x01t\x07crafted\x04test\x00";
    // Truncation and wrong ids hit every non-A query (SRV and the AFSDB fallback alike).
    if record_type != RecordType::A {
        match mode {
            Mode::TruncatedWithoutTcp => header.truncated = true,
            Mode::WrongId => header.id = header.id.wrapping_add(1),
            _ => {}
        }
    }
    match record_type {
        RecordType::A => answers.push(record(&QUESTION_POINTER, 1, 60, &[192, 0, 2, 77])),
        RecordType::SRV => match mode {
            Mode::LyingCount => {
                answers.push(record(&QUESTION_POINTER, 33, 30, &srv_rdata(7003, good_target)));
                header.answer_count = 2; // two more than present, once the push below counts
            }
            Mode::TrailingBytes => {
                answers.push(record(&QUESTION_POINTER, 33, 30, &srv_rdata(7003, good_target)));
                trailing = b"\x00\x01\x02";
            }
            Mode::LoopingTarget => {
                // The target starts at: header + question + owner(2) + fixed(10) + 6.
                let target_at = HEADER_LENGTH + question.len() + 2 + 10 + 6;
                let pointer = [
                    0xc0 | u8::try_from(target_at >> 8).ok()?,
                    u8::try_from(target_at & 0xff).ok()?,
                ];
                answers.push(record(&QUESTION_POINTER, 33, 30, &srv_rdata(7003, &pointer)));
            }
            Mode::LoopingOwnerThenGood => {
                let owner_at = HEADER_LENGTH + question.len();
                let pointer = [
                    0xc0 | u8::try_from(owner_at >> 8).ok()?,
                    u8::try_from(owner_at & 0xff).ok()?,
                ];
                answers.push(record(&pointer, 33, 5, &srv_rdata(7009, good_target)));
                answers.push(record(&QUESTION_POINTER, 33, 30, &srv_rdata(7003, good_target)));
            }
            Mode::TruncatedWithoutTcp => {}
            Mode::WrongId => answers.push(record(&QUESTION_POINTER, 33, 30, &srv_rdata(7003, good_target))),
        },
        _ => {}
    }
    header.answer_count += u16::try_from(answers.len()).ok()?;
    let mut out = Vec::new();
    header.encode(&mut out);
    out.extend_from_slice(question);
    for answer in answers {
        out.extend_from_slice(&answer);
    }
    out.extend_from_slice(trailing);
    Some(out)
}
