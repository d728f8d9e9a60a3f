#include "parse/unescape.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <random>
#include <string>
#include <vector>

namespace {

// What simdjson makes of the string whose content is `body`; nothing when
// it refuses it.
std::optional<std::string> simdjson_decodes(const std::string& body)
{
    static simdjson::ondemand::parser parser;
    simdjson::padded_string json("\"" + body + "\"");
    simdjson::ondemand::document doc;
    if (parser.iterate(json).get(doc)) return std::nullopt;
    std::string_view text;
    if (doc.get_string().get(text)) return std::nullopt;
    return std::string(text);
}

// Decodes with unescape_simple into a buffer with the room it asks for.
std::optional<std::string> fast_decodes(const std::string& body)
{
    std::vector<char> out(body.size() + ks::parse::unescape_overrun_bytes);
    auto n = ks::parse::unescape_simple(body, out.data());
    if (!n) return std::nullopt;
    return std::string(out.data(), *n);
}

// Whether this processor takes the fast path at all.
bool fast_path_here()
{
    return fast_decodes("a\\\"b").has_value();
}

bool has_other_escape(const std::string& body)
{
    for (std::size_t i = 0; i + 1 < body.size(); ++i) {
        if (body[i] != '\\') continue;
        if (std::string_view("\"\\/bfnrt").find(body[i + 1]) ==
            std::string_view::npos)
            return true;
        ++i;
    }
    return false;
}

} // namespace

TEST_CASE("one-byte escapes decode as simdjson decodes them, in random "
          "strings of every length around the 64-byte blocks")
{
    if (!fast_path_here()) {
        WARN("no AVX-512 VBMI2 here: only the fallback is checked");
        CHECK_FALSE(fast_decodes("plain").has_value());
        return;
    }

    // Pieces: plain ASCII, multi-byte UTF-8, each one-byte escape, runs
    // of escaped backslashes, and escapes the fast path leaves alone.
    const std::vector<std::string> pieces = {
        "a",      "Z",      " ",       "{",       "}",      ":",
        "\xC3\xA9", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\\\"", "\\\\",
        "\\/",    "\\b",    "\\f",     "\\n",     "\\r",    "\\t",
        "\\\\\\\\", "\\\\\\\"", "\\u00e9", "\\ud83d\\ude00", "\\u0041"};
    std::mt19937 rng(11);
    int fast = 0;
    int left = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string body;
        const std::size_t target = rng() % 300;
        const bool only_simple = rng() % 4 != 0;
        while (body.size() < target) {
            std::size_t pick = rng() % pieces.size();
            if (only_simple) pick %= pieces.size() - 3;
            body += pieces[pick];
        }

        CAPTURE(body);
        const auto want = simdjson_decodes(body);
        REQUIRE(want.has_value());
        const auto got = fast_decodes(body);
        if (got) {
            ++fast;
            CHECK(*got == *want);
        } else {
            ++left;
            CHECK(has_other_escape(body));
        }
    }
    CHECK(fast > 10000);
    CHECK(left > 1000);
}

TEST_CASE("escapes across block edges and bodies of whole blocks")
{
    if (!fast_path_here()) return;
    for (std::size_t before = 60; before <= 130; ++before) {
        for (const char* escape : {"\\\"", "\\\\", "\\n", "\\\\\\t"}) {
            const std::string body = std::string(before, 'x') + escape + "y";
            CAPTURE(body);
            CHECK(fast_decodes(body) == simdjson_decodes(body));
        }
    }
    for (std::size_t size : {0u, 1u, 63u, 64u, 65u, 128u, 192u}) {
        const std::string body(size, 'q');
        CHECK(fast_decodes(body) == body);
    }
}

TEST_CASE("escapes the fast path leaves to simdjson")
{
    if (!fast_path_here()) return;

    // \u escapes, bad escapes, and a body whose last backslash would
    // escape the closing quote.
    for (const char* body : {"\\u0000", "x\\u00e9", "\\x", "a\\'b", "ab\\",
                             "\\\\\\"}) {
        CAPTURE(body);
        CHECK_FALSE(fast_decodes(body).has_value());
    }
}
