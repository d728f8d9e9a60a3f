// How records of each shape are turned into rows or refused, how wrapped
// events are found, and what metadata carries besides the event.
#include "mapper_support.hpp"

#include "core/padded_buffer.hpp"

#include <catch2/catch.hpp>

#include <string>

using ks::reason;
using ks::frame::shape;
using ks::map::test::harness;
using ks::map::test::outcome;

namespace {

constexpr std::int64_t t0 = 824'635'304'000'000; // 2026-02-17T09:21:44Z

} // namespace

TEST_CASE("records that are not objects are refused", "[mapper][records]")
{
    const struct {
        const char* name;
        const char* record;
        shape kind;
        reason why;
    } cases[] = {
        {"an array", R"([{"event":"x"}])", shape::array, reason::not_object},
        {"a number", "42", shape::scalar, reason::not_object},
        {"true", "true", shape::scalar, reason::not_object},
        {"null", "null", shape::scalar, reason::not_object},
        {"a plain string", R"("hello")", shape::string, reason::not_object},
        {"a string holding an array", R"("[1,2]")", shape::string,
         reason::not_object},
        {"a string holding a broken object", R"("{\"event\":")", shape::string,
         reason::not_object},
        {"a text line", "GET /health 200", shape::text, reason::not_json},
        {"a text line that looks like JSON", "{\"a\":1}", shape::text,
         reason::not_json},
        {"a broken array", "[1,", shape::array, reason::malformed_json},
        {"a word cut from a literal is text", "tru", shape::scalar,
         reason::not_json},
        {"a broken object", R"({"event":"x",})", shape::object,
         reason::malformed_json},
        {"a bad escape in an array", R"(["\u0000"])", shape::array,
         reason::nul_character},
        {"a string with a lone surrogate", R"("\udead")", shape::string,
         reason::nul_character},
    };
    // Text lines are refused only when they are not kept as events.
    ks::map::mapping_options options;
    options.text_lines_as_events = false;
    harness h(options);
    for (const auto& c : cases) {
        SECTION(c.name)
        {
            outcome o = h.run(c.record, c.kind);
            CHECK_FALSE(o.ok);
            CHECK(o.why == c.why);
            CHECK_FALSE(o.message.empty());
        }
    }
}

TEST_CASE("validation failures name the reason and the byte",
          "[mapper][records]")
{
    harness h;
    outcome o = h.run("{\"event\":\"x\",\"p\":\"\\u0000\"}");
    REQUIRE_FALSE(o.ok);
    CHECK(o.why == reason::nul_character);
    CHECK(o.message == "\\u0000 in a string at byte 18");

    outcome utf8 = h.run("{\"event\":\"\xC3\x28\"}");
    CHECK(utf8.why == reason::invalid_utf8);
    CHECK(utf8.message == "bytes that are not UTF-8 at byte 10");

    outcome deep =
        h.run(std::string(65, '[') + std::string(65, ']'), shape::array);
    CHECK(deep.why == reason::too_deep);
}

TEST_CASE("records over the size limit are refused unread", "[mapper][records]")
{
    harness h(ks::map::mapping_options{.max_event_bytes = 16});
    CHECK(h.run(R"({"event":"x"})").ok);
    outcome o = h.run(R"({"event":"x","a":1})");
    CHECK_FALSE(o.ok);
    CHECK(o.why == reason::too_large);

    // Too large wins even over text that is not JSON at all.
    CHECK(h.run("a text line longer than sixteen bytes", shape::text).why ==
          reason::too_large);
}

