#include "decode/body_decoder.hpp"
#include "decode/decode.hpp"

#include "support/coders.hpp"

#include <catch2/catch.hpp>

#include <zstd.h>

#include <chrono>
#include <cstddef>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace ks::decode;
using namespace ks::test;

namespace {

constexpr std::size_t no_limit = std::numeric_limits<std::size_t>::max();

// Texts the bodies stand for. `text` spans several deflate blocks and
// three zstd blocks of 128 KiB.
const std::string& text()
{
    static const std::string t = sample_text(300'000);
    return t;
}
const std::string& other()
{
    static const std::string t = sample_text(5'000) + "second part\n";
    return t;
}

// Decodes `body` as labelled by a Content-Encoding header value.
result decode_as(std::string_view header, std::string_view body,
                 std::size_t limit, ks::padded_buffer& out)
{
    const encoding_list list = parse_content_encoding(header);
    REQUIRE(list.error == errc::ok);
    return decode_body(list.order, body, limit, out);
}

std::string with_byte(std::string s, std::size_t at, unsigned char value)
{
    s.at(at) = static_cast<char>(value);
    return s;
}

std::string flip_byte(std::string s, std::size_t at)
{
    s.at(at) = static_cast<char>(s.at(at) ^ 0x55);
    return s;
}

// A streamed zstd frame whose second block is given the reserved block
// type. The frame has no content size, so its header is 6 bytes: magic,
// descriptor and window byte.
std::string zstd_with_bad_second_block(const std::string& data)
{
    std::string frame = zstd_streamed(data);
    std::size_t at = 6;
    const auto byte = [&](std::size_t i) {
        return static_cast<std::uint32_t>(
            static_cast<unsigned char>(frame.at(i)));
    };
    const std::uint32_t header =
        byte(at) | byte(at + 1) << 8 | byte(at + 2) << 16;
    const bool rle = ((header >> 1) & 3) == 1;
    at += 3 + (rle ? 1 : header >> 3);
    frame.at(at) = static_cast<char>(frame.at(at) | 0x06);
    return frame;
}

// A zstd frame header declaring a 2 GiB window and no content size,
// followed by an empty last raw block.
std::string zstd_huge_window()
{
    return std::string("\x28\xb5\x2f\xfd\x00\xa8\x01\x00\x00", 9);
}

struct good_case {
    const char* behaviour;
    const char* header;
    std::string body;
    std::string decoded;
    std::size_t limit = no_limit;
};

struct bad_case {
    const char* behaviour;
    const char* header;
    std::string body;
    errc error;
    const char* message_part;
    std::size_t offset_min;
    std::size_t offset_max;
    // `out` must be a prefix of `decoded` with a length in this range.
    std::string decoded;
    std::size_t kept_min = 0;
    std::size_t kept_max = 0;
    std::size_t limit = no_limit;
    std::size_t coding_index = 0;
};

std::vector<good_case> make_good_cases()
{
    const std::string& t = text();
    const std::string& o = other();
    return {
        {"identity body is copied as it is", "identity", t, t},
        {"body without a coding is copied as it is", "", t, t},
        {"gzip body of one member decodes", "gzip", gzip_member(t), t},
        {"gzip body of two members decodes both", "gzip",
         gzip_member(t) + gzip_member(o), t + o},
        {"gzip members that are empty decode to nothing between others", "gzip",
         gzip_member("") + gzip_member(o) + gzip_member(""), o},
        {"gzip member with a file name and comment decodes", "x-gzip",
         gzip_member(o, 6, "events.ndjson"), o},
        {"gzip member stored without compression decodes", "gzip",
         gzip_member(o, 0), o},
        {"deflate body wrapped in zlib decodes", "deflate", zlib_stream(t), t},
        {"raw deflate body decodes through the fallback", "deflate",
         raw_deflate(t), t},
        {"raw deflate of stored blocks decodes through the fallback", "deflate",
         raw_deflate(noise(70'000), 0), noise(70'000)},
        {"zstd frame with a content size decodes", "zstd", zstd_sized(t), t},
        {"zstd frame without a content size decodes", "zstd", zstd_streamed(t),
         t},
        {"zstd frame with a checksum decodes", "zstd",
         zstd_streamed(t, 3, true), t},
        {"zstd body of several frames decodes them all", "zstd",
         zstd_sized(o) + zstd_streamed(t) + zstd_sized(o), o + t + o},
        {"zstd skippable frames before, between and after are skipped", "zstd",
         skippable_frame("meta", 0) + zstd_sized(o) +
             skippable_frame(noise(300), 0xf) + zstd_streamed(o) +
             skippable_frame("", 7),
         o + o},
        {"zstd body of only a skippable frame decodes to nothing", "zstd",
         skippable_frame("padding", 3), ""},
        {"gzip then zstd is undone zstd first", "gzip, zstd",
         zstd_streamed(gzip_member(t)), t},
        {"deflate then gzip is undone gzip first", "deflate, gzip",
         gzip_member(zlib_stream(t)), t},
        {"large gzip body grows the output many times", "gzip",
         gzip_member(sample_text(5'000'000)), sample_text(5'000'000)},
        {"identity body of exactly the limit fits", "", o, o, o.size()},
        {"gzip body decoding to exactly the limit fits", "gzip", gzip_member(t),
         t, t.size()},
        {"deflate body decoding to exactly the limit fits", "deflate",
         raw_deflate(o), o, o.size()},
        {"zstd body decoding to exactly the limit fits", "zstd",
         zstd_streamed(t) + skippable_frame("x"), t, t.size()},
        {"two codings decoding to exactly the limit fit", "gzip, zstd",
         zstd_sized(gzip_member(o)), o, o.size()},
        {"snappy raw block decodes", "snappy", snappy_block(t), t},
        {"snappy block decoding to exactly the limit fits", "snappy",
         snappy_block(o), o, o.size()},
        {"gzip inside a snappy block is undone snappy first", "gzip, snappy",
         snappy_block(gzip_member(t)), t},
    };
}

std::vector<bad_case> make_bad_cases()
{
    const std::string& t = text();
    const std::string& o = other();
    const std::string m1 = gzip_member(o);
    const std::string m_text = gzip_member(t);
    const std::string z = zlib_stream(t);
    const std::string r = raw_deflate(o);
    const std::string f1 = zstd_sized(o);
    const std::string f_text = zstd_streamed(t);
    const std::string f_sum = zstd_streamed(o, 3, true);
    const std::size_t mid = m_text.size() / 2;
    const std::string gz_of_zstd = gzip_member(f_text);

    const std::string sn = snappy_block(t);
    return {
        // snappy blocks decode whole or not at all.
        {"snappy framing format (stream identifier) is corrupt", "snappy",
         std::string("\xff\x06\x00\x00sNaPpY", 10) + sn, errc::corrupt,
         "framing format", 0, 0, t, 0, 0},
        {"snappy block cut short is corrupt", "snappy",
         sn.substr(0, sn.size() / 2), errc::corrupt, "corrupt", 0, 0, t, 0,
         0},
        {"snappy block over the limit is refused before decoding", "snappy",
         sn, errc::too_large, "over the limit", 0, 0, t, 0, 0,
         t.size() - 1},
        // gzip damage: where it is found, and what was decoded before.
        {"gzip member 2 with an invalid block type is corrupt", "gzip",
         m1 + with_byte(gzip_member(t), 10, 0x07), errc::corrupt,
         "gzip member 2 is corrupt at byte", m1.size() + 10, m1.size() + 11, o,
         o.size(), o.size()},
        {"gzip trailing zero padding is corrupt", "gzip",
         m1 + std::string(16, '\0'), errc::corrupt,
         "holds 1 complete member, then data at byte", m1.size(), m1.size(), o,
         o.size(), o.size()},
        {"gzip single trailing zero byte is corrupt", "gzip",
         m1 + m1 + std::string(1, '\0'), errc::corrupt,
         "holds 2 complete members", 2 * m1.size(), 2 * m1.size(), o + o,
         2 * o.size(), 2 * o.size()},
        {"gzip trailing newline is corrupt", "gzip", m1 + "\n", errc::corrupt,
         "1f 8b", m1.size(), m1.size(), o, o.size(), o.size()},
        {"body that is not gzip is corrupt under gzip", "gzip", o,
         errc::corrupt, "gzip body does not start with", 0, 0, o},
        {"gzip member with a wrong CRC is corrupt", "gzip",
         flip_byte(m1, m1.size() - 8), errc::corrupt, "incorrect data check",
         m1.size() - 8, m1.size(), o, o.size(), o.size()},
        {"gzip member with a wrong length is corrupt", "gzip",
         flip_byte(m1, m1.size() - 4), errc::corrupt, "incorrect length check",
         m1.size() - 4, m1.size(), o, o.size(), o.size()},
        {"gzip header with an unknown method is corrupt", "gzip",
         with_byte(m1, 2, 7), errc::corrupt, "unknown compression method", 1,
         10, o},
        {"gzip member cut in half is truncated", "gzip", m_text.substr(0, mid),
         errc::truncated, "gzip member 1 is truncated: the input ends at byte",
         mid, mid, t, 1, t.size() - 1},
        {"gzip member cut inside its header is truncated", "gzip",
         m1.substr(0, 5), errc::truncated, "gzip member 1 is truncated", 5, 5,
         o},
        {"gzip member 2 cut after its magic is truncated", "gzip",
         m1 + "\x1f\x8b", errc::truncated, "gzip member 2 is truncated",
         m1.size() + 2, m1.size() + 2, o, o.size(), o.size()},
        {"gzip member 2 cut after one byte is truncated", "gzip", m1 + "\x1f",
         errc::truncated, "gzip member 2 is truncated", m1.size() + 1,
         m1.size() + 1, o, o.size(), o.size()},

        // deflate damage.
        {"zlib-wrapped deflate with a wrong checksum is corrupt", "deflate",
         flip_byte(z, z.size() - 1), errc::corrupt,
         "zlib-wrapped deflate stream is corrupt at byte", z.size() - 4,
         z.size(), t, t.size(), t.size()},
        {"zlib-wrapped deflate with bytes after its end is corrupt", "deflate",
         z + "xy", errc::corrupt, "but more bytes follow it", z.size(),
         z.size(), t, t.size(), t.size()},
        {"raw deflate with bytes after its end is corrupt", "deflate",
         r + std::string(1, '\0'), errc::corrupt,
         "raw deflate stream ends at byte", r.size(), r.size(), o, o.size(),
         o.size()},
        {"deflate cut short is truncated", "deflate", z.substr(0, 1000),
         errc::truncated, "zlib-wrapped deflate stream is truncated", 1000,
         1000, t, 1, t.size() - 1},
        {"deflate of a single byte is truncated", "deflate", "\x78",
         errc::truncated, "deflate stream is truncated", 1, 1, t},
        {"raw deflate with an invalid block type is corrupt", "deflate",
         std::string("\x07\x00\x00", 3), errc::corrupt, "invalid block type", 1,
         1, t},
        {"zlib header asking for a preset dictionary is corrupt", "deflate",
         std::string("\x78\x20\x00\x00\x00\x01\x03\x00", 8), errc::corrupt,
         "preset dictionary", 2, 6, t},

        // zstd damage.
        {"zstd frame 2 with a bad magic is corrupt", "zstd",
         f1 + with_byte(f1, 3, 0xfe), errc::corrupt,
         "holds 1 complete frame, then data at byte", f1.size(), f1.size(), o,
         o.size(), o.size()},
        {"zstd trailing zero byte is corrupt", "zstd",
         f1 + std::string(1, '\0'), errc::corrupt,
         "does not start with a zstd or skippable frame magic", f1.size(),
         f1.size(), o, o.size(), o.size()},
        {"body that is not zstd is corrupt under zstd", "zstd", o,
         errc::corrupt, "zstd body does not start with", 0, 0, o},
        {"zstd frame with a wrong checksum is corrupt", "zstd",
         flip_byte(f_sum, f_sum.size() - 1), errc::corrupt,
         "zstd frame 1 is corrupt at byte", f_sum.size() - 4, f_sum.size(), o,
         o.size(), o.size()},
        {"zstd block of a reserved type is corrupt after the blocks before",
         "zstd", zstd_with_bad_second_block(t), errc::corrupt,
         "zstd frame 1 is corrupt at byte", 6, f_text.size(), t, 128 << 10,
         128 << 10},
        {"zstd frame cut in half is truncated", "zstd",
         f_text.substr(0, f_text.size() / 2), errc::truncated,
         "zstd frame 1 is truncated: the input ends at byte", f_text.size() / 2,
         f_text.size() / 2, t, 1, t.size() - 1},
        {"zstd frame 2 cut inside its magic is truncated", "zstd",
         f1 + f1.substr(0, 3), errc::truncated, "zstd frame 2 is truncated",
         f1.size() + 3, f1.size() + 3, o, o.size(), o.size()},
        {"zstd skippable frame cut short is truncated", "zstd",
         skippable_frame("abcdef").substr(0, 10), errc::truncated,
         "zstd frame 1 is truncated", 10, 10, o},
        {"zstd frame asking for a 2 GiB window is too large", "zstd",
         zstd_huge_window(), errc::too_large, "asks for a window over 2^23", 0,
         0, o, 0, 0, 1 << 20},

        // Output over the limit: stopped with exactly the limit kept.
        {"identity body over the limit is too large", "", t, errc::too_large,
         "identity body decodes to more than 1000 bytes", 1000, 1000, t, 1000,
         1000, 1000},
        {"gzip body over the limit is too large", "gzip", m_text,
         errc::too_large, "gzip body decodes to more than 1000 bytes", 1,
         m_text.size(), t, 1000, 1000, 1000},
        {"deflate body over the limit is too large", "deflate", z,
         errc::too_large, "deflate body decodes to more than", 1, z.size(), t,
         1000, 1000, 1000},
        {"zstd body over the limit is too large", "zstd", f_text,
         errc::too_large, "zstd body decodes to more than", 1, f_text.size(), t,
         1000, 1000, 1000},
        {"zstd body one byte over the limit is too large", "zstd", f_text,
         errc::too_large, "zstd body decodes to more than", 1, f_text.size(), t,
         t.size() - 1, t.size() - 1, t.size() - 1},
        {"empty limit refuses any output", "gzip", m1, errc::too_large,
         "more than 0 bytes", 1, m1.size(), o, 0, 0, 0},

        // Several codings: which one failed, and what still came through.
        {"two codings over the limit are too large", "gzip, zstd",
         zstd_streamed(m_text), errc::too_large,
         "undoing coding 2 of 2 (gzip): gzip body decodes to more than", 1,
         m_text.size(), t, 100'000, 100'000, 100'000, 1},
        {"an inner coding far over the limit is too large", "gzip, zstd",
         zstd_streamed(m_text), errc::too_large,
         "undoing coding 1 of 2 (zstd): zstd body decodes to more than", 1,
         m_text.size(), t, 5000, 5000, 5000, 0},
        {"a truncated outer coding still yields its decodable prefix",
         "zstd, gzip", gz_of_zstd.substr(0, gz_of_zstd.size() * 9 / 10),
         errc::truncated, "undoing coding 1 of 2 (gzip): gzip member 1 is",
         gz_of_zstd.size() * 9 / 10, gz_of_zstd.size() * 9 / 10, t, 1,
         t.size() - 1, no_limit, 0},
        {"a damaged inner coding is reported with its index", "gzip, zstd",
         zstd_streamed(m1 + "junk"), errc::corrupt,
         "undoing coding 2 of 2 (gzip): gzip body holds 1 complete member",
         m1.size(), m1.size(), o, o.size(), o.size(), no_limit, 1},
    };
}

// Catch2 runs a test case once per section; the tables are built once.
const std::vector<good_case>& good_cases()
{
    static const std::vector<good_case> cases = make_good_cases();
    return cases;
}
const std::vector<bad_case>& bad_cases()
{
    static const std::vector<bad_case> cases = make_bad_cases();
    return cases;
}

struct bomb {
    const char* behaviour;
    const char* header;
    std::string body;
};

// 1 GiB of zeros: 1024 gzip members of 1 MiB each, and one zstd frame
// without content size; both are tiny on the wire.
const std::vector<bomb>& bombs()
{
    static const std::vector<bomb> cases = [] {
        const std::size_t mib = 1u << 20;
        std::string members;
        const std::string member = gzip_member(std::string(mib, '\0'), 9);
        for (int i = 0; i < 1024; ++i)
            members += member;
        return std::vector<bomb>{
            {"gzip bomb of many members", "gzip", members},
            {"gzip bomb of one 64 MiB member", "gzip",
             gzip_member(std::string(64 * mib, '\0'), 1)},
            {"zstd bomb of one frame", "zstd", zstd_zeros(1024 * mib)},
            {"zstd bomb inside gzip", "zstd, gzip",
             gzip_member(zstd_zeros(1024 * mib))},
        };
    }();
    return cases;
}

} // namespace

TEST_CASE("test fixtures make zstd frames with and without content size")
{
    const std::string s = zstd_sized(other());
    const std::string u = zstd_streamed(other());
    REQUIRE(ZSTD_getFrameContentSize(s.data(), s.size()) == other().size());
    REQUIRE(ZSTD_getFrameContentSize(u.data(), u.size()) ==
            ZSTD_CONTENTSIZE_UNKNOWN);
}

TEST_CASE("bodies in every coding decode to what was encoded")
{
    for (const auto& c : good_cases()) {
        DYNAMIC_SECTION(c.behaviour)
        {
            ks::padded_buffer out;
            out.append("stale content");
            const result r = decode_as(c.header, c.body, c.limit, out);
            INFO(r.message);
            REQUIRE(r.error == errc::ok);
            REQUIRE(out.size() == c.decoded.size());
            REQUIRE(out.view() == c.decoded);
            REQUIRE(out.data()[out.size()] == '\0');
        }
    }
}

TEST_CASE("damaged, cut or oversized bodies fail and keep the good prefix")
{
    for (const auto& c : bad_cases()) {
        DYNAMIC_SECTION(c.behaviour)
        {
            ks::padded_buffer out;
            const result r = decode_as(c.header, c.body, c.limit, out);
            INFO(r.message);
            REQUIRE(r.error == c.error);
            REQUIRE(r.message.find(c.message_part) != std::string::npos);
            REQUIRE(r.input_offset >= c.offset_min);
            REQUIRE(r.input_offset <= c.offset_max);
            REQUIRE(r.coding_index == c.coding_index);
            REQUIRE(out.size() >= c.kept_min);
            REQUIRE(out.size() <= c.kept_max);
            REQUIRE(out.view() ==
                    std::string_view(c.decoded).substr(0, out.size()));
        }
    }
}

TEST_CASE("empty body decodes to nothing under every coding")
{
    for (const char* header : {"", "identity", "gzip", "deflate", "zstd",
                               "gzip, zstd", "deflate, gzip"}) {
        DYNAMIC_SECTION("header '" << header << "'")
        {
            ks::padded_buffer out;
            out.append("stale");
            const result r = decode_as(header, {}, no_limit, out);
            REQUIRE(r.error == errc::ok);
            REQUIRE(out.empty());
        }
    }
}

TEST_CASE("a damaged byte in the middle of a member or frame is corrupt")
{
    const std::string& t = text();
    const std::string gz = gzip_member(t);
    const std::string zs = zstd_streamed(t, 3, true);
    struct flip_case {
        const char* behaviour;
        const char* header;
        std::string body;
    };
    const std::vector<flip_case> cases = {
        {"gzip member damaged halfway", "gzip", gz},
        {"zstd frame damaged halfway", "zstd", zs},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.behaviour)
        {
            // Damage is seen at or after the flipped byte, never before.
            const std::size_t at = c.body.size() / 2;
            ks::padded_buffer out;
            const result r =
                decode_as(c.header, flip_byte(c.body, at), no_limit, out);
            INFO(r.message);
            REQUIRE(r.error == errc::corrupt);
            REQUIRE(r.input_offset > at);
            REQUIRE(r.input_offset <= c.body.size());

            // What was decoded before the damaged block is intact.
            std::size_t same = 0;
            while (same < out.size() && same < t.size() &&
                   out.data()[same] == t[same])
                ++same;
            REQUIRE(same >= t.size() / 4);
        }
    }
}

TEST_CASE("a body decoding to 1 GB is stopped at a 1 MB limit")
{
    const std::size_t mib = 1u << 20;
    for (const auto& b : bombs()) {
        DYNAMIC_SECTION(b.behaviour)
        {
            const auto start = std::chrono::steady_clock::now();
            ks::padded_buffer out;
            const result r = decode_as(b.header, b.body, mib, out);
            const auto spent = std::chrono::steady_clock::now() - start;

            // Stopped early: exactly the limit kept, most input unread.
            INFO(r.message);
            REQUIRE(r.error == errc::too_large);
            REQUIRE(out.size() == mib);
            REQUIRE(out.view() == std::string(mib, '\0'));
            REQUIRE(spent < std::chrono::seconds(2));
            if (std::string_view(b.header) != "zstd, gzip")
                REQUIRE(r.input_offset < b.body.size() / 2);
        }
    }
}

TEST_CASE("a body decoder reused across bodies gives the same results")
{
    body_decoder decoder;
    ks::padded_buffer out;
    for (int round = 0; round < 2; ++round) {
        for (const auto& c : good_cases()) {
            const encoding_list list = parse_content_encoding(c.header);
            const result r = decoder.decode(list.order, c.body, c.limit, out);
            INFO(c.behaviour << ": " << r.message);
            REQUIRE(r.error == errc::ok);
            REQUIRE(out.view() == c.decoded);
        }

        // A failure in between leaves no trace on the next body.
        const encoding_list gz = parse_content_encoding("gzip");
        const result bad = decoder.decode(gz.order, "not gzip", no_limit, out);
        REQUIRE(bad.error == errc::corrupt);
    }
}
