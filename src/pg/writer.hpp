#pragma once

#include "pg/copy_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ks::pg {

/// A table and the column list a copy_buffer's tuples are laid out for.
struct copy_target {
    std::string table;   // as the user wrote it, "name" or "schema.name"
    std::string columns; // e.g. "(event_time, event_type)"
};

/// How the writer reaches PostgreSQL and where rows go.
struct writer_config {
    std::string dsn; // libpq conninfo or URI; empty: PG* environment
    copy_target events;
    copy_target dead_letters;
    unsigned connections = 2;      // one thread per connection
    std::size_t max_queued = 1024; // batches waiting for a connection
    unsigned connect_timeout_s = 5;
};

/// Rows for both tables that must be committed together or not at all.
struct batch {
    copy_buffer events;
    copy_buffer dead_letters;
};

/// How a batch ended.
enum class outcome_kind : std::uint8_t {
    committed,   // both COPYs ran and COMMIT succeeded
    unavailable, // database unreachable, or the queue is full: retry later
    failed,      // PostgreSQL refused the data; retrying will not help
    stopped,     // the writer shut down before the batch ran
};

/// What happened to one batch (or ping).
struct commit_outcome {
    outcome_kind kind = outcome_kind::committed;
    std::uint64_t events_loaded = 0;
    std::uint64_t dead_letters_loaded = 0;
    std::string sqlstate; // from PostgreSQL, when it answered with an error
    std::string message;  // a sentence for logs and error bodies
};

/// Owns a pool of PostgreSQL connections, each on its own thread, and
/// writes batches with binary COPY inside one transaction per batch.
/// Connections are opened lazily and re-opened after a failure, so the
/// writer starts even when the database is down.
class writer {
public:
    using completion = std::function<void(commit_outcome)>;

    explicit writer(writer_config config);
    /// Stops and joins; queued batches complete with outcome stopped.
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    /// Queues `b`; `done` runs exactly once, on a writer thread, after
    /// COMMIT (committed) or when the batch cannot be written. Finished
    /// copy_buffers are required.
    void submit(std::shared_ptr<batch> b, completion done);

    /// Runs `SELECT 1` on a connection; `done` gets committed or
    /// unavailable.
    void ping(completion done);

    /// Stops accepting work, fails what is queued with `stopped`, waits
    /// for batches already running, and joins the threads. Idempotent.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Quotes "name" or "schema.name" as SQL identifiers. Throws
/// std::invalid_argument for an empty part or more than two parts.
std::string quote_table_name(std::string_view name);

} // namespace ks::pg
