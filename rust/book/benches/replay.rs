//! Criterion micro-benchmarks of the book's hot paths: op encoding/decoding, replay of a
//! journaled op stream, snapshot encode/decode. `cargo bench -p pinnacle-book`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark's setup may panic: it is not library code

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pinnacle_book::{decode_snapshot, encode_snapshot, Op, OrderBook, OrderId, Side};
use std::hint::black_box;

/// 100k ops: adds around two sides, partial executions and cancels, like a quoting book.
fn ops(n: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n / 3 {
        let (side, price) = if i % 2 == 0 {
            (Side::Buy, 1000 - (i % 500) as i64)
        } else {
            (Side::Sell, 2000 + (i % 500) as i64)
        };
        let ts = i as i64 + 1;
        out.push(Op::Add { id: OrderId::Int(i), side, price, qty: 5, ts }.to_bytes());
        out.push(Op::Execute { id: OrderId::Int(i), qty: 1, ts }.to_bytes());
        if i >= 10_000 {
            out.push(Op::Cancel { id: OrderId::Int(i - 10_000), ts }.to_bytes());
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let stream = ops(100_000);
    let mut g = c.benchmark_group("replay");
    g.throughput(Throughput::Elements(stream.len() as u64));
    g.bench_function("replay_100k_ops", |b| {
        b.iter_batched(
            || OrderBook::new("BENCH").expect("symbol"),
            |mut book| {
                for op in &stream {
                    book.replay(op).expect("replay");
                }
                book
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
    let add = Op::Add { id: OrderId::Int(7), side: Side::Buy, price: 1000, qty: 5, ts: 1 };
    let bytes = add.to_bytes();
    c.bench_function("op_encode_add", |b| b.iter(|| black_box(&add).to_bytes()));
    c.bench_function("op_decode_add", |b| b.iter(|| Op::decode(black_box(&bytes)).expect("decode")));
    let mut book = OrderBook::new("BENCH").expect("symbol");
    for op in &stream {
        book.replay(op).expect("replay");
    }
    let snap = encode_snapshot(&book, 1, 0);
    let mut g = c.benchmark_group("snapshot");
    g.throughput(Throughput::Elements(book.order_count() as u64));
    g.bench_function("encode", |b| b.iter(|| encode_snapshot(black_box(&book), 1, 0)));
    g.bench_function("decode", |b| b.iter(|| decode_snapshot(black_box(&snap)).expect("decode")));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
