// sql/migrate-flat run as a program: the flat events table of a running
// deployment moved into the partitioned one, and run again after writers
// have used the new table.

#include "sql_support.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ks;
using test::month_start;
using test::occurrences;

namespace {

constexpr const char* columns =
    "id, event_time, event_type, severity, provider, model, request_id, "
    "blocked, taxonomy, metadata, attack_type";

// Flat rows the new table lacks, and rows of the new table (flat ids
// only) the flat table lacks, compared on every column.
std::string differences(test::test_db& db)
{
    return db.scalar(
        std::string("SELECT (SELECT count(*) FROM (SELECT ") + columns +
        " FROM koreshield_events_flat EXCEPT ALL SELECT " + columns +
        " FROM koreshield_events) AS m) || ' missing, ' || "
        "(SELECT count(*) FROM (SELECT " +
        columns + " FROM koreshield_events WHERE id <= (SELECT max(id) " +
        "FROM koreshield_events_flat) EXCEPT ALL SELECT " + columns +
        " FROM koreshield_events_flat) AS e) || ' extra'");
}

// Rows not where they belong: months from 13 back (the retention) to 4
// ahead (premake) in their own partitions, the others in the default.
std::string misplaced(test::test_db& db)
{
    return db.scalar(
        "SELECT count(*) FROM koreshield_events WHERE "
        "tableoid::regclass::text <> CASE WHEN event_time < " +
        month_start(-13) + " OR event_time >= " + month_start(5) +
        " THEN 'koreshield_events_default' ELSE 'koreshield_events_p' || "
        "to_char(event_time AT TIME ZONE 'UTC', 'YYYY_MM') END");
}

std::string insert_event(const std::string& time, const std::string& label)
{
    return "INSERT INTO koreshield_events (event_time, event_type, severity, "
           "blocked, metadata) VALUES (" +
           time + ", 'late', 'low', false, '{\"label\": \"" + label +
           "\"}') RETURNING id";
}


} // namespace

