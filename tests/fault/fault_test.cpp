// Faults under real traffic: PostgreSQL restarting, the sink killed with
// SIGKILL and started again, and answers lost after their COMMIT. A
// shipper that retries like Vector sends distinct batches from several
// threads until each gets a 200; afterwards every event must be stored
// exactly once, and the request ledger must have answered the retries of
// batches that were already committed.

#include "fault/shipper.hpp"
#include "support/pg_cluster.hpp"
#include "support/restart_port.hpp"
#include "support/sink_process.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace ks::test;
using namespace ks::test::fault;
using namespace std::chrono_literals;

namespace {

constexpr int batch_count = 90;
constexpr int events_per_batch = 50;
constexpr int event_count = batch_count * events_per_batch;

/// A batch index at `percent` of the traffic.
constexpr int at_percent(int percent)
{
    return batch_count * percent / 100;
}

/// The sinks of one scenario, every one started on the same port; the
/// killed ones are kept for their logs.
class sink_set {
public:
    sink_set(std::string dsn, std::uint16_t port)
        : dsn_(std::move(dsn)), port_(port)
    {
        start();
    }

    void start()
    {
        // As tests/http/sink_fixture.hpp's sink_args, on a fixed port.
        sinks_.push_back(
            std::make_unique<sink_process>(std::vector<std::string>{
                "--listen", "127.0.0.1:" + std::to_string(port_), "--dsn", dsn_,
                "--log-level", "debug", "--io-threads", "2"}));
    }

    /// SIGKILL, nothing else: no handler runs, nothing is flushed.
    int kill()
    {
        ::kill(sinks_.back()->pid(), SIGKILL);
        return sinks_.back()->stop(); // reaps it: 128 + SIGKILL
    }

    int stop() { return sinks_.back()->stop(); }

    /// Every line above debug and the last lines of each sink: what
    /// went wrong is rarely in the tail alone.
    std::string excerpt() const
    {
        std::string out;
        for (std::size_t i = 0; i < sinks_.size(); ++i) {
            out += "--- sink " + std::to_string(i + 1) + " of " +
                   std::to_string(sinks_.size()) + " ---\n";
            std::istringstream text(sinks_[i]->stderr_text());
            std::vector<std::string> lines;
            std::string notable;
            int shown = 0;
            for (std::string line; std::getline(text, line);) {
                if (line.find(" debug ") == std::string::npos && shown++ < 60)
                    notable += line + "\n";
                lines.push_back(std::move(line));
            }
            out += notable + "... last lines:\n";
            for (std::size_t j = lines.size() > 25 ? lines.size() - 25 : 0;
                 j < lines.size(); ++j)
                out += lines[j] + "\n";
        }
        return out;
    }

private:
    std::string dsn_;
    std::uint16_t port_;
    std::vector<std::unique_ptr<sink_process>> sinks_;
};

std::string summary(const attempt_counts& c)
{
    std::ostringstream s;
    s << "attempts " << c.attempts << ", 200 " << c.ok << " (duplicate_of "
      << c.duplicates << "), 503 " << c.status_503 << ", other 5xx "
      << c.status_5xx << ", 4xx " << c.status_4xx << ", refused " << c.refused
      << ", reset " << c.reset << ", closed " << c.closed << ", timeouts "
      << c.timeouts << ", other errors " << c.other_errors
      << ", answers lost on purpose " << c.lost;
    return s.str();
}

/// Prints how a scenario went, pass or fail, for the test log; `hits`
/// are the requests inside the sink as each fault struck.
void report(const char* name, std::chrono::steady_clock::time_point began,
            const shipper& s, const std::vector<int>& hits = {})
{
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - began;
    std::string faults;
    for (int h : hits)
        faults += (faults.empty() ? "" : ", ") + std::to_string(h);
    if (!faults.empty())
        faults = "; requests in the sink as the faults struck: " + faults;
    std::printf("fault scenario %s: %d batches of %d events in %.1f s; %s%s\n",
                name, batch_count, events_per_batch, took.count(),
                summary(s.counts()).c_str(), faults.c_str());
    std::fflush(stdout);
}

/// The guarantee: every batch answered 200 with its own counts, every
/// event stored exactly once, nothing dead-lettered, and one ledger entry
/// per batch, the one each batch's answer names.
void require_exactly_once(const std::string& dsn, const shipper& s,
                          const sink_set& sinks)
{
    // Connected now: a connection opened before a restart would be gone.
    test_db db(dsn);
    INFO("shipper: " << summary(s.counts()));
    INFO("sink logs:\n" << sinks.excerpt());

    std::vector<std::string> undelivered, wrong_counts;
    std::set<std::string> answered_ids; // the first delivery's id
    for (std::size_t i = 0; i < s.results().size(); ++i) {
        const batch_result& r = s.results()[i];
        const std::string name = "batch " + std::to_string(i);
        if (!r.delivered) {
            undelivered.push_back(name + ": " + r.failure);
            continue;
        }
        // A duplicate answer carries the first delivery's counts.
        if (r.received != events_per_batch || r.loaded != events_per_batch ||
            r.dead_lettered != 0)
            wrong_counts.push_back(
                name + ": received " + std::to_string(r.received) +
                ", loaded " + std::to_string(r.loaded) + ", dead_lettered " +
                std::to_string(r.dead_lettered));
        answered_ids.insert(r.duplicate_of.empty() ? r.request_id
                                                   : r.duplicate_of);
    }
    INFO("batches without a 200:\n" << first_items(undelivered));
    REQUIRE(undelivered.empty());
    INFO("answers with other counts:\n" << first_items(wrong_counts));
    CHECK(wrong_counts.empty());
    CHECK(answered_ids.size() == static_cast<std::size_t>(batch_count));

    // Each event exactly once: by count, by distinct id, by the ids
    // stored twice, and as the very set of ids that was sent.
    std::vector<std::string> twice;
    for (const auto& row :
         db.query("SELECT request_id || ' x' || count(*) FROM "
                  "koreshield_events GROUP BY request_id HAVING count(*) > 1 "
                  "ORDER BY request_id LIMIT 20"))
        twice.push_back(row[0].value_or("NULL"));
    INFO("request ids stored more than once:\n" << first_items(twice));
    CHECK(twice.empty());
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") ==
          std::to_string(event_count));
    CHECK(db.scalar("SELECT count(DISTINCT request_id) FROM "
                    "koreshield_events") == std::to_string(event_count));

