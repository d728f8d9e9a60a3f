// Batches shaped like Vector's go to the real koreshield-sink over a real
// socket; the tests read back what PostgreSQL stored.

#include "sink_fixture.hpp"

#include <atomic>
#include <thread>

using namespace ks::test;

TEST_CASE("a zstd JSON array from Vector loads every column of every event")
{
    sink_fixture f;
    auto events = koreshield_events(0, 14);
    std::string body = zstd_streamed(vector_json_array(events));
    REQUIRE_FALSE(zstd_has_content_size(body));

    auto res = f.send(
        {"POST", "/ingest", vector_headers("application/json", "zstd"), body});
    require_loaded(res, f.sink, 14, 14, 0);
    require_rows(f.db, rows_of(events), f.sink);

    // One row read column by column: the chat block of event 2, shipped
    // as a string inside Vector's envelope.
    auto row = f.db.query(
        "SELECT to_char(event_time AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD HH24:MI:SS.US'), event_type, severity, provider, "
        "model, blocked::text, taxonomy->>'type', taxonomy->>'confidence', "
        "metadata->>'logger', metadata->'_envelope'->>'source_type' "
        "FROM koreshield_events WHERE request_id = '" +
        events[2].row.request_id + "'");
    REQUIRE(row.size() == 1);
    CHECK(row[0][0] == "2026-02-17 09:21:46.000000");
    CHECK(row[0][1] == "attack_detected");
    CHECK(row[0][2] == "medium");
    CHECK_FALSE(row[0][3].has_value());
    CHECK_FALSE(row[0][4].has_value());
    CHECK(row[0][5] == "false");
    CHECK(row[0][6] == "prompt_injection");
    CHECK(row[0][7] == "0.52");
    CHECK(row[0][8] == "koreshield.logger");
    CHECK(row[0][9] == "file");
}

