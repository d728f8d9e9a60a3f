// End-to-end: the real koreshield-load binary, real files in every coding
// and shape, a real PostgreSQL. Every test checks what the table holds,
// event by event (each event carries a unique request id).

#include "support/coders.hpp"
#include "support/pg_cluster.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_db.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <sys/stat.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using ks::test::gzip_member;
using ks::test::skippable_frame;
using ks::test::temp_dir;
using ks::test::test_db;
using ks::test::zstd_sized;

namespace {

std::string load_binary()
{
    return ks::test::program_from_env("KORESHIELD_LOAD_BIN");
}

/// KoreShield's own log line for event `i`, with a unique request id.
std::string event_line(std::uint64_t i, const std::string& tag = "ev")
{
    const std::string us = std::to_string(100000 + i % 900000);
    return "{\"timestamp\":\"2026-03-01T10:00:00." + us +
           "Z\",\"event\":\"attack_detected\",\"level\":\"warning\","
           "\"logger\":\"koreshield.logger\",\"request_id\":\"" +
           tag + "-" + std::to_string(i) +
           "\",\"attack_type\":\"prompt_injection\",\"provider\":\"openai\","
           "\"model\":\"gpt-4o-mini\",\"confidence\":0.9}";
}

/// Lines `first` to `first + n - 1`, each ending with `eol`.
std::string ndjson(std::uint64_t first, std::uint64_t n,
                   const std::string& tag = "ev", const std::string& eol = "\n")
{
    std::string out;
    for (std::uint64_t i = first; i < first + n; ++i)
        out += event_line(i, tag) + eol;
    return out;
}

void write_file(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

void append_file(const std::string& path, const std::string& bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// Runs the loader against `dsn`; output goes to `output`.
int load(const std::string& dsn, std::vector<std::string> args,
         std::string& output, const std::string& stdin_path = "/dev/null")
{
    args.insert(args.begin(), {"--dsn", dsn, "--progress", "none"});
    return ks::test::run_program(load_binary(), args, output, stdin_path);
}

std::uint64_t number(test_db& db, const std::string& sql)
{
    return std::stoull(db.scalar(sql));
}

std::uint64_t rows(test_db& db)
{
    return number(db, "SELECT count(*) FROM koreshield_events");
}

std::uint64_t distinct_ids(test_db& db)
{
    return number(db,
                  "SELECT count(DISTINCT request_id) FROM koreshield_events");
}

std::uint64_t dead_letters(test_db& db)
{
    return number(db, "SELECT count(*) FROM koreshield_dead_letters");
}

// Waits (a minute at most) until a running load has committed `chunks`
// chunks, so that what the test does next lands in its middle.
void wait_for_chunks(test_db& db, std::uint64_t chunks)
{
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (number(db, "SELECT count(*) FROM koreshield_load_chunks") < chunks &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// Runs the loader with `args` and kills it (SIGKILL) once `chunks` of its
// chunks are committed, so that the next run finds an interrupted load.
void kill_after_chunks(test_db& db, const std::vector<std::string>& args,
                       std::uint64_t chunks)
{
    ks::test::process p(load_binary(), args);
    wait_for_chunks(db, chunks);
    p.kill(SIGKILL);
    CHECK(p.wait() == 128 + SIGKILL);
}

} // namespace

TEST_CASE("every layout and coding loads each event once, and a second run "
          "stores nothing")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");

    // Plain NDJSON with a byte order mark, CRLF and blank lines.
    write_file(dir.file("a.ndjson"), "\xEF\xBB\xBF" +
                                         ndjson(0, 300, "a", "\r\n") +
                                         "\r\n  \r\n" + ndjson(300, 200, "a"));
    // gzip of two members, as `cat x.gz y.gz` makes.
    write_file(dir.file("b.log.gz"), gzip_member(ndjson(0, 400, "b")) +
                                         gzip_member(ndjson(400, 350, "b")));
    // zstd of two frames with a skippable frame between.
    write_file(dir.file("c.log.zst"), zstd_sized(ndjson(0, 500, "c")) +
                                          skippable_frame("index") +
                                          zstd_sized(ndjson(500, 250, "c")));
    // A JSON array, one element per line, the way a shipper batches.
    std::string array = "[\n";
    for (int i = 0; i < 600; ++i)
        array += (i ? ",\n" : "") + event_line(static_cast<unsigned>(i), "d");
    write_file(dir.file("d.json"), array + "\n]\n");
    const std::uint64_t total = 500 + 750 + 750 + 600;

    // Small chunks make every file several transactions.
    std::string out;
    REQUIRE(load(dsn, {"--chunk-bytes", "16K", dir.path()}, out) == 0);
    INFO(out);
    CHECK(rows(db) == total);
    CHECK(distinct_ids(db) == total);
    CHECK(dead_letters(db) == 0);
    CHECK(number(db, "SELECT count(*) FROM koreshield_load_files WHERE "
                     "completed_at IS NOT NULL") == 4);
    CHECK(number(db, "SELECT sum(loaded) FROM koreshield_load_files") == total);
    CHECK(number(db, "SELECT blank_lines FROM koreshield_load_files WHERE "
                     "path LIKE '%a.ndjson'") == 2);
    CHECK(number(db, "SELECT count(*) FROM koreshield_load_chunks") > 8);
    CHECK(out.find("4 files: 4 loaded") != std::string::npos);

    // Again: every file is known by its content.
    REQUIRE(load(dsn, {dir.path()}, out) == 0);
    CHECK(rows(db) == total);
    CHECK(out.find("4 already loaded") != std::string::npos);

    // A rotated (renamed) copy is the same content.
    fs::rename(dir.file("b.log.gz"), dir.file("b.log.1.gz"));
    REQUIRE(load(dsn, {dir.file("b.log.1.gz")}, out) == 0);
    CHECK(rows(db) == total);
    CHECK(out.find("already loaded from") != std::string::npos);

    // --force loads it deliberately once more.
    REQUIRE(load(dsn, {"--force", dir.file("b.log.1.gz")}, out) == 0);
    CHECK(rows(db) == total + 750);
}

TEST_CASE("a file that grew since it was loaded gives only its new events")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    const std::string plain = dir.file("koreshield.log");
    const std::string packed = dir.file("koreshield.log.gz");
    write_file(plain, ndjson(0, 100, "p"));
    write_file(packed, gzip_member(ndjson(0, 100, "z")));

    std::string out;
    REQUIRE(load(dsn, {"--chunk-bytes", "4K", plain, packed}, out) == 0);
    REQUIRE(rows(db) == 200);

    // Lines appended to the log, a member appended to the archive.
    append_file(plain, ndjson(100, 60, "p"));
    append_file(packed, gzip_member(ndjson(100, 40, "z")));
    REQUIRE(load(dsn, {"--chunk-bytes", "4K", plain, packed}, out) == 0);
    INFO(out);
    CHECK(rows(db) == 300);
    CHECK(distinct_ids(db) == 300);
    CHECK(number(db, "SELECT count(*) FROM koreshield_load_files WHERE "
                     "grown_from IS NOT NULL") == 2);
    CHECK(out.find("only what was added") != std::string::npos);

    // Positions keep counting from the start of the file.
    append_file(plain, "{\"broken\":\n");
    REQUIRE(load(dsn, {plain}, out) == 3);
    CHECK(db.scalar("SELECT line_number || ',' || record_index || ',' || "
                    "byte_offset FROM koreshield_dead_letters") ==
          "161,160," + std::to_string(fs::file_size(plain) - 11));
}

TEST_CASE("a loaded log that grew and was then rotated gives only its new "
          "events, renamed, compressed or both")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    const std::string active = dir.file("koreshield.log");

    // The active log, loaded while longer than the head hashed first.
    const std::string first = ndjson(0, 3000, "a");
    write_file(active, first);
    std::string out;
    REQUIRE(load(dsn, {active}, out) == 0);
    REQUIRE(rows(db) == 3000);

    // More lines, then logrotate renames it and starts a new log.
    const std::string second = first + ndjson(3000, 500, "a");
    write_file(dir.file("koreshield.log.1"), second);
    write_file(active, ndjson(10000, 7, "n"));
    REQUIRE(load(dsn, {dir.path()}, out) == 0);
    INFO(out);
    CHECK(rows(db) == 3507);
    CHECK(distinct_ids(db) == 3507);
    CHECK(out.find("only what follows the text loaded from " + active) !=
          std::string::npos);

    // Compressed by the next rotation: the same text as the renamed
    // file's, whose load covered it from the start.
    fs::remove(dir.file("koreshield.log.1"));
    write_file(dir.file("koreshield.log.2.gz"), gzip_member(second));
    REQUIRE(load(dsn, {dir.file("koreshield.log.2.gz")}, out) == 0);
    CHECK(rows(db) == 3507);
    CHECK(out.find("in another coding") != std::string::npos);

    // Grown once more before it was compressed: only the newest lines.
    const std::string third = second + ndjson(3500, 40, "a");
    write_file(dir.file("koreshield.log.3.zst"), zstd_sized(third));
    REQUIRE(load(dsn, {dir.file("koreshield.log.3.zst")}, out) == 0);
    CHECK(rows(db) == 3547);
    CHECK(distinct_ids(db) == 3547);
    CHECK(out.find("only what follows the text loaded from " +
                   dir.file("koreshield.log.1")) != std::string::npos);

    // Line numbers and byte offsets go on from the start of the text.
    CHECK(db.scalar("SELECT max(start_line) || ',' || max(start_index) || "
                    "',' || max(start_offset) FROM koreshield_load_files") ==
          "3501,3500," + std::to_string(second.size()));
}

TEST_CASE("a log loaded twice as it grew, then compressed, is known as "
          "loaded")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    const std::string active = dir.file("koreshield.log");

