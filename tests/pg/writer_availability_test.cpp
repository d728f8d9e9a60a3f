#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>

using namespace ks;

namespace {

pg::commit_outcome write(pg::writer& w, std::shared_ptr<pg::batch> b)
{
    test::outcome_slot slot;
    w.submit(std::move(b), slot.callback());
    return slot.wait();
}

pg::commit_outcome ping(pg::writer& w)
{
    test::outcome_slot slot;
    w.ping(slot.callback());
    return slot.wait();
}

// A socket directory of our own that we can make appear and vanish.
std::string private_socket_dir()
{
    return "/tmp/ks-pg-writer-test-" + std::to_string(getpid());
}

// The value of `key` in a keyword DSN such as the test server's.
std::string dsn_value(const std::string& dsn, const std::string& key)
{
    std::size_t at = dsn.find(key + "=");
    REQUIRE(at != std::string::npos);
    at += key.size() + 1;
    return dsn.substr(at, dsn.find(' ', at) - at);
}

} // namespace

TEST_CASE("a database that cannot be reached makes batches unavailable")
{
    pg::writer w(test::config_for(
        "host=/tmp/ks-no-such-dir-for-pg-tests port=5432 user=postgres", 2));

    // The first attempts fail to connect; later ones fall within the
    // pause between attempts. Both answer at once, neither hangs.
    for (int i = 0; i < 5; ++i) {
        CAPTURE(i);
        pg::commit_outcome o = write(w, test::simple_batch(1, 1));
        CHECK(o.kind == pg::outcome_kind::unavailable);
        CHECK(o.message.find("cannot connect to PostgreSQL") !=
              std::string::npos);
        CHECK(o.events_loaded == 0);

        pg::commit_outcome p = ping(w);
        CHECK(p.kind == pg::outcome_kind::unavailable);
        CHECK_FALSE(p.message.empty());
    }
}

TEST_CASE("a ping answers committed on a working database")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));

    pg::commit_outcome o = ping(w);

    CHECK(o.kind == pg::outcome_kind::committed);
    CHECK(o.events_loaded == 0);
    CHECK(test::writer_backend_count(db) == 1);
}

TEST_CASE("the writer reconnects by itself once the database appears")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    std::string link = private_socket_dir();
    std::filesystem::remove(link);
    pg::writer w(test::config_for(
        "host=" + link + " port=" + dsn_value(dsn, "port") + " user=" +
            dsn_value(dsn, "user") + " dbname=" + dsn_value(dsn, "dbname"),
        1));

    REQUIRE(write(w, test::simple_batch(1, 0)).kind ==
            pg::outcome_kind::unavailable);
    REQUIRE(ping(w).kind == pg::outcome_kind::unavailable);

    // The server's socket shows up under the name the writer was given.
    std::filesystem::create_directory_symlink(dsn_value(dsn, "host"), link);
    pg::commit_outcome o;
    for (int i = 0; i < 100; ++i) {
        o = write(w, test::simple_batch(1, 0));
        if (o.kind != pg::outcome_kind::unavailable) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::filesystem::remove(link);

    CHECK(o.kind == pg::outcome_kind::committed);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "1");
}

TEST_CASE("a connection terminated while idle is replaced")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));
    REQUIRE(write(w, test::simple_batch(1, 0)).kind ==
            pg::outcome_kind::committed);
    REQUIRE(test::writer_backend_count(db) == 1);

    test::terminate_writer_backends(db);

    // The writer may notice the loss before or during the next batch.
    pg::commit_outcome first = write(w, test::simple_batch(1, 0));
    CHECK((first.kind == pg::outcome_kind::committed ||
           first.kind == pg::outcome_kind::unavailable));
    pg::commit_outcome second = write(w, test::simple_batch(1, 0));
    CHECK(second.kind == pg::outcome_kind::committed);

    int committed = 1 + (first.kind == pg::outcome_kind::committed) +
                    (second.kind == pg::outcome_kind::committed);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") ==
          std::to_string(committed));

    // A ping finds the loss the same way.
    test::terminate_writer_backends(db);
    pg::commit_outcome first_ping = ping(w);
    CHECK((first_ping.kind == pg::outcome_kind::committed ||
           first_ping.kind == pg::outcome_kind::unavailable));
    CHECK(ping(w).kind == pg::outcome_kind::committed);
}

TEST_CASE("a connection lost while its batch opens the transaction is "
          "replaced, and the batch commits")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));
    test::test_db locker(dsn);
    REQUIRE(write(w, test::simple_batch(1, 0)).kind ==
            pg::outcome_kind::committed);

    // The first COPY waits for the lock when its session is ended: no
    // COMMIT was sent, so the writer may send the batch again.
    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    test::outcome_slot slot;
    w.submit(test::simple_batch(2, 1), slot.callback());
    test::wait_for_blocked_writer(db);
    test::terminate_writer_backends(db);
    locker.exec("ROLLBACK");

    pg::commit_outcome o = slot.wait();
    INFO(o.message);
    CHECK(o.kind == pg::outcome_kind::committed);
    CHECK(o.events_loaded == 2);
    CHECK(slot.calls() == 1);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "3");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") == "1");
}

TEST_CASE("a connection terminated during a batch leaves nothing behind")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    test::test_db locker(dsn);
    pg::writer w(test::config_for(dsn, 1));

    // The dead-letter COPY waits for the lock with the events already in.
    locker.exec("BEGIN; LOCK TABLE koreshield_dead_letters");
    test::outcome_slot slot;
    w.submit(test::simple_batch(3, 1), slot.callback());
    test::wait_for_blocked_writer(db);
    test::terminate_writer_backends(db);
    pg::commit_outcome o = slot.wait();
    locker.exec("ROLLBACK");

    CHECK(o.kind == pg::outcome_kind::unavailable);
    CHECK((o.sqlstate == "57P01" || o.sqlstate.empty()));
    CHECK(o.events_loaded == 0);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "0");

    // The next batch runs on a fresh connection.
    CHECK(write(w, test::simple_batch(2, 1)).kind ==
          pg::outcome_kind::committed);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "2");
}

