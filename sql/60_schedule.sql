-- Runs koreshield_maintenance() every hour with pg_cron, when this server
-- can: pg_cron installed (Debian: postgresql-15-cron), loaded through
-- shared_preload_libraries, and cron.database_name naming this database
-- (pg_cron lives in one database per server). Otherwise it says so and
-- changes nothing; README (The SQL side, "Maintenance") gives the other
-- ways. Safe to apply more than once: an existing job is kept as it is.

DO $$
DECLARE
    preloaded boolean := current_setting('shared_preload_libraries')
                         ~ '(^|[, ])pg_cron($|[, ])';
    cron_db text := current_setting('cron.database_name', true);
BEGIN
    IF NOT preloaded OR cron_db IS DISTINCT FROM current_database() THEN
        RAISE WARNING 'pg_cron is not scheduling here (%): run CALL '
                     'koreshield_maintenance() hourly by other means',
            CASE WHEN NOT preloaded
                 THEN 'not in shared_preload_libraries'
                 ELSE format('cron.database_name is %s',
                             coalesce(cron_db, 'unset')) END;
        RETURN;
    END IF;

    CREATE EXTENSION IF NOT EXISTS pg_cron;
    -- A job an operator rescheduled is left as it is.
    IF EXISTS (SELECT 1 FROM cron.job
               WHERE jobname = 'koreshield-maintenance'
                 AND database = current_database()) THEN
        RETURN;
    END IF;
    -- Minute 7: away from the top of the hour, when other jobs pile up.
    PERFORM cron.schedule('koreshield-maintenance', '7 * * * *',
                          'CALL koreshield_maintenance()');
END
$$;
