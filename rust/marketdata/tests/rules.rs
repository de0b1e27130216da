//! Every rule of the pipeline core, proved from the outside.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is how a test fails

use pinnacle_marketdata::engine::SinkConfig;
use pinnacle_marketdata::{decimal, Engine, Format, L2Book, Limits, Side, Stop};
use std::io::Write;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn write_gz(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    let mut enc =
        flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    p
}

fn run_all(e: &mut Engine) {
    assert_eq!(e.run(&Limits::default()).unwrap(), Stop::End);
}

fn upd(u0: u64, u1: u64, pu: Option<u64>, e_ms: i64, b: &str, a: &str) -> String {
    let pu = pu.map(|p| format!(",\"pu\":{p}")).unwrap_or_default();
    format!(
        "{{\"e\":\"depthUpdate\",\"E\":{e_ms},\"s\":\"BTCUSDT\",\"U\":{u0},\"u\":{u1}{pu},\"b\":[{b}],\"a\":[{a}],\"lt\":{}}}\n",
        e_ms + 3
    )
}

const SNAP: &str =
    "{\"lastUpdateId\":100,\"bids\":[[\"99.50\",\"1.0\"],[\"99.00\",\"2\"]],\"asks\":[[\"100.5\",\"3\"]]}\n";

#[test]
fn decimals_are_exact_and_canonical() {
    assert_eq!(decimal::parse("123.4500").unwrap(), decimal::Scaled { units: 1_234_500, scale: 4 });
    assert_eq!(decimal::format(1_234_500, 4), "123.45");
    assert_eq!(decimal::format(5, 3), "0.005");
    assert_eq!(decimal::format(0, 2), "0");
    for bad in ["", ".", "-1", "1e5", "1.2.3", " 1", "99999999999999999999"] {
        assert!(decimal::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn book_orders_sides_deletes_on_zero_and_rescales() {
    let mut b = L2Book::new();
    b.set_text(Side::Bid, "100", "1").unwrap();
    b.set_text(Side::Bid, "100.25", "2.5").unwrap(); // rescales price and size
    b.set_text(Side::Bid, "99.9", "0.001").unwrap();
    b.set_text(Side::Ask, "101", "4").unwrap();
    b.set_text(Side::Ask, "100.5", "5").unwrap();
    assert_eq!(
        b.top(Side::Bid, 10),
        vec![("100.25".into(), "2.5".into()), ("100".into(), "1".into()), ("99.9".into(), "0.001".into())]
    );
    assert_eq!(b.top(Side::Ask, 1), vec![("100.5".to_string(), "5".to_string())]);
    b.set_text(Side::Bid, "100.000", "0.0").unwrap();
    assert_eq!(b.len(Side::Bid), 2);
    assert!(b.set_text(Side::Bid, "abc", "1").is_err());
    // Equal books, different scales: equal checksums.
    let mut c = L2Book::new();
    c.set_text(Side::Bid, "100.250", "2.50").unwrap();
    c.set_text(Side::Bid, "99.9", "0.001").unwrap();
    c.set_text(Side::Ask, "100.5", "5").unwrap();
    c.set_text(Side::Ask, "101", "4").unwrap();
    assert_eq!(b.checksum(), c.checksum());
    c.set_text(Side::Ask, "101", "4.1").unwrap();
    assert_ne!(b.checksum(), c.checksum());
}

#[test]
fn binance_spot_snapshot_straddle_drop_and_gaps() {
    let d = tempfile::tempdir().unwrap();
    let text = [
        SNAP.to_string(),
        upd(90, 100, None, 1000, "[\"1\",\"1\"]", ""), // u <= 100: dropped
        upd(99, 102, None, 1001, "[\"99.50\",\"0\"]", ""), // straddles 101: applied
        upd(103, 104, None, 1002, "", "[\"100.5\",\"7\"]"), // continuous
        upd(106, 107, None, 1003, "[\"98\",\"1\"]", ""), // gap: expected 105
    ]
    .concat();
    let p = write(d.path(), "a.jsonl", &text);
    let mut e = Engine::new("BTCUSDT", Format::BinanceDepth, vec![p.clone()], None, None).unwrap();
    run_all(&mut e);
    let st = e.state();
    assert_eq!(st.events_processed, 5);
    assert_eq!(st.dropped_before_snapshot, 1);
    assert_eq!(st.gap_count, 1);
    let g = &st.gaps[0];
    assert_eq!((g.kind.as_str(), g.expected, g.got, g.exchange_ms), ("sequence", 105, 106, Some(1003)));
    let line_start = text.len() - upd(106, 107, None, 1003, "[\"98\",\"1\"]", "").len();
    assert_eq!(g.offset, line_start as u64);
    assert_eq!(g.file, p.display().to_string());
    assert!(st.stale, "a gap makes the book stale");
    assert_eq!(st.last_update_id, Some(107));
    assert_eq!(e.book().top(Side::Bid, 5), vec![("99".into(), "2".into()), ("98".into(), "1".into())]);
    assert_eq!(e.book().top(Side::Ask, 5), vec![("100.5".into(), "7".into())]);
    assert_eq!(st.drift.count, 3, "dropped updates are not measured");
    assert_eq!(st.drift.max_us, Some(3000));
}

#[test]
fn binance_first_update_not_straddling_is_a_gap_and_snapshot_clears_stale() {
    let d = tempfile::tempdir().unwrap();
    let text = [
        upd(1, 5, None, 1, "[\"1\",\"1\"]", ""), // before any snapshot: stale, no gap
        SNAP.to_string(),
        upd(105, 106, None, 2, "", ""), // expected 101 in U..=u
        SNAP.to_string(),
        upd(101, 101, None, 3, "", ""),
    ]
    .concat();
    let p = write(d.path(), "a.jsonl", &text);
    let mut e = Engine::new("BTCUSDT", Format::BinanceDepth, vec![p], None, None).unwrap();
    assert!(e.state().stale);
    run_all(&mut e);
    let st = e.state();
    assert_eq!(st.gap_count, 1);
    assert_eq!((st.gaps[0].kind.as_str(), st.gaps[0].expected, st.gaps[0].got), ("snapshot", 101, 105));
    assert!(!st.stale, "the second snapshot resynchronised the book");
    assert_eq!(st.snapshots, 2);
}

#[test]
fn binance_futures_uses_pu() {
    let d = tempfile::tempdir().unwrap();
    let text = [
        SNAP.to_string(),
        upd(95, 100, Some(94), 1, "", ""), // u >= 100 = lastUpdateId: first (futures rule)
        upd(101, 110, Some(100), 2, "", ""), // pu == prev u
        upd(115, 120, Some(111), 3, "", ""), // pu 111 != 110: gap
    ]
    .concat();
    let p = write(d.path(), "f.jsonl", &text);
    let mut e = Engine::new("BTCUSDT", Format::BinanceDepth, vec![p], None, None).unwrap();
    run_all(&mut e);
    let st = e.state();
    assert_eq!(st.dropped_before_snapshot, 0);
    assert_eq!(st.gap_count, 1);
    assert_eq!((st.gaps[0].expected, st.gaps[0].got), (110, 111));
}

#[test]
fn binance_rejects_bad_lines_with_location() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "bad.jsonl", &format!("{SNAP}{{\"e\":\"depthUpdate\",\"U\":1}}\n"));
    let mut e = Engine::new("BTCUSDT", Format::BinanceDepth, vec![p.clone()], None, None).unwrap();
    let err = e.run(&Limits::default()).unwrap_err();
    match err {
        pinnacle_marketdata::Error::Parse { path, offset, .. } => {
            assert_eq!(path, p);
            assert_eq!(offset, SNAP.len() as u64);
        }
        other => panic!("{other}"),
    }
    let q = write(d.path(), "other.jsonl", &upd(1, 1, None, 1, "", "").replace("BTCUSDT", "ETHUSDT"));
    let mut e = Engine::new("BTCUSDT", Format::BinanceDepth, vec![q], None, None).unwrap();
    assert!(e.run(&Limits::default()).unwrap_err().to_string().contains("ETHUSDT"));
}

const TARDIS: &str = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
binance,BTCUSDT,1000,1500,true,bid,99.5,1
binance,BTCUSDT,1000,1500,true,ask,100.5,2
binance,BTCUSDT,2000,2600,false,bid,99.5,0
binance,BTCUSDT,2000,2600,false,bid,99.0,3
binance,BTCUSDT,3000,3100,false,ask,101,1
binance,BTCUSDT,4000,4700,true,bid,50,1
binance,BTCUSDT,4000,4700,true,ask,60,1
";

#[test]
fn tardis_groups_rows_and_snapshot_runs_replace_the_book() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "t.csv", TARDIS);
    let mut e = Engine::new("BTCUSDT", Format::TardisL2, vec![p], None, None).unwrap();
    run_all(&mut e);
    let st = e.state();
    assert_eq!(st.events_processed, 4, "rows sharing local_timestamp are one message");
    assert_eq!(st.snapshots, 2);
    assert_eq!(e.book().top(Side::Bid, 5), vec![("50".into(), "1".into())]);
    assert_eq!(e.book().top(Side::Ask, 5), vec![("60".into(), "1".into())]);
    assert_eq!(st.drift.max_us, Some(700));
    assert_eq!(st.drift.min_us, Some(100));
    assert!(!st.stale);
}

