// The memory budget of the real koreshield-sink: requests it cannot
// cover now get 503 and leave nothing behind, requests it could never
// cover get 413, and a waiting request loads once memory is given back.

#include "sink_fixture.hpp"

#include <atomic>
#include <map>
#include <memory>
#include <thread>

using namespace ks::test;

namespace {

/// A request head sent by hand, with the fields given.
std::string raw_head(const header_list& headers)
{
    std::string head = "POST /ingest HTTP/1.1\r\nHost: test\r\n";
    for (auto& [name, value] : headers)
        head += name + ": " + value + "\r\n";
    return head + "\r\n";
}

/// `body` as HTTP chunks of `size` bytes, with the last chunk.
std::string chunked(const std::string& body, std::size_t size)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t at = 0; at < body.size(); at += size) {
        std::string piece = body.substr(at, size);
        std::string length;
        for (std::size_t n = piece.size(); n != 0; n /= 16)
            length.insert(length.begin(), hex[n % 16]);
        out += length + "\r\n" + piece + "\r\n";
    }
    return out + "0\r\n\r\n";
}

/// Waits until the sink has logged `text` (a minute at most).
void wait_for_log(const sink_process& sink, const std::string& text)
{
    for (int i = 0; i < 6000; ++i) {
        if (sink.stderr_text().find(text) != std::string::npos) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the sink never logged " << text);
}

/// Announces a body of `bytes` and waits for 100 Continue, which the sink
/// sends only once it holds memory for that body.
std::unique_ptr<http_client> announce_body(sink_fixture& f, std::size_t bytes)
{
    auto client = std::make_unique<http_client>(f.sink.host(), f.sink.port());
    client->write_raw(raw_head({{"Content-Type", "application/json"},
                                {"Content-Length", std::to_string(bytes)},
                                {"Expect", "100-continue"}}));
    auto interim = client->read_response(false, true);
    REQUIRE(interim.status == 100);
    return client;
}

/// What one request of the many-clients test was answered.
struct answer {
    int status = 0;
    std::string error; // the error code of a refusal
};

} // namespace

TEST_CASE("many clients, many batches: under a small memory budget some get "
          "503, and exactly the batches answered 200 are stored, once")
{
    constexpr std::size_t clients = 32;
    constexpr std::size_t batches = 20;
    constexpr std::size_t per_batch = 10;

    // About eight such batches (4.5 KB of NDJSON each) fit in the budget
    // at once; a refusal is answered without waiting.
    sink_fixture f({"--memory-budget-bytes", "128K", "--budget-wait-ms", "0",
                    "--io-threads", "4", "--writers", "2"});

    // While the table is locked, batches that got memory keep it until
    // they commit, so the budget is certainly full for some requests.
    test_db locker(f.dsn);
    locker.exec("BEGIN; LOCK TABLE koreshield_events");
    std::atomic<std::size_t> refusals{0};

    std::vector<std::vector<answer>> answers(clients,
                                             std::vector<answer>(batches));
    std::vector<std::string> problems(clients);
    std::vector<std::thread> threads;
    for (std::size_t c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            try {
                // Keep-alive connections, opened again after the sink
                // closed one (a refused body is not read).
                auto client =
                    std::make_unique<http_client>(f.sink.host(), f.sink.port());
                for (std::size_t b = 0; b < batches; ++b) {
                    auto events = koreshield_events(
                        (c * batches + b) * per_batch, per_batch);
                    http_request req{"POST", "/ingest",
                                     vector_headers("application/x-ndjson"),
                                     vector_ndjson(events)};
                    auto res = client->send(req);
                    answers[c][b] = {res.status,
                                     json_string(res.body, "error")};
                    if (res.status == 503) ++refusals;
                    if (res.status == 200 &&
                        json_number(res.body, "loaded") !=
                            static_cast<long long>(per_batch))
                        problems[c] = "wrong count: " + res.body;
                    if (res.header("Connection") == "close")
                        client = std::make_unique<http_client>(f.sink.host(),
                                                               f.sink.port());
                }
            } catch (const std::exception& e) {
                problems[c] = e.what();
            }
        });
    }

    // Unlock once the budget has refused someone; if it never does, the
    // test fails below rather than hanging.
    for (int i = 0; i < 6000 && refusals == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    locker.exec("ROLLBACK");
    for (auto& t : threads)
        t.join();

    // Every request got an answer: 200, or 503 because of the budget.
    std::string all;
    for (std::size_t c = 0; c < clients; ++c)
        if (!problems[c].empty())
            all += "client " + std::to_string(c) + ": " + problems[c] + "\n";
    INFO(all);
    REQUIRE(all.empty());
    std::size_t ok = 0;
    std::size_t refused = 0;
    for (auto& per_client : answers) {
        for (auto& a : per_client) {
            INFO("status " << a.status << " error " << a.error);
            REQUIRE((a.status == 200 || a.status == 503));
            if (a.status == 503) {
                CHECK(a.error == "memory_budget_full");
                ++refused;
            } else {
                ++ok;
            }
        }
    }
    CHECK(refused >= 1);
    CHECK(ok >= 1);

    // The table holds each event of a 200 once, and none of a 503.
    std::map<std::string, int> stored;
    for (auto& row : f.db.query("SELECT request_id, count(*) FROM "
                                "koreshield_events GROUP BY 1"))
        stored[row[0].value_or("")] = std::stoi(row[1].value_or("0"));
    std::size_t wrong = 0;
    std::string first_wrong;
    for (std::size_t c = 0; c < clients; ++c) {
        for (std::size_t b = 0; b < batches; ++b) {
            int want = answers[c][b].status == 200 ? 1 : 0;
            for (auto& e :
                 koreshield_events((c * batches + b) * per_batch, per_batch)) {
                auto it = stored.find(e.row.request_id);
                int got = it == stored.end() ? 0 : it->second;
                if (got != want && wrong++ == 0)
                    first_wrong = e.row.request_id + ": stored " +
                                  std::to_string(got) + ", expected " +
                                  std::to_string(want);
            }
        }
    }
    INFO("sink stderr (tail):\n"
         << f.sink.stderr_text().substr(f.sink.stderr_text().size() > 4000
                                            ? f.sink.stderr_text().size() - 4000
                                            : 0));
    INFO("first difference: " << first_wrong);
    CHECK(wrong == 0);
    CHECK(f.count("koreshield_events") == std::to_string(ok * per_batch));
    CHECK(f.count("koreshield_dead_letters") == "0");
}

