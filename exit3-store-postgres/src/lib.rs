#![doc = include_str!("../README.md")]

mod batch;
mod checked;
mod error;
mod history;
mod idempotency;
mod lead;
mod lead_admit;
mod lead_counts;
mod lead_insert;
mod lead_list;
mod options;
mod outbox;
mod privacy;
mod quarantine;
mod query;
mod retention;
mod staff;
mod subscriber;
#[cfg(feature = "testing")]
pub mod testing;
mod throttle;
mod throttle_batch;
mod webhook;

use async_trait::async_trait;
use exit3_core::{
    StoreError,
    store::{HealthCheck, StoreResult},
};
use sqlx::{PgPool, migrate::Migrator};

pub use crate::options::PostgresOptions;

/// The advisory lock an instance holds while it migrates (`exit3_mg` in ASCII).
const MIGRATION_LOCK: i64 = 0x6578_6974_335f_6d67;

/// The embedded migrations of `migrations/`, applied by [`PostgresStore::migrate`].
///
/// Exposed so that tools (a `migrate` sub-command, test harnesses) can inspect or run
/// them themselves.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// exit3's store on PostgreSQL: every capability of
/// [`exit3_core::Store`], shared safely by any number of server instances.
///
/// Cloning is cheap and clones share the pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// What is known of recorded check-only throttle keys (see `checked.rs`).
    checks: checked::Checks,
    /// Throttle decisions, a batch at a time (group commit, `batch.rs`).
    hits: std::sync::Arc<
        batch::Batcher<throttle_batch::HitJob, StoreResult<exit3_core::ThrottleDecision>>,
    >,
    /// New leads, written a batch at a time (group commit, `batch.rs`).
    leads: std::sync::Arc<batch::Batcher<lead_insert::NewLeadJob, StoreResult<exit3_core::Lead>>>,
    /// Creates' throttle decisions and leads, together a batch at a time (`lead_admit.rs`).
    admitted: std::sync::Arc<
        batch::Batcher<
            lead_admit::AdmitJob,
            StoreResult<exit3_core::store::Admitted<exit3_core::Lead>>,
        >,
    >,
    /// Subscribes, a batch at a time (group commit, `batch.rs`).
    subscribes: std::sync::Arc<
        batch::Batcher<
            subscriber::batch::SubscribeJob,
            StoreResult<(exit3_core::Subscriber, exit3_core::SubscribeOutcome)>,
        >,
    >,
}

impl PostgresStore {
    /// Connects with `options`, retrying with back-off for
    /// [`PostgresOptions::connect_retry_for`] while the database cannot be reached (it
    /// may start after the server). Answers [`StoreError::Unavailable`] when it never could,
    /// and [`StoreError::Other`] for an unusable URL. Does not migrate: call
    /// [`PostgresStore::migrate`].
    pub async fn connect(options: PostgresOptions) -> StoreResult<Self> {
        options::connect(&options).await.map(Self::from_pool)
    }

    /// A store on an existing pool (whose settings are then the caller's). Starts the
    /// store's background tasks on the current tokio runtime.
    pub fn from_pool(pool: PgPool) -> Self {
        let checks = checked::Checks::start(&pool);
        let leads = {
            let (pool, checks) = (pool.clone(), checks.clone());
            batch::Batcher::start(lead_insert::LIMITS, move |jobs| {
                let (pool, listeners) = (pool.clone(), !checks.recorded.no_lead_listeners());
                async move { lead_insert::write(&pool, jobs, listeners).await }
            })
        };
        let hits = {
            let (pool, checks) = (pool.clone(), checks.clone());
            batch::Batcher::start(throttle_batch::LIMITS, move |jobs| {
                let (pool, checks) = (pool.clone(), checks.clone());
                async move { throttle_batch::write(&pool, &checks, jobs).await }
            })
        };
        let admitted = {
            let (pool, checks) = (pool.clone(), checks.clone());
            batch::Batcher::start(lead_admit::LIMITS, move |jobs| {
                let (pool, checks) = (pool.clone(), checks.clone());
                let listeners = !checks.recorded.no_lead_listeners();
                async move { lead_admit::write(&pool, &checks, jobs, listeners).await }
            })
        };
        let subscribes = {
            let pool = pool.clone();
            batch::Batcher::start(subscriber::batch::LIMITS, move |jobs| {
                let pool = pool.clone();
                async move { subscriber::batch::write(&pool, jobs).await }
            })
        };
        Self {
            pool,
            checks,
            hits: std::sync::Arc::new(hits),
            leads: std::sync::Arc::new(leads),
            admitted: std::sync::Arc::new(admitted),
            subscribes: std::sync::Arc::new(subscribes),
        }
    }

    /// The pool, for embedders that need their own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations that the database does not have yet.
    ///
    /// Safe when several instances start at once: sqlx's migrator holds a PostgreSQL
    /// advisory lock (keyed by the database name) while it checks and applies, so one
    /// instance migrates and the others then find nothing to do. The migration runs on a
    /// connection of its own that is closed afterwards, so that a failure cannot leave
    /// the lock held by a pooled connection.
    pub async fn migrate(&self) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(error::from_sqlx)?;
        // Index builds on big tables and the wait for another instance's migration lock
        // take as long as they take: no statement, lock or idle timeout here.
        sqlx::raw_sql(
            "SET statement_timeout = 0; SET lock_timeout = 0; \
             SET idle_in_transaction_session_timeout = 0",
        )
        .execute(&mut *conn)
        .await
        .map_err(error::from_sqlx)?;
        // One instance migrates at a time. sqlx's own lock is waited for inside a
        // statement, and a waiting statement holds a snapshot that a concurrent index
        // build waits for — a deadlock with the instance building. Polling a lock of our
        // own holds no snapshot between tries; once it is ours, sqlx's is free.
        loop {
            let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(MIGRATION_LOCK)
                .fetch_one(&mut *conn)
                .await
                .map_err(error::from_sqlx)?;
            if ours {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Released with the connection, which is closed after.
        let result = MIGRATOR.run(&mut *conn).await;
        conn.close_on_drop();
        result.map_err(error::from_migrate)
    }

    /// Closes the pool: later calls answer [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl HealthCheck for PostgresStore {
    async fn health(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(StoreError::unavailable)
    }
}
