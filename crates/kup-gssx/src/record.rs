//! RPC record marking over a stream (RFC 5531 §11).
//!
//! Each fragment is preceded by a 4-byte big-endian mark: bit 31 says it is the last fragment of
//! the record, bits 0–30 give its length. The kernel and gssproxy's interposer send single-fragment
//! records of at most 1 MiB; gssproxy closes a connection that sends anything else.
//!
//! [`RecordReader`] is fed whatever bytes a socket read returned and yields one complete record at
//! a time. It refuses, before buffering them, a record whose fragments add up to more than the
//! record limit and a record of more fragments than the fragment limit; it grows its buffer only
//! as bytes arrive, never from a length on the wire. After an error it stays failed: the
//! connection must be closed. [`RecordReader::finish`] tells whether the stream may end here.

use std::fmt;

/// Bit 31 of a record mark: the last fragment of the record.
pub const LAST_FRAGMENT: u32 = 0x8000_0000;

/// The largest fragment length a mark can carry.
pub const MAX_FRAGMENT_LENGTH: u32 = 0x7fff_ffff;

/// Why a stream of records is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The record's fragments add up to more than the record limit.
    TooLarge {
        /// The record's length so far, this fragment included.
        length: u64,
        /// The limit.
        max: usize,
    },
    /// The record has more fragments than allowed.
    TooManyFragments {
        /// The limit.
        max: usize,
    },
    /// The stream ended inside a record.
    Truncated,
    /// The reader failed earlier; the stream cannot be resynchronised.
    Failed,
}

impl fmt::Display for RecordError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { length, max } => {
                write!(formatter, "record of {length} bytes is over the limit of {max}")
            }
            Self::TooManyFragments { max } => {
                write!(formatter, "record has more than {max} fragments")
            }
            Self::Truncated => formatter.write_str("the stream ended inside a record"),
            Self::Failed => formatter.write_str("the record stream failed earlier"),
        }
    }
}

impl std::error::Error for RecordError {}

/// What one [`RecordReader::feed`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fed {
    /// How many of the given bytes were consumed (the rest belong to the next record: feed them
    /// again after handling this one).
    pub consumed: usize,
    /// The complete record, if one ended in these bytes.
    pub record: Option<Vec<u8>>,
}

/// The reader's place in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Reading a mark: the bytes of it seen so far.
    Mark { seen: [u8; 4], count: usize },
    /// Reading a fragment body: bytes still to come, whether it is the last fragment.
    Body { left: usize, last: bool },
    /// Refused; nothing more is read.
    Failed,
}

/// Reassembles records from a byte stream under a size and fragment limit.
#[derive(Clone, Debug)]
pub struct RecordReader {
    max_record: usize,
    max_fragments: usize,
    state: State,
    record: Vec<u8>,
    fragments: usize,
}

impl RecordReader {
    /// A reader that refuses records longer than `max_record` bytes or made of more than
    /// `max_fragments` fragments (gssproxy: 1 MiB, 1).
    #[must_use]
    pub fn new(max_record: usize, max_fragments: usize) -> Self {
        Self {
            max_record,
            max_fragments,
            state: State::Mark {
                seen: [0; 4],
                count: 0,
            },
            record: Vec::new(),
            fragments: 0,
        }
    }

    /// gssproxy's rule: single-fragment records of at most 1 MiB.
    #[must_use]
    pub fn gssproxy() -> Self {
        Self::new(crate::xdr::MAX_RECORD_DEFAULT, 1)
    }

    /// Consumes bytes up to the end of the next complete record (or all of `input`).
    pub fn feed(&mut self, input: &[u8]) -> Result<Fed, RecordError> {
        let mut rest = input;
        loop {
            match &mut self.state {
                State::Failed => return Err(RecordError::Failed),
                State::Mark { seen, count } => {
                    let Some((&byte, tail)) = rest.split_first() else {
                        break;
                    };
                    rest = tail;
                    if let Some(slot) = seen.get_mut(*count) {
                        *slot = byte;
                    }
                    *count = count.saturating_add(1);
                    if *count == 4 {
                        let mark = u32::from_be_bytes(*seen);
                        if let Err(error) = self.start_fragment(mark) {
                            self.fail();
                            return Err(error);
                        }
                    }
                }
                State::Body { left, last } => {
                    let take = (*left).min(rest.len());
                    let (body, tail) = rest.split_at(take);
                    self.record.extend_from_slice(body);
                    rest = tail;
                    *left = left.saturating_sub(take);
                    if *left > 0 {
                        break;
                    }
                    let last = *last;
                    self.state = State::Mark {
                        seen: [0; 4],
                        count: 0,
                    };
                    if last {
                        self.fragments = 0;
                        let record = std::mem::take(&mut self.record);
                        return Ok(Fed {
                            consumed: input.len().saturating_sub(rest.len()),
                            record: Some(record),
                        });
                    }
                }
            }
        }
        Ok(Fed {
            consumed: input.len().saturating_sub(rest.len()),
            record: None,
        })
    }

