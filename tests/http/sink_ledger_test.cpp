// Exactly once under retries: the request ledger answers a repeated
// request with the counts of its first delivery and stores nothing; rows
// PostgreSQL refuses become dead letters while the rest of the request
// loads; an undecodable body may be refused with 422 on request.

#include "sink_fixture.hpp"
#include "support/coders.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace ks::test;

namespace {

http_request ndjson_post(std::string body, std::string encoding = "")
{
    return {"POST", "/ingest",
            vector_headers("application/x-ndjson", std::move(encoding)),
            std::move(body)};
}

} // namespace

TEST_CASE("a repeated body is answered from the ledger and stored once")
{
    sink_fixture f;
    const auto events = koreshield_events(0, 120);
    auto text_of = [&](std::size_t from) {
        return vector_ndjson({events.begin() + from,
                              events.begin() + from + 40}) +
               "\n{broken";
    };

    // Each body twice, as Vector's retry sends it: plain and coded.
    std::string ids;
    for (auto [body, coding] :
         {std::pair{text_of(0), std::string()},
          std::pair{gzip_member(text_of(40)), std::string("gzip")},
          std::pair{zstd_streamed(text_of(80)), std::string("zstd")}}) {
        INFO("coding: " << (coding.empty() ? "identity" : coding));
        auto first = f.send(ndjson_post(body, coding));
        const std::string id = require_loaded(first, f.sink, 41, 40, 1);
        CHECK(json_string(first.body, "duplicate_of").empty());
        auto again = f.send(ndjson_post(body, coding));
        const std::string again_id = require_loaded(again, f.sink, 41, 40, 1);
        CHECK(again_id != id);
        CHECK(json_string(again.body, "duplicate_of") == id);
        ids += id + " body 41 40 1\n";
    }

    require_rows(f.db, rows_of(events), f.sink);
    CHECK(f.count("koreshield_dead_letters") == "3");
    CHECK(f.db.scalar("SELECT string_agg(request_id || ' ' || key_source || "
                      "' ' || received || ' ' || loaded || ' ' || "
                      "dead_lettered || E'\\n', '' ORDER BY received_at) "
                      "FROM koreshield_ingest_requests") == ids);
}

TEST_CASE("an Idempotency-Key names the request instead of its body")
{
    sink_fixture f;
    const auto a = koreshield_events(0, 5, 1);
    const auto b = koreshield_events(5, 5, 2);

    auto keyed = [](std::string body, std::string key) {
        http_request r = ndjson_post(std::move(body));
        r.headers.emplace_back("Idempotency-Key", std::move(key));
        return r;
    };
    const std::string id =
        require_loaded(f.send(keyed(vector_ndjson(a), "batch-1")), f.sink, 5,
                       5, 0);

    // Another body under the same key is the same request.
    auto same_key = f.send(keyed(vector_ndjson(b), "batch-1"));
    require_loaded(same_key, f.sink, 5, 5, 0);
    CHECK(json_string(same_key.body, "duplicate_of") == id);

    // The same body under another key is another request.
    auto other_key = f.send(keyed(vector_ndjson(a), "batch-2"));
    require_loaded(other_key, f.sink, 5, 5, 0);
    CHECK(json_string(other_key.body, "duplicate_of").empty());

    CHECK(f.count("koreshield_events") == "10");
    CHECK(f.db.scalar("SELECT string_agg(key_source, ',') FROM "
                      "koreshield_ingest_requests") ==
          "idempotency-key,idempotency-key");
}

TEST_CASE("copies of one body sent at once are stored once, and every "
          "copy is answered with the same counts")
{
    sink_fixture f({"--io-threads", "4", "--writers", "3"});
    const auto events = koreshield_events(100, 300);
    const std::string body = zstd_streamed(vector_json_array(events));

    constexpr int copies = 12;
    std::vector<http_response> answers(copies);
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int i = 0; i < copies; ++i)
        threads.emplace_back([&, i] {
            try {
                answers[i] = f.send({"POST", "/ingest",
                                     vector_headers("application/json",
                                                    "zstd"),
                                     body});
            } catch (const std::exception&) {
                ++failures;
            }
        });
    for (auto& t : threads)
        t.join();
    REQUIRE(failures == 0);

    int originals = 0;
    for (const auto& a : answers) {
        require_loaded(a, f.sink, 300, 300, 0);
        if (json_string(a.body, "duplicate_of").empty()) ++originals;
    }
    CHECK(originals == 1);
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("--no-dedup stores a repeated body again")
{
    sink_fixture f({"--no-dedup"});
    const std::string body = vector_ndjson(koreshield_events(0, 3));
    require_loaded(f.send(ndjson_post(body)), f.sink, 3, 3, 0);
    require_loaded(f.send(ndjson_post(body)), f.sink, 3, 3, 0);
    CHECK(f.count("koreshield_events") == "6");
    CHECK(f.count("koreshield_ingest_requests") == "0");
}

