//! The Binance diff-depth half of the apply loop (continuity rules: see `Engine`).

use super::Engine;
use crate::binance::{self, Message};
use crate::book::Side;
use crate::input::Position;
use crate::Error;

impl Engine {
    pub(super) fn step_binance(&mut self) -> Result<bool, Error> {
        let mut line = std::mem::take(&mut self.line);
        let result = self.binance_line(&mut line);
        self.line = line;
        result
    }

    fn binance_line(&mut self, line: &mut Vec<u8>) -> Result<bool, Error> {
        let at = loop {
            match self.inputs.next_line(line)? {
                None => return Ok(false),
                Some(_) if line.iter().all(u8::is_ascii_whitespace) => continue,
                Some(at) => break at,
            }
        };
        let located = |e: Error, me: &Self| e.at(&me.path_of(at.file_index), at.offset);
        let msg = match binance::parse(line) {
            Ok(m) => m,
            Err(e) => return Err(located(e, self)),
        };
        if let Err(e) = self.binance_apply(msg, at) {
            return Err(located(e, self));
        }
        Ok(true)
    }

    fn binance_apply(&mut self, msg: Message<'_>, at: Position) -> Result<(), Error> {
        match msg {
            Message::Snapshot { last_update_id, local_ms, bids, asks } => {
                self.book.clear();
                self.apply_levels(Side::Bid, &bids)?;
                self.apply_levels(Side::Ask, &asks)?;
                self.st.snapshots += 1;
                self.st.stale = false;
                self.st.awaiting_snapshot = Some(last_update_id);
                self.st.prev_u = None;
                self.st.last_update_id = Some(last_update_id);
                if let Some(l) = local_ms {
                    self.st.last_local_us = Some(l.saturating_mul(1000));
                }
                self.st.events_processed += 1;
            }
            Message::Update { symbol, first, last, prev, event_ms, local_ms, bids, asks } => {
                if let Some(s) = symbol {
                    if s != self.symbol {
                        return Err(Error::Data(format!(
                            "update for symbol {s:?}, expected {:?}",
                            self.symbol
                        )));
                    }
                }
                let local_us = local_ms.map(|l| l.saturating_mul(1000));
                self.st.events_processed += 1;
                if let Some(id) = self.st.awaiting_snapshot {
                    // Binance: futures drop u < lastUpdateId and need U <= id <= u; spot
                    // drop u <= lastUpdateId and need U <= id + 1 <= u.
                    let futures = prev.is_some();
                    let target = if futures { id } else { id + 1 };
                    if last < target {
                        self.st.dropped_before_snapshot += 1;
                        return Ok(());
                    }
                    if first > target {
                        self.gap("snapshot", at, target, first, event_ms, local_us);
                    }
                    self.st.awaiting_snapshot = None;
                } else if let Some(p) = self.st.prev_u {
                    match prev {
                        Some(pu) if pu != p => self.gap("sequence", at, p, pu, event_ms, local_us),
                        None if first != p + 1 => self.gap("sequence", at, p + 1, first, event_ms, local_us),
                        _ => {}
                    }
                }
                self.apply_levels(Side::Bid, &bids)?;
                self.apply_levels(Side::Ask, &asks)?;
                self.st.prev_u = Some(last);
                self.st.last_update_id = Some(last);
                if let Some(l) = local_us {
                    self.st.last_local_us = Some(l);
                }
                if let Some(e) = event_ms {
                    self.st.last_exchange_ms = Some(e);
                    if let Some(l) = local_us {
                        self.st.drift.record(l - e.saturating_mul(1000));
                    }
                    self.sample(e);
                }
            }
        }
        Ok(())
    }
}
