// Group commit: batches queued together share one transaction, each is
// completed once with its own counts, and a refusal fails only the batch
// at fault. Transactions are counted by the xmin of the rows they wrote.

#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <thread>
#include <vector>

using namespace ks;

namespace {

// A finished batch whose events carry request id "g<n>" and whose dead
// letters carry source "g<n>", so rows can be traced to their batch.
std::shared_ptr<pg::batch> tagged_batch(int n, int events, int dead_letters)
{
    auto b = std::make_shared<pg::batch>();
    std::string tag = "g" + std::to_string(n);
    for (int i = 0; i < events; ++i) {
        test::event_row r;
        r.event_time = 762525296789012 + i;
        r.request_id = tag;
        r.metadata = "{\"batch\": " + std::to_string(n) + "}";
        test::add_event(b->events, r);
    }
    for (int i = 0; i < dead_letters; ++i) {
        test::dead_letter_row r;
        r.source = tag;
        r.record_index = i;
        test::add_dead_letter(b->dead_letters, r);
    }
    b->events.finish();
    b->dead_letters.finish();
    return b;
}

// Two good events, then a third with NULL in event_type (NOT NULL).
std::shared_ptr<pg::batch> refused_batch(int n)
{
    auto b = std::make_shared<pg::batch>();
    test::event_row good;
    good.request_id = "g" + std::to_string(n);
    test::add_event(b->events, good);
    test::add_event(b->events, good);
    b->events.begin_row(9);
    b->events.timestamptz(0);
    for (int i = 0; i < 8; ++i)
        b->events.null();
    b->events.finish();
    b->dead_letters.finish();
    return b;
}

// COPY bytes the writer counts for a batch against group_max_bytes.
std::size_t copy_size(const pg::batch& b)
{
    return b.events.bytes().size() + b.dead_letters.bytes().size();
}

// Transactions that wrote rows into either table.
int transactions(test::test_db& db)
{
    return std::stoi(
        db.scalar("SELECT count(DISTINCT x) FROM (SELECT xmin::text AS x FROM "
                  "koreshield_events UNION ALL SELECT xmin::text FROM "
                  "koreshield_dead_letters) AS t"));
}

// Rows per tag, as "tag" -> count, for one table and its tag column.
std::map<std::string, int> rows_per_tag(test::test_db& db, const char* table,
                                        const char* column)
{
    std::map<std::string, int> out;
    for (auto& row : db.query(std::string("SELECT ") + column +
                              ", count(*) FROM " + table + " GROUP BY 1"))
        out[row[0].value_or("NULL")] = std::stoi(row[1].value_or("0"));
    return out;
}

// Holds koreshield_events locked, so that the writer's one connection
// waits on a first batch while the test queues more behind it.
class held_writer {
public:
    held_writer(test::test_db& db, const std::string& dsn, pg::writer& w)
        : locker_(dsn)
    {
        locker_.exec("BEGIN; LOCK TABLE koreshield_events");
        w.submit(tagged_batch(-1, 1, 0), first_.callback());
        test::wait_for_blocked_writer(db);
    }

    /// Lets the first batch go on and requires that it committed.
    void release()
    {
        locker_.exec("ROLLBACK");
        REQUIRE(first_.wait().kind == pg::outcome_kind::committed);
        CHECK(first_.calls() == 1);
    }

private:
    test::test_db locker_;
    test::outcome_slot first_;
};

} // namespace

