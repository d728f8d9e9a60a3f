#include "load/chunker.hpp"

#include "support/coders.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace std::literals;
using ks::decode::encoding;
using ks::decode::errc;
using ks::frame::defect;
using ks::frame::framer;
using ks::frame::record;
using ks::load::chunk;
using ks::load::chunker;
using ks::load::chunker_options;
using ks::load::read_function;
using ks::test::gzip_member;
using ks::test::skippable_frame;
using ks::test::zstd_sized;

namespace {

// ---------------------------------------------------------------------
// Coded inputs, made with the real libraries.

/// `text` split into `parts` pieces of about equal size.
std::vector<std::string_view> split(std::string_view text, std::size_t parts)
{
    std::vector<std::string_view> out;
    const std::size_t step = text.size() / parts + 1;
    for (std::size_t at = 0; at < text.size(); at += step)
        out.push_back(text.substr(at, step));
    if (out.empty()) out.push_back(text);
    return out;
}

/// A gzip stream of `text` with one member per part, as `cat` of
/// several archives makes.
std::string gzip_members(std::string_view text, std::size_t members)
{
    std::string out;
    for (const std::string_view part : split(text, members))
        out += gzip_member(part);
    return out;
}

/// A zstd stream of `text` with one frame per part, each after a
/// skippable frame when `skippable` is set.
std::string zstd_frames(std::string_view text, std::size_t frames,
                        bool skippable = false)
{
    std::string out;
    for (const std::string_view part : split(text, frames)) {
        if (skippable) out += skippable_frame("SSSSS");
        out += zstd_sized(part);
    }
    return out;
}

/// Reads `input` at most `step` bytes at a time; never reads again once
/// it said the input ended.
read_function reader(std::string input, std::size_t step)
{
    struct state {
        std::string input;
        std::size_t pos = 0;
        bool ended = false;
    };
    auto s = std::make_shared<state>();
    s->input = std::move(input);
    return [s, step](char* dst, std::size_t n) -> std::size_t {
        REQUIRE_FALSE(s->ended);
        const std::size_t take = std::min({n, step, s->input.size() - s->pos});
        std::memcpy(dst, s->input.data() + s->pos, take);
        s->pos += take;
        s->ended = take == 0;
        return take;
    };
}

// ---------------------------------------------------------------------
// Cutting, and what it must equal.

/// A chunk copied out, so that the next one may reuse the memory.
struct chunk_copy {
    std::uint64_t offset, next_offset, first_line, first_index;
    std::string text;
    std::vector<record> records;
    std::uint64_t blank_lines;
    bool last;
};

/// Everything a chunker yields for one input.
struct cut_result {
    std::vector<chunk_copy> chunks;
    ks::decode::result damage;
    encoding coding;
    std::uint64_t input_bytes, decoded_bytes, end_line, end_index;
};

bool same_records(const std::vector<record>& a, const std::vector<record>& b)
{
    // open_at_end tells where a chunk's framer stopped, not the record.
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](const record& x, const record& y) {
                          return x.offset == y.offset && x.length == y.length &&
                                 x.line == y.line && x.index == y.index &&
                                 x.kind == y.kind && x.problem == y.problem &&
                                 x.problem_offset == y.problem_offset;
                      });
}

bool operator==(const chunk_copy& a, const chunk_copy& b)
{
    return a.offset == b.offset && a.next_offset == b.next_offset &&
           a.first_line == b.first_line && a.first_index == b.first_index &&
           a.text == b.text && same_records(a.records, b.records) &&
           a.blank_lines == b.blank_lines && a.last == b.last;
}

std::uint64_t count_lines(std::string_view text)
{
    return static_cast<std::uint64_t>(
        std::count(text.begin(), text.end(), '\n'));
}

