#pragma once

#include "pg/connection.hpp"
#include "pg/writer.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ks::pg {

/// Whether rows can be copied into `target` over `conn`: the table and
/// each of its columns exist and the role may INSERT into them. Reads
/// only the catalogs and takes no lock on the table, so it answers at
/// once even while a batch or DDL holds one. `what` names the table in
/// messages ("events table").
///
/// Errors: data, with PostgreSQL's SQLSTATE, when the schema, the table
/// or a column is missing (3F000, 42P01, 42703) or the role may not
/// insert (42501); transient when the link fails.
[[nodiscard]] db_status check_table(connection& conn, const copy_target& target,
                                    std::string_view what);

/// check_table() for the events table, the dead-letter table, then
/// each of config.also_checked.
[[nodiscard]] db_status check_tables(connection& conn,
                                     const writer_config& config);

/// Sentences for the operator about an events table partitioned by range
/// on event_time, appended to `out`: no default partition (events of a
/// month without a partition are refused, and become dead letters), no
/// partition for the current time (live events go to the default
/// partition), rows waiting in the default partition. Nothing for a
/// plain table. Errors only when the catalogs cannot be read.
[[nodiscard]] db_status partition_warnings(connection& conn,
                                           const copy_target& events,
                                           std::vector<std::string>& out);

/// For start-up: connects once with `config` and checks both tables,
/// then, when `warnings` is given, adds partition_warnings() to it.
/// Transient when the database cannot be reached; data when it can, but
/// a table cannot take rows.
[[nodiscard]] db_status
check_database(const writer_config& config,
               std::vector<std::string>* warnings = nullptr);

/// The column names of a copy_target column list such as "(a, b)", with
/// double-quoted names unquoted; empty for an empty list.
std::vector<std::string> column_names(std::string_view list);

} // namespace ks::pg
