#include "writer_support.hpp"

#include "pg/copy_stream.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace ks;
using namespace std::string_literals;

namespace {

// Microseconds since 2000-01-01 UTC and the same instant as text.
struct instant {
    std::int64_t pg_us;
    const char* utc;
};

const instant instants[] = {
    {0, "2000-01-01 00:00:00.000000"},
    {1, "2000-01-01 00:00:00.000001"},
    {-1, "1999-12-31 23:59:59.999999"},
    {-946684800000000, "1970-01-01 00:00:00.000000"},
    {-960867739876544, "1969-07-20 20:17:40.123456"},
    {762525296789012, "2024-02-29 12:34:56.789012"},
    {252455615999999999, "9999-12-31 23:59:59.999999"},
    {-63082281599999999, "0001-01-01 00:00:00.000001"},
};

const std::string multibyte = "na\xc3\xafve \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c"
                              "\xac\xe8\xaa\x9e \xf0\x9f\x9a\x80";
const std::string quotes = "it's \"quoted\" \\ back\\\\slash\t'';--";

// Rows covering every column type, NULL where allowed, and JSON with
// nesting, escapes and numbers that jsonb must keep.
std::vector<test::event_row> sample_events()
{
    std::vector<test::event_row> rows;
    for (const instant& t : instants) {
        test::event_row r;
        r.event_time = t.pg_us;
        rows.push_back(r);
    }

    rows[0].provider = "openai";
    rows[0].model = "gpt-4o";
    rows[0].request_id = "req-0001";
    rows[0].blocked = true;
    rows[0].taxonomy = R"({"category": "injection", )"
                       R"("tags": ["a", "b", [1, 2, {"deep": null}]]})";
    rows[0].metadata = R"({"score": 0.97, "nested": )"
                       R"({"arr": [1, 2.5, -3e10, true, false, null]}, )"
                       R"("e": "\u00e9\ud83d\ude80"})";

    rows[1].event_type = multibyte;
    rows[1].severity = quotes;
    rows[1].metadata = "{}";

    rows[2].provider = multibyte;
    rows[2].model = quotes;
    rows[2].request_id = "";
    rows[2].blocked = true;
    rows[2].taxonomy = "[]";
    rows[2].metadata = R"({"quote": "she said \"hi\"", "path": "C:\\dir"})";

    rows[3].taxonomy = R"({"k": "\u65e5\u672c", "n": -0.5e-3})";
    rows[4].metadata = R"("just a string")";
    rows[5].metadata = "12345678901234567890.5";
    rows[6].blocked = true;
    rows[7].taxonomy = "null";
    return rows;
}

std::vector<test::dead_letter_row> sample_dead_letters()
{
    std::string every_byte;
    for (int i = 0; i < 256; ++i)
        every_byte += static_cast<char>(i);

    std::vector<test::dead_letter_row> rows(3);
    rows[0].received_at = 762525296789012;
    rows[0].source = "req-42";
    rows[0].record_index = 0;
    rows[0].line_number = 1;
    rows[0].byte_offset = 0;
    rows[0].reason = "unexpected end of input at byte 17";
    rows[0].raw = "\x00\xff\xc3\x28{\"a\":"s;
    rows[0].raw_bytes = 1000;

    rows[1].received_at = -1;
    rows[1].source_kind = "file";
    rows[1].source = "/var/log/ks/" + multibyte + ".log";
    rows[1].reason_code = "bad_timestamp";
    rows[1].reason = quotes;
    rows[1].raw = every_byte;
    rows[1].raw_bytes = 256;

    rows[2].received_at = 252455615999999999;
    rows[2].record_index = std::numeric_limits<std::int64_t>::max();
    rows[2].line_number = std::numeric_limits<std::int64_t>::min();
    rows[2].byte_offset = -1;
    rows[2].raw = "";
    rows[2].raw_bytes = 0;
    return rows;
}

pg::commit_outcome write(pg::writer& w, std::shared_ptr<pg::batch> b)
{
    test::outcome_slot slot;
    w.submit(std::move(b), slot.callback());
    return slot.wait();
}

} // namespace