/// Cuts `input` read `step` bytes at a time, checking the promises every
/// chunk keeps: contiguous, exact text with its padding, records inside
/// it and counted on, exactly one last chunk.
cut_result cut_all(const std::string& input, const chunker_options& options,
                   std::size_t step = 65536)
{
    cut_result result;
    chunker c(reader(input, step), options);
    chunk out; // reused, as the loader does
    std::uint64_t offset = options.start.decoded_offset;
    std::uint64_t line = options.start.decoded_offset ? options.start.line : 1;
    std::uint64_t index =
        options.start.decoded_offset ? options.start.index : 0;

    while (c.next(out)) {
        INFO("chunk " << result.chunks.size() << " at " << out.offset);
        REQUIRE(result.chunks.size() < 100000);
        REQUIRE((result.chunks.empty() || !result.chunks.back().last));
        CHECK(out.offset == offset);
        CHECK(out.next_offset == out.offset + out.text.size());
        CHECK(out.first_line == line);
        CHECK(out.first_index == index);
        CHECK(std::all_of(out.text.data() + out.text.size(),
                          out.text.data() + out.text.readable(),
                          [](char b) { return b == 0; }));
        for (std::size_t i = 0; i < out.records.size(); ++i) {
            const record& r = out.records[i];
            CHECK(r.index == index + i);
            CHECK(r.offset + r.length <= out.text.size());
        }
        if (!out.last) CHECK_FALSE(out.text.empty());

        chunk_copy copy{out.offset,
                        out.next_offset,
                        out.first_line,
                        out.first_index,
                        std::string(out.text.view()),
                        out.records,
                        out.blank_lines,
                        out.last};
        result.chunks.push_back(std::move(copy));
        offset = out.next_offset;
        line += count_lines(out.text.view());
        index += out.records.size();
    }
    REQUIRE_FALSE(c.next(out));
    REQUIRE_FALSE(result.chunks.empty());
    CHECK(result.chunks.back().last);

    result.damage = c.damage();
    result.coding = c.coding();
    result.input_bytes = c.input_bytes();
    result.decoded_bytes = c.decoded_bytes();
    result.end_line = c.end_line();
    result.end_index = c.end_index();
    if (result.damage.error == errc::corrupt)
        CHECK(result.input_bytes >= result.damage.input_offset);
    else
        CHECK(result.input_bytes == input.size());
    CHECK(result.end_line == line);
    CHECK(result.end_index == index);
    return result;
}

/// All chunks' text, and all records with offsets into it.
struct joined {
    std::string text;
    std::vector<record> records;
    std::uint64_t blank_lines = 0;
};

joined join(const cut_result& cut)
{
    joined j;
    for (const chunk_copy& c : cut.chunks) {
        const std::size_t base = j.text.size();
        for (record r : c.records) {
            r.offset += base;
            if (r.problem != defect::none) r.problem_offset += base;
            j.records.push_back(r);
        }
        j.text += c.text;
        j.blank_lines += c.blank_lines;
    }
    return j;
}

/// `text` framed whole by one framer.
joined frame_whole(std::string_view text)
{
    joined j;
    j.text = text;
    framer f(j.text);
    record r;
    while (f.next(r))
        j.records.push_back(r);
    j.blank_lines = f.blank_lines();
    return j;
}

/// The chunks of `cut` hold exactly `text`, framed as one framer frames
/// it whole.
void check_like_whole(const cut_result& cut, std::string_view text)
{
    const joined got = join(cut);
    const joined want = frame_whole(text);
    REQUIRE(got.text == want.text);
    CHECK(got.records.size() == want.records.size());
    for (std::size_t i = 0;
         i < std::min(got.records.size(), want.records.size()); ++i) {
        INFO("record " << i << " at " << want.records[i].offset);
        CHECK(got.records[i].offset == want.records[i].offset);
        CHECK(got.records[i].length == want.records[i].length);
        CHECK(got.records[i].line == want.records[i].line);
        CHECK(got.records[i].kind == want.records[i].kind);
        CHECK(got.records[i].problem == want.records[i].problem);
        CHECK(got.records[i].problem_offset == want.records[i].problem_offset);
    }
    CHECK(got.blank_lines == want.blank_lines);
    CHECK(cut.decoded_bytes == text.size());
    CHECK(cut.end_line == 1 + count_lines(text));
    CHECK(cut.end_index == want.records.size());
}

