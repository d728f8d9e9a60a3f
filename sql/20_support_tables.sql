-- The tables beside the events: dead letters, the loader's manifest and
-- the sink's request ledger. They are plain tables in either layout (flat
-- or partitioned events); 40_maintenance.sql keeps each one's retention.
-- Safe to apply more than once.

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

-- The bulk loader's manifest: what koreshield-load stored from which file,
-- so that a file is loaded once however often the loader runs over it.
-- A file is known by the SHA-256 of its bytes, so a renamed or rotated
-- copy is recognised; path, size and modification time are kept to tell
-- the operator which file it was.
CREATE TABLE IF NOT EXISTS koreshield_load_files (
    load_id        BIGSERIAL PRIMARY KEY,
    content_sha256 BYTEA NOT NULL,
    path           TEXT NOT NULL,
    file_bytes     BIGINT NOT NULL,  -- bytes hashed and read
    modified_at    TIMESTAMPTZ NOT NULL,
    -- decoded bytes per chunk; kept so that a resumed load cuts the file
    -- exactly where the interrupted one did
    chunk_bytes    BIGINT NOT NULL,
    -- a file that grew since an earlier load: that load, and the point in
    -- the decoded text (offset, line, record index) this one starts from
    grown_from     BIGINT REFERENCES koreshield_load_files,
    start_offset   BIGINT NOT NULL DEFAULT 0,
    start_line     BIGINT NOT NULL DEFAULT 1,
    start_index    BIGINT NOT NULL DEFAULT 0,
    started_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- set once every chunk committed; the counts are then the file's
    completed_at   TIMESTAMPTZ,
    decoded_bytes  BIGINT,           -- the whole decoded text
    end_line       BIGINT,           -- line number after the last byte
    records        BIGINT,
    loaded         BIGINT,
    dead_lettered  BIGINT,
    blank_lines    BIGINT,
    -- why decoding stopped early (corrupt or truncated), if it did
    damage         TEXT,
    -- SHA-256 of the decoded text from the start of the file to this
    -- load's end (for a load of a file that grew, the part loaded before
    -- too), and of its first 64 KiB: the same events stored plain, as
    -- gzip or as zstd (a rotation that compressed them) are one content,
    -- and a text that begins with a loaded one only goes on from it
    text_sha256    BYTEA,
    head_sha256    BYTEA
);
-- Databases made before the text digests existed.
ALTER TABLE koreshield_load_files
    ADD COLUMN IF NOT EXISTS text_sha256 BYTEA,
    ADD COLUMN IF NOT EXISTS head_sha256 BYTEA;

-- One unfinished load per content at a time: two loaders started on the
-- same file share it instead of both loading it.
CREATE UNIQUE INDEX IF NOT EXISTS idx_koreshield_load_files_open
    ON koreshield_load_files (content_sha256) WHERE completed_at IS NULL;
CREATE INDEX IF NOT EXISTS idx_koreshield_load_files_hash
    ON koreshield_load_files (content_sha256);
CREATE INDEX IF NOT EXISTS idx_koreshield_load_files_path
    ON koreshield_load_files (path);
CREATE INDEX IF NOT EXISTS idx_koreshield_load_files_head
    ON koreshield_load_files (head_sha256);

-- One row per chunk of a file, written in the same transaction as the
-- chunk's events and dead letters: the chunk is stored exactly when its
-- row exists, so an interrupted load resumes without loss or duplicates.
CREATE TABLE IF NOT EXISTS koreshield_load_chunks (
    load_id        BIGINT NOT NULL
                   REFERENCES koreshield_load_files ON DELETE CASCADE,
    chunk_offset   BIGINT NOT NULL,  -- decoded offset of its first byte
    next_offset    BIGINT NOT NULL,  -- where the next chunk starts
    records        BIGINT NOT NULL,
    loaded         BIGINT NOT NULL,
    dead_lettered  BIGINT NOT NULL,
    blank_lines    BIGINT NOT NULL,
    committed_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (load_id, chunk_offset)
);

-- The sink's ledger of committed requests: one row per request, written
-- in the same transaction as its rows. Shippers send a batch again when
-- its answer was lost (a timeout, a closed connection, a restart); the
-- retry finds its key here and is answered with the counts recorded,
-- storing nothing twice. The key is the SHA-256 of the decoded body, or
-- of the Idempotency-Key header when the client sent one. Entries older
-- than the sink's --dedup-window-h are deleted by the sink itself.
CREATE TABLE IF NOT EXISTS koreshield_ingest_requests (
    request_key   BYTEA PRIMARY KEY,
    -- 'body' or 'idempotency-key': what the key was computed from
    key_source    TEXT NOT NULL,
    -- the id the first delivery was answered with (X-Request-Id)
    request_id    TEXT NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    received      BIGINT NOT NULL,
    loaded        BIGINT NOT NULL,
    dead_lettered BIGINT NOT NULL,
    blank_lines   BIGINT NOT NULL,
    -- rows made from lines that were not JSON (part of loaded)
    text_lines    BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX IF NOT EXISTS idx_koreshield_ingest_requests_received
    ON koreshield_ingest_requests (received_at);
