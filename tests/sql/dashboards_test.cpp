// The dashboard functions of sql/50_dashboards.sql over a small set of
// hand-made events, in both layouts: the same rows give the same answers.

#include "sql_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ks;

namespace {

// Two ISO weeks, 2024-12-23 and 2024-12-30 (Mondays); the second spans a
// month and a year. The dashboards are asked for [2024-12-23, 2025-01-06):
// the first row is a microsecond before that, the last exactly at its end.
// Rows are inserted in this order; labels name them in metadata. p12 and
// p9 are of the same request and instant: p12 has the lower id, and is
// rewritten after p9 is stored (see below), so that only the id, not the
// order rows lie in, puts it first.
constexpr const char* events =
    "INSERT INTO koreshield_events (event_time, event_type, severity, "
    "provider, model, request_id, blocked, taxonomy, metadata) VALUES "
    "('2025-01-06 00:00:00+00', 'prompt_injection', 'high', 'openai', "
    " 'gpt-4o', 'req-a', true, '{\"type\": \"sqli\"}', '{\"n\": \"p11\"}'),"
    "('2024-12-22 23:59:59.999999+00', 'prompt_injection', 'high', "
    " 'openai', 'gpt-4o', 'req-x', true, '{\"type\": \"sqli\"}', "
    " '{\"n\": \"p1\"}'),"
    "('2024-12-23 00:00:00+00', 'prompt_injection', 'high', 'openai', "
    " 'gpt-4o', 'req-a', true, '{\"type\": \"sqli\"}', '{\"n\": \"p2\"}'),"
    "('2024-12-23 23:59:59.999999+00', 'prompt_injection', 'high', "
    " 'anthropic', 'claude', 'req-b', true, '{\"type\": \"sqli\"}', "
    " '{\"n\": \"p3\"}'),"
    "('2024-12-24 00:00:00+00', 'pii', 'low', 'openai', 'gpt-4o', 'req-b', "
    " false, '{\"type\": \"xss\"}', '{\"n\": \"p4\"}'),"
    "('2024-12-26 08:00:00+00', 'dos', 'medium', 'openai', 'gpt-4o', "
    " 'req-e', false, '{\"type\": \"dos\"}', '{\"n\": \"p13\"}'),"
    "('2024-12-29 23:59:59+00', 'prompt_injection', 'medium', NULL, NULL, "
    " 'req-c', true, '{\"type\": \"jailbreak\"}', '{\"n\": \"p5\"}'),"
    "('2024-12-30 00:00:00+00', 'prompt_injection', 'high', 'openai', "
    " 'gpt-4o', 'req-a', true, '{\"type\": \"jailbreak\"}', "
    " '{\"n\": \"p6\"}'),"
    "('2024-12-31 12:00:00+00', 'pii', 'low', 'openai', 'gpt-4o', 'req-c', "
    " false, NULL, '{\"n\": \"p7\"}'),"
    "('2025-01-01 09:00:00+00', 'prompt_injection', 'critical', "
    " 'anthropic', 'claude', 'req-d', true, '{\"type\": \"jailbreak\"}', "
    " '{\"n\": \"p8\"}'),"
    "('2025-01-01 10:00:00+00', 'probe', 'low', 'openai', 'gpt-4o', "
    " 'req-a', false, '{\"category\": \"recon\"}', '{\"n\": \"p12\"}'),"
    "('2025-01-01 10:00:00+00', 'prompt_injection', 'high', 'anthropic', "
    " 'claude', 'req-a', true, '{\"type\": \"xss\"}', '{\"n\": \"p9\"}'),"
    "('2025-01-05 23:59:59.999999+00', 'pii', 'medium', 'anthropic', "
    " 'claude', 'req-d', false, '{\"type\": \"xss\"}', '{\"n\": \"p10\"}')";

constexpr const char* range =
    "'2024-12-23 00:00:00+00', '2025-01-06 00:00:00+00'";

// The rows of dashboard function `name` over the range, with `more`
// arguments after it.
std::string over_range(test::test_db& db, const std::string& name,
                       const std::string& more = "")
{
    return test::rows_text(db,
                           "SELECT * FROM " + name + "(" + range + more + ")");
}

// Every dashboard function's answer over the events above.
void check_answers(test::test_db& db)
{
    CHECK(over_range(db, "koreshield_blocked_by_day") ==
          "2024-12-23|anthropic|1\n"
          "2024-12-23|openai|1\n"
          "2024-12-29|NULL|1\n"
          "2024-12-30|openai|1\n"
          "2025-01-01|anthropic|2");

    CHECK(over_range(db, "koreshield_events_by_day") ==
          "2024-12-23|high|2|2\n"
          "2024-12-24|low|1|0\n"
          "2024-12-26|medium|1|0\n"
          "2024-12-29|medium|1|1\n"
          "2024-12-30|high|1|1\n"
          "2024-12-31|low|1|0\n"
          "2025-01-01|critical|1|1\n"
          "2025-01-01|high|1|1\n"
          "2025-01-01|low|1|0\n"
          "2025-01-05|medium|1|0");
    // One day: the row at midnight after it belongs to the next.
    CHECK(test::rows_text(db, "SELECT * FROM koreshield_events_by_day("
                              "'2024-12-23 00:00:00+00', "
                              "'2024-12-24 00:00:00+00')") ==
          "2024-12-23|high|2|2");

    // Ties on count go to the name; the limit cuts after ordering.
    CHECK(over_range(db, "koreshield_top_attack_types") ==
          "jailbreak|3\nxss|3\nsqli|2\ndos|1");
    CHECK(over_range(db, "koreshield_top_attack_types", ", 2") ==
          "jailbreak|3\nxss|3");

    // Weeks are named by their Monday; the Sunday's last microsecond
    // stays in its week. Ranks restart each week, ties go to the name.
    CHECK(over_range(db, "koreshield_attack_types_by_week") ==
          "2024-12-23|sqli|2|1\n"
          "2024-12-23|dos|1|2\n"
          "2024-12-23|jailbreak|1|3\n"
          "2024-12-23|xss|1|4\n"
          "2024-12-30|jailbreak|2|1\n"
          "2024-12-30|xss|2|2");
    CHECK(over_range(db, "koreshield_attack_types_by_week", ", 2") ==
          "2024-12-23|sqli|2|1\n"
          "2024-12-23|dos|1|2\n"
          "2024-12-30|jailbreak|2|1\n"
          "2024-12-30|xss|2|2");

    // Every event of one request, in any month, by time and then id.
    CHECK(test::rows_text(db, "SELECT metadata->>'n' FROM "
                              "koreshield_request_events('req-a')") ==
          "p2\np6\np12\np9\np11");
    CHECK(test::rows_text(db, "SELECT metadata->>'n' FROM "
                              "koreshield_request_events('req-none')")
              .empty());
}

// Loads the events and checks every dashboard function on them, from a
// session whose own zone would move days and weeks if they followed it.
void check_dashboards(test::schema_layout layout)
{
    std::string dsn = test::fresh_database("sql_dashboards", layout);
    test::test_db db(dsn);
    db.exec("SET TimeZone = 'America/New_York'");
    if (layout == test::schema_layout::partitioned) {
        // Their months are older than the default retention, which
        // koreshield_make_months refuses to make; keep them.
        db.exec("UPDATE partman.part_config SET retention = '100 years' "
                "WHERE parent_table = 'public.koreshield_events'");
        db.exec("SELECT koreshield_make_months('2024-12-01 00:00:00+00', "
                "'2025-02-01 00:00:00+00')");
    }
    db.exec(events);
    db.exec("UPDATE koreshield_events SET model = model "
            "WHERE metadata->>'n' = 'p12'");
    if (layout == test::schema_layout::partitioned) {
        CHECK(db.scalar("SELECT count(*) FROM ONLY "
                        "koreshield_events_default") == "0");
    }

    // Each answer twice: with the plans PostgreSQL picks (on this little
    // data, groups come out sorted by name), and with hash aggregation,
    // where groups come in hash order and only the functions' own ORDER
    // BY breaks ties by name.
    for (const char* plans : {"RESET enable_sort", "SET enable_sort = off"}) {
        INFO(plans);
        db.exec(plans);
        check_answers(db);
    }
}

} // namespace

TEST_CASE("dashboards count known events exactly over the flat table")
{
    check_dashboards(test::schema_layout::flat);
}

TEST_CASE("dashboards count known events exactly over the partitioned table")
{
    check_dashboards(test::schema_layout::partitioned);
}