chunker_options small(std::size_t chunk_bytes, std::size_t max_window_bytes)
{
    chunker_options o;
    o.chunk_bytes = chunk_bytes;
    o.max_window_bytes = max_window_bytes;
    return o;
}

// ---------------------------------------------------------------------
// Texts.

/// NDJSON objects of varied length.
std::string ndjson(std::size_t lines, std::uint32_t seed,
                   std::string_view eol = "\n")
{
    std::mt19937 rng(seed);
    std::string out;
    for (std::size_t i = 0; i < lines; ++i) {
        out += "{\"i\":" + std::to_string(i) + ",\"m\":\"";
        out.append(rng() % 60, static_cast<char>('a' + i % 26));
        out += "\"}";
        out += eol;
    }
    return out;
}

/// A pretty-printed object of several lines.
std::string pretty_object(std::size_t i)
{
    return "{\n  \"i\": " + std::to_string(i) +
           ",\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"m\": "
           "\"x y z\"\n}";
}

/// Every layout at once: the text the determinism tests cut.
std::string mixed_text()
{
    std::string t = ndjson(40, 1);
    t += "\n  \n\t\n";
    for (std::size_t i = 0; i < 8; ++i)
        t += pretty_object(i) + "\n";
    t += "{\"long\":\"" + std::string(700, 'L') + "\"}\n";
    t += ndjson(20, 2, "\r\n");
    t += "[1,2,\"three\",{\"four\":[4]}]\n";
    t += ndjson(20, 3);
    return t;
}

} // namespace

TEST_CASE("ndjson is cut into chunks of whole lines", "[load][chunker]")
{
    const std::string text = ndjson(300, 7);
    const cut_result cut = cut_all(text, small(100, 1u << 20));
    check_like_whole(cut, text);

    // Each cut is after the last line that ends in its window, so no
    // chunk is shorter than its window less one line.
    for (const chunk_copy& c : cut.chunks) {
        if (c.last) continue;
        CHECK(c.text.size() <= 100);
        CHECK(c.text.size() > 100 - 90);
        CHECK_FALSE(c.records.empty());
    }
    CHECK(cut.chunks.size() > 100);
    CHECK(cut.coding == encoding::identity);
    CHECK(cut.damage.error == errc::ok);
}

