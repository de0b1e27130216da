//! The L2 book: price -> size per side, exact. Prices and sizes are integers at the
//! book's price and size scales; a text with more fractional digits than the current
//! scale rescales the side maps first (rare: exchanges print a fixed precision).

use crate::decimal::{self, Scaled};
use crate::Error;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Bid,
    Ask,
}

/// Invariant: every stored size is > 0 (a zero amount deletes the level).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct L2Book {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    price_scale: u32,
    size_scale: u32,
}

fn rescale_keys(map: &mut BTreeMap<i64, i64>, from: u32, to: u32) -> Result<(), Error> {
    let mut out = BTreeMap::new();
    for (&k, &v) in map.iter() {
        let k = decimal::rescale(k, from, to)
            .ok_or_else(|| Error::Data("price overflows after rescale".into()))?;
        out.insert(k, v);
    }
    *map = out;
    Ok(())
}

fn rescale_values(map: &mut BTreeMap<i64, i64>, from: u32, to: u32) -> Result<(), Error> {
    for v in map.values_mut() {
        *v = decimal::rescale(*v, from, to)
            .ok_or_else(|| Error::Data("size overflows after rescale".into()))?;
    }
    Ok(())
}

impl L2Book {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    fn price_units(&mut self, p: Scaled) -> Result<i64, Error> {
        if p.scale > self.price_scale {
            rescale_keys(&mut self.bids, self.price_scale, p.scale)?;
            rescale_keys(&mut self.asks, self.price_scale, p.scale)?;
            self.price_scale = p.scale;
        }
        decimal::rescale(p.units, p.scale, self.price_scale)
            .ok_or_else(|| Error::Data("price overflows".into()))
    }

    fn size_units(&mut self, q: Scaled) -> Result<i64, Error> {
        if q.scale > self.size_scale {
            rescale_values(&mut self.bids, self.size_scale, q.scale)?;
            rescale_values(&mut self.asks, self.size_scale, q.scale)?;
            self.size_scale = q.scale;
        }
        decimal::rescale(q.units, q.scale, self.size_scale)
            .ok_or_else(|| Error::Data("size overflows".into()))
    }

    /// Sets the absolute size of a level from its texts; size 0 deletes it.
    pub fn set_text(&mut self, side: Side, price: &str, size: &str) -> Result<(), Error> {
        let p = decimal::parse_at(price, "price")?;
        let q = decimal::parse_at(size, "size")?;
        let p = self.price_units(p)?;
        let q = self.size_units(q)?;
        let map = match side {
            Side::Bid => &mut self.bids,
            Side::Ask => &mut self.asks,
        };
        if q == 0 {
            map.remove(&p);
        } else {
            map.insert(p, q);
        }
        Ok(())
    }

    pub fn len(&self, side: Side) -> usize {
        match side {
            Side::Bid => self.bids.len(),
            Side::Ask => self.asks.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    /// Best `n` levels as canonical texts: bids by descending price, asks ascending.
    pub fn top(&self, side: Side, n: usize) -> Vec<(String, String)> {
        let fmt = |(&p, &q): (&i64, &i64)| {
            (decimal::format(p, self.price_scale), decimal::format(q, self.size_scale))
        };
        match side {
            Side::Bid => self.bids.iter().rev().take(n).map(fmt).collect(),
            Side::Ask => self.asks.iter().take(n).map(fmt).collect(),
        }
    }

    /// CRC-32 of every level's canonical text, bids descending then asks ascending, so
    /// equal books have equal checksums whatever the scales they were built at.
    pub fn checksum(&self) -> u32 {
        let mut h = crc32fast::Hasher::new();
        for (tag, side) in [(b'b', Side::Bid), (b'a', Side::Ask)] {
            for (p, q) in self.top(side, usize::MAX) {
                h.update(&[tag]);
                h.update(p.as_bytes());
                h.update(b":");
                h.update(q.as_bytes());
                h.update(b";");
            }
        }
        h.finalize()
    }
}
