//! The journal: writer, opening scan, durability, compaction and cross-process reader.

pub(crate) mod bulk;
pub(crate) mod compact;
pub(crate) mod create;
pub mod examine;
pub(crate) mod gate;
pub(crate) mod index;
pub(crate) mod mapping;
pub(crate) mod prefault;
pub mod reader;
pub mod recovery;
pub(crate) mod service;
pub(crate) mod state;
pub(crate) mod sync;
pub(crate) mod thread;
pub mod writer;

use crate::error::{Error, Result};
use crate::format::entry::EntryRef;
use crate::format::header::{self, SlotError, HEADER_SIZE};
use std::path::Path;

/// The identity recorded in the header of the journal file at `path` (None for a
/// version-1 journal), read without opening it for writing.
pub fn read_journal_id(path: &Path) -> Result<Option<u128>> {
    use std::io::Read;
    let mut page = vec![0u8; HEADER_SIZE];
    let mut f = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    f.read_exact(&mut page).map_err(|e| Error::io("read", path, e))?;
    match header::choose(&page) {
        Ok(c) => Ok(Some(c.header.journal_id).filter(|&id| id != 0)),
        Err(SlotError::Version(version)) => {
            Err(Error::UnsupportedVersion { path: path.to_path_buf(), version })
        }
        Err(e) => Err(Error::corruption(path, 0, format!("unreadable journal header: {e:?}"))),
    }
}

/// Entries copied out of a journal, column by column (one row per entry). Payload `i` is
/// `data[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone)]
pub struct Columns {
    pub seq: Vec<u64>,
    pub kind: Vec<u16>,
    pub flags: Vec<u16>,
    pub timestamp_ns: Vec<i64>,
    pub offsets: Vec<u64>,
    pub data: Vec<u8>,
}

/// One entry of [`Columns`], borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row<'a> {
    pub seq: u64,
    pub kind: u16,
    pub flags: u16,
    pub timestamp_ns: i64,
    pub payload: &'a [u8],
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            seq: vec![],
            kind: vec![],
            flags: vec![],
            timestamp_ns: vec![],
            offsets: vec![0],
            data: vec![],
        }
    }
}

impl Columns {
    /// Columns with room for `entries` entries and `payload_bytes` of payload, asking for
    /// transparent huge pages on the large buffers: on a VM a fresh 4 KiB page can cost
    /// ~3 µs to fault in, which would dominate a bulk read. The sizes come from a file, so
    /// a reservation that fails is `Error::OutOfMemory`, not an abort.
    pub fn try_with_capacity(entries: usize, payload_bytes: usize) -> Result<Columns> {
        let mut c = Columns::default();
        c.reserve_rows(entries)?;
        Error::reserve(&mut c.data, payload_bytes, "the payload bytes")?;
        crate::sys::advise_hugepages(&c.seq);
        crate::sys::advise_hugepages(&c.timestamp_ns);
        crate::sys::advise_hugepages(&c.offsets);
        crate::sys::advise_hugepages(&c.data);
        Ok(c)
    }

    /// Room for `rows` more rows in every row column. The row columns always have the same
    /// spare room (they start with none, every push takes one row of each, and a reservation
    /// is exact and the same for all), so checking `seq` before a push covers them all.
    pub(crate) fn reserve_rows(&mut self, rows: usize) -> Result<()> {
        fn exact<T>(v: &mut Vec<T>, rows: usize, what: &'static str) -> Result<()> {
            v.try_reserve_exact(rows).map_err(|_| Error::OutOfMemory {
                bytes: v.len().saturating_add(rows).saturating_mul(std::mem::size_of::<T>()),
                what,
            })
        }
        exact(&mut self.seq, rows, "the seq column")?;
        exact(&mut self.kind, rows, "the kind column")?;
        exact(&mut self.flags, rows, "the flags column")?;
        exact(&mut self.timestamp_ns, rows, "the timestamp column")?;
        exact(&mut self.offsets, rows, "the payload offsets")
    }

    pub fn len(&self) -> usize {
        self.seq.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seq.is_empty()
    }

