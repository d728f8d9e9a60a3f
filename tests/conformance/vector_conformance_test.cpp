// Vector's `http` sink (wire-formats.md, section 1) against the real
// sink: the json codec's array, newline_delimited NDJSON, pretty-printed
// events, the text codec's lines (a gunicorn line among them), every
// compression Vector offers, and timestamps in RFC 3339 and every
// `encoding.timestamp_format`.

#include "shipper_bodies.hpp"

using namespace ks::conf;
using ks::test::gzip_member;
using ks::test::snappy_block;
using ks::test::vector_headers;
using ks::test::zlib_stream;
using ks::test::zstd_has_content_size;
using ks::test::zstd_streamed;

namespace {

/// Lines as Vector's file source ships them unparsed, encoded, and the
/// rows they must become. Read times carry nanoseconds, as Vector's do.
struct vector_batch {
    std::vector<std::string> events;
    std::vector<want_row> rows;
};

vector_batch file_records(std::size_t first, std::size_t count,
                          std::uint32_t salt)
{
    vector_batch b;
    for (const auto& line : koreshield_lines(first, count, salt)) {
        std::int64_t read_ns = line.us * 1000 + 196'894'431 +
                               static_cast<std::int64_t>(b.events.size());
        std::string host = b.events.size() % 2 == 0 ? "gw-eu-1" : "gw-us-2";
        std::string e = vector_encode(vector_file_record(line, read_ns, host));
        b.rows.push_back(wrapped_row(line, e, "message"));
        b.events.push_back(std::move(e));
    }
    return b;
}

} // namespace

TEST_CASE("Vector json codec: an array of file-source records loads every "
          "event with Vector's fields as its envelope")
{
    sink_fixture f;
    auto b = file_records(0, 14, 0x7e01);
    std::string body = vector_json_body(b.events);
    REQUIRE(body.find('\n') == std::string::npos);
    REQUIRE(body.find("},{\"file\":") != std::string::npos);

    auto res =
        f.send({"POST", "/ingest", vector_headers("application/json"), body});
    require_counts(res, f, 14, 14, 0);
    require_stored(f, b.rows);
}

TEST_CASE("Vector newline_delimited framing: NDJSON without a final "
          "newline loads every line")
{
    sink_fixture f;
    auto b = file_records(20, 21, 0x7e02);
    std::string body = vector_ndjson_body(b.events);
    REQUIRE(body.back() == '}');

    auto res = f.send(
        {"POST", "/ingest", vector_headers("application/x-ndjson"), body});
    require_counts(res, f, 21, 21, 0);
    require_stored(f, b.rows);
}

TEST_CASE("Vector text codec: JSON lines load as events, other lines as "
          "text_line events")
{
    sink_fixture f;
    // The text (and raw_message) codec sends each event's `message`
    // bytes and a newline: KoreShield's JSON lines, a uvicorn access
    // line and a console-renderer line from the same stdout.
    auto lines = koreshield_lines(50, 7, 0x7e03);
    std::vector<std::string> messages;
    std::vector<want_row> rows;
    for (const auto& line : lines) {
        messages.push_back(line.text);
        rows.push_back(line.row);
    }
    const std::string access = access_line(3);
    const std::string console = console_line(4, 0x7e03);
    messages.insert(messages.begin() + 2, access);
    messages.insert(messages.begin() + 5, console);
    std::string body = vector_text_body(messages);
    REQUIRE(body.back() == '\n');

    double before = now_seconds();
    auto res = f.send({"POST", "/ingest", vector_headers("text/plain"), body});
    double after = now_seconds();
    require_counts(res, f, 9, 9, 0, 2);
    require_stored(f, rows);

    for (const std::string& text : {access, console}) {
        INFO("text line: " << text);
        auto found = rows_with_message(f.db, "message", text);
        REQUIRE(found.size() == 1);
        CHECK(found[0].event_type == "text_line");
        CHECK(found[0].severity == "info");
        CHECK_FALSE(found[0].blocked);
        CHECK_FALSE(found[0].request_id.has_value());
        CHECK(same_jsonb(f.db, found[0].metadata,
                         "{\"message\":" + ks::test::json_quote(text) +
                             ",\"_event_time_source\":\"received\"}"));
        // The receipt time, not the time written inside the line.
        CHECK(found[0].epoch >= before - 1);
        CHECK(found[0].epoch <= after + 1);
    }
    CHECK(f.count("koreshield_events") == "9");
}

