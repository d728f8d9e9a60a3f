#pragma once

// Helpers for the tests of the schema in sql/: empty databases, months
// counted from the server's clock in UTC, listings that read the same in
// any session time zone, errors with their SQLSTATE, and the scripts of
// sql/ run as programs.

#include "support/test_db.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ks::test {

/// Creates a database without any schema on the test server and returns
/// its DSN. The name starts with `hint` and is unique per call.
std::string empty_database(std::string_view hint);

/// The text of a file of the source tree, e.g. "sql/60_schedule.sql".
std::string source_text(std::string_view relative);

/// A query's rows as text: one line per row, fields joined by '|', NULL
/// written as NULL. Compared whole, a difference shows in the failure.
std::string rows_text(test_db& db, const std::string& sql);

/// SQL for the first instant of the month `offset` months from the
/// server's current month, in UTC (a timestamptz expression).
std::string month_start(int offset);

/// month_start() for an offset given as SQL, e.g. a series' column.
std::string month_start(const std::string& offset_sql);

/// The month `offset` months from the current one as pg_partman names
/// its partition, e.g. "koreshield_events_p2027_01".
std::string partition_name(test_db& db, int offset);

/// The same month as "YYYY-MM".
std::string month_label(test_db& db, int offset);

/// Runs one statement in a subtransaction and returns "SQLSTATE: message"
/// of the error it raised, or "no error".
std::string error_of(test_db& db, const std::string& sql);

/// Every partition of koreshield_events and its bounds as PostgreSQL
/// states them in a UTC session, one "name|bounds" line each.
std::string partitions_utc(const std::string& dsn);

/// What partitions_utc() lists when the months `first` to `last` (offsets
/// from the current month) are partitioned, each from midnight UTC on its
/// first day to the next month's, plus the default partition.
std::string expected_partitions(const std::string& dsn, int first, int last);

/// Runs the script sql/`name` with `args` to its end and returns its exit
/// status; `output` gets what it wrote on stdout and stderr.
int run_sql_script(std::string_view name, const std::vector<std::string>& args,
                   std::string& output);

} // namespace ks::test
