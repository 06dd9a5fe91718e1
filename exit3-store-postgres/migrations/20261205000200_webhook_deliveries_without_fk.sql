-- A webhook delivery's row no longer checks its outbox row by a foreign key: the check
-- was a trigger with a row lock on the freshly inserted outbox row, about 0.3 ms of the
-- 0.7 ms a delivery's two inserts took (EXPLAIN ANALYZE), on every create that has an
-- endpoint to tell. Both rows are written by one statement and deleted by one (an
-- erasure deletes the delivery rows with their outbox rows), so they cannot part.
-- Dropping a constraint is a catalog change: a brief lock, no scan, no rewrite. The
-- previous version never deletes outbox rows, so it needs no cascade while it serves.
ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_outbox_id_fkey;
