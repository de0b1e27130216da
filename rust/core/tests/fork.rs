//! Handles do not cross a fork: a forked child is refused every use of an inherited
//! journal, releases nothing of the parent's, never hangs, and does not keep its lock.

use pinnacle_core::{Columns, Error, Journal, JournalOptions, SyncPolicy};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Forks; the child runs `body` and `_exit`s with its code (99 on a panic).
fn fork_child(body: impl FnOnce() -> i32) -> libc::pid_t {
    // SAFETY: the child only runs `body` and exits without unwinding into the harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(99);
        // SAFETY: ends the child without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    pid
}

/// The child's exit code; a child still running after 20 s is killed and fails the test.
fn wait(pid: libc::pid_t) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            assert!(libc::WIFEXITED(status), "child {pid} died of a signal: status {status}");
            return libc::WEXITSTATUS(status);
        }
        if Instant::now() > deadline {
            // SAFETY: kill our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("child {pid} hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The tests run one at a time: a child forked by one test holds copies of the other
/// tests' descriptors (and so their flocks) until its fork handler has closed them, which
/// can be a while on a busy machine, and these tests check when locks are released.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn forked_from(r: Result<impl Sized, Error>, parent: u32) -> bool {
    matches!(r, Err(Error::Forked { pid, .. }) if pid == parent)
}

#[test]
fn a_forked_child_is_refused_every_use_and_the_parent_keeps_exactly_its_data() {
    pinnacle_core::fork::install(); // before any thread of this test binary may fork
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.journal");
    let opts = JournalOptions { sync: SyncPolicy::Interval(Duration::from_millis(1)), ..Default::default() };
    let j = Arc::new(Journal::open(&p, opts).unwrap());
    let other = dir.path().join("other.journal");
    let parent = std::process::id();
    let mut written = 0u64;
    // Another thread keeps syncing and appending, so forks land while it holds the sync
    // gate and the state lock (a child waiting for either would hang forever).
    let stop = Arc::new(AtomicBool::new(false));
    let busy = {
        let (j, stop) = (j.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                j.append(2, b"thread", None).unwrap();
                j.flush().unwrap();
                n += 1;
            }
            n
        })
    };
    for round in 0..10 {
        j.append(1, format!("parent-{round}").as_bytes(), None).unwrap();
        written += 1;
        let owned = Journal::open(&other, JournalOptions::default()).unwrap();
        let pid = fork_child(|| {
            let checks = [
                forked_from(j.append(1, b"child", None), parent),
                forked_from(j.append_batch(1, &[b"a", b"b"], None), parent),
                forked_from(j.flush(), parent),
                forked_from(j.checkpoint(b"c"), parent),
                forked_from(j.last_checkpoint(), parent),
                forked_from(j.read_into(1, 10, &mut Columns::default()), parent),
                forked_from(j.read_all(1), parent),
                forked_from(j.compact(2), parent),
                forked_from(j.check_owner(), parent),
                j.close().is_ok(),
                forked_from(j.append(1, b"after close", None), parent),
            ];
            // Drop in the child (of its bitwise copy): must release nothing and not hang.
            // SAFETY: the child never touches `owned` again and exits without unwinding.
            drop(unsafe { std::ptr::read(&owned) });
            match checks.iter().position(|ok| !ok) {
                None => 0,
                Some(i) => 10 + i as i32,
            }
        });
        assert_eq!(wait(pid), 0, "round {round}: check failed in the child (code - 10 = its index)");
        // The child's drop released neither the parent's lock nor its handle.
        assert!(matches!(Journal::open(&other, JournalOptions::default()), Err(Error::Locked { .. })));
        owned.append(1, b"still mine", None).unwrap();
        drop(owned);
    }
    stop.store(true, Ordering::Relaxed);
    let by_thread = busy.join().unwrap();
    j.close().unwrap();
    drop(j);
    let j = Journal::open(&p, JournalOptions::default()).unwrap();
    assert!(j.recovery_report().is_clean());
    let all = j.read_all(1).unwrap();
    assert_eq!(all.len() as u64, written + by_thread);
    let mine: Vec<_> =
        (0..all.len()).filter(|&i| all.kind[i] == 1).map(|i| all.payload(i).to_vec()).collect();
    let expected: Vec<_> = (0..10).map(|r| format!("parent-{r}").into_bytes()).collect();
    assert_eq!(mine, expected);
    assert!(all.seq.windows(2).all(|w| w[1] == w[0] + 1));
}

