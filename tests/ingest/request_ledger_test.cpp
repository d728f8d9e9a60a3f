// The request ledger against a real PostgreSQL: what attach() makes a
// batch record, how a repeat is read back, and how old entries go.

#include "ingest/pipeline.hpp"
#include "ingest/request_ledger.hpp"
#include "pg/writer.hpp"
#include "support/test_db.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <string>

using ks::ingest::request_ledger;

namespace {

struct fixture {
    std::string dsn = ks::test::fresh_database("ingest");
    ks::test::test_db db{dsn};
    request_ledger ledger{"koreshield_ingest_requests"};
    ks::pg::writer writer{[this] {
        ks::pg::writer_config c{
            dsn,
            {"koreshield_events", std::string(ks::ingest::event_columns)},
            {"koreshield_dead_letters",
             std::string(ks::ingest::dead_letter_columns)},
            1};
        c.ledger_rows = ledger.target();
        return c;
    }()};
    ks::ingest::preparer preparer;

    // Prepares `body` as request `id`, records it under the body's
    // digest, and writes it.
    ks::pg::commit_outcome send(const std::string& body,
                                const std::string& id)
    {
        auto b = std::make_shared<ks::pg::batch>();
        ks::ingest::counts tally;
        ks::digest sha{};
        auto r = preparer.prepare("", {body.data(), body.size()},
                                  {"request", id}, ks::ingest::pg_now(), *b,
                                  tally, nullptr, &sha);
        REQUIRE(r.status == ks::ingest::prepare_status::ok);
        ledger.attach(*b, {sha, "body"}, id, tally);
        return run(b);
    }

    ks::pg::commit_outcome run(std::shared_ptr<ks::pg::batch> b)
    {
        std::promise<ks::pg::commit_outcome> done;
        writer.submit(std::move(b), [&](ks::pg::commit_outcome o) {
            done.set_value(std::move(o));
        });
        return done.get_future().get();
    }
};

} // namespace

TEST_CASE("the ledger records a request with its rows and gives its "
          "counts back to a repeat")
{
    fixture f;
    const std::string body = "{\"event\":\"a\",\"time\":1767261600}\n"
                             "{broken\n\n"
                             "{\"event\":\"b\",\"time\":1767261601}";
    REQUIRE(f.send(body, "first").kind == ks::pg::outcome_kind::committed);
    CHECK(f.db.scalar("SELECT request_id || ' ' || key_source || ' ' || "
                      "received || ' ' || loaded || ' ' || dead_lettered || "
                      "' ' || blank_lines || ' ' || (request_key = "
                      "sha256(convert_to('" +
                      body + "', 'UTF8')))::text FROM "
                      "koreshield_ingest_requests") ==
          "first body 3 2 1 1 true");

    ks::pg::commit_outcome again = f.send(body, "second");
    REQUIRE(again.kind == ks::pg::outcome_kind::duplicate);
    auto first = request_ledger::recorded(again.ledger_row);
    REQUIRE(first.has_value());
    CHECK(first->request_id == "first");
    CHECK(first->tally.received == 3);
    CHECK(first->tally.loaded == 2);
    CHECK(first->tally.dead_lettered == 1);
    CHECK(first->tally.blank_lines == 1);
    CHECK(f.db.scalar("SELECT count(*) FROM koreshield_events") == "2");
}

TEST_CASE("a request id with quotes and backslashes is recorded as it is, "
          "whatever standard_conforming_strings says")
{
    fixture f;
    f.db.exec("ALTER DATABASE " + f.db.scalar("SELECT current_database()") +
              " SET standard_conforming_strings = off");
    const std::string id = "it's a \\'; DROP TABLE x; --";
    const std::string body = "{\"event\":\"q\",\"time\":1767261600}";
    REQUIRE(f.send(body, id).kind == ks::pg::outcome_kind::committed);

    ks::pg::commit_outcome again = f.send(body, "second");
    REQUIRE(again.kind == ks::pg::outcome_kind::duplicate);
    auto first = request_ledger::recorded(again.ledger_row);
    REQUIRE(first.has_value());
    CHECK(first->request_id == id);
    CHECK(f.db.scalar("SELECT count(*) FROM koreshield_ingest_requests") ==
          "1");
}

TEST_CASE("a purge deletes the entries older than the window only")
{
    fixture f;
    for (int i = 0; i < 5; ++i)
        REQUIRE(f.send("{\"event\":\"e" + std::to_string(i) +
                           "\",\"time\":1767261600}",
                       "r" + std::to_string(i))
                    .kind == ks::pg::outcome_kind::committed);
    f.db.exec("UPDATE koreshield_ingest_requests SET received_at = now() - "
              "interval '3 hours' WHERE request_id IN ('r0', 'r1')");

    auto purge = std::make_shared<ks::pg::batch>();
    purge->events.finish();
    purge->dead_letters.finish();
    purge->ledger = request_ledger("koreshield_ingest_requests",
                                   std::chrono::hours(2))
                        .purge();
    REQUIRE(f.run(purge).kind == ks::pg::outcome_kind::committed);
    CHECK(f.db.scalar("SELECT string_agg(request_id, ',' ORDER BY "
                      "request_id) FROM koreshield_ingest_requests") ==
          "r2,r3,r4");

    // A purged request is new again.
    CHECK(f.send("{\"event\":\"e0\",\"time\":1767261600}", "again").kind ==
          ks::pg::outcome_kind::committed);
}

TEST_CASE("ledger rows that are not the lookup's are not read as counts")
{
    CHECK_FALSE(request_ledger::recorded({}).has_value());
    CHECK_FALSE(request_ledger::recorded({"id", "1", "x", "0", "0", "0"}));
    CHECK_FALSE(
        request_ledger::recorded({std::nullopt, "1", "1", "0", "0", "0"}));
    CHECK_FALSE(request_ledger::recorded({"id", "4", "3", "1", "0"}));
    auto ok = request_ledger::recorded({"id", "4", "3", "1", "0", "2"});
    REQUIRE(ok.has_value());
    CHECK(ok->tally.loaded == 3);
    CHECK(ok->tally.text_lines == 2);
}

TEST_CASE("an entry past its window makes no repeat: the request is "
          "stored again and recorded anew")
{
    fixture f;
    f.ledger = request_ledger("koreshield_ingest_requests",
                              std::chrono::hours(2));
    const std::string body = "{\"event\":\"old\",\"time\":1767261600}";
    REQUIRE(f.send(body, "first").kind == ks::pg::outcome_kind::committed);
    REQUIRE(f.send(body, "within").kind == ks::pg::outcome_kind::duplicate);

    f.db.exec("UPDATE koreshield_ingest_requests SET received_at = now() - "
              "interval '3 hours'");
    CHECK(f.send(body, "later").kind == ks::pg::outcome_kind::committed);
    CHECK(f.db.scalar("SELECT count(*) FROM koreshield_events") == "2");
    CHECK(f.db.scalar("SELECT string_agg(request_id, ',') FROM "
                      "koreshield_ingest_requests") == "later");
}
