-- Quarantined leads (capture.md §1): stored with their reasons, left out of the usual
-- lists and of the per-status counts until released. Safe while the previous version
-- serves: two nullable columns without a default (no rewrite), and the count triggers
-- replaced so that they count accepted leads only (every existing lead is accepted,
-- so the kept counts stay exact). The previous version writes no quarantine.
ALTER TABLE leads ADD COLUMN quarantine_reasons text[], ADD COLUMN quarantined_at timestamptz;

CREATE OR REPLACE FUNCTION exit3_lead_counts_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO lead_status_counts (status, n)
    SELECT status, count(*) FROM exit3_new_leads WHERE quarantined_at IS NULL GROUP BY status;
    RETURN NULL;
END
$fn$;

CREATE OR REPLACE FUNCTION exit3_lead_counts_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO lead_status_counts (status, n)
    SELECT status, -count(*) FROM exit3_old_leads WHERE quarantined_at IS NULL GROUP BY status;
    RETURN NULL;
END
$fn$;

-- A release (quarantined → accepted) counts its lead in; a status change of an accepted
-- lead moves it.
CREATE OR REPLACE FUNCTION exit3_lead_counts_on_update() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO lead_status_counts (status, n)
    SELECT status, sum(d) FROM (
        SELECT status, -1 AS d FROM exit3_old_leads WHERE quarantined_at IS NULL
        UNION ALL
        SELECT status, 1 AS d FROM exit3_new_leads WHERE quarantined_at IS NULL
    ) changes
    GROUP BY status
    HAVING sum(d) <> 0;
    RETURN NULL;
END
$fn$;