TEST_CASE("a gzip NDJSON body from Vector loads every line")
{
    sink_fixture f;
    auto events = koreshield_events(100, 21);
    std::string plain = vector_ndjson(events);
    REQUIRE(plain.back() == '}'); // no newline after the last event

    auto res = f.send({"POST", "/ingest",
                       vector_headers("application/x-ndjson", "gzip"),
                       gzip_member(plain)});
    require_loaded(res, f.sink, 21, 21, 0);
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("snappy and deflate bodies from Vector and Fluent Bit load")
{
    sink_fixture f;
    auto a = koreshield_events(200, 30, 1);
    auto b = koreshield_events(230, 30, 2);

    // Vector's compression = "snappy": one raw block of the JSON array;
    // Vector's and syslog-ng's deflate: zlib-wrapped.
    require_loaded(f.send({"POST", "/ingest",
                           vector_headers("application/json", "snappy"),
                           snappy_block(vector_json_array(a))}),
                   f.sink, 30, 30, 0);
    require_loaded(f.send({"POST", "/ingest",
                           vector_headers("application/x-ndjson", "deflate"),
                           zlib_stream(vector_ndjson(b))}),
                   f.sink, 30, 30, 0);
    auto all = a;
    all.insert(all.end(), b.begin(), b.end());
    require_rows(f.db, rows_of(all), f.sink);

    // The snappy framing format is a body that cannot be decoded.
    auto framed = f.send({"POST", "/ingest",
                          vector_headers("application/json", "snappy"),
                          std::string("\xff\x06\x00\x00sNaPpY", 10)});
    require_loaded(framed, f.sink, 1, 0, 1);
    CHECK(f.db.scalar("SELECT reason FROM koreshield_dead_letters") ==
          "snappy: the body is in the framing format; send the raw block "
          "format");
}

TEST_CASE("text lines become text_line events, counted apart; "
          "--text-lines dead-letter keeps them out")
{
    // Vector's `text` codec: each event's message and a newline, the
    // KoreShield JSON line next to a uvicorn access line.
    const std::string body =
        "{\"event\":\"request_allowed\",\"timestamp\":"
        "\"2026-03-01T10:00:00Z\"}\n"
        "INFO:     127.0.0.1:5000 - \"POST /v1/chat HTTP/1.1\" 200 OK\n";
    {
        sink_fixture f;
        auto res = f.send({"POST", "/ingest", vector_headers("text/plain"),
                           body});
        require_loaded(res, f.sink, 2, 2, 0);
        CHECK(json_number(res.body, "text_lines") == 1);
        CHECK(f.db.scalar("SELECT event_type || ' ' || severity || ' ' || "
                          "(metadata->>'message') FROM koreshield_events "
                          "WHERE event_type = 'text_line'") ==
              "text_line info INFO:     127.0.0.1:5000 - \"POST /v1/chat "
              "HTTP/1.1\" 200 OK");
    }
    sink_fixture f({"--text-lines", "dead-letter"});
    auto res = f.send({"POST", "/ingest", vector_headers("text/plain"), body});
    require_loaded(res, f.sink, 2, 1, 1);
    CHECK(f.db.scalar("SELECT reason_code FROM koreshield_dead_letters") ==
          "not_json");
}

TEST_CASE("an identity NDJSON body with CRLF and blank lines loads each line")
{
    sink_fixture f;
    auto events = koreshield_events(200, 4);
    std::string body = events[0].json + "\r\n\r\n" + events[1].json +
                       "\r\n\r\n\r\n" + events[2].json + "\r\n" +
                       events[3].json + "\r\n";

    auto res = f.send(
        {"POST", "/ingest", vector_headers("application/x-ndjson"), body});
    require_loaded(res, f.sink, 4, 4, 0, 3);
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("a single object loads on / and on the ingest path, by POST or PUT")
{
    sink_fixture f;
    auto events = koreshield_events(300, 3);

    auto res = f.send({"POST", "/?source=vector",
                       vector_headers("application/json"), events[0].json});
    require_loaded(res, f.sink, 1, 1, 0);
    res = f.send({"PUT", "/ingest?tenant=a&x=1",
                  vector_headers("application/json"), events[1].json});
    require_loaded(res, f.sink, 1, 1, 0);
    res = f.send({"POST", "/ingest", {}, events[2].json}); // no headers
    require_loaded(res, f.sink, 1, 1, 0);

    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("bad events become dead letters with their bytes; good ones load")
{
    sink_fixture f;
    auto good = koreshield_events(400, 2);
    std::vector<std::pair<std::string, std::string>> bad = {
        {R"({"event":"request_blocked","request_id":"bad-1","blocked":tru})",
         "malformed_json"},
        {"42", "not_object"},
        {"{\"event\":\"request_allowed\",\"note\":\"caf\xc3\x28\"}",
         "invalid_utf8"},
        {R"({"event":"request_allowed","note":"a\u0000b"})", "nul_character"},
        {R"({"event":"request_allowed","timestamp":"2026-02-30T00:00:00Z"})",
         "bad_timestamp"},
    };
    std::string body = good[0].json;
    for (auto& [line, reason] : bad)
        body += "\n" + line;
    body += "\n" + good[1].json;

    auto res = f.send(
        {"POST", "/ingest", vector_headers("application/x-ndjson"), body});
    std::string id = require_loaded(res, f.sink, 7, 2, 5);
    require_rows(f.db, rows_of(good), f.sink);

    auto dead =
        f.db.query("SELECT source_kind, source, record_index, line_number, "
                   "reason_code, encode(raw, 'hex'), raw_bytes, reason "
                   "FROM koreshield_dead_letters ORDER BY record_index");
    REQUIRE(dead.size() == bad.size());
    for (std::size_t i = 0; i < bad.size(); ++i) {
        INFO("dead letter " << i << ": " << dead[i][4].value_or("NULL") << ", "
                            << dead[i][7].value_or("NULL"));
        CHECK(dead[i][0] == "request");
        CHECK(dead[i][1] == id);
        CHECK(dead[i][2] == std::to_string(i + 1));
        CHECK(dead[i][3] == std::to_string(i + 2));
        CHECK(dead[i][4] == bad[i].second);
        CHECK(dead[i][5] == to_hex(bad[i].first));
        CHECK(dead[i][6] == std::to_string(bad[i].first.size()));
        CHECK_FALSE(dead[i][7].value_or("").empty());
    }
}

TEST_CASE("a corrupt gzip body is kept whole as one dead letter")
{
    sink_fixture f;
    std::string body = gzip_member(vector_ndjson(koreshield_events(500, 30)));
    body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x5a);

    auto res = f.send({"POST", "/ingest",
                       vector_headers("application/x-ndjson", "gzip"), body});
    require_status(res, 200, f.sink);
    std::string id = *res.header("X-Request-Id");
    CHECK(json_number(res.body, "loaded") == 0);
    CHECK(json_number(res.body, "dead_lettered") == 1);
    CHECK(json_number(res.body, "received") == 1);

    CHECK(f.count("koreshield_events") == "0");
    auto dead = f.db.query("SELECT reason_code, source, encode(raw, 'hex'), "
                           "raw_bytes FROM koreshield_dead_letters");
    REQUIRE(dead.size() == 1);
    CHECK(dead[0][0] == "decode_failed");
    CHECK(dead[0][1] == id);
    CHECK(dead[0][2] == to_hex(body));
    CHECK(dead[0][3] == std::to_string(body.size()));
}

TEST_CASE("20 concurrent clients with 10 batches each: all 200, every row")
{
    sink_fixture f({"--io-threads", "4", "--writers", "3"});
    constexpr std::size_t clients = 20;
    constexpr std::size_t batches = 10;
    constexpr std::size_t per_batch = 25;

    std::atomic<std::size_t> ok{0};
    std::atomic<long long> loaded{0};
    std::vector<std::string> problems(clients);
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            try {
                // One keep-alive connection per client; shapes alternate
                // between zstd arrays and gzip NDJSON.
                http_client client(f.sink.host(), f.sink.port());
                for (std::size_t b = 0; b < batches; ++b) {
                    auto events = koreshield_events(
                        (c * batches + b) * per_batch, per_batch);
                    http_request req;
                    if (b % 2 == 0) {
                        req.headers =
                            vector_headers("application/json", "zstd");
                        req.body = zstd_streamed(vector_json_array(events));
                    } else {
                        req.headers =
                            vector_headers("application/x-ndjson", "gzip");
                        req.body = gzip_member(vector_ndjson(events));
                    }
                    auto res = client.send(req);
                    if (res.status != 200) {
                        problems[c] =
                            std::to_string(res.status) + " " + res.body;
                        return;
                    }
                    ++ok;
                    loaded += json_number(res.body, "loaded");
                }
            } catch (const std::exception& e) {
                problems[c] = e.what();
            }
        });
    }
    for (auto& t : threads)
        t.join();

    std::string all;
    for (std::size_t c = 0; c < clients; ++c)
        if (!problems[c].empty())
            all += "client " + std::to_string(c) + ": " + problems[c] + "\n";
    INFO(all);
    INFO("sink stderr:\n" << f.sink.stderr_text());
    REQUIRE(ok == clients * batches);
    REQUIRE(loaded == static_cast<long long>(clients * batches * per_batch));
    REQUIRE(f.count("koreshield_events") ==
            std::to_string(clients * batches * per_batch));
    REQUIRE(f.db.scalar("SELECT count(DISTINCT request_id) FROM "
                        "koreshield_events") ==
            std::to_string(clients * batches * per_batch));
    REQUIRE(f.count("koreshield_dead_letters") == "0");
}

TEST_CASE("10,000 events in one zstd Vector array load exactly, column by "
          "column")
{
    sink_fixture f;
    auto events = koreshield_events(0, 10'000, 0x5eed);
    std::string plain = vector_json_array(events);
    std::string body = zstd_streamed(plain);
    REQUIRE_FALSE(zstd_has_content_size(body));

    auto res = f.send(
        {"POST", "/ingest", vector_headers("application/json", "zstd"), body});
    require_loaded(res, f.sink, 10'000, 10'000, 0);
    require_rows(f.db, rows_of(events), f.sink);
    REQUIRE(f.count("koreshield_dead_letters") == "0");
}
