-- Quarantined subscriptions (capture.md §1): stored with their reasons, left out of the
-- usual lists, mailed nothing until released. Safe while the previous version serves:
-- two nullable columns without a default (no rewrite); the previous version writes no
-- quarantine, and its whole-row writes leave these columns alone.
ALTER TABLE newsletter_subscribers
    ADD COLUMN quarantine_reasons text[],
    ADD COLUMN quarantined_at timestamptz;
