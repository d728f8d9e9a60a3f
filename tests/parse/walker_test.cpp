#include "core/padded_buffer.hpp"
#include "parse/walker.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>
#include <vector>

using ks::reason;
using ks::parse::json_type;
using ks::parse::number_kind;
using ks::parse::walk_error;
using ks::parse::walker;

namespace {

// A document copied into a padded buffer, as the pipeline hands them over.
struct document {
    explicit document(std::string_view text) { buffer.append(text); }
    std::string_view view() const { return buffer.view(); }
    ks::padded_buffer buffer;
};

// Paths most tests capture, with their slots.
struct watched {
    watched()
    {
        timestamp = paths.add("timestamp");
        data_ts = paths.add("data.timestamp");
        indicators = paths.add("detection.indicators");
        risk = paths.add("policy.risk_class");
        deep = paths.add("a.b.c.d");
        data = paths.add("data");
        count = paths.add("count");
        flag = paths.add("flag");
        nothing = paths.add("nothing");
        big = paths.add("big");
    }
    ks::parse::path_set paths;
    std::size_t timestamp, data_ts, indicators, risk, deep, data, count, flag,
        nothing, big;
};

struct bad_case {
    const char* name;
    std::string json;
    reason why;
};

} // namespace

TEST_CASE("walker refuses what PostgreSQL's jsonb would refuse", "[walker]")
{
    const bad_case cases[] = {
        {"invalid UTF-8 bytes in a string", "{\"a\":\"\xC3\x28\"}",
         reason::invalid_utf8},
        {"invalid UTF-8 bytes in a key", "{\"\xFF\":1}", reason::invalid_utf8},
        {"an escaped NUL in a value", R"({"a":"x\u0000y"})",
         reason::nul_character},
        {"an escaped NUL in a key", R"({"k\u0000":1})", reason::nul_character},
        {"a lone high surrogate", R"({"a":"\ud800"})", reason::nul_character},
        {"a high surrogate before a non-surrogate", R"({"a":"\ud800\u0041"})",
         reason::nul_character},
        {"two high surrogates", R"({"a":"\ud800\ud800"})",
         reason::nul_character},
        {"a lone low surrogate", R"({"a":"x\udc00"})", reason::nul_character},
        {"a lone surrogate in a key", R"({"\udfff":1})", reason::nul_character},
        {"an unknown escape", R"({"a":"\x41"})", reason::malformed_json},
        {"a raw control character", "{\"a\":\"x\x01y\"}",
         reason::control_character},
        {"a truncated literal", R"({"a":tru})", reason::malformed_json},
        {"a literal with a tail", R"({"a":truex})", reason::malformed_json},
        {"a truncated null", R"({"a":nul})", reason::malformed_json},
        {"NaN", R"({"a":NaN})", reason::malformed_json},
        {"a missing comma", R"({"a":1 "b":2})", reason::malformed_json},
        {"a missing colon", R"({"a" 1})", reason::malformed_json},
        {"a trailing comma", R"({"a":1,})", reason::malformed_json},
        {"garbage after the object", "{} x", reason::malformed_json},
        {"a second object", "{} {}", reason::malformed_json},
        {"an extra closing brace", R"({"a":1}})", reason::malformed_json},
        {"an unclosed object", R"({"a":{"b":1})", reason::malformed_json},
        {"an unclosed string", R"({"a":"x)", reason::malformed_json},
        {"a lone minus", R"({"a":-})", reason::malformed_json},
        {"a leading zero", R"({"a":01})", reason::malformed_json},
        {"a point without digits", R"({"a":1.})", reason::malformed_json},
        {"a letter in a number", R"({"a":12x})", reason::malformed_json},
        {"an exponent numeric cannot take", R"({"a":1e1073741823})",
         reason::number_out_of_range},
        {"a scale numeric cannot take", R"({"a":1e-16384})",
         reason::number_out_of_range},
        {"a weight numeric cannot take",
         R"({"a":123456789012345678901234567890e131072})",
         reason::number_out_of_range},
        {"garbage after a root string", R"("abc" x)", reason::malformed_json},
        {"two root numbers", "1 2", reason::malformed_json},
    };

    ks::parse::path_set paths;
    paths.add("a");
    walker w(paths, 64);
    for (const bad_case& c : cases) {
        SECTION(c.name)
        {
            document doc(c.json);
            walk_error e;
            CHECK_FALSE(w.walk(doc.view(), e));
            CHECK(e.why == c.why);
            CHECK(e.offset <= c.json.size());
            CHECK_FALSE(e.detail.empty());
            CHECK_FALSE(w.get(0).present());
        }
    }
}

