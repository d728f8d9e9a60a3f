// A PostgreSQL restart or crash, on a cluster of the test's own: the
// writer's idle connections are stale afterwards, which must cost neither
// a batch nor a health check.

#include "pg/connection.hpp"
#include "support/pg_cluster.hpp"
#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ks;

namespace {

pg::commit_outcome ping(pg::writer& w)
{
    test::outcome_slot slot;
    w.ping(slot.callback());
    return slot.wait();
}

// Two batches that the writer sends in one transaction: the group path,
// which meets its connection only once.
void require_pair_committed(pg::writer& w, int events)
{
    test::outcome_slot a, b;
    w.submit(test::simple_batch(events, 1), a.callback());
    w.submit(test::simple_batch(events, 1), b.callback());
    for (const test::outcome_slot* s : {&a, &b}) {
        pg::commit_outcome o = s->wait();
        INFO("batch: " << o.message);
        CHECK(o.kind == pg::outcome_kind::committed);
        CHECK(o.events_loaded == static_cast<std::uint64_t>(events));
    }
}

} // namespace

TEST_CASE("after PostgreSQL restarts, the first health check and the first "
          "batch succeed")
{
    test::pg_cluster cluster;
    std::string dsn = test::fresh_database_on(cluster.dsn(), "pg_restart");

    // One writer connection, so that batches meet a stale one; a group
    // waits until two batches fill it.
    pg::writer_config c = test::config_for(dsn, 1);
    auto sample = test::simple_batch(2, 1);
    c.group_max_bytes = 2 * (sample->events.bytes().size() +
                             sample->dead_letters.bytes().size());
    c.group_delay_ms = 60'000;
    pg::writer w(c);

    // Both connections are open and idle: the health one and the writer's.
    REQUIRE(ping(w).kind == pg::outcome_kind::committed);
    require_pair_committed(w, 2);

    cluster.restart();
    pg::commit_outcome checked = ping(w);
    INFO("health check: " << checked.message);
    CHECK(checked.kind == pg::outcome_kind::committed);
    require_pair_committed(w, 2);

    // And once more, with the batches first.
    cluster.restart();
    require_pair_committed(w, 2);
    CHECK(ping(w).kind == pg::outcome_kind::committed);

    test::test_db db(dsn);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "12");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") == "6");
}

TEST_CASE("a connection idle through a crash of the server is found lost by "
          "its next statement, and the writer goes on")
{
    test::pg_cluster cluster;
    std::string dsn = test::fresh_database_on(cluster.dsn(), "pg_crash");
    pg::writer w(test::config_for(dsn, 1));
    REQUIRE(ping(w).kind == pg::outcome_kind::committed);
    require_pair_committed(w, 2);

    pg::connection c;
    REQUIRE_FALSE(c.open(dsn, 5));
    REQUIRE_FALSE(c.exec("SELECT 1", "SELECT 1"));

    // An immediate shutdown ends sessions without a FATAL: libpq learns
    // of it only when the next statement cannot be sent.
    cluster.crash();
    cluster.start();
    pg::db_status e = c.exec("SELECT 1", "SELECT 1");
    REQUIRE(e);
    INFO(e->message);
    CHECK(e->sqlstate.empty());
    CHECK(c.lost(*e));

    require_pair_committed(w, 2);
    CHECK(ping(w).kind == pg::outcome_kind::committed);
    test::test_db db(dsn);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "8");
}