TEST_CASE("a bare JSON string holding an object is the event",
          "[mapper][records]")
{
    harness h;
    outcome o = h.run(
        R"(" {\"event\":\"request_received\",)"
        R"(\"timestamp\":\"2026-02-17T09:21:44Z\",\"note\":\"a\\\"b\"} ")",
        shape::string);
    REQUIRE(o.ok);
    CHECK(o.event_type == "request_received");
    CHECK(o.event_time == t0);
    CHECK(o.metadata ==
          R"({"event":"request_received","timestamp":"2026-02-17T09:21:44Z",)"
          R"("note":"a\"b"})");

    harness off(ks::map::mapping_options{.unwrap_message = false});
    CHECK(off.run(R"("{\"event\":\"x\"}")", shape::string).why ==
          reason::not_object);
}

TEST_CASE("an event held in message, log or MESSAGE is unwrapped",
          "[mapper][records]")
{
    harness h;

    SECTION("message first, with the envelope's other keys kept")
    {
        outcome o = h.run(R"({"message":"{\"event\":\"e\"}","host":"h",)"
                          R"("timestamp":"2026-02-17T09:21:44Z"})");
        REQUIRE(o.ok);
        CHECK(o.event_type == "e");
        CHECK(o.event_time == t0);
        CHECK(o.metadata == R"({"event":"e","_envelope":{"host":"h",)"
                            R"("timestamp":"2026-02-17T09:21:44Z"}})");
    }
    SECTION("message in the middle")
    {
        outcome o = h.run(R"({"a":1, "message" : " {\"event\":\"e\"}" , "b":2,)"
                          R"("@timestamp":"2026-02-17T09:21:44Z"})");
        REQUIRE(o.ok);
        CHECK(o.metadata == R"({"event":"e","_envelope":{"a":1 , "b":2,)"
                            R"("@timestamp":"2026-02-17T09:21:44Z"}})");
    }
    SECTION("message alone leaves an empty envelope")
    {
        outcome o = h.run(R"({"message":"{\"event\":\"e\"}"})");
        REQUIRE(o.ok);
        CHECK(o.from_receipt);
        CHECK(
            o.metadata ==
            R"({"event":"e","_envelope":{},"_event_time_source":"received"})");
    }
    SECTION("an empty inner object")
    {
        outcome o = h.run(R"({"message":"{}","date":1771320104})");
        REQUIRE(o.ok);
        CHECK(o.event_type == "unknown");
        CHECK(o.event_time == t0);
        CHECK(o.metadata == R"({"_envelope":{"date":1771320104}})");
    }
    SECTION("log, as Fluent Bit sends it")
    {
        outcome o = h.run(
            R"({"date":1771320104.0,"log":)"
            R"("{\"event\":\"request_received\",\"request_id\":\"r\"}"})");
        REQUIRE(o.ok);
        CHECK(o.event_type == "request_received");
        CHECK(o.request_id == "r");
        CHECK(o.event_time == t0);
        CHECK(o.metadata == R"({"event":"request_received","request_id":"r",)"
                            R"("_envelope":{"date":1771320104.0}})");
    }
    SECTION("MESSAGE when message holds plain text")
    {
        outcome o = h.run(
            R"({"message":"plain text","MESSAGE":"\t{\"event\":\"m\"}\n"})");
        REQUIRE(o.ok);
        CHECK(o.event_type == "m");
        CHECK(o.metadata ==
              R"({"event":"m","_envelope":{"message":"plain text"},)"
              R"("_event_time_source":"received"})");
    }
    SECTION("an inner event with spaces before its closing brace")
    {
        outcome o = h.run(R"({"message":"{ \"event\" : \"s\" }"})");
        REQUIRE(o.ok);
        CHECK(o.metadata == R"({ "event" : "s" ,"_envelope":{},)"
                            R"("_event_time_source":"received"})");
    }
}

TEST_CASE("objects that name their event are not unwrapped",
          "[mapper][records]")
{
    harness h;
    const char* records[] = {
        R"({"event":"outer","message":"{\"event\":\"inner\"}"})",
        R"({"event_type":"outer","log":"{\"event\":\"inner\"}"})",
        R"({"type":"outer","MESSAGE":"{\"event\":\"inner\"}"})",
    };
    for (const char* r : records) {
        INFO(r);
        outcome o = h.run(r);
        REQUIRE(o.ok);
        CHECK(o.event_type == "outer");
        CHECK(o.metadata.find("_envelope") == std::string::npos);
    }

    harness off(ks::map::mapping_options{.unwrap_message = false});
    outcome o = off.run(R"({"message":"{\"event\":\"inner\"}"})");
    REQUIRE(o.ok);
    CHECK(o.event_type == "unknown");
}