#[test]
fn gzip_and_several_files_in_order() {
    let d = tempfile::tempdir().unwrap();
    let (head, tail) = TARDIS.split_at(TARDIS.find("binance,BTCUSDT,3000").unwrap());
    let a = write_gz(d.path(), "a.csv.gz", head);
    let b = write(
        d.path(),
        "b.csv",
        &format!("exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n{tail}"),
    );
    let mut e = Engine::new("BTCUSDT", Format::TardisL2, vec![a, b], None, None).unwrap();
    run_all(&mut e);
    assert_eq!(e.state().events_processed, 4);
    assert_eq!(e.book().top(Side::Bid, 5), vec![("50".into(), "1".into())]);
}

/// Stopping after every message, capturing, and continuing in a new engine from the
/// capture gives the uninterrupted run's book, state and sink rows (plain and gzip).
#[test]
fn resume_from_any_capture_is_exact() {
    let d = tempfile::tempdir().unwrap();
    let mut lines = vec![SNAP.to_string()];
    let mut u = 100;
    for i in 0..40i64 {
        let skip = if i == 17 { 5 } else { 0 };
        lines.push(upd(
            u + 1 + skip,
            u + 2 + skip,
            None,
            1000 + i * 40,
            &format!("[\"99.{i}\",\"{i}\"]"),
            "[\"101\",\"1\"]",
        ));
        u += 2 + skip;
    }
    let (x, y) = lines.split_at(20);
    let files = vec![write_gz(d.path(), "x.jsonl.gz", &x.concat()), write(d.path(), "y.jsonl", &y.concat())];
    let sink = Some(SinkConfig { every_ms: 100, levels: 3 });
    let mut whole = Engine::new("BTCUSDT", Format::BinanceDepth, files.clone(), sink, None).unwrap();
    run_all(&mut whole);
    let reference = whole.capture();
    assert_eq!(reference.state.gap_count, 1);
    assert!(!reference.sink_rows.is_empty());
    let total = reference.state.events_processed;
    for k in 0..=total {
        let mut first = Engine::new("BTCUSDT", Format::BinanceDepth, files.clone(), sink, None).unwrap();
        first.run(&Limits { max_events: Some(k), ..Default::default() }).unwrap();
        let c1 = first.capture();
        let mut second = Engine::new(
            "BTCUSDT",
            Format::BinanceDepth,
            files.clone(),
            sink,
            Some((c1.book.clone(), c1.state.clone())),
        )
        .unwrap();
        run_all(&mut second);
        let c2 = second.capture();
        assert_eq!(c2.book, reference.book, "k={k}");
        assert_eq!(c2.state.events_processed, total);
        assert_eq!(c2.state.gaps, reference.state.gaps);
        assert_eq!(c2.state.drift, reference.state.drift);
        let rows: Vec<_> = c1.sink_rows.into_iter().chain(c2.sink_rows).collect();
        assert_eq!(rows, reference.sink_rows, "k={k}");
    }
}

