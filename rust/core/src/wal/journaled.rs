//! [`Journaled<S>`]: a state behind a mutex, journaling every record write-ahead.
//!
//! Invariant: a record is appended to the journal *before* it is applied, under the same
//! lock as the change, so the journal order is the applied order, and a record whose
//! append failed changed nothing. Waiting for the append to be durable happens after the
//! lock is released (group commit: threads sharing the state share syncs, and readers
//! never wait for a disk flush).

use super::{replay, Pass, Record, WalError, WalState};
use crate::locks::Mutex;
use crate::Journal;
use std::sync::{Arc, OnceLock};

struct Inner<S> {
    state: S,
    /// The encode buffer, reused by every record (no allocation per record once warm).
    scratch: Vec<u8>,
}

/// A state whose every change goes validate → encode → append → apply, optionally
/// without a journal (plain memory: validate → apply).
///
/// A journal belongs to one state: attaching claims it ([`Journal::claim`]) and dropping
/// this releases it, so a second state on the same journal is refused (two writers of one
/// journal could not be told apart at recovery).
///
/// A journaled state does not cross a fork (see [`crate::fork`]): in a forked child every
/// method refuses with `Error::Forked` or must not be called ([`Journaled::check_owner`]
/// first), since a thread absent from the child may hold the lock.
pub struct Journaled<S: WalState> {
    inner: Mutex<Inner<S>>,
    /// Set once, under `inner`'s lock; read without it for the fork check and the wait.
    journal: OnceLock<Arc<Journal>>,
}

type Result<T, S> = std::result::Result<T, WalError<<S as WalState>::Error>>;

impl<S: WalState> Journaled<S> {
    /// `state` journaling to `journal` (which it claims; `JournalTaken` if taken).
    pub fn new(state: S, journal: Option<Arc<Journal>>) -> Result<Journaled<S>, S> {
        let me =
            Journaled { inner: Mutex::new(Inner { state, scratch: Vec::new() }), journal: OnceLock::new() };
        if let Some(j) = journal {
            me.attach(j)?;
        }
        Ok(me)
    }

    /// `Error::Forked` when journaled and this is not the process that opened the
    /// journal. Checked before the lock is taken.
    #[inline]
    pub fn check_owner(&self) -> Result<(), S> {
        match self.journal.get() {
            Some(j) => Ok(j.check_owner()?),
            None => Ok(()),
        }
    }

    /// Journals every later record to `journal`.
    pub fn attach(&self, journal: Arc<Journal>) -> Result<(), S> {
        self.check_owner()?;
        let _g = self.inner.lock();
        if self.journal.get().is_some() {
            return Err(WalError::AlreadyJournaled);
        }
        if !journal.claim() {
            return Err(WalError::JournalTaken);
        }
        // Cannot be set already: checked above under the lock every setter holds.
        let _ = self.journal.set(journal);
        Ok(())
    }

    pub fn journal(&self) -> Option<&Arc<Journal>> {
        self.journal.get()
    }

    /// Validates `record`, journals it, applies it, and returns once the entry is as
    /// durable as the journal's sync policy promises.
    ///
    /// The record is visible to readers of the state shortly before it is durable (as it
    /// is in the page cache to a journal reader). If that sync fails, the record stays
    /// applied in memory and in the journal's mapping but may not be on disk: the caller
    /// gets the error and the journal is poisoned, so every later record is refused by
    /// its append without changing the state.
    pub fn apply(&self, record: S::Record) -> Result<S::Outcome, S> {
        self.check_owner()?;
        let mut g = self.inner.lock();
        let Inner { state, scratch } = &mut *g;
        let journal = self.journal.get();
        // Encoding is pure; the bytes are appended only if the record validates. Encoding
        // first lets `validate` take the record by value (no copy of its fields). One call
        // site each for validate and apply keeps them inlined.
        let (ts, kind) = (record.timestamp_ns(), record.kind());
        if journal.is_some() {
            scratch.clear();
            record.encode(scratch);
        }
        let plan = state.validate(record, Pass(())).map_err(WalError::Refused)?;
        let appended = match journal {
            Some(j) if !S::changes_nothing(&plan) => Some((j, j.append_deferred(kind, scratch, ts)?)),
            _ => None,
        };
        let outcome = state.apply(plan, Pass(()));
        drop(g);
        if let Some((j, appended)) = appended {
            j.wait_durable(appended)?;
        }
        Ok(outcome)
    }

    /// Runs `f` on the state under its lock (no record is applied meanwhile, so the
    /// journal's `next_seq() - 1` is the last record the state holds).
    pub fn with_state<R>(&self, f: impl FnOnce(&S) -> R) -> R {
        f(&self.inner.lock().state)
    }

    /// Applies the records of `journal` with seq >= `from_seq` (no re-journaling); see
    /// [`replay`].
    pub fn replay_journal(&self, journal: &Journal, from_seq: u64) -> Result<u64, S> {
        self.check_owner()?;
        journal.check_owner()?;
        replay(&mut self.inner.lock().state, journal, from_seq)
    }
}

impl<S: WalState> Drop for Journaled<S> {
    fn drop(&mut self) {
        if let Some(j) = self.journal.take() {
            j.release_claim();
        }
    }
}