    std::vector<std::string> stored;
    for (const auto& row : db.query("SELECT request_id FROM koreshield_events "
                                    "ORDER BY request_id COLLATE \"C\""))
        stored.push_back(row[0].value_or("NULL"));
    const std::vector<std::string> sent =
        expected_request_ids(batch_count, events_per_batch);
    std::vector<std::string> missing, unexpected;
    std::set_difference(sent.begin(), sent.end(), stored.begin(), stored.end(),
                        std::back_inserter(missing));
    std::set_difference(stored.begin(), stored.end(), sent.begin(), sent.end(),
                        std::back_inserter(unexpected));
    INFO("sent, not stored:\n" << first_items(missing));
    INFO("stored, not sent (or again):\n" << first_items(unexpected));
    CHECK(missing.empty());
    CHECK(unexpected.empty());

    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") == "0");

    // The ledger holds one entry per batch, under the id its first
    // delivery was given: the id every answer to the batch names.
    std::set<std::string> ledger_ids;
    for (const auto& row :
         db.query("SELECT request_id FROM koreshield_ingest_requests"))
        ledger_ids.insert(row[0].value_or("NULL"));
    CHECK(db.scalar("SELECT count(*) FROM koreshield_ingest_requests") ==
          std::to_string(batch_count));
    CHECK(ledger_ids == answered_ids);
}

} // namespace