    write_file(active, ndjson(0, 2000, "g"));
    std::string out;
    REQUIRE(load(dsn, {active}, out) == 0);
    append_file(active, ndjson(2000, 300, "g"));
    REQUIRE(load(dsn, {active}, out) == 0);
    REQUIRE(rows(db) == 2300);

    // Its grown load's digests cover the text from the start.
    const std::string all = ndjson(0, 2000, "g") + ndjson(2000, 300, "g");
    write_file(dir.file("koreshield.log.1.gz"), gzip_member(all));
    REQUIRE(load(dsn, {dir.file("koreshield.log.1.gz")}, out) == 0);
    INFO(out);
    CHECK(rows(db) == 2300);
    CHECK(out.find("in another coding") != std::string::npos);
}

TEST_CASE("damaged archives load every event before the damage and say "
          "where it is")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");

    // A zstd archive whose second frame is garbage: the first frame's
    // events load, the rest is one dead letter holding its bytes.
    const std::string first = zstd_sized(ndjson(0, 50, "zc"));
    std::string rest = zstd_sized(ndjson(50, 50, "zc"));
    rest.replace(0, 4, "JUNK");
    write_file(dir.file("corrupt.zst"), first + rest);

    // A gzip archive cut in the middle of its second member.
    const std::string whole = gzip_member(ndjson(0, 50, "gt"));
    const std::string second = gzip_member(ndjson(50, 200, "gt"));
    write_file(dir.file("truncated.gz"),
               whole + second.substr(0, second.size() / 2));

    std::string out;
    REQUIRE(load(dsn, {"--chunk-bytes", "2K", dir.path()}, out) == 3);
    INFO(out);

    CHECK(number(db, "SELECT count(*) FROM koreshield_events WHERE "
                     "request_id LIKE 'zc-%'") == 50);
    CHECK(db.scalar("SELECT reason_code || ',' || byte_offset || ',' || "
                    "length(raw) || ',' || raw_bytes FROM "
                    "koreshield_dead_letters WHERE source LIKE "
                    "'%corrupt.zst'") ==
          "decode_failed," + std::to_string(first.size()) + "," +
              std::to_string(rest.size()) + "," + std::to_string(rest.size()));
    CHECK(db.scalar("SELECT encode(raw, 'escape') FROM "
                    "koreshield_dead_letters WHERE source LIKE "
                    "'%corrupt.zst'")
              .substr(0, 4) == "JUNK");

    // The truncated one: a prefix of its events, in order, and the cut
    // line as a dead letter unless the cut fell between lines.
    const std::uint64_t got =
        number(db, "SELECT count(*) FROM koreshield_events WHERE "
                   "request_id LIKE 'gt-%'");
    CHECK(got >= 50);
    CHECK(got < 250);
    CHECK(number(db,
                 "SELECT max(substr(request_id, 4)::int) FROM "
                 "koreshield_events WHERE request_id LIKE 'gt-%'") == got - 1);
    CHECK(number(db, "SELECT count(*) FROM koreshield_dead_letters WHERE "
                     "source LIKE '%truncated.gz'") <= 1);

    // Both files are complete in the manifest, with their damage.
    CHECK(number(db, "SELECT count(*) FROM koreshield_load_files WHERE "
                     "completed_at IS NOT NULL AND damage IS NOT NULL") == 2);
    CHECK(out.find("damaged") != std::string::npos);
}

