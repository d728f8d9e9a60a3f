// The monthly partitions of koreshield_events (sql/30_partitions.sql and
// koreshield_maintenance() of sql/40_maintenance.sql) under the real
// pg_partman: months made ahead, months dropped after retention, and
// rows that land in the default partition.

#include "sql_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ks;
using test::month_start;

namespace {

constexpr const char* set_premake = "UPDATE partman.part_config SET premake = ";
constexpr const char* of_events =
    " WHERE parent_table = 'public.koreshield_events'";

// One event labelled `label` (metadata->>'label') at the SQL instant
// `time`, with every column filled so that a move can be seen to keep
// them all.
std::string labelled_event(const std::string& time, const std::string& label)
{
    return "INSERT INTO koreshield_events (event_time, event_type, severity, "
           "provider, model, request_id, blocked, taxonomy, metadata) "
           "VALUES (" +
           time + ", 'prompt_injection', 'high', 'openai', 'gpt-4o', 'req-" +
           label + "', true, '{\"type\": \"jailbreak\", \"score\": 0.9}', " +
           "jsonb_build_object('label', '" + label + "', 'tags', " +
           "jsonb_build_array('a', 'b')))";
}

// Which table holds each labelled row, in id order.
std::string where_rows_are(test::test_db& db)
{
    return test::rows_text(db, "SELECT metadata->>'label', tableoid::regclass "
                               "FROM koreshield_events ORDER BY id");
}

// Every row, whole, in id order: ids and values before and after a move.
std::string all_rows(test::test_db& db)
{
    return test::rows_text(db, "SELECT id, e::text FROM koreshield_events e "
                               "ORDER BY id");
}

// koreshield_default_rows as "YYYY-MM|rows|disposition" lines, by month;
// the month of 'infinity' has no name and reads NULL.
std::string default_rows(test::test_db& db)
{
    return test::rows_text(
        db, "SELECT to_char(month AT TIME ZONE 'UTC', 'YYYY-MM'), "
            "row_count, disposition FROM koreshield_default_rows "
            "ORDER BY month");
}

} // namespace

TEST_CASE("the partitioned layout makes this month and four ahead, bounded "
          "at midnight UTC, from a session in Pacific/Auckland")
{
    std::string dsn = test::empty_database("sql_ahead");
    test::test_db db(dsn);
    db.exec("SET TimeZone = 'Pacific/Auckland'");
    test::apply_schema(db, test::schema_layout::partitioned);

    // pg_partman also makes four months behind, for late arrivals.
    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -4, 4));
    CHECK(db.scalar("SHOW TimeZone") == "Pacific/Auckland");

    // A bound at midnight UTC routes the last microsecond of a month and
    // the first of the next into their own months.
    db.exec(labelled_event(month_start(1) + " - interval '1 microsecond'",
                           "last_of_this") +
            "; " + labelled_event(month_start(1), "first_of_next"));
    CHECK(where_rows_are(db) == "last_of_this|" + test::partition_name(db, 0) +
                                    "\n" + "first_of_next|" +
                                    test::partition_name(db, 1));
}

TEST_CASE("raising premake makes the extra months at the next maintenance, "
          "still at midnight UTC")
{
    std::string dsn = test::empty_database("sql_premake");
    test::test_db db(dsn);
    db.exec("SET TimeZone = 'Pacific/Auckland'");
    test::apply_schema(db, test::schema_layout::partitioned);

    db.exec(std::string(set_premake) + "6" + of_events);
    db.exec("CALL koreshield_maintenance()");

    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -4, 6));
    CHECK(db.scalar("SHOW TimeZone") == "Pacific/Auckland");
}

