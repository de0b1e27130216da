//! Snapshot files read without building a book: the header (for ordering candidates and
//! judging a file) and the checksum (for deciding whether a file is intact before it is
//! removed), plus telling a snapshot file from a journal file by its magic.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::snapshot::{SNAPSHOT_HEADER_MAX_LEN, SNAPSHOT_MAGIC};
use pinnacle_core::format::header::{MAGIC as JOURNAL_MAGIC, SLOT_OFFSETS};

/// The first [`SNAPSHOT_HEADER_MAX_LEN`] bytes of the file at `path` (fewer if it is
/// shorter): enough for `peek_snapshot_header`.
pub fn read_snapshot_head(path: &Path) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(SNAPSHOT_HEADER_MAX_LEN);
    File::open(path)?.take(SNAPSHOT_HEADER_MAX_LEN as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// True when the CRC32 in the last 4 bytes of the file at `path` matches the bytes
/// before it. Streams the file in 1 MiB pieces: no copy of a large file, and no mapping
/// another process could truncate under us (a file that shrinks while read fails).
pub fn file_checksum_holds(path: &Path) -> io::Result<bool> {
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    let Some(mut left) = len.checked_sub(4).filter(|&n| n >= 4) else { return Ok(false) };
    let mut hasher = crc32fast::Hasher::new();
    let mut buf = vec![0u8; usize::try_from(left.min(1 << 20)).unwrap_or(1 << 20)];
    while left > 0 {
        let want = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        let piece = buf.get_mut(..want).unwrap_or_default();
        let n = f.read(piece)?;
        if n == 0 {
            return Ok(false); // shrank while read
        }
        hasher.update(piece.get(..n).unwrap_or_default());
        left -= n as u64;
    }
    let mut stored = [0u8; 4];
    if f.read_exact(&mut stored).is_err() {
        return Ok(false);
    }
    Ok(hasher.finalize() == u32::from_le_bytes(stored))
}

/// The two kinds of file pinnacle writes in a binary format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Journal,
    Snapshot,
}

impl FileFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            FileFormat::Journal => "journal",
            FileFormat::Snapshot => "snapshot",
        }
    }
}

/// Bytes [`sniff`] looks at.
pub const SNIFF_LEN: usize = 520;

/// The format of a file starting with `head` by its magic: a snapshot's at 0, a
/// journal's at either header slot (one may be damaged). None when neither is there.
pub fn sniff(head: &[u8]) -> Option<FileFormat> {
    let at = |o: usize| head.get(o..o + 8);
    if at(0) == Some(&SNAPSHOT_MAGIC[..]) {
        return Some(FileFormat::Snapshot);
    }
    SLOT_OFFSETS.iter().any(|&o| at(o) == Some(&JOURNAL_MAGIC[..])).then_some(FileFormat::Journal)
}

/// [`sniff`] of the file at `path`.
pub fn sniff_file(path: &Path) -> io::Result<Option<FileFormat>> {
    let mut head = Vec::with_capacity(SNIFF_LEN);
    File::open(path)?.take(SNIFF_LEN as u64).read_to_end(&mut head)?;
    Ok(sniff(&head))
}
