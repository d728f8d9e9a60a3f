// Rows PostgreSQL refuses although they were encoded correctly (a CHECK
// constraint, a missing partition, a unique index a user added): the
// writer finds them, turns each into a dead letter through the batch's
// refusal_handler, and commits the rest of the batch.

#include "writer_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ks;

namespace {

// A batch of `events` rows whose request ids are `key-0`, `key-1`, ...;
// rows at the indexes in `bad` get severity 'refuse-me'.
std::shared_ptr<pg::batch> batch_with(const std::string& key, int events,
                                      std::initializer_list<int> bad)
{
    auto b = std::make_shared<pg::batch>();
    for (int i = 0; i < events; ++i) {
        test::event_row r;
        r.event_time = 762525296789012 + i;
        r.request_id = key + "-" + std::to_string(i);
        for (int x : bad)
            if (x == i) r.severity = "refuse-me";
        test::add_event(b->events, r);
    }
    b->events.finish();
    b->dead_letters.finish();

    // The dead letter names the row and keeps PostgreSQL's sentence.
    b->on_refusal.dead_letter = [key](std::uint64_t row,
                                      std::string_view tuple,
                                      std::string_view why,
                                      pg::copy_buffer& out) {
        test::dead_letter_row d;
        d.source = key;
        d.record_index = static_cast<std::int64_t>(row);
        d.reason_code = "rejected_by_database";
        d.reason = std::string(why);
        d.raw = std::string(tuple);
        d.raw_bytes = static_cast<std::int64_t>(tuple.size());
        test::add_dead_letter(out, d);
    };
    return b;
}

std::string refused_rows(test::test_db& db, const std::string& key)
{
    return db.scalar("SELECT coalesce(string_agg(record_index::text, ',' "
                     "ORDER BY record_index), '') FROM "
                     "koreshield_dead_letters WHERE source = '" +
                     key + "'");
}

std::string loaded_rows(test::test_db& db, const std::string& key)
{
    return db.scalar("SELECT count(*) FROM koreshield_events WHERE "
                     "request_id LIKE '" +
                     key + "-%' AND severity <> 'refuse-me'");
}

} // namespace

TEST_CASE("rows a CHECK constraint refuses become dead letters and the "
          "rest of the batch commits")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec("ALTER TABLE koreshield_events ADD CONSTRAINT no_refuse "
            "CHECK (severity <> 'refuse-me')");
    pg::writer w(test::config_for(dsn, 1));

    SECTION("one bad row in the middle")
    {
        test::outcome_slot slot;
        w.submit(batch_with("mid", 500, {250}), slot.callback());
        pg::commit_outcome o = slot.wait();
        REQUIRE(o.kind == pg::outcome_kind::committed);
        CHECK(o.events_loaded == 499);
        CHECK(o.refused == 1);
        CHECK(o.dead_letters_loaded == 1);
        CHECK(loaded_rows(db, "mid") == "499");
        CHECK(refused_rows(db, "mid") == "250");
        CHECK(db.scalar("SELECT reason FROM koreshield_dead_letters") ==
              "new row for relation \"koreshield_events\" violates check "
              "constraint \"no_refuse\"");
    }
    SECTION("bad rows first, last, side by side, and every row")
    {
        test::outcome_slot a, b;
        w.submit(batch_with("edges", 40, {0, 1, 2, 20, 21, 39}),
                 a.callback());
        w.submit(batch_with("all", 30, {0,  1,  2,  3,  4,  5,  6,  7,
                                        8,  9,  10, 11, 12, 13, 14, 15,
                                        16, 17, 18, 19, 20, 21, 22, 23,
                                        24, 25, 26, 27, 28, 29}),
                 b.callback());
        pg::commit_outcome oa = a.wait();
        pg::commit_outcome ob = b.wait();
        REQUIRE(oa.kind == pg::outcome_kind::committed);
        REQUIRE(ob.kind == pg::outcome_kind::committed);
        CHECK(oa.events_loaded == 34);
        CHECK(oa.refused == 6);
        CHECK(refused_rows(db, "edges") == "0,1,2,20,21,39");
        CHECK(loaded_rows(db, "edges") == "34");
        CHECK(ob.events_loaded == 0);
        CHECK(ob.refused == 30);
        CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters "
                        "WHERE source = 'all'") == "30");
    }
    SECTION("the ledger is amended in the same transaction")
    {
        db.exec("CREATE TABLE test_ledger (k text PRIMARY KEY, refused int)");
        auto b = batch_with("amend", 10, {3, 7});
        b->ledger = "INSERT INTO test_ledger VALUES ('amend', 0);";
        b->on_refusal.amend_ledger = [](std::uint64_t refused) {
            return "UPDATE test_ledger SET refused = " +
                   std::to_string(refused) + ";";
        };
        test::outcome_slot slot;
        w.submit(b, slot.callback());
        REQUIRE(slot.wait().kind == pg::outcome_kind::committed);
        CHECK(db.scalar("SELECT refused FROM test_ledger") == "2");
        CHECK(loaded_rows(db, "amend") == "8");
    }
}

TEST_CASE("a refusal that names no row is narrowed down by halves")
{
    // A constraint trigger raises its error after the COPY's last row,
    // without naming a tuple; halving the window still finds the row.
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec(R"(
        CREATE FUNCTION refuse_late() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.severity = 'refuse-me' THEN
                RAISE EXCEPTION 'late refusal' USING ERRCODE = '23514';
            END IF;
            RETURN NULL;
        END $$;
        CREATE CONSTRAINT TRIGGER refuse_late AFTER INSERT
            ON koreshield_events FOR EACH ROW EXECUTE FUNCTION refuse_late();
    )");
    pg::writer w(test::config_for(dsn, 1));

    test::outcome_slot slot;
    w.submit(batch_with("late", 64, {5, 40}), slot.callback());
    pg::commit_outcome o = slot.wait();
    REQUIRE(o.kind == pg::outcome_kind::committed);
    CHECK(o.refused == 2);
    CHECK(refused_rows(db, "late") == "5,40");
    CHECK(loaded_rows(db, "late") == "62");
}

TEST_CASE("without a refusal handler a refused batch fails whole")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec("ALTER TABLE koreshield_events ADD CONSTRAINT no_refuse "
            "CHECK (severity <> 'refuse-me')");
    pg::writer w(test::config_for(dsn, 1));

    auto b = batch_with("plain", 10, {4});
    b->on_refusal = {};
    test::outcome_slot slot;
    w.submit(b, slot.callback());
    pg::commit_outcome o = slot.wait();
    CHECK(o.kind == pg::outcome_kind::failed);
    CHECK(o.sqlstate == "23514");
    CHECK(o.message.find("line 5") != std::string::npos);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "0");
}
