#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ks::test {

/// One result row in text format; NULL is an empty optional.
using text_row = std::vector<std::optional<std::string>>;

/// A plain libpq connection for checking what tests wrote. Throws
/// std::runtime_error with PostgreSQL's message on any failure.
class test_db {
public:
    explicit test_db(const std::string& dsn);
    ~test_db();
    test_db(const test_db&) = delete;
    test_db& operator=(const test_db&) = delete;

    /// Runs one or more statements that return no rows.
    void exec(const std::string& sql);
    /// Runs a query and returns every row as text.
    std::vector<text_row> query(const std::string& sql);
    /// Runs a query that yields one value and returns it ("" for NULL).
    std::string scalar(const std::string& sql);

private:
    void* conn_; // PGconn, kept out of this header
};

/// The server the test run was given in KORESHIELD_TEST_DSN (keyword
/// form, e.g. "host=/tmp/x port=5432 user=postgres"). Aborts the test
/// program with a clear message when it is not set: PostgreSQL suites
/// must never pass by skipping.
std::string server_dsn();

/// Which events table the schema makes: the guide's flat table (quick to
/// create; most suites), or monthly partitions managed by pg_partman.
enum class schema_layout { flat, partitioned };

/// Applies the schema files of sql/ over `db`, as sql/apply does.
void apply_schema(test_db& db, schema_layout layout);

/// Creates a new, empty database on that server, applies the schema from
/// the source tree, and returns a DSN for it. The name starts with `hint`
/// and is unique per call.
std::string fresh_database(std::string_view hint,
                           schema_layout layout = schema_layout::flat);

/// fresh_database() on the server at `server` (a DSN without dbname).
std::string fresh_database_on(const std::string& server, std::string_view hint,
                              schema_layout layout = schema_layout::flat);

/// Path of a file in the source tree, e.g. source_path("sql/apply").
std::string source_path(std::string_view relative);

} // namespace ks::test
