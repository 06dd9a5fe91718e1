-- Ties between refusing hits are broken on the wait a client is told — whole seconds,
-- rounded up — not on microseconds: the refusing hit reported is the first of those with
-- the longest wait in seconds (the core's `ThrottleDecision::Refused::hit`, and what the
-- memory store answers). Before, a hit waiting 2.999 s was passed over for a later one
-- waiting 3.000 s, both answered as 3 s (found by the differential test). The function
-- is otherwise the one of migration 20261201000200.
CREATE OR REPLACE FUNCTION exit3_throttle_hit(
    p_keys text[], p_limits int4[], p_periods int8[], p_records bool[], p_now int8
) RETURNS int8[]
LANGUAGE plpgsql
-- Every statement below looks rows up by key, so index scans in generic plans are
-- right whatever the statistics say: planning each call anew cost a tenth of the time,
-- and plans made while a table was empty (just created, or vacuumed after every key
-- expired) chose sequential scans and kept them, per connection, as the table grew.
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
DECLARE
    -- The locked key rows, in key order.
    k_keys   text[];
    k_caps   int4[];
    k_heads  int4[];
    k_filled int4[];
    k_newest int8[];
    j        int;
    lim      int4;
    c        int4;
    hd       int4;
    f        int4;
    oldest   int8;
    wait     int8;
    refused  int8;
    longest  int8;
    v_newest int8;
    kept     int8[];
    -- What an accepted request writes.
    w_keys   text[] := '{}';
    w_slots  int4[] := '{}';
    w_times  int8[] := '{}';
    u_keys   text[] := '{}';
    u_caps   int4[] := '{}';
    u_heads  int4[] := '{}';
    u_filled int4[] := '{}';
    u_newest int8[] := '{}';
    u_expire int8[] := '{}';
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);

    -- Creates the missing key rows and locks them all, in key order (so that two calls
    -- sharing keys cannot deadlock). The no-op DO UPDATE takes the row lock and returns
    -- the row as the previous holder left it.
    WITH locked AS (
        INSERT INTO throttle_keys AS t (key, cap, head, filled, newest, expires_at)
        SELECT u.k, u.c, 0, 0, p_now, p_now
          FROM unnest(p_keys, p_limits, p_records) AS u(k, c, r)
         WHERE u.r
         ORDER BY u.k
        ON CONFLICT (key) DO UPDATE SET cap = t.cap
        RETURNING t.key, t.cap, t.head, t.filled, t.newest
    )
    SELECT array_agg(key), array_agg(cap), array_agg(head), array_agg(filled), array_agg(newest)
      INTO k_keys, k_caps, k_heads, k_filled, k_newest
      FROM locked;

    -- Decide every hit on the state before this request.
    FOR i IN 1 .. coalesce(cardinality(p_keys), 0) LOOP
        lim := p_limits[i];
        IF p_records[i] THEN
            j := array_position(k_keys, p_keys[i]);
            IF j IS NULL THEN
                RAISE EXCEPTION 'throttle key % was not locked', p_keys[i]
                    USING ERRCODE = 'serialization_failure';
            END IF;
            c := k_caps[j];
            hd := k_heads[j];
            f := k_filled[j];
        ELSE
            -- Read, not locked; no row: nothing recorded, nothing to refuse.
            SELECT t.cap, t.head, t.filled INTO c, hd, f
              FROM throttle_keys t WHERE t.key = p_keys[i];
            IF NOT FOUND THEN
                f := 0;
            END IF;
        END IF;
        oldest := NULL;
        IF f >= lim THEN
            IF c = lim THEN
                -- A full ring: the slot at head holds the limit-th most recent time.
                SELECT s.at INTO oldest FROM throttle_slots s
                 WHERE s.key = p_keys[i] AND s.slot = hd;
            ELSE
                -- The limit changed (a new setting): the limit-th most recent kept time,
                -- counting ring positions from the oldest (position 0 at head when full).
                SELECT s.at INTO oldest FROM throttle_slots s
                 WHERE s.key = p_keys[i]
                 ORDER BY (s.slot - hd + c) % c DESC
                 OFFSET lim - 1 LIMIT 1;
            END IF;
        END IF;
        IF oldest IS NOT NULL AND oldest > p_now - p_periods[i] THEN
            wait := oldest + p_periods[i] - p_now;
            IF longest IS NULL OR (wait + 999999) / 1000000 > (longest + 999999) / 1000000 THEN
                longest := wait;
                refused := i - 1;
            END IF;
        END IF;
    END LOOP;

    IF refused IS NOT NULL THEN
        -- Nothing is recorded: not even the empty rows of keys this call created.
        DELETE FROM throttle_keys WHERE key = ANY (k_keys) AND filled = 0;
        RETURN ARRAY[refused, longest];
    END IF;

    -- Record the request in every key that records.
    FOR i IN 1 .. coalesce(cardinality(p_keys), 0) LOOP
        CONTINUE WHEN NOT p_records[i];
        j := array_position(k_keys, p_keys[i]);
        lim := p_limits[i];
        c := k_caps[j];
        hd := k_heads[j];
        f := k_filled[j];
        v_newest := greatest(k_newest[j], p_now);
        IF c = lim THEN
            w_keys := w_keys || p_keys[i];
            w_slots := w_slots || hd;
            w_times := w_times || p_now;
            u_heads := u_heads || (hd + 1) % c;
            u_filled := u_filled || least(f + 1, c);
        ELSE
            -- Rebuild the ring for the new limit, once: the newest `lim - 1` kept times,
            -- oldest first from slot 0, then this request's.
            SELECT coalesce(array_agg(r.at ORDER BY r.pos), '{}') INTO kept
              FROM (SELECT s.at, (s.slot - hd + c) % c AS pos FROM throttle_slots s
                     WHERE s.key = p_keys[i]
                     ORDER BY pos DESC LIMIT lim - 1) r;
            DELETE FROM throttle_slots WHERE key = p_keys[i];
            kept := kept || p_now;
            INSERT INTO throttle_slots (key, slot, at)
            SELECT p_keys[i], (o - 1)::int4, x.t FROM unnest(kept) WITH ORDINALITY AS x(t, o);
            u_heads := u_heads || (cardinality(kept) % lim);
            u_filled := u_filled || cardinality(kept);
        END IF;
        u_keys := u_keys || p_keys[i];
        u_caps := u_caps || lim;
        u_newest := u_newest || v_newest;
        u_expire := u_expire || (v_newest + p_periods[i]);
    END LOOP;

    INSERT INTO throttle_slots (key, slot, at)
    SELECT * FROM unnest(w_keys, w_slots, w_times)
    ON CONFLICT (key, slot) DO UPDATE SET at = excluded.at;

    UPDATE throttle_keys t
       SET cap = u.cap, head = u.head, filled = u.filled, newest = u.newest,
           expires_at = u.expires_at
      FROM unnest(u_keys, u_caps, u_heads, u_filled, u_newest, u_expire)
           AS u(key, cap, head, filled, newest, expires_at)
     WHERE t.key = u.key;

    RETURN NULL;
END
$fn$;