TEST_CASE("maintenance drops the months past a shortened retention, tables "
          "and rows, and leaves the newer months alone")
{
    std::string dsn =
        test::fresh_database("sql_retention", test::schema_layout::partitioned);
    test::test_db db(dsn);

    // Three months older than the four create_parent made behind this one,
    // then one row in the middle of every month from -7 to +4.
    CHECK(db.scalar("SELECT koreshield_make_months(" + month_start(-7) + ", " +
                    month_start(-4) + ")") == "3");
    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -7, 4));
    db.exec("INSERT INTO koreshield_events (event_time, event_type, "
            "severity, blocked) SELECT " +
            month_start("k") +
            " + interval '14 days', 'probe', 'low', false "
            "FROM generate_series(-7, 4) AS k");
    CHECK(db.scalar("SELECT count(*) FROM ONLY koreshield_events_default") ==
          "0");

    db.exec("UPDATE partman.part_config SET retention = '2 months'" +
            std::string(of_events));
    db.exec("CALL koreshield_maintenance()");

    // pg_partman drops a month once all of it is older than the window.
    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -2, 4));
    for (int k = -7; k <= -3; ++k) {
        INFO("month " << k);
        CHECK(db.scalar("SELECT count(*) FROM pg_class WHERE relname = '" +
                        test::partition_name(db, k) + "'") == "0");
    }
    // Dropped, not detached: no partition table is left in any schema.
    CHECK(db.scalar("SELECT count(*) FROM pg_class WHERE relkind = 'r' AND "
                    "relname LIKE 'koreshield\\_events\\_p%'") == "7");

    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "7");
    CHECK(db.scalar("SELECT min(event_time) = " + month_start(-2) +
                    " + interval '14 days' FROM koreshield_events") == "t");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events WHERE "
                    "tableoid::regclass::text <> 'koreshield_events_p' || "
                    "to_char(event_time AT TIME ZONE 'UTC', 'YYYY_MM')") ==
          "0");
}

TEST_CASE("maintenance moves exactly the movable rows out of the default "
          "partition, ids and values kept, and leaves the others")
{
    std::string dsn =
        test::fresh_database("sql_stray", test::schema_layout::partitioned);
    test::test_db db(dsn);

    // Retention is 13 months and premake 4: partitions run from -4 to +4.
    // Five years ahead is 2031 as this is written, and far whenever run.
    db.exec(labelled_event("'1970-01-01 00:00:00+00'", "epoch"));
    db.exec(labelled_event(month_start(-14) + " + interval '3 days'",
                           "past_retention"));
    db.exec(labelled_event(month_start(-6) + " + interval '3 days'",
                           "unpartitioned"));
    db.exec(labelled_event(month_start(60) + " + interval '3 days'",
                           "five_years_ahead"));
    db.exec(labelled_event("'infinity'", "infinity"));
    db.exec(labelled_event(month_start(5) + " + interval '3 days'",
                           "beyond_premade"));
    db.exec(labelled_event(month_start(0) + " + interval '1 day'", "current"));

    const std::string dflt = "koreshield_events_default";
    CHECK(where_rows_are(db) ==
          "epoch|" + dflt + "\npast_retention|" + dflt + "\nunpartitioned|" +
              dflt + "\nfive_years_ahead|" + dflt + "\ninfinity|" + dflt +
              "\nbeyond_premade|" + dflt + "\ncurrent|" +
              test::partition_name(db, 0));
    CHECK(default_rows(db) ==
          "1970-01|1|too_old\n" + test::month_label(db, -14) + "|1|too_old\n" +
              test::month_label(db, -6) + "|1|movable\n" +
              test::month_label(db, 5) + "|1|too_far\n" +
              test::month_label(db, 60) + "|1|too_far\nNULL|1|too_far");

    const std::string before = all_rows(db);
    REQUIRE_NOTHROW(db.exec("CALL koreshield_maintenance()"));

    CHECK(where_rows_are(db) ==
          "epoch|" + dflt + "\npast_retention|" + dflt + "\nunpartitioned|" +
              test::partition_name(db, -6) + "\nfive_years_ahead|" + dflt +
              "\ninfinity|" + dflt + "\nbeyond_premade|" + dflt + "\ncurrent|" +
              test::partition_name(db, 0));
    CHECK(all_rows(db) == before);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "7");
    CHECK(default_rows(db) ==
          "1970-01|1|too_old\n" + test::month_label(db, -14) + "|1|too_old\n" +
              test::month_label(db, 5) + "|1|too_far\n" +
              test::month_label(db, 60) + "|1|too_far\nNULL|1|too_far");
}