TEST_CASE("a body larger than the whole memory budget gets 413")
{
    sink_fixture f({"--memory-budget-bytes", "64K"});
    auto events = koreshield_events(900, 1);

    SECTION("by its Content-Length, before the body is read")
    {
        http_client client = f.client();
        http_request req{"POST", "/ingest", vector_headers("application/json"),
                         std::string(100 << 10, ' '), true};
        auto res = client.send(req);
        require_error(res, 413, "larger_than_budget", f.sink);
        CHECK_THAT(json_string(res.body, "message"), Catch::Contains("65536"));
        CHECK(res.header("Connection") == "close");
        CHECK(client.peer_closed());
    }

    SECTION("once decoded, and the connection stays usable")
    {
        std::string body =
            gzip_member(events[0].json + std::string(200 << 10, '\n'));
        REQUIRE(body.size() < (4 << 10));

        http_client client = f.client();
        auto res =
            client.send({"POST", "/ingest",
                         vector_headers("application/x-ndjson", "gzip"), body});
        require_error(res, 413, "larger_than_budget", f.sink);

        res = client.send({"POST", "/ingest",
                           vector_headers("application/json"), events[0].json});
        require_loaded(res, f.sink, 1, 1, 0);
        require_rows(f.db, rows_of(events), f.sink);
    }

    SECTION("as a chunked body grows")
    {
        http_client client = f.client();
        client.write_raw(raw_head({{"Transfer-Encoding", "chunked"}}) +
                         chunked(std::string(100 << 10, ' '), 8 << 10));
        auto res = client.read_response();
        require_error(res, 413, "larger_than_budget", f.sink);
        CHECK(client.peer_closed());
    }

    CHECK(f.count("koreshield_dead_letters") == "0");
}

TEST_CASE("a body that compresses very well loads when its text and rows "
          "fit in the budget")
{
    // One event over and over: zstd makes a few KB of it, so the text is
    // decoded under allowances that grow to the whole budget. What counts
    // is what the text and the rows then take, here about half of it.
    const std::string line = koreshield_events(1, 7)[0].json + "\n";
    const std::size_t lines = (1900u << 10) / line.size();
    std::string text;
    for (std::size_t i = 0; i < lines; ++i)
        text += line;
    const std::string body = zstd_sized(text, 19);
    REQUIRE(body.size() * 200 < text.size());

    // One I/O thread, whose preparer first meets an event of random text:
    // its rows are no larger than its JSON, and so is the room the next
    // body's rows are first given.
    std::string prompt;
    for (std::size_t i = 0; prompt.size() < (1u << 20); ++i)
        prompt += std::to_string(i * 2654435761u % 1000003u);
    const std::string single =
        R"({"timestamp":"2026-02-17T10:00:00Z","event":"prompt_scanned",)"
        R"("level":"info","prompt":")" +
        prompt + "\"}\n";

    for (const char* budget : {"5M", "8M"}) {
        DYNAMIC_SECTION("with a budget of " << budget)
        {
            sink_fixture f({"--memory-budget-bytes", budget, "--io-threads",
                            "1"});
            http_client client = f.client();
            auto first = client.send(
                {"POST", "/ingest", vector_headers("application/x-ndjson"),
                 single});
            require_loaded(first, f.sink, 1, 1, 0);

            const auto n = static_cast<long long>(lines);
            for (int i = 0; i < 2; ++i) {
                auto res = client.send(
                    {"POST", "/ingest",
                     vector_headers("application/x-ndjson", "zstd"),
                     body + (i == 0 ? "" : zstd_sized("\n", 19))});
                require_loaded(res, f.sink, n, n, 0, i);
            }
            CHECK(f.count("koreshield_events") == std::to_string(2 * n + 1));
        }
    }
}

