//! The journal: writer, opening scan, durability, compaction and cross-process reader.

pub(crate) mod bulk;
pub(crate) mod compact;
pub(crate) mod create;
pub(crate) mod index;
pub(crate) mod mapping;
pub(crate) mod prefault;
pub mod reader;
pub mod recovery;
pub(crate) mod service;
pub(crate) mod state;
pub(crate) mod sync;
pub mod writer;

use crate::format::entry::EntryRef;

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
    /// ~3 µs to fault in, which would dominate a bulk read.
    pub fn with_capacity(entries: usize, payload_bytes: usize) -> Columns {
        let mut offsets = Vec::with_capacity(entries + 1);
        offsets.push(0);
        let c = Columns {
            seq: Vec::with_capacity(entries),
            kind: Vec::with_capacity(entries),
            flags: Vec::with_capacity(entries),
            timestamp_ns: Vec::with_capacity(entries),
            offsets,
            data: Vec::with_capacity(payload_bytes),
        };
        crate::sys::advise_hugepages(&c.seq);
        crate::sys::advise_hugepages(&c.timestamp_ns);
        crate::sys::advise_hugepages(&c.offsets);
        crate::sys::advise_hugepages(&c.data);
        c
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

    pub fn payload(&self, i: usize) -> &[u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
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

    pub(crate) fn push(&mut self, e: &EntryRef<'_>) {
        self.seq.push(e.seq);
        self.kind.push(e.kind);
        self.flags.push(e.flags);
        self.timestamp_ns.push(e.timestamp_ns);
        self.data.extend_from_slice(e.payload);
        self.offsets.push(self.data.len() as u64);
    }
}
