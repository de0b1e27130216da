//! A book whose every mutation is journaled write-ahead, and replay of such a journal.
//!
//! Invariant: an op is appended to the journal *before* it is applied, under the same
//! lock as the change, so the journal order is the applied order, and an op whose
//! journal append failed changed nothing. Waiting for the append to be durable happens
//! after the lock is released (see [`JournaledBook::apply`]). Replaying a journal never
//! journals.

use crate::{encode_snapshot_bound, SnapshotBinding, SnapshotError};
use crate::{ApplyError, BookError, Op, OrderBook, Outcome, OP_KIND};
use pinnacle_core::locks::Mutex;
use pinnacle_core::{Columns, Journal, SyncPolicy, FLAG_CHECKPOINT};
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

struct Inner {
    book: OrderBook,
    journal: Option<Arc<Journal>>,
}

/// An order book behind a mutex, optionally journaling every mutation write-ahead.
///
/// A journaled book does not cross a fork (see `pinnacle_core::fork`): in a forked child
/// every method refuses with `Error::Forked` (`apply`, `replay_journal`) or must not be
/// called ([`JournaledBook::check_owner`] first), since a thread absent from the child
/// may hold its lock. An unjournaled book is plain memory and keeps working.
///
/// A journal belongs to one book: attaching claims it ([`Journal::claim`]) and dropping
/// the book releases it, so a second book on the same journal is refused.
pub struct JournaledBook {
    inner: Mutex<Inner>,
    /// The journal once attached, read without the lock for the fork check.
    attached: std::sync::OnceLock<Arc<Journal>>,
}

impl JournaledBook {
    /// A book journaling to `journal` (which it claims; `JournalTaken` if another book has).
    pub fn new(book: OrderBook, journal: Option<Arc<Journal>>) -> Result<JournaledBook, EngineError> {
        let b = JournaledBook {
            inner: Mutex::new(Inner { book, journal: None }),
            attached: std::sync::OnceLock::new(),
        };
        if let Some(j) = journal {
            b.attach(j)?;
        }
        Ok(b)
    }

    /// `Error::Forked` when the book is journaled and this is not the process that opened
    /// its journal. Checked before the lock is taken.
    #[inline]
    pub fn check_owner(&self) -> Result<(), EngineError> {
        match self.attached.get() {
            Some(j) => Ok(j.check_owner()?),
            None => Ok(()),
        }
    }

    /// Journals every later mutation to `journal`.
    pub fn attach(&self, journal: Arc<Journal>) -> Result<(), EngineError> {
        self.check_owner()?;
        let mut g = self.inner.lock();
        if g.journal.is_some() {
            return Err(EngineError::AlreadyJournaled);
        }
        if !journal.claim() {
            return Err(EngineError::JournalTaken);
        }
        let _ = self.attached.set(journal.clone());
        g.journal = Some(journal);
        Ok(())
    }

    pub fn journal(&self) -> Option<Arc<Journal>> {
        self.inner.lock().journal.clone()
    }

    /// Validates `op`, journals it, applies it, and returns once the journal entry is as
    /// durable as the journal's sync policy promises.
    ///
    /// The append and the change happen under the book's lock; the wait for the sync
    /// (`sync="always"`) happens after releasing it, so threads sharing the book share
    /// syncs (group commit) and readers never wait for a disk flush. An op is therefore
    /// visible to readers of the book shortly before it is durable (as it is in the page
    /// cache to a journal reader). If that sync fails, the op stays applied in memory and
    /// in the journal's mapping but may not be on disk: the caller gets the error, the
    /// journal is poisoned, so every later mutation of this book fails without changing it.
    pub fn apply(&self, op: Op) -> Result<Outcome, EngineError> {
        self.check_owner()?;
        let mut g = self.inner.lock();
        let Inner { book, journal } = &mut *g;
        let Some(j) = journal.as_ref() else {
            return Ok(book.apply_unjournaled(op)?);
        };
        let ts = op.timestamp_ns();
        let mut appended = None;
        let outcome = book
            .apply(&op, |bytes| {
                appended = Some(j.append_deferred(OP_KIND, bytes, Some(ts))?);
                Ok(())
            })
            .map_err(|e| match e {
                ApplyError::Book(b) => EngineError::Book(b),
                ApplyError::Journal(j) => EngineError::Journal(j),
            })?;
        // Only a journal syncing every append has anything to wait for.
        let wait = appended.filter(|_| j.options().sync == SyncPolicy::Always).map(|a| (j.clone(), a));
        drop(g);
        if let Some((j, a)) = wait {
            j.wait_durable(a)?;
        }
        Ok(outcome)
    }

    /// Runs `f` on the book under its lock.
    pub fn with_book<R>(&self, f: impl FnOnce(&OrderBook) -> R) -> R {
        f(&self.inner.lock().book)
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
        let g = self.inner.lock();
        let covered = g.journal.as_ref().map_or(0, |j| j.next_seq() - 1);
        let journal_id = g.journal.as_ref().and_then(|j| j.journal_id()).unwrap_or(0);
        let binding =
            SnapshotBinding { journal_id, tick_size: tick_size.to_owned(), lot_size: lot_size.to_owned() };
        let bytes =
            encode_snapshot_bound(&g.book, covered, created_ns, &binding).map_err(EngineError::Snapshot)?;
        Ok((bytes, covered))
    }

    /// Applies the book ops of `journal` with seq >= `from_seq` (no re-journaling).
    pub fn replay_journal(&self, journal: &Journal, from_seq: u64) -> Result<u64, EngineError> {
        self.check_owner()?;
        journal.check_owner()?;
        replay_from(&mut self.inner.lock().book, journal, from_seq)
    }
}

impl Drop for JournaledBook {
    fn drop(&mut self) {
        if let Some(j) = self.inner.get_mut().journal.take() {
            j.release_claim();
        }
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
    if flags & FLAG_CHECKPOINT != 0 {
        return Ok(false);
    }
    if kind != OP_KIND {
        return Err(EngineError::UnexpectedKind { seq, kind });
    }
    book.replay(payload).map_err(|error| EngineError::Replay { seq, error })?;
    Ok(true)
}

/// Replays the book ops with seq >= `from_seq` onto `book`; returns how many applied.
/// The first entry must be `from_seq` itself (or the journal must hold nothing from it on).
pub fn replay_from(book: &mut OrderBook, journal: &Journal, from_seq: u64) -> Result<u64, EngineError> {
    let mut cols = Columns::default();
    let (mut next, mut applied) = (from_seq, 0u64);
    loop {
        cols.clear();
        let n = journal.read_into(next, 16_384, &mut cols)?;
        if n == 0 {
            return Ok(applied);
        }
        if next == from_seq && cols.seq[0] > from_seq.max(journal.first_seq()) {
            return Err(EngineError::Gap { expected: from_seq, found: cols.seq[0] });
        }
        for i in 0..n {
            if apply_entry(book, cols.seq[i], cols.kind[i], cols.flags[i], cols.payload(i))? {
                applied += 1;
            }
        }
        next = cols.seq[n - 1] + 1;
    }
}