TEST_CASE("batches queued from several threads share one transaction, "
          "each completed once with its own counts")
{
    constexpr int submitters = 4;
    constexpr int per_submitter = 15;
    constexpr int total = submitters * per_submitter;

    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer_config c = test::config_for(dsn, 1);
    c.max_queued = total;
    pg::writer w(c);
    held_writer held(db, dsn, w);

    // Batch n carries n % 5 + 1 events and n % 3 dead letters.
    std::vector<test::outcome_slot> slots(total);
    std::vector<std::thread> threads;
    for (int t = 0; t < submitters; ++t) {
        threads.emplace_back([&, t] {
            for (int k = 0; k < per_submitter; ++k) {
                int n = t * per_submitter + k;
                w.submit(tagged_batch(n, n % 5 + 1, n % 3),
                         slots[n].callback());
            }
        });
    }
    for (std::thread& t : threads)
        t.join();
    for (int n = 0; n < total; ++n)
        CHECK_FALSE(slots[n].arrived());
    held.release();

    // Each completion carries its own batch's counts, once.
    for (int n = 0; n < total; ++n) {
        CAPTURE(n);
        pg::commit_outcome o = slots[n].wait();
        REQUIRE(o.kind == pg::outcome_kind::committed);
        CHECK(o.events_loaded == static_cast<std::uint64_t>(n % 5 + 1));
        CHECK(o.dead_letters_loaded == static_cast<std::uint64_t>(n % 3));
    }
    w.stop();
    for (int n = 0; n < total; ++n)
        CHECK(slots[n].calls() == 1);

    // The first batch alone, then every queued one in a single group.
    CHECK(transactions(db) == 2);
    auto events = rows_per_tag(db, "koreshield_events", "request_id");
    auto dead = rows_per_tag(db, "koreshield_dead_letters", "source");
    for (int n = 0; n < total; ++n) {
        std::string tag = "g" + std::to_string(n);
        CHECK(events[tag] == n % 5 + 1);
        CHECK(dead[tag] == n % 3);
    }
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "181");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") == "60");
}

TEST_CASE("group_max_bytes splits queued batches into several transactions")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);

    // Room for two batches of this size in a group, not for three.
    const std::size_t size = copy_size(*tagged_batch(0, 3, 1));
    pg::writer_config c = test::config_for(dsn, 1);
    c.group_max_bytes = 2 * size + size / 2;
    pg::writer w(c);
    held_writer held(db, dsn, w);

    std::vector<test::outcome_slot> slots(10);
    for (int n = 0; n < 10; ++n)
        w.submit(tagged_batch(n, 3, 1), slots[n].callback());
    held.release();
    for (test::outcome_slot& s : slots) {
        pg::commit_outcome o = s.wait();
        CHECK(o.kind == pg::outcome_kind::committed);
        CHECK(o.events_loaded == 3);
        CHECK(o.dead_letters_loaded == 1);
    }

    // The first batch, then five groups of two, in queue order.
    CHECK(transactions(db) == 6);
    auto pairs = db.query(
        "SELECT string_agg(DISTINCT request_id, ',' ORDER BY request_id) "
        "FROM koreshield_events WHERE request_id <> 'g-1' "
        "GROUP BY xmin::text ORDER BY 1");
    REQUIRE(pairs.size() == 5);
    CHECK(pairs[0][0] == "g0,g1");
    CHECK(pairs[1][0] == "g2,g3");
    CHECK(pairs[2][0] == "g4,g5");
    CHECK(pairs[3][0] == "g6,g7");
    CHECK(pairs[4][0] == "g8,g9");
}

