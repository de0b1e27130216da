//! Typed write-ahead records: the one shape every journaled state has.
//!
//! A state ([`WalState`]) changes only through records ([`Record`]). Applying a record is
//! always the same pipeline, run by [`Journaled`] under the state's lock:
//!
//! 1. **validate** ([`WalState::validate`]): every check that can fail, against the
//!    current state, with no change; it yields a plan;
//! 2. **encode** ([`Record::encode`]) and **journal** (append under [`Record::KIND`]);
//! 3. **apply** ([`WalState::apply`]) the plan, which cannot fail.
//!
//! Replay ([`replay`]) decodes each entry and runs the very same validate and apply, so a
//! replayed journal reproduces the state exactly (records carry their own timestamps and
//! inputs; states never read a clock). A refused record changes nothing and journals
//! nothing; a failed append changes nothing; a failed sync poisons the journal, so every
//! later record is refused by the append, before it changes anything.
//!
//! Plans may refer to the state they were checked against (slot indices and the like), so
//! a plan must be applied to that state, unchanged, right after validation. The
//! machinery guarantees it; nothing else can call `validate` or `apply` (they take a
//! [`Pass`], which only this module makes).
//!
//! Zero cost: `Journaled<S>` and `replay::<S>` monomorphise per state; the hot path holds
//! no `Box`, no `dyn` and allocates nothing (the encode buffer is reused).

mod error;
mod journaled;
mod replay;

pub use error::WalError;
pub use journaled::Journaled;
pub use replay::{apply_entry, replay};

/// A typed journal record: one entry kind, a payload codec.
///
/// Several kinds of change of one state are variants of one record type, told apart by a
/// tag in the payload (as the book's ops are). `decode(encode(r)) == r` for every record
/// a state accepts, and `decode` rejects any other bytes without panicking.
pub trait Record: Sized {
    /// The entry kind, registered in [`crate::kinds`] (a record type whose variants are
    /// journaled under kinds of their own returns them from [`Record::kind`]; `KIND` is
    /// then its first).
    const KIND: u16;
    type DecodeError;
    /// Appends the payload to `out`. Pure: it may run before validation, and its bytes
    /// are journaled only if the record validates.
    fn encode(&self, out: &mut Vec<u8>);
    /// Decodes exactly one record occupying all of `bytes`.
    fn decode(bytes: &[u8]) -> Result<Self, Self::DecodeError>;
    /// The entry kind this record is journaled under; decoding its payload must give a
    /// record of the same kind (replay checks it).
    fn kind(&self) -> u16 {
        Self::KIND
    }
    /// True for every kind [`Record::kind`] can return.
    fn accepts_kind(kind: u16) -> bool {
        kind == Self::KIND
    }
    /// The entry's timestamp; `None`: the journal's wall clock at append.
    fn timestamp_ns(&self) -> Option<i64> {
        None
    }
}

/// Proof that a call to [`WalState::validate`] or [`WalState::apply`] comes from this
/// module's machinery, which applies every plan to the state it was checked against.
pub struct Pass(());

/// A state changed only by journaled records.
pub trait WalState {
    type Record: Record;
    /// A validated record, ready to apply to the state it was checked against.
    type Plan;
    type Outcome;
    /// Why a record is refused; also what a payload that does not decode becomes.
    type Error: From<<Self::Record as Record>::DecodeError>;

    /// Every check that can fail, without changing anything.
    fn validate(&self, record: Self::Record, pass: Pass) -> Result<Self::Plan, Self::Error>;

    /// Applies a plan `validate` just returned for this state. Cannot fail.
    fn apply(&mut self, plan: Self::Plan, pass: Pass) -> Self::Outcome;

    /// True when applying `plan` would change nothing: it is applied (for its outcome)
    /// but not journaled, so repeated no-ops cannot grow the journal.
    fn changes_nothing(_plan: &Self::Plan) -> bool {
        false
    }
}