#[test]
fn tardis_resume_never_splits_a_message() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "t.csv", TARDIS);
    let files = vec![p];
    let mut whole = Engine::new("BTCUSDT", Format::TardisL2, files.clone(), None, None).unwrap();
    run_all(&mut whole);
    for k in 0..=4 {
        let mut first = Engine::new("BTCUSDT", Format::TardisL2, files.clone(), None, None).unwrap();
        first.run(&Limits { max_events: Some(k), ..Default::default() }).unwrap();
        let c = first.capture();
        let offset = c.state.position.offset as usize;
        assert!(offset == 0 || TARDIS[..offset].ends_with('\n'));
        let mut second =
            Engine::new("BTCUSDT", Format::TardisL2, files.clone(), None, Some((c.book, c.state))).unwrap();
        run_all(&mut second);
        assert_eq!(second.book(), whole.book());
        assert_eq!(second.state().events_processed, 4);
        assert_eq!(second.state().drift, whole.state().drift);
    }
}

#[test]
fn trigger_stops_at_a_boundary_and_bad_positions_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let text: String = std::iter::once(SNAP.to_string())
        .chain((0..1000u64).map(|i| upd(101 + i, 101 + i, None, 1, "", "")))
        .collect();
    let p = write(d.path(), "a.jsonl", &text);
    let flag = std::sync::atomic::AtomicBool::new(true);
    let mut e = Engine::new("BTCUSDT", Format::BinanceDepth, vec![p.clone()], None, None).unwrap();
    assert_eq!(e.run(&Limits { trigger: Some(&flag), ..Default::default() }).unwrap(), Stop::Trigger);
    assert!(!flag.load(std::sync::atomic::Ordering::Acquire));
    assert!(e.state().events_processed < 1001);
    let mut st = e.capture().state;
    st.position.file_index = 5;
    assert!(Engine::new(
        "BTCUSDT",
        Format::BinanceDepth,
        vec![p.clone()],
        None,
        Some((L2Book::new(), st.clone()))
    )
    .is_err());
    st.position = pinnacle_marketdata::Position { file_index: 0, offset: text.len() as u64 + 1 };
    assert!(Engine::new("BTCUSDT", Format::BinanceDepth, vec![p], None, Some((L2Book::new(), st))).is_err());
    assert!("csv".parse::<Format>().is_err());
}

/// The checkpointed state survives JSON exactly (the drift trend is a float).
#[test]
fn state_round_trips_through_json() {
    let d = tempfile::tempdir().unwrap();
    let p = write(d.path(), "t.csv", TARDIS);
    let mut e = Engine::new("BTCUSDT", Format::TardisL2, vec![p], None, None).unwrap();
    run_all(&mut e);
    let st = e.capture().state;
    let back: pinnacle_marketdata::EngineState =
        serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
    assert_eq!(back, st);
}
