// Ledger statements: SQL a batch runs in its own transaction before its
// rows, so that a record of what was stored commits with the rows; a
// unique violation there stores nothing of that batch alone.

#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ks;

namespace {

constexpr const char* ledger_table =
    "CREATE TABLE test_ledger (batch_key text PRIMARY KEY, rows int)";

// A batch of `events` rows with request id `key`, recorded as `key`.
std::shared_ptr<pg::batch> recorded_batch(const std::string& key, int events)
{
    auto b = std::make_shared<pg::batch>();
    for (int i = 0; i < events; ++i) {
        test::event_row r;
        r.event_time = 762525296789012 + i;
        r.request_id = key;
        test::add_event(b->events, r);
    }
    b->events.finish();
    b->dead_letters.finish();
    b->ledger = "INSERT INTO test_ledger VALUES ('" + key + "', " +
                std::to_string(events) + ");";
    return b;
}

int events_of(test::test_db& db, const std::string& key)
{
    return std::stoi(db.scalar(
        "SELECT count(*) FROM koreshield_events WHERE request_id = '" + key +
        "'"));
}

} // namespace

TEST_CASE("a batch's ledger statement commits with its rows, and a "
          "repeated one stores nothing")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec(ledger_table);
    pg::writer w(test::config_for(dsn, 1));

    test::outcome_slot first;
    w.submit(recorded_batch("k1", 3), first.callback());
    pg::commit_outcome o = first.wait();
    REQUIRE(o.kind == pg::outcome_kind::committed);
    CHECK(o.events_loaded == 3);
    CHECK(db.scalar("SELECT rows FROM test_ledger WHERE batch_key = 'k1'") ==
          "3");

    test::outcome_slot again;
    w.submit(recorded_batch("k1", 3), again.callback());
    o = again.wait();
    CHECK(o.kind == pg::outcome_kind::duplicate);
    CHECK(o.ledger_row.empty());
    CHECK(events_of(db, "k1") == 3);
    CHECK(db.scalar("SELECT count(*) FROM test_ledger") == "1");
}

TEST_CASE("a batch with a ledger statement and no rows still records it")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec(ledger_table);
    pg::writer w(test::config_for(dsn, 1));

    test::outcome_slot slot;
    w.submit(recorded_batch("empty", 0), slot.callback());
    pg::commit_outcome o = slot.wait();
    REQUIRE(o.kind == pg::outcome_kind::committed);
    CHECK(o.events_loaded == 0);
    CHECK(db.scalar("SELECT rows FROM test_ledger WHERE batch_key = 'empty'") ==
          "0");
}

TEST_CASE("in a group, only the batch whose ledger entry exists is refused")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec(ledger_table);
    db.exec("INSERT INTO test_ledger VALUES ('dup', 2)");
    pg::writer_config c = test::config_for(dsn, 1);
    pg::writer w(c);

    // Held behind a lock, the three batches queue up and form one group.
    test::test_db locker(dsn);
    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    test::outcome_slot held;
    w.submit(recorded_batch("held", 1), held.callback());
    test::wait_for_blocked_writer(db);

    test::outcome_slot a, dup, b;
    w.submit(recorded_batch("a", 2), a.callback());
    w.submit(recorded_batch("dup", 2), dup.callback());
    w.submit(recorded_batch("b", 4), b.callback());
    locker.exec("ROLLBACK");

    REQUIRE(held.wait().kind == pg::outcome_kind::committed);
    CHECK(a.wait().kind == pg::outcome_kind::committed);
    CHECK(b.wait().kind == pg::outcome_kind::committed);
    pg::commit_outcome refused = dup.wait();
    CHECK(refused.kind == pg::outcome_kind::duplicate);

    CHECK(events_of(db, "a") == 2);
    CHECK(events_of(db, "b") == 4);
    CHECK(events_of(db, "dup") == 0);
    CHECK(db.scalar("SELECT string_agg(batch_key || ':' || rows, ',' ORDER BY "
                    "batch_key) FROM test_ledger") == "a:2,b:4,dup:2,held:1");
}

TEST_CASE("a repeated batch is answered with what its ledger lookup finds")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec(ledger_table);
    pg::writer w(test::config_for(dsn, 1));

    test::outcome_slot first;
    w.submit(recorded_batch("k2", 5), first.callback());
    REQUIRE(first.wait().kind == pg::outcome_kind::committed);

    auto again = recorded_batch("k2", 5);
    again->ledger_lookup =
        "SELECT batch_key, rows, NULL FROM test_ledger WHERE batch_key = 'k2'";
    test::outcome_slot slot;
    w.submit(again, slot.callback());
    pg::commit_outcome o = slot.wait();
    REQUIRE(o.kind == pg::outcome_kind::duplicate);
    REQUIRE(o.ledger_row.size() == 3);
    CHECK(o.ledger_row[0] == "k2");
    CHECK(o.ledger_row[1] == "5");
    CHECK_FALSE(o.ledger_row[2].has_value());
    CHECK(events_of(db, "k2") == 5);
}

TEST_CASE("ledger rows are inserted before the events; a repeated one "
          "makes only its own batch of a group a duplicate")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec("CREATE TABLE test_rows (batch_key text PRIMARY KEY, "
            "rows bigint)");
    db.exec("INSERT INTO test_rows VALUES ('dup', 2)");
    pg::writer_config c = test::config_for(dsn, 1);
    c.ledger_rows = {"test_rows", "(batch_key, rows)"};
    pg::writer w(c);

    // The same batches as above, recorded as rows instead of statements.
    auto with_row = [](const std::string& key, int events) {
        auto b = recorded_batch(key, events);
        b->ledger.clear();
        b->ledger_rows = "('" + key + "', " + std::to_string(events) + ")";
        return b;
    };

    test::test_db locker(dsn);
    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    test::outcome_slot held;
    w.submit(with_row("held", 1), held.callback());
    test::wait_for_blocked_writer(db);

    test::outcome_slot a, dup, b;
    w.submit(with_row("a", 2), a.callback());
    w.submit(with_row("dup", 2), dup.callback());
    w.submit(with_row("b", 4), b.callback());
    locker.exec("ROLLBACK");

    REQUIRE(held.wait().kind == pg::outcome_kind::committed);
    CHECK(a.wait().kind == pg::outcome_kind::committed);
    CHECK(b.wait().kind == pg::outcome_kind::committed);
    CHECK(dup.wait().kind == pg::outcome_kind::duplicate);
    CHECK(events_of(db, "a") == 2);
    CHECK(events_of(db, "b") == 4);
    CHECK(events_of(db, "dup") == 0);
    CHECK(db.scalar("SELECT string_agg(batch_key || ':' || rows, ',' ORDER BY "
                    "batch_key) FROM test_rows") == "a:2,b:4,dup:2,held:1");
}
