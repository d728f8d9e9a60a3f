// The pipeline without HTTP: bodies go through ingest::preparer and the
// writer into a real PostgreSQL, and what is stored is read back.

#include "ingest/pipeline.hpp"
#include "pg/writer.hpp"
#include "support/coders.hpp"
#include "support/test_db.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <memory>
#include <string>

using namespace std::string_literals;

namespace {

// A database with the schema, a writer on it, and a preparer.
struct fixture {
    std::string dsn = ks::test::fresh_database("ingest");
    ks::test::test_db db{dsn};
    ks::pg::writer writer{ks::pg::writer_config{
        dsn,
        {"koreshield_events",
         std::string(ks::ingest::event_columns)},
        {"koreshield_dead_letters",
         std::string(ks::ingest::dead_letter_columns)},
        1}};
    ks::ingest::preparer preparer;

    // Prepares and commits one body; returns the counts.
    ks::ingest::counts load(std::string_view body,
                            std::string_view encoding = "",
                            std::string_view request = "req-1")
    {
        auto b = std::make_shared<ks::pg::batch>();
        ks::ingest::counts tally;
        auto r = preparer.prepare(encoding, {body.data(), body.size()},
                                  {"request", request},
                                  ks::ingest::pg_now(), *b, tally);
        REQUIRE(r.status == ks::ingest::prepare_status::ok);
        REQUIRE(tally.received == tally.loaded + tally.dead_lettered);

        std::promise<ks::pg::commit_outcome> done;
        writer.submit(b, [&](ks::pg::commit_outcome o) {
            done.set_value(std::move(o));
        });
        auto outcome = done.get_future().get();
        INFO(outcome.message);
        REQUIRE(outcome.kind == ks::pg::outcome_kind::committed);
        REQUIRE(outcome.events_loaded == tally.loaded);
        REQUIRE(outcome.dead_letters_loaded == tally.dead_lettered);
        return tally;
    }
};

const std::string chat_block_line =
    R"({"request_id":"0f6c2b9e-3d41-4e8a-b7c5-91a2d4e6f813",)"
    R"("attack_type":"prompt_injection","detection":{"is_attack":true,)"
    R"("attack_type":"direct_injection","confidence":0.91,"indicators":)"
    R"([{"type":"role_hijack","severity":"high"}]},"policy":)"
    R"({"allowed":false,"action":"block","risk_class":"High"},)"
    R"("event":"attack_detected","logger":"koreshield.logger",)"
    R"("level":"warning","timestamp":"2026-02-17T09:21:44.108233Z"})";

const std::string audit_entry =
    R"({"request_id":"5e7a1d93","timestamp":"2026-04-22T16:03:12.554019",)"
    R"("event":"request_log","provider":"koreshield","model":)"
    R"("prompt_scan","is_blocked":true,"attack_detected":true,)"
    R"("attack_type":"direct_injection","attack_details":{"confidence":)"
    R"(0.88,"indicators":[{"type":"system_prompt_spoof","severity":)"
    R"("high"}]}})";

} // namespace

TEST_CASE("a zstd Vector array loads every column of each event")
{
    fixture f;
    std::string body = "[" + chat_block_line + "," + audit_entry + "]";
    auto tally = f.load(ks::test::zstd_streamed(body), "zstd");
    REQUIRE(tally.received == 2);
    REQUIRE(tally.loaded == 2);

    auto rows = f.db.query(
        "SELECT to_char(event_time AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD HH24:MI:SS.US'), event_type, severity, provider, "
        "model, request_id, blocked::text, taxonomy->>'type', "
        "(taxonomy->>'confidence'), metadata = $$" + chat_block_line +
        "$$::jsonb FROM koreshield_events ORDER BY event_time");
    REQUIRE(rows.size() == 2);
    CHECK(rows[0][0] == "2026-02-17 09:21:44.108233");
    CHECK(rows[0][1] == "attack_detected");
    CHECK(rows[0][2] == "high");
    CHECK_FALSE(rows[0][3].has_value());
    CHECK_FALSE(rows[0][4].has_value());
    CHECK(rows[0][5] == "0f6c2b9e-3d41-4e8a-b7c5-91a2d4e6f813");
    CHECK(rows[0][6] == "false");
    CHECK(rows[0][7] == "prompt_injection");
    CHECK(rows[0][8] == "0.91");
    CHECK(rows[0][9] == "t");

    CHECK(rows[1][0] == "2026-04-22 16:03:12.554019");
    CHECK(rows[1][1] == "request_log");
    CHECK(rows[1][2] == "high");
    CHECK(rows[1][3] == "koreshield");
    CHECK(rows[1][4] == "prompt_scan");
    CHECK(rows[1][6] == "true");
    CHECK(rows[1][7] == "direct_injection");
}

