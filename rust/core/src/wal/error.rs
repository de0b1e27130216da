//! Errors of the write-ahead machinery, generic over the state's own refusal `E`.

use std::fmt;

#[derive(Debug)]
pub enum WalError<E> {
    /// The state refused the record: nothing changed, nothing was journaled.
    Refused(E),
    /// The journal failed (append, sync, owner check): nothing was applied, except after
    /// a failed sync (see [`super::Journaled::apply`]).
    Journal(crate::Error),
    /// A journaled record that does not decode or does not apply: the journal and the
    /// state it is replayed on do not belong together. Entries before it were applied.
    Replay { seq: u64, error: E },
    /// An entry of a kind this state does not journal (a journal holds one state).
    UnexpectedKind { seq: u64, kind: u16, expected: u16 },
    /// Entries the replay needed are missing from the journal.
    Gap { expected: u64, found: u64 },
    /// The state already has a journal.
    AlreadyJournaled,
    /// The journal already journals another state.
    JournalTaken,
}

impl<E> From<crate::Error> for WalError<E> {
    fn from(e: crate::Error) -> Self {
        WalError::Journal(e)
    }
}

impl<E: fmt::Display> fmt::Display for WalError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalError::Refused(e) => e.fmt(f),
            WalError::Journal(e) => e.fmt(f),
            WalError::Replay { seq, error } => write!(f, "journal entry seq {seq} does not apply: {error}"),
            WalError::UnexpectedKind { seq, kind, expected } => write!(
                f,
                "journal entry seq {seq} has kind {} ({kind}), not {} ({expected})",
                crate::kinds::kind_name(*kind),
                crate::kinds::kind_name(*expected)
            ),
            WalError::Gap { expected, found } => {
                write!(f, "journal entries {expected}..{found} are missing (compacted or lost)")
            }
            WalError::AlreadyJournaled => f.write_str("this state already has a journal"),
            WalError::JournalTaken => f.write_str(
                "this journal already journals another state: a journal belongs to one state \
                 (two writing one journal could not be recovered); open a journal of its own",
            ),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for WalError<E> {}
