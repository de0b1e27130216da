//! A sparse sequence-number index: the offset of every `STRIDE`-th entry, so a read from
//! any sequence number walks at most `STRIDE - 1` entries.

pub(crate) const STRIDE: u64 = 256;

#[derive(Debug, Default, Clone)]
pub(crate) struct SeqIndex {
    /// (seq, offset), both strictly increasing.
    points: Vec<(u64, usize)>,
    counted: u64,
}

impl SeqIndex {
    #[inline]
    pub fn note(&mut self, seq: u64, offset: usize) {
        if self.counted % STRIDE == 0 {
            self.points.push((seq, offset));
        }
        self.counted += 1;
    }

    /// The offset of an indexed entry at or before `seq`, with its seq (None when `seq`
    /// precedes every entry).
    pub fn floor(&self, seq: u64) -> Option<(u64, usize)> {
        let i = self.points.partition_point(|&(s, _)| s <= seq);
        if i == 0 {
            None
        } else {
            Some(self.points[i - 1])
        }
    }
}
