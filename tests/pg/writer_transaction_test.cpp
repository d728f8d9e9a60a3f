#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <limits>
#include <string>

using namespace ks;
using namespace std::string_literals;

namespace {

pg::commit_outcome write(pg::writer& w, std::shared_ptr<pg::batch> b)
{
    test::outcome_slot slot;
    w.submit(std::move(b), slot.callback());
    return slot.wait();
}

std::string count(test::test_db& db, const char* table)
{
    return db.scalar(std::string("SELECT count(*) FROM ") + table);
}

// Two good events, then whatever `bad` writes as the third tuple.
std::shared_ptr<pg::batch>
events_with_bad_third(const std::function<void(pg::copy_buffer&)>& bad)
{
    auto b = std::make_shared<pg::batch>();
    test::add_event(b->events, test::event_row{});
    test::add_event(b->events, test::event_row{});
    bad(b->events);
    b->events.finish();
    test::add_dead_letter(b->dead_letters, test::dead_letter_row{});
    b->dead_letters.finish();
    return b;
}

// The pid of the writer's one connection, to tell reuse from reconnect.
std::string writer_pid(test::test_db& db)
{
    return db.scalar("SELECT pid FROM pg_stat_activity WHERE datname = "
                     "current_database() AND application_name = "
                     "'koreshield-sink'");
}

} // namespace

TEST_CASE("an event COPY refused by PostgreSQL stores nothing of the batch")
{
    struct bad_row {
        const char* name;
        const char* sqlstate;
        std::function<void(pg::copy_buffer&)> write;
    };
    const bad_row cases[] = {
        {"NULL in a NOT NULL column", "23502",
         [](pg::copy_buffer& b) {
             b.begin_row(9);
             b.timestamptz(0);
             b.null();
             for (int i = 0; i < 7; ++i)
                 b.null();
         }},
        {"invalid UTF-8 in text", "22021",
         [](pg::copy_buffer& b) {
             test::event_row r;
             r.event_type = "\xc3\x28";
             test::add_event(b, r);
         }},
        {"a NUL byte in text", "22021",
         [](pg::copy_buffer& b) {
             test::event_row r;
             r.severity = "hi\0gh"s;
             test::add_event(b, r);
         }},
        {"malformed JSON", "22P02",
         [](pg::copy_buffer& b) {
             test::event_row r;
             r.metadata = "{\"a\":";
             test::add_event(b, r);
         }},
        {"a \\u0000 escape in jsonb", "22P05",
         [](pg::copy_buffer& b) {
             test::event_row r;
             r.taxonomy = R"({"a": "\u0000"})";
             test::add_event(b, r);
         }},
        {"a timestamp beyond PostgreSQL's range", "22008",
         [](pg::copy_buffer& b) {
             test::event_row r;
             r.event_time = std::numeric_limits<std::int64_t>::max() - 1;
             test::add_event(b, r);
         }},
        {"a jsonb version byte other than 1", "XX000",
         [](pg::copy_buffer& b) {
             b.begin_row(9);
             b.timestamptz(0);
             b.text("t");
             b.text("s");
             b.null();
             b.null();
             b.null();
             b.boolean(false);
             b.text("\x02{}");
             b.null();
         }},
        {"too few fields", "22P04",
         [](pg::copy_buffer& b) {
             b.begin_row(8);
             b.timestamptz(0);
             for (int i = 0; i < 7; ++i)
                 b.text("x");
         }},
        {"a field shorter than its type", "08P01",
         [](pg::copy_buffer& b) {
             b.begin_row(9);
             b.text("abcd");
             b.text("t");
             b.text("s");
             b.null();
             b.null();
             b.null();
             b.boolean(false);
             b.null();
             b.null();
         }},
        {"a field longer than its type", "22P03",
         [](pg::copy_buffer& b) {
             b.begin_row(9);
             b.timestamptz(0);
             b.text("t");
             b.text("s");
             b.null();
             b.null();
             b.null();
             b.text("\x01\x01");
             b.null();
             b.null();
         }},
    };

    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));

    for (const bad_row& c : cases) {
        CAPTURE(c.name);
        pg::commit_outcome o = write(w, events_with_bad_third(c.write));

        CHECK(o.kind == pg::outcome_kind::failed);
        CHECK(o.sqlstate == c.sqlstate);
        CHECK(o.events_loaded == 0);
        CHECK(o.dead_letters_loaded == 0);
        CHECK(o.message.rfind("COPY into koreshield_events: ", 0) == 0);
        CHECK(o.message.find("COPY koreshield_events, line 3") !=
              std::string::npos);
        CHECK(count(db, "koreshield_events") == "0");
        CHECK(count(db, "koreshield_dead_letters") == "0");
    }

    // Each failure was rolled back; the same connection still works.
    pg::commit_outcome o = write(w, test::simple_batch(2, 1));
    CHECK(o.kind == pg::outcome_kind::committed);
    CHECK(count(db, "koreshield_events") == "2");
}

