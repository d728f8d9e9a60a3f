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
-- The key leads with event_time and carries the columns the dashboards
-- count by (INCLUDE), so the one btree every row must feed anyway is also
-- the time index: rows arrive in time order, each insert lands on the
-- index's last page, and a month's counts come from an index-only scan of
-- narrow entries instead of the heap's wide rows (metadata is most of a
-- row). Measured with bench/queries (README, "The SQL side"): this costs
-- COPY about a fifth of its speed without any index, where the key on
-- (id, event_time) plus a separate time index cost over a quarter. A BRIN
-- on event_time is cheaper to keep but leaves every dashboard reading the
-- heap, over 300 ms a month at 1.7 million rows a month. A lookup by id
-- alone cannot use this key; nothing here needs one.
--
-- event_type needs no index of its own: it rides in the key, and no
-- dashboard filters on it alone. Carrying it cost nothing measurable
-- (a covering time index with and without it: 170,796 and 170,986 rows/s,
-- medians of 5), where the guide's own btree on it costs a second index.
--
-- attack_type is not one of the guide's columns: it is taxonomy->>'type'
-- (the guide's own attack-type query), computed by PostgreSQL as each row
-- arrives. Stored as a column, it can sit in the key, so the dashboards
-- count attack types without reading and parsing every row's jsonb. The
-- sink and the loader never name it: COPY fills it.
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
    PRIMARY KEY (event_time, id)
        INCLUDE (event_type, severity, provider, blocked, attack_type)
) PARTITION BY RANGE (event_time);

-- request_id: a bloom-filter BRIN. Incident work starts from one request
-- id, in any month; a btree over random UUIDs costs a random index insert
-- per row (measured: COPY at about half the speed without indexes, with
-- the key), while a BRIN keeps a small bloom filter per 16 pages and lets
-- a lookup read only the block ranges that may hold the id. Ranges filled
-- since the last summary are read in full until autosummarize
-- (autovacuum) summarizes them. koreshield_request_events() in
-- 50_dashboards.sql says why its planner settings are needed.
CREATE INDEX IF NOT EXISTS idx_koreshield_events_request
    ON koreshield_events
    USING brin (request_id text_bloom_ops (false_positive_rate = 0.001))
    WITH (pages_per_range = 16, autosummarize = on);
