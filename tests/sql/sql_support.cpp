#include "sql_support.hpp"

#include "support/process.hpp"

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace ks::test {

namespace {

// The months of the queries below start from the server's clock read in
// UTC, so the session's time zone never moves them.
const std::string this_month_utc =
    "date_trunc('month', now() AT TIME ZONE 'UTC')";

// The partition listing, by name in byte order.
const std::string partitions_query =
    "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) "
    "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'koreshield_events'::regclass "
    "ORDER BY c.relname COLLATE \"C\"";

} // namespace

std::string empty_database(std::string_view hint)
{
    static std::atomic<int> serial{0};
    std::string name = std::string(hint) + "_" + std::to_string(getpid()) +
                       "_" + std::to_string(serial++);

    test_db admin(server_dsn() + " dbname=postgres");
    admin.exec("DROP DATABASE IF EXISTS " + name);
    admin.exec("CREATE DATABASE " + name);
    return server_dsn() + " dbname=" + name;
}

std::string source_text(std::string_view relative)
{
    const std::string path = source_path(relative);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string rows_text(test_db& db, const std::string& sql)
{
    std::string out;
    for (const text_row& row : db.query(sql)) {
        if (!out.empty()) out += '\n';
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i > 0) out += '|';
            out += row[i].value_or("NULL");
        }
    }
    return out;
}

std::string month_start(int offset)
{
    return month_start(std::to_string(offset));
}

std::string month_start(const std::string& offset_sql)
{
    return "((" + this_month_utc + " + make_interval(months => (" + offset_sql +
           ")::int)) AT TIME ZONE 'UTC')";
}

std::string partition_name(test_db& db, int offset)
{
    return db.scalar("SELECT to_char(" + this_month_utc +
                     " + make_interval(months => " + std::to_string(offset) +
                     "), '\"koreshield_events_p\"YYYY_MM')");
}

std::string month_label(test_db& db, int offset)
{
    return db.scalar("SELECT to_char(" + this_month_utc +
                     " + make_interval(months => " + std::to_string(offset) +
                     "), 'YYYY-MM')");
}

std::string error_of(test_db& db, const std::string& sql)
{
    db.exec("CREATE OR REPLACE FUNCTION pg_temp.ks_error_of(statement text) "
            "RETURNS text LANGUAGE plpgsql AS $f$ "
            "BEGIN EXECUTE statement; RETURN 'no error'; "
            "EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || SQLERRM; "
            "END $f$");
    return db.scalar("SELECT pg_temp.ks_error_of($ks_sql$" + sql + "$ks_sql$)");
}

std::string partitions_utc(const std::string& dsn)
{
    // A session of its own: bounds are printed in the session's zone.
    test_db db(dsn);
    db.exec("SET TimeZone = 'UTC'");
    return rows_text(db, partitions_query);
}

std::string expected_partitions(const std::string& dsn, int first, int last)
{
    test_db db(dsn);
    db.exec("SET TimeZone = 'UTC'");
    std::string months =
        rows_text(db, "SELECT to_char(m, '\"koreshield_events_p\"YYYY_MM'), "
                      "format('FOR VALUES FROM (%L) TO (%L)', "
                      "m AT TIME ZONE 'UTC', "
                      "(m + interval '1 month') AT TIME ZONE 'UTC') "
                      "FROM generate_series(" +
                          this_month_utc + " + make_interval(months => " +
                          std::to_string(first) + "), " + this_month_utc +
                          " + make_interval(months => " + std::to_string(last) +
                          "), interval '1 month') AS m ORDER BY m");
    return "koreshield_events_default|DEFAULT\n" + months;
}

int run_sql_script(std::string_view name, const std::vector<std::string>& args,
                   std::string& output)
{
    return run_program(source_path("sql/" + std::string(name)), args, output);
}

} // namespace ks::test
