//! Criterion micro-benchmarks of `JournaledBook::apply`, the path behind the Python
//! `OrderBook.add_order`/`cancel_order`: an add that rests (no cross) then its cancel,
//! journaled (`sync="none"`, the file pre-sized so growth stays out of the loop) and in
//! memory. Each sample gets a fresh journal. `cargo bench -p pinnacle-book --bench journaled`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark's setup may panic: it is not library code

use criterion::{criterion_group, criterion_main, Criterion};
use pinnacle_book::{JournaledBook, Op, OrderBook, OrderId, Side};
use pinnacle_core::{Journal, JournalOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn run(book: &JournaledBook, iters: u64) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        let ts = i as i64 + 1;
        let id = OrderId::Int(i);
        book.apply(Op::Add { id: id.clone(), side: Side::Buy, price: 1000 - (i % 64) as i64, qty: 5, ts })
            .expect("add");
        book.apply(Op::Cancel { id, ts }).expect("cancel");
    }
    start.elapsed()
}

/// A resting book of 1k orders on each side, so adds land among existing levels.
fn seeded(journal: Option<Arc<Journal>>) -> JournaledBook {
    let book = JournaledBook::new(OrderBook::new("BENCH").expect("symbol"), journal).expect("book");
    for i in 0..1000u64 {
        let ts = i as i64;
        let id = OrderId::Int(u64::MAX - i);
        book.apply(Op::Add { id, side: Side::Sell, price: 2000 + (i % 64) as i64, qty: 5, ts })
            .expect("seed");
    }
    book
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("journaled_book");
    g.measurement_time(Duration::from_secs(3)).sample_size(30);
    g.bench_function("add_cancel_in_memory", |b| {
        b.iter_custom(|iters| run(&seeded(None), iters));
    });
    g.bench_function("add_cancel_journaled", |b| {
        b.iter_custom(|iters| {
            let dir = tempfile::tempdir().expect("tempdir");
            let size = (iters * 2 * 64 + (1 << 20)).next_power_of_two();
            let opts = JournalOptions { initial_size: size, ..Default::default() };
            let j = Arc::new(Journal::open(dir.path().join("b.journal"), opts).expect("journal"));
            let book = seeded(Some(j));
            run(&book, iters)
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
