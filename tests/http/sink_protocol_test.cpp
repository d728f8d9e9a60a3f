// The HTTP surface of the real koreshield-sink: limits, refusals, health,
// keep-alive, shutdown and the command line.

#include "sink_fixture.hpp"

#include <chrono>
#include <csignal>
#include <set>
#include <thread>

using namespace ks::test;
using namespace std::chrono_literals;

namespace {

/// The request head of a body sent by hand.
std::string raw_head(const std::string& target, const header_list& headers)
{
    std::string head = "POST " + target + " HTTP/1.1\r\nHost: test\r\n";
    for (auto& [name, value] : headers)
        head += name + ": " + value + "\r\n";
    return head + "\r\n";
}

/// The database name in a keyword DSN.
std::string dbname_of(const std::string& dsn)
{
    auto at = dsn.find("dbname=");
    REQUIRE(at != std::string::npos);
    std::string name = dsn.substr(at + 7);
    return name.substr(0, name.find(' '));
}

} // namespace

TEST_CASE("a Content-Length over --max-body-bytes gets 413 before the body")
{
    sink_fixture f({"--max-body-bytes", "1K", "--max-decoded-bytes", "8192"});

    // Only the head is sent; the answer comes anyway, then the sink
    // closes the connection.
    http_client client = f.client();
    http_request req{"POST", "/ingest", vector_headers("application/json"),
                     std::string(5000, ' '), true};
    auto res = client.send(req);
    require_error(res, 413, "body_too_large", f.sink);
    CHECK_THAT(json_string(res.body, "message"), Catch::Contains("1024"));
    CHECK(res.header("Connection") == "close");
    CHECK(client.peer_closed());
    CHECK(f.count("koreshield_events") == "0");
    CHECK(f.count("koreshield_dead_letters") == "0");
}

TEST_CASE("a chunked body over --max-body-bytes gets 413")
{
    sink_fixture f({"--max-body-bytes", "1K"});
    http_client client = f.client();
    std::string chunk(0x300, ' ');
    client.write_raw(raw_head("/ingest", {{"Transfer-Encoding", "chunked"}}) +
                     "300\r\n" + chunk + "\r\n300\r\n" + chunk +
                     "\r\n0\r\n\r\n");
    auto res = client.read_response();
    require_error(res, 413, "body_too_large", f.sink);
    CHECK(client.peer_closed());
    CHECK(f.count("koreshield_events") == "0");
}

