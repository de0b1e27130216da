//! The process's background workers for journals. Interval syncs (sync.rs) and
//! prefaulting with truncation watching (prefault.rs) run as tasks on one small pool of
//! threads shared by every journal, instead of on threads of their own: 1,000 open
//! journals cost at most [`MAX_WORKERS`] threads, not 2,000.
//!
//! Ordering rules:
//! - A task runs on one worker at a time; a round is never interrupted. [`cancel`] marks
//!   the task cancelled and waits for its round in progress to end, so once it returns
//!   the task never runs again (a journal's close relies on this before releasing the
//!   file). A task must therefore never call [`cancel`] (nor close a journal) itself.
//! - The pool's mutex is held only to pick, reschedule or cancel tasks, never while a
//!   task runs, and no task takes it while holding a journal lock other than through
//!   [`wake`] (which takes nothing else), so there is no lock-order cycle.
//! - Workers are started when tasks are registered (never from [`wake`], which appenders
//!   call), up to one per registered task and at most [`MAX_WORKERS`]; they live as long
//!   as the process. A forked child has none of its parent's workers: the first
//!   registration in the child starts from an empty pool (the parent's tasks are not the
//!   child's to run).

use parking_lot::{Condvar, Mutex};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most worker threads the pool runs (for every journal of the process together).
pub(crate) const MAX_WORKERS: usize = 4;

/// Background work of one journal.
pub(crate) trait Task: Send + Sync {
    /// Does one round of work; returns how long until the next round, or None when the
    /// task is finished for good (it is then forgotten).
    fn run(&self) -> Option<Duration>;
}

/// Identifies a registered task (for [`wake`] and [`cancel`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TaskId(u64);

struct Slot {
    task: Arc<dyn Task>,
    /// Bumped on every reschedule: queue entries of older generations are stale.
    generation: u64,
    running: bool,
    /// Woken while running: the next round is due at once.
    woken: bool,
    cancelled: bool,
}

struct Pool {
    pid: u32,
    /// Origin of the [`TICK`] grid.
    epoch: Instant,
    tasks: HashMap<u64, Slot>,
    /// (due, task, generation), earliest first.
    queue: BinaryHeap<Reverse<(Instant, u64, u64)>>,
    next_id: u64,
    workers: usize,
}

/// Timed rounds are due on a grid of this step (rounded up): rounds of many journals due
/// at about the same time then run in one wake-up of a worker, not one each (1,000
/// journals checked every 50 ms would otherwise wake the workers 20,000 times a second).
const TICK: Duration = Duration::from_millis(1);
/// Longest a round is put off (keeps the arithmetic far from overflow).
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

impl Pool {
    fn new(pid: u32, next_id: u64) -> Pool {
        Pool {
            pid,
            epoch: Instant::now(),
            tasks: HashMap::new(),
            queue: BinaryHeap::new(),
            next_id,
            workers: 0,
        }
    }

    /// Schedules a timed round `after` from now, on the grid.
    fn schedule_in(&mut self, id: u64, after: Duration) {
        let since = (Instant::now() + after.min(MAX_WAIT)).saturating_duration_since(self.epoch);
        let tick = TICK.as_nanos() as u64;
        let ticks = (since.as_nanos() as u64).div_ceil(tick);
        self.schedule(id, self.epoch + Duration::from_nanos(ticks * tick));
    }

    fn schedule(&mut self, id: u64, due: Instant) {
        if let Some(slot) = self.tasks.get_mut(&id) {
            slot.generation += 1;
            self.queue.push(Reverse((due, id, slot.generation)));
        }
    }
}

static POOL: Mutex<Option<Pool>> = Mutex::new(None);
/// Signalled when a task becomes due earlier than the workers planned, or is added.
static WORK: Condvar = Condvar::new();
/// Signalled when a round ends (for [`cancel`]).
static FINISHED: Condvar = Condvar::new();

/// Registers `task`, first run after `first_in`. Fails only if no worker can be started
/// while the pool has none.
pub(crate) fn register(task: Arc<dyn Task>, first_in: Duration) -> std::io::Result<TaskId> {
    let mut guard = POOL.lock();
    let pid = std::process::id();
    let pool = guard.get_or_insert_with(|| Pool::new(pid, 0));
    if pool.pid != pid {
        // Ids stay unique across the reset: the child's inherited handles hold old ones.
        *pool = Pool::new(pid, pool.next_id);
    }
    if pool.workers < MAX_WORKERS.min(pool.tasks.len() + 1) {
        let spawned = std::thread::Builder::new().name("pinnacle-worker".into()).spawn(work);
        match spawned {
            Ok(_) => pool.workers += 1,
            Err(e) if pool.workers == 0 => return Err(e),
            Err(_) => {}
        }
    }
    pool.next_id += 1;
    let id = pool.next_id;
    pool.tasks.insert(id, Slot { task, generation: 0, running: false, woken: false, cancelled: false });
    pool.schedule_in(id, first_in);
    WORK.notify_one();
    Ok(TaskId(id))
}

/// Makes the task's next round due now (cheap; never starts a thread).
pub(crate) fn wake(id: TaskId) {
    let mut guard = POOL.lock();
    let Some(pool) = guard.as_mut() else { return };
    match pool.tasks.get_mut(&id.0) {
        Some(slot) if slot.running => slot.woken = true,
        Some(_) => {
            pool.schedule(id.0, Instant::now());
            WORK.notify_one();
        }
        None => {}
    }
}

/// Forgets the task, after waiting for its round in progress (if any) to end.
pub(crate) fn cancel(id: TaskId) {
    let mut guard = POOL.lock();
    loop {
        let Some(pool) = guard.as_mut() else { return };
        let Some(slot) = pool.tasks.get_mut(&id.0) else { return };
        if !slot.running {
            pool.tasks.remove(&id.0);
            return;
        }
        slot.cancelled = true;
        FINISHED.wait(&mut guard);
    }
}

/// A worker: runs due tasks, earliest first, one round at a time.
fn work() {
    let mut guard = POOL.lock();
    loop {
        let Some(pool) = guard.as_mut() else { return };
        let now = Instant::now();
        let next = match pool.queue.peek() {
            None => None,
            Some(Reverse((due, id, generation))) => {
                let live = pool.tasks.get(id).is_some_and(|s| s.generation == *generation && !s.running);
                if !live {
                    pool.queue.pop();
                    continue;
                }
                Some((*due, *id))
            }
        };
        let id = match next {
            None => {
                WORK.wait(&mut guard);
                continue;
            }
            Some((due, _)) if due > now => {
                WORK.wait_until(&mut guard, due);
                continue;
            }
            Some((_, id)) => id,
        };
        pool.queue.pop();
        let Some(slot) = pool.tasks.get_mut(&id) else { continue };
        slot.running = true;
        slot.woken = false;
        let task = slot.task.clone();
        if pool.queue.peek().is_some_and(|Reverse((due, _, _))| *due <= now) {
            // Another round is due as well: let an idle worker take it.
            WORK.notify_one();
        }
        drop(guard);
        let again = task.run();
        drop(task);
        guard = POOL.lock();
        FINISHED.notify_all();
        let Some(pool) = guard.as_mut() else { return };
        let Some(slot) = pool.tasks.get_mut(&id) else { continue };
        slot.running = false;
        match again {
            Some(_) if slot.cancelled => {
                pool.tasks.remove(&id);
            }
            Some(_) if slot.woken => pool.schedule(id, Instant::now()),
            Some(after) => pool.schedule_in(id, after),
            None => {
                pool.tasks.remove(&id);
            }
        }
    }
}
