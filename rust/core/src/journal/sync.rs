//! Durability: group commit and the periodic sync of `sync="interval"`.
//!
//! Ordering rules:
//! - The sync gate is entered before `state` is locked, never the other way round.
//! - One sync (or seal, or compaction) holds the gate at a time. The data sync runs
//!   without `state` held, so appends continue meanwhile; callers waiting at the gate are
//!   all woken when a sync completes, those whose bytes it covered return at once, and
//!   one of the others leads the next sync (group commit).
//! - A leader syncing for an append first waits, at most a quarter of the last sync's
//!   duration (and at most 2 ms), until as many appenders are pending as the last grouped sync served (the
//!   commit delay of PostgreSQL and MySQL, bounded and self-tuning): without it the first
//!   thread back after a sync starts the next one alone and the rest wait a whole sync.
//!   A lone appender never waits (the last group was itself).
//! - A header written during a sync records the `durable_end` of the *previous* completed
//!   sync, never the one in flight: after a crash mid-sync the header never claims bytes
//!   that may not have reached the disk.
//! - A failed sync poisons the handle and is not retried: after a failed fsync the kernel
//!   may have dropped the dirty pages, so a retry could "succeed" over lost data.

use super::gate::{Durable, SyncGate};
use super::service::{self, Task, TaskId};
use super::state::State;
use crate::error::Result;
use crate::locks::Mutex;
use crate::options::JournalOptions;
use crate::sys;
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// What a journal handle, its periodic sync and its compaction share.
pub(crate) struct Shared {
    pub path: PathBuf,
    pub opts: JournalOptions,
    pub state: Mutex<State>,
    /// Admits one sync, seal or compaction at a time (see gate.rs); entered before `state`.
    pub gate: SyncGate,
}

/// Minimum time between two header rewrites by ordinary syncs (seals always rewrite it).
const HEADER_REFRESH: std::time::Duration = std::time::Duration::from_millis(100);

impl Shared {
    /// Makes everything appended so far durable. With `target = Some((epoch, end))`, returns
    /// as soon as bytes up to `end` of that file generation are durable, whoever synced them.
    pub(crate) fn make_durable(&self, target: Option<(u64, usize)>) -> Result<()> {
        let Some(gate) = self.gate.enter(target.map(|(epoch, end)| Durable { epoch, end })) else {
            return Ok(());
        };
        if target.is_some() {
            gate.gather();
        }
        let mut st = self.state.lock();
        st.check_writable(&self.path)?;
        if let Some((epoch, end)) = target {
            if st.epoch != epoch || st.durable_end >= end {
                return Ok(());
            }
        }
        if st.durable_end >= st.write_pos {
            return Ok(());
        }
        let prev = st.durable_end;
        // The header's durable mark only sharpens how recovery classifies damage, so it is
        // rewritten at most every HEADER_REFRESH: an extra write per sync would nearly
        // double the cost of sync="always".
        let header_dirty =
            (st.header.durable_end as usize) < prev && st.header_written.elapsed() >= HEADER_REFRESH;
        if header_dirty {
            st.write_header(prev);
        }
        let (pos, epoch, base) = (st.write_pos, st.epoch, st.map.base());
        let file = st.open_file(&self.path)?.clone();
        // The mapping must not move while msync runs on it: hold its read lock (a remap
        // takes it for writing) and let appends go on meanwhile.
        let publish = st.publish.clone();
        let mapped = publish.lock.read();
        drop(st);
        // SAFETY: `base` is the current mapping, which covers `pos` and cannot move or be
        // unmapped while `mapped` (its read lock) is held.
        let started = Instant::now();
        let synced = unsafe { sys::sync_range(&file, &self.path, base, header_dirty, prev, pos) };
        // A file deleted (or replaced by a rename) while open takes what was just synced
        // with it: durable in no file recovery will read. Fatal for the handle, like a
        // failed sync. One fstat per sync.
        let synced = synced.and_then(|()| sys::check_linked(&file, &self.path));
        let took = started.elapsed();
        drop(mapped);
        let mut st = self.state.lock();
        match synced {
            Ok(()) => {
                if st.epoch == epoch && pos > st.durable_end {
                    st.durable_end = pos;
                }
                gate.record_sync(Durable { epoch: st.epoch, end: st.durable_end }, took, target.is_some());
                Ok(())
            }
            Err(e) => {
                st.poison_with(&e);
                Err(e)
            }
        }
    }

    /// Makes everything durable and records it in the header, so that the next open treats
    /// any later damage in these bytes as corruption, not as a torn tail.
    pub(crate) fn seal(&self) -> Result<()> {
        self.make_durable(None)?;
        let _gate = self.gate.hold();
        let file = {
            let mut st = self.state.lock();
            st.check_writable(&self.path)?;
            // Also when the header claims *more* than survives (a cut below its mark).
            if st.header.durable_end as usize == st.durable_end {
                return Ok(());
            }
            let end = st.durable_end;
            st.write_header(end);
            if let Err(e) = sys::msync(st.map.raw(), 0, st.write_pos, &self.path) {
                st.poison_with(&e);
                return Err(e);
            }
            st.open_file(&self.path)?.clone()
        };
        sys::datasync(&file, &self.path).inspect_err(|e| self.state.lock().poison_with(e))
    }
}

/// The periodic sync behind `sync="interval"`: a task on the shared worker pool
/// (service.rs), syncing the journal every `every`, measured from the end of the last
/// sync. It holds the journal weakly, and stops for good after a failed sync (which
/// poisoned the handle: the next write raises).
pub(crate) struct IntervalSync {
    id: TaskId,
}

struct IntervalTask {
    shared: Weak<Shared>,
    every: Duration,
}

impl Task for IntervalTask {
    fn run(&self) -> Option<Duration> {
        let shared = self.shared.upgrade()?;
        shared.make_durable(None).ok()?;
        Some(self.every)
    }
}

impl IntervalSync {
    pub fn start(shared: &Arc<Shared>, every: Duration) -> std::io::Result<IntervalSync> {
        let task = Arc::new(IntervalTask { shared: Arc::downgrade(shared), every });
        Ok(IntervalSync { id: service::register(task, every)? })
    }

    /// Stops the syncs; when this returns, none is in progress or will start.
    pub fn stop(self) {
        service::cancel(self.id);
    }
}
