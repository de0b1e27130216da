//! Criterion micro-benchmarks of the core hot paths: append (64-byte payload), CRC, entry
//! parsing and the opening scan. Run with `make bench` or `cargo bench -p pinnacle-core`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark's setup may panic: it is not library code

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use pinnacle_core::format::entry;
use pinnacle_core::{Journal, JournalOptions, SyncPolicy};
use std::hint::black_box;

fn opts() -> JournalOptions {
    JournalOptions { initial_size: 256 << 20, growth_step: 256 << 20, ..Default::default() }
}

fn bench_append(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(dir.path().join("bench.journal"), opts()).expect("open");
    let payload = [7u8; 64];
    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(1));
    g.bench_function("append_64B_sync_none", |b| {
        b.iter(|| j.append(1, black_box(&payload), Some(1)).expect("append"))
    });
    g.bench_function("append_64B_wallclock_ts", |b| {
        b.iter(|| j.append(1, black_box(&payload), None).expect("append"))
    });
    g.finish();
    bench_append_resident(c, &payload);
    let batch: Vec<&[u8]> = vec![&payload[..]; 1024];
    let mut g = c.benchmark_group("append_batch");
    g.throughput(Throughput::Elements(1024));
    g.bench_function("append_batch_1024x64B", |b| {
        b.iter(|| j.append_batch(1, black_box(&batch), Some(1)).expect("batch"))
    });
    g.finish();
}

/// Appends into pages the prefault thread has already made resident: the cost a trading
/// burst sees. Appends are timed in bursts of `BURST` (≈ 9.6 MiB, well inside the 32 MiB
/// the prefaulter keeps ready); between bursts, untimed, the thread catches up. The
/// `append` group above instead runs flat out for seconds, so it mostly measures how fast
/// this VM can hand out fresh file pages.
fn bench_append_resident(c: &mut Criterion, payload: &[u8]) {
    const BURST: u64 = 100_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let j = Journal::open(dir.path().join("resident.journal"), opts()).expect("open");
    let mut g = c.benchmark_group("append_resident");
    g.throughput(Throughput::Elements(1));
    g.bench_function("append_64B_prefaulted", |b| {
        b.iter_custom(|iters| {
            let mut spent = std::time::Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(BURST);
                std::thread::sleep(std::time::Duration::from_millis(40));
                let started = std::time::Instant::now();
                for _ in 0..n {
                    j.append(1, black_box(payload), Some(1)).expect("append");
                }
                spent += started.elapsed();
                left -= n;
            }
            spent
        })
    });
    g.finish();
}

/// Durable appends (`sync="always"`) from N threads sharing one journal, without Python in
/// the way: how far group commit takes throughput when threads wake at native speed. The
/// journal lives where `TMPDIR` points; run it on the disk you care about.
fn bench_group_commit(c: &mut Criterion) {
    let payload = [7u8; 64];
    let mut g = c.benchmark_group("durable_append");
    g.sample_size(10);
    for threads in [1u64, 8] {
        let dir = tempfile::tempdir().expect("tempdir");
        let durable = JournalOptions { sync: SyncPolicy::Always, ..opts() };
        let j = Journal::open(dir.path().join("durable.journal"), durable).expect("open");
        g.throughput(Throughput::Elements(threads));
        g.bench_function(format!("threads_{threads}"), |b| {
            b.iter_custom(|iters| {
                let started = std::time::Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        s.spawn(|| {
                            for _ in 0..iters {
                                j.append(1, black_box(&payload), Some(1)).expect("append");
                            }
                        });
                    }
                });
                started.elapsed()
            })
        });
    }
    g.finish();
}

fn bench_codec(c: &mut Criterion) {
    let payload = [7u8; 64];
    let mut buf = vec![0u8; entry::encoded_len(64)];
    c.bench_function("crc32_96B", |b| b.iter(|| crc32fast::hash(black_box(&buf[4..]))));
    c.bench_function("entry_write_64B", |b| {
        b.iter(|| entry::write(black_box(&mut buf), 1, 2, 3, 0, &payload))
    });
    assert!(entry::write(&mut buf, 1, 2, 3, 0, &payload));
    c.bench_function("entry_parse_64B", |b| b.iter(|| entry::parse(black_box(&buf), 1 << 20)));
}

fn bench_scan(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("scan.journal");
    {
        let j = Journal::open(&path, opts()).expect("open");
        let payload = [1u8; 64];
        let batch: Vec<&[u8]> = vec![&payload[..]; 100_000];
        for _ in 0..10 {
            j.append_batch(1, &batch, None).expect("batch");
        }
        j.close().expect("close");
    }
    let mut g = c.benchmark_group("reopen");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("open_scan_1M_entries", |b| {
        b.iter_batched(|| (), |_| Journal::open(&path, opts()).expect("reopen"), BatchSize::PerIteration)
    });
    g.finish();
}

criterion_group!(benches, bench_append, bench_group_commit, bench_codec, bench_scan);
criterion_main!(benches);
