//! Gap records, drift statistics and sink rows: everything here is part of the
//! checkpointed state (serde), so a resumed run reports what an uninterrupted one does.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One continuity break.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// "sequence" (an update does not follow the previous one) or "snapshot" (the first
    /// update after a snapshot does not straddle its lastUpdateId).
    pub kind: String,
    pub file_index: usize,
    pub file: String,
    pub offset: u64,
    pub expected: u64,
    pub got: u64,
    pub exchange_ms: Option<i64>,
    pub local_us: Option<i64>,
}

/// Drift (local receive time minus exchange event time, µs) in log-linear buckets of
/// 64 sub-buckets per power of two (under 1.6 % relative error); negatives (clock skew)
/// count in `negative` and in bucket 0.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub count: u64,
    pub negative: u64,
    pub min_us: Option<i64>,
    pub max_us: Option<i64>,
    /// Exponentially weighted mean (weight 1/1024): the drift's recent trend.
    pub ewma_us: f64,
    pub buckets: BTreeMap<u32, u64>,
}

fn bucket_of(v: u64) -> u32 {
    if v < 64 {
        return v as u32;
    }
    let e = 63 - v.leading_zeros(); // v in [2^e, 2^(e+1)), e >= 6
    let sub = ((v >> (e - 6)) & 63) as u32;
    64 + (e - 6) * 64 + sub
}

fn bucket_low(b: u32) -> u64 {
    if b < 64 {
        return u64::from(b);
    }
    let e = (b - 64) / 64 + 6;
    let sub = u64::from((b - 64) % 64);
    (64 + sub) << (e - 6)
}

impl Drift {
    pub fn record(&mut self, us: i64) {
        self.count += 1;
        if us < 0 {
            self.negative += 1;
        }
        self.min_us = Some(self.min_us.map_or(us, |m| m.min(us)));
        self.max_us = Some(self.max_us.map_or(us, |m| m.max(us)));
        self.ewma_us =
            if self.count == 1 { us as f64 } else { self.ewma_us + (us as f64 - self.ewma_us) / 1024.0 };
        *self.buckets.entry(bucket_of(us.max(0) as u64)).or_insert(0) += 1;
    }

    /// The `q` quantile (0..=1), as its bucket's lower bound (exact below 64 µs).
    pub fn quantile(&self, q: f64) -> Option<i64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (&b, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(bucket_low(b) as i64);
            }
        }
        self.max_us
    }
}

/// A derived row for the sink: a top-N sample (`kind == "book"`) or a gap event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SinkRow {
    pub kind: &'static str,
    /// Sample bucket start (book rows) or the gap's exchange time, ms.
    pub ts_ms: i64,
    pub events: u64,
    pub stale: bool,
    pub bids: Vec<(String, String)>,
    pub asks: Vec<(String, String)>,
    pub gap: Option<Gap>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_close() {
        let mut prev = 0;
        for v in [0u64, 1, 63, 64, 65, 127, 128, 1000, 123_456, 9_999_999] {
            let b = bucket_of(v);
            assert!(b >= prev);
            prev = b;
            let low = bucket_low(b);
            assert!(low <= v && (v - low) as f64 <= v as f64 * 0.016 + 1.0, "{v} -> {low}");
        }
    }

    #[test]
    fn quantiles() {
        let mut d = Drift::default();
        for v in 1..=100 {
            d.record(v);
        }
        d.record(-5);
        assert_eq!(d.negative, 1);
        assert_eq!(d.min_us, Some(-5));
        assert_eq!(d.max_us, Some(100));
        assert_eq!(d.quantile(0.5), Some(50));
        assert!(d.quantile(0.99).is_some_and(|v| (96..=100).contains(&v)));
    }
}
