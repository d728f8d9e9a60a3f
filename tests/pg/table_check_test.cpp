#include "pg/table_check.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace ks;
using names = std::vector<std::string>;

TEST_CASE("column_names reads a COPY column list as PostgreSQL would")
{
    CHECK(pg::column_names("(event_time, event_type,severity)") ==
          names{"event_time", "event_type", "severity"});
    CHECK(pg::column_names(" ( a ) ") == names{"a"});
    CHECK(pg::column_names("(Mixed, \"Quoted\", \"with \"\"quote\"\"\")") ==
          names{"mixed", "Quoted", "with \"quote\""});
    CHECK(pg::column_names("") == names{});
    CHECK(pg::column_names("()") == names{});
}
