//! Group commit: calls that arrive together are written together. A call hands its job
//! to the [`Batcher`] and waits for its own answer; the batcher's task takes the jobs
//! queued when a writer is free (at most `max` of them) and writes them in one go — one
//! statement, one transaction, one commit for all — then answers each job. A call is
//! answered only after its batch's commit, so nothing is acknowledged that is not
//! written.
//!
//! Nothing waits for a batch to fill: when no batch is being written, a call is written
//! at once (the cost is one hand-over between tasks). While one is, the next batch starts
//! beside it only once it is worth its statement — `extra_at` calls queued — or else
//! when no batch is in flight any more, taking everything queued by then. A writer
//! beside the first exists to keep the database busy while a commit reaches the disk,
//! not to send the calls a few at a time: each statement costs the database a fixed
//! amount of work that a batch shares, and splitting a load over all free writers at once
//! made the batches small and the database's work per call about a third larger
//! (`BENCHMARKS.md`, issue 16). So a call waits at most for the batches in flight, and the
//! batch size follows the load, bounded by `max`; the number of transactions in flight
//! is bounded by `writers`.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// One queued call: its job and where its answer goes.
type Queued<J, A> = (J, oneshot::Sender<A>);

/// What writes a batch: one answer per job, in order.
type Write<J, A> =
    Arc<dyn Fn(Vec<J>) -> Pin<Box<dyn Future<Output = Vec<A>> + Send>> + Send + Sync>;

/// How large batches grow and how many are written at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The most jobs one batch takes.
    pub(crate) max: usize,
    /// The most batches written at once (each holds a pooled connection while it runs).
    pub(crate) writers: usize,
    /// While a batch is being written, how many jobs must be queued before another starts
    /// beside it (1: as soon as there is one).
    pub(crate) extra_at: usize,
}

/// Writes jobs of type `J` in batches, answering each with an `A`.
pub(crate) struct Batcher<J, A> {
    queue: mpsc::UnboundedSender<Queued<J, A>>,
    write: Write<J, A>,
}

impl<J, A> fmt::Debug for Batcher<J, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

impl<J: Send + 'static, A: Send + 'static> Batcher<J, A> {
    /// Starts the batcher's task on the current tokio runtime: `write` gets each batch
    /// (at most `limits.max` jobs, in arrival order) and must answer one `A` per job, in
    /// the same order.
    pub(crate) fn start<W, F>(limits: Limits, write: W) -> Self
    where
        W: Fn(Vec<J>) -> F + Send + Sync + 'static,
        F: Future<Output = Vec<A>> + Send + 'static,
    {
        let (queue, jobs) = mpsc::unbounded_channel::<Queued<J, A>>();
        let write: Write<J, A> = Arc::new(move |jobs| Box::pin(write(jobs)));
        tokio::spawn(run(limits, jobs, write.clone()));
        Self { queue, write }
    }

    /// Queues `job` and waits for its answer. When the batcher's task is gone (its
    /// runtime ended) the job is written here, alone. `None`: the job's writer ended
    /// without answering it (it panicked), so it may or may not be written.
    pub(crate) async fn submit(&self, job: J) -> Option<A> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((job, _))) = self.queue.send((job, reply)) {
            return (self.write)(vec![job]).await.pop();
        }
        answer.await.ok()
    }
}