    /// Whether the stream may end here: `Ok` between records, [`RecordError::Truncated`] inside
    /// one, [`RecordError::Failed`] after a refusal.
    pub fn finish(&self) -> Result<(), RecordError> {
        match self.state {
            State::Failed => Err(RecordError::Failed),
            State::Mark { count: 0, .. } if self.fragments == 0 => Ok(()),
            _ => Err(RecordError::Truncated),
        }
    }

    /// The bytes of the current record buffered so far.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.record.len()
    }

    fn start_fragment(&mut self, mark: u32) -> Result<(), RecordError> {
        let length = mark & MAX_FRAGMENT_LENGTH;
        let last = mark & LAST_FRAGMENT != 0;
        self.fragments = self.fragments.saturating_add(1);
        // The last fragment allowed must be marked last; failing now rather than at the next
        // mark (gssproxy closes at once on a mark without the last-fragment bit).
        if self.fragments > self.max_fragments || (self.fragments == self.max_fragments && !last) {
            return Err(RecordError::TooManyFragments {
                max: self.max_fragments,
            });
        }
        let total = u64::try_from(self.record.len())
            .unwrap_or(u64::MAX)
            .saturating_add(u64::from(length));
        if total > u64::try_from(self.max_record).unwrap_or(u64::MAX) {
            return Err(RecordError::TooLarge {
                length: total,
                max: self.max_record,
            });
        }
        let left = usize::try_from(length).map_err(|_| RecordError::TooLarge {
            length: total,
            max: self.max_record,
        })?;
        // An empty fragment is complete at once: `feed` sees `left == 0` next.
        self.state = State::Body { left, last };
        Ok(())
    }

    fn fail(&mut self) {
        self.state = State::Failed;
        self.record = Vec::new();
    }
}

/// The mark of a single-fragment record of `length` bytes (for a `writev(mark, body)`), or `None`
/// when `length` is over `max_record` or over what a mark can carry.
#[must_use]
pub fn record_mark(length: usize, max_record: usize) -> Option<[u8; 4]> {
    if length > max_record {
        return None;
    }
    let length = u32::try_from(length)
        .ok()
        .filter(|&length| length <= MAX_FRAGMENT_LENGTH)?;
    Some((LAST_FRAGMENT | length).to_be_bytes())
}