TEST_CASE("every layout is framed across cuts as a whole body",
          "[load][chunker]")
{
    struct text_case {
        std::string_view name;
        std::string text;
    };
    std::string arrays;
    for (std::size_t a = 0; a < 4; ++a) {
        arrays += "[\n";
        for (std::size_t i = 0; i < 10; ++i)
            arrays += "  {\"a\":" + std::to_string(a) +
                      ",\"i\":" + std::to_string(i) + "}" +
                      (i < 9 ? ",\n" : "\n");
        arrays += "]\n";
    }
    std::string one_line = "[";
    for (std::size_t i = 0; i < 200; ++i)
        one_line += (i ? ",{\"i\":" : "{\"i\":") + std::to_string(i) + "}";
    one_line += "]";
    std::string pretty;
    for (std::size_t i = 0; i < 30; ++i)
        pretty += pretty_object(i) + (i % 3 ? "\n" : "");
    std::string blanks;
    for (std::size_t i = 0; i < 50; ++i)
        blanks += (i % 4 == 0 ? "\n \t \n\n" : "") + ndjson(1, 9 + i);
    const std::string huge = "{\"big\":\"" + std::string(900, 'x') + "\"}";
    std::string broken = ndjson(10, 11);
    broken += "{\"a\":\"cut\n"; // line feed in a string
    broken += ndjson(10, 12);
    broken += "{\"b\":[1,2}\n"; // mismatched bracket
    broken += ndjson(10, 13);
    broken += "{\"c\":\n"; // truncated: open to the end
    broken += ndjson(10, 14);
    broken += "\"bare\n"; // unterminated string
    broken += ndjson(10, 15);

    std::string back_to_back;
    for (std::size_t i = 0; i < 10; ++i)
        back_to_back += "{\"a\":1}{\"b\":2}[3]{\"c\":4}\n  {}";

    const std::vector<text_case> cases = {
        {"ndjson without final newline", ndjson(50, 3) + "{\"end\":1}"},
        {"one array element per line", arrays},
        {"a single-line array much longer than a chunk", one_line},
        {"pretty-printed objects spanning cuts", pretty},
        {"crlf", ndjson(60, 4, "\r\n")},
        {"byte order mark", "\xEF\xBB\xBF" + ndjson(40, 5)},
        {"blank lines", blanks},
        {"a record longer than a chunk",
         ndjson(10, 6) + huge + "\n" + ndjson(10, 7)},
        {"broken lines in the middle", broken},
        {"objects back to back", back_to_back},
        {"whitespace only", std::string(500, ' ') + "\n\n\t\n"},
    };

    for (const text_case& c : cases) {
        for (const std::size_t chunk_bytes : {64u, 100u}) {
            DYNAMIC_SECTION(c.name << ", chunks of " << chunk_bytes)
            {
                const cut_result cut =
                    cut_all(c.text, small(chunk_bytes, 1u << 20));
                check_like_whole(cut, c.text);
                CHECK(cut.chunks.size() > 1);
            }
        }
    }
}

TEST_CASE("cuts depend on the text only, not on reads or coding",
          "[load][chunker]")
{
    // A widest window of 256 cuts the 700-byte record by force.
    const std::string text = mixed_text();
    struct sizes {
        std::size_t chunk_bytes, max_window_bytes;
    };
    for (const sizes z : {sizes{64, 4096}, sizes{100, 4096}, sizes{64, 256}}) {
        CAPTURE(z.chunk_bytes, z.max_window_bytes);
        const chunker_options o = small(z.chunk_bytes, z.max_window_bytes);
        const cut_result want = cut_all(text, o);
        if (z.max_window_bytes > 1000) check_like_whole(want, text);

        struct coded {
            std::string_view name;
            std::string input;
            encoding coding;
        };
        const std::vector<coded> inputs = {
            {"plain", text, encoding::identity},
            {"gzip", gzip_member(text), encoding::gzip},
            {"gzip of 5 members", gzip_members(text, 5), encoding::gzip},
            {"zstd of 4 frames", zstd_frames(text, 4), encoding::zstd},
            {"zstd with skippable frames", zstd_frames(text, 3, true),
             encoding::zstd},
        };
        for (const coded& in : inputs) {
            for (const std::size_t step : {1u, 7u, 65536u}) {
                CAPTURE(in.name, step);
                const cut_result got = cut_all(in.input, o, step);
                CHECK(got.coding == in.coding);
                CHECK(got.damage.error == errc::ok);
                CHECK(got.decoded_bytes == text.size());
                REQUIRE(got.chunks.size() == want.chunks.size());
                for (std::size_t i = 0; i < want.chunks.size(); ++i) {
                    INFO("chunk " << i);
                    CHECK(got.chunks[i] == want.chunks[i]);
                }
            }
        }
    }
}

