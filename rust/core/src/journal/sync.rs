//! Durability: group commit and the background sync thread.
//!
//! Ordering rules:
//! - `sync_lock` is taken before `state`, never the other way round.
//! - The data sync runs without `state` held, so appends continue meanwhile; concurrent
//!   callers queue on `sync_lock` and usually find their entries already covered.
//! - A header written during a sync records the `durable_end` of the *previous* completed
//!   sync, never the one in flight: after a crash mid-sync the header never claims bytes
//!   that may not have reached the disk.
//! - A failed sync poisons the handle and is not retried: after a failed fsync the kernel
//!   may have dropped the dirty pages, so a retry could "succeed" over lost data.

use super::writer::Shared;
use crate::error::Result;
use crate::sys;
use parking_lot::{Condvar, Mutex};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

impl Shared {
    /// Makes everything appended so far durable. With `target = Some((epoch, end))`, returns
    /// at once if bytes up to `end` of that file generation are already durable.
    pub(crate) fn make_durable(&self, target: Option<(u64, usize)>) -> Result<()> {
        let _serial = self.sync_lock.lock();
        let (file, pos, epoch) = {
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
            if (st.header.durable_end as usize) < prev {
                st.write_header(prev);
            }
            let wp = st.write_pos;
            if let Err(e) = sys::msync(st.map.raw(), 0, wp, &self.path) {
                st.poison_with(&e);
                return Err(e);
            }
            (st.open_file(&self.path)?.clone(), wp, st.epoch)
        };
        let synced = sys::datasync(&file, &self.path);
        let mut st = self.state.lock();
        match synced {
            Ok(()) => {
                if st.epoch == epoch && pos > st.durable_end {
                    st.durable_end = pos;
                }
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
        let _serial = self.sync_lock.lock();
        let file = {
            let mut st = self.state.lock();
            st.check_writable(&self.path)?;
            if st.header.durable_end as usize >= st.durable_end {
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

/// The thread behind `sync="interval"`.
pub(crate) struct SyncThread {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl SyncThread {
    pub fn spawn(shared: Arc<Shared>, every: Duration) -> std::io::Result<SyncThread> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let flag = stop.clone();
        let handle = std::thread::Builder::new().name("pinnacle-sync".into()).spawn(move || loop {
            {
                let mut stopped = flag.0.lock();
                if !*stopped {
                    flag.1.wait_for(&mut stopped, every);
                }
                if *stopped {
                    return;
                }
            }
            // A failure poisons the handle (recorded in its state); the next write raises.
            if shared.make_durable(None).is_err() {
                return;
            }
        })?;
        Ok(SyncThread { stop, handle: Some(handle) })
    }

    pub fn stop(mut self) {
        *self.stop.0.lock() = true;
        self.stop.1.notify_all();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
