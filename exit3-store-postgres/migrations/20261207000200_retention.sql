-- Retention (privacy.md §2). A step that walks a table in id order keeps how far it got,
-- so that each run reads only what is new since the last (clearing old leads' client
-- info would otherwise revisit every lead it already cleared); the row is also the lock
-- that keeps two instances from running one step at once.
CREATE TABLE retention_marks (
    step    text PRIMARY KEY,
    last_id bigint NOT NULL DEFAULT 0
);
INSERT INTO retention_marks (step) VALUES ('client_info');
