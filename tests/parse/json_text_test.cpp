#include "parse/json_text.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ks::parse;

TEST_CASE("json number grammar is checked exactly", "[json_text]")
{
    const char* valid[] = {"0",     "-0",    "12",
                           "-12.5", "1e5",   "1E+5",
                           "1e-5",  "0.000", "123456789012345678901234567890"};
    const char* invalid[] = {"",   "-",   "01",   "1.",    ".5",  "+1",
                             "1e", "1e+", "0x10", "1.2.3", "NaN", "12 "};
    for (const char* t : valid) {
        INFO(t);
        CHECK(is_json_number(t));
    }
    for (const char* t : invalid) {
        INFO(t);
        CHECK_FALSE(is_json_number(t));
    }
}

TEST_CASE("numbers are judged by PostgreSQL numeric's limits", "[json_text]")
{
    struct {
        std::string token;
        bool fits;
    } cases[] = {
        {"1e400", true},
        {"-1e131071", true},
        {"1e131072", false},
        {"1e-16383", true},
        {"1e-16384", false},
        {"0e1073741822", true},
        {"1e1073741823", false},
        {"1e-1073741823", false},
        {"0." + std::string(16383, '0'), true},
        {"0." + std::string(16384, '0'), false},
        {"0.0001e16390", true},
        {"99999999999999999999999999999999", true},
    };
    for (const auto& c : cases) {
        INFO(c.token.substr(0, 40));
        CHECK(fits_pg_numeric(c.token) == c.fits);
    }
}

TEST_CASE("invalid UTF-8 is found at its first byte", "[json_text]")
{
    CHECK(first_invalid_utf8("plain") == 5);
    CHECK(first_invalid_utf8("caf\xC3\xA9") == 5);
    CHECK(first_invalid_utf8("ab\xC3\x28") == 2);
    CHECK(first_invalid_utf8("a\xC0\xAF") == 1);             // overlong
    CHECK(first_invalid_utf8("a\xED\xA0\x80") == 1);         // surrogate
    CHECK(first_invalid_utf8("\xF4\x90\x80\x80") == 0);      // > U+10FFFF
    CHECK(first_invalid_utf8("\xF0\x9F\x98\x80x\xFF") == 5); // emoji ok
    CHECK(first_invalid_utf8("\xE2\x82") == 0);              // truncated
}

TEST_CASE("raw control bytes are found only inside strings", "[json_text]")
{
    CHECK(first_raw_control("{\n\"a\":\t1}") == 9);
    CHECK(first_raw_control("{\"a\":\"x\ny\"}") == 7);
    CHECK(first_raw_control("{\"a\\\"\x01\":1}") == 5);
}

TEST_CASE("lone surrogate escapes are told from pairs", "[json_text]")
{
    CHECK_FALSE(has_lone_surrogate(R"(\ud83d\ude00)"));
    CHECK_FALSE(has_lone_surrogate(R"(\u00e9 \\ud800)"));
    CHECK(has_lone_surrogate(R"(\ud83d)"));
    CHECK(has_lone_surrogate(R"(\ud83dx)"));
    CHECK(has_lone_surrogate(R"(\ud83d\u0041)"));
    CHECK(has_lone_surrogate(R"(x\uDC00)"));
}

TEST_CASE("JSON whitespace is trimmed, other bytes kept", "[json_text]")
{
    CHECK(trim_json_space(" \t\r\n{}\n ") == "{}");
    CHECK(trim_json_space("\v{}") == "\v{}");
    CHECK(trim_json_space_right(" x ") == " x");
    const char body[] = "ab\\\"c\"rest";
    CHECK(raw_string_length(body, body + sizeof body - 1) == 5);
}
