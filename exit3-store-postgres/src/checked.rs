//! Check-only throttle hits without a round trip. Every admin request checks its
//! address's `failed_auth` key (so that a locked-out address cannot learn that a guessed
//! key is right); almost always that key has nothing recorded, and asking the database
//! so cost a list a fifth of its throughput. Each store keeps the keys of checked scopes
//! that have something recorded, with when it expires — read once from `throttle_keys`
//! and then kept current by `NOTIFY`, which every instance sends when it records such a
//! key — and answers a check of a key it knows to be clear itself. While the listener is
//! not connected (starting, reconnecting) it asks the database as before.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use exit3_core::{ThrottleHit, ThrottleScope};
use sqlx::{
    PgPool,
    postgres::{PgListener, PgPoolOptions},
};
use tokio::sync::watch;

/// The channel recorded keys of checked scopes are announced on: `"<expires> <key>"`.
pub(crate) const CHANNEL: &str = "exit3_throttle_recorded";

/// The scopes some call checks without recording (`failed_auth`).
fn checked(scope: ThrottleScope) -> bool {
    scope == ThrottleScope::FailedAuth
}

/// What this store knows of the recorded keys of checked scopes.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    /// The listener is connected and `expiry` complete.
    live: AtomicBool,
    /// Key → when its recorded state expires (µs).
    expiry: Mutex<HashMap<String, i64>>,
}

impl Recorded {
    fn note(&self, key: &str, expires: i64) {
        let mut expiry = self.expiry.lock().unwrap_or_else(PoisonError::into_inner);
        let at = expiry.entry(key.to_owned()).or_insert(expires);
        *at = (*at).max(expires);
    }

    /// Whether every hit is a check of a checked scope whose key is known to hold
    /// nothing at `now`: then the decision is "accepted" without the database.
    pub(crate) fn all_clear(&self, hits: &[ThrottleHit], now: i64) -> bool {
        if !self.live.load(Ordering::Acquire) {
            return false;
        }
        let expiry = self.expiry.lock().unwrap_or_else(PoisonError::into_inner);
        hits.iter().all(|h| {
            !h.records()
                && checked(h.scope())
                && expiry.get(h.key.as_str()).is_none_or(|&e| e <= now)
        })
    }

    /// The recorded hits of checked scopes in `hits`, with when their state expires:
    /// what the store announces after recording them (and notes at once itself).
    pub(crate) fn announce(&self, hits: &[ThrottleHit], now: i64) -> Vec<String> {
        hits.iter()
            .filter(|h| h.records() && checked(h.scope()))
            .map(|h| {
                let expires = now.saturating_add(h.rate.period_micros());
                self.note(h.key.as_str(), expires);
                format!("{expires} {}", h.key.as_str())
            })
            .collect()
    }

    /// Forgets what expired before `now` (called as keys are purged).
    pub(crate) fn forget_expired(&self, now: i64) {
        self.expiry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, e| *e > now);
    }
}

/// The listener of a store: stops when the last clone of the store is dropped.
#[derive(Debug, Clone)]
pub(crate) struct Checks {
    pub(crate) recorded: Arc<Recorded>,
    _stop: Arc<watch::Sender<()>>,
}

impl Checks {
    /// Starts the listener on `pool`'s database (when a Tokio runtime runs; otherwise
    /// every check asks the database).
    pub(crate) fn start(pool: &PgPool) -> Self {
        let recorded = Arc::new(Recorded::default());
        let (stop, mut stopped) = watch::channel(());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (pool, task_recorded) = (pool.clone(), Arc::clone(&recorded));
            runtime.spawn(async move {
                loop {
                    tokio::select! {
                        _ = stopped.changed() => return,
                        // An error (the database went away) is tried again in a
                        // second; meanwhile every check asks the database, which is
                        // exact.
                        _ = listen(&pool, &task_recorded) => {
                            task_recorded.live.store(false, Ordering::Release);
                        }
                    }
                    tokio::select! {
                        _ = stopped.changed() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            });
        }
        Self {
            recorded,
            _stop: Arc::new(stop),
        }
    }
}

async fn listen(pool: &PgPool, recorded: &Recorded) -> sqlx::Result<()> {
    if pool.is_closed() {
        return Ok(());
    }
    // A connection of its own, outside the store's pool (whose slots it would take).
    let own = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_lazy_with((*pool.connect_options()).clone());
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen(CHANNEL).await?;
    // Read after listening, so that nothing recorded in between is missed.
    prime(pool, recorded).await?;
    loop {
        match listener.try_recv().await? {
            Some(notification) => {
                if let Some((expires, key)) = notification.payload().split_once(' ')
                    && let Ok(expires) = expires.parse::<i64>()
                {
                    recorded.note(key, expires);
                }
            }
            // The connection was lost and made again: what was sent meanwhile is lost.
            None => {
                recorded.live.store(false, Ordering::Release);
                prime(pool, recorded).await?;
            }
        }
    }
}

/// Reads every recorded key of a checked scope, then goes live.
async fn prime(pool: &PgPool, recorded: &Recorded) -> sqlx::Result<()> {
    let prefixes: Vec<String> = [ThrottleScope::FailedAuth]
        .iter()
        .map(|s| format!("{}:%", s.as_str()))
        .collect();
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT key, expires_at FROM throttle_keys WHERE key LIKE ANY ($1)")
            .bind(&prefixes)
            .fetch_all(pool)
            .await?;
    for (key, expires) in rows {
        recorded.note(&key, expires);
    }
    recorded.live.store(true, Ordering::Release);
    Ok(())
}