TEST_CASE("PostgreSQL restarting under traffic loses and repeats no event")
{
    const auto began = std::chrono::steady_clock::now();
    pg_cluster cluster; // of its own: the test stops and starts it
    const std::string dsn = fresh_database_on(cluster.dsn(), "fault_pg");
    const std::uint16_t port = ks::test::restart_port();
    sink_set sinks(dsn, port);

    shipper s(make_batches(batch_count, events_per_batch), shipper_options{});
    s.set_port(port);
    std::vector<int> hits; // requests in the sink as each fault struck

    // Batches are released in steps, and a shipper thread strikes each
    // fault at a fixed point of the traffic: it meets batches in flight
    // and leaves batches to send, however fast this machine is.
    s.allow(at_percent(40));
    // A restart: sessions are terminated in the middle of COPY or
    // COMMIT, idle ones go stale.
    s.strike_at(at_percent(20), [&] { cluster.restart(); });
    s.start();
    hits.push_back(s.wait_struck(60s));
    REQUIRE(hits.back() >= 0);

    // A stop, then an outage long enough for the shipper to retry
    // several times; the batches released once the server is down are
    // sure to find it down.
    s.strike_at(at_percent(50), [&] { cluster.stop(); });
    s.allow(at_percent(70));
    hits.push_back(s.wait_struck(60s));
    REQUIRE(hits.back() >= 0);
    s.allow(batch_count);
    std::this_thread::sleep_for(2s); // the outage itself, not a wait
    cluster.start();

    const bool finished = s.finish(120s);
    report("(a) PostgreSQL restarts", began, s, hits);
    REQUIRE(finished);
    require_exactly_once(dsn, s, sinks);
    const attempt_counts c = s.counts();
    CHECK(c.status_503 + c.connection_errors() > 0); // the fault was met
    CHECK(c.status_4xx == 0);

    const int status = sinks.stop();
    INFO("sink logs:\n" << sinks.excerpt());
    CHECK(status == 0);
}

TEST_CASE("a sink killed with SIGKILL twice under traffic loses and "
          "repeats no event")
{
    const auto began = std::chrono::steady_clock::now();
    const std::string dsn = fresh_database("fault_kill");
    const std::uint16_t port = ks::test::restart_port();
    sink_set sinks(dsn, port);

    shipper s(make_batches(batch_count, events_per_batch), shipper_options{});
    s.set_port(port);
    std::vector<int> hits; // requests in the sink as each kill struck

    // Killed while batches are between read and COMMIT and while the
    // shipper holds keep-alive connections to it; the next sink binds
    // the same port, as a restarted service would. A shipper thread
    // kills, at a fixed point of the traffic (see the test above).
    int first_kill = 0, second_kill = 0;
    s.allow(at_percent(45));
    s.strike_at(at_percent(25), [&] { first_kill = sinks.kill(); });
    s.start();
    hits.push_back(s.wait_struck(60s));
    REQUIRE(hits.back() >= 0);
    CHECK(first_kill == 128 + SIGKILL);
    sinks.start();

    s.strike_at(at_percent(55), [&] { second_kill = sinks.kill(); });
    s.allow(at_percent(75));
    hits.push_back(s.wait_struck(60s));
    REQUIRE(hits.back() >= 0);
    CHECK(second_kill == 128 + SIGKILL);
    sinks.start();

    const bool finished = s.finish(120s);
    report("(b) sink killed", began, s, hits);
    REQUIRE(finished);
    require_exactly_once(dsn, s, sinks);
    const attempt_counts c = s.counts();
    CHECK(c.connection_errors() > 0); // the kills were met
    CHECK(c.status_4xx == 0);

    const int status = sinks.stop();
    INFO("sink logs:\n" << sinks.excerpt());
    CHECK(status == 0);
}

TEST_CASE("answers lost after COMMIT are answered again from the ledger, "
          "and nothing is stored twice")
{
    const auto began = std::chrono::steady_clock::now();
    const std::string dsn = fresh_database("fault_lost");
    const std::uint16_t port = ks::test::restart_port();
    sink_set sinks(dsn, port);

    // Every third batch's first answer goes unread; the retry follows
    // the shipper's backoff, as after a timeout.
    shipper_options options;
    options.lose_every = 3;
    shipper s(make_batches(batch_count, events_per_batch), options);
    s.set_port(port);
    s.start();

    const bool finished = s.finish(120s);
    report("(c) answers lost", began, s);
    REQUIRE(finished);
    require_exactly_once(dsn, s, sinks);
    const attempt_counts c = s.counts();
    CHECK(c.lost == (batch_count + 2) / 3);
    // The ledger was exercised: retries of committed batches were
    // recognised. Only a lost answer (or a failed attempt) is retried.
    CHECK(c.duplicates > 0);
    CHECK(c.duplicates <=
          c.lost + c.status_503 + c.status_5xx + c.connection_errors());
    CHECK(c.status_4xx == 0);

    const int status = sinks.stop();
    INFO("sink logs:\n" << sinks.excerpt());
    CHECK(status == 0);
}
