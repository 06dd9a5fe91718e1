-- The throttle tables write no WAL (issue 16). Throttle state is soft — a decision
-- already commits without waiting for its WAL flush (migration 20261201000000) — yet its
-- WAL was written on every request beside the leads' and competed with it: under the
-- create load of `cpu_split.sh`, alternating with the tables logged, creates went
-- 3,841 → 4,486 and 3,547 → 3,872 a second, PostgreSQL's CPU per create 0.266 → 0.229
-- and 0.296 → 0.267 ms (BENCHMARKS.md).
-- What it costs: PostgreSQL empties unlogged tables when it recovers from a crash (not
-- after a clean shutdown), and a standby does not have their rows, so after a crash or a
-- failover every rate starts with an empty window — at most one window's more requests
-- are let through; no lead or subscriber is touched.
-- `SET UNLOGGED` rewrites each table under an ACCESS EXCLUSIVE lock: decisions wait for
-- the rewrite, which is short because the tables hold only the keys active within their
-- window (a few megabytes for a hundred thousand keys).
ALTER TABLE throttle_slots SET UNLOGGED;
ALTER TABLE throttle_keys SET UNLOGGED;