TEST_CASE("every event column reads back exactly as it was encoded")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));
    auto rows = sample_events();

    // The taxonomy and metadata of two rows are written from pieces.
    auto b = std::make_shared<pg::batch>();
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i != 3) {
            test::add_event(b->events, rows[i]);
            continue;
        }
        std::array<std::string_view, 3> type{"policy", "_", "violation"};
        std::array<std::string_view, 2> json{R"({"k": "\u65e5)",
                                             R"(\u672c", "n": -0.5e-3})"};
        rows[i].event_type = "policy_violation";
        b->events.begin_row(9);
        b->events.timestamptz(rows[i].event_time);
        b->events.text(type);
        b->events.text(rows[i].severity);
        b->events.null();
        b->events.null();
        b->events.null();
        b->events.boolean(rows[i].blocked);
        b->events.jsonb(json);
        b->events.null();
    }
    b->events.finish();
    b->dead_letters.finish();

    pg::commit_outcome o = write(w, b);
    REQUIRE(o.kind == pg::outcome_kind::committed);
    CHECK(o.events_loaded == rows.size());
    CHECK(o.dead_letters_loaded == 0);

    auto got = db.query(
        "SELECT id, ((extract(epoch FROM event_time) - 946684800) * 1000000)"
        "::bigint, to_char(event_time AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD HH24:MI:SS.US'), event_type, severity, provider, model, "
        "request_id, blocked FROM koreshield_events ORDER BY id");
    REQUIRE(got.size() == rows.size());

    for (std::size_t i = 0; i < rows.size(); ++i) {
        const test::event_row& want = rows[i];
        const test::text_row& row = got[i];
        CAPTURE(i);
        CHECK(row[1] == std::to_string(want.event_time));
        CHECK(row[2] == std::string(instants[i].utc));
        CHECK(row[3] == want.event_type);
        CHECK(row[4] == want.severity);
        CHECK(row[5] == want.provider);
        CHECK(row[6] == want.model);
        CHECK(row[7] == want.request_id);
        CHECK(row[8] == std::string(want.blocked ? "t" : "f"));

        // jsonb equality compares values, not spelling; dollar quotes
        // keep the JSON's own quotes and backslashes intact.
        std::string id = *row[0];
        auto json = [](const std::optional<std::string>& v) {
            return v ? "$j$" + *v + "$j$::jsonb" : "NULL";
        };
        CHECK(db.scalar("SELECT taxonomy IS NOT DISTINCT FROM " +
                        json(want.taxonomy) +
                        " FROM koreshield_events WHERE id = " + id) == "t");
        CHECK(db.scalar("SELECT metadata IS NOT DISTINCT FROM " +
                        json(want.metadata) +
                        " FROM koreshield_events WHERE id = " + id) == "t");
        CHECK(db.scalar("SELECT event_time = timestamptz '" +
                        std::string(instants[i].utc) +
                        "+00' FROM koreshield_events WHERE id = " + id) == "t");
    }

    // Escapes were decoded by the server, and NULL stayed SQL NULL.
    CHECK(db.scalar("SELECT metadata->>'e' FROM koreshield_events "
                    "WHERE id = 1") == "\xc3\xa9\xf0\x9f\x9a\x80");
    CHECK(db.scalar("SELECT metadata #>> '{nested,arr,2}' FROM "
                    "koreshield_events WHERE id = 1") == "-30000000000");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events "
                    "WHERE taxonomy IS NULL") == "4");
    CHECK(db.scalar("SELECT jsonb_typeof(taxonomy) FROM koreshield_events "
                    "WHERE id = 8") == "null");
}

TEST_CASE("every dead-letter column reads back exactly, bytes included")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));
    auto rows = sample_dead_letters();

    auto b = std::make_shared<pg::batch>();
    for (const auto& r : rows)
        test::add_dead_letter(b->dead_letters, r);
    b->events.finish();
    b->dead_letters.finish();

    pg::commit_outcome o = write(w, b);
    REQUIRE(o.kind == pg::outcome_kind::committed);
    CHECK(o.events_loaded == 0);
    CHECK(o.dead_letters_loaded == rows.size());

    auto got = db.query(
        "SELECT id, ((extract(epoch FROM received_at) - 946684800) * 1000000)"
        "::bigint, source_kind, source, record_index, line_number, "
        "byte_offset, reason_code, reason, encode(raw, 'hex'), raw_bytes "
        "FROM koreshield_dead_letters ORDER BY id");
    REQUIRE(got.size() == rows.size());

    auto number = [](const std::optional<std::int64_t>& v) {
        return v ? std::optional<std::string>(std::to_string(*v))
                 : std::nullopt;
    };
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const test::dead_letter_row& want = rows[i];
        const test::text_row& row = got[i];
        CAPTURE(i);
        CHECK(row[1] == std::to_string(want.received_at));
        CHECK(row[2] == want.source_kind);
        CHECK(row[3] == want.source);
        CHECK(row[4] == number(want.record_index));
        CHECK(row[5] == number(want.line_number));
        CHECK(row[6] == number(want.byte_offset));
        CHECK(row[7] == want.reason_code);
        CHECK(row[8] == want.reason);
        CHECK(row[9] == test::hex(want.raw));
        CHECK(row[10] == std::to_string(want.raw_bytes));
        CHECK(db.scalar("SELECT raw = '\\x" + test::hex(want.raw) +
                        "'::bytea AND length(raw) = " +
                        std::to_string(want.raw.size()) +
                        " FROM koreshield_dead_letters WHERE id = " +
                        *row[0]) == "t");
    }
}

