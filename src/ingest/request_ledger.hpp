#pragma once

#include "core/sha256.hpp"
#include "ingest/pipeline.hpp"
#include "pg/writer.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ks::ingest {

/// Columns of the request ledger that request_ledger writes.
inline constexpr std::string_view ledger_columns =
    "(request_key, key_source, request_id, received, loaded, "
    "dead_lettered, blank_lines, text_lines)";

/// What identifies a request across retries.
struct request_key {
    digest sha256{};
    /// "body": the SHA-256 of the body as sent (with its codings when it
    /// has any), which a retry sends again; "idempotency-key": of the
    /// header the client sent.
    std::string_view source = "body";
};

/// The key of a request that carried an Idempotency-Key header.
request_key key_from_header(std::string_view idempotency_key);

/// What the ledger recorded for a request committed before.
struct recorded_request {
    std::string request_id; // the id the first delivery was answered with
    counts tally;
};

/// Writes and reads the ledger of committed requests: one row per
/// request, inserted in the same transaction as its rows, so that a
/// retry of a committed request (a lost answer, a timeout) is answered
/// from the ledger instead of storing its events twice. Builds SQL text
/// only; the writer runs it.
class request_ledger {
public:
    /// `table` is "name" or "schema.name"; an entry older than `window`
    /// no longer makes a request a repeat. Throws std::invalid_argument
    /// for a bad name.
    explicit request_ledger(std::string_view table,
                            std::chrono::seconds window = std::chrono::hours(
                                7 * 24));

    /// The table and columns, for the start-up and health checks.
    pg::copy_target target() const;

    /// Makes `b` record `key` with `request_id` and `tally` when it
    /// commits (a row in b.ledger_rows, for a writer whose ledger_rows
    /// target is target()), and answer a repeat with what was recorded.
    void attach(pg::batch& b, const request_key& key,
                std::string_view request_id, const counts& tally) const;

    /// Reads a duplicate outcome's ledger_row; nothing when it is not
    /// one this ledger's lookup returns.
    static std::optional<recorded_request>
    recorded(const pg::ledger_values& row);

    /// A statement deleting entries older than the window, in slices so
    /// no transaction holds many row locks.
    std::string purge() const;

private:
    std::string table_;  // as given
    std::string quoted_; // quoted for SQL
    std::string older_;  // "received_at < now() - <window>"
};

} // namespace ks::ingest
