// Retention of the tables beside the events: koreshield_prune_side_tables()
// of sql/40_maintenance.sql, as koreshield_retention sets it.

#include "sql_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace ks;

namespace {

std::string set_keep(const std::string& table, const std::string& keep)
{
    return "UPDATE koreshield_retention SET keep = " + keep +
           " WHERE table_name = '" + table + "'";
}

// Dead letters and ledger entries `age` old, named by `label`.
void add_dead_letter(test::test_db& db, const std::string& label,
                     const std::string& age)
{
    db.exec("INSERT INTO koreshield_dead_letters (received_at, source_kind, "
            "source, reason_code, reason, raw, raw_bytes) VALUES (now() - "
            "interval '" +
            age + "', 'request', '" + label +
            "', 'malformed_json', 'not JSON', '\\x7b', 1)");
}

void add_request(test::test_db& db, const std::string& label,
                 const std::string& age)
{
    db.exec("INSERT INTO koreshield_ingest_requests (request_key, key_source, "
            "request_id, received_at, received, loaded, dead_lettered, "
            "blank_lines) VALUES (sha256('" +
            label + "'), 'body', '" + label + "', now() - interval '" + age +
            "', 1, 1, 0, 0)");
}

// A load of file `id`, finished `age` ago ("" for unfinished), grown from
// load `from` (0 for none).
void add_load(test::test_db& db, int id, const std::string& age, int from)
{
    const std::string n = std::to_string(id);
    db.exec("INSERT INTO koreshield_load_files (load_id, content_sha256, "
            "path, file_bytes, modified_at, chunk_bytes, grown_from, "
            "started_at, completed_at) VALUES (" +
            n + ", sha256('" + n + "'), '/var/log/ks/" + n +
            ".log', 100, now(), 65536, " +
            (from == 0 ? "NULL" : std::to_string(from)) + ", now() - " +
            "interval '200 days', " +
            (age.empty() ? "NULL" : "now() - interval '" + age + "'") + ")");
}

void add_chunk(test::test_db& db, int load_id)
{
    db.exec("INSERT INTO koreshield_load_chunks (load_id, chunk_offset, "
            "next_offset, records, loaded, dead_lettered, blank_lines) "
            "VALUES (" +
            std::to_string(load_id) + ", 0, 100, 1, 1, 0, 0)");
}

} // namespace

TEST_CASE("pruning the side tables deletes exactly what their keep "
          "intervals expire, and a NULL keep keeps everything")
{
    std::string dsn = test::fresh_database("sql_prune");
    test::test_db db(dsn);

    add_dead_letter(db, "dl_old", "40 days");
    add_dead_letter(db, "dl_older", "31 days");
    add_dead_letter(db, "dl_new", "10 days");
    add_request(db, "rq_old", "8 days");
    add_request(db, "rq_new", "6 days");

    // Loads kept 60 days in the second step. Chains are files that grew:
    // each later load continued (grown_from) the one before.
    add_load(db, 1, "90 days", 0);   // expired, with a chunk
    add_load(db, 2, "90 days", 0);   // expired, continued by 3
    add_load(db, 3, "1 day", 2);     // kept
    add_load(db, 4, "100 days", 0);  // expired, start of 4 <- 5 <- 6
    add_load(db, 5, "80 days", 4);   // expired, continued by kept 6
    add_load(db, 6, "2 days", 5);    // kept
    add_load(db, 7, "100 days", 0);  // expired, start of 7 <- 8
    add_load(db, 8, "70 days", 7);   // expired, the end of its chain
    add_load(db, 9, "", 0);          // unfinished, started long ago
    add_load(db, 10, "100 days", 0); // expired, continued by unfinished 11
    add_load(db, 11, "", 10);        // unfinished
    add_load(db, 12, "5 days", 0);   // kept
    add_chunk(db, 1);
    add_chunk(db, 3);

    db.exec(set_keep("koreshield_dead_letters", "'30 days'"));
    db.exec(set_keep("koreshield_ingest_requests", "'7 days'"));
    db.exec(set_keep("koreshield_load_files", "NULL"));
    CHECK(test::rows_text(db, "SELECT * FROM koreshield_prune_side_tables() "
                              "ORDER BY 1") ==
          "koreshield_dead_letters|2\nkoreshield_ingest_requests|1");
    CHECK(test::rows_text(db, "SELECT source FROM koreshield_dead_letters") ==
          "dl_new");
    CHECK(test::rows_text(db, "SELECT request_id FROM "
                              "koreshield_ingest_requests") == "rq_new");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_load_files") == "12");

    // Slices of one row make every table take several passes, and a
    // chain of expired loads goes link by link; in whole slices, a pass
    // that deletes the end of a chain must not be the last.
    db.exec(set_keep("koreshield_load_files", "'60 days'"));
    std::string pruned;
    SECTION("in slices of the default size")
    {
        pruned = test::rows_text(db, "SELECT * FROM "
                                     "koreshield_prune_side_tables() "
                                     "ORDER BY 1");
    }
    SECTION("in slices of one row")
    {
        pruned = test::rows_text(db, "SELECT * FROM "
                                     "koreshield_prune_side_tables(1) "
                                     "ORDER BY 1");
    }
    CHECK(pruned == "koreshield_dead_letters|0\nkoreshield_ingest_requests|0\n"
                    "koreshield_load_files|3");
    CHECK(test::rows_text(db, "SELECT string_agg(load_id::text, ',' ORDER BY "
                              "load_id) FROM koreshield_load_files") ==
          "2,3,4,5,6,9,10,11,12");
    CHECK(test::rows_text(db, "SELECT load_id FROM koreshield_load_chunks") ==
          "3");
    CHECK(test::rows_text(db, "SELECT source FROM koreshield_dead_letters") ==
          "dl_new");
    CHECK(test::rows_text(db, "SELECT request_id FROM "
                              "koreshield_ingest_requests") == "rq_new");
}

TEST_CASE("maintenance prunes the side tables with the default retention")
{
    std::string dsn = test::fresh_database("sql_prune_default");
    test::test_db db(dsn);
    add_dead_letter(db, "dl_old", "91 days");
    add_dead_letter(db, "dl_new", "89 days");
    add_request(db, "rq_old", "31 days");
    add_request(db, "rq_new", "29 days");
    add_load(db, 1, "10 years", 0);

    db.exec("CALL koreshield_maintenance()");

    CHECK(test::rows_text(db, "SELECT source FROM koreshield_dead_letters") ==
          "dl_new");
    CHECK(test::rows_text(db, "SELECT request_id FROM "
                              "koreshield_ingest_requests") == "rq_new");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_load_files") == "1");
}
