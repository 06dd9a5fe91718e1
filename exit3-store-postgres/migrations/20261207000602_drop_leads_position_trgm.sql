-- no-transaction
-- Replaced by leads_search_trgm (one index over the searchable fields).
DROP INDEX CONCURRENTLY IF EXISTS leads_position_trgm;