#[test]
fn a_live_child_does_not_keep_the_lock_after_the_parent_closes() {
    pinnacle_core::fork::install(); // before any thread of this test binary may fork
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("j.journal");
    let j = Journal::open(&p, JournalOptions::default()).unwrap();
    j.append(1, b"before the fork", None).unwrap();
    let mut fds = [0; 2];
    // SAFETY: a pipe for "you may exit now".
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let pid = fork_child(|| {
        let mut b = 0u8;
        // SAFETY: blocks until the parent writes or closes the pipe.
        unsafe { libc::read(fds[0], std::ptr::addr_of_mut!(b).cast::<libc::c_void>(), 1) };
        0
    });
    j.close().unwrap();
    drop(j);
    // The child is alive and still has the parent's handle in its memory.
    let reopened = Journal::open(&p, JournalOptions::default());
    // SAFETY: release and reap the child whatever happened.
    unsafe { libc::write(fds[1], b"g".as_ptr().cast::<libc::c_void>(), 1) };
    assert_eq!(wait(pid), 0);
    let reopened = reopened.expect("the parent reopens its journal while the child lives");
    assert_eq!(reopened.entry_count(), 1);
}

/// A child's own journal works whatever its parent's threads were doing at the fork:
/// here another thread keeps opening, appending to and closing journals, so forks land
/// while it starts or stops pool workers, waits on the pool's condition variables, or
/// holds locks. (Before: a child's close hung for good, in a parking_lot bucket lock or
/// a lost wake-up inherited from the parent, or with its workers stuck in std's thread
/// start, whose process-wide lock a parent thread held.)
#[test]
fn a_child_forked_while_another_thread_opens_journals_can_open_its_own() {
    pinnacle_core::fork::install();
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let opts =
        || JournalOptions { sync: SyncPolicy::Interval(Duration::from_millis(1)), ..Default::default() };
    let stop = Arc::new(AtomicBool::new(false));
    // Two threads keep opening, appending to and closing journals (starting and stopping
    // workers); a third keeps one journal open and flushes it (waking parked workers).
    let mut busy: Vec<_> = (0..2)
        .map(|t| {
            let (stop, d) = (stop.clone(), dir.path().to_path_buf());
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let j = match Journal::open(d.join(format!("busy-{t}-{}.journal", i % 4)), opts()) {
                        // A child forked a moment ago may not have closed its copy yet.
                        Err(Error::Locked { .. }) => continue,
                        j => j.unwrap(),
                    };
                    j.append(1, b"x", None).unwrap();
                    j.close().unwrap();
                }
            })
        })
        .collect();
    let kept = Journal::open(dir.path().join("kept.journal"), opts()).unwrap();
    busy.push({
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                kept.append(1, b"y", None).unwrap();
                kept.flush().unwrap();
            }
        })
    });
    for n in 0..100 {
        let p = dir.path().join(format!("child-{n}.journal"));
        let pid = fork_child(move || {
            let Ok(j) = Journal::open(&p, opts()) else { return 1 };
            let ok = j.append(1, b"mine", None).is_ok() && j.close().is_ok();
            i32::from(!ok)
        });
        assert_eq!(wait(pid), 0, "child {n}");
    }
    stop.store(true, Ordering::Relaxed);
    for t in busy {
        t.join().unwrap();
    }
}
