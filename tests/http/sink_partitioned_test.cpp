// The real koreshield-sink against the partitioned layout (sql/10_events.sql,
// sql/30_partitions.sql): it COPYs into the parent and PostgreSQL routes
// each row to its month. Events far in the past or future land in the
// default partition; without one, PostgreSQL refuses them and they must
// become dead letters while the rest of their request commits.

#include "sink_fixture.hpp"
#include "support/partition_moments.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace ks::test;

namespace {

constexpr const char* default_partition = "koreshield_events_default";

/// A top-level KoreShield record at `m`, one of three shapes so that
/// every column (and attack_type, which PostgreSQL derives from the
/// taxonomy) varies.
sample_event dated_event(const std::string& tag, const moment& m,
                         std::size_t shape)
{
    sample_event e;
    expected_row& r = e.row;
    r.event_time = m.utc;
    r.request_id = tag + "-" + m.label;
    const std::string stamp = json_quote(m.stamp);
    const std::string rid = json_quote(r.request_id);
    switch (shape % 3) {
    case 0:
        r.taxonomy = R"({"type":"custom_rule","categories":["pii"]})";
        e.json = "{\"timestamp\":" + stamp +
                 ",\"event\":\"custom_rule_hit\",\"severity\":\"High\","
                 "\"blocked\":true,\"request_id\":" +
                 rid +
                 ",\"provider\":\"openai\",\"model\":\"gpt-4o\","
                 "\"taxonomy\":" +
                 *r.taxonomy + "}";
        r.event_type = "custom_rule_hit";
        r.severity = "high";
        r.provider = "openai";
        r.model = "gpt-4o";
        r.blocked = true;
        break;
    case 1:
        e.json = "{\"timestamp\":" + stamp +
                 ",\"event\":\"request_allowed\",\"level\":\"info\","
                 "\"request_id\":" +
                 rid + "}";
        r.event_type = "request_allowed";
        r.severity = "info";
        break;
    default:
        r.taxonomy = R"({"type":"jailbreak","confidence":0.91})";
        e.json = "{\"timestamp\":" + stamp +
                 ",\"event\":\"request_blocked\",\"level\":\"warning\","
                 "\"request_id\":" +
                 rid + ",\"taxonomy\":" + *r.taxonomy + "}";
        r.event_type = "request_blocked";
        r.severity = "warning";
        r.blocked = true; // from the event type
        break;
    }
    r.metadata = e.json;
    return e;
}

std::vector<sample_event> dated_events(const std::string& tag,
                                       const std::vector<moment>& at)
{
    std::vector<sample_event> out;
    for (std::size_t i = 0; i < at.size(); ++i)
        out.push_back(dated_event(tag, at[i], i));
    return out;
}

/// Where each row of `tag` lies, "label:partition" in label order.
std::string placement(test_db& db, const std::string& tag)
{
    return db.scalar("SELECT string_agg(substr(request_id, " +
                     std::to_string(tag.size() + 2) +
                     ") || ':' || tableoid::regclass::text, ',' ORDER BY "
                     "request_id) FROM koreshield_events WHERE request_id "
                     "LIKE '" +
                     tag + "-%'");
}

/// What placement() must give for the moments.
std::string expected_placement(std::vector<moment> at)
{
    std::sort(at.begin(), at.end(), [](const moment& a, const moment& b) {
        return a.label < b.label;
    });
    std::string out;
    for (const moment& m : at)
        out += (out.empty() ? "" : ",") + m.label + ":" +
               (m.has_month ? partition_of(m) : default_partition);
    return out;
}

/// ids with their request ids, to see that moving rows kept them.
std::string ids(test_db& db)
{
    return db.scalar("SELECT string_agg(id || ':' || request_id, ',' "
                     "ORDER BY id) FROM koreshield_events");
}

/// What koreshield_default_rows says about the months of `at` without a
/// partition, "YYYY-MM rows disposition" in month order.
std::string default_report(test_db& db, const std::vector<moment>& at)
{
    std::string months;
    for (const moment& m : at)
        if (!m.has_month)
            months += (months.empty() ? "'" : ",'") + m.utc.substr(0, 7) + "'";
    return db.scalar("SELECT coalesce(string_agg(to_char(month AT TIME ZONE "
                     "'UTC', 'YYYY-MM') || ' ' || row_count || ' ' || "
                     "disposition, ',' ORDER BY month), '') FROM "
                     "koreshield_default_rows WHERE to_char(month AT TIME "
                     "ZONE 'UTC', 'YYYY-MM') IN (" +
                     months + ")");
}

/// The request's line in the sink's ledger: received, loaded, dead
/// letters and blank lines.
std::string ledger_counts(test_db& db, const std::string& request_id)
{
    return db.scalar("SELECT received || ' ' || loaded || ' ' || "
                     "dead_lettered || ' ' || blank_lines FROM "
                     "koreshield_ingest_requests WHERE request_id = '" +
                     request_id + "'");
}

} // namespace

