-- Monthly partitions of koreshield_events, made ahead of time and dropped
-- after the retention window by pg_partman 4.7, plus the default partition
-- and the tools that keep it empty. Needs the pg_partman extension
-- (Debian: postgresql-15-partman). Safe to apply more than once; settings
-- an operator changed in partman.part_config are left alone.

CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;

DO $$
BEGIN
    -- Partition boundaries are computed in the session's time zone;
    -- months must start at midnight UTC whatever the server's TimeZone
    -- says. Local to this transaction: a RESET afterwards would leave the
    -- session applying this file in the server's zone, not its own.
    PERFORM set_config('TimeZone', 'UTC', true);

    IF EXISTS (SELECT 1 FROM partman.part_config
               WHERE parent_table = 'public.koreshield_events') THEN
        RETURN;
    END IF;

    -- Makes this month, four ahead and four behind (for late arrivals and
    -- a loader's recent archives), and koreshield_events_default.
    PERFORM partman.create_parent(
        p_parent_table => 'public.koreshield_events',
        p_control => 'event_time',
        p_type => 'native',
        p_interval => 'monthly',
        p_premake => 4);

    -- infinite_time_partitions: premake from the clock, not from the
    -- newest row, so a quiet month still gets next month's partition.
    -- ignore_default_data: otherwise one far-future row in the default
    -- partition makes maintenance try to premake every month up to it.
    -- retention_keep_table false: old months are dropped, not detached.
    UPDATE partman.part_config
       SET retention = '13 months',
           retention_keep_table = false,
           infinite_time_partitions = true,
           ignore_default_data = true
     WHERE parent_table = 'public.koreshield_events';
END
$$;

-- Rows in the default partition: rows whose month has no partition. They
-- are stored, not lost, but they slow every ATTACH (PostgreSQL scans the
-- default under an exclusive lock) and a row for a month pg_partman is
-- about to make would make that step fail. Grouped by month, with what
-- koreshield_move_default_rows() will do with them:
--   'movable'    inside the window kept: gets its own partition
--   'too_old'    older than the retention window: would be dropped at once
--   'too_far'    beyond the premade months: stays until its month is near
--
-- The window kept: pg_partman drops a month once its end is older than
-- now - retention (oldest), and premakes the months before horizon.
CREATE OR REPLACE FUNCTION koreshield_kept_window(OUT oldest timestamptz,
                                                  OUT horizon timestamptz)
LANGUAGE sql STABLE
SET TimeZone = 'UTC' AS $$
    SELECT coalesce(now() - retention::interval, '-infinity'),
           date_trunc('month', now()) + make_interval(months => premake + 1)
    FROM partman.part_config
    WHERE parent_table = 'public.koreshield_events'
$$;

-- A function under the view, reading the partition by name when it runs:
-- the view then does not depend on the partition, so an operator may drop
-- the default partition without CASCADE, and maintenance keeps working
-- (finding nothing to move).
CREATE OR REPLACE FUNCTION koreshield_default_months()
RETURNS TABLE (month timestamptz, row_count bigint, disposition text)
LANGUAGE plpgsql STABLE
SET TimeZone = 'UTC' AS $$
BEGIN
    IF to_regclass('koreshield_events_default') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE $q$
        SELECT m.month, m.row_count,
               CASE WHEN m.month + interval '1 month' < w.oldest
                    THEN 'too_old'
                    WHEN m.month >= w.horizon THEN 'too_far'
                    ELSE 'movable' END
        FROM (SELECT date_trunc('month', event_time) AS month,
                     count(*) AS row_count
              FROM ONLY koreshield_events_default
              GROUP BY 1) AS m,
             koreshield_kept_window() AS w
        ORDER BY 1
    $q$;
END
$$;

CREATE OR REPLACE VIEW koreshield_default_rows AS
SELECT * FROM koreshield_default_months();

-- Makes the partition of the month starting at first_day if it does not
-- exist, taking that month's rows out of the default partition first and
-- putting them back through the parent (ids and every column kept).
-- Returns the rows moved; NULL when the partition existed already.
CREATE OR REPLACE FUNCTION koreshield_make_month(first_day timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET TimeZone = 'UTC' AS $$
DECLARE
    moved bigint := 0;
BEGIN
    IF (SELECT table_exists FROM partman.show_partition_name(
            'public.koreshield_events', first_day::text)) THEN
        RETURN NULL;
    END IF;

    IF to_regclass('koreshield_events_default') IS NOT NULL THEN
        -- Writers routing a row of this month to the default partition
        -- wait until its partition exists: a row committed between the
        -- move and the attach would make the attach fail.
        LOCK TABLE koreshield_events_default IN ACCESS EXCLUSIVE MODE;
        CREATE TEMP TABLE koreshield_moving (LIKE koreshield_events);
        WITH taken AS (
            DELETE FROM ONLY koreshield_events_default
             WHERE event_time >= first_day
               AND event_time < first_day + interval '1 month'
            RETURNING *)
        INSERT INTO koreshield_moving SELECT * FROM taken;
        GET DIAGNOSTICS moved = ROW_COUNT;
    END IF;

    PERFORM partman.create_partition_time('public.koreshield_events',
                                          ARRAY[first_day]);
    IF moved > 0 THEN
        -- Named columns: attack_type is generated, and an INSERT that
        -- gives it a value (as SELECT * would) is refused.
        INSERT INTO koreshield_events
            (id, event_time, event_type, severity, provider, model,
             request_id, blocked, taxonomy, metadata)
        SELECT id, event_time, event_type, severity, provider, model,
               request_id, blocked, taxonomy, metadata
        FROM koreshield_moving;
    END IF;
    DROP TABLE IF EXISTS koreshield_moving;
    RETURN moved;
END
$$;

-- Moves the default partition's 'movable' rows into partitions of their
-- own, one month per transaction. Rows too old or too far stay, and are
-- reported by koreshield_default_rows. CALL it outside a transaction
-- block.
CREATE OR REPLACE PROCEDURE koreshield_move_default_rows()
LANGUAGE plpgsql AS $$
DECLARE
    month timestamptz;
    moved bigint;
BEGIN
    FOR month IN SELECT d.month FROM koreshield_default_rows d
                 WHERE d.disposition = 'movable' ORDER BY d.month
    LOOP
        moved := koreshield_make_month(month);
        RAISE NOTICE 'koreshield_events: moved % rows of % out of the '
                     'default partition', coalesce(moved, 0),
                     to_char(month AT TIME ZONE 'UTC', 'YYYY-MM');
        COMMIT;
    END LOOP;
END
$$;

-- Makes the monthly partitions covering [from_time, to_time) that do not
-- exist yet, moving any rows the default partition holds for them, so
-- that a backfill of older archives lands in its months rather than in
-- the default partition. Returns how many it made. Refuses a month that
-- retention would drop at the next maintenance, rows and all: lengthen
-- retention first.
CREATE OR REPLACE FUNCTION koreshield_make_months(from_time timestamptz,
                                                  to_time timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET TimeZone = 'UTC' AS $$
DECLARE
    first_day timestamptz := date_trunc('month', from_time);
    oldest timestamptz := (SELECT w.oldest FROM koreshield_kept_window() w);
    made integer := 0;
BEGIN
    IF first_day + interval '1 month' < oldest AND first_day < to_time THEN
        RAISE EXCEPTION 'the month % is older than the retention window: '
                        'the next maintenance would drop it with its rows',
            to_char(first_day, 'YYYY-MM')
            USING HINT = 'lengthen retention first: UPDATE '
                         'partman.part_config SET retention = ... WHERE '
                         'parent_table = ''public.koreshield_events''';
    END IF;
    WHILE first_day < to_time LOOP
        IF koreshield_make_month(first_day) IS NOT NULL THEN
            made := made + 1;
        END IF;
        first_day := first_day + interval '1 month';
    END LOOP;
    RETURN made;
END
$$;
