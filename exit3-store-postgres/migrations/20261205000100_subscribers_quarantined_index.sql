-- no-transaction
CREATE INDEX CONCURRENTLY newsletter_subscribers_quarantined ON newsletter_subscribers (quarantined_at)
    WHERE quarantined_at IS NOT NULL;
