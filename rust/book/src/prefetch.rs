//! Loading ahead during replay: a journal batch says which ids the next ops look up, so
//! their index buckets and nodes are requested a few ops before they are needed (each is
//! otherwise a cache miss on a large book). Hints only: nothing here changes the book,
//! and a payload that does not decode is simply not prefetched (replay then refuses it).

use crate::book::OrderBook;
use crate::ops::{TAG_ADD, TAG_CANCEL, TAG_EXECUTE, TAG_MODIFY};
use crate::types::OrderId;
use crate::wire::Reader;
use pinnacle_core::Columns;

/// Ops ahead whose home bucket is requested.
const BUCKET_AHEAD: usize = 16;
/// Ops ahead whose node is requested (its bucket was requested `BUCKET_AHEAD - NODE_AHEAD`
/// ops earlier).
const NODE_AHEAD: usize = 8;

/// The id an encoded op looks up (every op but a market order names one, right after
/// its tag byte).
fn op_id(payload: &[u8]) -> Option<OrderId> {
    let (&tag, rest) = payload.split_first()?;
    if ![TAG_ADD, TAG_CANCEL, TAG_EXECUTE, TAG_MODIFY].contains(&tag) {
        return None;
    }
    Reader::new(rest).id().ok()
}

impl OrderBook {
    /// Before replaying entry `i` of the `n` rows of `cols`: requests the bucket of entry
    /// `i + BUCKET_AHEAD` and the node of entry `i + NODE_AHEAD`.
    pub(crate) fn prefetch_ahead(&self, cols: &Columns, i: usize, n: usize) {
        if i + BUCKET_AHEAD < n {
            if let Some(id) = op_id(cols.payload(i + BUCKET_AHEAD)) {
                self.index.prefetch(&id);
            }
        }
        if i + NODE_AHEAD < n {
            if let Some(id) = op_id(cols.payload(i + NODE_AHEAD)) {
                self.index.prefetch_node(&self.slab, &id);
            }
        }
    }
}
