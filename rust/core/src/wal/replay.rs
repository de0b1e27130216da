//! Replay: decode each journaled record and run the same validate and apply as the live
//! path. Checkpoint entries carry no record and are skipped.
//!
//! Error policy (the same for every state): replay stops at the first entry that does not
//! decode or does not validate (`WalError::Replay`, naming its seq) or is of another kind
//! (`WalError::UnexpectedKind`). The entries before it stay applied; the failing one
//! changed nothing (validate runs before apply). What to do next (refuse, repair, replay
//! from a snapshot) is the caller's decision.

use super::{Pass, Record, WalError, WalState};
use crate::format::entry::FLAG_CHECKPOINT;
use crate::{Columns, Journal};

/// Entries read per batch.
const BATCH: usize = 16_384;

/// Applies one journal entry to `state`: `Ok(false)` for a checkpoint (nothing to apply).
pub fn apply_entry<S: WalState>(
    state: &mut S,
    seq: u64,
    kind: u16,
    flags: u16,
    payload: &[u8],
) -> Result<bool, WalError<S::Error>> {
    if flags & FLAG_CHECKPOINT != 0 {
        return Ok(false);
    }
    let expected = <S::Record as Record>::KIND;
    if !S::Record::accepts_kind(kind) {
        return Err(WalError::UnexpectedKind { seq, kind, expected });
    }
    let replay_err = |error| WalError::Replay { seq, error };
    let record = S::Record::decode(payload).map_err(|e| replay_err(S::Error::from(e)))?;
    // A payload journaled under another kind of the same record type: not this entry.
    if record.kind() != kind {
        return Err(WalError::UnexpectedKind { seq, kind, expected: record.kind() });
    }
    let plan = state.validate(record, Pass(())).map_err(replay_err)?;
    state.apply(plan, Pass(()));
    Ok(true)
}

/// Replays the records of `journal` with seq >= `from_seq` onto `state`; returns how
/// many were applied. The first entry must be `from_seq` itself (or the journal must hold
/// nothing from it on): a journal compacted past `from_seq` is `WalError::Gap`.
pub fn replay<S: WalState>(
    state: &mut S,
    journal: &Journal,
    from_seq: u64,
) -> Result<u64, WalError<S::Error>> {
    let mut cols = Columns::default();
    let (mut next, mut applied) = (from_seq, 0u64);
    loop {
        cols.clear();
        if journal.read_into(next, BATCH, &mut cols)? == 0 {
            return Ok(applied);
        }
        if let Some(&first) = cols.seq.first() {
            if next == from_seq && first > from_seq.max(journal.first_seq()) {
                return Err(WalError::Gap { expected: from_seq, found: first });
            }
        }
        let rows = cols.seq.iter().zip(&cols.kind).zip(&cols.flags).enumerate();
        for (i, ((&seq, &kind), &flags)) in rows {
            if apply_entry(state, seq, kind, flags, cols.payload(i))? {
                applied += 1;
            }
            next = seq + 1;
        }
    }
}