/// The batcher's task: gathers queued jobs and starts a writer for them when the rules of
/// the module allow; ends when every sender is gone and the last job has gone out.
async fn run<J: Send + 'static, A: Send + 'static>(
    limits: Limits,
    mut jobs: mpsc::UnboundedReceiver<Queued<J, A>>,
    write: Write<J, A>,
) {
    let (max, writers) = (limits.max.max(1), limits.writers.max(1));
    let free = Arc::new(Semaphore::new(writers));
    // Told when a batch has been written, so that the jobs waiting for it can go.
    let written = Arc::new(Notify::new());
    let mut waiting: Vec<Queued<J, A>> = Vec::new();
    let mut open = true;
    loop {
        if waiting.is_empty() {
            match jobs.recv().await {
                Some(job) => waiting.push(job),
                None => return,
            }
        }
        while let Ok(job) = jobs.try_recv() {
            waiting.push(job);
        }
        let in_flight = writers - free.available_permits();
        let start =
            in_flight == 0 || (in_flight < writers && waiting.len() >= limits.extra_at) || !open;
        if !start {
            tokio::select! {
                job = jobs.recv(), if open => match job {
                    Some(job) => waiting.push(job),
                    None => open = false,
                },
                () = written.notified() => {}
            }
            continue;
        }
        let Ok(permit) = free.clone().acquire_owned().await else {
            return;
        };
        let seat = Seat {
            permit: Some(permit),
            written: written.clone(),
        };
        let rest = waiting.split_off(waiting.len().min(max));
        let batch = std::mem::replace(&mut waiting, rest);
        let write = write.clone();
        tokio::spawn(async move {
            let (jobs, replies): (Vec<J>, Vec<oneshot::Sender<A>>) = batch.into_iter().unzip();
            let answers = write(jobs).await;
            for (reply, answer) in replies.into_iter().zip(answers) {
                // A caller that gave up (its request ended) reads nothing.
                let _ = reply.send(answer);
            }
            drop(seat);
        });
    }
}

/// A batch's writer: when the batch ends — answered, or its write panicked — the writer is
/// free again and then the batcher is told, so that the jobs waiting for it may go out.
struct Seat {
    permit: Option<OwnedSemaphorePermit>,
    written: Arc<Notify>,
}

