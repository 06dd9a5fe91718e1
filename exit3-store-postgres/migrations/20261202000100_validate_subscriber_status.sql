-- no-transaction
-- Validates the wider status check of the previous migration: a scan that takes only a
-- SHARE UPDATE EXCLUSIVE lock, so writers go on meanwhile.
ALTER TABLE newsletter_subscribers VALIDATE CONSTRAINT newsletter_subscribers_status_check;
