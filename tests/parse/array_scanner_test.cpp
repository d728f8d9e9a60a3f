#include "core/padded_buffer.hpp"
#include "parse/array_scanner.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace {

void collect(void* context, std::string_view value)
{
    static_cast<std::vector<std::string>*>(context)->emplace_back(value);
}

} // namespace

TEST_CASE("array scanner reads one string field of each object", "[scanner]")
{
    ks::padded_buffer json;
    json.append(std::string_view(
        R"([{"type":"a","severity":"high"},3,"x",{"severity":1},)"
        R"({"severity":"l\u006fw","other":[{"severity":"no"}]},null])"));
    ks::parse::array_scanner scanner;
    std::vector<std::string> seen;

    CHECK(scanner.each_string(json.view(), "severity", collect, &seen));
    CHECK(seen == std::vector<std::string>{"high", "low"});
}

TEST_CASE("array scanner refuses text that is not an array", "[scanner]")
{
    ks::padded_buffer json;
    json.append(std::string_view(R"({"severity":"high"})"));
    ks::parse::array_scanner scanner;
    std::vector<std::string> seen;

    CHECK_FALSE(scanner.each_string(json.view(), "severity", collect, &seen));
    CHECK(seen.empty());
}

TEST_CASE("array scanner reads a slice of a larger document", "[scanner]")
{
    ks::padded_buffer json;
    json.append(std::string_view(R"({"i":[{"severity":"medium"}],"z":1})"));
    ks::parse::array_scanner scanner;
    std::vector<std::string> seen;

    CHECK(scanner.each_string(json.view().substr(5, 23), "severity", collect,
                              &seen));
    CHECK(seen == std::vector<std::string>{"medium"});
}
