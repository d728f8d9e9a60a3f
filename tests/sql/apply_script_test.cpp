// sql/apply run as a program with psql, as an operator runs it.

#include "sql_support.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace ks;

namespace {

// pg_partman's settings for the events, as "retention|premake".
std::string partman_settings(test::test_db& db)
{
    return test::rows_text(db, "SELECT retention, premake FROM "
                               "partman.part_config WHERE parent_table = "
                               "'public.koreshield_events'");
}

std::string events_kind(test::test_db& db)
{
    return db.scalar("SELECT coalesce((SELECT relkind::text FROM pg_class "
                     "WHERE oid = to_regclass('koreshield_events')), "
                     "'missing')");
}

} // namespace

TEST_CASE("sql/apply makes the partitioned schema in an empty database and "
          "can run again")
{
    std::string dsn = test::empty_database("sql_apply");
    std::string output;

    REQUIRE(test::run_sql_script("apply", {dsn}, output) == 0);
    INFO(output);
    REQUIRE(test::run_sql_script("apply", {dsn}, output) == 0);

    test::test_db db(dsn);
    CHECK(events_kind(db) == "p");
    CHECK(partman_settings(db) == "13 months|4");
    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -4, 4));
    CHECK(db.scalar("SELECT count(*) FROM koreshield_retention") == "3");
    CHECK(db.scalar("SELECT count(*) FROM pg_proc WHERE proname IN ("
                    "'koreshield_blocked_by_day', 'koreshield_events_by_day', "
                    "'koreshield_top_attack_types', "
                    "'koreshield_attack_types_by_week', "
                    "'koreshield_request_events', 'koreshield_maintenance', "
                    "'koreshield_prune_side_tables', "
                    "'koreshield_move_default_rows', "
                    "'koreshield_make_months')") == "9");
}

TEST_CASE("sql/apply sets retention and premake, and keeps them when run "
          "again without them")
{
    std::string dsn = test::empty_database("sql_apply_settings");
    std::string output;

    REQUIRE(test::run_sql_script(
                "apply", {"--retention", "24 months", "--premake", "6", dsn},
                output) == 0);
    INFO(output);
    test::test_db db(dsn);
    CHECK(partman_settings(db) == "24 months|6");
    // The months the new premake asks for are made at once.
    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -4, 6));

    REQUIRE(test::run_sql_script("apply", {dsn}, output) == 0);
    CHECK(partman_settings(db) == "24 months|6");
}

TEST_CASE("sql/apply --flat makes the flat table without pg_partman")
{
    std::string dsn = test::empty_database("sql_apply_flat");
    std::string output;

    REQUIRE(test::run_sql_script("apply", {"--flat", dsn}, output) == 0);
    INFO(output);
    REQUIRE(test::run_sql_script("apply", {"--flat", dsn}, output) == 0);

    test::test_db db(dsn);
    CHECK(events_kind(db) == "r");
    CHECK(db.scalar("SELECT count(*) FROM pg_extension "
                    "WHERE extname = 'pg_partman'") == "0");
    CHECK(db.scalar("SELECT to_regclass('koreshield_dead_letters') IS NOT "
                    "NULL") == "t");
}

TEST_CASE("sql/apply refuses wrong usage with status 2 and touches nothing")
{
    std::string dsn = test::empty_database("sql_apply_usage");
    const std::vector<std::vector<std::string>> wrong = {
        {"--frobnicate", dsn},
        {"--flat", "--retention", "3 months", dsn},
        {"--flat", "--premake", "6", dsn},
        {"--premake", "abc", dsn},
        {"--premake", "0", dsn},
        {"--retention", "nonsense", dsn},
        {"--retention", "1 day", dsn},
        {"--retention", "-1 month", dsn},
        {"--retention"},
        {},
        {dsn, dsn},
    };
    for (const auto& args : wrong) {
        std::string output;
        const int status = test::run_sql_script("apply", args, output);
        INFO(output);
        CHECK(status == 2);
        CHECK_THAT(output, Catch::Contains("sql/apply"));
    }

    test::test_db db(dsn);
    CHECK(events_kind(db) == "missing");
}

TEST_CASE("sql/apply without --flat on a flat events table fails, naming "
          "sql/migrate-flat, and leaves the table as it was")
{
    std::string dsn = test::fresh_database("sql_apply_on_flat");
    test::test_db db(dsn);
    db.exec("INSERT INTO koreshield_events (event_time, event_type, "
            "severity, blocked) VALUES (now(), 'probe', 'low', false)");

    std::string output;
    CHECK(test::run_sql_script("apply", {dsn}, output) != 0);
    CHECK_THAT(output, Catch::Contains("sql/migrate-flat"));

    CHECK(events_kind(db) == "r");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "1");
    CHECK(db.scalar("SELECT count(*) FROM pg_extension "
                    "WHERE extname = 'pg_partman'") == "0");
}
