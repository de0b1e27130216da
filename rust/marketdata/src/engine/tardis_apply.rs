//! The tardis.dev incremental_book_L2 half of the apply loop.

use super::Engine;
use crate::tardis;
use crate::Error;

impl Engine {
    pub(super) fn step_tardis(&mut self) -> Result<bool, Error> {
        let mut line = std::mem::take(&mut self.line);
        let result = self.tardis_message(&mut line);
        self.line = line;
        result
    }

    /// Applies every row of the next message; the first row of the message after it is
    /// left in `pending` (a message never spans files).
    fn tardis_message(&mut self, line: &mut Vec<u8>) -> Result<bool, Error> {
        let mut head: Option<(i64, i64, usize)> = None; // (local, exchange, file index)
        loop {
            let at = if let Some(p) = self.pending.take() {
                std::mem::swap(line, &mut self.pending_line);
                p
            } else {
                match self.inputs.next_line(line)? {
                    Some(p) => p,
                    None => break,
                }
            };
            if line.is_empty() || (at.offset == 0 && line.starts_with(tardis::HEADER_PREFIX)) {
                continue;
            }
            let row = match tardis::parse(line) {
                Ok(r) => r,
                Err(e) => return Err(e.at(&self.path_of(at.file_index), at.offset)),
            };
            if let Some((local, _, file)) = head {
                if row.local_us != local || at.file_index != file {
                    self.pending = Some(at);
                    std::mem::swap(line, &mut self.pending_line);
                    break;
                }
            } else {
                head = Some((row.local_us, row.timestamp_us, at.file_index));
            }
            if row.symbol != self.symbol {
                return Err(Error::Parse {
                    path: self.path_of(at.file_index),
                    offset: at.offset,
                    reason: format!("row for symbol {:?}, expected {:?}", row.symbol, self.symbol),
                });
            }
            if row.is_snapshot {
                if !self.st.in_snapshot_run {
                    self.book.clear();
                    self.st.in_snapshot_run = true;
                    self.st.snapshots += 1;
                    self.st.stale = false;
                }
            } else {
                self.st.in_snapshot_run = false;
            }
            if let Err(e) = self.book.set_text(row.side, row.price, row.amount) {
                return Err(e.at(&self.path_of(at.file_index), at.offset));
            }
        }
        let Some((local, exchange, _)) = head else {
            return Ok(false);
        };
        self.st.events_processed += 1;
        self.st.last_local_us = Some(local);
        let exchange_ms = exchange.div_euclid(1000);
        self.st.last_exchange_ms = Some(exchange_ms);
        self.st.drift.record(local - exchange);
        self.sample(exchange_ms);
        Ok(true)
    }
}