TEST_CASE("a record longer than the widest window is cut, not skipped",
          "[load][chunker]")
{
    // 1000 bytes on one line against windows of at most 256.
    const std::string before = ndjson(5, 21);
    const std::string huge = "{\"big\":\"" + std::string(1000, 'x') + "\"}";
    const std::string after = ndjson(5, 22);
    const std::string text = before + huge + "\n" + after;
    const cut_result cut = cut_all(text, small(64, 256));

    // Every byte is in a chunk once, and no window grew past its limit.
    const joined got = join(cut);
    REQUIRE(got.text == text);
    for (const chunk_copy& c : cut.chunks)
        CHECK(c.text.size() <= 256);

    // The lines around it come out as when framed whole; the long one
    // comes out in pieces that hold all of its bytes, the first damaged.
    const joined whole = frame_whole(text);
    REQUIRE(whole.records.size() == 11);
    std::size_t i = 0;
    for (; i < 5; ++i)
        CHECK(got.records[i].offset == whole.records[i].offset);
    CHECK(got.records[i].problem == defect::unterminated);
    std::size_t covered = 0;
    for (; i < got.records.size() &&
           got.records[i].offset < before.size() + huge.size();
         ++i)
        covered += got.records[i].length;
    CHECK(covered == huge.size());
    REQUIRE(got.records.size() - i == 5);
    for (std::size_t k = 0; k < 5; ++k) {
        CHECK(got.records[i + k].offset == whole.records[6 + k].offset);
        CHECK(got.records[i + k].length == whole.records[6 + k].length);
        CHECK(got.records[i + k].problem == defect::none);
    }
    CHECK(cut.end_line == 1 + count_lines(text));
    CHECK(cut.end_index == got.records.size());
}

TEST_CASE("a truncated line mid-stream keeps the lines after it whole",
          "[load][chunker]")
{
    // The open value can only be told from a long one by a window as
    // wide as max_window_bytes; past that, the lines after it are framed
    // as a new stream, which for balanced lines is what framing the
    // whole text gives.
    std::string text = ndjson(20, 31);
    text += "{\"cut\":\"here\n";
    text += ndjson(40, 32);
    text += "{\"again\":[1,\n";
    text += ndjson(40, 33);

    for (const std::size_t max_window : {128u, 512u, 1u << 20}) {
        CAPTURE(max_window);
        const cut_result cut = cut_all(text, small(64, max_window));
        check_like_whole(cut, text);
    }
}

TEST_CASE("a single huge value in a stream is cut into pieces",
          "[load][chunker]")
{
    // A pretty-printed object of 3000 bytes with windows of 256: nothing
    // is skipped, nothing loops, every piece is accounted for.
    std::string text = "{\n";
    for (std::size_t i = 0; i < 150; ++i)
        text += "  \"k" + std::to_string(i) + "\": [1, 2],\n";
    text += "  \"end\": true\n}\n{\"next\":1}\n";
    const cut_result cut = cut_all(text, small(64, 256));
    const joined got = join(cut);
    REQUIRE(got.text == text);
    REQUIRE_FALSE(got.records.empty());
    CHECK(got.records.front().problem == defect::unterminated);
    CHECK(got.text.substr(got.records.back().offset,
                          got.records.back().length) == "{\"next\":1}");
    CHECK(cut.end_line == 1 + count_lines(text));

    // With room for it, it is one record.
    const cut_result roomy = cut_all(text, small(64, 4096));
    check_like_whole(roomy, text);
    CHECK(join(roomy).records.size() == 2);
}

