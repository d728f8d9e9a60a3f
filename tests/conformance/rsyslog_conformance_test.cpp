// rsyslog 8.2302's `omhttp` (wire-formats.md, section 5) against the
// real sink: StdJSONFmt messages in batch.format `newline` (text/plain,
// nothing after the last message, gzip with compress="on") and
// `jsonarray`, and one object per request with batching off.

#include "shipper_bodies.hpp"

using namespace ks::conf;
using ks::test::gzip_member;

namespace {

/// KoreShield lines read by imfile and rendered with StdJSONFmt, the
/// host at +01:00; every other message starts with a space, as
/// messages received over syslog do.
struct rs_batch {
    std::vector<std::string> messages;
    std::vector<want_row> rows;
};

rs_batch std_json_messages(std::size_t first, std::size_t count,
                           std::uint32_t salt)
{
    rs_batch b;
    for (const auto& line : koreshield_lines(first, count, salt)) {
        std::string msg = (b.messages.size() % 2 == 0 ? " " : "") + line.text;
        std::string m = rsyslog_std_json(msg, "gw-eu-1", "user", "info",
                                         rsyslog_rfc3339(line.us + 50'017, 60),
                                         rsyslog_rfc3339(line.us + 50'212, 60));
        b.rows.push_back(wrapped_row(line, m, "message"));
        b.messages.push_back(std::move(m));
    }
    return b;
}

} // namespace

TEST_CASE("rsyslog omhttp batch.format newline: StdJSONFmt messages as "
          "text/plain, plain and compressed")
{
    sink_fixture f;
    auto a = std_json_messages(0, 10, 0x4501);
    // The line inside `message`, its quotes escaped; every other one
    // after a space, as messages received over syslog start.
    REQUIRE(a.messages[0].rfind("{\"message\":\" {\\\"", 0) == 0);
    REQUIRE(a.messages[1].rfind("{\"message\":\"{\\\"", 0) == 0);

    // A line that is not JSON: the StdJSONFmt object around it is a
    // text_line event, timed by timereported (offset, six digits).
    const std::string access = " " + access_line(21);
    const std::int64_t access_us = unix_us(2026, 3, 27, 9, 26, 3, 871'004);
    const std::string access_msg = rsyslog_std_json(
        access, "gw-eu-1", "user", "info", rsyslog_rfc3339(access_us, 60),
        rsyslog_rfc3339(access_us + 31, 60));
    REQUIRE(access_msg.find("\"timereported\":\"2026-03-27T10:26:03.871004"
                            "+01:00\"") != std::string::npos);
    a.messages.insert(a.messages.begin() + 3, access_msg);

    std::string body = rsyslog_newline(a.messages);
    REQUIRE(body.back() == '}');
    auto res = f.send({"POST", "/ingest",
                       rsyslog_headers(rsyslog_format::newline, false), body});
    require_counts(res, f, 11, 11, 0, 1);

    auto b = std_json_messages(10, 10, 0x4501);
    res = f.send({"POST", "/ingest",
                  rsyslog_headers(rsyslog_format::newline, true),
                  gzip_member(rsyslog_newline(b.messages))});
    require_counts(res, f, 10, 10, 0);

    auto all = a.rows;
    all.insert(all.end(), b.rows.begin(), b.rows.end());
    require_stored(f, all);

    auto found = rows_with_message(f.db, "message", access);
    REQUIRE(found.size() == 1);
    CHECK(found[0].event_time == utc_text(access_us));
    CHECK(found[0].event_type == "text_line");
    CHECK(found[0].severity == "info");
    CHECK_FALSE(found[0].request_id.has_value());
    CHECK(same_jsonb(f.db, found[0].metadata, access_msg));
}

TEST_CASE("rsyslog omhttp batch.format jsonarray: [m1,m2,...]")
{
    sink_fixture f;
    auto a = std_json_messages(30, 14, 0x4502);
    std::string body = rsyslog_jsonarray(a.messages);
    REQUIRE(body.front() == '[');

    auto res =
        f.send({"POST", "/ingest",
                rsyslog_headers(rsyslog_format::jsonarray, false), body});
    require_counts(res, f, 14, 14, 0);
    require_stored(f, a.rows);
}

TEST_CASE("rsyslog omhttp without batching: one StdJSONFmt object per "
          "request")
{
    sink_fixture f;
    auto a = std_json_messages(50, 7, 0x4503);
    for (const auto& m : a.messages) {
        auto res = f.send({"POST", "/ingest",
                           rsyslog_headers(rsyslog_format::single, false), m});
        require_counts(res, f, 1, 1, 0);
    }
    require_stored(f, a.rows);
}
