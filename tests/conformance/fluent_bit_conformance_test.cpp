// Fluent Bit's `http` output (wire-formats.md, section 3) against the
// real sink: `format json` (an array of records with a double `date`
// and the line in `log`), `json_lines`, `json_stream`, gzip, snappy and
// zstd, every `json_date_format`, and a record holding a bare `nan`.

#include "shipper_bodies.hpp"

using namespace ks::conf;
using ks::test::gzip_member;
using ks::test::snappy_block;
using ks::test::to_hex;
using ks::test::zstd_sized;

namespace {

/// Tail records (no parser): the line in `log`, the read time a few
/// milliseconds after the line's own time in `date`.
struct fb_batch {
    std::vector<std::string> records;
    std::vector<want_row> rows;
};

fb_batch tail_records(std::size_t first, std::size_t count, std::uint32_t salt)
{
    fb_batch b;
    for (const auto& line : koreshield_lines(first, count, salt)) {
        std::string r = fluentbit_encode(fluentbit_tail_record(
            line, fluentbit_date(line.us + 5'123, fb_date::double_epoch)));
        b.rows.push_back(wrapped_row(line, r, "log"));
        b.records.push_back(std::move(r));
    }
    return b;
}

} // namespace

TEST_CASE("Fluent Bit format json: an array of tail records, the line in "
          "log, date a double")
{
    sink_fixture f;
    auto b = tail_records(0, 12, 0xfb01);
    REQUIRE(b.records[0].rfind("{\"date\":17", 0) == 0);

    // A line that is not JSON: the record around it is a text_line
    // event, timed by `date`, the whole record its metadata.
    const std::string access = access_line(9);
    const std::int64_t access_us = unix_us(2026, 3, 27, 9, 26, 1, 250'001);
    b.records.insert(
        b.records.begin() + 5,
        fluentbit_encode(
            jobj()
                .set("date", fluentbit_date(access_us, fb_date::double_epoch))
                .set("log", jstr(access))));
    std::string body = fluentbit_json(b.records);

    auto res = f.send(
        {"POST", "/ingest", fluentbit_headers("application/json"), body});
    require_counts(res, f, 13, 13, 0, 1);
    require_stored(f, b.rows);

    auto found = rows_with_message(f.db, "log", access);
    REQUIRE(found.size() == 1);
    CHECK(found[0].event_time == utc_text(access_us));
    CHECK(found[0].event_type == "text_line");
    CHECK(found[0].severity == "info");
    CHECK_FALSE(found[0].request_id.has_value());
    CHECK(same_jsonb(f.db, found[0].metadata, b.records[5]));
}

TEST_CASE("Fluent Bit json_lines (final newline) and json_stream (no "
          "separator) bodies load every record")
{
    sink_fixture f;
    auto lines_batch = tail_records(20, 10, 0xfb02);
    auto stream_batch = tail_records(30, 10, 0xfb02);

    std::string lines_body = fluentbit_json_lines(lines_batch.records);
    REQUIRE(lines_body.back() == '\n');
    auto res = f.send({"POST", "/ingest",
                       fluentbit_headers("application/x-ndjson"), lines_body});
    require_counts(res, f, 10, 10, 0);

    std::string stream_body = fluentbit_json_stream(stream_batch.records);
    REQUIRE(stream_body.find("}{\"date\":") != std::string::npos);
    REQUIRE(stream_body.find('\n') == std::string::npos);
    res = f.send({"POST", "/ingest", fluentbit_headers("application/json"),
                  stream_body});
    require_counts(res, f, 10, 10, 0);

    auto all = lines_batch.rows;
    all.insert(all.end(), stream_batch.rows.begin(), stream_batch.rows.end());
    require_stored(f, all);
}

TEST_CASE("Fluent Bit compression: gzip, snappy and zstd bodies load")
{
    sink_fixture f;
    auto a = tail_records(40, 9, 0xfb03);
    auto b = tail_records(49, 9, 0xfb03);
    auto c = tail_records(58, 9, 0xfb03);

    // `compress gzip`: one member; `compress snappy` (4.0+): one raw
    // block from a single snappy_compress call; `compress zstd` (4.0+):
    // one frame from one call, which records its content size.
    auto res = f.send({"POST", "/ingest",
                       fluentbit_headers("application/json", "gzip"),
                       gzip_member(fluentbit_json(a.records))});
    require_counts(res, f, 9, 9, 0);
    res = f.send({"POST", "/ingest",
                  fluentbit_headers("application/x-ndjson", "snappy"),
                  snappy_block(fluentbit_json_lines(b.records))});
    require_counts(res, f, 9, 9, 0);
    res = f.send({"POST", "/ingest",
                  fluentbit_headers("application/json", "zstd"),
                  zstd_sized(fluentbit_json_stream(c.records))});
    require_counts(res, f, 9, 9, 0);

    auto all = a.rows;
    all.insert(all.end(), b.rows.begin(), b.rows.end());
    all.insert(all.end(), c.rows.begin(), c.rows.end());
    require_stored(f, all);
}

TEST_CASE("Fluent Bit json_date_format: double, iso8601, java_sql_timestamp, "
          "epoch and epoch_ms give a parsed record its time")
{
    sink_fixture f;
    // A JSON parser with `Time_Key timestamp` consumed KoreShield's
    // time into the record's, so `date` is the only time left.
    const std::pair<fb_date, const char*> formats[] = {
        {fb_date::double_epoch, "double"},
        {fb_date::iso8601, "iso8601"},
        {fb_date::java_sql_timestamp, "java_sql_timestamp"},
        {fb_date::epoch, "epoch"},
        {fb_date::epoch_ms, "epoch_ms"},
    };

    std::vector<want_row> all;
    std::size_t first = 0; // lines 0-6 fall on whole seconds
    for (const auto& [format, name] : formats) {
        std::vector<std::string> records;
        for (const auto& line : koreshield_lines(first, 7, 0xfb04)) {
            json_value date = fluentbit_date(line.us, format);
            if (format == fb_date::double_epoch && first == 0)
                CHECK(date.text().substr(date.text().size() - 2) == ".0");
            std::string r =
                fluentbit_encode(fluentbit_parsed_record(line, date));
            all.push_back(
                parsed_row(line, r, fluentbit_date_us(line.us, format)));
            records.push_back(std::move(r));
        }
        first += 7;
        INFO("json_date_format " << name << ": " << records[1]);
        auto res = f.send({"POST", "/ingest",
                           fluentbit_headers("application/x-ndjson", "gzip"),
                           gzip_member(fluentbit_json_lines(records))});
        require_counts(res, f, 7, 7, 0);
    }
    require_stored(f, all);
}

TEST_CASE("Fluent Bit: a record with a bare nan is one dead letter, the "
          "records around it load")
{
    sink_fixture f;
    // Without json.convert_nan_to_null, a NaN double is written as the
    // bare token nan: invalid JSON, in the middle of a chunk.
    for (bool array : {false, true}) {
        INFO((array ? "format json" : "format json_lines"));
        auto lines = koreshield_lines(array ? 110 : 100, 3, 0xfb05);
        std::vector<std::string> records;
        std::vector<want_row> rows;
        for (const auto& line : lines) {
            std::string r = fluentbit_encode(fluentbit_parsed_record(
                line, fluentbit_date(line.us, fb_date::double_epoch)));
            records.push_back(r);
            rows.push_back(parsed_row(line, r, line.us));
        }
        // A RAG finding (i % 7 == 3), whose confidence turns NaN.
        json_value bad = fluentbit_parsed_record(
            koreshield_line(array ? 115 : 108, 0xfb05),
            fluentbit_date(lines[1].us, fb_date::double_epoch));
        std::string bad_text = fluentbit_encode(bad);
        auto at = bad_text.find("\"overall_confidence\":");
        REQUIRE(at != std::string::npos);
        at += std::string_view("\"overall_confidence\":").size();
        bad_text.replace(at, bad_text.find(',', at) - at, "nan");
        records.insert(records.begin() + 1, bad_text);

        std::string body =
            array ? fluentbit_json(records) : fluentbit_json_lines(records);
        auto res = f.send({"POST", "/ingest",
                           fluentbit_headers(array ? "application/json"
                                                   : "application/x-ndjson"),
                           body});
        require_counts(res, f, 4, 3, 1);
        require_stored(f, rows);

        auto dead =
            f.db.query("SELECT reason_code, encode(raw, 'hex'), record_index "
                       "FROM koreshield_dead_letters ORDER BY id DESC LIMIT 1");
        REQUIRE(dead.size() == 1);
        CHECK(dead[0][0] == "malformed_json");
        CHECK(dead[0][1] == to_hex(bad_text));
        CHECK(dead[0][2] == "1");
        // The next pass's rows are then matched against its own alone.
        f.db.exec("DELETE FROM koreshield_events");
    }
}