TEST_CASE("a chunked body is held as it grows and loads")
{
    sink_fixture f({"--memory-budget-bytes", "1M"});
    auto events = koreshield_events(1000, 200);
    std::string body = vector_ndjson(events);
    REQUIRE(body.size() > (64 << 10));

    http_client client = f.client();
    client.write_raw(raw_head({{"Content-Type", "application/x-ndjson"},
                               {"Transfer-Encoding", "chunked"}}) +
                     chunked(body, 5000));
    auto res = client.read_response();
    require_loaded(res, f.sink, 200, 200, 0);
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("while another request holds the budget, a request is refused at "
          "once or waits and loads, as --budget-wait-ms says")
{
    // The first body takes nearly the whole budget; the small request
    // after it cannot fit beside it.
    constexpr std::size_t budget = 256 << 10;
    constexpr std::size_t announced = budget - 2048;
    auto events = koreshield_events(1100, 5);
    http_request small{"POST", "/ingest",
                       vector_headers("application/x-ndjson"),
                       vector_ndjson(events)};
    REQUIRE(small.body.size() > 2048);

    SECTION("no wait: 503 with Retry-After, nothing stored")
    {
        sink_fixture f({"--memory-budget-bytes", std::to_string(budget),
                        "--budget-wait-ms", "0"});
        auto first = announce_body(f, announced);

        auto res = f.send(small);
        require_error(res, 503, "memory_budget_full", f.sink);
        CHECK(res.header("Retry-After") == "1");
        CHECK_THAT(json_string(res.body, "message"),
                   Catch::Contains("memory budget"));
        first.reset();
        CHECK(f.count("koreshield_events") == "0");
    }

    SECTION("a long wait: loads once the first client gives up")
    {
        sink_fixture f({"--memory-budget-bytes", std::to_string(budget),
                        "--budget-wait-ms", "60000"});
        auto first = announce_body(f, announced);

        http_response res;
        std::thread second([&] { res = f.send(small); });

        // Once the second request waits, closing the first connection
        // mid-body frees what it held.
        wait_for_log(f.sink, "budget_wait request_id=");
        CHECK_THAT(f.sink.stderr_text(), Catch::Contains("for=body"));
        first.reset();
        second.join();
        require_loaded(res, f.sink, 5, 5, 0);
        require_rows(f.db, rows_of(events), f.sink);
    }
}

TEST_CASE("a body let in waits for the memory to prepare its rows, then "
          "loads")
{
    // Half the budget is held by an announced body; the next body fits
    // beside it, its decoded text and rows do not.
    constexpr std::size_t budget = 256 << 10;
    sink_fixture f({"--memory-budget-bytes", std::to_string(budget),
                    "--budget-wait-ms", "60000"});
    auto events = koreshield_events(1200, 110);
    http_request req{"POST", "/ingest", vector_headers("application/x-ndjson"),
                     vector_ndjson(events)};
    REQUIRE(req.body.size() > (45 << 10));
    REQUIRE(req.body.size() < (60 << 10));
    auto first = announce_body(f, budget / 2);

    http_response res;
    std::thread second([&] { res = f.send(req); });
    wait_for_log(f.sink, "budget_wait request_id=");
    CHECK_THAT(f.sink.stderr_text(), Catch::Contains("for=rows"));
    first.reset();
    second.join();
    require_loaded(res, f.sink, 110, 110, 0);
    require_rows(f.db, rows_of(events), f.sink);
}

TEST_CASE("a body refused before it is read is drained, so a client that "
          "sends all of it before reading still gets the answer")
{
    // Twice the 8 MiB the sink once drained: the rest of the body then
    // met a closed connection, and the client a broken pipe.
    sink_fixture f({"--memory-budget-bytes", "4M", "--budget-wait-ms", "0"});
    const std::string line =
        vector_ndjson(koreshield_events(1300, 1)) + "\n";
    std::string body;
    while (body.size() < (20u << 20))
        body += line;
    http_request req{"POST", "/ingest", vector_headers("application/x-ndjson"),
                     body};
    for (int i = 0; i < 3; ++i) {
        auto res = f.send(req);
        require_error(res, 413, "larger_than_budget", f.sink);
    }
    CHECK(f.count("koreshield_events") == "0");
}