TEST_CASE("a load killed at any moment resumes without loss or duplicates")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    constexpr std::uint64_t events = 120000;
    const std::string big = dir.file("big.ndjson.zst");
    // A broken line in the first chunk: its dead letter commits before
    // the kills, and the run that finishes the file must still report it.
    write_file(big, zstd_sized(ndjson(0, 10, "k") + "{\"cut\n" +
                               ndjson(10, events - 10, "k")));
    const std::vector<std::string> args = {
        "--dsn", dsn, "--progress", "none", "--chunk-bytes", "128K", big};

    // Killed twice, each time once a few more chunks committed.
    for (std::uint64_t wanted : {3, 20}) {
        kill_after_chunks(db, args, wanted);
        CHECK(rows(db) < events);
        CHECK(rows(db) == distinct_ids(db));
    }

    std::string out;
    REQUIRE(ks::test::run_program(load_binary(), args, out) == 3);
    INFO(out);
    CHECK(rows(db) == events);
    CHECK(distinct_ids(db) == events);
    CHECK(dead_letters(db) == 1);
    CHECK(out.find("resumed") != std::string::npos);
    CHECK(number(db, "SELECT loaded FROM koreshield_load_files") == events);
    CHECK(number(db, "SELECT dead_lettered FROM koreshield_load_files") ==
          1);
}

