-- no-transaction
-- The narrow status index of 20261127000000 served the count of a list filtered by
-- status; that count now sums `lead_status_counts` (kept by triggers), and the count of
-- status with other filters is served by `leads_status_created_at_id`, whose leading
-- column is the status. One index less to write on every insert (issue 16).
DROP INDEX CONCURRENTLY IF EXISTS leads_status;
