//! `/backend/health/` (readiness) and `/backend/health/live/` (liveness): no key, never
//! throttled.

use std::{
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use tokio::sync::watch;

use super::{ApiState, ApiTags};
use crate::dto::Detail;

/// How long the store may take to answer a readiness check.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// A readiness answer.
#[derive(Debug, Object)]
pub struct Readiness {
    /// `ok` or `error`.
    pub status: String,
    /// `ok` or `unavailable`.
    pub database: String,
}

/// A liveness answer.
#[derive(Debug, Object)]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
}

/// `GET /backend/health/`.
#[derive(Debug, ApiResponse)]
pub enum ReadinessResponse {
    /// `{"status":"ok","database":"ok"}`
    #[oai(status = 200)]
    Ok(Json<Readiness>),
    /// `{"status":"error","database":"unavailable"}`: the store did not answer within
    /// 2 seconds.
    #[oai(status = 503)]
    Unavailable(Json<Readiness>),
    /// `Invalid host header.`: the `Host` is not in `ALLOWED_HOSTS` (answered before the
    /// check runs).
    #[oai(status = 400)]
    InvalidHost(Json<Detail>),
}

/// `GET /backend/health/live/`.
#[derive(Debug, ApiResponse)]
pub enum LivenessResponse {
    /// `{"status":"ok"}`
    #[oai(status = 200)]
    Ok(Json<Liveness>),
    /// `Invalid host header.`: the `Host` is not in `ALLOWED_HOSTS`.
    #[oai(status = 400)]
    InvalidHost(Json<Detail>),
}

/// One store check at a time, shared by every readiness request that arrives while it
/// runs. The endpoint needs no key and is never throttled, so a flood of it must not
/// become a flood of database round trips, nor take the pool's connections from the
/// API. Each answer comes from a check that ended after the request arrived.
#[derive(Debug, Default)]
pub struct SharedCheck {
    /// The running check's outcome, once known.
    running: Mutex<Option<watch::Receiver<Option<bool>>>>,
}

impl SharedCheck {
    /// Whether the store is ready: joins the running check, or starts one with `check`
    /// (in a task of its own, so that it ends even when every waiting request is gone).
    pub async fn ready<F, Fut>(self: &Arc<Self>, check: F) -> bool
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let mut outcome = {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            match &*running {
                Some(outcome) => outcome.clone(),
                None => {
                    let (tx, rx) = watch::channel(None);
                    *running = Some(rx.clone());
                    let reset = Reset(Arc::clone(self));
                    let check = check();
                    tokio::spawn(async move {
                        let ready = check.await;
                        // Requests from now on start a new check. (A check that panics
                        // resets too, as `reset` drops while the task unwinds; its
                        // waiters see the sender gone and answer "not ready".)
                        drop(reset);
                        let _ = tx.send(Some(ready));
                    });
                    rx
                }
            }
        };
        match outcome.wait_for(Option::is_some).await {
            Ok(ready) => ready.unwrap_or(false),
            Err(_) => false,
        }
    }
}

/// Clears the running check when dropped: after the check, or while its task unwinds.
struct Reset(Arc<SharedCheck>);

impl Drop for Reset {
    fn drop(&mut self) {
        *self
            .0
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// The health checks.
#[derive(Debug, Clone)]
pub struct HealthApi(pub Arc<ApiState>, pub Arc<SharedCheck>);

#[OpenApi(prefix_path = "/backend", tag = "ApiTags::Health")]
impl HealthApi {
    /// Readiness
    ///
    /// Whether the store answers within 2 seconds. No key; never throttled.
    #[oai(path = "/health/", method = "get", operation_id = "health_ready")]
    async fn ready(&self) -> ReadinessResponse {
        let exit3 = self.0.exit3.clone();
        let ready = self
            .1
            .ready(|| async move {
                match tokio::time::timeout(STORE_TIMEOUT, exit3.health()).await {
                    Ok(Ok(())) => true,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "readiness: store unavailable");
                        false
                    }
                    Err(_) => {
                        tracing::warn!("readiness: store timed out");
                        false
                    }
                }
            })
            .await;
        if ready {
            ReadinessResponse::Ok(Json(Readiness {
                status: "ok".into(),
                database: "ok".into(),
            }))
        } else {
            ReadinessResponse::Unavailable(Json(Readiness {
                status: "error".into(),
                database: "unavailable".into(),
            }))
        }
    }

    /// Liveness
    ///
    /// Answers without touching the store.
    #[oai(path = "/health/live/", method = "get", operation_id = "health_live")]
    async fn live(&self) -> LivenessResponse {
        LivenessResponse::Ok(Json(Liveness {
            status: "ok".into(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_checks_share_one_store_call_and_later_ones_start_another() {
        let probe = Arc::new(SharedCheck::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let check = |ready: bool| {
            let calls = Arc::clone(&calls);
            move || async move {
                calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                ready
            }
        };
        let waiting: Vec<_> = (0..50)
            .map(|_| {
                let probe = Arc::clone(&probe);
                let check = check(true);
                tokio::spawn(async move { probe.ready(check).await })
            })
            .collect();
        for w in waiting {
            assert!(w.await.unwrap_or(false));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // The next request, after that check ended, sees a fresh outcome.
        assert!(!probe.ready(check(false)).await);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_check_that_panics_answers_not_ready_and_the_next_one_runs_again() {
        let probe = Arc::new(SharedCheck::default());
        let panicking = probe.ready(|| async {
            tokio::task::yield_now().await;
            panic!("the store check exploded (test panic)");
        });
        assert!(!panicking.await);
        // Not stuck "running": the next request starts a check of its own.
        assert!(probe.ready(|| async { true }).await);
        assert!(!probe.ready(|| async { false }).await);
    }

    #[tokio::test]
    async fn a_request_that_leaves_does_not_stop_the_check() {
        let probe = Arc::new(SharedCheck::default());
        let leaving = tokio::time::timeout(
            Duration::from_millis(10),
            probe.ready(|| async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                true
            }),
        )
        .await;
        assert!(leaving.is_err());
        // The next one joins the same check and gets its outcome.
        assert!(probe.ready(|| async { false }).await);
    }
}