TEST_CASE("two loaders on the same file store it once")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    constexpr std::uint64_t events = 40000;
    const std::string shared = dir.file("shared.ndjson");
    write_file(shared, ndjson(0, events, "s"));
    const std::vector<std::string> args = {
        "--dsn", dsn, "--progress", "none", "--chunk-bytes", "64K", shared};

    ks::test::process a(load_binary(), args);
    ks::test::process b(load_binary(), args);
    CHECK(a.wait() == 0);
    CHECK(b.wait() == 0);
    INFO(a.output() << b.output());
    CHECK(rows(db) == events);
    CHECK(distinct_ids(db) == events);
}

TEST_CASE("empty files, very long lines and standard input")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    std::string out;

    write_file(dir.file("empty.log"), "");
    REQUIRE(load(dsn, {dir.file("empty.log")}, out) == 0);
    CHECK(rows(db) == 0);
    CHECK(number(db, "SELECT records FROM koreshield_load_files WHERE "
                     "completed_at IS NOT NULL") == 0);

    // An event of 3 MB between short ones loads whole, with chunks of
    // 64 KiB; one of 2 MB over --max-event-bytes is a dead letter.
    const std::string prompt(3u << 20, 'p');
    std::string big = "{\"timestamp\":\"2026-03-01T10:00:00Z\",\"event\":"
                      "\"request_log\",\"request_id\":\"long-1\","
                      "\"prompt\":\"" +
                      prompt + "\"}\n";
    const std::string long_lines = dir.file("long.ndjson");
    write_file(long_lines, ndjson(0, 10, "l") + big + ndjson(10, 10, "l"));
    REQUIRE(load(dsn, {"--chunk-bytes", "64K", long_lines}, out) == 0);
    CHECK(rows(db) == 21);
    CHECK(number(db, "SELECT length(metadata->>'prompt') FROM "
                     "koreshield_events WHERE request_id = 'long-1'") ==
          prompt.size());

    write_file(dir.file("too-long.ndjson"), ndjson(0, 5, "t") + big);
    REQUIRE(load(dsn, {"--max-event-bytes", "2M", dir.file("too-long.ndjson")},
                 out) == 3);
    CHECK(rows(db) == 26);
    CHECK(db.scalar("SELECT reason_code || ',' || line_number FROM "
                    "koreshield_dead_letters") == "too_large,6");

    // Standard input, compressed, has no manifest entry.
    write_file(dir.file("stdin.zst"), zstd_sized(ndjson(0, 1000, "in")));
    REQUIRE(load(dsn, {"-"}, out, dir.file("stdin.zst")) == 0);
    INFO(out);
    CHECK(rows(db) == 1026);
    CHECK(number(db, "SELECT count(*) FROM koreshield_load_files") == 3);
}

