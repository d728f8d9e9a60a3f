-- KoreShield events in PostgreSQL: the table from KoreShield's PostgreSQL
-- guide, and a dead-letter table for records that cannot become rows.
-- Safe to apply more than once.

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
    metadata    JSONB
);

CREATE INDEX IF NOT EXISTS idx_koreshield_events_time
    ON koreshield_events (event_time);
CREATE INDEX IF NOT EXISTS idx_koreshield_events_type
    ON koreshield_events (event_type);

-- One row per record the sink or loader could not store as an event. The
-- raw bytes are kept as received (bytea: they need not be valid UTF-8), so
-- a record can be repaired and loaded again; nothing is dropped silently.
CREATE TABLE IF NOT EXISTS koreshield_dead_letters (
    id            BIGSERIAL PRIMARY KEY,
    received_at   TIMESTAMPTZ NOT NULL,
    -- 'request' (HTTP sink) or 'file' (bulk loader)
    source_kind   TEXT NOT NULL,
    -- the request id the sink answered with, or the file path
    source        TEXT NOT NULL,
    -- position: 0-based record index in the body or file, 1-based line,
    -- byte offset in the decoded body or file (NULL when not applicable)
    record_index  BIGINT,
    line_number   BIGINT,
    byte_offset   BIGINT,
    -- stable machine-readable code, e.g. 'malformed_json', 'bad_timestamp'
    reason_code   TEXT NOT NULL,
    -- a sentence for humans: what is wrong and where
    reason        TEXT NOT NULL,
    -- the record's bytes, cut at the configured limit when very large
    raw           BYTEA NOT NULL,
    -- the record's full size; larger than length(raw) when it was cut
    raw_bytes     BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS idx_koreshield_dead_letters_received
    ON koreshield_dead_letters (received_at);
