#include "pg/connection.hpp"
#include "pg/copy_stream.hpp"

#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <thread>

using namespace ks;

namespace {

const std::string copy_events = std::string("COPY koreshield_events ") +
                                test::event_columns +
                                " FROM STDIN (FORMAT binary)";

// Opens a connection to `dsn` or fails the test.
void open(pg::connection& c, const std::string& dsn)
{
    pg::db_status e = c.open(dsn, 5);
    if (e) FAIL(e->message);
}

} // namespace

TEST_CASE("a copy stream dropped before complete() commits nothing")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::connection c;
    open(c, dsn);

    // Whole tuples without the trailer: a stream PostgreSQL 15 would
    // accept if it were ended normally.
    pg::copy_buffer rows;
    test::add_event(rows, test::event_row{});
    test::add_event(rows, test::event_row{});
    REQUIRE_FALSE(c.start_copy("BEGIN; " + copy_events, "COPY"));
    {
        pg::copy_stream stream(c, "COPY");
        REQUIRE_FALSE(stream.write(rows.bytes()));
    }

    // The transaction failed; COMMIT answers ROLLBACK and says so.
    CHECK(PQtransactionStatus(c.native()) == PQTRANS_INERROR);
    pg::db_status e = c.commit();
    REQUIRE(e);
    CHECK(e->message == "COMMIT: the server rolled the transaction back");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "0");

    // The connection is still good for the next transaction.
    CHECK(c.usable());
    CHECK_FALSE(c.exec("SELECT 1", "SELECT 1"));
}

TEST_CASE("recover rolls back a failed transaction and keeps the link")
{
    std::string dsn = test::fresh_database("pg_writer");
    pg::connection c;
    open(c, dsn);

    REQUIRE_FALSE(c.exec("BEGIN", "BEGIN"));
    pg::db_status e = c.exec("SELECT 1/0", "division");
    REQUIRE(e);
    CHECK(e->sqlstate == "22012");
    CHECK(e->kind == pg::error_kind::data);
    CHECK(e->message == "division: division by zero");
    CHECK_FALSE(c.usable());

    c.recover();

    CHECK(c.native() != nullptr);
    CHECK(c.usable());
}

TEST_CASE("start_copy on a string without COPY is refused")
{
    std::string dsn = test::fresh_database("pg_writer");
    pg::connection c;
    open(c, dsn);

    pg::db_status e = c.start_copy("BEGIN; SELECT 1", "COPY");

    REQUIRE(e);
    CHECK(e->kind == pg::error_kind::data);
    CHECK(e->message == "COPY: the server never asked for COPY data");
    c.recover();
    CHECK(c.usable());
}

TEST_CASE("a connection ended by the server is no longer usable")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::connection c;
    open(c, dsn);
    REQUIRE(c.usable());

    test::terminate_writer_backends(db);

    // The FATAL and the end of the stream arrive shortly after.
    bool usable = true;
    for (int i = 0; i < 500 && usable; ++i) {
        usable = c.usable();
        if (usable) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK_FALSE(usable);
    pg::db_status e = c.exec("SELECT 1", "SELECT 1");
    REQUIRE(e);
    CHECK(e->kind == pg::error_kind::transient);
    c.recover();
    CHECK(c.native() == nullptr);
}

TEST_CASE("a connection that cannot be opened says why")
{
    const char* bad[] = {
        "host=/tmp/ks-no-such-dir-for-pg-tests port=5432",
        "host='unterminated",
        "postgresql://[::1",
    };

    for (const char* dsn : bad) {
        CAPTURE(dsn);
        pg::connection c;
        pg::db_status e = c.open(dsn, 1);
        REQUIRE(e);
        CHECK(e->kind == pg::error_kind::transient);
        CHECK(e->message.rfind("cannot connect to PostgreSQL: ", 0) == 0);
        CHECK(e->message.find('\n') == std::string::npos);
        CHECK(c.native() == nullptr);
        CHECK_FALSE(c.usable());
    }
}
