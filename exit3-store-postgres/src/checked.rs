//! Check-only throttle hits without a round trip. Every admin request checks its
//! address's `failed_auth` key (so that a locked-out address cannot learn that a guessed
//! key is right); almost always that key has nothing recorded, and asking the database
//! so cost a list a fifth of its throughput. Each store keeps the keys of checked scopes
//! that have something recorded, with when it expires — read once from `throttle_keys`
//! and then kept current by `NOTIFY`, which every instance sends when it records such a
//! key — and answers a check of a key it knows to be clear itself. While the listener is
//! not connected (starting, reconnecting) it asks the database as before.
//!
//! The same listener keeps whether any enabled webhook endpoint listens for
//! `lead.created` (a trigger announces every change of `webhook_endpoints`), so that a
//! create with nobody to tell is written without its event rows. A change reaches the
//! other instances within the notification's latency (milliseconds); until then they
//! use what they knew.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, AtomicU64, Ordering},
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
/// The channel every change of `webhook_endpoints` is announced on (by a trigger).
const WEBHOOKS_CHANNEL: &str = "exit3_webhooks_changed";

/// What is known of the endpoints that listen for `lead.created`: the low two bits of
/// [`Recorded::lead_listeners`], above them a count of this store's own changes (a read
/// begun before a change must not overwrite what the change made unknown).
const UNKNOWN: u64 = 0;
const NONE: u64 = 1;
const SOME: u64 = 2;

/// What this store knows of the recorded keys of checked scopes.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    /// The listener is connected and `expiry` complete.
    live: AtomicBool,
    /// Key → when its recorded state expires (µs).
    expiry: Mutex<HashMap<String, i64>>,
    /// `changes << 2 | ` [`UNKNOWN`], [`NONE`] or [`SOME`].
    lead_listeners: AtomicU64,
}

impl Recorded {
    /// This store changed an endpoint: until the listener has read them again, every
    /// create is written with its events.
    pub(crate) fn endpoints_changed(&self) {
        let _ = self
            .lead_listeners
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some((((v >> 2) + 1) << 2) | UNKNOWN)
            });
    }

    /// Stores what a read begun at `seen` found, unless this store changed an endpoint
    /// since.
    fn listeners_read(&self, seen: u64, any: bool) {
        let found = if any { SOME } else { NONE };
        let _ = self
            .lead_listeners
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                (v >> 2 == seen >> 2).then_some(((v >> 2) << 2) | found)
            });
    }

    /// Whether no enabled endpoint listens for `lead.created`, as far as is known
    /// (`false` when it is not known).
    pub(crate) fn no_lead_listeners(&self) -> bool {
        self.live.load(Ordering::Acquire)
            && self.lead_listeners.load(Ordering::Acquire) & 0b11 == NONE
    }

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
                && h.scope().is_checked_without_recording()
                && expiry.get(h.key.as_str()).is_none_or(|&e| e <= now)
        })
    }

    /// The recorded hits of checked scopes in `hits`, with when their state expires:
    /// what the store announces after recording them (and notes at once itself).
    pub(crate) fn announce(&self, hits: &[ThrottleHit], now: i64) -> Vec<String> {
        hits.iter()
            .filter(|h| h.records() && h.scope().is_checked_without_recording())
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
    listener.listen_all([CHANNEL, WEBHOOKS_CHANNEL]).await?;
    // Read after listening, so that nothing recorded in between is missed.
    prime(pool, recorded).await?;
    loop {
        match listener.try_recv().await? {
            Some(notification) if notification.channel() == WEBHOOKS_CHANNEL => {
                recorded.endpoints_changed();
                read_listeners(pool, recorded).await?;
            }
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
    let prefixes: Vec<String> = ThrottleScope::ALL
        .into_iter()
        .filter(|s| s.is_checked_without_recording())
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
    read_listeners(pool, recorded).await?;
    recorded.live.store(true, Ordering::Release);
    Ok(())
}

/// Reads whether any enabled endpoint listens for `lead.created`.
async fn read_listeners(pool: &PgPool, recorded: &Recorded) -> sqlx::Result<()> {
    let seen = recorded.lead_listeners.load(Ordering::Acquire);
    let any: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE enabled \
           AND (events @> ARRAY['*'] OR events @> ARRAY['lead.created']))",
    )
    .fetch_one(pool)
    .await?;
    recorded.listeners_read(seen, any);
    Ok(())
}