TEST_CASE("a body over --max-decoded-bytes once decoded gets 413, and the "
          "connection stays usable")
{
    sink_fixture f({"--max-body-bytes", "1K", "--max-decoded-bytes", "8192"});
    auto events = koreshield_events(700, 1);
    std::string plain = events[0].json + std::string(20'000, '\n');
    std::string body = gzip_member(plain);
    REQUIRE(body.size() < 1024);

    http_client client = f.client();
    auto res =
        client.send({"POST", "/ingest",
                     vector_headers("application/x-ndjson", "gzip"), body});
    require_error(res, 413, "decoded_too_large", f.sink);
    CHECK(f.count("koreshield_events") == "0");
    CHECK(f.count("koreshield_dead_letters") == "0");

    // Within both limits, on the same connection.
    res = client.send({"POST", "/ingest",
                       vector_headers("application/json", "gzip"),
                       gzip_member(events[0].json)});
    require_loaded(res, f.sink, 1, 1, 0);
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("an unknown Content-Encoding gets 415 naming the supported ones")
{
    sink_fixture f;
    auto events = koreshield_events(800, 3);
    auto res =
        f.send({"POST", "/ingest", vector_headers("application/json", "br"),
                vector_json_array(events)});
    require_error(res, 415, "unsupported_encoding", f.sink);
    std::string message = json_string(res.body, "message");
    CHECK_THAT(message, Catch::Contains("br"));
    CHECK_THAT(message, Catch::Contains("gzip"));
    CHECK_THAT(message, Catch::Contains("zstd"));
    CHECK(f.count("koreshield_events") == "0");
    CHECK(f.count("koreshield_dead_letters") == "0");
}

TEST_CASE("unknown paths get 404; wrong methods get 405 with Allow")
{
    sink_fixture f;
    http_client client = f.client();

    auto res = client.send({"POST", "/v1/logs", {}, "{}"});
    require_error(res, 404, "not_found", f.sink);

    res = client.send({"GET", "/ingest", {}, ""});
    require_error(res, 405, "method_not_allowed", f.sink);
    CHECK(res.header("Allow") == "POST, PUT");

    res = client.send({"DELETE", "/health", {}, ""});
    require_error(res, 405, "method_not_allowed", f.sink);
    CHECK(res.header("Allow") == "GET, HEAD");

    res = client.send({"PATCH", "/", {}, "{}"});
    require_error(res, 405, "method_not_allowed", f.sink);
    CHECK(f.count("koreshield_events") == "0");
}

TEST_CASE("HEAD /health is exactly 200 with an empty body; GET says ok")
{
    sink_fixture f;
    http_client client = f.client();

    auto res = client.send({"HEAD", "/health", {}, ""});
    require_status(res, 200, f.sink);
    CHECK(res.body.empty());
    CHECK(res.header("X-Request-Id").has_value());

    res = client.send({"GET", "/health", {}, ""});
    require_status(res, 200, f.sink);
    CHECK(res.body == R"({"status":"ok"})");
    CHECK(res.header("Content-Encoding") == std::nullopt);
}

TEST_CASE("without a reachable database, health and ingest get 503 and "
          "nothing is written")
{
    // The database exists, but the sink looks for its socket in a
    // directory that does not.
    std::string dsn = fresh_database("http");
    test_db db(dsn);
    std::string missing = "host=/tmp/koreshield-no-such-dir-" +
                          std::to_string(getpid()) +
                          " port=5432 user=postgres dbname=" + dbname_of(dsn);
    sink_process sink(sink_args(missing, {}));
    http_client client(sink.host(), sink.port());

    auto res = client.send({"HEAD", "/health", {}, ""});
    require_status(res, 503, sink);
    CHECK(res.body.empty());

    res = client.send({"GET", "/health", {}, ""});
    require_error(res, 503, "database_unavailable", sink);

    auto events = koreshield_events(900, 5);
    res = client.send({"POST", "/ingest",
                       vector_headers("application/json", "zstd"),
                       zstd_streamed(vector_json_array(events))});
    require_error(res, 503, "database_unavailable", sink);
    CHECK(res.header("Retry-After") == "1");

    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "0");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") == "0");
}

TEST_CASE("several requests share one keep-alive connection")
{
    sink_fixture f;
    auto events = koreshield_events(1000, 30);
    std::vector<sample_event> first(events.begin(), events.begin() + 10);
    std::vector<sample_event> second(events.begin() + 10, events.begin() + 20);
    std::vector<sample_event> third(events.begin() + 20, events.end());

    http_client client = f.client();
    std::set<std::string> ids;
    auto res = client.send({"POST", "/ingest",
                            vector_headers("application/json", "zstd"),
                            zstd_streamed(vector_json_array(first))});
    ids.insert(require_loaded(res, f.sink, 10, 10, 0));

    res = client.send({"HEAD", "/health", {}, ""});
    require_status(res, 200, f.sink);
    ids.insert(*res.header("X-Request-Id"));

    res = client.send({"POST", "/ingest",
                       vector_headers("application/x-ndjson", "gzip"),
                       gzip_member(vector_ndjson(second))});
    ids.insert(require_loaded(res, f.sink, 10, 10, 0));

    res = client.send({"GET", "/nowhere", {}, ""});
    require_error(res, 404, "not_found", f.sink);
    ids.insert(*res.header("X-Request-Id"));

    res = client.send({"PUT", "/", vector_headers("application/json"),
                       vector_json_array(third)});
    ids.insert(require_loaded(res, f.sink, 10, 10, 0));

    CHECK(ids.size() == 5);
    CHECK_FALSE(client.peer_closed(100));
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("Expect: 100-continue gets an interim answer before the body")
{
    sink_fixture f;
    auto events = koreshield_events(1100, 2);
    std::string body = vector_json_array(events);

    http_client client = f.client();
    client.write_raw(
        raw_head("/ingest", {{"Content-Type", "application/json"},
                             {"Content-Length", std::to_string(body.size())},
                             {"Expect", "100-continue"}}));
    auto interim = client.read_response(false, true);
    REQUIRE(interim.status == 100);
    client.write_raw(body);
    require_loaded(client.read_response(), f.sink, 2, 2, 0);
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("SIGTERM lets a request in flight finish, then the sink exits 0")
{
    sink_fixture f;
    auto events = koreshield_events(1200, 50);
    std::string body = zstd_streamed(vector_json_array(events));
    std::size_t half = body.size() / 2;

    // An idle keep-alive connection, and one in the middle of a request.
    http_client idle = f.client();
    require_status(idle.send({"HEAD", "/health", {}, ""}), 200, f.sink);
    http_client busy = f.client();
    busy.write_raw(
        raw_head("/ingest", {{"Content-Type", "application/json"},
                             {"Content-Encoding", "zstd"},
                             {"Content-Length", std::to_string(body.size())}}) +
        body.substr(0, half));
    std::this_thread::sleep_for(1s); // the sink is reading that request

    REQUIRE(::kill(f.sink.pid(), SIGTERM) == 0);

    // The idle connection is closed, new ones are refused soon, and the
    // request in flight still gets its answer.
    CHECK(idle.peer_closed(5000));
    bool refused = false;
    for (int i = 0; i < 50 && !refused; ++i) {
        try {
            http_client late(f.sink.host(), f.sink.port());
            std::this_thread::sleep_for(100ms);
        } catch (const std::runtime_error&) {
            refused = true;
        }
    }
    CHECK(refused);
    busy.write_raw(body.substr(half));
    auto res = busy.read_response();
    require_loaded(res, f.sink, 50, 50, 0);
    CHECK(res.header("Connection") == "close");

    CHECK(f.sink.stop() == 0);
    std::string log = f.sink.stderr_text();
    CHECK_THAT(log, Catch::Contains("stopping"));
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("bad command lines exit with status 2 and say why")
{
    std::vector<std::vector<std::string>> cases = {
        {"--bogus"},
        {"--listen", "nonsense"},
        {"--listen", "127.0.0.1:99999"},
        {"--listen", "::1:8080"},
        {"--listen", "127.0.0.1:0", "--max-body-bytes", "lots"},
        {"--listen", "127.0.0.1:0", "--max-body-bytes", "0"},
        {"--listen", "127.0.0.1:0", "--io-threads", "0"},
        {"--listen", "127.0.0.1:0", "--writers", "many"},
        {"--listen", "127.0.0.1:0", "--log-level", "loud"},
        {"--listen", "127.0.0.1:0", "--table", "a.b.c"},
        {"--listen", "127.0.0.1:0", "--dead-letter-table", ""},
        {"--listen", "127.0.0.1:0", "--ingest-path", "ingest"},
        {"--listen", "127.0.0.1:0", "stray-argument"},
        {"--listen", "127.0.0.1:0", "--idle-timeout-s", "0"},
        {"--listen", "127.0.0.1:0", "--shutdown-grace-s", "-1"},
    };
    for (const auto& args : cases) {
        std::string output;
        int status = run_sink_to_exit(args, output);
        std::string joined;
        for (auto& a : args)
            joined += a + " ";
        INFO("args: " << joined << "\noutput: " << output);
        CHECK(status == 2);
        CHECK_FALSE(output.empty());
    }
}

TEST_CASE("a size of 0 or past 1T exits with status 2 and says what sizes "
          "may be")
{
    for (const char* flag :
         {"--max-body-bytes", "--max-decoded-bytes", "--max-event-bytes",
          "--memory-budget-bytes", "--group-max-bytes"}) {
        for (const char* value : {"0", "0K", "2T", "99999999999999999999"}) {
            std::string output;
            int status = run_sink_to_exit(
                {"--listen", "127.0.0.1:0", flag, value}, output);
            INFO(flag << " " << value << "\noutput: " << output);
            CHECK(status == 2);
            CHECK_THAT(output, Catch::Contains(std::string(flag) + ": '" +
                                               value + "' is out of range"));
            CHECK_THAT(output, Catch::Contains("from 1 byte to 1T"));
            CHECK(output.size() < 400);
        }
    }

    // Units are still read as before.
    std::string output;
    CHECK(run_sink_to_exit(
              {"--listen", "127.0.0.1:0", "--max-body-bytes", "1.5M"},
              output) == 2);
    CHECK_THAT(output, Catch::Contains("'1.5M' is not a size"));
    CHECK(
        run_sink_to_exit({"--listen", "127.0.0.1:0", "--max-body-bytes", "3Q"},
                         output) == 2);
    CHECK_THAT(output, Catch::Contains("unknown unit"));
}

TEST_CASE("size flags take K, M, G and T, with or without B or iB")
{
    sink_fixture f({"--max-body-bytes", "1KiB", "--max-decoded-bytes", "2kb",
                    "--memory-budget-bytes", "1T", "--max-event-bytes", "1m"});
    http_client client = f.client();
    http_request req{"POST", "/ingest", vector_headers("application/json"),
                     std::string(1025, ' '), true};
    auto res = client.send(req);
    require_error(res, 413, "body_too_large", f.sink);
    CHECK_THAT(json_string(res.body, "message"), Catch::Contains("1024"));
}

TEST_CASE("--help and --version print and exit 0")
{
    std::string output;
    CHECK(run_sink_to_exit({"--version"}, output) == 0);
    CHECK_THAT(output, Catch::Contains("koreshield-sink"));

    CHECK(run_sink_to_exit({"--help"}, output) == 0);
    for (const char* flag :
         {"--listen", "--dsn", "--table", "--dead-letter-table",
          "--ingest-path", "--max-body-bytes", "--max-decoded-bytes",
          "--max-event-bytes", "--io-threads", "--writers", "--idle-timeout-s",
          "--shutdown-grace-s", "--log-level"})
        CHECK_THAT(output, Catch::Contains(flag));
}

TEST_CASE("the start-up line names the real port and the endpoints")
{
    sink_fixture f({"--ingest-path", "/v1/koreshield"});
    CHECK(f.sink.port() != 0);
    CHECK(f.sink.banner() ==
          "koreshield-sink listening on http://127.0.0.1:" +
              std::to_string(f.sink.port()) +
              " (ingest: POST /v1/koreshield or /, health: HEAD/GET "
              "/health)");

    // The configured path ingests; the default one no longer does.
    auto events = koreshield_events(1300, 1);
    auto res = f.send({"POST", "/v1/koreshield",
                       vector_headers("application/json"), events[0].json});
    require_loaded(res, f.sink, 1, 1, 0);
    res = f.send({"POST", "/ingest", vector_headers("application/json"),
                  events[0].json});
    require_error(res, 404, "not_found", f.sink);
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("a request target in absolute form is served by its path")
{
    sink_fixture f;
    auto events = koreshield_events(1500, 3);
    const std::string origin =
        "http://127.0.0.1:" + std::to_string(f.sink.port());
    http_client client = f.client();

    auto res =
        client.send({"POST", origin + "/ingest?source=proxy",
                     vector_headers("application/json"), events[0].json});
    require_loaded(res, f.sink, 1, 1, 0);

    // No path at all is "/", which ingests too.
    res = client.send(
        {"PUT", origin, vector_headers("application/json"), events[1].json});
    require_loaded(res, f.sink, 1, 1, 0);
    res = client.send({"POST", "HTTP://127.0.0.1?x=1",
                       vector_headers("application/json"), events[2].json});
    require_loaded(res, f.sink, 1, 1, 0);

    res = client.send({"HEAD", origin + "/health", {}, ""});
    require_status(res, 200, f.sink);
    res = client.send({"POST", origin + "/nowhere", {}, "{}"});
    require_error(res, 404, "not_found", f.sink);
    CHECK_THAT(json_string(res.body, "message"), Catch::Contains("/nowhere"));
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("--idle-timeout-s bounds silence, not a slow body; a client that "
          "stalls is disconnected without an answer")
{
    sink_fixture f({"--idle-timeout-s", "2"});
    auto events = koreshield_events(1600, 40);
    std::string body = vector_json_array(events);
    std::string head =
        raw_head("/ingest", {{"Content-Type", "application/json"},
                             {"Content-Length", std::to_string(body.size())}});

    // 20 pieces, a quarter of a second apart: the whole body takes more
    // than twice the timeout, no silence comes near it.
    http_client slow = f.client();
    slow.write_raw(head);
    const std::size_t pieces = 20;
    const std::size_t piece = body.size() / pieces + 1;
    for (std::size_t at = 0; at < body.size(); at += piece) {
        std::this_thread::sleep_for(250ms);
        slow.write_raw(body.substr(at, piece));
    }
    require_loaded(slow.read_response(), f.sink, 40, 40, 0);

    // Half a body, then nothing: the sink closes the connection and
    // sends no 408, which Logstash and rsyslog would drop the batch on.
    http_client stalled = f.client();
    stalled.write_raw(head + body.substr(0, body.size() / 2));
    CHECK(stalled.peer_closed(30'000));

    // A client that never sends a request is closed too.
    http_client silent = f.client();
    CHECK(silent.peer_closed(30'000));
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("a request that is not HTTP gets 400, oversized headers 431; "
          "both close the connection")
{
    sink_fixture f;

    http_client garbage = f.client();
    garbage.write_raw("HELLO THERE\r\n\r\n");
    auto res = garbage.read_response();
    require_error(res, 400, "bad_request", f.sink);
    CHECK(res.header("Connection") == "close");
    CHECK(garbage.peer_closed());

    http_client big = f.client();
    big.write_raw(raw_head("/ingest", {{"X-Padding", std::string(70'000, 'p')},
                                       {"Content-Length", "2"}}) +
                  "{}");
    res = big.read_response();
    require_error(res, 431, "header_too_large", f.sink);
    CHECK(big.peer_closed());
    CHECK(f.count("koreshield_events") == "0");
}

TEST_CASE("PostgreSQL refusing the data at COMMIT gets 500 with its "
          "sqlstate, and nothing is written")
{
    // A deferred rule no event meets: it is checked only at COMMIT, where
    // no single row can be set aside.
    sink_fixture f;
    f.db.exec(R"(
        CREATE FUNCTION refuse_all() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'refuse_all' USING ERRCODE = '23514';
        END $$;
        CREATE CONSTRAINT TRIGGER refuse_all AFTER INSERT
            ON koreshield_events DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION refuse_all();
    )");
    auto events = koreshield_events(1400, 3);
    auto res =
        f.send({"POST", "/ingest", vector_headers("application/json", "zstd"),
                zstd_streamed(vector_json_array(events))});
    require_error(res, 500, "database_refused", f.sink);
    CHECK(json_string(res.body, "sqlstate") == "23514");
    CHECK_THAT(json_string(res.body, "message"), Catch::Contains("refuse_all"));
    CHECK(f.count("koreshield_events") == "0");
    CHECK(f.count("koreshield_dead_letters") == "0");
}
