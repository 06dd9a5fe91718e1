//! Retention on PostgreSQL (issue 15's benchmark): `ROWS` expired records of each step
//! (default 100,000) removed by the maintenance step's batches — the total time, and the
//! longest batch, which is the longest any retention transaction holds its row locks.
//!
//! ```sh
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!     cargo bench --bench retention --all-features        # ROWS=100000 by default
//! ```
//!
//! Each step runs on its own fresh, migrated database with `ROWS` rows it takes and as
//! many it must leave (newer ones), the rows seeded by SQL (each lead with its client
//! info and a `created` history entry, as a create writes them).

use std::time::{Duration, Instant};

use exit3::{
    Timestamp, clock::from_micros, privacy::RetentionStep, store::Maintenance, worker::PURGE_BATCH,
};
use exit3_store_postgres::testing;

const DAY_MICROS: i64 = 86_400_000_000;

/// The SQL that seeds `rows` records `step` takes (created 100 days before `now`) and
/// `rows` it leaves (created a day before); the deliveries' for the last step.
fn seed(step: RetentionStep) -> &'static str {
    match step {
        RetentionStep::Leads | RetentionStep::ClientInfo | RetentionStep::QuarantinedLeads => {
            "INSERT INTO leads (full_name, position, email, status, source, category, created_at,
                                updated_at, quarantine_reasons, quarantined_at)
             SELECT 'Lead ' || i, 'CTO', 'lead' || i || '@example.com', 'new', 'website', 'other',
                    t, t, CASE WHEN $3 THEN ARRAY['honeypot'] END, CASE WHEN $3 THEN t END
             FROM generate_series(1, $1 * 2) AS i,
                  LATERAL (SELECT to_timestamp(($2 - CASE WHEN i <= $1 THEN 100 ELSE 1 END
                                                    * 86400000000::int8 + i) / 1e6) AS t) AS x;
             INSERT INTO client_info (lead_id, ip_address, user_agent, referrer)
             SELECT id, '198.51.100.7', 'Mozilla/5.0 (bench)', 'https://exit3.agency/' FROM leads;
             INSERT INTO history (at, actor, action, object_kind, object_id)
             SELECT created_at, 'api:public', 'created', 'lead', id FROM leads;"
        }
        RetentionStep::QuarantinedSubscribers | RetentionStep::PendingSubscribers => {
            "INSERT INTO newsletter_subscribers (email, status, source, created_at, updated_at,
                                                quarantine_reasons, quarantined_at)
             SELECT 's' || i || '@example.com', 'pending', 'website', t, t,
                    CASE WHEN $3 THEN ARRAY['honeypot'] END, CASE WHEN $3 THEN t END
             FROM generate_series(1, $1 * 2) AS i,
                  LATERAL (SELECT to_timestamp(($2 - CASE WHEN i <= $1 THEN 100 ELSE 1 END
                                                    * 86400000000::int8 + i) / 1e6) AS t) AS x;"
        }
        _ => {
            "INSERT INTO outbox (kind, topic, payload, status, attempts, next_attempt_at,
                                 created_at, updated_at)
             SELECT 'mail', 'notification', '{\"to\": \"sales@exit3.agency\", \"body\": \"{}\"}',
                    'delivered', 1, t, t, t
             FROM generate_series(1, $1 * 2) AS i,
                  LATERAL (SELECT to_timestamp(($2 - CASE WHEN i <= $1 THEN 100 ELSE 1 END
                                                    * 86400000000::int8 + i) / 1e6) AS t) AS x;"
        }
    }
}

fn main() {
    if std::env::var_os("DATABASE_URL").is_none() {
        eprintln!("DATABASE_URL is not set: retention is not benchmarked");
        return;
    }
    let rows: i64 = std::env::var("ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let now_micros = 1_800_000_000_000_000_i64;
    let now: Timestamp = from_micros(now_micros);
    let before = from_micros(now_micros - 30 * DAY_MICROS);
    println!(
        "retention of {rows} expired rows a step (as many newer ones stay), batches of {PURGE_BATCH}"
    );
    for step in [
        RetentionStep::QuarantinedLeads,
        RetentionStep::Leads,
        RetentionStep::ClientInfo,
        RetentionStep::PendingSubscribers,
        RetentionStep::QuarantinedSubscribers,
        RetentionStep::Deliveries,
    ] {
        rt.block_on(async {
            let Some(db) = testing::test_db().await else {
                return;
            };
            let store = db.store().await;
            let quarantined = matches!(
                step,
                RetentionStep::QuarantinedLeads | RetentionStep::QuarantinedSubscribers
            );
            for statement in seed(step).split(';').filter(|s| !s.trim().is_empty()) {
                let mut query = sqlx::query(statement);
                if statement.contains("$1") {
                    query = query.bind(rows).bind(now_micros).bind(quarantined);
                }
                query
                    .execute(store.pool())
                    .await
                    .unwrap_or_else(|e| panic!("seeding {}: {e}", step.as_str()));
            }
            sqlx::query("VACUUM ANALYZE")
                .execute(store.pool())
                .await
                .expect("vacuum");
            let started = Instant::now();
            let (mut total, mut batches, mut longest) = (0, 0, Duration::ZERO);
            loop {
                let at = Instant::now();
                let taken = store
                    .retain(step, before, PURGE_BATCH, now)
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", step.as_str()));
                longest = longest.max(at.elapsed());
                batches += 1;
                total += taken;
                if taken < u64::from(PURGE_BATCH) {
                    break;
                }
            }
            let took = started.elapsed();
            println!(
                "{:<24} {total:>7} taken in {batches:>4} batches: {:>7.2} s, {:>7.0} rows/s, \
                 longest batch {:>6.1} ms",
                step.as_str(),
                took.as_secs_f64(),
                total as f64 / took.as_secs_f64(),
                longest.as_secs_f64() * 1000.0
            );
            assert_eq!(total, rows as u64, "{} took what it should", step.as_str());
            store.close().await;
            db.drop_database().await;
        });
    }
}
