-- The trigram index's pending list (GIN `fastupdate`) is merged into the index by the
-- insert that finds it over `gin_pending_list_limit`: with the default 4 MB that insert,
-- and so a whole batch of creates, took 48–59 ms instead of about 2 (issue 16; p99 of the
-- create load 25–38 ms). With 256 kB a merge costs at most about 11 ms and the p99 was
-- 20–21 ms, the throughput the same within the noise; keeping the pending list (rather
-- than `fastupdate = off`) matters more: without it a batch's mean time rose from 1.9 to
-- 3.1 ms and the creates per second fell by a quarter (BENCHMARKS.md).
-- Changing this storage parameter takes a SHARE UPDATE EXCLUSIVE lock: inserts and reads go
-- on meanwhile.
ALTER INDEX leads_search_trgm SET (gin_pending_list_limit = 256);
