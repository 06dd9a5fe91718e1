-- no-transaction
CREATE INDEX CONCURRENTLY leads_quarantined ON leads (quarantined_at) WHERE quarantined_at IS NOT NULL;
