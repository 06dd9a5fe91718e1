-- no-transaction
DROP INDEX CONCURRENTLY IF EXISTS outbox_pending_kind;
