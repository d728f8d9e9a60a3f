#include "decode/stream_decoder.hpp"

#include "support/coders.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

using namespace ks::decode;
using namespace ks::test;

namespace {

struct stream_case {
    const char* behaviour;
    encoding coding;
    std::string body;
    std::string decoded;
};

// Feeds `body` in chunks of `chunk` bytes, stopping at the first error.
result feed_in_chunks(stream_decoder& d, std::string_view body,
                      std::size_t chunk, ks::padded_buffer& out)
{
    for (std::size_t at = 0; at < body.size(); at += chunk) {
        const result r = d.feed(body.substr(at, chunk), out);
        if (r.error != errc::ok) return r;
    }
    return d.finish();
}

std::vector<stream_case> stream_cases()
{
    const std::string a = sample_text(20'000);
    const std::string b = sample_text(3'000) + "tail\n";
    return {
        {"identity", encoding::identity, a, a},
        {"gzip of two members", encoding::gzip, gzip_member(a) + gzip_member(b),
         a + b},
        {"zlib-wrapped deflate", encoding::deflate, zlib_stream(a), a},
        {"raw deflate", encoding::deflate, raw_deflate(a), a},
        {"zstd frames with skippable ones between", encoding::zstd,
         skippable_frame("m", 1) + zstd_streamed(a, 3, true) +
             skippable_frame("") + zstd_sized(b),
         a + b},
    };
}

} // namespace

TEST_CASE("stream decoder gives the same output whatever the chunk size")
{
    stream_decoder d;
    for (const auto& c : stream_cases()) {
        for (std::size_t chunk : {1, 2, 3, 5, 7, 64, 4096, 1 << 20}) {
            DYNAMIC_SECTION(c.behaviour << " in chunks of " << chunk)
            {
                ks::padded_buffer out;
                d.reset(c.coding);
                const result r = feed_in_chunks(d, c.body, chunk, out);
                INFO(r.message);
                REQUIRE(r.error == errc::ok);
                REQUIRE(out.view() == c.decoded);
                REQUIRE(d.input_bytes() == c.body.size());
                REQUIRE(d.output_bytes() == c.decoded.size());
            }
        }
    }
}

TEST_CASE("stream decoder is reusable across streams of any coding")
{
    stream_decoder d;
    for (int round = 0; round < 3; ++round) {
        for (const auto& c : stream_cases()) {
            ks::padded_buffer out;
            d.reset(c.coding);
            const result r = feed_in_chunks(d, c.body, 777, out);
            INFO(c.behaviour << ": " << r.message);
            REQUIRE(r.error == errc::ok);
            REQUIRE(out.view() == c.decoded);
        }
    }
}

TEST_CASE("stream decoder reports a cut stream only when told it ended")
{
    for (const auto& c : stream_cases()) {
        if (c.coding == encoding::identity) continue;
        DYNAMIC_SECTION(c.behaviour)
        {
            stream_decoder d;
            ks::padded_buffer out;
            d.reset(c.coding);
            const std::string_view half =
                std::string_view(c.body).substr(0, c.body.size() / 2);
            REQUIRE(d.feed(half, out).error == errc::ok);

            const result r = d.finish();
            REQUIRE(r.error == errc::truncated);
            REQUIRE(r.input_offset == half.size());
            REQUIRE(out.view() ==
                    std::string_view(c.decoded).substr(0, out.size()));
        }
    }
}

TEST_CASE("stream decoder fed byte by byte still refuses trailing garbage")
{
    const std::string a = sample_text(2'000);
    const std::string gz = gzip_member(a);
    const std::string zs = zstd_sized(a);
    const std::string zl = zlib_stream(a);
    const std::vector<stream_case> cases = {
        {"gzip then a zero byte", encoding::gzip, gz + '\0', a},
        {"zstd then a zero byte", encoding::zstd, zs + '\0', a},
        {"deflate then a zero byte", encoding::deflate, zl + '\0', a},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.behaviour)
        {
            stream_decoder d;
            ks::padded_buffer out;
            d.reset(c.coding);
            const result r = feed_in_chunks(d, c.body, 1, out);
            INFO(r.message);
            REQUIRE(r.error == errc::corrupt);
            REQUIRE(r.input_offset == c.body.size() - 1);
            REQUIRE(out.view() == c.decoded);
        }
    }
}

TEST_CASE("stream decoder errors stay until the next reset")
{
    stream_decoder d;
    ks::padded_buffer out;
    d.reset(encoding::gzip);
    const result first = d.feed("plain text", out);
    REQUIRE(first.error == errc::corrupt);

    // Good input after the error changes nothing.
    const std::string good = gzip_member("hello");
    const result again = d.feed(good, out);
    REQUIRE(again.error == errc::corrupt);
    REQUIRE(again.message == first.message);
    REQUIRE(d.finish().error == errc::corrupt);
    REQUIRE(out.empty());

    // A reset starts afresh.
    d.reset(encoding::gzip);
    REQUIRE(d.feed(good, out).error == errc::ok);
    REQUIRE(d.finish().error == errc::ok);
    REQUIRE(out.view() == "hello");
}

TEST_CASE("stream decoder appends and limits only the bytes it adds")
{
    const std::string a = sample_text(50'000);
    const std::string gz = gzip_member(a);
    struct limit_case {
        const char* behaviour;
        std::size_t limit;
        errc error;
    };
    const std::vector<limit_case> cases = {
        {"a limit of exactly the stream fits", a.size(), errc::ok},
        {"a limit one short is too large", a.size() - 1, errc::too_large},
        {"a small limit stops early", 1000, errc::too_large},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.behaviour)
        {
            stream_decoder d;
            ks::padded_buffer out;
            out.append("kept:");
            d.reset(encoding::gzip, c.limit);
            const result r = feed_in_chunks(d, gz, 100, out);
            REQUIRE(r.error == c.error);

            const std::size_t added = std::min(c.limit, a.size());
            REQUIRE(out.view() == "kept:" + a.substr(0, added));
            REQUIRE(d.output_bytes() == added);
        }
    }
}

TEST_CASE("stream decoder with no input finishes cleanly")
{
    for (encoding e : {encoding::identity, encoding::gzip, encoding::deflate,
                       encoding::zstd}) {
        stream_decoder d;
        ks::padded_buffer out;
        d.reset(e, 0);
        REQUIRE(d.feed({}, out).error == errc::ok);
        REQUIRE(d.finish().error == errc::ok);
        REQUIRE(out.empty());
        REQUIRE(d.input_bytes() == 0);
    }
}

TEST_CASE("a moved stream decoder carries on with its stream")
{
    const std::string a = sample_text(10'000);
    const std::string zs = zstd_streamed(a);
    stream_decoder first;
    ks::padded_buffer out;
    first.reset(encoding::zstd);
    const std::size_t half = zs.size() / 2;
    REQUIRE(first.feed(std::string_view(zs).substr(0, half), out).error ==
            errc::ok);

    stream_decoder second = std::move(first);
    REQUIRE(second.feed(std::string_view(zs).substr(half), out).error ==
            errc::ok);
    REQUIRE(second.finish().error == errc::ok);
    REQUIRE(out.view() == a);
}