TEST_CASE("exit status: 0 loaded, 3 dead letters, 1 failed, 2 usage")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    std::string out;

    write_file(dir.file("bad.ndjson"),
               ndjson(0, 3, "x") + "{\"cut\n" + ndjson(3, 3, "x"));
    CHECK(load(dsn, {dir.file("bad.ndjson")}, out) == 3);
    CHECK(rows(db) == 6);
    CHECK(db.scalar("SELECT reason_code || ',' || line_number || ',' || "
                    "record_index || ',' || source_kind FROM "
                    "koreshield_dead_letters") == "malformed_json,4,3,file");

    write_file(dir.file("good.ndjson"), ndjson(0, 4, "y"));
    CHECK(load(dsn, {dir.file("good.ndjson"), dir.file("missing.ndjson")},
               out) == 1);
    CHECK(rows(db) == 10);
    CHECK(out.find("missing.ndjson") != std::string::npos);

    CHECK(load(dsn, {"--no-such-flag", dir.file("good.ndjson")}, out) == 2);
    CHECK(load(dsn, {}, out) == 2);

    // A database without the manifest tables is named as the problem.
    db.exec("DROP TABLE koreshield_load_chunks");
    CHECK(load(dsn, {dir.file("good.ndjson")}, out) == 1);
    CHECK(out.find("koreshield_load_chunks") != std::string::npos);
}

TEST_CASE("directories: patterns choose files, named files always load")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    fs::create_directories(dir.file("2026-03"));
    write_file(dir.file("2026-03/a.log.gz"), gzip_member(ndjson(0, 3, "a")));
    write_file(dir.file("2026-03/b.log.zst"), zstd_sized(ndjson(0, 4, "b")));
    write_file(dir.file("2026-03/c.log"), ndjson(0, 5, "c"));
    write_file(dir.file("2026-03/.hidden.gz"), gzip_member(ndjson(0, 6, "h")));
    write_file(dir.file("notes.txt"), ndjson(0, 7, "n"));

    // Two includes, one exclude, and a file named outright.
    std::string out;
    REQUIRE(load(dsn,
                 {"--include", "*.gz", "--include", "*.zst", "--exclude",
                  ".*", dir.path(), dir.file("2026-03/c.log")},
                 out) == 0);
    INFO(out);
    CHECK(db.scalar("SELECT string_agg(DISTINCT split_part(request_id, '-', "
                    "1), ',' ORDER BY split_part(request_id, '-', 1)) FROM "
                    "koreshield_events") == "a,b,c");
    CHECK(rows(db) == 12);
}

TEST_CASE("a named pipe is read once, as it comes, without a manifest entry")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    const std::string pipe = dir.file("events.pipe");
    REQUIRE(::mkfifo(pipe.c_str(), 0600) == 0);

    // What `<(zcat archive.gz)` gives: a pipe fed by another process.
    const std::string bytes = gzip_member(ndjson(0, 2000, "f"));
    std::thread writer([&] {
        std::ofstream out(pipe, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    });
    std::string out;
    const int status = load(dsn, {pipe}, out);
    writer.join();
    INFO(out);
    CHECK(status == 0);
    CHECK(rows(db) == 2000);
    CHECK(distinct_ids(db) == 2000);
    CHECK(number(db, "SELECT count(*) FROM koreshield_load_files") == 0);
}

TEST_CASE("a killed load of a file that grew before the next run is "
          "finished first, then the new part loads once")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    constexpr std::uint64_t events = 120000;
    const std::string log = dir.file("koreshield.log");
    write_file(log, ndjson(0, events, "w"));
    const std::vector<std::string> args = {
        "--dsn", dsn, "--progress", "none", "--chunk-bytes", "128K", log};
    kill_after_chunks(db, args, 5);
    REQUIRE(rows(db) < events);

    // The log goes on while nobody loads it.
    append_file(log, ndjson(events, 500, "w"));
    std::string out;
    REQUIRE(ks::test::run_program(load_binary(), args, out) == 0);
    INFO(out);
    CHECK(rows(db) == events + 500);
    CHECK(distinct_ids(db) == events + 500);
    CHECK(out.find("interrupted load") != std::string::npos);
    CHECK(number(db, "SELECT count(*) FROM koreshield_load_files WHERE "
                     "completed_at IS NULL") == 0);

    REQUIRE(ks::test::run_program(load_binary(), args, out) == 0);
    CHECK(rows(db) == events + 500);
}