impl Drop for Seat {
    fn drop(&mut self) {
        // Freed first: the batcher, once told, counts the writers in flight.
        drop(self.permit.take());
        self.written.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;

    fn limits(max: usize, writers: usize, extra_at: usize) -> Limits {
        Limits {
            max,
            writers,
            extra_at,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_job_is_written_at_once_and_answered() {
        let batches = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = batches.clone();
        let batcher = Batcher::start(limits(32, 2, 1), move |jobs: Vec<u32>| {
            seen.lock().expect("lock").push(jobs.len());
            async move { jobs.iter().map(|j| j * 10).collect() }
        });
        for i in 0..3 {
            assert_eq!(batcher.submit(i).await, Some(i * 10));
        }
        assert_eq!(
            *batches.lock().expect("lock"),
            [1, 1, 1],
            "nothing waits to fill"
        );
    }

    /// While the writers are busy, calls queue and go out together: every call gets its
    /// own answer, no batch is larger than `max`, no more than `writers` run at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_that_arrive_together_are_written_together() {
        let (in_flight, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (f, m, z) = (in_flight.clone(), most.clone(), sizes.clone());
        let batcher = Arc::new(Batcher::start(limits(8, 2, 1), move |jobs: Vec<u32>| {
            let (f, m) = (f.clone(), m.clone());
            z.lock().expect("lock").push(jobs.len());
            async move {
                let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                f.fetch_sub(1, Ordering::SeqCst);
                jobs.iter().map(|j| j + 1000).collect()
            }
        }));
        let calls: Vec<_> = (0..100)
            .map(|i| {
                let b = batcher.clone();
                tokio::spawn(async move { (i, b.submit(i).await) })
            })
            .collect();
        for call in calls {
            // A lost wake-up would leave calls queued for ever: fail instead of hanging.
            let call = tokio::time::timeout(Duration::from_secs(10), call).await;
            let (i, answer) = call.expect("answered").expect("joined");
            assert_eq!(answer, Some(i + 1000));
        }
        let sizes = sizes.lock().expect("lock").clone();
        assert_eq!(sizes.iter().sum::<usize>(), 100);
        assert!(sizes.iter().all(|n| *n <= 8), "{sizes:?}");
        assert!(sizes.len() < 50, "calls were batched: {sizes:?}");
        assert!(most.load(Ordering::SeqCst) <= 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_writer_that_panics_loses_its_batch_and_no_other() {
        let batcher = Batcher::start(limits(1, 1, 1), |jobs: Vec<u32>| async move {
            if jobs == [13] {
                std::panic::resume_unwind(Box::new("unlucky"));
            }
            jobs
        });
        assert_eq!(batcher.submit(13).await, None);
        assert_eq!(batcher.submit(14).await, Some(14));
    }

    /// Waits until `seen` holds `n` batches (the batcher's task runs beside the test).
    async fn batches_seen(seen: &std::sync::Mutex<Vec<Vec<u32>>>, n: usize) -> Vec<Vec<u32>> {
        for _ in 0..500 {
            let now = seen.lock().expect("lock").clone();
            if now.len() >= n {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        panic!("fewer than {n} batches: {:?}", seen.lock().expect("lock"));
    }

    /// A batcher for the tests below: every batch is recorded in `seen`, then holds its
    /// writer until the test adds a permit to `gate`; a batch of exactly `[13]` panics.
    struct Gated {
        batcher: Arc<Batcher<u32, u32>>,
        seen: Arc<std::sync::Mutex<Vec<Vec<u32>>>>,
        gate: Arc<Semaphore>,
    }

    impl Gated {
        fn start(limits: Limits) -> Self {
            let seen = Arc::new(std::sync::Mutex::new(Vec::<Vec<u32>>::new()));
            let gate = Arc::new(Semaphore::new(0));
            let (s, g) = (seen.clone(), gate.clone());
            let batcher = Arc::new(Batcher::start(limits, move |jobs: Vec<u32>| {
                s.lock().expect("lock").push(jobs.clone());
                let g = g.clone();
                async move {
                    g.acquire().await.expect("open").forget();
                    if jobs == [13] {
                        std::panic::resume_unwind(Box::new("unlucky"));
                    }
                    jobs
                }
            }));
            Self {
                batcher,
                seen,
                gate,
            }
        }

        fn submit(&self, i: u32) -> tokio::task::JoinHandle<Option<u32>> {
            let b = self.batcher.clone();
            tokio::spawn(async move { b.submit(i).await })
        }

        /// How many batches have started after the batcher had 50 ms to start more.
        async fn settled(&self) -> usize {
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.seen.lock().expect("lock").len()
        }
    }

    /// While a batch is written, a few calls wait for it rather than start a second writer
    /// each; `extra_at` calls queued start one beside it; fewer go when no batch is left.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_writer_starts_only_for_a_batch_worth_it() {
        let t = Gated::start(limits(64, 2, 3));
        let first = t.submit(0);
        let seen = batches_seen(&t.seen, 1).await;
        assert_eq!(seen, [vec![0]], "a lone call goes at once");
        let two: Vec<_> = (1..3).map(|i| t.submit(i)).collect();
        assert_eq!(t.settled().await, 1, "two queued calls wait");
        let third = t.submit(3);
        assert_eq!(
            batches_seen(&t.seen, 2).await[1],
            [1, 2, 3],
            "three start one"
        );
        let late: Vec<_> = (4..6).map(|i| t.submit(i)).collect();
        assert_eq!(t.settled().await, 2, "both writers are busy");
        t.gate.add_permits(1);
        assert_eq!(t.settled().await, 2, "two wait while a batch runs");
        t.gate.add_permits(1);
        let seen = batches_seen(&t.seen, 3).await;
        assert_eq!(seen[2], [4, 5], "and go when none does");
        t.gate.add_permits(1);
        assert_eq!(first.await.expect("joined"), Some(0));
        for (i, call) in (1..).zip(two.into_iter().chain([third]).chain(late)) {
            assert_eq!(call.await.expect("joined"), Some(i));
        }
    }

    /// The calls waiting for a writer go out when its write panics, as when it ends.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_waiting_for_a_writer_that_panics_go_out() {
        let t = Gated::start(limits(64, 1, 1));
        let unlucky = t.submit(13);
        batches_seen(&t.seen, 1).await;
        let waiting = t.submit(14);
        assert_eq!(t.settled().await, 1, "the one writer is busy");
        t.gate.add_permits(2);
        assert_eq!(unlucky.await.expect("joined"), None);
        let answer = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(answer.expect("answered").expect("joined"), Some(14));
    }
}