TEST_CASE("a message that starts like an object but is none is refused as "
          "the same line sent bare would be",
          "[mapper][records]")
{
    const struct {
        const char* record;
        ks::reason why;
    } cases[] = {
        {R"({"message":"{not json","timestamp":"2026-02-17T09:21:44Z"})",
         ks::reason::malformed_json},
        {R"({"message":"{\"a\":1} trailing",)"
         R"("timestamp":"2026-02-17T09:21:44Z"})",
         ks::reason::malformed_json},
        {R"({"message":"{\"a\":\"\\u0000\"}",)"
         R"("timestamp":"2026-02-17T09:21:44Z"})",
         ks::reason::nul_character},
        {R"({"message":"{\"a\":\"\\ud800\"}",)"
         R"("timestamp":"2026-02-17T09:21:44Z"})",
         ks::reason::nul_character},
        {R"({"log":"{\"a\":tru}","timestamp":"2026-02-17T09:21:44Z"})",
         ks::reason::malformed_json},
    };
    harness h;
    for (const auto& c : cases) {
        INFO(c.record);
        outcome o = h.run(c.record);
        REQUIRE_FALSE(o.ok);
        CHECK(o.why == c.why);
        CHECK(o.message.find("in the shipper's message") != std::string::npos);
    }

    // Text that does not start like an object stays a text line.
    outcome text = h.run(
        R"({"message":"not { json","timestamp":"2026-02-17T09:21:44Z"})");
    REQUIRE(text.ok);
    CHECK(text.event_type == "text_line");
}

TEST_CASE("without any timestamp field the receipt time is used and marked",
          "[mapper][records]")
{
    harness h;
    const struct {
        const char* record;
        const char* metadata;
    } cases[] = {
        {R"({"event":"x"})",
         R"({"event":"x","_event_time_source":"received"})"},
        {R"({})", R"({"_event_time_source":"received"})"},
        {"{ }", R"({ "_event_time_source":"received"})"},
        {R"({"timestamp":null,"data":{"timestamp":[]}})",
         R"({"timestamp":null,"data":{"timestamp":[]},)"
         R"("_event_time_source":"received"})"},
    };
    for (const auto& c : cases) {
        INFO(c.record);
        outcome o = h.run(c.record);
        REQUIRE(o.ok);
        CHECK(o.from_receipt);
        CHECK(o.event_time == harness::receive_time);
        CHECK(o.metadata == c.metadata);
    }
}

TEST_CASE("with reject_missing_time an event without a timestamp field is "
          "refused, one with a timestamp is not",
          "[mapper][records]")
{
    ks::map::mapping_options options;
    options.reject_missing_time = true;
    harness h(options);

    for (const char* record :
         {R"({"event":"x"})", R"({"timestamp":null,"event":"x"})"}) {
        INFO(record);
        outcome o = h.run(record);
        CHECK_FALSE(o.ok);
        CHECK(o.why == ks::reason::missing_timestamp);
        CHECK(o.message.find("no timestamp field") != std::string::npos);
    }
    outcome o = h.run(R"({"event":"x","time":"2026-03-01T10:00:00Z"})");
    CHECK(o.ok);
    CHECK_FALSE(o.from_receipt);
}

TEST_CASE("a timestamp field that does not parse refuses the record",
          "[mapper][records]")
{
    const struct {
        const char* record;
        reason why;
        const char* message;
    } cases[] = {
        {R"({"timestamp":"yesterday","time":"2026-02-17T09:21:44Z"})",
         reason::bad_timestamp,
         R"(field timestamp holds "yesterday", which is not a timestamp)"},
        {R"({"data":{"timestamp":"2026-02-30T00:00:00Z"}})",
         reason::bad_timestamp,
         R"(field data.timestamp holds "2026-02-30T00:00:00Z", which names )"
         R"(no real date or time)"},
        {R"({"message":"{\"event\":\"e\"}","date":1e25})",
         reason::timestamp_out_of_range,
         "field date holds 1e25, outside PostgreSQL's timestamp range"},
        {R"({"created_at":-1e400})", reason::timestamp_out_of_range,
         "field created_at holds -1e400, outside PostgreSQL's timestamp "
         "range"},
        {R"({"time":""})", reason::bad_timestamp,
         R"(field time holds "", which is not a timestamp)"},
    };
    harness h;
    for (const auto& c : cases) {
        INFO(c.record);
        outcome o = h.run(c.record);
        REQUIRE_FALSE(o.ok);
        CHECK(o.why == c.why);
        CHECK(o.message == c.message);
    }
}

