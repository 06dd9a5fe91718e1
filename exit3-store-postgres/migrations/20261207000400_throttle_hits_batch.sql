-- Throttle decisions a batch at a time (group commit, issue 16): `exit3_throttle_hits`
-- decides the requests of a batch one after the other, each exactly as one call of
-- `exit3_throttle_hit` would, in one statement and one transaction — a refusal is
-- counted nowhere, and a request sees what the requests before it in the batch recorded.
-- Requests are given as runs: `p_sizes[i]` hits of request i, in order; `p_nows` has
-- each hit's request's time. Answers two numbers per request: the index (from 0) of the
-- hit that refused it and the wait in microseconds, or -1 and 0 when it was accepted
-- (and recorded).
--
-- The batch's recorded keys that exist are locked first, in key order, and return their
-- state; the others start empty. The batch is then decided in memory, reading a ring
-- slot only when a full ring's oldest time decides, and what it recorded is written
-- with one statement per table: the new keys inserted once, with their final state
-- (never inserted empty and then updated, never inserted for a refused request), the
-- existing keys updated, the slots upserted. When another transaction inserted one of
-- the new keys meanwhile, the batch decided on a state that was not the latest: it
-- raises `serialization_failure` (nothing is written) and the caller decides it again,
-- now finding the key to lock. No deadlock: every insert of a key follows every lock,
-- and both go in key order. A key whose limit changed (a new setting) needs its ring
-- rebuilt: such a batch is decided by calling `exit3_throttle_hit` once per request
-- instead.
CREATE OR REPLACE FUNCTION exit3_throttle_hits(
    p_sizes int4[], p_keys text[], p_limits int4[], p_periods int8[], p_records bool[],
    p_nows int8[]
) RETURNS int8[]
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $fn$
-- The queries' column aliases are the short names of the loop's variables too.
#variable_conflict use_column
DECLARE
    answers  int8[] := '{}';
    -- The locked keys, in key order, as the batch leaves them so far.
    k_keys   text[];
    k_caps   int4[];
    k_heads  int4[];
    k_filled int4[];
    k_newest int8[];
    k_expire int8[];
    k_moved  bool[];
    -- Keys from `n_first` on were not found: they are inserted at the end, if recorded.
    n_first  int;
    n_keys   text[];
    n_caps   int4[];
    wanted   int;
    got      int;
    -- Keys only checked by this batch, as committed.
    c_keys   text[];
    c_caps   int4[];
    c_heads  int4[];
    c_filled int4[];
    -- Ring slots the decisions can read, then those the batch wrote; `s_ids` is
    -- key || chr(31) || slot, to find one.
    s_ids    text[];
    s_keys   text[];
    s_slots  int4[];
    s_times  int8[];
    s_dirty  bool[];
    first    int := 1;
    last     int;
    now_     int8;
    j        int;
    lim      int4;
    c        int4;
    hd       int4;
    f        int4;
    oldest   int8;
    wait     int8;
    refused  int8;
    longest  int8;
    id       text;
    pos      int;
    slow     bool := false;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);

    SELECT coalesce(array_agg(t.key ORDER BY t.key), '{}'), array_agg(t.cap ORDER BY t.key),
           array_agg(t.head ORDER BY t.key), array_agg(t.filled ORDER BY t.key),
           array_agg(t.newest ORDER BY t.key), array_agg(t.expires_at ORDER BY t.key),
           array_agg(false)
      INTO k_keys, k_caps, k_heads, k_filled, k_newest, k_expire, k_moved
      FROM (SELECT t.key, t.cap, t.head, t.filled, t.newest, t.expires_at
              FROM throttle_keys t
             -- `= ANY` of an array, not `IN` of a subquery, here and below: an index
             -- look-up per key whatever the statistics, where a generic plan made on
             -- an empty table read the whole index in a semi-join (10-15 ms a batch).
             WHERE t.key = ANY (ARRAY(SELECT u.k FROM unnest(p_keys, p_records) AS u(k, rec)
                                      WHERE u.rec))
             ORDER BY t.key
               FOR UPDATE) AS t;
    k_caps := coalesce(k_caps, '{}');
    k_heads := coalesce(k_heads, '{}');
    k_filled := coalesce(k_filled, '{}');
    k_newest := coalesce(k_newest, '{}');
    k_expire := coalesce(k_expire, '{}');
    k_moved := coalesce(k_moved, '{}');

    -- The recorded keys not found start empty, with the limit of their first request
    -- (as that request's call would have created them).
    n_first := cardinality(k_keys) + 1;
    SELECT coalesce(array_agg(d.k ORDER BY d.k), '{}'), coalesce(array_agg(d.c ORDER BY d.k), '{}')
      INTO n_keys, n_caps
      FROM (SELECT DISTINCT ON (u.k) u.k, u.c
              FROM unnest(p_keys, p_limits, p_records, p_nows) AS u(k, c, rec, n)
             WHERE u.rec AND u.k <> ALL (k_keys)
             ORDER BY u.k, u.n) AS d;
    k_keys := k_keys || n_keys;
    k_caps := k_caps || n_caps;
    k_heads := k_heads || array_fill(0, ARRAY[cardinality(n_keys)]);
    k_filled := k_filled || array_fill(0, ARRAY[cardinality(n_keys)]);
    k_newest := k_newest || array_fill(NULL::int8, ARRAY[cardinality(n_keys)]);
    k_expire := k_expire || array_fill(NULL::int8, ARRAY[cardinality(n_keys)]);
    k_moved := k_moved || array_fill(false, ARRAY[cardinality(n_keys)]);

    c_keys := '{}';
    IF false = ANY (p_records) THEN
        SELECT coalesce(array_agg(t.key), '{}'), array_agg(t.cap), array_agg(t.head),
               array_agg(t.filled)
          INTO c_keys, c_caps, c_heads, c_filled
          FROM throttle_keys t
         WHERE t.key = ANY (ARRAY(SELECT u.k FROM unnest(p_keys, p_records) AS u(k, rec)
                                   WHERE NOT u.rec AND u.k <> ALL (k_keys)));
    END IF;

    s_ids := '{}';
    <<requests>>
    FOR i IN 1 .. coalesce(cardinality(p_sizes), 0) LOOP
        last := first + p_sizes[i] - 1;
        now_ := p_nows[first];
        refused := NULL;
        longest := NULL;
        -- Decide every hit on the state before this request.
        FOR h IN first .. last LOOP
            lim := p_limits[h];
            j := array_position(k_keys, p_keys[h]);
            IF j IS NOT NULL THEN
                c := k_caps[j];
                hd := k_heads[j];
                f := k_filled[j];
            ELSE
                j := array_position(c_keys, p_keys[h]);
                IF j IS NULL THEN
                    c := lim;
                    f := 0;
                ELSE
                    c := c_caps[j];
                    hd := c_heads[j];
                    f := c_filled[j];
                END IF;
            END IF;
            IF c <> lim THEN
                slow := true;
                EXIT requests;
            END IF;
            IF f >= lim THEN
                -- The full ring's oldest time, at its head: as this batch left it, or
                -- as it was before.
                id := p_keys[h] || chr(31) || hd;
                pos := array_position(s_ids, id);
                IF pos IS NULL THEN
                    SELECT s.at INTO oldest FROM throttle_slots s
                     WHERE s.key = p_keys[h] AND s.slot = hd;
                    s_ids := s_ids || id;
                    s_keys := s_keys || p_keys[h];
                    s_slots := s_slots || hd;
                    s_times := s_times || oldest;
                    s_dirty := s_dirty || false;
                ELSE
                    oldest := s_times[pos];
                END IF;
                IF oldest IS NOT NULL AND oldest > now_ - p_periods[h] THEN
                    wait := oldest + p_periods[h] - now_;
                    -- Ties on the wait a client is told (whole seconds, rounded
                    -- up): the first refusing hit of the longest.
                    IF longest IS NULL
                       OR (wait + 999999) / 1000000 > (longest + 999999) / 1000000 THEN
                        longest := wait;
                        refused := h - first;
                    END IF;
                END IF;
            END IF;
        END LOOP;

        IF refused IS NOT NULL THEN
            answers := answers || ARRAY[refused, longest];
        ELSE
            -- Record the request in every key that records.
            FOR h IN first .. last LOOP
                CONTINUE WHEN NOT p_records[h];
                j := array_position(k_keys, p_keys[h]);
                c := k_caps[j];
                hd := k_heads[j];
                id := p_keys[h] || chr(31) || hd;
                pos := array_position(s_ids, id);
                IF pos IS NULL THEN
                    s_ids := s_ids || id;
                    s_keys := s_keys || p_keys[h];
                    s_slots := s_slots || hd;
                    s_times := s_times || now_;
                    s_dirty := s_dirty || true;
                ELSE
                    s_times[pos] := now_;
                    s_dirty[pos] := true;
                END IF;
                k_heads[j] := (hd + 1) % c;
                k_filled[j] := least(k_filled[j] + 1, c);
                k_newest[j] := greatest(k_newest[j], now_);
                k_expire[j] := k_newest[j] + p_periods[h];
                k_moved[j] := true;
            END LOOP;
            answers := answers || ARRAY[-1, 0]::int8[];
        END IF;
        first := last + 1;
    END LOOP;

    IF slow THEN
        -- A key's limit changed (a new setting), and its ring must be rebuilt: nothing
        -- is written yet, and the batch is decided by a call per request instead.
        answers := '{}';
        first := 1;
        FOR i IN 1 .. cardinality(p_sizes) LOOP
            last := first + p_sizes[i] - 1;
            answers := answers || coalesce(
                exit3_throttle_hit(p_keys[first:last], p_limits[first:last],
                                   p_periods[first:last], p_records[first:last],
                                   p_nows[first]),
                ARRAY[-1, 0]::int8[]);
            first := last + 1;
        END LOOP;
        RETURN answers;
    END IF;

    -- The new keys that recorded something, with their final state. One missing from
    -- what was inserted was inserted by another transaction since this one looked.
    wanted := 0;
    FOR j2 IN n_first .. cardinality(k_keys) LOOP
        IF k_filled[j2] > 0 THEN
            wanted := wanted + 1;
        END IF;
    END LOOP;
    IF wanted > 0 THEN
        WITH inserted AS (
            INSERT INTO throttle_keys (key, cap, head, filled, newest, expires_at)
            SELECT u.key, u.c, u.hd, u.f, u.n, u.e
              FROM unnest(k_keys[n_first:], k_caps[n_first:], k_heads[n_first:],
                          k_filled[n_first:], k_newest[n_first:], k_expire[n_first:])
                   AS u(key, c, hd, f, n, e)
             WHERE u.f > 0
             ORDER BY u.key
            ON CONFLICT (key) DO NOTHING
            RETURNING 1
        )
        SELECT count(*) INTO got FROM inserted;
        IF got < wanted THEN
            RAISE EXCEPTION 'a throttle key was created by another transaction'
                USING ERRCODE = 'serialization_failure';
        END IF;
    END IF;

    UPDATE throttle_keys t
       SET head = u.hd, filled = u.f, newest = u.n, expires_at = u.e
      FROM unnest(k_keys[:n_first - 1], k_heads[:n_first - 1], k_filled[:n_first - 1],
                  k_newest[:n_first - 1], k_expire[:n_first - 1], k_moved[:n_first - 1])
           AS u(key, hd, f, n, e, moved)
     WHERE t.key = u.key AND u.moved;

    INSERT INTO throttle_slots (key, slot, at)
    SELECT u.k, u.s, u.t FROM unnest(s_keys, s_slots, s_times, s_dirty) AS u(k, s, t, d)
     WHERE u.d
    ON CONFLICT (key, slot) DO UPDATE SET at = excluded.at;

    RETURN answers;
END
$fn$;