TEST_CASE("Vector encoding.json.pretty: events over several lines, in an "
          "array and newline_delimited")
{
    sink_fixture f;
    // Parsed lines (KoreShield's keys at the top level, nested objects
    // included), so that every event spans many lines.
    std::vector<want_row> all;
    for (bool ndjson : {false, true}) {
        std::vector<std::string> events;
        for (const auto& line : koreshield_lines(ndjson ? 80 : 70, 7, 0x7e08)) {
            std::string e =
                vector_encode(vector_parsed_record(
                                  line, vector_timestamp(line.us * 1000,
                                                         vector_time::rfc3339)),
                              true);
            all.push_back(parsed_row(line, e, line.us));
            events.push_back(std::move(e));
        }
        REQUIRE(events[2].find("\n    \"indicators\": [\n      {\n") !=
                std::string::npos);
        std::string body =
            ndjson ? vector_ndjson_body(events) : vector_json_body(events);
        INFO((ndjson ? "newline_delimited" : "array"));
        auto res = f.send({"POST", "/ingest",
                           vector_headers(ndjson ? "application/x-ndjson"
                                                 : "application/json"),
                           body});
        require_counts(res, f, 7, 7, 0);
    }
    require_stored(f, all);
}

// A text line that starts with '[' is one record, not several.
TEST_CASE("Vector text codec: a gunicorn line among JSON lines is one "
          "record, kept whole")
{
    sink_fixture f;
    // gunicorn's own lines share KoreShield's stdout in its Docker
    // image and start with "[<time>] [<pid>] [<level>]".
    auto lines = koreshield_lines(60, 4, 0x7e07);
    const std::string gunicorn = gunicorn_line(8);
    std::vector<std::string> messages;
    std::vector<want_row> rows;
    for (const auto& line : lines) {
        messages.push_back(line.text);
        rows.push_back(line.row);
    }
    messages.insert(messages.begin() + 2, gunicorn);

    auto res = f.send({"POST", "/ingest", vector_headers("text/plain"),
                       vector_text_body(messages)});
    ks::test::require_status(res, 200, f.sink);
    INFO("response body: " << res.body);
    INFO("sink stderr (tail):\n" << log_tail(f));
    CHECK(ks::test::json_number(res.body, "received") == 5);
    CHECK(times_kept_whole(f.db, gunicorn) == 1);
    require_stored(f, rows);
}

TEST_CASE("Vector compression: gzip, zstd, zlib and snappy bodies of both "
          "shapes load")
{
    sink_fixture f;
    struct coding {
        const char* header; // Content-Encoding Vector sends
        std::string (*code)(std::string_view);
    };
    const coding codings[] = {
        {"gzip", [](std::string_view s) { return gzip_member(s); }},
        {"zstd", [](std::string_view s) { return zstd_streamed(s); }},
        // compression = "zlib": RFC 1950, labelled deflate.
        {"deflate", [](std::string_view s) { return zlib_stream(s); }},
        // A raw snappy block, not the framing format.
        {"snappy", [](std::string_view s) { return snappy_block(s); }},
    };

    std::vector<want_row> all;
    std::size_t first = 100;
    for (const coding& c : codings) {
        for (bool ndjson : {false, true}) {
            auto b = file_records(first, 6, 0x7e04);
            first += 6;
            std::string plain = ndjson ? vector_ndjson_body(b.events)
                                       : vector_json_body(b.events);
            std::string body = c.code(plain);
            if (std::string_view(c.header) == "zstd")
                REQUIRE_FALSE(zstd_has_content_size(body));

            INFO(c.header << (ndjson ? " NDJSON" : " array"));
            auto res = f.send({"POST", "/ingest",
                               vector_headers(ndjson ? "application/x-ndjson"
                                                     : "application/json",
                                              c.header),
                               body});
            require_counts(res, f, 6, 6, 0);
            all.insert(all.end(), b.rows.begin(), b.rows.end());
        }
    }
    require_stored(f, all);
    CHECK(f.count("koreshield_dead_letters") == "0");
}

