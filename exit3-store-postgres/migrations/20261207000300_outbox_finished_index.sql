-- no-transaction
-- Finished outbox messages by their last change: what delivery retention removes, the
-- oldest first, a batch at a time.
CREATE INDEX CONCURRENTLY outbox_finished ON outbox (updated_at, id) WHERE status <> 'pending';