TEST_CASE("a refused dead-letter COPY takes the batch's events with it")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));
    REQUIRE(write(w, test::simple_batch(1, 0)).kind ==
            pg::outcome_kind::committed);
    std::string pid = writer_pid(db);

    // Events are fine; the second dead letter has no source_kind.
    auto b = std::make_shared<pg::batch>();
    test::add_event(b->events, test::event_row{});
    test::add_event(b->events, test::event_row{});
    b->events.finish();
    test::add_dead_letter(b->dead_letters, test::dead_letter_row{});
    b->dead_letters.begin_row(10);
    b->dead_letters.timestamptz(0);
    for (int i = 0; i < 9; ++i)
        b->dead_letters.null();
    b->dead_letters.finish();

    pg::commit_outcome o = write(w, b);

    CHECK(o.kind == pg::outcome_kind::failed);
    CHECK(o.sqlstate == "23502");
    CHECK(o.events_loaded == 0);
    CHECK(o.dead_letters_loaded == 0);
    CHECK(o.message.find("source_kind") != std::string::npos);
    CHECK(o.message.find("COPY koreshield_dead_letters, line 2") !=
          std::string::npos);
    CHECK(count(db, "koreshield_events") == "1");
    CHECK(count(db, "koreshield_dead_letters") == "0");

    // ROLLBACK kept the connection: no reconnect was needed.
    REQUIRE(write(w, test::simple_batch(1, 1)).kind ==
            pg::outcome_kind::committed);
    CHECK(writer_pid(db) == pid);
}

TEST_CASE("a refused dead-letter COPY without events fails cleanly")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));

    auto b = std::make_shared<pg::batch>();
    b->events.finish();
    test::dead_letter_row r;
    r.source = "\xff\xfe";
    test::add_dead_letter(b->dead_letters, r);
    b->dead_letters.finish();

    pg::commit_outcome o = write(w, b);

    CHECK(o.kind == pg::outcome_kind::failed);
    CHECK(o.sqlstate == "22021");
    CHECK(count(db, "koreshield_dead_letters") == "0");
    CHECK(write(w, test::simple_batch(0, 1)).kind ==
          pg::outcome_kind::committed);
}

TEST_CASE("a COMMIT refused by a deferred constraint stores nothing")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec(R"(
        CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'refused at commit' USING ERRCODE = '23514';
        END $$;
        CREATE CONSTRAINT TRIGGER refuse_at_commit
            AFTER INSERT ON koreshield_dead_letters
            DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION refuse();
    )");
    pg::writer w(test::config_for(dsn, 1));

    pg::commit_outcome o = write(w, test::simple_batch(2, 1));

    CHECK(o.kind == pg::outcome_kind::failed);
    CHECK(o.sqlstate == "23514");
    CHECK(o.message.rfind("COMMIT: refused at commit", 0) == 0);
    CHECK(count(db, "koreshield_events") == "0");
    CHECK(count(db, "koreshield_dead_letters") == "0");

    // The trigger only fires for dead letters: events alone commit.
    CHECK(write(w, test::simple_batch(2, 0)).kind ==
          pg::outcome_kind::committed);
    CHECK(count(db, "koreshield_events") == "2");
}