TEST_CASE("rows PostgreSQL refuses become dead letters; the rest loads, "
          "and a retry gets the same counts")
{
    sink_fixture f;
    // A rule the sink cannot know about: no events from one provider.
    f.db.exec("ALTER TABLE koreshield_events ADD CONSTRAINT no_banned "
              "CHECK (provider IS DISTINCT FROM 'banned')");

    std::string body;
    for (int i = 0; i < 50; ++i) {
        const bool banned = i == 7 || i == 30 || i == 31;
        body += R"({"timestamp":"2026-03-01T10:00:00Z","event":"scan",)"
                R"("provider":")" +
                std::string(banned ? "banned" : "openai") +
                R"(","request_id":"r)" + std::to_string(i) + "\"}\n";
        if (i == 20) body += "{\"cut\n";
    }

    auto res = f.send(ndjson_post(body));
    const std::string id = require_loaded(res, f.sink, 51, 47, 4);
    CHECK(f.count("koreshield_events") == "47");

    // The refused rows keep their place in the body: 7 is the eighth
    // record, and 30 and 31 come after the line that is not JSON.
    auto dead = f.db.query(
        "SELECT record_index, reason_code, source, convert_from(raw, 'UTF8') "
        "LIKE '%\"banned\"%', reason LIKE '%no_banned%' FROM "
        "koreshield_dead_letters WHERE reason_code = 'rejected_by_database' "
        "ORDER BY record_index");
    REQUIRE(dead.size() == 3);
    CHECK(dead[0][0] == "7");
    CHECK(dead[1][0] == "31");
    CHECK(dead[2][0] == "32");
    for (const auto& d : dead) {
        CHECK(d[2] == id);
        CHECK(d[3] == "t");
        CHECK(d[4] == "t");
    }

    auto again = f.send(ndjson_post(body));
    require_loaded(again, f.sink, 51, 47, 4);
    CHECK(json_string(again.body, "duplicate_of") == id);
    CHECK(f.count("koreshield_events") == "47");
    CHECK(f.count("koreshield_dead_letters") == "4");
}

TEST_CASE("--reject-undecodable answers 422 to a corrupt body and stores "
          "nothing")
{
    sink_fixture f({"--reject-undecodable"});
    std::string body = gzip_member(vector_ndjson(koreshield_events(0, 30)));
    body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x5a);

    auto res = f.send(ndjson_post(body, "gzip"));
    require_error(res, 422, "undecodable_body", f.sink);
    CHECK(f.count("koreshield_dead_letters") == "0");
    CHECK(f.count("koreshield_ingest_requests") == "0");

    // Bodies that decode are not affected.
    require_loaded(f.send(ndjson_post(gzip_member("{\"event\":\"x\"}"), "gzip")),
                   f.sink, 1, 1, 0);
}

TEST_CASE("the sink will not start without its ledger table, and names "
          "the flag that would")
{
    const std::string dsn = fresh_database("http");
    test_db db(dsn);
    db.exec("DROP TABLE koreshield_ingest_requests");
    std::string out;
    CHECK(run_sink_to_exit(sink_args(dsn, {}), out) == 1);
    INFO(out);
    CHECK(out.find("request ledger") != std::string::npos);
    CHECK(out.find("--ledger-table") != std::string::npos);

    // Without deduplication it needs none.
    CHECK_NOTHROW(sink_process(sink_args(dsn, {"--no-dedup"})));
}

TEST_CASE("an undecodable body is no repeat of the same bytes sent "
          "correctly")
{
    sink_fixture f;
    const std::string text = vector_ndjson(koreshield_events(0, 4));

    // Plain bytes labelled gzip: kept whole as one dead letter.
    require_loaded(f.send(ndjson_post(text, "gzip")), f.sink, 1, 0, 1);

    // The same events sent right, in gzip: new, and its retry is not.
    const std::string coded = gzip_member(text);
    auto first = f.send(ndjson_post(coded, "gzip"));
    require_loaded(first, f.sink, 4, 4, 0);
    CHECK(json_string(first.body, "duplicate_of").empty());
    auto retry = f.send(ndjson_post(coded, "gzip"));
    require_loaded(retry, f.sink, 4, 4, 0);
    CHECK_FALSE(json_string(retry.body, "duplicate_of").empty());
    CHECK(f.count("koreshield_events") == "4");
}

TEST_CASE("a request is named by its bytes as sent: the same events in "
          "another coding are a new request")
{
    sink_fixture f;
    const std::string text = vector_ndjson(koreshield_events(0, 3));

    // Shippers retry with the bytes they sent; a body coded anew is new.
    auto plain = f.send(ndjson_post(text));
    require_loaded(plain, f.sink, 3, 3, 0);
    auto coded = f.send(ndjson_post(gzip_member(text), "gzip"));
    require_loaded(coded, f.sink, 3, 3, 0);
    CHECK(json_string(coded.body, "duplicate_of").empty());
    CHECK(f.count("koreshield_events") == "6");

    // "x-gzip" is gzip: the same bytes under it are a retry.
    auto again = f.send(ndjson_post(gzip_member(text), "x-gzip"));
    require_loaded(again, f.sink, 3, 3, 0);
    CHECK_FALSE(json_string(again.body, "duplicate_of").empty());
    CHECK(f.count("koreshield_events") == "6");
}
