#include "core/text.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace std::string_literals;

TEST_CASE("storable text accepts well-formed UTF-8 and rejects the rest")
{
    struct example {
        std::string text;
        bool storable;
    };
    auto e = GENERATE(values<example>({
        {"plain ascii", true},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92", true},
        {"", true},
        {"nul \0 inside"s, false},
        {"\xc3\x28", false},         // bad continuation
        {"\xc0\xaf", false},         // overlong '/'
        {"\xed\xa0\x80", false},     // UTF-16 surrogate
        {"\xf4\x90\x80\x80", false}, // above U+10FFFF
        {"\xe2\x82", false},         // cut short
        {"\xff", false},
    }));
    INFO(e.text);
    REQUIRE(ks::is_storable_text(e.text) == e.storable);
}

TEST_CASE("to_storable_text replaces each bad byte with U+FFFD")
{
    REQUIRE(ks::to_storable_text("a\xff" "b") == "a\xef\xbf\xbd" "b");
    REQUIRE(ks::to_storable_text("x\0y"s) == "x\xef\xbf\xbdy");
    REQUIRE(ks::to_storable_text("caf\xc3\xa9") == "caf\xc3\xa9");
    REQUIRE(ks::is_storable_text(ks::to_storable_text("\xed\xa0\x80\xc3")));
}