TEST_CASE("long timestamp values are cut in messages at a character",
          "[mapper][records]")
{
    // 64 bytes would end inside the second é; the cut keeps the first.
    std::string value(61, 'x');
    value += "\xC3\xA9\xC3\xA9";
    harness h;
    outcome o = h.run("{\"timestamp\":\"" + value + "\"}");
    REQUIRE_FALSE(o.ok);
    CHECK(o.message == "field timestamp holds \"" + std::string(61, 'x') +
                           "\xC3\xA9, which is not a timestamp");
}

TEST_CASE("pretty-printed records keep their layout in metadata",
          "[mapper][records]")
{
    harness h;
    const char* record = "{\n  \"event\": \"x\",\n  \"timestamp\": "
                         "\"2026-02-17T09:21:44Z\"\n}";
    outcome o = h.run(record);
    REQUIRE(o.ok);
    CHECK(o.metadata == record);
    CHECK(o.event_time == t0);
}

TEST_CASE("records mapped in place as slices of one body", "[mapper][records]")
{
    // What the pipeline does: each record is a view into the decoded body,
    // and the next record's bytes serve as the first one's padding.
    ks::padded_buffer body;
    body.append(std::string_view(R"({"event":"a","level":"INFO"})"
                                 "\n"
                                 R"({"message":"{\"event\":\"b\"}"})"));
    ks::map::mapper m;
    ks::map::row r;
    ks::map::rejection why;

    REQUIRE(m.map(body.view().substr(0, 28), shape::object, 5, r, why));
    CHECK(r.event_type == "a");
    CHECK(r.severity == "info");
    CHECK(r.metadata[0].data() == body.data());

    REQUIRE(m.map(body.view().substr(29), shape::object, 5, r, why));
    CHECK(r.event_type == "b");
    CHECK(r.event_time == 5);
    CHECK(r.metadata_pieces == 6);
}

TEST_CASE("a line starting like a literal or number but not JSON is text")
{
    ks::map::mapping_options refuse_text;
    refuse_text.text_lines_as_events = false;
    for (std::string line : {"not json at all", "2026-12-04 INFO started",
                             "-- separator --", "true story"}) {
        INFO(line);
        ks::padded_buffer buf;
        buf.append(line);
        ks::map::row r;
        ks::map::rejection why;

        ks::map::mapper keeps;
        REQUIRE(keeps.map(buf.view(), ks::frame::shape::scalar, 0, r, why));
        CHECK(r.text_line);

        ks::map::mapper refuses(refuse_text);
        REQUIRE_FALSE(
            refuses.map(buf.view(), ks::frame::shape::scalar, 0, r, why));
        REQUIRE(why.why == ks::reason::not_json);
    }
}

TEST_CASE("a text line becomes a text_line event with the line in "
          "metadata.message; one PostgreSQL cannot store is refused",
          "[mapper][records]")
{
    harness h;
    outcome o = h.run("127.0.0.1 - \"GET /health\" 200 \\ \t\x01 é",
                      shape::text);
    REQUIRE(o.ok);
    CHECK(o.event_type == "text_line");
    CHECK(o.severity == "info");
    CHECK(o.from_receipt);
    CHECK(o.event_time == harness::receive_time);
    CHECK_FALSE(o.blocked);
    CHECK_FALSE(o.provider.has_value());
    CHECK_FALSE(o.taxonomy.has_value());
    CHECK(o.metadata ==
          R"({"message":"127.0.0.1 - \"GET /health\" 200 \\ \t\u0001 é",)"
          R"("_event_time_source":"received"})");

    outcome bad = h.run("caf\xe9 latin-1", shape::text);
    CHECK_FALSE(bad.ok);
    CHECK(bad.why == ks::reason::invalid_utf8);
    outcome nul = h.run(std::string("a\0b", 3), shape::text);
    CHECK_FALSE(nul.ok);
    CHECK(nul.why == ks::reason::nul_character);
}

