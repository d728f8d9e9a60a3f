#include "pg/writer.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>

using ks::pg::quote_table_name;
using namespace std::string_literals;

TEST_CASE("quote_table_name quotes each part as an identifier")
{
    struct name_case {
        std::string in;
        std::string out;
    };
    const name_case cases[] = {
        {"koreshield_events", "\"koreshield_events\""},
        {"public.koreshield_events", "\"public\".\"koreshield_events\""},
        {"Events", "\"Events\""},
        {"my table", "\"my table\""},
        {"we\"ird", "\"we\"\"ird\""},
        {"\"", "\"\"\"\""},
        {"s;DROP.t", "\"s;DROP\".\"t\""},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
    };

    for (const name_case& c : cases) {
        CAPTURE(c.in);
        CHECK(quote_table_name(c.in) == c.out);
    }
}

TEST_CASE("quote_table_name refuses empty parts, extra parts and NUL")
{
    const std::string bad[] = {
        "", ".", "a.", ".a", "a..b", "a.b.c", "db.schema.table", "a\0b"s,
    };

    for (const std::string& name : bad) {
        CAPTURE(name);
        CHECK_THROWS_AS(quote_table_name(name), std::invalid_argument);
    }
}
