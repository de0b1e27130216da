//! A journaled book shared by threads under `sync="always"`: the ops' syncs are shared
//! (group commit), each op is durable when its apply returns (simulated power loss: the
//! durable image is what the last successful sync covered), and readers of the book
//! never wait for a sync.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_book::{replay_from, JournaledBook, Op, OrderBook, OrderId, Side};
use pinnacle_core::testing::{
    durable_image, durable_syncs, hold_syncs, scan_image, track_durability, wait_for_held_syncs,
};
use pinnacle_core::{Journal, JournalOptions, RecoveryMode, SyncPolicy};
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const THREADS: u64 = 8;
const PER_THREAD: u64 = 40;

/// The durability hooks are process-wide: one test at a time.
static HOOKS: Mutex<()> = Mutex::new(());

fn always(p: &Path) -> Arc<Journal> {
    let opts = JournalOptions { sync: SyncPolicy::Always, initial_size: 256 << 10, ..Default::default() };
    Arc::new(Journal::open(p, opts).unwrap())
}

fn add(id: u64, price: i64) -> Op {
    Op::Add { id: OrderId::Int(id), side: Side::Buy, price, qty: 1, ts: id as i64 }
}

fn durable_to(p: &Path) -> u64 {
    let image = durable_image(p).expect("a sync recorded a durable image");
    scan_image(&image, RecoveryMode::TolerateTail).unwrap().last_seq
}

#[test]
fn threads_sharing_a_book_share_syncs_and_each_op_is_durable_on_return() {
    let _hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
    track_durability(true);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("b.journal");
    let j = always(&p);
    let book = JournaledBook::new(OrderBook::new("X").unwrap(), Some(j.clone())).unwrap();
    let syncs_before = durable_syncs();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (book, j, p) = (&book, &j, &p);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    let id = t * PER_THREAD + i + 1;
                    book.apply(add(id, 100 + (id % 7) as i64)).unwrap();
                    let held = durable_to(p);
                    assert!(held >= seq_of(j, id), "op {id} returned but durable only to seq {held}");
                    assert!(book.with_book(|b| b.contains(&OrderId::Int(id))));
                }
            });
        }
    });
    let ops = THREADS * PER_THREAD;
    let syncs = durable_syncs() - syncs_before;
    assert!(syncs < ops, "{syncs} syncs for {ops} concurrent durable ops on one book: none shared");
    let live = book.with_book(|b| b.clone());
    j.close().unwrap();
    track_durability(false);
    let reopened = Journal::open(&p, JournalOptions::default()).unwrap();
    let mut replayed = OrderBook::new("X").unwrap();
    assert_eq!(replay_from(&mut replayed, &reopened, 1).unwrap(), ops);
    assert_eq!(replayed.order_count(), live.order_count());
}

/// The seq of the journal entry that added order `id` (its timestamp is the id).
fn seq_of(j: &Journal, id: u64) -> u64 {
    let mut cols = pinnacle_core::Columns::default();
    j.read_into(1, usize::MAX, &mut cols).unwrap();
    let i = cols.timestamp_ns.iter().position(|&ts| ts == id as i64).expect("op journaled");
    cols.seq[i]
}

#[test]
fn readers_of_the_book_do_not_wait_for_a_sync_in_progress() {
    let _hooks = HOOKS.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let j = always(&dir.path().join("b.journal"));
    let book = Arc::new(JournaledBook::new(OrderBook::new("X").unwrap(), Some(j.clone())).unwrap());
    book.apply(add(1, 100)).unwrap();
    hold_syncs(true);
    let writer = {
        let book = book.clone();
        std::thread::spawn(move || book.apply(add(2, 101)).map(drop).map_err(|e| e.to_string()))
    };
    wait_for_held_syncs(1);
    // The sync for order 2 is in progress (held): the book must answer meanwhile, and
    // already shows order 2 (applied before its sync, as documented).
    let (tx, rx) = mpsc::channel();
    let reader = {
        let book = book.clone();
        std::thread::spawn(move || tx.send(book.with_book(|b| (b.best_bid(), b.depth(5)))).unwrap())
    };
    let answer = rx.recv_timeout(Duration::from_secs(20));
    hold_syncs(false);
    let (best, _depth) = answer.expect("a reader waited for the sync of another thread's op");
    assert_eq!(best, Some((101, 1)));
    writer.join().unwrap().unwrap();
    reader.join().unwrap();
    j.close().unwrap();
}