TEST_CASE("Vector timestamps: RFC 3339 with 0, 3, 6 and 9 fractional "
          "digits and Z, nanoseconds rounded half to even")
{
    sink_fixture f;
    // Parsed lines whose `timestamp` is a Vector timestamp value: Vector
    // writes as few of 0, 3, 6 or 9 digits as hold it exactly.
    const std::int64_t s = unix_us(2026, 3, 27, 9, 25, 40) * 1000;
    struct instant {
        std::int64_t ns;
        const char* text; // what Vector writes
        std::int64_t us;  // what must be stored
    };
    const std::int64_t us0 = s / 1000;
    const instant instants[] = {
        {s, "2026-03-27T09:25:40Z", us0},
        {s + 123'000'000, "2026-03-27T09:25:40.123Z", us0 + 123'000},
        {s + 123'456'000, "2026-03-27T09:25:40.123456Z", us0 + 123'456},
        {s + 123'456'789, "2026-03-27T09:25:40.123456789Z", us0 + 123'457},
        // Ties go to the even microsecond.
        {s + 1'500, "2026-03-27T09:25:40.000001500Z", us0 + 2},
        {s + 2'500, "2026-03-27T09:25:40.000002500Z", us0 + 2},
        // Rounding carries into the next second.
        {s + 999'999'500, "2026-03-27T09:25:40.999999500Z", us0 + 1'000'000},
    };

    auto lines = koreshield_lines(200, std::size(instants), 0x7e05);
    std::vector<std::string> events;
    std::vector<want_row> rows;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const instant& t = instants[i];
        REQUIRE(vector_rfc3339(t.ns) == t.text);
        std::string e = vector_encode(vector_parsed_record(
            lines[i], vector_timestamp(t.ns, vector_time::rfc3339)));
        rows.push_back(parsed_row(lines[i], e, t.us));
        events.push_back(std::move(e));
    }

    auto res = f.send({"POST", "/ingest", vector_headers("application/json"),
                       vector_json_body(events)});
    require_counts(res, f, 7, 7, 0);
    require_stored(f, rows);
}

TEST_CASE("Vector timestamp_format: unix, unix_ms, unix_us and unix_ns "
          "integers and unix_float load at their precision")
{
    sink_fixture f;
    const std::pair<vector_time, const char*> formats[] = {
        {vector_time::unix, "unix"},
        {vector_time::unix_ms, "unix_ms"},
        {vector_time::unix_us, "unix_us"},
        {vector_time::unix_ns, "unix_ns"},
        {vector_time::unix_float, "unix_float"},
    };

    std::vector<want_row> all;
    std::size_t first = 300;
    for (const auto& [format, name] : formats) {
        // One body per format: it is a setting of the sink, not of the
        // event. Nanoseconds with ties where integers carry them; µs
        // instants for floats, whose doubles hold µs but not ns.
        auto lines = koreshield_lines(first, 7, 0x7e06);
        first += 7;
        std::vector<std::string> events;
        for (std::size_t i = 0; i < lines.size(); ++i) {
            std::int64_t ns = lines[i].us * 1000;
            if (format != vector_time::unix_float) ns += i % 2 == 0 ? 500 : 789;
            json_value stamp = vector_timestamp(ns, format);
            CHECK(stamp.type() == json_value::kind::literal);
            std::string e =
                vector_encode(vector_parsed_record(lines[i], stamp));
            all.push_back(parsed_row(lines[i], e, vector_time_us(ns, format)));
            events.push_back(std::move(e));
        }
        INFO("timestamp_format " << name << ": " << events[1]);
        auto res = f.send({"POST", "/ingest",
                           vector_headers("application/x-ndjson", "zstd"),
                           zstd_streamed(vector_ndjson_body(events))});
        require_counts(res, f, 7, 7, 0);
    }
    require_stored(f, all);
}
