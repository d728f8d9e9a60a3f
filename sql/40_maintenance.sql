-- Retention for the tables beside the events, and the one procedure a
-- scheduler calls every hour: koreshield_maintenance(). Works in either
-- layout; the partition steps run only when pg_partman manages the events.
-- Safe to apply more than once; retention an operator set is kept.

-- How long each side table keeps its rows; NULL keeps them for ever.
-- Change with UPDATE koreshield_retention SET keep = '...' WHERE ...
CREATE TABLE IF NOT EXISTS koreshield_retention (
    table_name  TEXT PRIMARY KEY,
    keep        INTERVAL,
    why         TEXT NOT NULL
);

INSERT INTO koreshield_retention (table_name, keep, why) VALUES
    ('koreshield_dead_letters', '90 days',
     'time to repair and reload a record after it was refused'),
    ('koreshield_ingest_requests', '30 days',
     'must stay longer than the sink''s --dedup-window-h (7 days by '
     'default) so the sink, not this job, decides what counts as a retry'),
    ('koreshield_load_files', NULL,
     'a forgotten file loads again when the loader meets it; keep entries '
     'as long as their archives can be run through the loader')
ON CONFLICT (table_name) DO NOTHING;

-- Deletes what koreshield_retention no longer keeps, oldest first and in
-- slices, so that no delete holds its locks or its WAL for long. Returns
-- the rows deleted per table.
CREATE OR REPLACE FUNCTION koreshield_prune_side_tables(
    slice integer DEFAULT 10000)
RETURNS TABLE (table_name text, deleted bigint)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n bigint;
BEGIN
    FOR r IN SELECT k.table_name, now() - k.keep AS cutoff
             FROM koreshield_retention k WHERE k.keep IS NOT NULL
    LOOP
        table_name := r.table_name;
        deleted := 0;
        LOOP
            IF r.table_name = 'koreshield_dead_letters' THEN
                DELETE FROM koreshield_dead_letters WHERE id IN (
                    SELECT id FROM koreshield_dead_letters
                    WHERE received_at < r.cutoff LIMIT slice);
            ELSIF r.table_name = 'koreshield_ingest_requests' THEN
                DELETE FROM koreshield_ingest_requests WHERE request_key IN (
                    SELECT request_key FROM koreshield_ingest_requests
                    WHERE received_at < r.cutoff LIMIT slice);
            ELSIF r.table_name = 'koreshield_load_files' THEN
                -- Finished loads only (chunks go with them), and only
                -- those no remaining load continued (grown_from), so a
                -- kept load keeps its whole chain and no delete meets the
                -- foreign key; a chain of expired loads goes newest
                -- first, one link per pass.
                DELETE FROM koreshield_load_files WHERE load_id IN (
                    SELECT o.load_id FROM koreshield_load_files o
                    WHERE o.completed_at < r.cutoff
                      AND NOT EXISTS (
                          SELECT 1 FROM koreshield_load_files c
                          WHERE c.grown_from = o.load_id)
                    LIMIT slice);
            ELSE
                RAISE WARNING 'koreshield_retention names %, which this '
                              'function does not know; skipped', r.table_name;
                EXIT;
            END IF;
            GET DIAGNOSTICS n = ROW_COUNT;
            deleted := deleted + n;
            -- A short slice means nothing is left, except in the loads,
            -- where a pass may have freed the next older link of a chain.
            EXIT WHEN n = 0 OR (n < slice
                                AND r.table_name <> 'koreshield_load_files');
        END LOOP;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Everything that keeps the schema healthy, in order: move stray rows out
-- of the default partition (before pg_partman needs their months), make
-- the months ahead and drop the months past retention (pg_partman),
-- refresh the parent's statistics, prune the side tables, then warn about
-- rows left in the default partition.
-- CALL it outside a transaction block: each step commits its own work.
CREATE OR REPLACE PROCEDURE koreshield_maintenance()
LANGUAGE plpgsql AS $$
DECLARE
    managed boolean := false;
    sane boolean;
    before text[];
    zone text := current_setting('TimeZone');
    r record;
BEGIN
    IF to_regclass('partman.part_config') IS NOT NULL THEN
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM partman.part_config '
                'WHERE parent_table = ''public.koreshield_events'')'
            INTO managed;
    END IF;

    -- A retention that is not an interval fails every step below, and
    -- one under a month drops the months still being written: refuse
    -- both rather than let pg_partman act on them.
    IF managed THEN
        BEGIN
            EXECUTE 'SELECT retention IS NULL '
                    'OR retention::interval >= interval ''1 month'' '
                    'FROM partman.part_config '
                    'WHERE parent_table = ''public.koreshield_events'''
                INTO sane;
        EXCEPTION WHEN invalid_datetime_format
                    OR invalid_parameter_value
                    OR datetime_field_overflow THEN
            sane := false;
        END;
        IF NOT sane THEN
            RAISE WARNING 'koreshield_events: partman.part_config.retention '
                          'is not an interval of a month or more; '
                          'partitions are left as they are until it is';
            managed := false;
        END IF;
    END IF;

    IF managed THEN
        CALL koreshield_move_default_rows();

        -- Every month from this one to premake ahead, gaps included.
        -- pg_partman counts ahead from the newest partition, so a far
        -- month the mover just made (premake raised by two, a row there)
        -- would hide the months before it. A row arriving in such a month
        -- since the move makes this refuse; the next run makes it.
        BEGIN
            EXECUTE 'SELECT koreshield_make_months(now(), now() '
                    '+ make_interval(months => premake)) '
                    'FROM partman.part_config '
                    'WHERE parent_table = ''public.koreshield_events''';
        EXCEPTION WHEN raise_exception THEN
            RAISE WARNING 'koreshield_events: %', SQLERRM;
        END;

        -- pg_partman names and bounds months in the session's zone.
        -- What retention drops is said: those rows are gone.
        before := ARRAY(SELECT relid::text
                        FROM pg_partition_tree('koreshield_events')
                        WHERE isleaf);
        PERFORM set_config('TimeZone', 'UTC', false);
        CALL partman.run_maintenance_proc();
        PERFORM set_config('TimeZone', zone, false);
        FOR r IN SELECT p FROM unnest(before) AS p
                 WHERE to_regclass(p) IS NULL ORDER BY 1 LOOP
            RAISE NOTICE 'koreshield_events: retention dropped %', r.p;
        END LOOP;

        -- Autovacuum analyzes partitions but never a partitioned parent,
        -- and the planner's day and week estimates come from the parent.
        ANALYZE koreshield_events;
    END IF;

    PERFORM koreshield_prune_side_tables();
    COMMIT;

    IF managed THEN
        FOR r IN EXECUTE 'SELECT * FROM koreshield_default_rows '
                         'ORDER BY month' LOOP
            RAISE WARNING 'koreshield_events_default holds % rows of % (%)',
                r.row_count, coalesce(to_char(r.month, 'YYYY-MM'),
                                      r.month::text), r.disposition;
        END LOOP;
    END IF;
END
$$;
