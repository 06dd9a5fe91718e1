-- Exact lead counts per status, kept by triggers.
--
-- The admin's most common lists (`GET leads/`, `GET leads/?status=new`) need the count of
-- every matching lead, exactly (DRF's count is exact). `count(*)` visits every matching
-- index entry: 20,000 for 20,000 new leads. Here every statement that inserts, deletes
-- or changes the status of leads adds one row per status it changed (`+n` or `-n`), and
-- the count of a status is the sum of its rows — read in the same snapshot as the page,
-- so as exact and as consistent as `count(*)`, whatever runs concurrently. Writers only
-- ever insert rows, so they never wait for each other here. The store folds the rows
-- into one per status every so often (`exit3_fold_lead_counts`, see `lead.rs`: after
-- every 64 of its lead writes and lists, so also after other writers), so the table
-- stays a handful of rows.
CREATE TABLE lead_status_counts (
    status text NOT NULL,
    n      bigint NOT NULL
);

CREATE FUNCTION exit3_lead_counts_on_insert() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO lead_status_counts (status, n)
    SELECT status, count(*) FROM exit3_new_leads GROUP BY status;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION exit3_lead_counts_on_delete() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO lead_status_counts (status, n)
    SELECT status, -count(*) FROM exit3_old_leads GROUP BY status;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION exit3_lead_counts_on_update() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO lead_status_counts (status, n)
    SELECT status, sum(d) FROM (
        SELECT status, -1 AS d FROM exit3_old_leads
        UNION ALL
        SELECT status, 1 AS d FROM exit3_new_leads
    ) changes
    GROUP BY status
    HAVING sum(d) <> 0;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION exit3_lead_counts_on_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM lead_status_counts;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER leads_count_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS exit3_new_leads
    FOR EACH STATEMENT EXECUTE FUNCTION exit3_lead_counts_on_insert();
CREATE TRIGGER leads_count_delete AFTER DELETE ON leads
    REFERENCING OLD TABLE AS exit3_old_leads
    FOR EACH STATEMENT EXECUTE FUNCTION exit3_lead_counts_on_delete();
CREATE TRIGGER leads_count_update AFTER UPDATE ON leads
    REFERENCING OLD TABLE AS exit3_old_leads NEW TABLE AS exit3_new_leads
    FOR EACH STATEMENT EXECUTE FUNCTION exit3_lead_counts_on_update();
CREATE TRIGGER leads_count_truncate AFTER TRUNCATE ON leads
    FOR EACH STATEMENT EXECUTE FUNCTION exit3_lead_counts_on_truncate();

-- The leads already there (the triggers' lock on `leads` keeps writers out until this
-- migration commits).
INSERT INTO lead_status_counts (status, n)
SELECT status, count(*) FROM leads GROUP BY status;

-- Folds the rows of every status that has more than one into one (a no-op, writing
-- nothing, when they are folded already). Concurrent folds and writers are safe: a fold
-- deletes only rows it sees and locks, and writers only insert.
CREATE FUNCTION exit3_fold_lead_counts() RETURNS void
LANGUAGE sql AS $fn$
    WITH gone AS (
        DELETE FROM lead_status_counts
         WHERE status IN (SELECT status FROM lead_status_counts
                           GROUP BY status HAVING count(*) > 1)
        RETURNING status, n
    )
    INSERT INTO lead_status_counts (status, n)
    SELECT status, sum(n) FROM gone GROUP BY status HAVING sum(n) <> 0;
$fn$;
