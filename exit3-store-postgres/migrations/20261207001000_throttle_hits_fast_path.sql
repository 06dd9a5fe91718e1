-- Throttle decisions without the per-hit loop in the common case (issue 16). When no hit
-- of a batch can find its key's ring full, nobody is refused, and `exit3_throttle_hits`
-- now writes what its loop would have written with set-based statements: measured, the
-- loop's expressions cost most of a batch's time. Otherwise the function is the one of
-- migration 20261207000400, whose comments say how a batch is decided and written; the
-- property test `group_commit.rs` `batched_decisions_equal_one_call_per_request` holds
-- both paths to calls of `exit3_throttle_hit` one request at a time.
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
    fast     bool;
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

    -- The common case, decided set-based: when no hit can find its key's ring full —
    -- every key keeps its limit and has room for all the batch records in it, a check
    -- counting them all — nobody is refused, and what the loop below would write is
    -- written with one statement: each key moves on by the hits it records, each
    -- recorded hit takes the next slot of its key's ring. The loop evaluates some
    -- thirty expressions a hit, which was most of a batch's time (issue 16).
    SELECT coalesce(bool_and(
               p.lo = p.hi AND coalesce(s.c, p.lo) = p.lo
               AND coalesce(s.f, 0) + p.m - (CASE WHEN p.checked THEN 0 ELSE 1 END) < p.lo),
           true)
      INTO fast
      FROM (SELECT u.k, count(*) FILTER (WHERE u.rec) AS m, bool_or(NOT u.rec) AS checked,
                   min(u.lim) AS lo, max(u.lim) AS hi
              FROM unnest(p_keys, p_limits, p_records) AS u(k, lim, rec)
             GROUP BY u.k) AS p
      LEFT JOIN (SELECT s.k, s.c, s.f FROM unnest(k_keys, k_caps, k_filled) AS s(k, c, f)
                 UNION ALL
                 SELECT s.k, s.c, s.f FROM unnest(c_keys, c_caps, c_filled) AS s(k, c, f))
             AS s ON s.k = p.k;
    IF fast THEN
        WITH hit AS (
            SELECT u.k, u.per, u.n, u.h
              FROM unnest(p_keys, p_periods, p_records, p_nows) WITH ORDINALITY
                   AS u(k, per, rec, n, h)
             WHERE u.rec
        ), moved AS (
            -- Per key: how many hits it records, its newest time, and the expiry the
            -- last of them sets.
            SELECT h.k, count(*)::int4 AS m, max(h.n) AS n,
                   (array_agg(h.per ORDER BY h.h DESC))[1] AS per
              FROM hit h
             GROUP BY h.k
        ), state AS (
            SELECT s.k, s.c, s.hd, s.f, s.n, s.o
              FROM unnest(k_keys, k_caps, k_heads, k_filled, k_newest)
                   WITH ORDINALITY AS s(k, c, hd, f, n, o)
        ), inserted AS (
            INSERT INTO throttle_keys (key, cap, head, filled, newest, expires_at)
            SELECT s.k, s.c, m.m % s.c, m.m, m.n, m.n + m.per
              FROM moved m JOIN state s ON s.k = m.k
             WHERE s.o >= n_first
             ORDER BY s.k
            ON CONFLICT (key) DO NOTHING
            RETURNING 1
        ), updated AS (
            UPDATE throttle_keys t
               SET head = (s.hd + m.m) % s.c, filled = s.f + m.m,
                   newest = greatest(s.n, m.n), expires_at = greatest(s.n, m.n) + m.per
              FROM moved m JOIN state s ON s.k = m.k
             WHERE t.key = s.k AND s.o < n_first
        ), slots AS (
            INSERT INTO throttle_slots (key, slot, at)
            SELECT h.k, ((s.hd + row_number() OVER (PARTITION BY h.k ORDER BY h.h) - 1) % s.c)::int4,
                   h.n
              FROM hit h JOIN state s ON s.k = h.k
            ON CONFLICT (key, slot) DO UPDATE SET at = excluded.at
        )
        SELECT count(*) INTO got FROM inserted;
        IF got < cardinality(k_keys) - n_first + 1 THEN
            RAISE EXCEPTION 'a throttle key was created by another transaction'
                USING ERRCODE = 'serialization_failure';
        END IF;
        RETURN (SELECT coalesce(array_agg(a.x ORDER BY r.i, a.j), '{}')
                  FROM generate_series(1, coalesce(cardinality(p_sizes), 0)) AS r(i),
                       (VALUES (1, -1::int8), (2, 0::int8)) AS a(j, x));
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
