//! Past states: replay a ledger journal up to a seq or a timestamp (point in time), through
//! the same validate/apply as every replay.

use crate::error::LedgerError;
use crate::state::Ledger;
use pinnacle_core::wal::{apply_entry, WalError};
use pinnacle_core::{Columns, Journal};

const BATCH: usize = 4096;

/// Applies the entries of `journal` from `from_seq` while their seq is `<= until_seq` and
/// their timestamp `<= until_ns`; returns how many records were applied.
pub fn replay_until(
    state: &mut Ledger,
    journal: &Journal,
    from_seq: u64,
    until_seq: u64,
    until_ns: i64,
) -> Result<u64, WalError<LedgerError>> {
    let mut cols = Columns::default();
    let (mut next, mut applied) = (from_seq, 0u64);
    loop {
        cols.clear();
        if next > until_seq || journal.read_into(next, BATCH, &mut cols)? == 0 {
            return Ok(applied);
        }
        if let Some(&first) = cols.seq.first() {
            if next == from_seq && first > from_seq.max(journal.first_seq()) {
                return Err(WalError::Gap { expected: from_seq, found: first });
            }
        }
        let rows = cols.seq.iter().zip(&cols.kind).zip(&cols.flags).zip(&cols.timestamp_ns).enumerate();
        for (i, (((&seq, &kind), &flags), &ts)) in rows {
            if seq > until_seq || ts > until_ns {
                return Ok(applied);
            }
            if apply_entry(state, seq, kind, flags, cols.payload(i))? {
                applied += 1;
            }
            next = seq + 1;
        }
    }
}
