-- The events table, partitioned by month on event_time. The columns are
-- those of KoreShield's PostgreSQL guide (sql/flat/10_events.sql); the
-- sink and the loader COPY into this parent and PostgreSQL routes each
-- row to its month. 30_partitions.sql hands the months to pg_partman.
-- Safe to apply more than once.

-- A flat table of the same name would make every statement below a silent
-- no-op and leave pg_partman to fail later with a vaguer message.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class
               WHERE oid = to_regclass('koreshield_events')
                 AND relkind = 'r') THEN
        RAISE EXCEPTION 'koreshield_events exists and is not partitioned'
            USING HINT = 'move it with sql/migrate-flat, '
                         'or keep the flat layout (sql/apply --flat)';
    END IF;
END
$$;

-- The primary key has to include event_time: PostgreSQL enforces
-- uniqueness on a partitioned table only within each partition, so a key
-- must contain the partition column for per-partition uniqueness to mean
-- table-wide uniqueness. id alone stays unique anyway, because every id
-- comes from the one sequence.
--
-- attack_type is not one of the guide's columns: it is taxonomy->>'type'
-- (the guide's own attack-type query), computed by PostgreSQL as each row
-- arrives. Stored as a column, it can sit in the time index below, so the
-- dashboards count attack types without reading and parsing every row's
-- jsonb. The sink and the loader never name it: COPY fills it.
CREATE TABLE IF NOT EXISTS koreshield_events (
    id          BIGSERIAL,
    event_time  TIMESTAMPTZ NOT NULL,
    event_type  TEXT NOT NULL,
    severity    TEXT NOT NULL,
    provider    TEXT,
    model       TEXT,
    request_id  TEXT,
    blocked     BOOLEAN NOT NULL,
    taxonomy    JSONB,
    metadata    JSONB,
    attack_type TEXT GENERATED ALWAYS AS (taxonomy->>'type') STORED,
    PRIMARY KEY (id, event_time)
) PARTITION BY RANGE (event_time);

-- The indexes were chosen by measuring (bench/queries; README, "The SQL
-- side"): COPY throughput against the same table without any index, and
-- the dashboard functions of 50_dashboards.sql over one month and over
-- the whole range.
--
-- event_time: a btree carrying the columns the dashboards count by. Rows
-- arrive in time order, so each insert lands on the index's rightmost
-- page (cheap), and a month's counts come from an index-only scan of
-- narrow entries instead of the heap's wide rows (metadata is most of a
-- row). A BRIN on event_time is cheaper still to keep, but leaves every
-- dashboard reading the heap: measured several times slower per month.
-- event_type needs no index of its own: it is in this one, and a filter
-- on it over a time range is answered from the same scan.
CREATE INDEX IF NOT EXISTS idx_koreshield_events_time
    ON koreshield_events (event_time)
    INCLUDE (event_type, severity, provider, blocked, attack_type);

-- request_id: a bloom-filter BRIN. Incident work starts from one request
-- id, in any month; a btree over random UUIDs costs a random index
-- insert per row (measured: about half of COPY's throughput), while a
-- BRIN keeps a small bloom filter per 16 pages and lets a lookup read
-- only the block ranges that may hold the id. Ranges filled since the
-- last summary are read in full until autosummarize (autovacuum)
-- summarizes them.
CREATE INDEX IF NOT EXISTS idx_koreshield_events_request
    ON koreshield_events
    USING brin (request_id text_bloom_ops (false_positive_rate = 0.001))
    WITH (pages_per_range = 16, autosummarize = on);
