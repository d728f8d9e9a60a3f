#pragma once

#include "pg/db_error.hpp"

#include <libpq-fe.h>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ks::pg {

/// Frees a PGresult; lets std::unique_ptr own one.
struct result_clear {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};

/// Owns one PGresult (null when libpq returned none).
using result = std::unique_ptr<PGresult, result_clear>;

/// A value in PostgreSQL's text form; empty is NULL.
using text_value = std::optional<std::string>;

/// A row of a query result in text form.
using text_row = std::vector<text_value>;

/// Owns one libpq connection in blocking mode, so a full socket makes the
/// sender wait rather than grow libpq's buffer. Used by one thread at a
/// time. Closed (PQfinish) when destroyed.
class connection {
public:
    /// A closed connection; open() connects.
    connection() = default;
    /// Closes the connection, if one is open.
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Connects with `dsn` (conninfo, URI, plain database name, or empty
    /// for the PG* environment), closing any previous connection first.
    /// `connect_timeout_s` and application_name apply unless the DSN sets
    /// them; client_encoding is always UTF8 because rows are encoded so.
    [[nodiscard]] db_status open(const std::string& dsn,
                                 unsigned connect_timeout_s);

    /// Closes the connection, if one is open.
    void close() noexcept;

    /// True when a connection is open, idle outside a transaction, and
    /// still alive. Reads whatever the server sent meanwhile without
    /// blocking, so a session the server ended while idle (terminated
    /// backend, restart) is noticed before a batch is sent on it.
    [[nodiscard]] bool usable() noexcept;

    /// True when `e`, just returned by a step on this connection, means
    /// the connection itself is gone: libpq found the link broken (for an
    /// error without a SQLSTATE, by reading what the server left), or the
    /// server said it ends the session (SQLSTATE 57P01 to 57P05: shutdown,
    /// crash, dropped database, idle timeout).
    [[nodiscard]] bool lost(const db_error& e) noexcept;

    /// Runs `sql`, which must return no COPY, and expects success;
    /// `step` names it in the error message.
    [[nodiscard]] db_status exec(const char* sql, std::string_view step);

    /// Runs `sql` with `params` as text parameters $1, $2, ... and
    /// expects one row holding one boolean, which goes to `value`; `step`
    /// names it in the error message.
    [[nodiscard]] db_status query_flag(const std::string& sql,
                                       std::span<const std::string> params,
                                       std::string_view step, bool& value);

    /// Runs `sql` with `params` as text parameters $1, $2, ... (an empty
    /// optional is NULL) and returns every row it yields as text in
    /// `rows` (an empty optional is NULL); `step` names it in the error
    /// message.
    [[nodiscard]] db_status query(const std::string& sql,
                                  std::span<const text_value> params,
                                  std::string_view step,
                                  std::vector<text_row>& rows);

    /// Runs COMMIT and confirms the server really committed (COMMIT of a
    /// failed transaction answers ROLLBACK without an error).
    [[nodiscard]] db_status commit();

    /// Sends `sql`, a simple-query string holding a COPY FROM STDIN, and
    /// reads results until the server asks for data. On an error no COPY
    /// is in progress and nothing must be streamed. Statements may follow
    /// the COPY, other COPYs among them: one string carries a
    /// transaction in one round trip per COPY, where a string per
    /// statement would cost a round trip each.
    [[nodiscard]] db_status start_copy(const std::string& sql,
                                       std::string_view step);

    /// After a COPY of a string sent by start_copy() completed: reads
    /// results until the string's next COPY asks for data.
    [[nodiscard]] db_status next_copy(std::string_view step);

    /// After the last COPY of a string sent by start_copy() completed:
    /// reads the results of the statements after it until the
    /// connection is ready again.
    [[nodiscard]] db_status finish(std::string_view step);

    /// After a failed step: rolls back an open transaction, or closes the
    /// connection when that fails or the session is in an unknown state.
    void recover() noexcept;

    /// The libpq handle, null when closed.
    PGconn* native() const noexcept { return conn_; }

private:
    // Reads results until the connection is ready again or, with
    // `copy_wanted`, until a COPY asks for data (then `copying`).
    [[nodiscard]] db_status read_results(std::string_view step,
                                         bool copy_wanted, bool& copying);

    PGconn* conn_ = nullptr;
};

} // namespace ks::pg
