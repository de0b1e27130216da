//! The pool's worker threads are made with `pthread_create`, not `std::thread`.
//!
//! In a Rust program (a binary whose `main` std set up, not a Python extension), std's
//! thread start and exit each take one process-wide mutex (its stack-overflow records).
//! A child forked while any std thread of its parent was starting or exiting inherits
//! that mutex held by a thread it does not have, and every std thread it starts then
//! waits for it forever before running a line (seen: a child's workers stuck there and
//! its journal's close waiting for them). glibc's own thread creation is fork-safe, so
//! workers made directly never wait for a parent's thread. Nothing here takes a lock.

use std::ffi::{c_void, CStr};
use std::io;
use std::panic::AssertUnwindSafe;

/// Stack of a worker (std's default for spawned threads).
const STACK_SIZE: usize = 2 << 20;

type Body = Box<dyn FnOnce() + Send + 'static>;

/// A running thread; dropped without [`Thread::join`], it is detached.
pub(crate) struct Thread(Option<libc::pthread_t>);

impl Thread {
    /// Starts `body` on a new thread named `name` (15 bytes at most, for Linux).
    pub fn spawn(name: &CStr, body: Body) -> io::Result<Thread> {
        extern "C" fn start(arg: *mut c_void) -> *mut c_void {
            // SAFETY: `arg` is the Box leaked by `spawn` for this thread alone.
            let body = unsafe { Box::from_raw(arg.cast::<Body>()) };
            // Unwinding must not cross this C frame; the body's callers catch their
            // tasks' panics, so there is nothing left to report.
            let _ = std::panic::catch_unwind(AssertUnwindSafe(body));
            std::ptr::null_mut()
        }
        let arg = Box::into_raw(Box::new(body)).cast::<c_void>();
        // SAFETY: an integer or a pointer, set by pthread_create before use.
        let mut id: libc::pthread_t = unsafe { std::mem::zeroed() };
        // SAFETY: the attribute object is initialised before use and destroyed after;
        // `start` takes ownership of `arg` only if the thread is created.
        let rc = unsafe {
            let mut attr: libc::pthread_attr_t = std::mem::zeroed();
            libc::pthread_attr_init(&mut attr);
            libc::pthread_attr_setstacksize(&mut attr, STACK_SIZE);
            let rc = libc::pthread_create(&mut id, &attr, start, arg);
            libc::pthread_attr_destroy(&mut attr);
            rc
        };
        if rc != 0 {
            // SAFETY: no thread took `arg`.
            drop(unsafe { Box::from_raw(arg.cast::<Body>()) });
            return Err(io::Error::from_raw_os_error(rc));
        }
        // SAFETY: `id` is a live thread of ours. A name is cosmetic: failure is ignored.
        #[cfg(target_os = "linux")]
        unsafe {
            libc::pthread_setname_np(id, name.as_ptr())
        };
        #[cfg(not(target_os = "linux"))]
        let _ = name;
        Ok(Thread(Some(id)))
    }

    /// Waits for the thread to end.
    pub fn join(mut self) {
        if let Some(id) = self.0.take() {
            // SAFETY: joined once (taken), never detached.
            unsafe { libc::pthread_join(id, std::ptr::null_mut()) };
        }
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        if let Some(id) = self.0.take() {
            // SAFETY: neither joined nor detached before.
            unsafe { libc::pthread_detach(id) };
        }
    }
}