TEST_CASE("a killed load of a file compressed before the next run is "
          "finished from the compressed file, nothing twice")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    constexpr std::uint64_t events = 120000;
    const std::string log = dir.file("koreshield.log");
    const std::string text = ndjson(0, events, "c");
    write_file(log, text);

    kill_after_chunks(db,
                      {"--dsn", dsn, "--progress", "none", "--chunk-bytes",
                       "128K", log},
                      5);
    REQUIRE(rows(db) < events);

    // logrotate's compress runs before the next load.
    fs::remove(log);
    write_file(dir.file("koreshield.log.1.gz"), gzip_member(text));
    std::string out;
    REQUIRE(load(dsn, {"--chunk-bytes", "1M", dir.path()}, out) == 0);
    INFO(out);
    CHECK(rows(db) == events);
    CHECK(distinct_ids(db) == events);
    CHECK(out.find("resumed") != std::string::npos);
    CHECK(number(db, "SELECT count(*) FROM koreshield_load_files WHERE "
                     "completed_at IS NULL") == 0);
}

TEST_CASE("PostgreSQL away longer than --retry-for-s ends the run with "
          "status 1, and the next run finishes the files")
{
    // A server of the test's own, which it stops in the middle.
    ks::test::pg_cluster cluster;
    const std::string dsn = ks::test::fresh_database_on(cluster.dsn(), "load");
    temp_dir dir("load-e2e");
    constexpr std::uint64_t events = 150000;
    write_file(dir.file("one.ndjson"), ndjson(0, events, "o"));
    write_file(dir.file("two.ndjson"), ndjson(0, 1000, "t"));
    const std::vector<std::string> args = {
        "--dsn",         dsn,  "--progress",        "none",
        "--chunk-bytes", "64K", "--retry-for-s",    "2",
        dir.file("one.ndjson"), dir.file("two.ndjson")};

    ks::test::process p(load_binary(), args);
    {
        test_db db(dsn);
        wait_for_chunks(db, 3);
    }
    cluster.stop();
    CHECK(p.wait() == 1);
    INFO(p.output());
    CHECK(p.output().find("PostgreSQL is unavailable") != std::string::npos);
    CHECK(p.output().find("longer than --retry-for-s") != std::string::npos);

    cluster.start();
    std::string out;
    CHECK(ks::test::run_program(load_binary(), args, out) == 0);
    INFO(out);
    test_db db(dsn);
    CHECK(rows(db) == events + 1000);
    CHECK(distinct_ids(db) == events + 1000);
}

TEST_CASE("PostgreSQL crashing in the middle of a load costs no event and "
          "not the exit status")
{
    // A crash ends the manifest's idle connection without a word; the
    // loader must find that out when it completes the file.
    ks::test::pg_cluster cluster;
    const std::string dsn = ks::test::fresh_database_on(cluster.dsn(), "load");
    temp_dir dir("load-e2e");
    constexpr std::uint64_t events = 150000;
    write_file(dir.file("one.ndjson"), ndjson(0, events, "c"));
    const std::vector<std::string> args = {
        "--dsn",         dsn,   "--progress",     "none",
        "--chunk-bytes", "64K", "--retry-for-s",  "60",
        dir.file("one.ndjson")};

    ks::test::process p(load_binary(), args);
    {
        test_db db(dsn);
        wait_for_chunks(db, 3);
    }
    cluster.crash();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    cluster.start();
    CHECK(p.wait() == 0);
    INFO(p.output());
    CHECK(p.output().find("PostgreSQL is available again") !=
          std::string::npos);

    test_db db(dsn);
    CHECK(rows(db) == events);
    CHECK(distinct_ids(db) == events);
    CHECK(number(db, "SELECT count(*) FROM koreshield_load_files "
                     "WHERE completed_at IS NOT NULL") == 1);
}

