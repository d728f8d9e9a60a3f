// Every step of every lookup chain of event-mapping.md §9, one record per
// step, each holding the step's field plus the later ones it must beat.
#include "mapper_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using ks::map::test::harness;
using ks::map::test::outcome;

namespace {

constexpr std::int64_t t0 = 824'635'304'000'000; // 2026-02-17T09:21:44Z
constexpr const char* ts = "\"2026-02-17T09:21:44Z\"";
constexpr const char* other_ts = "\"2020-01-01T00:00:00Z\"";

struct column_case {
    const char* name;
    std::string record;
    const char* expected;
};

std::string json(std::string body)
{
    return "{" + body + "}";
}

} // namespace

TEST_CASE("event_time takes the first timestamp field in chain order",
          "[mapper][chains]")
{
    std::string later = std::string(R"("data":{"timestamp":)") + other_ts + "}";
    const column_case cases[] = {
        {"timestamp",
         json(R"("timestamp":)" + std::string(ts) + R"(,"time":)" + other_ts),
         ""},
        {"time",
         json(R"("time":)" + std::string(ts) + R"(,"@timestamp":)" + other_ts),
         ""},
        {"@timestamp",
         json(R"("@timestamp":)" + std::string(ts) + R"(,"created_at":)" +
              other_ts),
         ""},
        {"created_at", json(R"("created_at":)" + std::string(ts) + "," + later),
         ""},
        {"data.timestamp",
         json(R"("data":{"timestamp":)" + std::string(ts) + R"(},"date":1)"),
         ""},
        {"date, the envelope field, on an object that is not wrapped",
         json(R"("date":1771320104,"timereported":)" + std::string(other_ts)),
         ""},
        {"timereported on an object that is not wrapped",
         json(R"("timereported":)" + std::string(ts)), ""},
        {"a value of another type is skipped",
         json(R"("timestamp":{"x":1},"time":null,"@timestamp":true,)"
              R"("created_at":)" +
              std::string(ts)),
         ""},
    };
    harness h;
    for (const column_case& c : cases) {
        SECTION(c.name)
        {
            outcome o = h.run(c.record);
            REQUIRE(o.ok);
            CHECK(o.event_time == t0);
            CHECK_FALSE(o.from_receipt);
        }
    }
}