TEST_CASE("walker places errors at the offending token", "[walker]")
{
    ks::parse::path_set paths;
    walker w(paths, 64);
    walk_error e;

    // Escapes are placed at their backslash, not at the string.
    document surrogate(R"({"a":1,"b":"\ud800"})");
    REQUIRE_FALSE(w.walk(surrogate.view(), e));
    CHECK(e.offset == 12);

    document unknown(R"({"p":"zzzzzzzzzz\x41","q":1})");
    REQUIRE_FALSE(w.walk(unknown.view(), e));
    CHECK(e.why == reason::malformed_json);
    CHECK(e.offset == 16);

    document nul(R"({"p":"ok \n then \u0000 here"})");
    REQUIRE_FALSE(w.walk(nul.view(), e));
    CHECK(e.why == reason::nul_character);
    CHECK(e.offset == 17);

    document key(R"({"k\u0000":1})");
    REQUIRE_FALSE(w.walk(key.view(), e));
    CHECK(e.why == reason::nul_character);
    CHECK(e.offset == 3);

    document utf8("{\"a\":\"ok\",\"b\":\"\xE2\x28\xA1\"}");
    REQUIRE_FALSE(w.walk(utf8.view(), e));
    CHECK(e.offset == 15);

    document control("{\"a\":\"x\ty\"}");
    REQUIRE_FALSE(w.walk(control.view(), e));
    CHECK(e.why == reason::control_character);
    CHECK(e.offset == 7);
}

TEST_CASE("walker accepts what jsonb accepts", "[walker]")
{
    const char* cases[] = {
        R"({})",
        R"({"a":"\ud83d\ude00"})",
        R"({"a":"\u00e9\n\t\"\\\/"})",
        R"({"a":[1,-2,3.5,1e-400,true,false,null,{},[]]})",
        R"({"a":1e400})",
        R"({"a":-123456789012345678901234567890})",
        R"({"a":18446744073709551615})",
        R"({"a":0e99999})",
        R"({"a":1e-16383})",
        "  {\"a\" : [ 1 , { \"b\" : \"c\" } ] }  ",
        R"("a root string")",
        R"([1,2,3])",
        "42",
        "-0.5",
        "true",
        "null",
    };
    ks::parse::path_set paths;
    walker w(paths, 64);
    for (const char* json : cases) {
        document doc(json);
        walk_error e;
        INFO(json);
        CHECK(w.walk(doc.view(), e));
    }
}

TEST_CASE("walker keeps big numbers that PostgreSQL can store", "[walker]")
{
    // simdjson 3.0.1 refuses these with NUMBER_ERROR; numeric holds them.
    watched p;
    walker w(p.paths, 64);
    walk_error e;

    document wide(R"({"big":123456789012345678901234567890})");
    REQUIRE(w.walk(wide.view(), e));
    CHECK(w.get(p.big).number == number_kind::floating);
    CHECK(w.get(p.big).f64 == Approx(1.2345678901234568e29));
    CHECK(w.get(p.big).raw == "123456789012345678901234567890");

    document huge(R"({"big":-1e400})");
    REQUIRE(w.walk(huge.view(), e));
    CHECK(w.get(p.big).number == number_kind::huge);
    CHECK(w.get(p.big).f64 < 0);
}

