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
-- A function under the view, reading the partition by name when it runs:
-- the view then does not depend on the partition, so an operator may drop
-- the default partition without CASCADE, and maintenance keeps working
-- (finding nothing to move).
CREATE OR REPLACE FUNCTION koreshield_default_months()
RETURNS TABLE (month timestamptz, row_count bigint, disposition text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF to_regclass('koreshield_events_default') IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY EXECUTE $q$
        SELECT m.month, m.row_count,
               CASE WHEN m.month < w.oldest THEN 'too_old'
                    WHEN m.month >= w.horizon THEN 'too_far'
                    ELSE 'movable' END
        FROM (SELECT date_trunc('month', event_time AT TIME ZONE 'UTC')
                         AT TIME ZONE 'UTC' AS month,
                     count(*) AS row_count
              FROM ONLY koreshield_events_default
              GROUP BY 1) AS m,
             (SELECT coalesce(date_trunc('month', now() AT TIME ZONE 'UTC')
                                  AT TIME ZONE 'UTC' - retention::interval,
                              '-infinity') AS oldest,
                     date_trunc('month', now() AT TIME ZONE 'UTC')
                         AT TIME ZONE 'UTC'
                         + make_interval(months => premake + 1) AS horizon
              FROM partman.part_config
              WHERE parent_table = 'public.koreshield_events') AS w
    $q$;
END
$$;

CREATE OR REPLACE VIEW koreshield_default_rows AS
SELECT * FROM koreshield_default_months();

-- Moves the default partition's 'movable' rows into partitions of their
-- own, one month per transaction: the month's rows are taken out of the
-- default, the partition is made (nothing left in the default conflicts
-- with it) and the rows go back in through the parent. ids and every
-- column are kept. Rows too old or too far stay, and are reported by
-- koreshield_default_rows. CALL it outside a transaction block.
CREATE OR REPLACE PROCEDURE koreshield_move_default_rows()
LANGUAGE plpgsql AS $$
DECLARE
    zone text := current_setting('TimeZone');
    month timestamptz;
    moved bigint;
BEGIN
    FOR month IN SELECT d.month FROM koreshield_default_rows d
                 WHERE d.disposition = 'movable' ORDER BY d.month
    LOOP
        PERFORM set_config('TimeZone', 'UTC', true);
        CREATE TEMP TABLE koreshield_moving
            (LIKE koreshield_events) ON COMMIT DROP;
        WITH taken AS (
            DELETE FROM ONLY koreshield_events_default
             WHERE event_time >= month
               AND event_time < month + interval '1 month'
            RETURNING *)
        INSERT INTO koreshield_moving SELECT * FROM taken;
        GET DIAGNOSTICS moved = ROW_COUNT;

        PERFORM partman.create_partition_time('public.koreshield_events',
                                              ARRAY[month]);
        -- Named columns: attack_type is generated, and an INSERT that
        -- gives it a value (as SELECT * would) is refused.
        INSERT INTO koreshield_events
            (id, event_time, event_type, severity, provider, model,
             request_id, blocked, taxonomy, metadata)
        SELECT id, event_time, event_type, severity, provider, model,
               request_id, blocked, taxonomy, metadata
        FROM koreshield_moving;
        RAISE NOTICE 'koreshield_events: moved % rows of % out of the '
                     'default partition', moved, to_char(month, 'YYYY-MM');
        COMMIT;
    END LOOP;
    PERFORM set_config('TimeZone', zone, false);
END
$$;

-- Makes the monthly partitions covering [from_time, to_time) that do not
-- exist yet, so that a backfill of older archives lands in its months
-- rather than in the default partition. Returns how many it made.
CREATE OR REPLACE FUNCTION koreshield_make_months(from_time timestamptz,
                                                  to_time timestamptz)
RETURNS integer
LANGUAGE plpgsql
SET TimeZone = 'UTC' AS $$
DECLARE
    first_day timestamptz := date_trunc('month', from_time);
    made integer := 0;
BEGIN
    WHILE first_day < to_time LOOP
        IF EXISTS (SELECT 1 FROM koreshield_default_rows d
                   WHERE d.month = first_day) THEN
            RAISE EXCEPTION 'the default partition holds rows of %',
                to_char(first_day, 'YYYY-MM')
                USING HINT = 'CALL koreshield_move_default_rows() moves them '
                             'into partitions of their own';
        END IF;
        IF partman.create_partition_time('public.koreshield_events',
                                         ARRAY[first_day]) THEN
            made := made + 1;
        END IF;
        first_day := first_day + interval '1 month';
    END LOOP;
    RETURN made;
END
$$;
