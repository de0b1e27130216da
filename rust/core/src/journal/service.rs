//! The process's background workers for journals. Interval syncs (sync.rs) and
//! prefaulting with truncation watching (prefault.rs) run as tasks on one small pool of
//! threads shared by every journal, instead of on threads of their own: 1,000 open
//! journals cost at most [`MAX_WORKERS`] threads, not 2,000.
//!
//! Ordering rules:
//! - A task runs on one worker at a time; a round is never interrupted. A round may block
//!   (an interval sync waits while a compaction of its journal holds the sync gate): the
//!   other workers go on, so only that journal waits unless [`MAX_WORKERS`] rounds block
//!   at once.
//! - [`cancel`] marks the task cancelled and waits for its round in progress to end, so
//!   once it returns the task never runs again (a journal's close relies on this before
//!   releasing the file). A task must therefore never call [`cancel`] (nor close a
//!   journal) itself.
//! - The pool's mutex is held only to pick, reschedule or cancel tasks, never while a
//!   task runs, and no task takes it while holding a journal lock other than through
//!   [`wake`] (which takes nothing else), so there is no lock-order cycle.
//! - Workers are started when tasks are registered (never from [`wake`], which appenders
//!   call), up to one per registered task and at most [`MAX_WORKERS`]. When the last task
//!   is cancelled (the process's last journal closed), the workers exit and [`cancel`]
//!   joins them: with no journal open the process has no pinnacle thread.
//! - Workers are made with `pthread_create` (thread.rs) and the pool's locks are `std`'s
//!   (crate::locks), so a child's pool works whatever its parent's threads were doing at
//!   the fork: neither has process-wide state a parent's thread could hold.
//! - A forked child has none of its parent's workers, and the parent's condition
//!   variables may list them as waiters (a notification could go to a thread that does
//!   not exist, or hand it the mutex for good). So a child never touches its
//!   parent's pool: [`wake`] and [`cancel`] of a task registered before the fork do
//!   nothing, and the child's first registration starts a pool of its own (the parent's
//!   tasks are not the child's to run).

use super::thread::Thread;
use crate::locks::{Condvar, Mutex};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most worker threads the pool runs (for every journal of the process together).
pub(crate) const MAX_WORKERS: usize = 4;

/// Timed rounds are due on a grid of this step (rounded up): rounds of many journals due
/// at about the same time then run in one wake-up of a worker, not one each (1,000
/// journals checked every 50 ms would otherwise wake the workers 20,000 times a second).
const TICK: Duration = Duration::from_millis(1);
/// Longest a round is put off (keeps the arithmetic far from overflow).
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Background work of one journal.
pub(crate) trait Task: Send + Sync {
    /// Does one round of work; returns how long until the next round, or None when the
    /// task is finished for good (it is then forgotten).
    fn run(&self) -> Option<Duration>;
}

/// Identifies a registered task (for [`wake`] and [`cancel`]), with the pool it is in.
#[derive(Clone, Copy)]
pub(crate) struct TaskId {
    pool: &'static Pool,
    id: u64,
}

struct Slot {
    task: Arc<dyn Task>,
    /// Bumped on every reschedule: queue entries of older generations are stale.
    generation: u64,
    running: bool,
    /// Woken while running: the next round is due at once.
    woken: bool,
    cancelled: bool,
}

struct Tasks {
    /// Origin of the [`TICK`] grid.
    epoch: Instant,
    slots: HashMap<u64, Slot>,
    /// (due, task, generation), earliest first.
    queue: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    next_id: u64,
    workers: usize,
    /// Of every worker started since the pool last had none.
    handles: Vec<Thread>,
}

/// One process's pool. Created on first use in a process and never freed (a worker may
/// still be on its way out; a forked child's copy of its parent's pool is abandoned).
struct Pool {
    pid: u32,
    tasks: Mutex<Tasks>,
    /// Signalled when a round becomes due earlier than the workers planned.
    work: Condvar,
    /// Signalled when a round ends (for [`cancel`]).
    finished: Condvar,
}

/// This process's pool, if it made one.
/// An atomic, not a lock: a child forked while another thread was making the pool must
/// not inherit a lock held by a thread it does not have (its first journal would hang).
static CURRENT: AtomicPtr<Pool> = AtomicPtr::new(std::ptr::null_mut());

impl Tasks {
    /// Schedules a timed round `after` from now, on the grid.
    fn schedule_in(&mut self, id: u64, after: Duration) {
        let since = (Instant::now() + after.min(MAX_WAIT)).saturating_duration_since(self.epoch);
        let tick = TICK.as_nanos() as u64;
        let ticks = (since.as_nanos() as u64).div_ceil(tick);
        self.schedule(id, self.epoch + Duration::from_nanos(ticks * tick));
    }

    fn schedule(&mut self, id: u64, due: Instant) {
        if let Some(slot) = self.slots.get_mut(&id) {
            slot.generation += 1;
            self.queue.push(Reverse((due, id, slot.generation)));
        }
    }
}