TEST_CASE("a gzip NDJSON body with CRLF and blank lines loads each line")
{
    fixture f;
    std::string body = chat_block_line + "\r\n\r\n" + audit_entry + "\r\n";
    auto tally = f.load(ks::test::gzip_member(body), "gzip");
    REQUIRE(tally.loaded == 2);
    REQUIRE(tally.blank_lines == 1);
    REQUIRE(f.db.scalar("SELECT count(*) FROM koreshield_events") == "2");
}

TEST_CASE("bad events become dead letters and the rest of the batch loads")
{
    fixture f;
    std::string bad_utf8 = "{\"event\":\"x\",\"note\":\"\xc3\x28\"}";
    std::string body = chat_block_line + "\n" +
                       "{\"event\":\"cut\",\"a\":tru}\n" +
                       "42\n" + bad_utf8 + "\n" +
                       R"({"event":"nul","note":"a\u0000b"})" + "\n" +
                       R"({"event":"x","timestamp":"2026-02-30T00:00:00Z"})" +
                       "\n" + audit_entry;
    auto tally = f.load(body, "", "req-bad");
    REQUIRE(tally.received == 7);
    REQUIRE(tally.loaded == 2);
    REQUIRE(tally.dead_lettered == 5);

    auto dead = f.db.query(
        "SELECT source_kind, source, record_index, line_number, "
        "reason_code, encode(raw, 'escape'), raw_bytes "
        "FROM koreshield_dead_letters ORDER BY record_index");
    REQUIRE(dead.size() == 5);
    for (auto& d : dead) {
        CHECK(d[0] == "request");
        CHECK(d[1] == "req-bad");
    }
    CHECK(dead[0][2] == "1");
    CHECK(dead[0][3] == "2");
    CHECK(dead[0][4] == "malformed_json");
    CHECK(dead[0][5] == R"({"event":"cut","a":tru})");
    CHECK(dead[1][4] == "not_object");
    CHECK(dead[2][4] == "invalid_utf8");
    CHECK(dead[2][6] == std::to_string(bad_utf8.size()));
    CHECK(dead[3][4] == "nul_character");
    CHECK(dead[4][4] == "bad_timestamp");

    // The raw bytes are exactly the record, invalid UTF-8 included.
    CHECK(f.db.scalar("SELECT raw = '\\x" +
                      std::string("7b226576656e74223a2278222c226e6f7465223a22"
                                  "c328227d") +
                      "'::bytea FROM koreshield_dead_letters "
                      "WHERE reason_code = 'invalid_utf8'") == "t");
}

TEST_CASE("a corrupt gzip body is kept whole as one dead letter")
{
    fixture f;
    std::string body = ks::test::gzip_member(chat_block_line);
    body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x55);
    auto tally = f.load(body, "gzip");
    REQUIRE(tally.received == 1);
    REQUIRE(tally.dead_lettered == 1);
    REQUIRE(f.db.scalar("SELECT count(*) FROM koreshield_events") == "0");
    REQUIRE(f.db.scalar("SELECT reason_code || ' ' || (length(raw) = " +
                        std::to_string(body.size()) +
                        ")::text FROM koreshield_dead_letters") ==
            "decode_failed true");
}

TEST_CASE("an event without any timestamp field gets the receive time")
{
    fixture f;
    auto tally = f.load(R"({"event":"request_allowed","request_id":"r9"})");
    REQUIRE(tally.loaded == 1);
    REQUIRE(tally.time_from_receipt == 1);
    REQUIRE(f.db.scalar("SELECT (now() - event_time < interval '1 hour')"
                        "::text || ' ' || (metadata->>'_event_time_source') "
                        "FROM koreshield_events") == "true received");
}

TEST_CASE("unknown encodings and oversized bodies are refused unwritten")
{
    ks::ingest::limits small;
    small.max_decoded_bytes = 100;
    ks::ingest::preparer p({}, small);
    ks::pg::batch b;
    ks::ingest::counts tally;
    std::string body(500, ' ');

    auto r = p.prepare("br", {body.data(), body.size()}, {"request", "x"},
                       0, b, tally);
    REQUIRE(r.status == ks::ingest::prepare_status::unsupported_encoding);
    REQUIRE_THAT(r.message, Catch::Contains("br"));

    r = p.prepare("", {body.data(), body.size()}, {"request", "x"}, 0, b,
                  tally);
    REQUIRE(r.status == ks::ingest::prepare_status::too_large);
}
