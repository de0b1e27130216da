//! The sync gate: admits one sync, seal or compaction at a time, and holds what completed
//! syncs made durable (the ordering rules are in sync.rs). A leaf of the journal: it knows
//! nothing of the journal it guards.

use crate::locks::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// What completed syncs made durable, as the gate's waiters see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Durable {
    pub epoch: u64,
    pub end: usize,
}

/// True when `durable` covers an append ending at `target` (a compaction since then made
/// every earlier byte durable in the new file).
fn covers(durable: Durable, target: Durable) -> bool {
    durable.epoch != target.epoch || durable.end >= target.end
}

struct GateState {
    busy: bool,
    durable: Durable,
    /// The end of every append whose caller is waiting at the gate for it to be durable.
    pending: Vec<Durable>,
    /// Appenders the last grouped sync served, counting those that arrived during it.
    group: usize,
    /// How long the last sync took.
    last_sync: Duration,
}

impl GateState {
    fn uncovered(&self) -> usize {
        self.pending.iter().filter(|t| !covers(self.durable, **t)).count()
    }
}

/// Admits one sync, seal or compaction at a time.
pub(crate) struct SyncGate {
    state: Mutex<GateState>,
    done: Condvar,
    /// Signalled when an appender starts waiting (a gathering leader counts them).
    arrived: Condvar,
}

/// Holding the gate; dropping it wakes every waiter.
pub(crate) struct GateGuard<'a> {
    gate: &'a SyncGate,
}

impl SyncGate {
    pub fn new(durable: Durable) -> SyncGate {
        let state =
            GateState { busy: false, durable, pending: Vec::new(), group: 1, last_sync: Duration::ZERO };
        SyncGate { state: Mutex::new(state), done: Condvar::new(), arrived: Condvar::new() }
    }

    /// Waits for the gate; None if, meanwhile, completed syncs made `target` (the end of
    /// the caller's append) durable, so the caller has nothing left to do. `target: None`
    /// asks for the gate whatever is durable.
    pub fn enter(&self, target: Option<Durable>) -> Option<GateGuard<'_>> {
        let mut g = self.state.lock();
        if let Some(t) = target {
            g.pending.push(t);
            self.arrived.notify_one();
        }
        let entered = loop {
            if target.is_some_and(|t| covers(g.durable, t)) {
                break None;
            }
            if !g.busy {
                g.busy = true;
                break Some(GateGuard { gate: self });
            }
            self.done.wait(&mut g);
        };
        if let Some(i) = target.and_then(|t| g.pending.iter().position(|p| *p == t)) {
            g.pending.swap_remove(i);
        }
        entered
    }

    /// Waits for the gate unconditionally.
    pub fn hold(&self) -> GateGuard<'_> {
        let mut g = self.state.lock();
        while g.busy {
            self.done.wait(&mut g);
        }
        g.busy = true;
        GateGuard { gate: self }
    }
}

impl GateGuard<'_> {
    /// Publishes what is now durable (call before dropping the guard).
    pub fn record(&self, durable: Durable) {
        self.gate.state.lock().durable = durable;
    }

    /// As `record`, after a sync that took `took`; `grouped`: it was led for an append, so
    /// the appenders waiting now (served by it, or arrived during it) size the next group.
    pub fn record_sync(&self, durable: Durable, took: Duration, grouped: bool) {
        let mut g = self.gate.state.lock();
        if grouped {
            g.group = 1 + g.uncovered();
        }
        g.last_sync = took;
        g.durable = durable;
    }

    /// The commit delay (see the module's ordering rules): waits until the leader and the
    /// pending appenders are as many as the last group, or a quarter of the last sync's
    /// duration has passed.
    pub fn gather(&self) {
        let mut g = self.gate.state.lock();
        let deadline = Instant::now() + (g.last_sync / 4).min(MAX_COMMIT_DELAY);
        while 1 + g.uncovered() < g.group {
            if self.gate.arrived.wait_until(&mut g, deadline).timed_out() {
                break;
            }
        }
    }
}

impl Drop for GateGuard<'_> {
    fn drop(&mut self) {
        self.gate.state.lock().busy = false;
        self.gate.done.notify_all();
    }
}

/// Upper bound of the commit delay, whatever one slow sync took.
const MAX_COMMIT_DELAY: Duration = Duration::from_millis(2);
