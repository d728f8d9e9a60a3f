#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace ks;

TEST_CASE("batches from many threads over 4 connections each land once")
{
    constexpr int submitters = 4;
    constexpr int per_submitter = 50;
    constexpr int total = submitters * per_submitter;

    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer_config c = test::config_for(dsn, 4);
    c.max_queued = total;
    pg::writer w(c);

    // Batch i carries i % 7 + 1 events and i % 3 dead letters.
    std::vector<test::outcome_slot> slots(total);
    std::vector<std::thread::id> submitter_ids(submitters);
    std::vector<std::thread> threads;
    for (int t = 0; t < submitters; ++t) {
        threads.emplace_back([&, t] {
            submitter_ids[t] = std::this_thread::get_id();
            for (int k = 0; k < per_submitter; ++k) {
                int i = t * per_submitter + k;
                w.submit(test::simple_batch(i % 7 + 1, i % 3),
                         slots[i].callback());
            }
        });
    }
    for (std::thread& t : threads)
        t.join();

    std::uint64_t events = 0;
    std::uint64_t dead_letters = 0;
    std::set<std::thread::id> completion_threads;
    for (int i = 0; i < total; ++i) {
        CAPTURE(i);
        pg::commit_outcome o = slots[i].wait();
        REQUIRE(o.kind == pg::outcome_kind::committed);
        CHECK(o.events_loaded == static_cast<std::uint64_t>(i % 7 + 1));
        CHECK(o.dead_letters_loaded == static_cast<std::uint64_t>(i % 3));
        events += o.events_loaded;
        dead_letters += o.dead_letters_loaded;
        completion_threads.insert(slots[i].thread());
    }
    w.stop();

    // Every completion ran once, on a writer thread.
    for (int i = 0; i < total; ++i)
        CHECK(slots[i].calls() == 1);
    for (std::thread::id id : submitter_ids)
        CHECK(completion_threads.count(id) == 0);
    CHECK(completion_threads.count(std::this_thread::get_id()) == 0);
    CHECK(completion_threads.size() <= 4);

    CHECK(events == 794);
    CHECK(dead_letters == 199);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "794");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") == "199");
}

TEST_CASE("a full queue refuses a batch at once with unavailable")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    test::test_db locker(dsn);
    pg::writer_config c = test::config_for(dsn, 1);
    c.max_queued = 1;
    pg::writer w(c);

    // One batch blocked on a lock in the database, one waiting behind it.
    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    test::outcome_slot running, queued, refused;
    w.submit(test::simple_batch(1, 0), running.callback());
    test::wait_for_blocked_writer(db);
    w.submit(test::simple_batch(2, 0), queued.callback());

    w.submit(test::simple_batch(4, 0), refused.callback());

    // Refusals complete inside the call, before anything else moves.
    REQUIRE(refused.arrived());
    CHECK(refused.wait().kind == pg::outcome_kind::unavailable);
    CHECK(refused.wait().message == "writer queue full");
    CHECK(refused.thread() == std::this_thread::get_id());
    CHECK_FALSE(running.arrived());
    CHECK_FALSE(queued.arrived());

    locker.exec("ROLLBACK");
    CHECK(running.wait().kind == pg::outcome_kind::committed);
    CHECK(queued.wait().kind == pg::outcome_kind::committed);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "3");
    CHECK(refused.calls() == 1);
}

TEST_CASE("stop completes queued batches as stopped and finishes the running")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    test::test_db locker(dsn);
    pg::writer w(test::config_for(dsn, 1));

    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    test::outcome_slot running, queued_a, queued_b;
    w.submit(test::simple_batch(1, 0), running.callback());
    test::wait_for_blocked_writer(db);
    w.submit(test::simple_batch(2, 0), queued_a.callback());
    w.submit(test::simple_batch(3, 0), queued_b.callback());

    // stop() waits for the running batch, so it runs on its own thread.
    std::thread stopper([&] { w.stop(); });

    // Queued work is answered without waiting for the running batch.
    CHECK(queued_a.wait().kind == pg::outcome_kind::stopped);
    CHECK(queued_b.wait().kind == pg::outcome_kind::stopped);
    CHECK_FALSE(running.arrived());

    // Work offered while stopping is refused at once.
    test::outcome_slot late;
    w.submit(test::simple_batch(1, 0), late.callback());
    REQUIRE(late.arrived());
    CHECK(late.wait().kind == pg::outcome_kind::stopped);

    locker.exec("ROLLBACK");
    stopper.join();
    CHECK(running.wait().kind == pg::outcome_kind::committed);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "1");

    // After stop, and after stopping again, everything is refused.
    w.stop();
    test::outcome_slot after, after_ping;
    w.submit(test::simple_batch(1, 0), after.callback());
    w.ping(after_ping.callback());
    CHECK(after.wait().kind == pg::outcome_kind::stopped);
    CHECK(after_ping.wait().kind == pg::outcome_kind::stopped);
    for (const test::outcome_slot* s :
         {&running, &queued_a, &queued_b, &late, &after, &after_ping})
        CHECK(s->calls() == 1);
}

TEST_CASE("destroying a writer completes every batch it was given")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    std::vector<test::outcome_slot> slots(50);
    {
        pg::writer w(test::config_for(dsn, 2));
        for (test::outcome_slot& s : slots)
            w.submit(test::simple_batch(1, 0), s.callback());
    }

    // Each batch either ran or was stopped; none was lost or doubled.
    int committed = 0;
    for (test::outcome_slot& s : slots) {
        REQUIRE(s.arrived());
        CHECK(s.calls() == 1);
        pg::commit_outcome o = s.wait();
        CHECK((o.kind == pg::outcome_kind::committed ||
               o.kind == pg::outcome_kind::stopped));
        committed += o.kind == pg::outcome_kind::committed;
    }
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") ==
          std::to_string(committed));
}

TEST_CASE("a writer without a database completes queued work on stop")
{
    test::outcome_slot slot;
    {
        pg::writer w(test::config_for(
            "host=/tmp/ks-no-such-dir-for-pg-tests port=5432 user=postgres",
            1));
        w.submit(test::simple_batch(1, 0), slot.callback());
    }
    REQUIRE(slot.arrived());
    CHECK((slot.wait().kind == pg::outcome_kind::unavailable ||
           slot.wait().kind == pg::outcome_kind::stopped));
}