TEST_CASE("events of any date load once, in their month's partition or in "
          "the default one")
{
    sink_fixture f({}, schema_layout::partitioned);
    const std::vector<moment> at = partition_moments(f.db);
    REQUIRE(at[3].has_month == false); // five months back: not premade

    // The same dates twice: identity NDJSON, and zstd NDJSON together
    // with Vector's shapes (dated in February 2026, wherever that falls).
    const auto plain = dated_events("plain", at);
    auto packed = dated_events("zstd", at);
    const auto shaped = koreshield_events(0, 14, 0x9a27);
    packed.insert(packed.end(), shaped.begin(), shaped.end());

    auto res =
        f.send({"POST", "/ingest", vector_headers("application/x-ndjson"),
                vector_ndjson(plain)});
    const std::string first = require_loaded(res, f.sink, 7, 7, 0);
    res = f.send({"POST", "/ingest",
                  vector_headers("application/x-ndjson", "zstd"),
                  zstd_streamed(vector_ndjson(packed))});
    const std::string second = require_loaded(res, f.sink, 21, 21, 0);
    CHECK(ledger_counts(f.db, first) == "7 7 0 0");
    CHECK(ledger_counts(f.db, second) == "21 21 0 0");

    // Every event is a row, once, every column as sent.
    auto all = plain;
    all.insert(all.end(), packed.begin(), packed.end());
    require_rows(f.db, rows_of(all), f.sink);
    CHECK(f.db.scalar("SELECT count(DISTINCT request_id) FROM "
                      "koreshield_events") == "28");
    CHECK(f.count("koreshield_dead_letters") == "0");

    // Each row in its month, the far ones in the default partition.
    CHECK(placement(f.db, "plain") == expected_placement(at));
    CHECK(placement(f.db, "zstd") == expected_placement(at));
    CHECK(misplaced_rows(f.db) == "0");
    CHECK(f.count("ONLY koreshield_events_default") ==
          f.db.scalar("SELECT count(*) FROM koreshield_events WHERE "
                      "tableoid = 'koreshield_events_default'::regclass"));

    // attack_type is PostgreSQL's copy of the taxonomy's type, in every
    // partition; the sink never names it.
    CHECK(f.db.scalar("SELECT count(*) FROM koreshield_events WHERE "
                      "attack_type IS DISTINCT FROM taxonomy->>'type'") == "0");
    CHECK(f.db.scalar("SELECT string_agg(coalesce(attack_type, 'NULL'), ',' "
                      "ORDER BY request_id) FROM koreshield_events WHERE "
                      "request_id IN ('plain-y1970', 'plain-y2031', "
                      "'plain-y9999')") == "NULL,jailbreak,custom_rule");

    // The default partition's rows are reported with what maintenance
    // will do with them: five months back gets a partition, 1970 is past
    // the 13 months kept, 2031 and 9999 are beyond the months premade.
    const std::string back5 = at[3].utc.substr(0, 7);
    CHECK(default_report(f.db, at) == "1970-01 2 too_old," + back5 +
                                          " 2 movable,2031-06 2 too_far,"
                                          "9999-12 2 too_far");
    CHECK(f.db.scalar("SELECT sum(row_count) FROM koreshield_default_rows") ==
          f.count("ONLY koreshield_events_default"));

    // Maintenance moves the movable rows into a partition of their own,
    // keeping ids and columns; nothing is lost or doubled on the way.
    const std::string before = ids(f.db);
    f.db.exec("CALL koreshield_maintenance()");
    require_rows(f.db, rows_of(all), f.sink);
    CHECK(ids(f.db) == before);
    CHECK(misplaced_rows(f.db) == "0");
    CHECK(f.db.scalar("SELECT tableoid::regclass::text FROM koreshield_events "
                      "WHERE request_id = 'plain-back5'") ==
          partition_of(at[3]));
    CHECK(default_report(f.db, at) ==
          "1970-01 2 too_old,2031-06 2 too_far,9999-12 2 too_far");
    CHECK(f.db.scalar("SELECT count(*) FROM koreshield_default_rows WHERE "
                      "disposition = 'movable'") == "0");
}