TEST_CASE("events and dead letters of one batch commit together")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));

    pg::commit_outcome o = write(w, test::simple_batch(3, 2));

    REQUIRE(o.kind == pg::outcome_kind::committed);
    CHECK(o.events_loaded == 3);
    CHECK(o.dead_letters_loaded == 2);
    CHECK(o.sqlstate.empty());
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "3");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_dead_letters") == "2");
}

TEST_CASE("a batch spanning many COPY chunks and a field larger than one")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    pg::writer w(test::config_for(dsn, 1));

    // About 1.5 MiB of rows, plus one 1 MiB field cut across chunks; it
    // goes in a column without an index, whose entries have a size limit.
    auto b = std::make_shared<pg::batch>();
    for (int i = 0; i < 5000; ++i) {
        test::event_row r;
        r.event_time = i;
        r.event_type = std::string(300, static_cast<char>('a' + i % 26));
        test::add_event(b->events, r);
    }
    test::event_row big;
    big.provider = std::string(1 << 20, 'z');
    test::add_event(b->events, big);
    b->events.finish();
    b->dead_letters.finish();
    REQUIRE(b->events.bytes().size() > 8 * pg::copy_stream::chunk_bytes);

    pg::commit_outcome o = write(w, b);

    INFO(o.message);
    REQUIRE(o.kind == pg::outcome_kind::committed);
    CHECK(o.events_loaded == 5001);
    CHECK(db.scalar("SELECT sum(length(event_type)) FROM koreshield_events") ==
          std::to_string(5000 * 300 + 16));
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events WHERE "
                    "provider = repeat('z', 1048576)") == "1");
    CHECK(db.scalar("SELECT count(DISTINCT event_type) FROM "
                    "koreshield_events") == "27");
}

TEST_CASE("a batch without rows commits without reaching the database")
{
    // The socket directory does not exist: any round trip would fail.
    pg::writer w(test::config_for(
        "host=/tmp/ks-no-such-dir-for-pg-tests port=5432 user=postgres", 1));

    pg::commit_outcome o = write(w, test::simple_batch(0, 0));

    CHECK(o.kind == pg::outcome_kind::committed);
    CHECK(o.events_loaded == 0);
    CHECK(o.dead_letters_loaded == 0);
}

TEST_CASE("a schema-qualified table name reaches the right table")
{
    std::string dsn = test::fresh_database("pg_writer");
    test::test_db db(dsn);
    db.exec("CREATE SCHEMA \"Odd \"\"Schema\"\"\"; CREATE TABLE "
            "\"Odd \"\"Schema\"\"\".\"Events\" "
            "(LIKE koreshield_events INCLUDING DEFAULTS)");
    pg::writer_config c = test::config_for(dsn, 1);
    c.events.table = "Odd \"Schema\".Events";
    pg::writer w(c);

    pg::commit_outcome o = write(w, test::simple_batch(2, 0));

    REQUIRE(o.kind == pg::outcome_kind::committed);
    CHECK(db.scalar("SELECT count(*) FROM \"Odd \"\"Schema\"\"\".\"Events\"") ==
          "2");
    CHECK(db.scalar("SELECT count(*) FROM koreshield_events") == "0");
}

TEST_CASE("a writer is refused a bad table name, no threads or no queue")
{
    pg::writer_config c = test::config_for("", 1);
    c.events.table = "db.schema.table";
    CHECK_THROWS_AS(pg::writer(c), std::invalid_argument);

    c = test::config_for("", 1);
    c.dead_letters.table = "";
    CHECK_THROWS_AS(pg::writer(c), std::invalid_argument);

    c = test::config_for("", 0);
    CHECK_THROWS_AS(pg::writer(c), std::invalid_argument);

    c = test::config_for("", 1);
    c.max_queued = 0;
    CHECK_THROWS_AS(pg::writer(c), std::invalid_argument);
}
