//! Connection settings and the start-up connect with back-off.

use std::{str::FromStr, time::Duration};

use exit3_core::StoreError;
use sqlx::{
    Connection, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::error;

/// How to reach PostgreSQL and how to pool connections. Every setting has a default
/// fit for one server instance; [`PostgresOptions::new`] takes only the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresOptions {
    /// `postgres://user:password@host:port/database?…` (libpq's URL form).
    pub url: String,
    /// The most connections open at once. Default 10.
    pub max_connections: u32,
    /// Connections kept open even when idle. Default 0.
    pub min_connections: u32,
    /// How long a call waits for a free connection (or a new one) before it answers
    /// [`StoreError::Unavailable`]. Default 2 s (`DB_ACQUIRE_TIMEOUT`).
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout`, `lock_timeout` and
    /// `idle_in_transaction_session_timeout` on every pooled connection: a statement
    /// that runs or waits for a lock longer is cancelled, and the call answers
    /// [`StoreError::Unavailable`] instead of holding its connection (and its caller) for
    /// ever. Default 5 s (`DB_STATEMENT_TIMEOUT`); `None` leaves the server's settings.
    /// Migrations run without these limits.
    pub statement_timeout: Option<Duration>,
    /// An idle connection is closed after this long. Default 10 minutes.
    pub idle_timeout: Option<Duration>,
    /// A connection is closed after this long, idle or not. Default 30 minutes.
    pub max_lifetime: Option<Duration>,
    /// How long [`PostgresStore::connect`](crate::PostgresStore::connect) keeps
    /// retrying, with back-off from 100 ms to 5 s, while the database cannot be
    /// reached. Default 30 s; zero tries once.
    pub connect_retry_for: Duration,
    /// A pooled connection that sat idle at least this long is pinged before a call gets
    /// it, and replaced if the ping fails, so the store recovers by itself after an
    /// outage or a restart of the database. Connections in steady use are not pinged: a
    /// ping is a round trip, and a connection that breaks while in use fails its call as
    /// [`StoreError::Unavailable`] and is closed when released. Default 1 s; zero pings
    /// before every call.
    pub ping_after_idle: Duration,
}

impl PostgresOptions {
    /// The defaults, for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(2),
            statement_timeout: Some(Duration::from_secs(5)),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            connect_retry_for: Duration::from_secs(30),
            ping_after_idle: Duration::from_secs(1),
        }
    }

    /// Sets [`PostgresOptions::max_connections`].
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets [`PostgresOptions::min_connections`].
    pub fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }

    /// Sets [`PostgresOptions::acquire_timeout`].
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Sets [`PostgresOptions::statement_timeout`].
    pub fn statement_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// The connection settings these options stand for: the URL's, with the timeouts.
    pub fn connect_options(&self) -> Result<PgConnectOptions, StoreError> {
        let options = PgConnectOptions::from_str(&self.url).map_err(StoreError::other)?;
        Ok(match self.statement_timeout {
            None => options,
            Some(t) => {
                let ms = format!("{}ms", t.as_millis().max(1));
                options.options([
                    ("statement_timeout", ms.as_str()),
                    ("lock_timeout", ms.as_str()),
                    ("idle_in_transaction_session_timeout", ms.as_str()),
                ])
            }
        })
    }

    /// Sets [`PostgresOptions::idle_timeout`].
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Sets [`PostgresOptions::max_lifetime`].
    pub fn max_lifetime(mut self, lifetime: Option<Duration>) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// Sets [`PostgresOptions::connect_retry_for`].
    pub fn connect_retry_for(mut self, total: Duration) -> Self {
        self.connect_retry_for = total;
        self
    }

    /// Sets [`PostgresOptions::ping_after_idle`].
    pub fn ping_after_idle(mut self, idle: Duration) -> Self {
        self.ping_after_idle = idle;
        self
    }

    /// The sqlx pool settings these options stand for.
    pub fn pool_options(&self) -> PgPoolOptions {
        let ping_after_idle = self.ping_after_idle;
        PgPoolOptions::new()
            .max_connections(self.max_connections.max(1))
            .min_connections(self.min_connections)
            .acquire_timeout(self.acquire_timeout)
            .idle_timeout(self.idle_timeout)
            .max_lifetime(self.max_lifetime)
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= ping_after_idle {
                        // An error closes the connection; the pool opens another.
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
    }
}

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(crate) async fn connect(options: &PostgresOptions) -> Result<PgPool, StoreError> {
    let connect = options.connect_options()?;
    let started = tokio::time::Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        // One plain connection per attempt (the pool's own connect would retry for its
        // whole acquire time-out), bounded by the time left.
        let left = options.connect_retry_for.saturating_sub(started.elapsed());
        let attempt = tokio::time::timeout(
            left.max(options.acquire_timeout),
            PgConnection::connect_with(&connect),
        )
        .await;
        let e = match attempt {
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
                return options
                    .pool_options()
                    .connect_with(connect)
                    .await
                    .map_err(error::from_sqlx);
            }
            Ok(Err(e)) => error::from_sqlx(e),
            Err(elapsed) => StoreError::unavailable(elapsed),
        };
        let left = options.connect_retry_for.saturating_sub(started.elapsed());
        if !e.is_unavailable() || left.is_zero() {
            return Err(e);
        }
        tokio::time::sleep(backoff.min(left)).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
