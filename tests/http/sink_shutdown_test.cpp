// Stopping the real koreshield-sink while batches are in the writer's
// hands: a batch that may be committed always gets its real answer, so a
// shipper never sends again what was stored.

#include "sink_fixture.hpp"

#include <csignal>
#include <thread>

using namespace ks::test;
using namespace std::chrono_literals;

namespace {

/// A whole request carrying `body`, as a shipper sends it.
std::string raw_request(const std::string& body)
{
    return "POST /ingest HTTP/1.1\r\nHost: test\r\n"
           "Content-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
}

/// How often the sink has logged `text` so far.
std::size_t log_count(const sink_process& sink, const std::string& text)
{
    std::string log = sink.stderr_text();
    std::size_t n = 0;
    for (auto at = log.find(text); at != std::string::npos;
         at = log.find(text, at + text.size()))
        ++n;
    return n;
}

/// Waits until the sink has logged `text` `times` times (a minute at
/// most).
void wait_for_log(const sink_process& sink, const std::string& text,
                  std::size_t times = 1)
{
    for (int i = 0; i < 6000; ++i) {
        if (log_count(sink, text) >= times) return;
        std::this_thread::sleep_for(10ms);
    }
    FAIL("the sink never logged " << text << " " << times << " times");
}

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

TEST_CASE("past the shutdown grace, the batch being written still gets its "
          "200, a queued one 503, and a body being read is cut")
{
    sink_fixture f({"--writers", "1", "--shutdown-grace-s", "1"});
    auto events = koreshield_events(1700, 30);
    std::vector<sample_event> written(events.begin(), events.begin() + 10);
    std::vector<sample_event> queued(events.begin() + 10, events.begin() + 20);
    std::vector<sample_event> unread(events.begin() + 20, events.end());
    test_db locker(f.dsn);

    // A connection that will be sending a body when the grace runs out;
    // one answer first, so that the sink surely serves it.
    http_client third = f.client();
    require_status(third.send({"HEAD", "/health", {}, ""}), 200, f.sink);

    // The one writer connection holds a batch, waiting for a lock, and a
    // second batch waits in its queue.
    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    http_client first = f.client();
    first.write_raw(raw_request(vector_json_array(written)));
    wait_for_blocked_sink(f.db);
    http_client second = f.client();
    second.write_raw(raw_request(vector_json_array(queued)));
    wait_for_log(f.sink, "batch_submitted", 2);

    // The third connection is in the middle of sending its body.
    std::string body = raw_request(vector_json_array(unread));
    third.write_raw(body.substr(0, body.size() / 2));

    // The grace runs out while the first batch still waits.
    REQUIRE(::kill(f.sink.pid(), SIGTERM) == 0);
    wait_for_log(f.sink, "stop_grace_expired");

    // The body being read is cut without an answer; the queued batch is
    // answered 503, as nothing of it was stored.
    CHECK(third.peer_closed(30'000));
    auto res = second.read_response();
    require_error(res, 503, "shutting_down", f.sink);
    CHECK(res.header("Retry-After") == "1");
    CHECK(res.header("Connection") == "close");

    // The batch in the writer's hands is answered once committed.
    CHECK_FALSE(first.peer_closed(200));
    locker.exec("ROLLBACK");
    res = first.read_response();
    require_loaded(res, f.sink, 10, 10, 0);
    CHECK(res.header("Connection") == "close");

    CHECK(f.sink.stop() == 0);
    require_rows(f.db, rows_of(written), f.sink);
    CHECK(f.count("koreshield_dead_letters") == "0");
}
