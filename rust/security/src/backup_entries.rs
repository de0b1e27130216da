//! The entry stream of an incremental backup (`REL.entries` members of the archive):
//! the entries of one journal after the base backup's recorded seq, each
//!
//! ```text
//! offset size field
//! 0      8    seq, u64 LE
//! 8      2    kind, u16 LE (0: a checkpoint entry)
//! 10     8    timestamp_ns, i64 LE
//! 18     4    payload length, u32 LE
//! 22     n    payload
//! ```
//!
//! back to back, nothing before, between or after. The archive (age) authenticates the
//! bytes; this layer only refuses a stream that does not split into whole entries.
//! Restoring appends each entry to the journal restored from the base and checks that it
//! gets its recorded seq (Python, `_backup_incremental.apply_entries`).

use std::fmt;

pub const ENTRY_HEADER_SIZE: usize = 22;

/// One entry of a stream; `payload` borrows the stream (decoding) or the journal's copy
/// (encoding).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamEntry<'a> {
    pub seq: u64,
    pub kind: u16,
    pub timestamp_ns: i64,
    pub payload: &'a [u8],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StreamError {
    /// Fewer than `ENTRY_HEADER_SIZE` bytes left at `offset`.
    TruncatedHeader { offset: usize, left: usize },
    /// Entry `seq` (header at `offset`) announces `len` payload bytes; `left` remain.
    TruncatedPayload { seq: u64, offset: usize, len: u32, left: usize },
    /// A payload longer than a u32 length can say (encoding).
    PayloadTooLarge { seq: u64, len: usize },
}

impl StreamError {
    /// Where in the stream the fault is (None when encoding).
    pub fn offset(&self) -> Option<usize> {
        match self {
            StreamError::TruncatedHeader { offset, .. } | StreamError::TruncatedPayload { offset, .. } => {
                Some(*offset)
            }
            StreamError::PayloadTooLarge { .. } => None,
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::TruncatedHeader { offset, left } => write!(
                f,
                "truncated entry header at byte {offset}: {left} bytes left, {ENTRY_HEADER_SIZE} needed"
            ),
            StreamError::TruncatedPayload { seq, offset, len, left } => write!(
                f,
                "entry {seq} is truncated: its header at byte {offset} announces {len} payload bytes, {left} left"
            ),
            StreamError::PayloadTooLarge { seq, len } => {
                write!(f, "entry {seq}: a {len}-byte payload does not fit a u32 length")
            }
        }
    }
}

impl std::error::Error for StreamError {}

/// Appends `e` to the stream `out`; on error `out` is unchanged.
pub fn encode_entry(out: &mut Vec<u8>, e: &StreamEntry<'_>) -> Result<(), StreamError> {
    let len = u32::try_from(e.payload.len())
        .map_err(|_| StreamError::PayloadTooLarge { seq: e.seq, len: e.payload.len() })?;
    out.reserve(ENTRY_HEADER_SIZE + e.payload.len());
    out.extend_from_slice(&e.seq.to_le_bytes());
    out.extend_from_slice(&e.kind.to_le_bytes());
    out.extend_from_slice(&e.timestamp_ns.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(e.payload);
    Ok(())
}

/// The entries of `stream`, in order; stops at the first malformed one (then `next`
/// returns None after the error).
pub fn entries(stream: &[u8]) -> Entries<'_> {
    Entries { rest: stream, offset: 0, failed: false }
}

/// Every entry of `stream`, or the first fault.
pub fn decode_all(stream: &[u8]) -> Result<Vec<StreamEntry<'_>>, StreamError> {
    entries(stream).collect()
}

pub struct Entries<'a> {
    rest: &'a [u8],
    offset: usize,
    failed: bool,
}

impl<'a> Entries<'a> {
    fn fail(&mut self, e: StreamError) -> Option<Result<StreamEntry<'a>, StreamError>> {
        self.failed = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<StreamEntry<'a>, StreamError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let (offset, left) = (self.offset, self.rest.len());
        let Some((header, body)) = self.rest.split_first_chunk::<ENTRY_HEADER_SIZE>() else {
            return self.fail(StreamError::TruncatedHeader { offset, left });
        };
        let (seq, h) = header.split_first_chunk::<8>()?;
        let (kind, h) = h.split_first_chunk::<2>()?;
        let (ts, h) = h.split_first_chunk::<8>()?;
        let len = u32::from_le_bytes(*h.first_chunk::<4>()?);
        let seq = u64::from_le_bytes(*seq);
        let Some((payload, rest)) = body.split_at_checked(len as usize) else {
            let left = body.len();
            return self.fail(StreamError::TruncatedPayload { seq, offset, len, left });
        };
        self.rest = rest;
        self.offset = offset + ENTRY_HEADER_SIZE + payload.len();
        let (kind, timestamp_ns) = (u16::from_le_bytes(*kind), i64::from_le_bytes(*ts));
        Some(Ok(StreamEntry { seq, kind, timestamp_ns, payload }))
    }
}
