#pragma once

#include "pg/writer.hpp"
#include "support/test_db.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace ks::test {

/// Column list the test rows below are laid out for.
inline constexpr const char* event_columns =
    "(event_time, event_type, severity, provider, model, request_id, "
    "blocked, taxonomy, metadata)";

/// Column list the dead-letter rows below are laid out for.
inline constexpr const char* dead_letter_columns =
    "(received_at, source_kind, source, record_index, line_number, "
    "byte_offset, reason_code, reason, raw, raw_bytes)";

/// One koreshield_events row; an empty optional is NULL.
struct event_row {
    std::int64_t event_time = 0;
    std::string event_type = "prompt_injection";
    std::string severity = "high";
    std::optional<std::string> provider;
    std::optional<std::string> model;
    std::optional<std::string> request_id;
    bool blocked = false;
    std::optional<std::string> taxonomy; // JSON text
    std::optional<std::string> metadata; // JSON text
};

/// One koreshield_dead_letters row; an empty optional is NULL.
struct dead_letter_row {
    std::int64_t received_at = 0;
    std::string source_kind = "request";
    std::string source = "req-1";
    std::optional<std::int64_t> record_index;
    std::optional<std::int64_t> line_number;
    std::optional<std::int64_t> byte_offset;
    std::string reason_code = "malformed_json";
    std::string reason = "unexpected end of input";
    std::string raw = "{";
    std::int64_t raw_bytes = 1;
};

/// Appends `r` as one 9-field tuple.
void add_event(pg::copy_buffer& out, const event_row& r);

/// Appends `r` as one 10-field tuple.
void add_dead_letter(pg::copy_buffer& out, const dead_letter_row& r);

/// A finished batch of `events` plain rows and `dead_letters` rows.
std::shared_ptr<pg::batch> simple_batch(int events, int dead_letters);

/// Writer settings for the project tables in the database at `dsn`.
pg::writer_config config_for(const std::string& dsn, unsigned connections);

/// Lower-case hex of `bytes`, as PostgreSQL's encode(..., 'hex').
std::string hex(std::string_view bytes);

/// Receives one outcome from a writer and lets the test wait for it.
class outcome_slot {
public:
    outcome_slot();

    /// The completion to hand to submit() or ping().
    pg::writer::completion callback() const;

    /// Waits for the outcome; fails the test after a minute rather than
    /// hang.
    pg::commit_outcome wait() const;

    /// True once the completion ran.
    bool arrived() const;

    /// How often the completion ran (must end at 1).
    int calls() const;

    /// The thread the completion ran on.
    std::thread::id thread() const;

private:
    struct state;
    std::shared_ptr<state> state_;
};

/// Waits until a writer connection of this database waits for a lock, so
/// the test knows the batch it sent is in progress.
void wait_for_blocked_writer(test_db& db);

/// How many connections the writer holds to this database.
int writer_backend_count(test_db& db);

/// Terminates every writer connection to this database.
void terminate_writer_backends(test_db& db);

/// Gives koreshield_events a BEFORE INSERT trigger that runs `action`, a
/// PL/pgSQL statement ("RETURN NULL;" skips the row), for each row whose
/// event_type is `event_type`; other rows are inserted as they are.
void on_event_type(test_db& db, const std::string& event_type,
                   const std::string& action);

} // namespace ks::test
