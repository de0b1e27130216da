//! The locks of every handle and worker: `std::sync`'s, behind parking_lot's calling
//! conventions (no poisoning: a panic never reaches a user, and a lock's data stays
//! consistent at every unlock anyway).
//!
//! Why not parking_lot: its waiters queue in one process-wide hash table, each bucket
//! guarded by a word lock, and every new thread that first waits locks *all* buckets to
//! grow the table. A child forked while a parent thread held a bucket inherits it held,
//! by a thread it does not have: its first contended lock, condition wait or new waiting
//! thread then hangs for good (seen: a child's workers stuck in `grow_hashtable`, and a
//! child's close waiting on a condition variable for a notification lost in a queue
//! still listing its parent's parked threads). `std`'s locks are futexes on the lock's
//! own word, with no state shared between locks, so locks a child makes work there
//! whatever its parent's threads were doing. (Locks the child inherits are still never
//! used there: see [`crate::fork`].)

use std::sync::PoisonError;
use std::time::Instant;

/// A mutex (`lock` never fails).
#[derive(Debug, Default)]
pub struct Mutex<T: ?Sized>(std::sync::Mutex<T>);

/// Holds a [`Mutex`]; a [`Condvar`] releases and retakes it in place.
pub struct MutexGuard<'a, T: ?Sized>(Option<std::sync::MutexGuard<'a, T>>);

impl<T> Mutex<T> {
    pub const fn new(value: T) -> Mutex<T> {
        Mutex(std::sync::Mutex::new(value))
    }

    pub fn into_inner(self) -> T {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized> Mutex<T> {
    pub fn lock(&self) -> MutexGuard<'_, T> {
        MutexGuard(Some(self.0.lock().unwrap_or_else(PoisonError::into_inner)))
    }

    /// The lock if it is free now.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match self.0.try_lock() {
            Ok(g) => Some(MutexGuard(Some(g))),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(MutexGuard(Some(p.into_inner()))),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    pub fn get_mut(&mut self) -> &mut T {
        self.0.get_mut().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: ?Sized> std::ops::Deref for MutexGuard<'_, T> {
    type Target = T;
    // The guard is None only inside `Condvar::wait*`, which holds it `&mut` throughout, so
    // no deref can see None; there is no non-panicking form of `Deref` to use instead.
    #[allow(clippy::expect_used)]
    fn deref(&self) -> &T {
        self.0.as_ref().expect("a guard holds its lock outside a wait")
    }
}

impl<T: ?Sized> std::ops::DerefMut for MutexGuard<'_, T> {
    // As in `deref`: None only inside `Condvar::wait*`, which holds the guard `&mut`.
    #[allow(clippy::expect_used)]
    fn deref_mut(&mut self) -> &mut T {
        self.0.as_mut().expect("a guard holds its lock outside a wait")
    }
}

/// Whether a timed wait ended by its deadline.
#[derive(Debug, Clone, Copy)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

/// A condition variable.
#[derive(Debug, Default)]
pub struct Condvar(std::sync::Condvar);

impl Condvar {
    pub const fn new() -> Condvar {
        Condvar(std::sync::Condvar::new())
    }

    pub fn notify_one(&self) {
        self.0.notify_one();
    }

    pub fn notify_all(&self) {
        self.0.notify_all();
    }

    /// Releases `guard`'s lock until notified (or spuriously woken), then retakes it.
    pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        // A guard holds its lock outside a wait; were it not to, this returns as a spurious
        // wakeup (which every caller already handles).
        let Some(g) = guard.0.take() else { return };
        guard.0 = Some(self.0.wait(g).unwrap_or_else(PoisonError::into_inner));
    }

    /// As [`Condvar::wait`], up to `deadline`.
    pub fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, deadline: Instant) -> WaitTimeoutResult {
        let Some(g) = guard.0.take() else { return WaitTimeoutResult(false) };
        let left = deadline.saturating_duration_since(Instant::now());
        let (g, r) = self.0.wait_timeout(g, left).unwrap_or_else(PoisonError::into_inner);
        guard.0 = Some(g);
        WaitTimeoutResult(r.timed_out())
    }
}

/// A readers-writer lock.
#[derive(Debug, Default)]
pub struct RwLock<T: ?Sized>(std::sync::RwLock<T>);

impl<T> RwLock<T> {
    pub const fn new(value: T) -> RwLock<T> {
        RwLock(std::sync::RwLock::new(value))
    }
}

impl<T: ?Sized> RwLock<T> {
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, T> {
        self.0.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, T> {
        self.0.write().unwrap_or_else(PoisonError::into_inner)
    }
}
