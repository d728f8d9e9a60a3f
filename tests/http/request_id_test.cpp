#include "http/request_id.hpp"

#include <catch2/catch.hpp>

#include <set>

TEST_CASE("request ids are 16 lower-case hex digits and never repeat")
{
    ks::http::request_ids ids(0);
    std::set<std::string> seen;
    for (int i = 0; i < 100'000; ++i) {
        std::string id = ids.next();
        REQUIRE(id.size() == 16);
        REQUIRE(id.find_first_not_of("0123456789abcdef") == std::string::npos);
        REQUIRE(seen.insert(id).second);
    }
}

TEST_CASE("request ids of two processes differ")
{
    ks::http::request_ids a;
    ks::http::request_ids b;
    CHECK(a.next() != b.next());
}
