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

/// For start-up: connects once with `config` and checks both tables.
/// Transient when the database cannot be reached; data when it can, but
/// a table cannot take rows.
[[nodiscard]] db_status check_database(const writer_config& config);

/// The column names of a copy_target column list such as "(a, b)", with
/// double-quoted names unquoted; empty for an empty list.
std::vector<std::string> column_names(std::string_view list);

} // namespace ks::pg
