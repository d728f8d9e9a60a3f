#pragma once

#include "pg/copy_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ks::pg {

/// A table and the column list a copy_buffer's tuples are laid out for.
struct copy_target {
    std::string table; // "name" or "schema.name", unquoted: the writer quotes
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

    /// COPY bytes (events and dead letters) that one transaction gathers
    /// from queued batches; a single larger batch still runs, alone.
    std::size_t group_max_bytes = 32u << 20;

    /// How long a writer that took a batch waits for more while its group
    /// is under group_max_bytes. 0 (the default) takes only what is
    /// already queued: under load batches queue up while the previous
    /// transaction runs, so groups form without any wait (Vector keeps
    /// up to 200 ~10 MB requests in flight, Logstash 50 of 125 events),
    /// and when the sink is quiet a wait would only delay the answer.
    unsigned group_delay_ms = 0;

    /// Tables that batches' ledger statements write, checked at start-up
    /// and by ping() like the two above, with a name for messages
    /// ("request ledger").
    std::vector<std::pair<copy_target, std::string>> also_checked{};

    /// The table and columns batch::ledger_rows are inserted into; an
    /// empty table name when no batch carries any.
    copy_target ledger_rows{};
};

/// How a batch's events that PostgreSQL refuses become dead letters, so
/// that the rest of the batch still loads. Whoever encoded the batch knows
/// where each row came from and how dead letters are laid out; the writer
/// only finds the refused rows.
struct refusal_handler {
    /// Appends to `out` the dead letter for events tuple `row` (0-based in
    /// the batch), whose bytes are `tuple` (field count, then fields),
    /// refused because of `why` (PostgreSQL's sentence). Must not throw
    /// but for lack of memory.
    std::function<void(std::uint64_t row, std::string_view tuple,
                       std::string_view why, copy_buffer& out)>
        dead_letter;
    /// SQL (statements ending with ';') run in the transaction once
    /// `refused` events became dead letters, to bring what `ledger`
    /// recorded up to date; may return an empty string.
    std::function<std::string(std::uint64_t refused)> amend_ledger;
};

/// Rows for both tables that must be committed together or not at all.
struct batch {
    copy_buffer events;
    copy_buffer dead_letters;
    /// SQL run in the same transaction before the rows, each statement
    /// ending with ';': a record of what the rows are (a manifest or
    /// ledger entry), so that they and the record commit together. A
    /// unique violation here means the rows were stored already: the
    /// batch completes as a duplicate and stores nothing. A batch with a
    /// ledger and no rows still runs its transaction.
    std::string ledger;
    /// Ledger entries for writer_config::ledger_rows as SQL row values,
    /// "(value, ...)", separated by ", " when there are several. The
    /// entries of every batch of a group go in one INSERT at the head of
    /// the transaction's string: not a statement per batch, and not a
    /// COPY, which costs a round trip. A unique violation there means
    /// the same as in `ledger`. Empty: none.
    std::string ledger_rows;
    /// A query run when the ledger finds the batch stored already; its
    /// first row (what the earlier transaction recorded) goes to
    /// commit_outcome::ledger_row.
    std::string ledger_lookup;
    /// When the lookup finds nothing (the entry is past its window, or
    /// was purged meanwhile): a statement deleting what is left of it,
    /// after which the batch is written once more as a new one.
    std::string ledger_expired;
    /// Without a dead_letter function, a batch whose rows PostgreSQL
    /// refuses completes failed.
    refusal_handler on_refusal;
};

/// A row of a query, in PostgreSQL's text form; an empty optional is NULL.
using ledger_values = std::vector<std::optional<std::string>>;

/// How a batch ended.
enum class outcome_kind : std::uint8_t {
    committed,   // both COPYs ran and COMMIT succeeded
    duplicate,   // the ledger shows the batch committed before: no rows
    unavailable, // database unreachable, or the queue is full: retry later
    failed,      // PostgreSQL refused the data; retrying will not help
    stopped,     // the writer shut down before the batch ran
};

/// What happened to one batch (or ping).
struct commit_outcome {
    outcome_kind kind = outcome_kind::committed;
    std::uint64_t events_loaded = 0;
    std::uint64_t dead_letters_loaded = 0; // refused events included
    /// Events PostgreSQL refused, stored as dead letters instead.
    std::uint64_t refused = 0;
    /// duplicate: the ledger_lookup row, when it found one.
    ledger_values ledger_row;
    std::string sqlstate; // from PostgreSQL, when it answered with an error
    std::string message;  // a sentence for logs and error bodies
};

