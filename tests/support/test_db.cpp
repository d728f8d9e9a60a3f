#include "support/test_db.hpp"

#include <libpq-fe.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace ks::test {

namespace {

PGconn* as_conn(void* p) { return static_cast<PGconn*>(p); }

std::string read_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace

test_db::test_db(const std::string& dsn) : conn_(PQconnectdb(dsn.c_str()))
{
    if (PQstatus(as_conn(conn_)) != CONNECTION_OK) {
        std::string msg = PQerrorMessage(as_conn(conn_));
        PQfinish(as_conn(conn_));
        throw std::runtime_error("connect to '" + dsn + "' failed: " + msg);
    }

    // NOTICEs such as "database ... does not exist, skipping" are noise
    // in test output.
    PQsetNoticeProcessor(as_conn(conn_), [](void*, const char*) {}, nullptr);
}

test_db::~test_db() { PQfinish(as_conn(conn_)); }

void test_db::exec(const std::string& sql)
{
    PGresult* r = PQexec(as_conn(conn_), sql.c_str());
    auto status = PQresultStatus(r);
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw std::runtime_error("'" + sql + "' failed: " + msg);
}

std::vector<text_row> test_db::query(const std::string& sql)
{
    PGresult* r = PQexec(as_conn(conn_), sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        std::string msg = PQresultErrorMessage(r);
        PQclear(r);
        throw std::runtime_error("'" + sql + "' failed: " + msg);
    }
    std::vector<text_row> rows(static_cast<std::size_t>(PQntuples(r)));
    for (int i = 0; i < PQntuples(r); ++i) {
        for (int j = 0; j < PQnfields(r); ++j) {
            if (PQgetisnull(r, i, j))
                rows[i].emplace_back();
            else
                rows[i].emplace_back(PQgetvalue(r, i, j));
        }
    }
    PQclear(r);
    return rows;
}

std::string test_db::scalar(const std::string& sql)
{
    auto rows = query(sql);
    if (rows.size() != 1 || rows[0].size() != 1)
        throw std::runtime_error("'" + sql + "' did not yield one value");
    return rows[0][0].value_or("");
}

std::string server_dsn()
{
    const char* dsn = std::getenv("KORESHIELD_TEST_DSN");
    if (dsn == nullptr || *dsn == '\0') {
        std::fprintf(stderr,
                     "KORESHIELD_TEST_DSN is not set: run the suites with "
                     "scripts/test, which starts a throwaway PostgreSQL\n");
        std::exit(2);
    }
    return dsn;
}

std::string fresh_database(std::string_view hint, schema_layout layout)
{
    return fresh_database_on(server_dsn(), hint, layout);
}

std::string fresh_database_on(const std::string& server, std::string_view hint,
                              schema_layout layout)
{
    static std::atomic<int> serial{0};
    std::string name = std::string(hint) + "_" + std::to_string(getpid()) +
                       "_" + std::to_string(serial++);

    test_db admin(server + " dbname=postgres");
    admin.exec("DROP DATABASE IF EXISTS " + name);
    admin.exec("CREATE DATABASE " + name);

    std::string dsn = server + " dbname=" + name;
    test_db db(dsn);
    apply_schema(db, layout);
    return dsn;
}

void apply_schema(test_db& db, schema_layout layout)
{
    // The files sql/apply applies, in its order; 60_schedule.sql is left
    // out because it only reports that pg_cron is not preloaded here.
    const bool flat = layout == schema_layout::flat;
    const char* files[] = {
        flat ? "sql/flat/10_events.sql" : "sql/10_events.sql",
        "sql/15_statistics.sql",
        "sql/20_support_tables.sql",
        flat ? nullptr : "sql/30_partitions.sql",
        "sql/40_maintenance.sql",
        "sql/50_dashboards.sql",
    };
    for (const char* f : files)
        if (f != nullptr) db.exec(read_file(source_path(f)));
}

std::string source_path(std::string_view relative)
{
    return std::string(KS_SOURCE_ROOT) + "/" + std::string(relative);
}

} // namespace ks::test
