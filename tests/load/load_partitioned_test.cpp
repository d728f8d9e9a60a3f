// The real koreshield-load against the partitioned layout
// (sql/10_events.sql, sql/30_partitions.sql): it COPYs into the parent and
// PostgreSQL routes each row to its month. Events far in the past or
// future land in the default partition; without one, PostgreSQL refuses
// them and they must become dead letters of their file while the rest of
// the file loads.

#include "support/coders.hpp"
#include "support/partition_moments.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

using ks::test::gzip_member;
using ks::test::misplaced_rows;
using ks::test::moment;
using ks::test::partition_moments;
using ks::test::schema_layout;
using ks::test::temp_dir;
using ks::test::test_db;
using ks::test::zstd_sized;

namespace {

std::string load_binary()
{
    return ks::test::program_from_env("KORESHIELD_LOAD_BIN");
}

/// Runs the loader against `dsn`; output goes to `output`.
int load(const std::string& dsn, std::vector<std::string> args,
         std::string& output)
{
    args.insert(args.begin(), {"--dsn", dsn, "--progress", "none"});
    return ks::test::run_program(load_binary(), args, output);
}

void write_file(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

/// Event `i` of a file at `m`, request id `tag-label-i`, in one of three
/// shapes by i % 3 (see expected_columns()).
std::string event_line(const std::string& tag, std::size_t i, const moment& m)
{
    const std::string head = "{\"timestamp\":\"" + m.stamp +
                             "\",\"request_id\":\"" + tag + "-" + m.label +
                             "-" + std::to_string(i) + "\",";
    switch (i % 3) {
    case 0:
        return head + "\"event\":\"custom_rule_hit\",\"severity\":\"high\","
                      "\"blocked\":true,\"provider\":\"openai\","
                      "\"taxonomy\":{\"type\":\"custom_rule\"}}";
    case 1:
        return head + "\"event\":\"request_allowed\",\"level\":\"info\"}";
    default:
        return head + "\"event\":\"request_blocked\",\"level\":\"warning\","
                      "\"taxonomy\":{\"type\":\"jailbreak\","
                      "\"confidence\":0.91}}";
    }
}

/// Rows whose event type, blocked flag and attack_type (filled by
/// PostgreSQL from taxonomy->>'type') are not those of their shape.
std::string wrong_columns(test_db& db)
{
    return db.scalar(R"(
        SELECT count(*) FROM koreshield_events
         WHERE event_type || ' ' || blocked || ' ' ||
               coalesce(attack_type, 'NULL') <>
               CASE split_part(request_id, '-', 3)::int % 3
                   WHEN 0 THEN 'custom_rule_hit true custom_rule'
                   WHEN 1 THEN 'request_allowed false NULL'
                   ELSE 'request_blocked true jailbreak' END)");
}

/// Rows whose event_time is not their moment's, "label time" per label.
std::string times(test_db& db)
{
    return db.scalar(R"(
        SELECT string_agg(t, ',' ORDER BY t) FROM (
            SELECT DISTINCT split_part(request_id, '-', 2) || ' ' ||
                   to_char(event_time AT TIME ZONE 'UTC',
                           'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS t
              FROM koreshield_events) AS d)");
}

/// "label time" for each moment in `at` that `stored` selects.
template <typename Pred>
std::string expected_times(std::vector<moment> at, Pred stored)
{
    std::vector<std::string> lines;
    for (const moment& m : at)
        if (stored(m)) lines.push_back(m.label + " " + m.utc);
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines)
        out += (out.empty() ? "" : ",") + l;
    return out;
}

std::string rows(test_db& db)
{
    return db.scalar("SELECT count(*) || ' ' || count(DISTINCT request_id) "
                     "FROM koreshield_events");
}

} // namespace

TEST_CASE("a loaded archive puts each event in its month's partition or in "
          "the default one, once")
{
    const std::string dsn =
        ks::test::fresh_database("load_part", schema_layout::partitioned);
    test_db db(dsn);
    temp_dir dir("load-part");
    const std::vector<moment> at = partition_moments(db);

    // 700 events, the seven moments in turn; small chunks make the file
    // many transactions, each with rows for several partitions.
    std::string text;
    for (std::size_t i = 0; i < 700; ++i)
        text += event_line("a", i, at[i % at.size()]) + "\n";
    const std::string path = dir.file("events.ndjson.zst");
    write_file(path, zstd_sized(text));

    std::string out;
    REQUIRE(load(dsn, {"--chunk-bytes", "4K", path}, out) == 0);
    INFO(out);
    CHECK(rows(db) == "700 700");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") == "0");
    CHECK(db.scalar("SELECT loaded || ' ' || dead_lettered || ' ' || records "
                    "FROM koreshield_load_files") == "700 0 700");
    CHECK(out.find("loaded " + path + ": 700 rows, 0 dead letters") !=
          std::string::npos);
    CHECK(out.find("warning") == std::string::npos);

    // Each moment's 100 rows together: in their month's partition, or in
    // the default one.
    std::string expected;
    for (const moment& m : at)
        expected += (expected.empty() ? "" : ",") + m.label + " " +
                    (m.has_month ? "koreshield_events_p" + m.utc.substr(0, 4) +
                                       "_" + m.utc.substr(5, 2)
                                 : std::string("koreshield_events_default")) +
                    " 100";
    CHECK(db.scalar("SELECT string_agg(label || ' ' || part || ' ' || n, "
                    "',' ORDER BY turn) FROM (SELECT split_part(request_id, "
                    "'-', 3)::int % 7 AS turn, split_part(request_id, '-', "
                    "2) AS label, tableoid::regclass::text AS part, "
                    "count(*) AS n FROM koreshield_events GROUP BY 1, 2, 3) "
                    "AS g") == expected);
    CHECK(misplaced_rows(db) == "0");
    CHECK(times(db) == expected_times(at, [](const moment&) { return true; }));
    CHECK(wrong_columns(db) == "0");

    // Known by its content the second time: nothing new.
    REQUIRE(load(dsn, {"--chunk-bytes", "4K", path}, out) == 0);
    CHECK(out.find("already loaded") != std::string::npos);
    CHECK(out.find("warning: koreshield_events_default holds rows of months "
                   "without a partition") != std::string::npos);
    CHECK(out.find("this run: 0 rows loaded, 0 dead letters") !=
          std::string::npos);
    CHECK(rows(db) == "700 700");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_load_files") == "1");
}

TEST_CASE("without a default partition, events PostgreSQL has no partition "
          "for are dead letters of their file and the rest loads")
{
    const std::string dsn =
        ks::test::fresh_database("load_part", schema_layout::partitioned);
    test_db db(dsn);
    temp_dir dir("load-part");
    // CASCADE: the view koreshield_default_rows reads the partition.
    db.exec("ALTER TABLE koreshield_events DETACH PARTITION "
            "koreshield_events_default; DROP TABLE "
            "koreshield_events_default CASCADE");
    const std::vector<moment> at = partition_moments(db);

    // 300 records, the first and the last refused, a malformed line and
    // a blank line among them; what each record must become is noted as
    // the file is written.
    struct letter {
        std::size_t index;
        std::size_t line;
        std::size_t offset;
        std::string code;
        std::string raw;
    };
    std::vector<letter> letters;
    std::string text;
    std::size_t line = 1;
    std::size_t loaded = 0;
    const std::size_t records = 300;
    for (std::size_t i = 0; i < records; ++i) {
        const moment& m = at[(i + 6) % at.size()]; // 0 is 9999, 299 is 1970
        std::string record = event_line("b", i, m);
        std::string code = m.has_month ? "" : "rejected_by_database";
        if (i == 150) {
            record = "{\"timestamp\":\"" + m.stamp + "\",\"event\":";
            code = "malformed_json";
        }
        if (code.empty())
            ++loaded;
        else
            letters.push_back({i, line, text.size(), code, record});
        text += record + "\n";
        ++line;
        if (i == 200) {
            text += "\n";
            ++line;
        }
    }
    const std::size_t dead = letters.size();
    REQUIRE(letters.front().index == 0);
    REQUIRE(letters.back().index == records - 1);
    const std::string path = dir.file("events.ndjson.gz");
    write_file(path, gzip_member(text));

    // Small chunks, so refusals happen in many transactions.
    std::string out;
    CHECK(load(dsn, {"--chunk-bytes", "4K", path}, out) == 3);
    INFO(out);
    CHECK(out.find("warning: koreshield_events has no default partition") !=
          std::string::npos);
    CHECK(rows(db) == std::to_string(loaded) + " " + std::to_string(loaded));
    CHECK(misplaced_rows(db) == "0");
    CHECK(times(db) ==
          expected_times(at, [](const moment& m) { return m.has_month; }));
    CHECK(wrong_columns(db) == "0");

    // Each dead letter names its file and its record. For a refused row
    // raw is the event as mapped (here the line unchanged); README, "Dead
    // letters": line and byte offset are kept only for records the
    // loader itself could not map.
    const auto stored = db.query(
        "SELECT record_index, reason_code, source_kind, source, "
        "coalesce(line_number::text, 'NULL'), "
        "coalesce(byte_offset::text, 'NULL'), encode(raw, 'hex'), raw_bytes, "
        "reason FROM koreshield_dead_letters ORDER BY record_index");
    REQUIRE(stored.size() == dead);
    for (std::size_t i = 0; i < dead; ++i) {
        const letter& l = letters[i];
        const bool refused = l.code == "rejected_by_database";
        INFO("record " << l.index << ": " << stored[i][8].value_or("NULL"));
        CHECK(stored[i][0] == std::to_string(l.index));
        CHECK(stored[i][1] == l.code);
        CHECK(stored[i][2] == "file");
        CHECK(stored[i][3] == path);
        CHECK(stored[i][4] == (refused ? "NULL" : std::to_string(l.line)));
        CHECK(stored[i][5] == (refused ? "NULL" : std::to_string(l.offset)));
        CHECK(stored[i][6] == ks::test::to_hex(l.raw));
        CHECK(stored[i][7] == std::to_string(l.raw.size()));
        if (refused)
            CHECK(stored[i][8].value_or("").find(
                      "no partition of relation \"koreshield_events\" "
                      "found for row") != std::string::npos);
    }

    // Counts reconcile: the manifest, the report, the tables.
    REQUIRE(loaded + dead == records);
    CHECK(db.scalar("SELECT loaded || ' ' || dead_lettered || ' ' || "
                    "records || ' ' || blank_lines FROM "
                    "koreshield_load_files") ==
          std::to_string(loaded) + " " + std::to_string(dead) + " " +
              std::to_string(records) + " 1");
    CHECK(db.scalar("SELECT sum(loaded) || ' ' || sum(dead_lettered) FROM "
                    "koreshield_load_chunks") ==
          std::to_string(loaded) + " " + std::to_string(dead));
    CHECK(out.find("loaded " + path + ": " + std::to_string(loaded) +
                   " rows, " + std::to_string(dead) + " dead letters") !=
          std::string::npos);

    // Known afterwards, like any loaded file: nothing stored twice.
    CHECK(load(dsn, {"--chunk-bytes", "4K", path}, out) == 0);
    CHECK(out.find("already loaded") != std::string::npos);
    CHECK(rows(db) == std::to_string(loaded) + " " + std::to_string(loaded));
    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") ==
          std::to_string(dead));
}