TEST_CASE("walker enforces the depth limit", "[walker]")
{
    ks::parse::path_set paths;
    walker w(paths, 3);
    walk_error e;

    document at_limit(R"({"a":{"b":[1]}})");
    CHECK(w.walk(at_limit.view(), e));

    document over(R"({"a":{"b":[[1]]}})");
    REQUIRE_FALSE(w.walk(over.view(), e));
    CHECK(e.why == reason::too_deep);
    CHECK(e.offset == 11);

    std::string very_deep(5000, '[');
    very_deep.append(5000, ']');
    document deepest(very_deep);
    walker big_limit(paths, 100'000); // clamped to depth_ceiling
    REQUIRE_FALSE(big_limit.walk(deepest.view(), e));
    CHECK(e.why == reason::too_deep);
}

TEST_CASE("walker captures nested paths with their types", "[walker]")
{
    watched p;
    walker w(p.paths, 64);
    document doc(R"({"timestamp":"2026-02-17T09:21:44Z",)"
                 R"("data":{"timestamp":1715000000.5,"x":[1,{"y":2}]},)"
                 R"("detection":{"indicators":[{"type":"role_hijack"}, 3]},)"
                 R"("policy":{"risk_class":"h\u00e9gh"},)"
                 R"("a":{"b":{"c":{"d":false}}},"count":-7,"flag":true})");
    walk_error e;
    REQUIRE(w.walk(doc.view(), e));

    CHECK(w.get(p.timestamp).is(json_type::string));
    CHECK(w.get(p.timestamp).text == "2026-02-17T09:21:44Z");
    CHECK(w.get(p.data_ts).is(json_type::number));
    CHECK(w.get(p.data_ts).number == number_kind::floating);
    CHECK(w.get(p.data_ts).f64 == 1715000000.5);
    CHECK(w.get(p.indicators).is(json_type::array));
    CHECK(w.get(p.indicators).members == 2);
    CHECK(w.get(p.risk).text == "h\xC3\xA9gh");
    CHECK(w.get(p.risk).raw == R"("h\u00e9gh")");
    CHECK(w.get(p.deep).is(json_type::boolean));
    CHECK_FALSE(w.get(p.deep).boolean);
    CHECK(w.get(p.count).number == number_kind::signed_integer);
    CHECK(w.get(p.count).i64 == -7);
    CHECK(w.get(p.flag).boolean);
    CHECK_FALSE(w.get(p.nothing).present());
    CHECK(w.root().is(json_type::object));
    CHECK(w.root().members == 7);
}

TEST_CASE("walker captures raw spans of containers and scalars", "[walker]")
{
    watched p;
    walker w(p.paths, 64);
    document doc("{ \"data\" : { \"timestamp\" : \"t\" , \"n\" : [ 1 ] } ,\n"
                 "  \"detection\":{\"indicators\":[ {\"s\":\"x\"} ]\t},"
                 "\"count\": 12 }");
    walk_error e;
    REQUIRE(w.walk(doc.view(), e));

    CHECK(w.get(p.data).raw == R"({ "timestamp" : "t" , "n" : [ 1 ] })");
    CHECK(w.get(p.data).members == 2);
    CHECK(w.get(p.indicators).raw == R"([ {"s":"x"} ])");
    CHECK(w.get(p.data_ts).raw == R"("t")");
    CHECK(w.get(p.count).raw == "12");
    CHECK(std::string_view(w.get(p.data).key, 6) == "\"data\"");
    CHECK(w.root().raw == doc.view().substr(0, doc.view().size()));
}

TEST_CASE("walker keeps the last of duplicate keys, as jsonb does", "[walker]")
{
    watched p;
    walker w(p.paths, 64);
    walk_error e;

    document scalars(R"({"timestamp":"first","timestamp":"second"})");
    REQUIRE(w.walk(scalars.view(), e));
    CHECK(w.get(p.timestamp).text == "second");

    // A repeated parent takes its earlier children with it.
    document parents(R"({"data":{"timestamp":"inner"},"data":5})");
    REQUIRE(w.walk(parents.view(), e));
    CHECK(w.get(p.data).is(json_type::number));
    CHECK_FALSE(w.get(p.data_ts).present());

    document both(R"({"data":{"timestamp":"a"},"data":{"timestamp":"b"}})");
    REQUIRE(w.walk(both.view(), e));
    CHECK(w.get(p.data_ts).text == "b");
}

TEST_CASE("walker forgets captures between walks", "[walker]")
{
    watched p;
    walker w(p.paths, 64);
    walk_error e;

    document first(R"({"count":1})");
    REQUIRE(w.walk(first.view(), e));
    CHECK(w.get(p.count).present());

    document second(R"({"flag":true})");
    REQUIRE(w.walk(second.view(), e));
    CHECK_FALSE(w.get(p.count).present());

    document broken(R"({"count":1,"flag":tru})");
    REQUIRE_FALSE(w.walk(broken.view(), e));
    CHECK_FALSE(w.get(p.count).present());
    CHECK_FALSE(w.get(p.flag).present());
}

TEST_CASE("walker matches escaped keys by their unescaped text", "[walker]")
{
    watched p;
    walker w(p.paths, 64);
    document doc(R"({"\u0063ount":3,"fl\"ag":true})");
    walk_error e;
    REQUIRE(w.walk(doc.view(), e));
    CHECK(w.get(p.count).i64 == 3);
    CHECK_FALSE(w.get(p.flag).present());
}

