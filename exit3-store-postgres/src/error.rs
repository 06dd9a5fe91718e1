//! sqlx errors → the core's store errors.

use exit3_core::{StoreError, store::StoreResult};
use sqlx::migrate::MigrateError;

/// SQLSTATE classes and codes that mean "the database cannot answer now".
fn unavailable_code(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources (too many connections, …)
        || code.starts_with("57P") // admin/crash shutdown, cannot connect now
        || code == "57014" // query canceled (statement timeout)
        || code == "55P03" // lock not available (lock timeout)
        || code == "25P03" // idle-in-transaction session timeout
}

/// SQLSTATE of a failed transaction that is safe to run again: deadlock or
/// serialization failure.
pub(crate) fn is_retryable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40P01" | "40001")))
}

/// Connection loss, pool time-out, a closed pool and the server's "cannot answer now"
/// codes are [`StoreError::Unavailable`]; anything else is [`StoreError::Other`].
pub(crate) fn from_sqlx(e: sqlx::Error) -> StoreError {
    let unavailable = match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|c| unavailable_code(&c)),
        _ => false,
    };
    if unavailable {
        StoreError::unavailable(e)
    } else {
        StoreError::other(e)
    }
}

/// Whether a batch's failure `e` is sure to have written nothing: the database answered
/// an error, so its statement or transaction was rolled back. After any other failure (a
/// connection lost while the commit was on its way) the batch may be committed, and
/// writing its calls again one at a time could store them twice.
pub(crate) fn wrote_nothing(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(_))
}

/// The answers of a batch of `n` calls that failed with `e` without a sure outcome: each
/// call gets an error of `e`'s kind (`Unavailable` when the database could not be
/// reached), none is tried again.
pub(crate) fn fail_all<T>(n: usize, e: sqlx::Error) -> Vec<StoreResult<T>> {
    let first = from_sqlx(e);
    let unavailable = matches!(first, StoreError::Unavailable { .. });
    let what =
        std::error::Error::source(&first).map_or_else(|| first.to_string(), ToString::to_string);
    let mut answers = Vec::with_capacity(n);
    answers.push(Err(first));
    answers.extend((1..n).map(|_| {
        Err(if unavailable {
            StoreError::unavailable(what.clone())
        } else {
            StoreError::other(what.clone())
        })
    }));
    answers
}

/// A migration failure: unavailable when the connection failed, internal otherwise.
pub(crate) fn from_migrate(e: MigrateError) -> StoreError {
    match e {
        MigrateError::Execute(e) => from_sqlx(e),
        other => StoreError::other(other),
    }
}

/// Whether `e` is a unique violation of the index or constraint `name`.
pub(crate) fn is_unique_violation(e: &sqlx::Error, name: &str) -> bool {
    matches!(e, sqlx::Error::Database(d)
        if d.code().as_deref() == Some("23505") && d.constraint() == Some(name))
}

/// A value read from the database that the core refuses (a bug or a hand edit).
pub(crate) fn corrupt(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::other(format!("the database holds an invalid {what}: {value}"))
}

/// An error inside a transaction that is read-modify-write: a database error (which may
/// be worth a retry: [`TxError::is_retryable`]) or the core refusing what was read.
#[derive(Debug)]
pub(crate) enum TxError {
    Sql(sqlx::Error),
    Store(StoreError),
}

impl TxError {
    /// A deadlock or serialization failure: running the transaction again may succeed.
    pub(crate) fn is_retryable(&self) -> bool {
        matches!(self, Self::Sql(e) if is_retryable(e))
    }
}

impl From<sqlx::Error> for TxError {
    fn from(e: sqlx::Error) -> Self {
        Self::Sql(e)
    }
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<TxError> for StoreError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Sql(e) => from_sqlx(e),
            TxError::Store(e) => e,
        }
    }
}

/// Runs `attempt` until it succeeds, fails for good, or has met a deadlock or
/// serialization failure `attempts` times.
pub(crate) async fn retrying<T, F, Fut>(attempts: u32, mut attempt: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, TxError>>,
{
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(e) if e.is_retryable() && tried < attempts => tried += 1,
            done => return done.map_err(StoreError::from),
        }
    }
}
