-- Idempotency records (capture.md §2): one per caller and key (hashed), shared by every
-- instance. Safe while the previous version serves: a new table, nothing changed.
CREATE TABLE idempotency_keys (
    key          bytea PRIMARY KEY CHECK (octet_length(key) = 32),
    fingerprint  bytea NOT NULL CHECK (octet_length(fingerprint) = 32),
    -- The kept answer; both NULL while the first request runs.
    status       smallint CHECK (status BETWEEN 100 AND 599),
    body         text,
    locked_until timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
