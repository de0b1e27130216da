//! The order book as a journaled state: [`pinnacle_core::wal`]'s machinery instantiated
//! for [`OrderBook`] (record: [`Op`], kind [`OP_KIND`]). The pipeline (lock, validate,
//! encode, append, apply, wait for the sync after unlocking), replay, the one-book-per-
//! journal claim and the fork check are the generic ones; what is the book's own is its
//! plans ([`OrderBook::plan_owned`], [`OrderBook::commit`]), that an unknown cancel is
//! not journaled, its error type and its snapshots.

use crate::plan::Plan;
use crate::{encode_snapshot_bound, SnapshotBinding, SnapshotError};
use crate::{BookError, Op, OrderBook, Outcome, OP_KIND};
use pinnacle_core::wal::{self, Pass, WalError, WalState};
use pinnacle_core::{Journal, Journaled};
use std::fmt;
use std::sync::Arc;

/// Errors of journaled books, replay and shadow snapshots.
#[derive(Debug)]
pub enum EngineError {
    Book(BookError),
    Journal(pinnacle_core::Error),
    Snapshot(SnapshotError),
    /// A journaled op that does not apply: the journal and the state it is replayed on
    /// do not belong together.
    Replay {
        seq: u64,
        error: BookError,
    },
    /// An entry that is neither a book op nor a checkpoint.
    UnexpectedKind {
        seq: u64,
        kind: u16,
    },
    /// Entries the replay needed are missing from the journal.
    Gap {
        expected: u64,
        found: u64,
    },
    AlreadyJournaled,
    /// The journal already journals another book.
    JournalTaken,
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::Book(e) => e.fmt(f),
            EngineError::Journal(e) => e.fmt(f),
            EngineError::Snapshot(e) => write!(f, "invalid snapshot: {e}"),
            EngineError::Replay { seq, error } => {
                write!(f, "journal entry seq {seq} does not apply: {error}")
            }
            EngineError::UnexpectedKind { seq, kind } => {
                write!(f, "journal entry seq {seq} has kind {kind}, not a book operation (kind {OP_KIND})")
            }
            EngineError::Gap { expected, found } => {
                write!(f, "journal entries {expected}..{found} are missing (compacted or lost)")
            }
            EngineError::AlreadyJournaled => f.write_str("this order book already has a journal"),
            EngineError::JournalTaken => f.write_str(
                "this journal already journals another order book: a journal belongs to one book \
                 (two books writing one journal could not be recovered); open a journal of its own",
            ),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<BookError> for EngineError {
    fn from(e: BookError) -> Self {
        EngineError::Book(e)
    }
}

impl From<pinnacle_core::Error> for EngineError {
    fn from(e: pinnacle_core::Error) -> Self {
        EngineError::Journal(e)
    }
}

impl From<WalError<BookError>> for EngineError {
    fn from(e: WalError<BookError>) -> Self {
        match e {
            WalError::Refused(b) => EngineError::Book(b),
            WalError::Journal(j) => EngineError::Journal(j),
            WalError::Replay { seq, error } => EngineError::Replay { seq, error },
            WalError::UnexpectedKind { seq, kind, .. } => EngineError::UnexpectedKind { seq, kind },
            WalError::Gap { expected, found } => EngineError::Gap { expected, found },
            WalError::AlreadyJournaled => EngineError::AlreadyJournaled,
            WalError::JournalTaken => EngineError::JournalTaken,
        }
    }
}

/// An op checked against a book, ready to apply to it (opaque outside the crate).
pub struct CheckedOp(Plan);

impl WalState for OrderBook {
    type Record = Op;
    type Plan = CheckedOp;
    type Outcome = Outcome;
    type Error = BookError;

    #[inline]
    fn validate(&self, op: Op, _: Pass) -> Result<CheckedOp, BookError> {
        self.plan_owned(op).map(CheckedOp)
    }

    #[inline]
    fn apply(&mut self, plan: CheckedOp, _: Pass) -> Outcome {
        self.commit(plan.0)
    }

