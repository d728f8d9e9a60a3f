// Health checks: their own connection, so they never wait behind
// batches, and a verdict on the tables as well as the server.

#include "pg/table_check.hpp"
#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <unistd.h>

using namespace ks;

namespace {

pg::commit_outcome ping(pg::writer& w)
{
    test::outcome_slot slot;
    w.ping(slot.callback());
    return slot.wait();
}

pg::commit_outcome write(pg::writer& w, std::shared_ptr<pg::batch> b)
{
    test::outcome_slot slot;
    w.submit(std::move(b), slot.callback());
    return slot.wait();
}

// A login role without any privilege on the tables, dropped at the end.
struct bare_role {
    bare_role(std::string dsn_, std::string name_)
        : dsn(std::move(dsn_)), name(std::move(name_))
    {
        test::test_db db(dsn);
        db.exec("CREATE ROLE " + name + " LOGIN");
    }
    ~bare_role()
    {
        try {
            test::test_db db(dsn);
            db.exec("DROP OWNED BY " + name + "; DROP ROLE " + name);
        } catch (const std::exception&) {
            // A role left behind does not change any result.
        }
    }
    bare_role(const bare_role&) = delete;
    bare_role& operator=(const bare_role&) = delete;

    std::string dsn;
    std::string name;
};

} // namespace

TEST_CASE("a health check answers while every writer connection is busy")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));
    // Declared after the writer, so that a failed check releases the lock
    // before the writer waits for its batch.
    test::test_db locker(dsn);

    // The one writer connection waits for a lock with its batch.
    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    test::outcome_slot running;
    w.submit(test::simple_batch(1, 0), running.callback());
    test::wait_for_blocked_writer(db);

    // The check neither waits for that batch nor for the lock.
    pg::commit_outcome o = ping(w);
    CHECK(o.kind == pg::outcome_kind::committed);
    CHECK_FALSE(running.arrived());

    locker.exec("ROLLBACK");
    CHECK(running.wait().kind == pg::outcome_kind::committed);
}

TEST_CASE("a health check fails, naming what is missing, while a table or "
          "a column is")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer_config c = test::config_for(dsn, 1);
    std::string sqlstate;
    std::string named;

    SECTION("events table")
    {
        c.events.table = "no_such_events";
        sqlstate = "42P01";
        named = "no_such_events";
    }
    SECTION("dead-letter table in a schema")
    {
        c.dead_letters.table = "public.no_such_dead_letters";
        sqlstate = "42P01";
        named = "no_such_dead_letters";
    }
    SECTION("schema")
    {
        c.events.table = "no_such_schema.koreshield_events";
        sqlstate = "3F000";
        named = "no_such_schema";
    }
    SECTION("column")
    {
        db.exec("ALTER TABLE koreshield_events DROP COLUMN model");
        sqlstate = "42703";
        named = "model";
    }

    pg::writer w(c);
    pg::commit_outcome o = ping(w);
    CHECK(o.kind == pg::outcome_kind::unavailable);
    CHECK(o.sqlstate == sqlstate);
    CHECK(o.message.find(named) != std::string::npos);
    CHECK(o.message.find("does not exist") != std::string::npos);

    // The check's connection stays usable: the next check says the same.
    CHECK(ping(w).sqlstate == sqlstate);
}

TEST_CASE("a health check fails while the role may not insert, and passes "
          "with grants on the columns alone")
{
    std::string dsn = test::fresh_database("pg_writer");
    bare_role role(dsn, "ks_pg_health_" + std::to_string(getpid()));
    pg::writer_config c = test::config_for(dsn + " user=" + role.name, 1);

    {
        pg::writer w(c);
        pg::commit_outcome o = ping(w);
        CHECK(o.kind == pg::outcome_kind::unavailable);
        CHECK(o.sqlstate == "42501");
        CHECK(o.message.find("koreshield_events") != std::string::npos);
    }

    // COPY needs INSERT on the columns it names, nothing more.
    test::test_db db(dsn);
    db.exec("GRANT INSERT " + std::string(test::event_columns) +
            " ON koreshield_events TO " + role.name + "; GRANT INSERT " +
            test::dead_letter_columns + " ON koreshield_dead_letters TO " +
            role.name + "; GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO " +
            role.name);
    pg::writer w(c);
    CHECK(ping(w).kind == pg::outcome_kind::committed);
    CHECK(write(w, test::simple_batch(1, 1)).kind ==
          pg::outcome_kind::committed);
}

TEST_CASE("the start-up check tells a database that is away from one that "
          "lacks a table")
{
    std::string dsn = test::fresh_database("pg_writer");

    pg::writer_config fine = test::config_for(dsn, 1);
    CHECK_FALSE(pg::check_database(fine).has_value());

    pg::writer_config missing = fine;
    missing.events.table = "no_such_events";
    pg::db_status e = pg::check_database(missing);
    REQUIRE(e.has_value());
    CHECK(e->kind == pg::error_kind::data);
    CHECK(e->sqlstate == "42P01");
    CHECK(e->message.find("no_such_events") != std::string::npos);

    pg::writer_config away = test::config_for(
        "host=/tmp/ks-no-such-dir-for-pg-tests port=5432 user=postgres", 1);
    e = pg::check_database(away);
    REQUIRE(e.has_value());
    CHECK(e->kind == pg::error_kind::transient);
    CHECK(e->message.find("cannot connect") != std::string::npos);
}
