//! A persistent pool for the decode matrix-vector products: its threads spin
//! between jobs instead of going to sleep.
//!
//! Decoding one token runs ~7 matrix-vector products per layer, each a few
//! tens of microseconds on two cores. Handing each to rayon costs a wake-up:
//! the caller parks on a latch, a sleeping worker is woken by the kernel's
//! scheduler, and ~10% of decode time went there. ggml's answer, copied
//! here: the threads stay awake between the products of a layer, spinning on
//! a counter (a new job is one increment away), and only go to sleep after
//! [`SPIN`] without work, so an idle engine does not burn a core.
//!
//! The caller is one of the threads: it posts the job, runs its own share,
//! and spins until the others are done. A second caller while a job runs (a
//! test harness, a server with two models) does not wait: [`Pool::run`]
//! says no and the caller uses rayon as before.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long an idle worker spins before it sleeps: longer than the gap
/// between two products of a layer (the attention and norms in between),
/// far shorter than a human notices a busy core.
const SPIN: Duration = Duration::from_micros(300);

/// A job: called once on each thread with the thread's index.
type Job<'a> = &'a (dyn Fn(usize) + Sync);

/// What the caller and the workers share.
struct Shared {
    /// Bumped once per job: a worker that sees it change runs the job.
    epoch: AtomicUsize,
    /// Workers that have not finished the current job.
    pending: AtomicUsize,
    /// The current job, valid from the epoch's bump until `pending` is 0.
    job: UnsafeCell<Option<Job<'static>>>,
    /// How many workers sleep (guarded), and where they do.
    sleepers: Mutex<usize>,
    wake: Condvar,
    /// One caller at a time.
    busy: Mutex<()>,
}

// SAFETY: `job` is written only by the caller holding `busy`, before the
// epoch's release-bump, and read by workers only after an acquire-load sees
// that bump and before they decrement `pending`, which the writer waits for.
unsafe impl Sync for Shared {}

/// Threads that run [`Job`]s together with their caller.
pub struct Pool {
    shared: Arc<Shared>,
    threads: usize,
}

impl Pool {
    /// A pool whose jobs run on `threads` threads: the caller and
    /// `threads - 1` workers, started now and kept for the process.
    pub fn new(threads: usize) -> Self {
        let threads = threads.max(1);
        let shared = Arc::new(Shared {
            epoch: AtomicUsize::new(0),
            pending: AtomicUsize::new(0),
            job: UnsafeCell::new(None),
            sleepers: Mutex::new(0),
            wake: Condvar::new(),
            busy: Mutex::new(()),
        });
        for index in 1..threads {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("locallm-decode-{index}"))
                .spawn(move || worker(&shared, index))
                .expect("cannot start a decode thread");
        }
        Pool { shared, threads }
    }

    /// The pool for the calling context's thread count (rayon's: the `-t`
    /// the CLI set), made on first use.
    pub fn global() -> &'static Pool {
        static POOL: OnceLock<Pool> = OnceLock::new();
        POOL.get_or_init(|| Pool::new(rayon::current_num_threads()))
    }

    /// Threads a job runs on, the caller included.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `job(i)` for every thread index `i` in `0..threads`, the caller
    /// taking `0`, and returns when all are done: `true`. `false` (nothing
    /// ran) when another caller's job is running.
    pub fn run(&self, job: &(dyn Fn(usize) + Sync)) -> bool {
        let Ok(_one_caller) = self.shared.busy.try_lock() else {
            return false;
        };
        if self.threads == 1 {
            job(0);
            return true;
        }
        let s = &*self.shared;
        // SAFETY: the lifetime is erased only until `Done` has waited for
        // every worker to finish with it (also when `job(0)` panics)
        let job_static: Job<'static> = unsafe { std::mem::transmute(job) };
        unsafe { *s.job.get() = Some(job_static) };
        s.pending.store(self.threads - 1, Ordering::Relaxed);
        s.epoch.fetch_add(1, Ordering::Release);
        if *s.sleepers.lock().unwrap_or_else(|e| e.into_inner()) > 0 {
            s.wake.notify_all();
        }
        struct Done<'a>(&'a Shared);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                let mut spins = 0u32;
                while self.0.pending.load(Ordering::Acquire) != 0 {
                    spins += 1;
                    if spins < 1 << 16 {
                        std::hint::spin_loop();
                    } else {
                        std::thread::yield_now(); // a worker lost its core
                    }
                }
            }
        }
        let _done = Done(s);
        job(0);
        true
    }
}

/// A worker: wait for the next epoch (spinning, then sleeping), run the job
/// with this thread's index, report, forever.
fn worker(s: &Shared, index: usize) {
    // not a load: the first job may be posted before this thread runs
    let mut seen = 0;
    loop {
        let start = Instant::now();
        let mut spins = 0u32;
        while s.epoch.load(Ordering::Acquire) == seen {
            spins = spins.wrapping_add(1);
            std::hint::spin_loop();
            if spins.is_multiple_of(64) && start.elapsed() > SPIN {
                let mut sleepers = s.sleepers.lock().unwrap_or_else(|e| e.into_inner());
                *sleepers += 1;
                while s.epoch.load(Ordering::Acquire) == seen {
                    sleepers = s.wake.wait(sleepers).unwrap_or_else(|e| e.into_inner());
                }
                *sleepers -= 1;
            }
        }
        seen = s.epoch.load(Ordering::Acquire);
        // SAFETY: the epoch moved, so the caller stored a job and waits for
        // `pending` before it is invalid (see `Shared`)
        if let Some(job) = unsafe { *s.job.get() } {
            // a panicking kernel must not leave the caller waiting forever
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(index))).is_err() {
                std::process::abort();
            }
        }
        s.pending.fetch_sub(1, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_runs_once_per_job() {
        let pool = Pool::new(3);
        for round in 0..1000 {
            let hits: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
            assert!(pool.run(&|i| {
                hits[i].fetch_add(round + 1, Ordering::Relaxed);
            }));
            for h in &hits {
                assert_eq!(h.load(Ordering::Relaxed), round + 1);
            }
        }
    }

    #[test]
    fn workers_wake_after_sleeping() {
        let pool = Pool::new(2);
        std::thread::sleep(SPIN * 4); // the worker is asleep by now
        let ran = AtomicUsize::new(0);
        assert!(pool.run(&|_| {
            ran.fetch_add(1, Ordering::Relaxed);
        }));
        assert_eq!(ran.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn a_second_caller_is_turned_away_not_blocked() {
        let pool = Pool::new(2);
        let inner = AtomicUsize::new(0);
        assert!(pool.run(&|i| {
            if i == 0 {
                // the pool is busy with this very job
                assert!(!pool.run(&|_| {
                    inner.fetch_add(1, Ordering::Relaxed);
                }));
            }
        }));
        assert_eq!(inner.load(Ordering::Relaxed), 0);
    }
}