TEST_CASE("rows a trigger skips without an error fail their batch alone, "
          "and nothing of it is stored")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    test::on_event_type(db, "vanish", "RETURN NULL;");
    pg::writer w(test::config_for(dsn, 1));

    // Two rows that stay and one the trigger drops.
    auto with_vanishing = [] {
        auto b = std::make_shared<pg::batch>();
        test::add_event(b->events, test::event_row{});
        test::event_row gone;
        gone.event_type = "vanish";
        test::add_event(b->events, gone);
        test::add_event(b->events, test::event_row{});
        b->events.finish();
        b->dead_letters.finish();
        return b;
    };

    SECTION("alone")
    {
        pg::commit_outcome o = write(w, with_vanishing());
        CHECK(o.kind == pg::outcome_kind::failed);
        CHECK(o.message.find("stored 2 of the 3 rows") != std::string::npos);
        CHECK(count(db, "koreshield_events") == "0");
    }

    SECTION("in a group: the others commit")
    {
        test::test_db locker(dsn);
        locker.exec("BEGIN; LOCK TABLE koreshield_events");
        test::outcome_slot held;
        w.submit(test::simple_batch(1, 0), held.callback());
        test::wait_for_blocked_writer(db);

        test::outcome_slot a, skipping, b;
        w.submit(test::simple_batch(2, 1), a.callback());
        w.submit(with_vanishing(), skipping.callback());
        w.submit(test::simple_batch(4, 0), b.callback());
        locker.exec("ROLLBACK");

        CHECK(held.wait().kind == pg::outcome_kind::committed);
        CHECK(a.wait().kind == pg::outcome_kind::committed);
        CHECK(b.wait().kind == pg::outcome_kind::committed);
        CHECK(skipping.wait().kind == pg::outcome_kind::failed);
        CHECK(count(db, "koreshield_events") == "7");
        CHECK(count(db, "koreshield_dead_letters") == "1");
    }
}

TEST_CASE("a missing table fails the batch before any row is sent")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);

    SECTION("events table")
    {
        pg::writer_config c = test::config_for(dsn, 1);
        c.events.table = "no_such_events";
        pg::writer w(c);

        pg::commit_outcome o = write(w, test::simple_batch(2, 1));

        CHECK(o.kind == pg::outcome_kind::failed);
        CHECK(o.sqlstate == "42P01");
        CHECK(o.message.find("no_such_events") != std::string::npos);
        CHECK(write(w, test::simple_batch(0, 1)).kind ==
              pg::outcome_kind::committed);
    }

    SECTION("dead-letter table, after the events went in")
    {
        pg::writer_config c = test::config_for(dsn, 1);
        c.dead_letters.table = "public.no_such_dead_letters";
        pg::writer w(c);

        pg::commit_outcome o = write(w, test::simple_batch(2, 1));

        CHECK(o.kind == pg::outcome_kind::failed);
        CHECK(o.sqlstate == "42P01");
        CHECK(count(db, "koreshield_events") == "0");
        CHECK(write(w, test::simple_batch(2, 0)).kind ==
              pg::outcome_kind::committed);
    }
}

TEST_CASE("a batch submitted against the contract fails alone")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));

    SECTION("no batch at all")
    {
        CHECK(write(w, nullptr).kind == pg::outcome_kind::failed);
    }

    SECTION("buffers not finished")
    {
        auto b = test::simple_batch(0, 0);
        b->events.reset();
        test::add_event(b->events, test::event_row{});
        CHECK(write(w, b).kind == pg::outcome_kind::failed);
        CHECK(count(db, "koreshield_events") == "0");
    }

    CHECK(write(w, test::simple_batch(1, 0)).kind ==
          pg::outcome_kind::committed);
}

TEST_CASE("a server-side timeout is retryable and keeps the connection")
{
    struct timeout_case {
        const char* option;
        const char* sqlstate;
    };
    const timeout_case cases[] = {
        {"lock_timeout", "55P03"},
        {"statement_timeout", "57014"},
    };

    for (const timeout_case& c : cases) {
        CAPTURE(c.option);
        std::string dsn = test::fresh_database("pg_writer");
        test::test_db db(dsn);
        test::test_db locker(dsn);
        pg::writer w(
            test::config_for(dsn + " options='-c " + c.option + "=200'", 1));
        REQUIRE(write(w, test::simple_batch(1, 0)).kind ==
                pg::outcome_kind::committed);
        std::string pid = writer_pid(db);

        // Another session holds the table, so the COPY times out waiting.
        locker.exec("BEGIN; LOCK TABLE koreshield_events");
        pg::commit_outcome o = write(w, test::simple_batch(2, 1));
        locker.exec("ROLLBACK");

        CHECK(o.kind == pg::outcome_kind::unavailable);
        CHECK(o.sqlstate == c.sqlstate);
        CHECK(count(db, "koreshield_events") == "1");
        REQUIRE(write(w, test::simple_batch(2, 1)).kind ==
                pg::outcome_kind::committed);
        CHECK(writer_pid(db) == pid);
        CHECK(count(db, "koreshield_events") == "3");
    }
}
