// sql/60_schedule.sql with the real pg_cron: the hourly maintenance job.
// pg_cron runs in the one database cron.database_name names, so this test
// uses that database, koreshield_cron, as scripts/test configures it.

#include "sql_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ks;

namespace {

constexpr const char* cron_database = "koreshield_cron";

} // namespace

TEST_CASE("the schedule holds exactly one hourly maintenance job, also when "
          "applied again")
{
    test::test_db admin(test::server_dsn() + " dbname=postgres");
    const std::string preload = admin.scalar("SHOW shared_preload_libraries");
    const std::string cron_db =
        admin.scalar("SELECT current_setting('cron.database_name', true)");
    if (preload.find("pg_cron") == std::string::npos ||
        cron_db != cron_database) {
        FAIL("the test server does not run pg_cron for "
             << cron_database << " (shared_preload_libraries='" << preload
             << "', cron.database_name='" << cron_db
             << "'): run the suites with scripts/test, which starts "
                "PostgreSQL with shared_preload_libraries=pg_cron "
                "cron.database_name=koreshield_cron "
                "cron.use_background_workers=on");
    }

    // pg_cron's launcher stays connected to its database: FORCE ends it,
    // and it connects again once the database is back.
    admin.exec(std::string("DROP DATABASE IF EXISTS ") + cron_database +
               " WITH (FORCE)");
    admin.exec(std::string("CREATE DATABASE ") + cron_database);
    test::test_db db(test::server_dsn() + " dbname=" + cron_database);
    test::apply_schema(db, test::schema_layout::partitioned);

    const std::string schedule = test::source_text("sql/60_schedule.sql");
    const std::string job =
        "koreshield-maintenance|7 * * * *|CALL koreshield_maintenance()|" +
        std::string(cron_database) + "|t";
    const std::string jobs =
        "SELECT jobname, schedule, command, database, active FROM cron.job";

    db.exec(schedule);
    CHECK(test::rows_text(db, jobs) == job);

    db.exec(schedule);
    CHECK(test::rows_text(db, jobs) == job);
}