TEST_CASE("the writer names itself unless the DSN names it")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    const char* sessions = "SELECT count(*) FROM pg_stat_activity WHERE "
                           "datname = current_database() AND "
                           "application_name = ";

    SECTION("default name")
    {
        pg::writer w(test::config_for(dsn, 1));
        REQUIRE(ping(w).kind == pg::outcome_kind::committed);
        CHECK(db.scalar(sessions + std::string("'koreshield-sink'")) == "1");
    }

    SECTION("name from the DSN")
    {
        pg::writer w(test::config_for(dsn + " application_name=ks-custom", 1));
        REQUIRE(ping(w).kind == pg::outcome_kind::committed);
        CHECK(db.scalar(sessions + std::string("'ks-custom'")) == "1");
        CHECK(db.scalar(sessions + std::string("'koreshield-sink'")) == "0");
    }
}

TEST_CASE("the DSN may be a URI or left to the PG* environment")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    std::string host = dsn_value(dsn, "host");
    std::string port = dsn_value(dsn, "port");
    std::string user = dsn_value(dsn, "user");
    std::string dbname = dsn_value(dsn, "dbname");

    SECTION("URI")
    {
        pg::writer w(test::config_for("postgresql://" + user + "@/" + dbname +
                                          "?host=" + host + "&port=" + port,
                                      1));
        CHECK(write(w, test::simple_batch(1, 0)).kind ==
              pg::outcome_kind::committed);
    }

    SECTION("environment")
    {
        // No writer thread runs while the environment changes.
        setenv("PGHOST", host.c_str(), 1);
        setenv("PGPORT", port.c_str(), 1);
        setenv("PGUSER", user.c_str(), 1);
        setenv("PGDATABASE", dbname.c_str(), 1);
        pg::commit_outcome o;
        {
            pg::writer w(test::config_for("", 1));
            o = write(w, test::simple_batch(1, 0));
        }
        unsetenv("PGHOST");
        unsetenv("PGPORT");
        unsetenv("PGUSER");
        unsetenv("PGDATABASE");
        CHECK(o.kind == pg::outcome_kind::committed);
    }

    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "1");
}

namespace {

// A login role limited to one connection, dropped when the test ends.
struct limited_role {
    limited_role(std::string dsn_, std::string name_)
        : dsn(std::move(dsn_)), name(std::move(name_))
    {
        test::test_db db(dsn);
        db.exec("CREATE ROLE " + name + " LOGIN CONNECTION LIMIT 1");
        db.exec("GRANT ALL ON ALL TABLES IN SCHEMA public TO " + name +
                "; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO " + name);
    }
    ~limited_role()
    {
        try {
            test::test_db db(dsn);
            db.exec("DROP OWNED BY " + name + "; DROP ROLE " + name);
        } catch (const std::exception&) {
            // A role left behind does not change any result.
        }
    }
    limited_role(const limited_role&) = delete;
    limited_role& operator=(const limited_role&) = delete;

    std::string dsn;
    std::string name;
};

} // namespace

TEST_CASE("batches go to the working connection while another cannot")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    test::test_db locker(dsn);
    limited_role role(dsn, "ks_pg_writer_one_" + std::to_string(getpid()));
    pg::writer w(test::config_for(dsn + " user=" + role.name, 2));

    // The first thread connects and waits on a lock, so the second one
    // takes the next batch and runs into the role's connection limit.
    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    test::outcome_slot first;
    w.submit(test::simple_batch(1, 0), first.callback());
    test::wait_for_blocked_writer(db);
    pg::commit_outcome refused = write(w, test::simple_batch(1, 0));
    locker.exec("ROLLBACK");

    CHECK(refused.kind == pg::outcome_kind::unavailable);
    CHECK(refused.message.find("cannot connect") != std::string::npos);
    CHECK(first.wait().kind == pg::outcome_kind::committed);

    // The failing thread keeps retrying on its own, over several pauses,
    // and never takes a batch the working connection can write.
    for (int i = 0; i < 20; ++i) {
        CAPTURE(i);
        CHECK(write(w, test::simple_batch(1, 0)).kind ==
              pg::outcome_kind::committed);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "21");
}

TEST_CASE("a connection lost while streaming a COPY leaves nothing behind")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    test::on_event_type(db, "stall", "PERFORM pg_sleep(60);");
    pg::writer w(test::config_for(dsn, 1));

    // The server stops reading at the first row, so the writer is still
    // sending megabytes when its connection is cut.
    auto b = std::make_shared<pg::batch>();
    test::event_row stall;
    stall.event_type = "stall";
    test::add_event(b->events, stall);
    test::event_row filler;
    filler.metadata = "\"" + std::string(4000, 'x') + "\"";
    for (int i = 0; i < 8000; ++i)
        test::add_event(b->events, filler);
    b->events.finish();
    b->dead_letters.finish();
    test::outcome_slot slot;
    w.submit(b, slot.callback());

    for (int i = 0; i < 1000; ++i) {
        if (db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                      "current_database() AND wait_event = 'PgSleep'") != "0")
            break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    test::terminate_writer_backends(db);
    pg::commit_outcome o = slot.wait();

    CHECK(o.kind == pg::outcome_kind::unavailable);
    CHECK(o.events_loaded == 0);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "0");
    CHECK(write(w, test::simple_batch(2, 0)).kind ==
          pg::outcome_kind::committed);
}
