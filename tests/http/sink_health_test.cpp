// /health of the real koreshield-sink: it answers whatever the writers
// are doing, and it fails while a table cannot take rows. A missing
// table at start-up stops the sink at once.

#include "sink_fixture.hpp"

#include <thread>

using namespace ks::test;
using namespace std::chrono_literals;

namespace {

/// Waits until a sink connection waits for a lock in the database.
void wait_for_blocked_sink(test_db& db)
{
    for (int i = 0; i < 6000; ++i) {
        if (db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname "
                      "= current_database() AND application_name = "
                      "'koreshield-sink' AND wait_event_type = 'Lock'") != "0")
            return;
        std::this_thread::sleep_for(10ms);
    }
    FAIL("no sink connection ever waited for the lock");
}

} // namespace

TEST_CASE("/health answers while the only writer waits with a batch")
{
    sink_fixture f({"--writers", "1"});
    auto events = koreshield_events(1800, 5);
    test_db locker(f.dsn);

    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    http_client loader = f.client();
    std::string body = vector_json_array(events);
    loader.write_raw("POST /ingest HTTP/1.1\r\nHost: test\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n" + body);
    wait_for_blocked_sink(f.db);

    auto res = f.send({"GET", "/health", {}, ""});
    require_status(res, 200, f.sink);
    CHECK(res.body == R"({"status":"ok"})");

    locker.exec("ROLLBACK");
    require_loaded(loader.read_response(), f.sink, 5, 5, 0);
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("/health is 503, naming the table, while a table is missing")
{
    sink_fixture f;
    require_status(f.send({"HEAD", "/health", {}, ""}), 200, f.sink);

    f.db.exec("ALTER TABLE koreshield_dead_letters RENAME TO moved_away");
    auto res = f.send({"GET", "/health", {}, ""});
    require_error(res, 503, "database_unavailable", f.sink);
    std::string message = json_string(res.body, "message");
    CHECK_THAT(message, Catch::Contains("koreshield_dead_letters"));
    CHECK_THAT(message, Catch::Contains("does not exist"));
    res = f.send({"HEAD", "/health", {}, ""});
    require_status(res, 503, f.sink);
    CHECK(res.body.empty());

    f.db.exec("ALTER TABLE moved_away RENAME TO koreshield_dead_letters");
    require_status(f.send({"HEAD", "/health", {}, ""}), 200, f.sink);
}

TEST_CASE("a table missing at start-up stops the sink with status 1, "
          "naming it and sql/apply")
{
    std::string dsn = fresh_database("http");
    for (auto flag : {"--table", "--dead-letter-table"}) {
        std::string output;
        int status = run_sink_to_exit(
            {"--listen", "127.0.0.1:0", "--dsn", dsn, flag, "nosuch"}, output);
        INFO(flag << "\noutput: " << output);
        CHECK(status == 1);
        CHECK_THAT(output, Catch::Contains("nosuch"));
        CHECK_THAT(output, Catch::Contains("does not exist"));
        CHECK_THAT(output, Catch::Contains("sql/apply"));
        CHECK_THAT(output, !Catch::Contains("listening on"));
    }
}