TEST_CASE("walker ignores whatever follows the document in the padding",
          "[walker]")
{
    // Records are slices of a body: the bytes after them are the next
    // record, which must neither be read nor close an open object.
    ks::parse::path_set paths;
    walker w(paths, 64);
    ks::padded_buffer body;
    body.append(std::string_view(R"({"a":{"b":1}}}]]{"x":1})"));
    walk_error e;

    CHECK(w.walk(body.view().substr(0, 13), e));
    CHECK_FALSE(w.walk(body.view().substr(0, 12), e));
    CHECK(e.why == reason::malformed_json);

    // Cut records followed by bytes that would complete them.
    const std::string_view cut[][2] = {
        {R"({"a":{"b":2})", R"(,"c":1})"},
        {R"({"a":{"b":2})", R"( })"},
        {R"({"a":[1,2])", "]}"},
        {R"({"a":[1,{"b":2})", "}]}"},
        {R"({"a":"x)", R"("})"},
        {R"({"a":1)", "}"},
        {R"([1,2)", "]"},
        {R"("abc)", R"(")"},
        {"tru", "e"},
        {"-", "1"},
        {"1.", "5"},
    };
    for (const auto& c : cut) {
        ks::padded_buffer text;
        text.append(c[0]);
        text.append(c[1]);
        INFO(c[0]);
        CHECK_FALSE(w.walk(text.view().substr(0, c[0].size()), e));
    }

    // A root number ends where the record ends, whatever digits follow.
    ks::padded_buffer digits;
    digits.append(std::string_view("1234"));
    REQUIRE(w.walk(digits.view().substr(0, 2), e));
    CHECK(w.root().i64 == 12);
}

TEST_CASE("walker reports the root string's unescaped text", "[walker]")
{
    ks::parse::path_set paths;
    walker w(paths, 64);
    document doc(R"( "{\"event\":\"x\"}" )");
    walk_error e;
    REQUIRE(w.walk(doc.view(), e));
    CHECK(w.root().is(json_type::string));
    CHECK(w.root().text == R"({"event":"x"})");
    CHECK(w.root().raw == R"("{\"event\":\"x\"}")");
}

TEST_CASE("walker tells keys apart that share their first and last eight "
          "bytes, and keys of every short length",
          "[walker]")
{
    // Keys are found by their first and last eight bytes; longer keys
    // that agree there differ only in the middle.
    ks::parse::path_set paths;
    const std::size_t long_key = paths.add("abcdefgh_one_12345678");
    const std::vector<std::string> short_keys = {
        "",     "a",     "ab",     "abc",     "abcd",     "abcde",
        "abcdef", "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop"};
    std::vector<std::size_t> slots;
    for (const std::string& k : short_keys)
        slots.push_back(paths.add(k));
    walker w(paths, 64);

    document doc(R"({"abcdefgh_two_12345678":1,"abcdefgh_one_12345678":2,)"
                 R"("ac":0,"abcdefghijklmnoq":0,"abcdefgi":0})");
    walk_error e;
    REQUIRE(w.walk(doc.view(), e));
    CHECK(w.get(long_key).i64 == 2);
    for (std::size_t s : slots)
        CHECK_FALSE(w.get(s).present());

    // Each short key is found under its own name only.
    std::string json = "{";
    for (std::size_t i = 0; i < short_keys.size(); ++i)
        json += (i ? ",\"" : "\"") + short_keys[i] + "\":" + std::to_string(i);
    json += "}";
    document all(json);
    REQUIRE(w.walk(all.view(), e));
    for (std::size_t i = 0; i < short_keys.size(); ++i) {
        CAPTURE(short_keys[i]);
        CHECK(w.get(slots[i]).i64 == static_cast<std::int64_t>(i));
    }
}