TEST_CASE("event_time reads epochs of every unit", "[mapper][chains]")
{
    const struct {
        const char* record;
        std::int64_t pg_us;
    } cases[] = {
        {R"({"timestamp":1771320104})", t0},
        {R"({"timestamp":1771320104123})", t0 + 123'000},
        {R"({"timestamp":1771320104123456})", t0 + 123'456},
        {R"({"timestamp":1771320104123456789})", t0 + 123'457},
        {R"({"timestamp":1771320104.5})", t0 + 500'000},
        {R"({"timestamp":1.771320104e9})", t0},
        {R"({"timestamp":9223372036854775808})", 8'276'687'236'854'776},
    };
    harness h;
    for (const auto& c : cases) {
        INFO(c.record);
        outcome o = h.run(c.record);
        REQUIRE(o.ok);
        CHECK(o.event_time == c.pg_us);
    }
}

TEST_CASE("event_time falls back to the envelope of a wrapped event",
          "[mapper][chains]")
{
    const std::string inner = R"("{\"level\":\"info\"}")";
    const column_case cases[] = {
        {"timestamp",
         json(R"("timestamp":"2026-02-17T09:21:44Z",)"
              R"("@timestamp":"2020-01-01T00:00:00Z","message":)" +
              inner),
         ""},
        {"@timestamp",
         json(R"("@timestamp":"2026-02-17T09:21:44Z","date":1,"message":)" +
              inner),
         ""},
        {"date",
         json(R"("date":1771320104.0,"timereported":"2020-01-01T00:00:00Z",)"
              R"("log":)" +
              inner),
         ""},
        {"timereported",
         json(R"("timereported":"2026-02-17T09:21:44+00:00","message":)" +
              inner),
         ""},
    };
    harness h;
    for (const column_case& c : cases) {
        SECTION(c.name)
        {
            outcome o = h.run(c.record);
            REQUIRE(o.ok);
            CHECK(o.event_time == t0);
            CHECK(o.metadata.find("_event_time_source") == std::string::npos);
        }
    }
}

TEST_CASE("the wrapped event's own time beats every envelope field",
          "[mapper][chains]")
{
    harness h;
    outcome o = h.run(R"({"timestamp":"2020-01-01T00:00:00Z",)"
                      R"("message":"{\"time\":\"2026-02-17T09:21:44Z\"}"})");
    REQUIRE(o.ok);
    CHECK(o.event_time == t0);
}

TEST_CASE("event_type takes the first string in chain order",
          "[mapper][chains]")
{
    const column_case cases[] = {
        {"event", R"({"event":"a","event_type":"b","type":"c"})", "a"},
        {"event_type", R"({"event_type":"b","type":"c"})", "b"},
        {"type", R"({"type":"c","alert_name":"d"})", "c"},
        {"alert_name", R"({"alert_name":"d","rule_name":"e"})", "d"},
        {"rule_name", R"({"rule_name":"e"})", "e"},
        {"unknown", R"({"level":"info"})", "unknown"},
        {"an object in event is skipped",
         R"({"event":{"kind":"x"},"event_type":"b"})", "b"},
        {"escapes are decoded", R"({"event":"req\u00fcest \"x\""})",
         "req\xC3\xBC"
         "est \"x\""},
    };
    harness h;
    for (const column_case& c : cases) {
        SECTION(c.name)
        {
            outcome o = h.run(c.record);
            REQUIRE(o.ok);
            CHECK(o.event_type == c.expected);
        }
    }
}

TEST_CASE("severity takes the first string in chain order, lower-cased",
          "[mapper][chains]")
{
    const column_case cases[] = {
        {"severity", R"({"severity":"Low","overall_severity":"x","level":"y"})",
         "low"},
        {"overall_severity",
         R"({"overall_severity":"SAFE","attack_details":{"severity":"x"}})",
         "safe"},
        {"attack_details.severity",
         R"({"attack_details":{"severity":"High"},"data":{"severity":"x"}})",
         "high"},
        {"data.severity",
         R"({"data":{"severity":"critical"},"details":{"severity":"x"}})",
         "critical"},
        {"details.severity",
         R"({"details":{"severity":"Warning"},"risk_class":"x"})", "warning"},
        {"risk_class", R"({"risk_class":"medium","policy":{"risk_class":"x"}})",
         "medium"},
        {"policy.risk_class",
         R"({"policy":{"risk_class":"HIGH"},"attack_detected":true})", "high"},
        {"derived", R"({"attack_detected":true,"level":"warning"})", "medium"},
        {"level", R"({"level":"ERROR"})", "error"},
        {"info", R"({"event":"x"})", "info"},
        {"a number in severity is skipped", R"({"severity":3,"level":"debug"})",
         "debug"},
        {"only ASCII letters change case", R"({"severity":"\u00c9LEV\u00c9"})",
         "\xC3\x89"
         "lev"
         "\xC3\x89"},
    };
    harness h;
    for (const column_case& c : cases) {
        SECTION(c.name)
        {
            outcome o = h.run(c.record);
            REQUIRE(o.ok);
            CHECK(o.severity == c.expected);
        }
    }
}

TEST_CASE("derived severity follows KoreShield's rule", "[mapper][chains]")
{
    const column_case cases[] = {
        {"attack_detected alone gives medium", R"({"attack_detected":true})",
         "medium"},
        {"detection.is_attack alone gives medium",
         R"({"detection":{"is_attack":true},"level":"info"})", "medium"},
        {"attack_detected false is no attack",
         R"({"attack_detected":false,"level":"info"})", "info"},
        {"a string attack_detected is no attack",
         R"({"attack_detected":"true","level":"info"})", "info"},
        {"indicators alone mark an attack",
         R"({"indicators":[{"type":"x","severity":"low"}]})", "medium"},
        {"an empty indicator list is no attack",
         R"({"detection":{"indicators":[]},"level":"info"})", "info"},
        {"the worst indicator raises it",
         R"({"detection":{"indicators":[{"severity":"low"},)"
         R"({"severity":"high"},{"severity":"medium"}]}})",
         "high"},
        {"indicator words are read case-blind",
         R"({"attack_details":{"indicators":[{"severity":"CRITICAL"}]}})",
         "critical"},
        {"unknown indicator words change nothing",
         R"({"matched_patterns":["ignore previous",{"severity":"huge"}]})",
         "medium"},
        {"only the first indicator list counts",
         R"({"detection":{"indicators":[{"severity":"low"}]},)"
         R"("indicators":[{"severity":"critical"}]})",
         "medium"},
        {"confidence 0.85 raises to high",
         R"({"attack_detected":true,"confidence":0.85})", "high"},
        {"confidence below 0.85 does not",
         R"({"attack_detected":true,"detection":{"confidence":0.849}})",
         "medium"},
        {"confidence never lowers a critical indicator",
         R"({"detection":{"is_attack":true,"confidence":0.99,)"
         R"("indicators":[{"severity":"critical"}]}})",
         "critical"},
        {"an integer confidence counts",
         R"({"attack_detected":true,)"
         R"("overall_confidence":1})",
         "high"},
    };
    harness h;
    for (const column_case& c : cases) {
        SECTION(c.name)
        {
            outcome o = h.run(c.record);
            REQUIRE(o.ok);
            CHECK(o.severity == c.expected);
        }
    }

    SECTION("derivation can be switched off")
    {
        harness plain(ks::map::mapping_options{.derive_severity = false});
        CHECK(plain.run(R"({"attack_detected":true,"level":"Warning"})")
                  .severity == "warning");
        CHECK(plain.run(R"({"attack_detected":true})").severity == "info");
    }
}

TEST_CASE("provider, model and request_id take strings in chain order",
          "[mapper][chains]")
{
    harness h;
    outcome top = h.run(R"({"provider":"openai","data":{"provider":"x",)"
                        R"("model":"y","request_id":"z"},"model":"gpt-4o",)"
                        R"("request_id":"r1","scan_id":"s"})");
    REQUIRE(top.ok);
    CHECK(top.provider == "openai");
    CHECK(top.model == "gpt-4o");
    CHECK(top.request_id == "r1");

    outcome data = h.run(R"({"data":{"provider":"anthropic","model":"m",)"
                         R"("request_id":"r2"},"details":{"request_id":"x"}})");
    REQUIRE(data.ok);
    CHECK(data.provider == "anthropic");
    CHECK(data.model == "m");
    CHECK(data.request_id == "r2");

    outcome details =
        h.run(R"({"details":{"request_id":"r3"},"scan_id":"s","provider":7})");
    REQUIRE(details.ok);
    CHECK(details.request_id == "r3");
    CHECK_FALSE(details.provider);
    CHECK_FALSE(details.model);

    outcome scan = h.run(R"({"scan_id":"s4","request_id":null})");
    REQUIRE(scan.ok);
    CHECK(scan.request_id == "s4");

    outcome none = h.run(R"({"request_id":12})");
    REQUIRE(none.ok);
    CHECK_FALSE(none.request_id);
}

TEST_CASE("blocked follows its chain and never attack_detected",
          "[mapper][chains]")
{
    const struct {
        const char* name;
        const char* record;
        bool blocked;
    } cases[] = {
        {"blocked false beats later fields",
         R"({"blocked":false,"is_blocked":true,"event":"request_blocked"})",
         false},
        {"blocked true", R"({"blocked":true})", true},
        {"is_blocked", R"({"is_blocked":true,"data":{"blocked":false}})", true},
        {"data.blocked", R"({"data":{"blocked":true}})", true},
        {"a string blocked is skipped", R"({"blocked":"true"})", false},
        {"action_taken blocked", R"({"action_taken":"blocked"})", true},
        {"data.action_taken block", R"({"data":{"action_taken":"block"}})",
         true},
        {"details.action blocked", R"({"details":{"action":"blocked"}})", true},
        {"other actions do not block",
         R"({"action_taken":"allowed","details":{"action":"flagged"}})", false},
        {"action words are case-sensitive", R"({"action_taken":"Blocked"})",
         false},
        {"the request_blocked event", R"({"event":"request_blocked"})", true},
        {"attack_detected does not block",
         R"({"attack_detected":true,"event":"attack_detected"})", false},
        {"default", R"({})", false},
    };
    harness h;
    for (const auto& c : cases) {
        SECTION(c.name)
        {
            outcome o = h.run(c.record);
            REQUIRE(o.ok);
            CHECK(o.blocked == c.blocked);
        }
    }
}

TEST_CASE("taxonomy is the taxonomy object or built key by key",
          "[mapper][chains]")
{
    const struct {
        const char* name;
        const char* record;
        const char* taxonomy; // null for SQL NULL
    } cases[] = {
        {"an object is taken as is",
         R"({"taxonomy":{ "type" : "x" },"attack_type":"y"})",
         R"({ "type" : "x" })"},
        {"a string taxonomy is skipped",
         R"({"taxonomy":"x","attack_type":"y"})", R"({"type":"y"})"},
        {"nothing found gives NULL", R"({"event":"x"})", nullptr},
        {"type from data.attack_type",
         R"({"data":{"attack_type":"a"},"details":{"attack_type":"b"}})",
         R"({"type":"a"})"},
        {"type from details.attack_type",
         R"({"details":{"attack_type":"b"},"threat_type":"c"})",
         R"({"type":"b"})"},
        {"type from threat_type", R"({"threat_type":"c"})", R"({"type":"c"})"},
        {"type keeps its escapes", R"({"attack_type":"a\"b\u00e9"})",
         R"({"type":"a\"b\u00e9"})"},
        {"categories", R"({"attack_categories":["a","b"]})",
         R"({"categories":["a","b"]})"},
        {"confidence from data",
         R"({"data":{"confidence":0.5},"detection":{"confidence":0.6}})",
         R"({"confidence":0.5})"},
        {"confidence from attack_details",
         R"({"attack_details":{"confidence":7},"overall_confidence":0.1})",
         R"({"confidence":7})"},
        {"indicators from attack_details",
         R"({"attack_details":{"indicators":[]},"indicators":[1]})",
         R"({"indicators":[]})"},
        {"indicators from matched_patterns", R"({"matched_patterns":["x"]})",
         R"({"indicators":["x"]})"},
        {"RAG keys at the top level",
         R"({"injection_vectors":["a"],"operational_targets":["b"],)"
         R"("persistence_mechanisms":[],"enterprise_contexts":["c"],)"
         R"("detection_complexity":"high"})",
         R"({"injection_vectors":["a"],"operational_targets":["b"],)"
         R"("persistence_mechanisms":[],"enterprise_contexts":["c"],)"
         R"("detection_complexity":"high"})"},
        {"RAG keys under context_analysis",
         R"({"context_analysis":{"injection_vectors":["a"],)"
         R"("operational_targets":["b"],"persistence_mechanisms":["p"],)"
         R"("enterprise_contexts":["c"],"detection_complexity":"low"}})",
         R"({"injection_vectors":["a"],"operational_targets":["b"],)"
         R"("persistence_mechanisms":["p"],"enterprise_contexts":["c"],)"
         R"("detection_complexity":"low"})"},
        {"the same detector type is not repeated",
         R"({"attack_type":"x","detection":{"attack_type":"x"}})",
         R"({"type":"x"})"},
        {"a detector type without a type",
         R"({"detection":{"attack_type":"suspicious_pattern"}})",
         R"({"detector_type":"suspicious_pattern"})"},
        {"values of other types are skipped",
         R"({"attack_type":null,"confidence":"high","indicators":{}})",
         nullptr},
    };
    harness h;
    for (const auto& c : cases) {
        SECTION(c.name)
        {
            outcome o = h.run(c.record);
            REQUIRE(o.ok);
            if (c.taxonomy == nullptr) {
                CHECK_FALSE(o.taxonomy);
            } else {
                CHECK(o.taxonomy == c.taxonomy);
            }
        }
    }
}