TEST_CASE("the same events compressed by a rotation are known; a file that "
          "goes on from them gives only the rest, one that only starts alike "
          "all of it")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");

    // Larger than the head that is hashed first, with a byte order mark.
    const std::string text = "\xEF\xBB\xBF" + ndjson(0, 3000, "r", "\r\n");
    write_file(dir.file("koreshield.log.1"), text);
    std::string out;
    REQUIRE(load(dsn, {dir.file("koreshield.log.1")}, out) == 0);
    REQUIRE(rows(db) == 3000);

    // logrotate's compress: the same text, new bytes, new names.
    write_file(dir.file("koreshield.log.2.gz"), gzip_member(text));
    write_file(dir.file("koreshield.log.2.zst"), zstd_sized(text));
    REQUIRE(load(dsn, {dir.file("koreshield.log.2.gz"),
                       dir.file("koreshield.log.2.zst")},
                 out) == 0);
    INFO(out);
    CHECK(rows(db) == 3000);
    CHECK(out.find("in another coding") != std::string::npos);

    // The same text and one more event: that event.
    write_file(dir.file("more.gz"),
               gzip_member(text + event_line(3000, "r") + "\r\n"));
    REQUIRE(load(dsn, {dir.file("more.gz")}, out) == 0);
    CHECK(rows(db) == 3001);

    // The same first 64 KiB, then other events: other content.
    const std::string alike =
        "\xEF\xBB\xBF" + ndjson(0, 2000, "r", "\r\n") + ndjson(5000, 1000, "o");
    REQUIRE(alike.size() > 64 * 1024);
    write_file(dir.file("other.gz"), gzip_member(alike));
    REQUIRE(load(dsn, {dir.file("other.gz")}, out) == 0);
    CHECK(rows(db) == 6001);
}

TEST_CASE("the same events in several codings, all new in one run, are "
          "loaded once")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");

    // A directory after a rotation with delaycompress: the plain file and
    // compressed copies of it, none loaded yet.
    const std::string text = ndjson(0, 3000, "r", "\n");
    write_file(dir.file("koreshield.log"), text);
    write_file(dir.file("koreshield.log.1.gz"), gzip_member(text));
    write_file(dir.file("koreshield.log.1.zst"), zstd_sized(text));
    std::string out;
    REQUIRE(load(dsn, {dir.path()}, out) == 0);
    INFO(out);
    CHECK(rows(db) == 3000);
    CHECK(distinct_ids(db) == 3000);
    CHECK(db.scalar("SELECT count(*) FROM koreshield_load_files") == "1");

    // Both copies were decoded and compared, and said so.
    std::size_t said = 0;
    for (std::size_t at = out.find("in another coding");
         at != std::string::npos; at = out.find("in another coding", at + 1))
        ++said;
    CHECK(said == 2);
}

TEST_CASE("rows PostgreSQL refuses become dead letters of their file, and "
          "the manifest counts them")
{
    const std::string dsn = ks::test::fresh_database("load");
    test_db db(dsn);
    temp_dir dir("load-e2e");
    db.exec("ALTER TABLE koreshield_events ADD CONSTRAINT not_17 CHECK "
            "(request_id NOT IN ('x-17', 'x-1500'))");

    // Small chunks, so the refused rows sit in different chunks.
    write_file(dir.file("x.log"), ndjson(0, 2000, "x"));
    std::string out;
    CHECK(load(dsn, {"--chunk-bytes", "64K", dir.file("x.log")}, out) == 3);
    INFO(out);
    CHECK(rows(db) == 1998);
    CHECK(db.scalar("SELECT string_agg(record_index::text || ':' || "
                    "reason_code || ':' || source, ',' ORDER BY "
                    "record_index) FROM koreshield_dead_letters") ==
          "17:rejected_by_database:" + dir.file("x.log") +
              ",1500:rejected_by_database:" + dir.file("x.log"));
    CHECK(db.scalar("SELECT loaded || ' ' || dead_lettered || ' ' || "
                    "records FROM koreshield_load_files") == "1998 2 2000");

    // Known afterwards, like any loaded file.
    CHECK(load(dsn, {dir.file("x.log")}, out) == 0);
    CHECK(rows(db) == 1998);
}
