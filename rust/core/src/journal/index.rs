//! A sparse sequence-number index: the offset of every `STRIDE`-th entry, so a read from
//! any sequence number walks at most `STRIDE - 1` entries.

pub(crate) const STRIDE: u64 = 256;

#[derive(Debug, Default, Clone)]
pub(crate) struct SeqIndex {
    /// (seq, offset, ordinal): strictly increasing; `ordinal` is the entry's position in
    /// the file (0 for the first entry held).
    points: Vec<(u64, usize, u64)>,
    counted: u64,
}

/// An indexed entry: its seq, offset and ordinal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    pub seq: u64,
    pub offset: usize,
    pub ordinal: u64,
}

impl SeqIndex {
    #[inline]
    pub fn note(&mut self, seq: u64, offset: usize) {
        if self.counted % STRIDE == 0 {
            self.points.push((seq, offset, self.counted));
        }
        self.counted += 1;
    }

    /// The indexed entry at or before `seq` (None when `seq` precedes every point).
    pub fn floor(&self, seq: u64) -> Option<Point> {
        let i = self.points.partition_point(|&(s, _, _)| s <= seq);
        let &(seq, offset, ordinal) = self.points.get(i.checked_sub(1)?)?;
        Some(Point { seq, offset, ordinal })
    }

    /// After compaction dropped the `dropped` entries before offset `cut` and moved the
    /// rest `cut - new_start` bytes towards the start of the file.
    pub fn rebase(&mut self, cut: usize, new_start: usize, dropped: u64) {
        self.points.retain(|&(_, off, _)| off >= cut);
        for p in &mut self.points {
            p.1 = p.1 - cut + new_start;
            p.2 -= dropped;
        }
        self.counted -= dropped;
    }
}