TEST_CASE("a mapping's rules replace the chains, defaults, lower-casing "
          "and blocked words",
          "[mapper][chains]")
{
    ks::map::mapping_options options;
    ks::map::mapping_rules& r = options.rules;
    r.event_type = {{"alert.kind", "event"}, "other", true};
    r.severity = {{"prio"}, "low", false};
    r.level.clear();
    r.provider = {{"vendor"}, "self-hosted", true};
    r.request_id = {{"trace.id"}, std::nullopt, false};
    r.time = {"ts"};
    r.blocked_flags.clear();
    r.blocked_actions = {"verdict"};
    r.blocked_action_values = {"deny"};
    r.blocked_event_types = {"firewall_drop"};
    options.derive_severity = false;
    harness h(options);

    outcome o = h.run(R"({"alert":{"kind":"Prompt_Injection"},"prio":"P1",)"
                      R"("vendor":"OpenAI","trace":{"id":"t-1"},)"
                      R"("ts":"2026-03-01T10:00:00Z","verdict":"deny",)"
                      R"("blocked":false,"severity":"high"})");
    REQUIRE(o.ok);
    CHECK(o.event_type == "prompt_injection");
    CHECK(o.severity == "P1");
    CHECK(o.provider == "openai");
    CHECK(o.request_id == "t-1");
    CHECK(o.blocked);
    CHECK_FALSE(o.from_receipt);

    // Nothing found: the fallbacks, and the configured event types.
    outcome empty = h.run(R"({"ts":1767261600,"event":"FIREWALL_DROP"})");
    REQUIRE(empty.ok);
    CHECK(empty.event_type == "firewall_drop");
    CHECK(empty.severity == "low");
    CHECK(empty.provider == "self-hosted");
    CHECK_FALSE(empty.request_id.has_value());
    CHECK(empty.blocked);

    outcome none = h.run(R"({"ts":1767261600,"timestamp":"bad"})");
    REQUIRE(none.ok);
    CHECK(none.event_type == "other");
    CHECK_FALSE(none.blocked);
}
