//! The snapshot pipeline's own copy of a book, fed from the journal file through a
//! read-only [`JournalReader`]: taking a snapshot never pauses the trading thread (it
//! does not touch the live book or the writer's lock at all).

use crate::journaled::{apply_entry, EngineError};
use crate::{encode_snapshot_bound, OrderBook, SnapshotBinding};
use pinnacle_core::{read_journal_id, Columns, Journal, JournalReader};
use std::path::Path;

pub struct ShadowBook {
    book: OrderBook,
    reader: JournalReader,
    /// Every journal entry up to this seq has been applied to `book`.
    seq: u64,
    /// The journal's identity (0: none) and the grid, recorded in every snapshot.
    binding: SnapshotBinding,
}

impl ShadowBook {
    /// `book` must hold exactly the state after journal entry `from_seq - 1`; its
    /// snapshots record the journal's identity and the grid `(tick_size, lot_size)`.
    pub fn new(
        book: OrderBook,
        journal_path: &Path,
        from_seq: u64,
        tick_size: &str,
        lot_size: &str,
    ) -> Result<ShadowBook, EngineError> {
        let from_seq = from_seq.max(1);
        let reader = JournalReader::open(journal_path, from_seq)?;
        // Compaction keeps the identity, so reading it once here stays true.
        let journal_id = read_journal_id(journal_path)?.unwrap_or(0);
        Self::with_reader(book, reader, from_seq, binding(journal_id, tick_size, lot_size))
    }

    /// As [`ShadowBook::new`] on the file `journal` writes, placed by the writer's index
    /// (no scan of the entries before `from_seq`).
    pub fn of_journal(
        book: OrderBook,
        journal: &Journal,
        from_seq: u64,
        tick_size: &str,
        lot_size: &str,
    ) -> Result<ShadowBook, EngineError> {
        let from_seq = from_seq.max(1);
        let reader = journal.reader_from(from_seq)?;
        let journal_id = journal.journal_id().unwrap_or(0);
        Self::with_reader(book, reader, from_seq, binding(journal_id, tick_size, lot_size))
    }

    fn with_reader(
        book: OrderBook,
        reader: JournalReader,
        from_seq: u64,
        binding: SnapshotBinding,
    ) -> Result<ShadowBook, EngineError> {
        if reader.next_seq() > from_seq {
            return Err(EngineError::Gap { expected: from_seq, found: reader.next_seq() });
        }
        Ok(ShadowBook { book, reader, seq: from_seq - 1, binding })
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Applies new journal entries up to `until` (all there are when None); returns the
    /// last seq applied.
    pub fn catch_up(&mut self, until: Option<u64>) -> Result<u64, EngineError> {
        let mut cols = Columns::default();
        loop {
            let room = until.map_or(16_384, |u| u.saturating_sub(self.seq).min(16_384)) as usize;
            if room == 0 {
                return Ok(self.seq);
            }
            cols.clear();
            let n = self.reader.poll(room, &mut cols)?;
            if n == 0 {
                return Ok(self.seq);
            }
            for i in 0..n {
                let Some(e) = cols.row(i) else { break };
                if e.seq != self.seq + 1 {
                    return Err(EngineError::Gap { expected: self.seq + 1, found: e.seq });
                }
                apply_entry(&mut self.book, e.seq, e.kind, e.flags, e.payload)?;
                self.seq = e.seq;
            }
        }
    }

    /// Catches up (to `until` when given) and encodes: (snapshot bytes, covered seq).
    pub fn snapshot_bytes(
        &mut self,
        until: Option<u64>,
        created_ns: i64,
    ) -> Result<(Vec<u8>, u64), EngineError> {
        let seq = self.catch_up(until)?;
        let bytes = encode_snapshot_bound(&self.book, seq, created_ns, &self.binding)
            .map_err(EngineError::Snapshot)?;
        Ok((bytes, seq))
    }

    pub fn book(&self) -> &OrderBook {
        &self.book
    }
}

fn binding(journal_id: u128, tick_size: &str, lot_size: &str) -> SnapshotBinding {
    SnapshotBinding { journal_id, tick_size: tick_size.to_owned(), lot_size: lot_size.to_owned() }
}
