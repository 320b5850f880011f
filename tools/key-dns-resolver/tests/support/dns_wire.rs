//! The DNS wire pieces the tests' hand-made servers share: reading the question of a query and
//! writing a resource record byte by byte (the servers send what a real one would not, so they
//! build messages by hand; kup-dns only reads the incoming query).

use kup_dns::message::{HEADER_LENGTH, Header, RecordType};
use kup_dns::name::Name;

/// Owner = pointer to the question name (offset 12).
pub(crate) const QUESTION_POINTER: [u8; 2] = [0xc0, 0x0c];

/// One resource record of class IN.
pub(crate) fn record(owner: &[u8], record_type: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut out = owner.to_vec();
    out.extend_from_slice(&record_type.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

/// The start of a reply to `query`: its header turned into a response (RA set, one question, no
/// answers yet), the question section to echo, and the queried type. `None` for a query that
/// does not decode.
pub(crate) fn reply_start(query: &[u8]) -> Option<(Header, &[u8], RecordType)> {
    let mut header = Header::decode(query).ok()?;
    let (_, after_name) = Name::decode(query, HEADER_LENGTH).ok()?;
    let question = query.get(HEADER_LENGTH..after_name + 4)?;
    let record_type = RecordType(u16::from_be_bytes([
        *query.get(after_name)?,
        *query.get(after_name + 1)?,
    ]));
    header.response = true;
    header.recursion_available = true;
    header.question_count = 1;
    header.answer_count = 0;
    Some((header, question, record_type))
}
