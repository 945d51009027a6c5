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
//! The caller is one of the threads: it posts the job and runs it too. A job
//! shares out its own work (the caller of [`Pool::run`] hands out chunks from
//! an atomic counter), so it does not matter how many workers join: on a
//! busy machine a worker that has lost its core joins late or not at all,
//! and the caller does not wait for it, only for the workers that are inside
//! the job when the caller runs out of work. A second caller while a job
//! runs (a test harness, a server with two models) does not wait either:
//! [`Pool::run`] says no and the caller uses rayon as before.

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
    /// Bumped once per job: a worker that sees it change joins the job.
    epoch: AtomicUsize,
    /// The epoch whose job may still be joined; 0 once its caller is done.
    open: AtomicUsize,
    /// Workers inside `job` (or about to look at `open`).
    inside: AtomicUsize,
    /// The current job, valid while `open` is its epoch or `inside` > 0.
    job: UnsafeCell<Option<Job<'static>>>,
    /// How many workers sleep (guarded), and where they do.
    sleepers: Mutex<usize>,
    wake: Condvar,
    /// One caller at a time.
    busy: Mutex<()>,
}

// SAFETY: `job` is written only by the caller holding `busy`, before the
// epoch's bump, and read by a worker only between its increment of `inside`
// and its decrement, after it saw `open` equal to the epoch; the caller
// closes `open` and then waits for `inside` to be 0 before the job goes
// (SeqCst on both sides, so that one of them sees the other).
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
            open: AtomicUsize::new(0),
            inside: AtomicUsize::new(0),
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

    /// Runs `job(0)` on the caller and `job(i)` on every worker `i` that
    /// joins before the caller's own call returns, and returns when all of
    /// them are done: `true`. `false` (nothing ran) when another caller's job
    /// is running. The job shares out its work itself.
    pub fn run(&self, job: &(dyn Fn(usize) + Sync)) -> bool {
        let Ok(_one_caller) = self.shared.busy.try_lock() else {
            return false;
        };
        if self.threads == 1 {
            job(0);
            return true;
        }
        let s = &*self.shared;
        // SAFETY: the lifetime is erased only until `Done` has closed the
        // job and seen no worker inside it (also when `job(0)` panics)
        let job_static: Job<'static> = unsafe { std::mem::transmute(job) };
        unsafe { *s.job.get() = Some(job_static) };
        let epoch = s.epoch.load(Ordering::Relaxed) + 1;
        s.open.store(epoch, Ordering::SeqCst);
        s.epoch.store(epoch, Ordering::SeqCst);
        if *s.sleepers.lock().unwrap_or_else(|e| e.into_inner()) > 0 {
            s.wake.notify_all();
        }
        struct Done<'a>(&'a Shared);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.open.store(0, Ordering::SeqCst);
                // only workers running a chunk right now: a short wait
                while self.0.inside.load(Ordering::SeqCst) != 0 {
                    std::hint::spin_loop();
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
        seen = s.epoch.load(Ordering::SeqCst);
        s.inside.fetch_add(1, Ordering::SeqCst);
        if s.open.load(Ordering::SeqCst) == seen {
            // SAFETY: the job of `seen` is open and this thread is counted
            // inside it, so its caller has not returned (see `Shared`)
            if let Some(job) = unsafe { *s.job.get() } {
                // a panicking kernel must not leave the caller waiting forever
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(index))).is_err() {
                    std::process::abort();
                }
            }
        }
        s.inside.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The job as `par_rows` writes it: work handed out from a counter.
    fn count_to(pool: &Pool, n: usize, hits: &[AtomicUsize]) {
        let next = AtomicUsize::new(0);
        assert!(pool.run(&|i| {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                hits[i].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    #[test]
    fn all_the_work_is_done_once_whoever_joins() {
        let pool = Pool::new(3);
        let mut joined = [0usize; 3];
        for _ in 0..1000 {
            let hits: Vec<AtomicUsize> = (0..3).map(|_| AtomicUsize::new(0)).collect();
            count_to(&pool, 10_000, &hits);
            let hits: Vec<usize> = hits.iter().map(|h| h.load(Ordering::Relaxed)).collect();
            assert_eq!(hits.iter().sum::<usize>(), 10_000);
            for (j, h) in joined.iter_mut().zip(&hits) {
                *j += (*h > 0) as usize;
            }
        }
        assert!(
            joined[1] + joined[2] > 0,
            "no worker ever joined: {joined:?}"
        );
    }

    #[test]
    fn workers_wake_after_sleeping() {
        let pool = Pool::new(2);
        // a worker asleep (past its spin) joins a job again, eventually
        let woke = (0..1000).any(|_| {
            std::thread::sleep(SPIN * 2);
            let hits = [AtomicUsize::new(0), AtomicUsize::new(0)];
            count_to(&pool, 1 << 20, &hits);
            hits[1].load(Ordering::Relaxed) > 0
        });
        assert!(woke);
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