TEST_CASE("redacted fields keep their key, their value becomes "
          "\"[redacted]\"",
          "[mapper][records]")
{
    ks::map::mapping_options options;
    options.rules.redact = {"sanitization", "sanitization.normalized",
                            "detection.normalized_prompt", "excerpt",
                            "absent.field"};
    harness h(options);

    // Objects, strings and numbers alike; a field inside one already
    // masked needs nothing more.
    outcome o = h.run(
        R"({"event":"scan","time":1767261600,"sanitization":{"normalized":)"
        R"("ignore all previous","sanitized":"x"},"detection":{"is_attack":)"
        R"(true,"normalized_prompt":"tell me"},"excerpt":42})");
    REQUIRE(o.ok);
    CHECK(o.metadata ==
          R"({"event":"scan","time":1767261600,"sanitization":"[redacted]",)"
          R"("detection":{"is_attack":true,"normalized_prompt":"[redacted]"},)"
          R"("excerpt":"[redacted]"})");

    // In an event unwrapped from a shipper's message, with the receipt
    // marker added.
    outcome wrapped = h.run(
        R"({"host":"h1","message":"{\"event\":\"chat\",\"excerpt\":\"my )"
        R"(card 4111\"}"})");
    REQUIRE(wrapped.ok);
    CHECK(wrapped.metadata ==
          R"({"event":"chat","excerpt":"[redacted]","_envelope":)"
          R"({"host":"h1"},"_event_time_source":"received"})");
}

TEST_CASE("a shipper's record around a line that is not JSON is a text "
          "line too",
          "[mapper][records]")
{
    harness h;

    // Fluent Bit's tail: the line in `log`, the time in `date`.
    outcome fb = h.run(R"({"date":1767261600.5,"log":"INFO: started"})");
    REQUIRE(fb.ok);
    CHECK(fb.event_type == "text_line");
    CHECK_FALSE(fb.from_receipt);
    CHECK(fb.metadata == R"({"date":1767261600.5,"log":"INFO: started"})");

    // Vector's file source.
    outcome v = h.run(R"({"file":"/var/log/k.log","message":"Traceback:",)"
                      R"("timestamp":"2026-03-01T10:00:00Z"})");
    REQUIRE(v.ok);
    CHECK(v.event_type == "text_line");

    // A record that names its event is an event, whatever its message.
    outcome named = h.run(R"({"event":"scan","message":"plain words"})");
    REQUIRE(named.ok);
    CHECK(named.event_type == "scan");

    ks::map::mapping_options refuse_text;
    refuse_text.text_lines_as_events = false;
    harness strict(refuse_text);
    outcome refused = strict.run(R"({"date":1767261600.5,"log":"INFO"})");
    CHECK_FALSE(refused.ok);
    CHECK(refused.why == ks::reason::not_json);
}