    /// Empties every column, keeping their capacity.
    pub fn clear(&mut self) {
        self.seq.clear();
        self.kind.clear();
        self.flags.clear();
        self.timestamp_ns.clear();
        self.offsets.truncate(1);
        self.data.clear();
    }

    /// Entry `i`'s payload; empty when `i` is out of range ([`Columns::row`] tells).
    pub fn payload(&self, i: usize) -> &[u8] {
        self.payload_checked(i).unwrap_or_default()
    }

    fn payload_checked(&self, i: usize) -> Option<&[u8]> {
        let (&start, &end) = (self.offsets.get(i)?, self.offsets.get(i.checked_add(1)?)?);
        self.data.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    /// Entry `i` (None when `i` is out of range).
    pub fn row(&self, i: usize) -> Option<Row<'_>> {
        Some(Row {
            seq: *self.seq.get(i)?,
            kind: *self.kind.get(i)?,
            flags: *self.flags.get(i)?,
            timestamp_ns: *self.timestamp_ns.get(i)?,
            payload: self.payload_checked(i)?,
        })
    }

    /// Address and length in bytes of each column's unused capacity (where the next rows
    /// go), in no particular order.
    pub(crate) fn spare_capacity(&self) -> [(usize, usize); 6] {
        fn spare<T>(v: &[T], capacity: usize) -> (usize, usize) {
            let size = std::mem::size_of::<T>();
            (v.as_ptr() as usize + std::mem::size_of_val(v), (capacity - v.len()) * size)
        }
        [
            spare(&self.seq, self.seq.capacity()),
            spare(&self.kind, self.kind.capacity()),
            spare(&self.flags, self.flags.capacity()),
            spare(&self.timestamp_ns, self.timestamp_ns.capacity()),
            spare(&self.offsets, self.offsets.capacity()),
            spare(&self.data, self.data.capacity()),
        ]
    }

    /// Appends one row. Every column grows fallibly (doubling, as `Vec::push` does), so a
    /// huge journal read into memory is `Error::OutOfMemory`, never an abort.
    #[inline]
    pub(crate) fn push(&mut self, e: &EntryRef<'_>) -> Result<()> {
        if self.seq.len() == self.seq.capacity() || self.data.capacity() - self.data.len() < e.payload.len() {
            self.grow(e.payload.len())?;
        }
        // No push below reallocates (see `reserve_rows`).
        self.seq.push(e.seq);
        self.kind.push(e.kind);
        self.flags.push(e.flags);
        self.timestamp_ns.push(e.timestamp_ns);
        self.data.extend_from_slice(e.payload);
        self.offsets.push(self.data.len() as u64);
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, payload: usize) -> Result<()> {
        if self.seq.len() == self.seq.capacity() {
            self.reserve_rows(self.seq.len().max(64))?;
        }
        Error::reserve(&mut self.data, payload, "the payload bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spares(c: &Columns) -> [usize; 5] {
        [
            c.seq.capacity() - c.seq.len(),
            c.kind.capacity() - c.kind.len(),
            c.flags.capacity() - c.flags.len(),
            c.timestamp_ns.capacity() - c.timestamp_ns.len(),
            c.offsets.capacity() - c.offsets.len(),
        ]
    }

    #[test]
    fn row_columns_keep_the_same_spare_room_through_growth_and_clear() {
        for mut c in [Columns::default(), Columns::try_with_capacity(5, 3).unwrap()] {
            for round in 0..3 {
                for i in 0..1000u64 {
                    let payload = vec![i as u8; (i % 7) as usize];
                    let e = EntryRef {
                        seq: i,
                        timestamp_ns: 0,
                        kind: 1,
                        flags: 0,
                        payload: &payload,
                        total_len: 0,
                    };
                    c.push(&e).unwrap();
                    let s = spares(&c);
                    assert!(s.iter().all(|&x| x == s[0]), "round {round} row {i}: {s:?}");
                    assert_eq!(c.payload(c.len() - 1), &payload[..]);
                }
                c.clear();
                let s = spares(&c);
                assert!(s.iter().all(|&x| x == s[0]), "after clear: {s:?}");
            }
        }
    }
}
