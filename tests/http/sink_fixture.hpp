#pragma once

// A fresh database and a real koreshield-sink on it, plus the checks the
// end-to-end tests share.

#include "support/http_client.hpp"
#include "support/sink_process.hpp"
#include "support/test_db.hpp"
#include "vector_batches.hpp"

#include <catch2/catch.hpp>

#include <exception>
#include <string>
#include <vector>

namespace ks::test {

/// The arguments every test sink gets: a free port on loopback, the DSN,
/// and debug logging so a failure shows every request.
inline std::vector<std::string> sink_args(const std::string& dsn,
                                          std::vector<std::string> extra)
{
    std::vector<std::string> args{
        "--listen",    "127.0.0.1:0", "--dsn",        dsn,
        "--log-level", "debug",       "--io-threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

/// A database of its own and a sink writing into it.
struct sink_fixture {
    explicit sink_fixture(std::vector<std::string> extra = {},
                          schema_layout layout = schema_layout::flat)
        : dsn(fresh_database("http", layout)), db(dsn),
          sink(sink_args(dsn, std::move(extra)))
    {
    }

    /// Every test ends with a clean stop: SIGTERM, exit status 0. A crash
    /// of the sink shows here even when every answer looked right.
    ~sink_fixture()
    {
        if (std::uncaught_exceptions() > 0) return;
        int status = sink.stop();
        INFO("sink stderr:\n" << sink.stderr_text());
        CHECK(status == 0);
    }

    sink_fixture(const sink_fixture&) = delete;
    sink_fixture& operator=(const sink_fixture&) = delete;

    http_client client() { return http_client(sink.host(), sink.port()); }

    http_response send(const http_request& req)
    {
        return http_send(sink.host(), sink.port(), req);
    }

    std::string count(const std::string& table)
    {
        return db.scalar("SELECT count(*) FROM " + table);
    }

    std::string dsn;
    test_db db;
    sink_process sink;
};

/// Headers Vector's http sink sends with a body.
inline header_list vector_headers(std::string content_type,
                                  std::string encoding = "")
{
    header_list h{{"content-type", std::move(content_type)},
                  {"accept-encoding", "identity"},
                  {"user-agent", "Vector/0.57.0 (x86_64-unknown-linux-gnu)"}};
    if (!encoding.empty()) h.emplace_back("content-encoding", encoding);
    return h;
}

/// Requires `status`, showing the body and the sink's log otherwise.
inline void require_status(const http_response& res, int status,
                           const sink_process& sink)
{
    INFO("response body: " << res.body);
    INFO("sink stderr:\n" << sink.stderr_text());
    REQUIRE(res.status == status);
}

/// Requires a 200 whose counts are the given ones and whose request id
/// is the X-Request-Id header; returns that id.
inline std::string require_loaded(const http_response& res,
                                  const sink_process& sink, long long received,
                                  long long loaded, long long dead_lettered,
                                  long long blank_lines = 0)
{
    require_status(res, 200, sink);
    INFO("response body: " << res.body);
    auto id = res.header("X-Request-Id");
    REQUIRE(id.has_value());
    CHECK(id->size() == 16);
    CHECK(json_string(res.body, "request_id") == *id);
    CHECK(json_number(res.body, "received") == received);
    CHECK(json_number(res.body, "loaded") == loaded);
    CHECK(json_number(res.body, "dead_lettered") == dead_lettered);
    CHECK(json_number(res.body, "blank_lines") == blank_lines);
    return *id;
}

/// Requires that the stored events are exactly `expected`.
inline void require_rows(test_db& db, const std::vector<expected_row>& rows,
                         const sink_process& sink)
{
    auto differences = row_differences(db, rows);
    std::string text;
    for (auto& d : differences)
        text += d + "\n";
    std::string log = sink.stderr_text();
    if (log.size() > 4000) log = log.substr(log.size() - 4000);
    INFO("differences:\n" << text);
    INFO("sink stderr (tail):\n" << log);
    REQUIRE(differences.empty());
    REQUIRE(db.scalar("SELECT count(*) FROM koreshield_events") ==
            std::to_string(rows.size()));
}

/// Requires a JSON error answer with `status` and error code `code`.
inline void require_error(const http_response& res, int status,
                          const std::string& code, const sink_process& sink)
{
    require_status(res, status, sink);
    INFO("response body: " << res.body);
    CHECK(res.header("Content-Type") == "application/json");
    CHECK(json_string(res.body, "error") == code);
    CHECK_FALSE(json_string(res.body, "message").empty());
    auto id = res.header("X-Request-Id");
    REQUIRE(id.has_value());
    CHECK(id->size() == 16);
}

} // namespace ks::test