TEST_CASE("truncated compressed input keeps every record before the end",
          "[load][chunker]")
{
    const std::string first = ndjson(30, 41);
    const std::string rest = ndjson(30, 42);
    const std::string text = first + rest;

    struct truncated_case {
        std::string_view name;
        std::string whole_input;
        std::size_t intact; // input bytes holding `first` entirely
        encoding coding;
    };
    const std::string gz_first = gzip_member(first);
    const std::string zst_first = zstd_sized(first);
    const std::vector<truncated_case> cases = {
        {"gzip", gz_first + gzip_member(rest), gz_first.size(), encoding::gzip},
        {"zstd", zst_first + zstd_sized(rest), zst_first.size(),
         encoding::zstd},
    };

    for (const truncated_case& c : cases) {
        for (const std::size_t keep :
             {c.intact + 10, c.whole_input.size() - 1}) {
            for (const std::size_t step : {1u, 65536u}) {
                DYNAMIC_SECTION(c.name << " cut to " << keep << " bytes, "
                                       << step << " at a time")
                {
                    const std::string input = c.whole_input.substr(0, keep);
                    const cut_result cut =
                        cut_all(input, small(64, 4096), step);
                    CHECK(cut.coding == c.coding);
                    CHECK(cut.damage.error == errc::truncated);
                    CHECK(cut.damage.input_offset == keep);
                    CHECK_FALSE(cut.damage.message.empty());

                    // The text is a prefix holding all of the first part,
                    // framed as a body of that prefix would be.
                    const std::string got_text = join(cut).text;
                    REQUIRE(got_text.size() >= first.size());
                    REQUIRE(text.compare(0, got_text.size(), got_text) == 0);
                    check_like_whole(cut, got_text);
                    const joined whole_first = frame_whole(first);
                    const joined got = join(cut);
                    for (std::size_t i = 0; i < whole_first.records.size(); ++i)
                        CHECK(got.records[i].problem == defect::none);
                }
            }
        }
    }
}

TEST_CASE("corrupt compressed input keeps everything decoded before it",
          "[load][chunker]")
{
    const std::string first = ndjson(30, 51);
    const std::string rest = ndjson(30, 52);

    struct corrupt_case {
        std::string_view name;
        std::string input;
        std::size_t damage_at;
        std::string text;
    };
    const std::string gz_first = gzip_member(first);
    const std::string zst_first = zstd_sized(first);
    std::string gz_bad_magic = gz_first + gzip_member(rest);
    gz_bad_magic[gz_first.size() + 1] = 'X';
    std::string zst_bad_magic = zst_first + zstd_sized(rest);
    zst_bad_magic[zst_first.size()] = 'X';
    const std::vector<corrupt_case> cases = {
        {"gzip member with a bad magic", gz_bad_magic, gz_first.size(), first},
        {"zstd frame with a bad magic", zst_bad_magic, zst_first.size(), first},
        {"garbage after the last gzip member",
         gzip_member(first + rest) + "junk", gzip_member(first + rest).size(),
         first + rest},
        {"garbage after the last zstd frame", zstd_sized(first + rest) + "junk",
         zstd_sized(first + rest).size(), first + rest},
    };

    for (const corrupt_case& c : cases) {
        for (const std::size_t step : {1u, 65536u}) {
            DYNAMIC_SECTION(c.name << ", " << step << " at a time")
            {
                const cut_result cut = cut_all(c.input, small(64, 4096), step);
                CHECK(cut.damage.error == errc::corrupt);
                CHECK(cut.damage.input_offset == c.damage_at);
                check_like_whole(cut, c.text);
            }
        }
    }
}

TEST_CASE("the damage is known when the last chunk comes", "[load][chunker]")
{
    // Read a byte at a time, the damage is seen only after earlier
    // chunks went out.
    chunker c(reader(gzip_member(ndjson(20, 61)) + "junk", 1), small(64, 4096));
    chunk out;
    std::size_t chunks = 0;
    while (c.next(out)) {
        ++chunks;
        if (out.last) CHECK(c.damage().error == errc::corrupt);
    }
    CHECK(chunks > 1);
}

