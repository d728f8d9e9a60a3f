-- The events table as KoreShield's PostgreSQL guide writes it: one flat
-- table. For a database without pg_partman, or a small deployment;
-- 10_events.sql is the partitioned version (and says why attack_type is
-- there), and sql/migrate-flat moves this table's rows into it. Safe to
-- apply more than once.

-- A partitioned table of the same name would get the flat layout's
-- indexes on every partition, each costing COPY its share.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class
               WHERE oid = to_regclass('koreshield_events')
                 AND relkind = 'p') THEN
        RAISE EXCEPTION 'koreshield_events is partitioned'
            USING HINT = 'apply the partitioned layout: sql/apply without '
                         '--flat';
    END IF;
END
$$;

CREATE TABLE IF NOT EXISTS koreshield_events (
    id          BIGSERIAL PRIMARY KEY,
    event_time  TIMESTAMPTZ NOT NULL,
    event_type  TEXT NOT NULL,
    severity    TEXT NOT NULL,
    provider    TEXT,
    model       TEXT,
    request_id  TEXT,
    blocked     BOOLEAN NOT NULL,
    taxonomy    JSONB,
    metadata    JSONB,
    attack_type TEXT GENERATED ALWAYS AS (taxonomy->>'type') STORED
);

-- A table made from the guide's text lacks attack_type. Adding a stored
-- generated column rewrites the table under an exclusive lock: on a large
-- table, do it in a quiet hour.
ALTER TABLE koreshield_events ADD COLUMN IF NOT EXISTS
    attack_type TEXT GENERATED ALWAYS AS (taxonomy->>'type') STORED;

CREATE INDEX IF NOT EXISTS idx_koreshield_events_time
    ON koreshield_events (event_time);
CREATE INDEX IF NOT EXISTS idx_koreshield_events_type
    ON koreshield_events (event_type);