TEST_CASE("a batch PostgreSQL refuses fails alone; the rest of its group "
          "commits")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));
    held_writer held(db, dsn, w);

    // Five batches queued together; the third holds a NULL in a NOT NULL
    // column as its own third tuple.
    std::vector<test::outcome_slot> slots(5);
    for (int n = 0; n < 5; ++n)
        w.submit(n == 2 ? refused_batch(n) : tagged_batch(n, n + 1, 1),
                 slots[n].callback());
    held.release();

    for (int n = 0; n < 5; ++n) {
        CAPTURE(n);
        pg::commit_outcome o = slots[n].wait();
        CHECK(slots[n].calls() == 1);
        if (n == 2) {
            // Its own line number: it was written again, alone.
            CHECK(o.kind == pg::outcome_kind::failed);
            CHECK(o.sqlstate == "23502");
            CHECK(o.events_loaded == 0);
            CHECK(o.message.find("COPY koreshield_events, line 3") !=
                  std::string::npos);
            continue;
        }
        CHECK(o.kind == pg::outcome_kind::committed);
        CHECK(o.events_loaded == static_cast<std::uint64_t>(n + 1));
        CHECK(o.dead_letters_loaded == 1);
    }

    // Nothing of the refused batch; everything of the others.
    auto events = rows_per_tag(db, "koreshield_events", "request_id");
    auto dead = rows_per_tag(db, "koreshield_dead_letters", "source");
    CHECK(events.count("g2") == 0);
    CHECK(dead.count("g2") == 0);
    for (int n : {0, 1, 3, 4}) {
        CHECK(events["g" + std::to_string(n)] == n + 1);
        CHECK(dead["g" + std::to_string(n)] == 1);
    }
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "13");
}

TEST_CASE("a passing failure of a group completes all of it unavailable")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    test::test_db locker(dsn);
    pg::writer w(test::config_for(dsn + " options='-c lock_timeout=300'", 1));
    REQUIRE([&] {
        test::outcome_slot s;
        w.submit(tagged_batch(-1, 1, 0), s.callback());
        return s.wait().kind;
    }() == pg::outcome_kind::committed);

    // The table stays locked while every batch times out waiting for it;
    // the first runs alone, the rest queue behind it as one group.
    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    std::vector<test::outcome_slot> slots(8);
    for (int n = 0; n < 8; ++n)
        w.submit(tagged_batch(n, 2, 1), slots[n].callback());
    for (int n = 0; n < 8; ++n) {
        CAPTURE(n);
        pg::commit_outcome o = slots[n].wait();
        CHECK(o.kind == pg::outcome_kind::unavailable);
        CHECK(o.sqlstate == "55P03");
        CHECK(slots[n].calls() == 1);
    }
    locker.exec("ROLLBACK");

    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "1");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") == "0");
    test::outcome_slot after;
    w.submit(tagged_batch(9, 2, 1), after.callback());
    CHECK(after.wait().kind == pg::outcome_kind::committed);
}

TEST_CASE("with a group delay, batches sent one by one share a transaction "
          "once the group is full")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);

    // The delay is far longer than the test: only a full group ends it.
    const std::size_t size = copy_size(*tagged_batch(0, 2, 0));
    pg::writer_config c = test::config_for(dsn, 1);
    c.group_max_bytes = 3 * size;
    c.group_delay_ms = 60'000;
    pg::writer w(c);

    std::vector<test::outcome_slot> slots(3);
    for (int n = 0; n < 3; ++n)
        w.submit(tagged_batch(n, 2, 0), slots[n].callback());
    for (test::outcome_slot& s : slots)
        CHECK(s.wait().kind == pg::outcome_kind::committed);
    CHECK(transactions(db) == 1);
}

TEST_CASE("stop ends a group delay; the batch taken still completes once")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer_config c = test::config_for(dsn, 1);
    c.group_delay_ms = 60'000;
    pg::writer w(c);

    test::outcome_slot slot;
    w.submit(tagged_batch(0, 2, 0), slot.callback());
    w.stop();

    // Taken before the stop: committed; still queued: stopped.
    REQUIRE(slot.arrived());
    CHECK(slot.calls() == 1);
    pg::commit_outcome o = slot.wait();
    CHECK((o.kind == pg::outcome_kind::committed ||
           o.kind == pg::outcome_kind::stopped));
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") ==
          (o.kind == pg::outcome_kind::committed ? "2" : "0"));
}

TEST_CASE("a writer refuses a group_max_bytes of 0")
{
    pg::writer_config c = test::config_for("dbname=unused", 1);
    c.group_max_bytes = 0;
    CHECK_THROWS_AS(pg::writer(c), std::invalid_argument);
}