impl Pool {
    /// The pool of this process, made on first use (a forked parent's is left alone).
    fn current() -> &'static Pool {
        let pid = std::process::id();
        let seen = CURRENT.load(Ordering::Acquire);
        // SAFETY: a non-null CURRENT points to a leaked, never freed Pool.
        if let Some(pool) = unsafe { seen.as_ref() }.filter(|p| p.pid == pid) {
            return pool;
        }
        let tasks = Tasks {
            epoch: Instant::now(),
            slots: HashMap::new(),
            queue: BinaryHeap::new(),
            next_id: 0,
            workers: 0,
            handles: Vec::new(),
        };
        let mine: &'static Pool = Box::leak(Box::new(Pool {
            pid,
            tasks: Mutex::new(tasks),
            work: Condvar::new(),
            finished: Condvar::new(),
        }));
        let mine_ptr = std::ptr::from_ref::<Pool>(mine).cast_mut();
        match CURRENT.compare_exchange(seen, mine_ptr, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => mine,
            // Another thread of this process installed its pool first: use that one (ours,
            // never used, has no worker and stays leaked, a few hundred bytes).
            // SAFETY: as above.
            Err(theirs) => match unsafe { theirs.as_ref() } {
                Some(p) if p.pid == pid => p,
                _ => Self::current(),
            },
        }
    }

    /// False in a forked child for its parent's pool.
    fn here(&self) -> bool {
        self.pid == std::process::id()
    }
}

/// Registers `task`, first run after `first_in`. Fails only if no worker can be started
/// while the pool has none.
pub(crate) fn register(task: Arc<dyn Task>, first_in: Duration) -> std::io::Result<TaskId> {
    let pool = Pool::current();
    let mut t = pool.tasks.lock();
    if t.workers < MAX_WORKERS.min(t.slots.len() + 1) {
        let spawned = Thread::spawn(c"pinnacle-worker", Box::new(move || work(pool)));
        match spawned {
            Ok(handle) => {
                t.workers += 1;
                t.handles.push(handle);
            }
            Err(e) if t.workers == 0 => return Err(e),
            Err(_) => {}
        }
    }
    t.next_id += 1;
    let id = t.next_id;
    t.slots.insert(id, Slot { task, generation: 0, running: false, woken: false, cancelled: false });
    t.schedule_in(id, first_in);
    pool.work.notify_one();
    Ok(TaskId { pool, id })
}

/// Makes the task's next round due now (cheap; never starts a thread).
pub(crate) fn wake(task: TaskId) {
    let pool = task.pool;
    if !pool.here() {
        return;
    }
    let mut t = pool.tasks.lock();
    match t.slots.get_mut(&task.id) {
        Some(slot) if slot.running => slot.woken = true,
        Some(_) => {
            t.schedule(task.id, Instant::now());
            pool.work.notify_one();
        }
        None => {}
    }
}

/// Forgets the task, after waiting for its round in progress (if any) to end.
pub(crate) fn cancel(task: TaskId) {
    let pool = task.pool;
    if !pool.here() {
        return; // a forked parent's task: its rounds in progress never end here
    }
    let mut t = pool.tasks.lock();
    while let Some(slot) = t.slots.get_mut(&task.id) {
        if !slot.running {
            t.slots.remove(&task.id);
            break;
        }
        slot.cancelled = true;
        pool.finished.wait(&mut t);
    }
    // The last task gone: wait for the workers to exit (see the module's rules).
    if t.slots.is_empty() {
        pool.work.notify_all();
        while t.workers > 0 && t.slots.is_empty() {
            pool.finished.wait(&mut t);
        }
        if t.workers == 0 {
            // Every worker has left its loop: the joins are prompt.
            let exited = std::mem::take(&mut t.handles);
            drop(t);
            for h in exited {
                h.join();
            }
        }
    }
}

/// A worker: runs due rounds, earliest first, one at a time.
fn work(pool: &'static Pool) {
    let mut t = pool.tasks.lock();
    loop {
        let now = Instant::now();
        let next = match t.queue.peek() {
            None => None,
            Some(Reverse((due, id, generation))) => {
                let live = t.slots.get(id).is_some_and(|s| s.generation == *generation && !s.running);
                if !live {
                    t.queue.pop();
                    continue;
                }
                Some((*due, *id))
            }
        };
        let id = match next {
            None if t.slots.is_empty() => {
                t.workers -= 1;
                pool.finished.notify_all();
                return;
            }
            None => {
                pool.work.wait(&mut t);
                continue;
            }
            Some((due, _)) if due > now => {
                pool.work.wait_until(&mut t, due);
                continue;
            }
            Some((_, id)) => id,
        };
        t.queue.pop();
        let Some(slot) = t.slots.get_mut(&id) else { continue };
        slot.running = true;
        slot.woken = false;
        let task = slot.task.clone();
        if t.queue.peek().is_some_and(|Reverse((due, _, _))| *due <= now) {
            // Another round is due as well: let an idle worker take it.
            pool.work.notify_one();
        }
        drop(t);
        // A panicking round (a bug) ends its task rather than the worker, whose exit
        // the pool's bookkeeping would not see.
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.run())).unwrap_or(None);
        drop(task);
        t = pool.tasks.lock();
        pool.finished.notify_all();
        let Some(slot) = t.slots.get_mut(&id) else { continue };
        slot.running = false;
        match again {
            Some(_) if slot.cancelled => {
                t.slots.remove(&id);
            }
            Some(_) if slot.woken => t.schedule(id, Instant::now()),
            Some(after) => t.schedule_in(id, after),
            None => {
                t.slots.remove(&id);
            }
        }
    }
}
