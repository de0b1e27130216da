//! A new journaled state is a small module: the key-value register below is all it takes
//! (record, codec, validate, apply) to be journaled, replayed and recovered through
//! `pinnacle_core::wal`. The tests after it pin the machinery's rules from the outside.

mod register {
    use pinnacle_core::kinds;
    use pinnacle_core::wal::{Pass, Record, WalState};
    use std::collections::BTreeMap;

    /// The register's records: set a key, or delete one that exists.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Put {
        Set(u8, i64),
        Del(u8),
    }

    impl Record for Put {
        const KIND: u16 = kinds::USER.first; // a test state: the applications' range
        type DecodeError = String;
        fn encode(&self, out: &mut Vec<u8>) {
            match self {
                Put::Set(k, v) => {
                    out.extend([1, *k]);
                    out.extend(v.to_le_bytes());
                }
                Put::Del(k) => out.extend([2, *k]),
            }
        }
        fn decode(b: &[u8]) -> Result<Put, String> {
            match b {
                [1, k, v @ ..] => {
                    v.try_into().map(|v| Put::Set(*k, i64::from_le_bytes(v))).map_err(|_| "bad set".into())
                }
                [2, k] => Ok(Put::Del(*k)),
                _ => Err(format!("not a register record: {b:?}")),
            }
        }
    }

    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct Register(pub BTreeMap<u8, i64>);

    impl WalState for Register {
        type Record = Put;
        type Plan = Put;
        type Outcome = Option<i64>;
        type Error = String;
        fn validate(&self, r: Put, _: Pass) -> Result<Put, String> {
            match r {
                Put::Set(_, v) if v < 0 => Err(format!("negative value {v}")),
                Put::Del(k) if !self.0.contains_key(&k) => Err(format!("no key {k}")),
                r => Ok(r),
            }
        }
        fn apply(&mut self, p: Put, _: Pass) -> Option<i64> {
            match p {
                Put::Set(k, v) => self.0.insert(k, v),
                Put::Del(k) => self.0.remove(&k),
            }
        }
    }
}

use pinnacle_core::wal::{replay, WalError};
use pinnacle_core::{Journal, JournalOptions, Journaled};
use register::{Put, Register};
use std::sync::Arc;

#[test]
fn a_register_is_journaled_and_recovered_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.journal");
    let j = Arc::new(Journal::open(&path, JournalOptions::default()).unwrap());
    let kv = Journaled::new(Register::default(), Some(j.clone())).unwrap();
    assert_eq!(kv.apply(Put::Set(1, 10)).unwrap(), None);
    kv.apply(Put::Set(2, 20)).unwrap();
    assert_eq!(kv.apply(Put::Set(1, 11)).unwrap(), Some(10));
    assert!(matches!(kv.apply(Put::Set(3, -1)), Err(WalError::Refused(_))));
    assert!(matches!(kv.apply(Put::Del(9)), Err(WalError::Refused(_))));
    kv.apply(Put::Del(2)).unwrap();
    j.checkpoint(b"mark").unwrap();
    kv.apply(Put::Set(4, 40)).unwrap();
    assert_eq!(j.last_seq(), 6, "4 records + 1 checkpoint + 1 record; refusals journal nothing");
    let live = kv.with_state(Register::clone);
    j.abandon(); // a crash: no close, no sync
    drop((kv, j));
    let reopened = Journal::open(&path, JournalOptions::default()).unwrap();
    let mut recovered = Register::default();
    assert_eq!(replay(&mut recovered, &reopened, 1).unwrap(), 5);
    assert_eq!(recovered, live);
    assert_eq!(live.0.into_iter().collect::<Vec<_>>(), [(1, 11), (4, 40)]);
}

/// Injected faults are process-wide: the tests of this file run one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn a_journal_belongs_to_one_state_until_it_is_dropped() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let j = Arc::new(Journal::open(dir.path().join("kv.journal"), JournalOptions::default()).unwrap());
    let a = Journaled::new(Register::default(), Some(j.clone())).unwrap();
    assert!(matches!(Journaled::new(Register::default(), Some(j.clone())), Err(WalError::JournalTaken)));
    assert!(matches!(a.attach(j.clone()), Err(WalError::AlreadyJournaled)));
    let b = Journaled::new(Register::default(), None).unwrap();
    b.apply(Put::Set(1, 1)).unwrap();
    assert_eq!(j.last_seq(), 0, "an unjournaled state journals nothing");
    drop(a);
    b.attach(j.clone()).unwrap();
    b.apply(Put::Set(2, 2)).unwrap();
    assert_eq!(j.last_seq(), 1);
}

#[test]
fn replay_stops_at_the_first_entry_that_does_not_apply() {
    let _s = serial();
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(dir.path().join("kv.journal"), JournalOptions::default()).unwrap();
    let kind = pinnacle_core::kinds::USER.first;
    j.append(kind, &[1, 1, 5, 0, 0, 0, 0, 0, 0, 0], None).unwrap(); // Set(1, 5)
    j.checkpoint(b"c").unwrap();
    j.append(kind, &[2, 7], None).unwrap(); // Del(7): no such key, refused at replay
    j.append(kind, &[9], None).unwrap();
    let mut kv = Register::default();
    let e = replay(&mut kv, &j, 1).unwrap_err();
    assert!(matches!(&e, WalError::Replay { seq: 3, error } if error == "no key 7"), "{e}");
    assert_eq!(kv.0.get(&1), Some(&5), "entries before the failing one stay applied");
    assert!(matches!(replay(&mut Register::default(), &j, 4), Err(WalError::Replay { seq: 4, .. })));
    j.append(pinnacle_core::kinds::BOOK_OP, b"x", None).unwrap();
    let e = replay(&mut Register::default(), &j, 5).unwrap_err();
    assert!(matches!(e, WalError::UnexpectedKind { seq: 5, kind: 1, expected } if expected == kind));
    assert!(e.to_string().contains("book.op"), "{e}");
    j.compact(3).unwrap();
    let e = replay(&mut Register::default(), &j, 2).unwrap_err();
    assert!(matches!(e, WalError::Journal(pinnacle_core::Error::Compacted { wanted_seq: 2, .. })), "{e}");
}

#[test]
fn a_failed_sync_poisons_the_journal_and_later_records_change_nothing() {
    use pinnacle_core::sys::{clear_faults, inject_fault, Call};
    use pinnacle_core::SyncPolicy;
    let _s = serial();
    for call in [Call::Fsync, Call::Msync] {
        let dir = tempfile::tempdir().unwrap();
        let opts = JournalOptions { sync: SyncPolicy::Always, ..Default::default() };
        let j = Arc::new(Journal::open(dir.path().join("kv.journal"), opts).unwrap());
        let kv = Journaled::new(Register::default(), Some(j.clone())).unwrap();
        kv.apply(Put::Set(1, 1)).unwrap();
        inject_fault(call, libc::EIO, Some(1));
        let e = kv.apply(Put::Set(2, 2)).unwrap_err();
        clear_faults();
        assert!(matches!(&e, WalError::Journal(j) if j.errno() == Some(libc::EIO)), "{e}");
        let before = kv.with_state(Register::clone);
        let e = kv.apply(Put::Set(3, 3)).unwrap_err();
        assert!(matches!(e, WalError::Journal(pinnacle_core::Error::Poisoned { .. })), "{e}");
        assert_eq!(kv.with_state(Register::clone), before, "a refused append changes nothing");
        assert!(!before.0.contains_key(&3));
    }
}
