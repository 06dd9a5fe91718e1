//! Group commit: calls that arrive together are written together. A call hands its job
//! to the [`Batcher`] and waits for its own answer; the batcher's task takes every job
//! queued when a writer is free (at most `max` of them) and writes them in one go — one
//! statement, one transaction, one commit for all — then answers each job. A call is
//! answered only after its batch's commit, so nothing is acknowledged that is not
//! written.
//!
//! Nothing waits for a batch to fill: a lone call is written at once (the cost is one
//! hand-over between tasks). Batches form only while every writer is busy, which is
//! exactly when waiting for a commit would have queued the calls anyway; so the batch
//! size follows the load, bounded by `max`, and the number of transactions in flight is
//! bounded by `writers`.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use tokio::sync::{Semaphore, mpsc, oneshot};

/// One queued call: its job and where its answer goes.
type Queued<J, A> = (J, oneshot::Sender<A>);

/// What writes a batch: one answer per job, in order.
type Write<J, A> =
    Arc<dyn Fn(Vec<J>) -> Pin<Box<dyn Future<Output = Vec<A>> + Send>> + Send + Sync>;

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
    /// (at most `max` jobs, in arrival order) and must answer one `A` per job, in the
    /// same order; at most `writers` batches are written at once.
    pub(crate) fn start<W, F>(max: usize, writers: usize, write: W) -> Self
    where
        W: Fn(Vec<J>) -> F + Send + Sync + 'static,
        F: Future<Output = Vec<A>> + Send + 'static,
    {
        let (queue, mut jobs) = mpsc::unbounded_channel::<Queued<J, A>>();
        let free = Arc::new(Semaphore::new(writers.max(1)));
        let write: Write<J, A> = Arc::new(move |jobs| Box::pin(write(jobs)));
        let batches = write.clone();
        tokio::spawn(async move {
            while let Some(first) = jobs.recv().await {
                // While every writer is busy, more calls queue up behind `first`.
                let Ok(writer) = free.clone().acquire_owned().await else {
                    return;
                };
                let mut batch = vec![first];
                while batch.len() < max.max(1) {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let write = batches.clone();
                tokio::spawn(async move {
                    let (jobs, replies): (Vec<J>, Vec<oneshot::Sender<A>>) =
                        batch.into_iter().unzip();
                    let answers = write(jobs).await;
                    for (reply, answer) in replies.into_iter().zip(answers) {
                        // A caller that gave up (its request ended) reads nothing.
                        let _ = reply.send(answer);
                    }
                    drop(writer);
                });
            }
        });
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

#[cfg(test)]
mod tests {
    use std::{
        sync::atomic::{AtomicUsize, Ordering},
        time::Duration,
    };

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_job_is_written_at_once_and_answered() {
        let batches = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = batches.clone();
        let batcher = Batcher::start(32, 2, move |jobs: Vec<u32>| {
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
        let batcher = Arc::new(Batcher::start(8, 2, move |jobs: Vec<u32>| {
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
            let (i, answer) = call.await.expect("joined");
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
        let batcher = Batcher::start(1, 1, |jobs: Vec<u32>| async move {
            if jobs == [13] {
                std::panic::resume_unwind(Box::new("unlucky"));
            }
            jobs
        });
        assert_eq!(batcher.submit(13).await, None);
        assert_eq!(batcher.submit(14).await, Some(14));
    }
}