/// `body` as one single-fragment record (mark then body).
pub fn write_record(body: &[u8], max_record: usize) -> Result<Vec<u8>, RecordError> {
    let mark = record_mark(body.len(), max_record).ok_or(RecordError::TooLarge {
        length: u64::try_from(body.len()).unwrap_or(u64::MAX),
        max: max_record,
    })?;
    let mut record = Vec::with_capacity(body.len().saturating_add(4));
    record.extend_from_slice(&mark);
    record.extend_from_slice(body);
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(reader: &mut RecordReader, mut input: &[u8]) -> Result<Vec<Vec<u8>>, RecordError> {
        let mut records = Vec::new();
        while !input.is_empty() {
            let fed = reader.feed(input)?;
            input = &input[fed.consumed..];
            if let Some(record) = fed.record {
                records.push(record);
            } else {
                assert!(input.is_empty());
            }
        }
        Ok(records)
    }

    #[test]
    fn single_fragment_records_come_out_whole_whatever_the_chunking() {
        let mut stream = write_record(b"hello", 1024).unwrap();
        stream.extend(write_record(b"", 1024).unwrap());
        stream.extend(write_record(&[7; 9], 1024).unwrap());
        for chunk in 1..=stream.len() {
            let mut reader = RecordReader::gssproxy();
            let mut records = Vec::new();
            for piece in stream.chunks(chunk) {
                records.extend(feed_all(&mut reader, piece).unwrap());
            }
            assert_eq!(
                records,
                vec![b"hello".to_vec(), Vec::new(), vec![7; 9]],
                "chunk {chunk}"
            );
            assert_eq!(reader.finish(), Ok(()));
        }
    }

    #[test]
    fn feeding_stops_after_one_record() {
        let mut stream = write_record(b"one", 64).unwrap();
        stream.extend(write_record(b"two", 64).unwrap());
        let mut reader = RecordReader::gssproxy();
        let fed = reader.feed(&stream).unwrap();
        assert_eq!(fed.consumed, 7);
        assert_eq!(fed.record.as_deref(), Some(&b"one"[..]));
    }

    #[test]
    fn fragments_are_joined_up_to_the_limit() {
        let stream = [&[0, 0, 0, 2][..], b"ab", &[0x80, 0, 0, 3], b"cde"].concat();
        let mut reader = RecordReader::new(5, 2);
        assert_eq!(feed_all(&mut reader, &stream).unwrap(), vec![b"abcde".to_vec()]);
        // One byte more than the size limit.
        let mut reader = RecordReader::new(4, 2);
        assert_eq!(
            feed_all(&mut reader, &stream),
            Err(RecordError::TooLarge { length: 5, max: 4 })
        );
        // gssproxy refuses any record that is not a single fragment.
        let mut reader = RecordReader::gssproxy();
        assert_eq!(
            feed_all(&mut reader, &stream),
            Err(RecordError::TooManyFragments { max: 1 })
        );
        assert_eq!(reader.feed(b"x"), Err(RecordError::Failed));
        assert_eq!(reader.finish(), Err(RecordError::Failed));
        // ... and says so at the first mark, without waiting for the fragment's body.
        let mut reader = RecordReader::gssproxy();
        assert_eq!(
            reader.feed(&[0, 0, 0, 2]),
            Err(RecordError::TooManyFragments { max: 1 })
        );
    }

    #[test]
    fn many_empty_fragments_are_bounded() {
        let stream = [0_u8, 0, 0, 0].repeat(1000);
        let mut reader = RecordReader::new(1 << 20, 16);
        assert_eq!(
            feed_all(&mut reader, &stream),
            Err(RecordError::TooManyFragments { max: 16 })
        );
    }

    #[test]
    fn a_huge_mark_is_refused_before_buffering() {
        let mut reader = RecordReader::gssproxy();
        assert_eq!(
            reader.feed(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
            Err(RecordError::TooLarge {
                length: 0x7fff_ffff,
                max: 1 << 20
            })
        );
        assert_eq!(reader.buffered(), 0);
        // Exactly 1 MiB + 1 is refused, exactly 1 MiB announced is accepted.
        let mut reader = RecordReader::gssproxy();
        assert!(reader.feed(&(LAST_FRAGMENT | 0x10_0001).to_be_bytes()).is_err());
        let mut reader = RecordReader::gssproxy();
        assert!(reader.feed(&(LAST_FRAGMENT | 0x10_0000).to_be_bytes()).is_ok());
        // The buffer grows with the bytes, not with the announced length.
        reader.feed(&[1; 10]).unwrap();
        assert_eq!(reader.buffered(), 10);
        assert!(reader.record.capacity() < 4096);
    }

    #[test]
    fn a_stream_ending_inside_a_record_is_truncated() {
        let mut reader = RecordReader::gssproxy();
        reader.feed(&[0x80, 0]).unwrap();
        assert_eq!(reader.finish(), Err(RecordError::Truncated));
        let mut reader = RecordReader::gssproxy();
        reader.feed(&[0x80, 0, 0, 4, 1]).unwrap();
        assert_eq!(reader.finish(), Err(RecordError::Truncated));
    }

    #[test]
    fn the_writer_refuses_oversized_bodies() {
        assert_eq!(record_mark(0x370, 1 << 20), Some([0x80, 0, 3, 0x70]));
        assert_eq!(record_mark((1 << 20) + 1, 1 << 20), None);
        assert!(write_record(&[0; 9], 8).is_err());
    }
}