/// Owns a pool of PostgreSQL connections, each on its own thread, and
/// writes batches with binary COPY. Batches queued together share one
/// transaction (group commit): a writer thread takes the first queued
/// batch and every batch queued behind it up to group_max_bytes, sends
/// all their events in one COPY and all their dead letters in another,
/// and commits once. Connections are opened lazily and re-opened after a
/// failure, so the writer starts even when the database is down. Health
/// checks run on one more connection and thread of their own
/// (health_probe), never in the batches' queue.
class writer {
public:
    using completion = std::function<void(commit_outcome)>;

    /// Starts the threads without connecting. Throws
    /// std::invalid_argument for a bad table name, no connections or a
    /// queue of size 0.
    explicit writer(writer_config config);
    /// Stops and joins; queued batches complete with outcome stopped.
    ~writer();
    writer(const writer&) = delete;
    writer& operator=(const writer&) = delete;

    /// Queues `b`; `done` runs exactly once, after COMMIT (committed) or
    /// when the batch cannot be written. Finished copy_buffers are
    /// required (else: failed). Never blocks.
    ///
    /// Threads: `done` runs on a writer thread, except when the batch is
    /// refused at once: queue full (unavailable, "writer queue full") or
    /// writer stopped (stopped); then it runs inside submit() before it
    /// returns. `done` must not throw, nor call stop() or destroy the
    /// writer.
    ///
    /// Outcomes: committed with the batch's own row counts (a batch with
    /// no rows at all is committed without a round trip); unavailable
    /// when the queue is full, the database cannot be reached (answered
    /// at once for up to 2 s after a failed connection attempt), or it
    /// reports a passing condition (class 08 but 08P01, 40001, 40003,
    /// 40P01, 53, 55P03, 57); failed, with sqlstate and PostgreSQL's
    /// CONTEXT in the message, when the data or the statement is refused.
    /// Unless committed, nothing of the batch is stored.
    ///
    /// Lost connections: when the statement that opens the transaction
    /// finds its connection gone (the server restarted or ended the idle
    /// session), nothing was committed, so it is sent once more on a new
    /// connection before the batch hears of it. A connection lost later,
    /// during the COPYs or the COMMIT, completes the batch unavailable:
    /// after a COMMIT was sent, whether it took effect is unknown.
    ///
    /// Groups: a passing condition completes every batch of the group
    /// unavailable. When PostgreSQL refuses a group's data, each of its
    /// batches is written again in a transaction of its own, so only a
    /// batch that is refused alone completes failed.
    ///
    /// Refused rows: when PostgreSQL refuses a batch's events (a data
    /// error naming the tuple, say a CHECK constraint or a missing
    /// partition) and the batch has a refusal_handler, the batch is
    /// written again with a savepoint per attempt: the rows before the
    /// named tuple are kept, the tuple becomes a dead letter, and the
    /// rest is tried in windows that double while they load. An error
    /// naming no tuple halves the window down to one row. The outcome
    /// is committed, with `refused` counted; an error that is not about
    /// data, or one raised at COMMIT (a deferred constraint), still
    /// fails the batch.
    void submit(std::shared_ptr<batch> b, completion done);

    /// Checks, on the health connection, that PostgreSQL answers and
    /// that both tables exist and take INSERTs (check_tables); never
    /// waits behind batches. `done` gets committed, or unavailable with
    /// the reason (a missing table included), on the health thread; or
    /// stopped, inside ping(), once the writer stopped. A connection
    /// found dead is replaced and the check run again, once.
    void ping(completion done);

    /// Stops accepting work, completes what is queued with `stopped` on
    /// the calling thread, waits for batches already running, and joins
    /// the threads. Idempotent, and safe from several threads at once;
    /// not to be called from a completion.
    void stop();

    /// The configuration it was made with.
    const writer_config& config() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Quotes "name" or "schema.name" as SQL identifiers. Throws
/// std::invalid_argument for an empty part or more than two parts.
std::string quote_table_name(std::string_view name);

} // namespace ks::pg
