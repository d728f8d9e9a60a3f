// logstash-output-http (wire-formats.md, section 2) against the real
// sink: `format => "json"` (one event per request on a keep-alive
// connection), `format => "json_batch"` (arrays, gzip with
// http_compression), ECS and legacy fields, and `@timestamp` in the
// forms Logstash 7 and 8 write.

#include "shipper_bodies.hpp"

using namespace ks::conf;
using ks::test::gzip_member;
using ks::test::http_client;

TEST_CASE("Logstash format json: one event per request, the line unparsed "
          "in message")
{
    sink_fixture f;
    auto lines = koreshield_lines(0, 7, 0x1501);
    std::vector<want_row> rows;

    // Manticore keeps the connection alive between requests.
    http_client client = f.client();
    for (const auto& line : lines) {
        // @timestamp is the read time: Logstash 8, six digits.
        std::string stamp = logstash_timestamp(line.us * 1000 + 200'000'000, 6);
        json_value record = logstash_line_record(line, stamp, false, "gw-eu-1");
        std::string body = logstash_json(record);
        REQUIRE(body.front() == '{');
        REQUIRE(body.back() == '}');

        auto res =
            client.send({"POST", "/ingest", logstash_headers(false), body});
        require_counts(res, f, 1, 1, 0);
        rows.push_back(wrapped_row(line, logstash_encode(record), "message"));
    }
    require_stored(f, rows);
}

TEST_CASE("Logstash format json_batch: arrays of ECS and legacy records, "
          "plain and with http_compression")
{
    sink_fixture f;
    std::vector<want_row> rows;

    auto batch = [&](std::size_t first, bool ecs, bool gzip) {
        std::vector<json_value> records;
        for (const auto& line : koreshield_lines(first, 10, 0x1502)) {
            std::string stamp =
                logstash_timestamp(line.us * 1000 + 3'141'000, 6);
            records.push_back(
                logstash_line_record(line, stamp, ecs, "gw-us-2"));
            rows.push_back(
                wrapped_row(line, logstash_encode(records.back()), "message"));
        }
        std::string body = logstash_json_batch(records);
        REQUIRE(body.front() == '[');
        REQUIRE(body.back() == ']');
        return f.send({"POST", "/ingest", logstash_headers(gzip),
                       gzip ? gzip_member(body) : body});
    };

    // ECS v8 (Logstash 8's default): `event` is an object holding the
    // line again, so it names no event and the line is unwrapped.
    require_counts(batch(0, true, false), f, 10, 10, 0);
    require_counts(batch(10, true, true), f, 10, 10, 0);
    require_counts(batch(20, false, false), f, 10, 10, 0);
    require_counts(batch(30, false, true), f, 10, 10, 0);
    require_stored(f, rows);
}

TEST_CASE("Logstash @timestamp: 3, 6 and 9 digits, .000 and none, as the "
          "event's time once a date filter moved it there")
{
    sink_fixture f;
    // json codec and date filter: KoreShield's keys at the top level,
    // its `timestamp` parsed into @timestamp and removed.
    struct form {
        const char* version;
        int digits;
        bool whole; // an instant on a whole second
    };
    const form forms[] = {
        {"Logstash 7", 3, false},
        {"Logstash 8", 6, false},
        {"Logstash 8, nanoseconds", 9, false},
        {"Logstash 8.0 to 8.3, whole second", 0, true},
        {"Logstash 8.4+, whole second", 3, true},
    };

    std::vector<json_value> records;
    std::vector<want_row> rows;
    auto lines = koreshield_lines(100, 15, 0x1503);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const form& fm = forms[i % std::size(forms)];
        std::int64_t us = lines[i].us;
        if (fm.whole) us -= us % 1'000'000;
        // Nanoseconds for the nine-digit form, two of them ties.
        static const std::int64_t extra_ns[] = {500, 1'500, 789};
        std::int64_t ns = us * 1000 + (fm.digits == 9 ? extra_ns[i / 5] : 0);
        std::string stamp = logstash_timestamp(ns, fm.digits);
        INFO(fm.version << ": " << stamp);
        if (fm.whole && fm.digits == 3) CHECK(stamp.substr(19) == ".000Z");
        if (fm.digits == 0) CHECK(stamp.size() == 20);

        // Three digits cut the microseconds off; nine round them.
        std::int64_t stored =
            fm.digits == 3 ? ns / 1'000'000 * 1'000 : us_half_even(ns);
        records.push_back(logstash_parsed_record(lines[i], stamp, "gw-eu-1"));
        rows.push_back(
            parsed_row(lines[i], logstash_encode(records.back()), stored));
    }

    auto res = f.send({"POST", "/ingest", logstash_headers(false),
                       logstash_json_batch(records)});
    require_counts(res, f, 15, 15, 0);
    require_stored(f, rows);
}