TEST_CASE("a row of the month past the premade ones does not stop "
          "maintenance when premake is raised to reach it")
{
    std::string dsn =
        test::fresh_database("sql_reach", test::schema_layout::partitioned);
    test::test_db db(dsn);
    db.exec(labelled_event(month_start(5) + " + interval '3 days'",
                           "beyond_premade"));
    CHECK(default_rows(db) == test::month_label(db, 5) + "|1|too_far");

    db.exec(std::string(set_premake) + "5" + of_events);
    CHECK(default_rows(db) == test::month_label(db, 5) + "|1|movable");

    // pg_partman alone fails: PostgreSQL refuses to attach a month while
    // the default partition holds rows of it. Nothing is made.
    db.exec("SET TimeZone = 'UTC'");
    CHECK_THROWS_WITH(db.exec("CALL partman.run_maintenance_proc()"),
                      Catch::Contains("default partition"));
    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -4, 4));

    const std::string before = all_rows(db);
    REQUIRE_NOTHROW(db.exec("CALL koreshield_maintenance()"));

    CHECK(where_rows_are(db) ==
          "beyond_premade|" + test::partition_name(db, 5));
    CHECK(all_rows(db) == before);
    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -4, 5));
    CHECK(default_rows(db).empty());
}

TEST_CASE("koreshield_make_months moves the rows the default partition "
          "holds of a month it makes, and refuses months retention drops")
{
    std::string dsn = test::fresh_database("sql_make_months",
                                           test::schema_layout::partitioned);
    test::test_db db(dsn);
    db.exec(labelled_event(month_start(-6) + " + interval '3 days'",
                           "unpartitioned"));
    const std::string before = all_rows(db);

    // Months 7 to 5 back: the row of month 6 moves into its new month,
    // whole.
    const std::string make = "SELECT koreshield_make_months(" +
                             month_start(-7) + ", " + month_start(-4) + ")";
    CHECK(db.scalar(make) == "3");
    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -7, 4));
    CHECK(where_rows_are(db) ==
          "unpartitioned|" + test::partition_name(db, -6));
    CHECK(all_rows(db) == before);
    CHECK(db.scalar(make) == "0");

    // Past the default 13 months, maintenance would drop a made month
    // with its rows: refused, nothing made.
    const std::string old = "SELECT koreshield_make_months(" +
                            month_start(-16) + ", " + month_start(-14) + ")";
    CHECK(test::error_of(db, old) ==
          "P0001: the month " + test::month_label(db, -16) +
              " is older than the retention window: the next maintenance "
              "would drop it with its rows");
    CHECK(test::partitions_utc(dsn) == test::expected_partitions(dsn, -7, 4));
}

TEST_CASE("maintenance leaves the partitions alone while retention is not "
          "an interval of a month or more")
{
    std::string dsn = test::fresh_database("sql_bad_retention",
                                           test::schema_layout::partitioned);
    test::test_db db(dsn);
    db.exec(labelled_event("now()", "current"));
    const std::string before = all_rows(db);

    for (const char* retention : {"nonsense", "-1 month", "1 day"}) {
        INFO(retention);
        db.exec(std::string("UPDATE partman.part_config SET retention = '") +
                retention + "' WHERE parent_table = "
                            "'public.koreshield_events'");
        db.exec("CALL koreshield_maintenance()");
        CHECK(test::partitions_utc(dsn) ==
              test::expected_partitions(dsn, -4, 4));
        CHECK(all_rows(db) == before);
    }
}
