#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace ks::pg {

/// Whether a failed step may succeed when the whole batch is tried again.
enum class error_kind : std::uint8_t {
    transient, // the server or the link was in trouble: retry later
    data,      // this data or statement is refused: retrying will not help
};

/// A failed database step.
struct db_error {
    db_error() = default;
    db_error(error_kind k, std::string state, std::string text,
             std::string server_text = {}, std::uint64_t line = 0)
        : kind(k), sqlstate(std::move(state)), message(std::move(text)),
          primary(std::move(server_text)), copy_line(line)
    {
    }

    error_kind kind = error_kind::transient;
    std::string sqlstate; // empty when libpq failed without the server
    std::string message;  // a sentence naming the step and the cause
    std::string primary;  // the server's own sentence, alone
    /// The 1-based tuple of a COPY that PostgreSQL refused, from its
    /// CONTEXT ("COPY t, line 3, column c"); 0 when none is named.
    std::uint64_t copy_line = 0;
};

/// Nothing when a step succeeded, else why it failed. Functions returning
/// it are [[nodiscard]] so an unchecked failure does not compile cleanly.
using db_status = std::optional<db_error>;

/// True when `sqlstate` says the data was at fault: classes 22 and 23,
/// XX000 (a bad jsonb version byte) and 08P01 (a field whose length does
/// not match its type).
bool is_data_sqlstate(std::string_view sqlstate) noexcept;

/// True when `sqlstate` reports a passing condition of the server: class
/// 08 other than 08P01, 53 (resources), 57 (shutdown, cancel), 40001 and
/// 40P01 (serialization, deadlock), 40003, and 55P03 (lock timeout).
bool is_transient_sqlstate(std::string_view sqlstate) noexcept;

/// How to treat an error with `sqlstate` (empty when libpq raised it) on
/// a connection that is, or is no longer, `connection_ok`. A lost
/// connection makes every error transient except the data classes, whose
/// data would fail again on a fresh connection.
error_kind classify(std::string_view sqlstate, bool connection_ok) noexcept;

/// The error carried by a failed result of `conn`; `step` names what was
/// being done ("COMMIT", "COPY into ...") and opens the message, which
/// also gives PostgreSQL's CONTEXT (the tuple and column at fault).
db_error error_from_result(const PGresult* res, const PGconn* conn,
                           std::string_view step);

/// The error libpq reports on `conn` for a call that returned no result
/// or a failure code; always transient unless PostgreSQL says otherwise.
db_error error_from_connection(const PGconn* conn, std::string_view step);

} // namespace ks::pg
