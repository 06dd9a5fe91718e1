-- Seed exit3's own schema (migrations of exit3-store-postgres) with :rows leads, each
-- with its client_info row: the same distribution as the Django peer's seed.sql
-- (i = 1..rows): status by i % 5 (20 % "new"), source by i % 6, category by
-- (i / 6) % 6, created_at = now() - i * 5 minutes. Throttle state is emptied too.
\set ON_ERROR_STOP on
BEGIN;
TRUNCATE leads, client_info, throttle_keys, throttle_slots RESTART IDENTITY;

INSERT INTO leads
       (id, full_name, position, company_name, email, phone, message,
        status, source, category, created_at, updated_at)
SELECT i,
       fn || ' ' || ln,
       (ARRAY['CEO', 'CTO', 'Product Manager', 'Marketing Lead', 'Founder', 'Developer'])[1 + i % 6],
       CASE WHEN i % 7 = 0 THEN NULL ELSE 'Company ' || (i % 997) || ' Ltd' END,
       lower(fn) || '.' || lower(ln) || i || '@example.com',
       '+1 555 ' || lpad((i % 10000)::text, 4, '0'),
       'Hello, we are looking for a partner for a new project and would like to '
         || 'discuss scope, timeline and budget. Reference #' || i || '.',
       (ARRAY['new', 'contacted', 'qualified', 'converted', 'lost'])[1 + i % 5],
       (ARRAY['website', 'referral', 'social', 'email', 'event', 'other'])[1 + i % 6],
       (ARRAY['web_dev', 'mobile_dev', 'design', 'marketing', 'consulting', 'other'])[1 + (i / 6) % 6],
       now() - i * interval '5 minutes',
       now() - i * interval '5 minutes'
  FROM (SELECT i,
               (ARRAY['Anna', 'Boris', 'Chen', 'Dana', 'Emil', 'Fatima', 'Georg', 'Hana', 'Ivan', 'Julia'])[1 + i % 10] AS fn,
               (ARRAY['Smith', 'Novak', 'Garcia', 'Kowalski', 'Tanaka', 'Müller', 'Rossi', 'Silva', 'Jensen', 'Petrov'])[1 + (i / 10) % 10] AS ln
          FROM generate_series(1, :rows) AS i) AS g;

INSERT INTO client_info
       (lead_id, ip_address, user_agent, referrer, utm_source, utm_medium, utm_campaign)
SELECT i,
       ('198.51.100.' || (i % 250 + 1))::inet,
       'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36',
       'https://exit3.agency/contact',
       (ARRAY['google', 'linkedin', 'newsletter', NULL])[1 + i % 4],
       (ARRAY['cpc', 'social', 'email', NULL])[1 + i % 4],
       (ARRAY['spring-launch', 'webinar', NULL, NULL])[1 + i % 4]
  FROM generate_series(1, :rows) AS i;
SELECT setval(pg_get_serial_sequence('leads', 'id'), :rows) AS lead_seq \gset
COMMIT;

VACUUM ANALYZE leads;
VACUUM ANALYZE client_info;
VACUUM ANALYZE throttle_keys;
VACUUM ANALYZE throttle_slots;
SELECT count(*) AS leads, count(*) FILTER (WHERE status = 'new') AS status_new FROM leads;