TEST_CASE("without a default partition, events PostgreSQL has no partition "
          "for become dead letters and the rest of the request commits")
{
    // What an operator who dropped the default partition gets: PostgreSQL
    // refuses a row without a partition (SQLSTATE 23514). CASCADE: the
    // view koreshield_default_rows reads the default partition.
    sink_fixture f({}, schema_layout::partitioned);
    f.db.exec("ALTER TABLE koreshield_events DETACH PARTITION "
              "koreshield_events_default; DROP TABLE "
              "koreshield_events_default CASCADE");
    const std::vector<moment> at = partition_moments(f.db);
    const auto events = dated_events("mix", at);

    // A sink started now says at start-up what will become of them.
    {
        sink_process again(sink_args(f.dsn, {}));
        INFO("second sink stderr:\n" << again.stderr_text());
        CHECK(again.stderr_text().find("koreshield_events has no default "
                                       "partition") != std::string::npos);
        CHECK(again.stop() == 0);
    }
    const sample_event& now = events[0];
    const sample_event& last = events[1];
    const sample_event& back3 = events[2];
    const sample_event& back5 = events[3];
    const sample_event& y1970 = events[4];
    const sample_event& y2031 = events[5];
    const sample_event& y9999 = events[6];

    // Refused rows first, side by side and last, among good rows, a
    // malformed line and a blank line, so record indexes have gaps.
    const std::string malformed =
        R"({"event":"request_allowed","request_id":"mix-cut","timestamp":)";
    const std::string body = now.json + "\n" + y9999.json + "\n" + malformed +
                             "\n" + last.json + "\n" + y2031.json + "\n\n" +
                             y1970.json + "\n" + back3.json + "\n" +
                             back5.json + "\n";
    const std::string coded = gzip_member(body);
    auto res = f.send({"POST", "/ingest",
                       vector_headers("application/x-ndjson", "gzip"), coded});
    const std::string id = require_loaded(res, f.sink, 8, 3, 5, 1);
    CHECK(json_number(res.body, "received") ==
          json_number(res.body, "loaded") +
              json_number(res.body, "dead_lettered"));

    require_rows(f.db, rows_of({now, last, back3}), f.sink);
    CHECK(misplaced_rows(f.db) == "0");

    // The refused events, each with its place in the body and its bytes
    // (for a refused row: the event as mapped, which for a top-level
    // record is the record unchanged). README, "Dead letters": line and
    // byte offset are not kept for them; record_index finds the event.
    const auto dead =
        f.db.query("SELECT record_index, reason_code, source_kind, source, "
                   "coalesce(line_number::text, 'NULL'), "
                   "coalesce(byte_offset::text, 'NULL'), encode(raw, 'hex'), "
                   "raw_bytes, reason FROM koreshield_dead_letters "
                   "ORDER BY record_index");
    struct expected_letter {
        const char* index;
        const char* code;
        std::string raw;
    };
    const std::vector<expected_letter> expected = {
        {"1", "rejected_by_database", y9999.json},
        {"2", "malformed_json", malformed},
        {"4", "rejected_by_database", y2031.json},
        {"5", "rejected_by_database", y1970.json},
        {"7", "rejected_by_database", back5.json},
    };
    REQUIRE(dead.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const bool refused = std::string(expected[i].code) != "malformed_json";
        INFO("dead letter " << i << ": " << dead[i][8].value_or("NULL"));
        CHECK(dead[i][0] == expected[i].index);
        CHECK(dead[i][1] == expected[i].code);
        CHECK(dead[i][2] == "request");
        CHECK(dead[i][3] == id);
        CHECK(dead[i][6] == to_hex(expected[i].raw));
        CHECK(dead[i][7] == std::to_string(expected[i].raw.size()));
        if (!refused) continue;
        CHECK(dead[i][4] == "NULL");
        CHECK(dead[i][5] == "NULL");
        CHECK(dead[i][8].value_or("").find(
                  "no partition of relation \"koreshield_events\" found "
                  "for row") != std::string::npos);
    }

    // Counts reconcile everywhere: the answer, the ledger, the tables.
    CHECK(ledger_counts(f.db, id) == "8 3 5 1");
    CHECK(f.count("koreshield_events") == "3");
    CHECK(f.count("koreshield_dead_letters") == "5");

    // A retry is known by the ledger, with the amended counts, and
    // stores nothing.
    res = f.send({"POST", "/ingest",
                  vector_headers("application/x-ndjson", "gzip"), coded});
    require_loaded(res, f.sink, 8, 3, 5, 1);
    CHECK(json_string(res.body, "duplicate_of") == id);
    CHECK(f.count("koreshield_events") == "3");
    CHECK(f.count("koreshield_dead_letters") == "5");

    // A request of far events only: every row refused, still 200. Then
    // the sink goes on storing as before.
    const auto far = dated_events("far", {at[4], at[5], at[6]});
    res = f.send({"POST", "/ingest", vector_headers("application/x-ndjson"),
                  vector_ndjson(far)});
    const std::string far_id = require_loaded(res, f.sink, 3, 0, 3);
    CHECK(f.db.scalar("SELECT string_agg(record_index || ':' || reason_code, "
                      "',' ORDER BY record_index) FROM "
                      "koreshield_dead_letters WHERE source = '" +
                      far_id + "'") ==
          "0:rejected_by_database,1:rejected_by_database,"
          "2:rejected_by_database");
    const auto near = dated_events("near", {at[0], at[1], at[2]});
    res = f.send({"POST", "/ingest",
                  vector_headers("application/x-ndjson", "zstd"),
                  zstd_streamed(vector_ndjson(near))});
    require_loaded(res, f.sink, 3, 3, 0);
    auto stored = rows_of({now, last, back3});
    for (const auto& e : near)
        stored.push_back(e.row);
    require_rows(f.db, stored, f.sink);
    CHECK(f.count("koreshield_dead_letters") == "8");
}
