// syslog-ng 3.38's `http()` destination (wire-formats.md, section 4)
// against the real sink: batched NDJSON (delimiter "\n", nothing after
// the last message), the admin guide's JSON array recipe, unbatched
// bare $MESSAGE bodies with the X-Syslog-* headers, libcurl's default
// form-urlencoded Content-Type, ${ISODATE} times with offsets, and
// gunicorn's text lines, which start with '[' like a JSON array.

#include "shipper_bodies.hpp"

using namespace ks::conf;
using ks::test::to_hex;

namespace {

const syslog_origin koreshield_origin{"gw-eu-1", "koreshield", "user",
                                      "notice"};

/// Lines rendered by `$(format-json host=${HOST} message=${MESSAGE}
/// program=${PROGRAM} timestamp=${ISODATE})`, the sender at +02:00,
/// and their rows: the line is unwrapped and its own time wins.
struct sng_batch {
    std::vector<std::string> messages;
    std::vector<want_row> rows;
};

sng_batch format_json_records(std::size_t first, std::size_t count,
                              std::uint32_t salt)
{
    sng_batch b;
    for (const auto& line : koreshield_lines(first, count, salt)) {
        std::string m =
            syslog_ng_format_json("gw-eu-1", line.text, "koreshield",
                                  syslog_ng_isodate(line.us + 400'000, 120));
        b.rows.push_back(wrapped_row(line, m, "message"));
        b.messages.push_back(std::move(m));
    }
    return b;
}

} // namespace

TEST_CASE("syslog-ng batched NDJSON: lines joined by \\n, none after the "
          "last, Content-Type form-urlencoded")
{
    sink_fixture f;
    // body("$MSG") with flags(no-parse): the lines exactly as written,
    // a uvicorn access line among them.
    auto lines = koreshield_lines(0, 10, 0x5101);
    std::vector<std::string> messages;
    std::vector<want_row> rows;
    for (const auto& line : lines) {
        messages.push_back(line.text);
        rows.push_back(line.row);
    }
    const std::string access = access_line(17);
    messages.insert(messages.begin() + 4, access);
    std::string body = syslog_ng_batch("", "\n", "", messages);
    REQUIRE(body.back() == '}');

    auto res = f.send({"POST", "/ingest",
                       syslog_ng_headers(std::nullopt, std::nullopt), body});
    require_counts(res, f, 11, 11, 0, 1);

    // format-json records, the line a string in `message`.
    auto b = format_json_records(10, 10, 0x5101);
    body = syslog_ng_batch("", "\n", "", b.messages);
    REQUIRE(body.back() == '}');
    res = f.send({"POST", "/ingest",
                  syslog_ng_headers(std::nullopt, std::nullopt), body});
    require_counts(res, f, 10, 10, 0);

    rows.insert(rows.end(), b.rows.begin(), b.rows.end());
    require_stored(f, rows);
    auto found = rows_with_message(f.db, "message", access);
    REQUIRE(found.size() == 1);
    CHECK(found[0].event_type == "text_line");
}

TEST_CASE("syslog-ng JSON array: body-prefix(\"[\"), delimiter(\",\"), "
          "body-suffix(\"]\")")
{
    sink_fixture f;
    // The admin guide's recipe sets Content-Type itself; without that
    // headers() line libcurl labels the same array form-urlencoded.
    auto a = format_json_records(0, 12, 0x5102);
    std::string body = syslog_ng_batch("[", ",", "]", a.messages);
    REQUIRE(body.find('\n') == std::string::npos);
    auto res =
        f.send({"POST", "/ingest",
                syslog_ng_headers("application/json", std::nullopt), body});
    require_counts(res, f, 12, 12, 0);

    auto b = format_json_records(12, 12, 0x5102);
    res = f.send({"POST", "/ingest",
                  syslog_ng_headers(std::nullopt, std::nullopt),
                  syslog_ng_batch("[", ",", "]", b.messages)});
    require_counts(res, f, 12, 12, 0);

    auto all = a.rows;
    all.insert(all.end(), b.rows.begin(), b.rows.end());
    require_stored(f, all);
}

TEST_CASE("syslog-ng ${ISODATE}: offsets without fraction time records "
          "whose message is not JSON")
{
    sink_fixture f;
    // KoreShield's default output is console text, not JSON: the
    // format-json record around it is then a text_line event, and
    // ${ISODATE}, the sender's local time, is its time.
    const int offsets[] = {120, -300, 330, 0, -210, 840, -720, 765};
    const std::int64_t base = unix_us(2026, 3, 30, 14, 2, 11);
    std::vector<std::string> messages;
    struct want {
        std::string line, record, isodate;
        std::int64_t us;
    };
    std::vector<want> wants;
    for (std::size_t i = 0; i < std::size(offsets); ++i) {
        std::int64_t us = base + static_cast<std::int64_t>(i) * 61'000'000;
        std::string line = console_line(i, 0x5103);
        std::string isodate = syslog_ng_isodate(us, offsets[i]);
        std::string record =
            syslog_ng_format_json("gw-eu-1", line, "koreshield", isodate);
        messages.push_back(record);
        wants.push_back({line, record, isodate, us});
    }
    CHECK(wants[0].isodate == "2026-03-30T16:02:11+02:00");
    CHECK(wants[1].isodate == "2026-03-30T09:03:12-05:00");
    CHECK(wants[2].isodate == "2026-03-30T19:34:13+05:30");

    auto res = f.send({"POST", "/ingest",
                       syslog_ng_headers(std::nullopt, std::nullopt),
                       syslog_ng_batch("", "\n", "", messages)});
    require_counts(res, f, 8, 8, 0, 8);

    for (const want& w : wants) {
        INFO("timestamp " << w.isodate);
        auto found = rows_with_message(f.db, "message", w.line);
        REQUIRE(found.size() == 1);
        CHECK(found[0].event_time == utc_text(w.us));
        CHECK(found[0].event_type == "text_line");
        CHECK(found[0].severity == "info");
        CHECK_FALSE(found[0].blocked);
        CHECK(same_jsonb(f.db, found[0].metadata, w.record));
    }
}

TEST_CASE("syslog-ng unbatched: one bare $MESSAGE per request, with the "
          "X-Syslog-* headers")
{
    sink_fixture f;
    // batch-lines(0) and no body(): the message text alone, not JSON
    // unless the line itself is.
    auto headers = syslog_ng_headers(std::nullopt, koreshield_origin);
    const std::string console = console_line(3, 0x5104);
    const std::string access = access_line(4);
    auto line = koreshield_line(6, 0x5104);

    double before = now_seconds();
    auto res = f.send({"POST", "/ingest", headers, console});
    require_counts(res, f, 1, 1, 0, 1);
    res = f.send({"POST", "/ingest", headers, access});
    require_counts(res, f, 1, 1, 0, 1);
    double after = now_seconds();
    res = f.send({"POST", "/ingest", headers, line.text});
    require_counts(res, f, 1, 1, 0);

    require_stored(f, {line.row});
    for (const std::string& text : {console, access}) {
        INFO("message: " << text);
        auto found = rows_with_message(f.db, "message", text);
        REQUIRE(found.size() == 1);
        CHECK(found[0].event_type == "text_line");
        CHECK(found[0].severity == "info");
        CHECK(found[0].epoch >= before - 1);
        CHECK(found[0].epoch <= after + 1);
    }
}

// A body or line that starts with '[' is not always a JSON array: log
// lines such as gunicorn's open with a bracketed date.
TEST_CASE("syslog-ng unbatched: a gunicorn line, text that starts with "
          "'[', is one record kept whole")
{
    sink_fixture f;
    // README: a line that is not JSON is a text_line event; one that
    // starts like JSON and does not parse is a malformed_json dead
    // letter with its bytes. Either way: one record, the line whole.
    const std::string gunicorn = gunicorn_line(7);
    auto res =
        f.send({"POST", "/ingest",
                syslog_ng_headers(std::nullopt, koreshield_origin), gunicorn});
    ks::test::require_status(res, 200, f.sink);
    INFO("response body: " << res.body);
    INFO("sink stderr (tail):\n" << log_tail(f));
    CHECK(ks::test::json_number(res.body, "received") == 1);
    CHECK(times_kept_whole(f.db, gunicorn) == 1);
    CHECK(f.db.scalar("SELECT count(*) FROM koreshield_events WHERE "
                      "event_type = 'text_line'") ==
          f.db.scalar("SELECT count(*) FROM koreshield_events"));
}

// As above, and the KoreShield lines after it must not end up inside a
// dead letter.
TEST_CASE("syslog-ng batched NDJSON whose first message is a gunicorn "
          "line: the JSON lines after it load")
{
    sink_fixture f;
    // body("$MSG"), lines as written: a batch can start with any line
    // of the stream, here gunicorn's, and the body then with '['.
    auto lines = koreshield_lines(40, 6, 0x5105);
    const std::string gunicorn = gunicorn_line(9);
    std::vector<std::string> messages{gunicorn};
    std::vector<want_row> rows;
    for (const auto& line : lines) {
        messages.push_back(line.text);
        rows.push_back(line.row);
    }
    auto res = f.send({"POST", "/ingest",
                       syslog_ng_headers(std::nullopt, std::nullopt),
                       syslog_ng_batch("", "\n", "", messages)});
    ks::test::require_status(res, 200, f.sink);
    INFO("response body: " << res.body);
    INFO("sink stderr (tail):\n" << log_tail(f));
    CHECK(ks::test::json_number(res.body, "received") == 7);
    CHECK(times_kept_whole(f.db, gunicorn) == 1);
    require_stored(f, rows);
}
