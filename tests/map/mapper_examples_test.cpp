// The examples of event-mapping.md §10, kept verbatim (pretty-printed as
// the document shows them) in tests/map/examples, and the rows its table
// expects.
#include "mapper_support.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

using ks::map::test::harness;
using ks::map::test::outcome;

namespace {

// One example record, without the file's final newline, as framed.
std::string example(const char* name)
{
    std::ifstream in(std::string(KS_MAP_EXAMPLES) + "/" + name + ".json");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    std::string record = text.str();
    while (!record.empty() && record.back() == '\n')
        record.pop_back();
    return record;
}

// Example B's message, unescaped: the event Vector carried.
constexpr std::string_view example_b_inner =
    R"({"request_id":"0f6c2b9e-3d41-4e8a-b7c5-91a2d4e6f813",)"
    R"("reason":"High severity policy violations detected: 1",)"
    R"("event":"request_blocked","logger":"koreshield.logger",)"
    R"("level":"warning","timestamp":"2026-02-17T09:21:44.108790Z"})";

} // namespace

TEST_CASE("example A: a chat block line maps to the documented row",
          "[mapper][examples]")
{
    harness h;
    std::string record = example("a");
    outcome o = h.run(record);
    REQUIRE(o.ok);
    CHECK(o.event_time == 824'635'304'108'233); // 2026-02-17 09:21:44.108233
    CHECK_FALSE(o.from_receipt);
    CHECK(o.event_type == "attack_detected");
    CHECK(o.severity == "high"); // policy.risk_class
    CHECK_FALSE(o.provider);
    CHECK_FALSE(o.model);
    CHECK(o.request_id == "0f6c2b9e-3d41-4e8a-b7c5-91a2d4e6f813");
    CHECK_FALSE(o.blocked);
    CHECK(o.taxonomy ==
          R"({"type":"prompt_injection","confidence":0.91,)"
          R"("indicators":[{"type":"role_hijack","severity":"high"},)"
          R"({"type":"keyword_match","severity":"medium"}],)"
          R"("detector_type":"direct_injection"})");
    CHECK(o.metadata == record);
}

TEST_CASE("example B: Vector's wrapped line maps to the inner event",
          "[mapper][examples]")
{
    harness h;
    std::string record = example("b");
    outcome o = h.run(record);
    REQUIRE(o.ok);
    CHECK(o.event_time == 824'635'304'108'790); // inner, not Vector's
    CHECK_FALSE(o.from_receipt);
    CHECK(o.event_type == "request_blocked");
    CHECK(o.severity == "warning"); // level
    CHECK_FALSE(o.provider);
    CHECK_FALSE(o.model);
    CHECK(o.request_id == "0f6c2b9e-3d41-4e8a-b7c5-91a2d4e6f813");
    CHECK(o.blocked); // from the event type
    CHECK_FALSE(o.taxonomy);

    // The inner event, with Vector's fields but the message as _envelope.
    std::string expected(example_b_inner.substr(0, example_b_inner.size() - 1));
    expected += R"(,"_envelope":{"file":"/var/log/koreshield/koreshield.log",)"
                R"("host":"gw-eu-1","source_type":"file",)"
                "\n "
                R"("timestamp":"2026-02-17T09:21:44.305127431Z"}})";
    CHECK(o.metadata == expected);
}

TEST_CASE("example C: a Fluent Bit RAG finding keeps the inner timestamp",
          "[mapper][examples]")
{
    harness h;
    std::string record = example("c");
    outcome o = h.run(record);
    REQUIRE(o.ok);
    CHECK(o.event_time == 827'918'740'100'655); // not `date`
    CHECK(o.event_type == "attack_detected");
    CHECK(o.severity == "high"); // overall_severity
    CHECK_FALSE(o.provider);
    CHECK_FALSE(o.model);
    CHECK(o.request_id == "a3e1c7d2-5b8f-4c0a-9e6d-2f4b8c1a7e39");
    CHECK_FALSE(o.blocked);
    CHECK(o.taxonomy == R"({"type":"indirect_injection","confidence":0.78})");
    CHECK(o.metadata == record);
}

TEST_CASE("example D: an audit entry without a zone is read as UTC",
          "[mapper][examples]")
{
    harness h;
    std::string record = example("d");
    outcome o = h.run(record);
    REQUIRE(o.ok);
    CHECK(o.event_time == 830'188'992'554'019); // 2026-04-22 16:03:12.554019
    CHECK(o.event_type == "request_log");
    CHECK(o.severity == "high"); // derived
    CHECK(o.provider == "koreshield");
    CHECK(o.model == "prompt_scan");
    CHECK(o.request_id == "5e7a1d93-2c4f-4f8b-b061-7d3e9a2c5f18");
    CHECK(o.blocked); // is_blocked
    CHECK(
        o.taxonomy ==
        R"({"type":"direct_injection","confidence":0.88,)"
        R"("indicators":[{"type":"system_prompt_spoof","severity":"high"}]})");
    CHECK(o.metadata == record);

    // Without derivation the severity falls through to "info".
    harness plain(ks::map::mapping_options{.derive_severity = false});
    CHECK(plain.run(record).severity == "info");
}

TEST_CASE("example E: a WebSocket envelope reads its data object",
          "[mapper][examples]")
{
    harness h;
    std::string record = example("e");
    outcome o = h.run(record);
    REQUIRE(o.ok);
    CHECK(o.event_time == 830'189'275'031'442);
    CHECK(o.event_type == "threat_detected");
    CHECK(o.severity == "critical"); // data.severity
    CHECK_FALSE(o.provider);
    CHECK_FALSE(o.model);
    CHECK(o.request_id == "b82d4f17-9e3a-4c65-8d20-5f1a7c3e9b04");
    CHECK(o.blocked); // data.action_taken
    CHECK(o.taxonomy == R"({"type":"direct_injection","confidence":0.93})");
    CHECK(o.metadata == record);
}

TEST_CASE("one mapper maps the examples in any order", "[mapper][examples]")
{
    // Scratch memory is reused; earlier records must leave no trace.
    harness h;
    const std::string order[] = {example("b"), example("a"), example("e"),
                                 example("b"), example("d"), example("c"),
                                 example("a")};
    const char* types[] = {"request_blocked", "attack_detected",
                           "threat_detected", "request_blocked",
                           "request_log",     "attack_detected",
                           "attack_detected"};
    for (std::size_t i = 0; i < std::size(order); ++i) {
        outcome o = h.run(order[i]);
        REQUIRE(o.ok);
        CHECK(o.event_type == types[i]);
    }
}