    /// A cancel of an id that is not resting changes nothing: not journaled, so repeated
    /// bad cancels cannot grow the journal (replaying one from an older journal is still
    /// a no-op).
    #[inline]
    fn changes_nothing(plan: &CheckedOp) -> bool {
        matches!(&plan.0, Plan::Cancel(p) if p.finds_nothing())
    }
}

/// An order book behind a mutex, optionally journaling every mutation write-ahead: a
/// [`Journaled<OrderBook>`] with the book's errors and snapshots. See
/// [`pinnacle_core::wal::Journaled`] for the ordering, group-commit, poisoning, claim
/// and fork rules.
pub struct JournaledBook {
    wal: Journaled<OrderBook>,
}

impl JournaledBook {
    /// A book journaling to `journal` (which it claims; `JournalTaken` if another book has).
    pub fn new(book: OrderBook, journal: Option<Arc<Journal>>) -> Result<JournaledBook, EngineError> {
        Ok(JournaledBook { wal: Journaled::new(book, journal)? })
    }

    /// `Error::Forked` when the book is journaled and this is not the process that opened
    /// its journal. Checked before the lock is taken.
    #[inline]
    pub fn check_owner(&self) -> Result<(), EngineError> {
        Ok(self.wal.check_owner()?)
    }

    /// Journals every later mutation to `journal`.
    pub fn attach(&self, journal: Arc<Journal>) -> Result<(), EngineError> {
        Ok(self.wal.attach(journal)?)
    }

    pub fn journal(&self) -> Option<Arc<Journal>> {
        self.wal.journal().cloned()
    }

    /// Validates `op`, journals it, applies it, and returns once the journal entry is as
    /// durable as the journal's sync policy promises ([`Journaled::apply`]).
    #[inline]
    pub fn apply(&self, op: Op) -> Result<Outcome, EngineError> {
        Ok(self.wal.apply(op)?)
    }

    /// Runs `f` on the book under its lock.
    pub fn with_book<R>(&self, f: impl FnOnce(&OrderBook) -> R) -> R {
        self.wal.with_state(f)
    }

    /// Encodes the live book under its lock (writers wait for the encode), bound to the
    /// journal's identity and the grid `(tick_size, lot_size)`. `covered_seq` is the seq
    /// of the journal's last entry, held or compacted away (`next_seq - 1`): every op up
    /// to it is in the book, none after.
    pub fn snapshot_bytes(
        &self,
        created_ns: i64,
        tick_size: &str,
        lot_size: &str,
    ) -> Result<(Vec<u8>, u64), EngineError> {
        self.wal.with_state(|book| {
            // Read under the book's lock, which attach and every append hold: exact.
            let journal = self.wal.journal();
            let covered = journal.map_or(0, |j| j.next_seq() - 1);
            let journal_id = journal.and_then(|j| j.journal_id()).unwrap_or(0);
            let binding = SnapshotBinding {
                journal_id,
                tick_size: tick_size.to_owned(),
                lot_size: lot_size.to_owned(),
            };
            let bytes =
                encode_snapshot_bound(book, covered, created_ns, &binding).map_err(EngineError::Snapshot)?;
            Ok((bytes, covered))
        })
    }

    /// Applies the book ops of `journal` with seq >= `from_seq` (no re-journaling).
    pub fn replay_journal(&self, journal: &Journal, from_seq: u64) -> Result<u64, EngineError> {
        Ok(self.wal.replay_journal(journal, from_seq)?)
    }
}

/// Applies one journal entry to `book`; false for a checkpoint (nothing to apply).
pub(crate) fn apply_entry(
    book: &mut OrderBook,
    seq: u64,
    kind: u16,
    flags: u16,
    payload: &[u8],
) -> Result<bool, EngineError> {
    Ok(wal::apply_entry(book, seq, kind, flags, payload)?)
}

/// Replays the book ops with seq >= `from_seq` onto `book`; returns how many applied.
/// The first entry must be `from_seq` itself (or the journal must hold nothing from it on).
pub fn replay_from(book: &mut OrderBook, journal: &Journal, from_seq: u64) -> Result<u64, EngineError> {
    Ok(wal::replay(book, journal, from_seq)?)
}