TEST_CASE("a start point skips what an earlier load covered", "[load][chunker]")
{
    // A file that grew: the earlier load ended after its last line.
    const std::string old_text = ndjson(30, 71) + "\n";
    const std::string added = "\n  \n" + ndjson(30, 72) + "[1,2]\n";
    const std::string text = old_text + added;
    const joined old_framed = frame_whole(old_text);

    chunker_options o = small(64, 4096);
    o.start.decoded_offset = old_text.size();
    o.start.line = 1 + count_lines(old_text);
    o.start.index = old_framed.records.size();

    // The same chunks as the added text cut alone, numbered on.
    const cut_result alone = cut_all(added, small(64, 4096));
    for (const std::string& input :
         {text, gzip_members(text, 3), zstd_frames(text, 2)}) {
        for (const std::size_t step : {1u, 65536u}) {
            CAPTURE(input.size(), step);
            const cut_result cut = cut_all(input, o, step);
            CHECK(cut.decoded_bytes == text.size());
            REQUIRE(cut.chunks.size() == alone.chunks.size());
            for (std::size_t i = 0; i < alone.chunks.size(); ++i) {
                INFO("chunk " << i);
                const chunk_copy& a = alone.chunks[i];
                const chunk_copy& g = cut.chunks[i];
                CHECK(g.offset == a.offset + old_text.size());
                CHECK(g.next_offset == a.next_offset + old_text.size());
                CHECK(g.first_line == a.first_line + o.start.line - 1);
                CHECK(g.first_index == a.first_index + o.start.index);
                CHECK(g.text == a.text);
                CHECK(g.blank_lines == a.blank_lines);
                REQUIRE(g.records.size() == a.records.size());
                for (std::size_t k = 0; k < a.records.size(); ++k) {
                    CHECK(g.records[k].offset == a.records[k].offset);
                    CHECK(g.records[k].line ==
                          a.records[k].line + o.start.line - 1);
                    CHECK(g.records[k].index ==
                          a.records[k].index + o.start.index);
                }
            }
            CHECK(cut.end_line == 1 + count_lines(text));
            CHECK(cut.end_index ==
                  old_framed.records.size() + join(alone).records.size());
        }
    }
}

TEST_CASE("a byte order mark is skipped only at the very start",
          "[load][chunker]")
{
    const std::string text = "\xEF\xBB\xBF{}\n\xEF\xBB\xBF{}\n";
    const cut_result from_start = cut_all(text, small(64, 4096));
    REQUIRE(join(from_start).records.size() == 2);
    CHECK(join(from_start).records[0].offset == 3);
    CHECK(join(from_start).records[0].kind == ks::frame::shape::object);

    chunker_options o = small(64, 4096);
    o.start = {6, 2, 1};
    const cut_result later = cut_all(text, o);
    REQUIRE(later.chunks.size() == 1);
    REQUIRE(later.chunks[0].records.size() == 1);
    CHECK(later.chunks[0].records[0].offset == 0);
    CHECK(later.chunks[0].records[0].kind == ks::frame::shape::text);
    CHECK(later.chunks[0].records[0].line == 2);
    CHECK(later.chunks[0].records[0].index == 1);
}

TEST_CASE("a start point past the end yields one empty chunk",
          "[load][chunker]")
{
    chunker_options o = small(64, 4096);
    o.start = {1000, 40, 30};
    const cut_result cut = cut_all(ndjson(3, 81), o);
    REQUIRE(cut.chunks.size() == 1);
    CHECK(cut.chunks[0].offset == 1000);
    CHECK(cut.chunks[0].text.empty());
    CHECK(cut.chunks[0].records.empty());
    CHECK(cut.end_line == 40);
    CHECK(cut.end_index == 30);
    CHECK(cut.decoded_bytes == ndjson(3, 81).size());
}

TEST_CASE("an empty input yields one empty last chunk", "[load][chunker]")
{
    struct empty_case {
        std::string_view name;
        std::string input;
        encoding coding;
    };
    const std::vector<empty_case> cases = {
        {"no bytes", "", encoding::identity},
        {"gzip of nothing", gzip_member(""), encoding::gzip},
        {"zstd of nothing", zstd_sized(""), encoding::zstd},
        {"only a skippable frame", skippable_frame("SSS"), encoding::zstd},
    };
    for (const empty_case& c : cases) {
        CAPTURE(c.name);
        const cut_result cut = cut_all(c.input, small(64, 4096));
        REQUIRE(cut.chunks.size() == 1);
        CHECK(cut.chunks[0].offset == 0);
        CHECK(cut.chunks[0].next_offset == 0);
        CHECK(cut.chunks[0].records.empty());
        CHECK(cut.chunks[0].blank_lines == 0);
        CHECK(cut.coding == c.coding);
        CHECK(cut.damage.error == errc::ok);
        CHECK(cut.decoded_bytes == 0);
        CHECK(cut.end_line == 1);
        CHECK(cut.end_index == 0);
    }
}