TEST_CASE("sql/migrate-flat moves every flat row into the partitioned "
          "table, and a second run copies nothing twice")
{
    std::string dsn = test::fresh_database("sql_migrate");
    test::test_db db(dsn);

    // Three rows a month from 20 months back to 8 ahead: the first and
    // last microsecond of the month and one in between; every other row
    // has an attack type, some name no provider.
    db.exec("INSERT INTO koreshield_events (event_time, event_type, "
            "severity, provider, model, request_id, blocked, taxonomy, "
            "metadata) SELECT t, 'prompt_injection', "
            "(ARRAY['low', 'high', 'critical'])[i + 1], "
            "CASE WHEN i = 1 THEN NULL ELSE 'openai' END, 'gpt-4o', "
            "'req-' || k, i <> 1, "
            "CASE WHEN (k + i) % 2 = 0 THEN jsonb_build_object('type', "
            "'jailbreak', 'k', k) END, jsonb_build_object('k', k, 'i', i) "
            "FROM generate_series(-20, 8) AS k, generate_series(0, 2) AS i, "
            "LATERAL (SELECT CASE i WHEN 0 THEN " +
            month_start("k") + " WHEN 1 THEN " + month_start("k") +
            " + interval '14 days 7 hours' ELSE " + month_start("k + 1") +
            " - interval '1 microsecond' END AS t) AS times");
    // A table filled by hand may hold infinite times; they move too.
    db.exec("INSERT INTO koreshield_events (event_time, event_type, "
            "severity, blocked, taxonomy) VALUES ('-infinity', 'probe', "
            "'low', false, NULL), ('infinity', 'probe', 'low', true, "
            "'{\"type\": \"dos\"}')");
    const std::string flat_rows = "89";
    REQUIRE(db.scalar("SELECT count(*) FROM koreshield_events") == flat_rows);

    // A writer's role (as the sink's) keeps its rights across the switch.
    db.exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE "
            "rolname = 'ks_test_writer') THEN CREATE ROLE ks_test_writer; "
            "END IF; END $$");
    db.exec("GRANT INSERT, SELECT ON koreshield_events TO ks_test_writer");
    db.exec("GRANT USAGE ON SEQUENCE koreshield_events_id_seq "
            "TO ks_test_writer");
    const std::string flat_max = db.scalar("SELECT max(id) FROM "
                                           "koreshield_events");

    std::string output;
    REQUIRE(test::run_sql_script("migrate-flat", {dsn}, output) == 0);
    INFO(output);
    CHECK(occurrences(output, "migrate-flat: copied") == 29 + 2);

    CHECK(db.scalar("SELECT relkind FROM pg_class "
                    "WHERE oid = 'koreshield_events'::regclass") == "p");
    CHECK(db.scalar("SELECT relkind FROM pg_class "
                    "WHERE oid = 'koreshield_events_flat'::regclass") == "r");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == flat_rows);
    CHECK(db.scalar("SELECT has_table_privilege('ks_test_writer', "
                    "'koreshield_events', 'INSERT') AND "
                    "has_table_privilege('ks_test_writer', "
                    "'koreshield_events', 'SELECT') AND "
                    "has_sequence_privilege('ks_test_writer', "
                    "'koreshield_events_id_seq', 'USAGE')") == "t");
    CHECK(differences(db) == "0 missing, 0 extra");
    CHECK(misplaced(db) == "0");
    // koreshield_request_events was made again for the new table.
    CHECK(
        db.scalar("SELECT count(*) FROM koreshield_request_events('req-0')") ==
        "3");

    // Writers go on in the new table, with ids after the flat ones.
    const std::string late_now =
        db.scalar(insert_event(month_start(0) + " + interval '2 days'", "now"));
    CHECK(std::stoll(late_now) > std::stoll(flat_max));
    db.exec(insert_event(month_start(-2) + " + interval '2 days'", "copied"));

    // As if a run had stopped before copying month -3: its flat rows are
    // missing, and a writer has since stored an event of that month.
    db.exec("DELETE FROM koreshield_events WHERE id <= " + flat_max +
            " AND event_time >= " + month_start(-3) + " AND event_time < " +
            month_start(-2));
    db.exec(insert_event(month_start(-3) + " + interval '2 days'", "gap"));
    const std::string new_rows =
        "SELECT id, e::text FROM koreshield_events e WHERE id > " + flat_max +
        " ORDER BY id";
    const std::string written = test::rows_text(db, new_rows);

    REQUIRE(test::run_sql_script("migrate-flat", {dsn}, output) == 0);
    INFO(output);
    CHECK_THAT(output, Catch::Contains("copied 3 rows of " +
                                       test::month_label(db, -3)));
    CHECK(occurrences(output, "migrate-flat: copied") == 1);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "92");
    CHECK(db.scalar("SELECT count(*) FROM (SELECT id FROM koreshield_events "
                    "GROUP BY id HAVING count(*) > 1) AS twice") == "0");
    CHECK(differences(db) == "0 missing, 0 extra");
    CHECK(test::rows_text(db, new_rows) == written);
    CHECK(misplaced(db) == "0");

    REQUIRE(test::run_sql_script("migrate-flat", {"--drop-flat", dsn},
                                 output) == 0);
    CHECK(db.scalar("SELECT to_regclass('koreshield_events_flat') IS NULL") ==
          "t");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "92");
    CHECK(test::rows_text(db, new_rows) == written);
}

TEST_CASE("sql/migrate-flat with nothing to migrate says so and fails")
{
    std::string dsn = test::fresh_database("sql_migrate_none",
                                           test::schema_layout::partitioned);
    std::string output;
    CHECK(test::run_sql_script("migrate-flat", {dsn}, output) == 1);
    CHECK_THAT(output, Catch::Contains("nothing to migrate"));
}