TEST_CASE("inputs shorter than a magic number are plain text",
          "[load][chunker]")
{
    for (const std::string_view text : {"1"sv, "{}"sv, "[1]"sv}) {
        for (const std::size_t step : {1u, 65536u}) {
            CAPTURE(text, step);
            const cut_result cut =
                cut_all(std::string(text), small(64, 4096), step);
            CHECK(cut.coding == encoding::identity);
            check_like_whole(cut, text);
        }
    }
}

TEST_CASE("a failing read is thrown to the caller", "[load][chunker]")
{
    auto failing = [](char*, std::size_t) -> std::size_t {
        throw std::system_error(EIO, std::generic_category(), "read");
    };
    chunker c(failing, small(64, 4096));
    chunk out;
    CHECK_THROWS_AS(c.next(out), std::system_error);
}

TEST_CASE("random texts cut as they frame whole", "[load][chunker][property]")
{
    // Lines of mostly valid values, with damage of every kind now and
    // then, cut with windows too small for some of their values.
    static constexpr std::string_view pieces[] = {
        "{\"a\":1}",
        "{\"a\":[1,{\"b\":2}]}",
        "[1,2]",
        "\"s\"",
        "12",
        "{",
        "}",
        "[",
        "]",
        "\"",
        " ",
        "\t",
        "\r",
        "\n",
        "\n",
        "\n",
        ",",
        "x",
        "{\"k\":\n\"v\"}",
    };
    std::mt19937 rng(2024);
    for (int round = 0; round < 300; ++round) {
        std::string text;
        const std::size_t count = rng() % 300;
        for (std::size_t i = 0; i < count; ++i)
            text += pieces[rng() % std::size(pieces)];
        CAPTURE(round, text);
        const std::size_t chunk_bytes = 1 + rng() % 64;
        const cut_result cut = cut_all(text, small(chunk_bytes, 1u << 16));
        check_like_whole(cut, text);
    }
}

TEST_CASE("random texts cut by force the same way however they come",
          "[load][chunker][property]")
{
    // Windows too small for many values: forced cuts everywhere, which
    // must still cover every byte once and not depend on reads or coding.
    static constexpr std::string_view pieces[] = {
        "{\"a\":1}", "[1,2]", "{",  "}",  "[", "]", "\"",
        "\"s\"",     " ",     "\n", "\n", ",", "x", "{\"k\":\n\"v\"}",
    };
    std::mt19937 rng(77);
    for (int round = 0; round < 200; ++round) {
        std::string text;
        const std::size_t count = rng() % 400;
        for (std::size_t i = 0; i < count; ++i)
            text += pieces[rng() % std::size(pieces)];
        CAPTURE(round, text);
        const std::size_t chunk_bytes = 1 + rng() % 16;
        const chunker_options o = small(chunk_bytes, chunk_bytes * 4);

        const cut_result want = cut_all(text, o, 65536);
        REQUIRE(join(want).text == text);
        CHECK(want.end_line == 1 + count_lines(text));
        for (const std::string& input : {text, gzip_members(text, 2)}) {
            const cut_result got = cut_all(input, o, 1 + rng() % 9);
            REQUIRE(got.chunks.size() == want.chunks.size());
            for (std::size_t i = 0; i < want.chunks.size(); ++i)
                CHECK(got.chunks[i] == want.chunks[i]);
        }
    }
}
