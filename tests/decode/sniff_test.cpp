#include "decode/sniff.hpp"

#include "support/coders.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using ks::decode::encoding;
using namespace ks::test;

namespace {

struct sniff_case {
    std::string behaviour;
    std::string head;
    encoding expected;
};

} // namespace

TEST_CASE("sniff tells gzip and zstd from plain data by their magic")
{
    const std::string text = sample_text(1000);
    std::vector<sniff_case> cases = {
        {"a gzip member is gzip", gzip_member(text), encoding::gzip},
        {"the gzip magic alone is gzip", "\x1f\x8b", encoding::gzip},
        {"a zstd frame is zstd", zstd_sized(text), encoding::zstd},
        {"the zstd magic alone is zstd", "\x28\xb5\x2f\xfd", encoding::zstd},
        {"ndjson is identity", text, encoding::identity},
        {"nothing is identity", "", encoding::identity},
        {"half a gzip magic is identity", "\x1f", encoding::identity},
        {"three bytes of zstd magic are identity", "\x28\xb5\x2f",
         encoding::identity},
        {"a near miss of the gzip magic is identity", "\x1f\x8c",
         encoding::identity},
        {"a near miss of the zstd magic is identity", "\x28\xb5\x2f\xfe",
         encoding::identity},
        {"a magic just past the skippable range is identity",
         "\x60\x2a\x4d\x18", encoding::identity},
        {"a zlib-wrapped deflate stream is not guessed", zlib_stream(text),
         encoding::identity},
    };

    // Every one of the sixteen skippable magics is zstd.
    for (unsigned nibble = 0; nibble < 16; ++nibble)
        cases.push_back({"a skippable frame with nibble " +
                             std::to_string(nibble) + " is zstd",
                         skippable_frame("x", nibble) + zstd_sized(text),
                         encoding::zstd});

    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.behaviour)
        {
            REQUIRE(ks::decode::sniff(c.head) == c.expected);
        }
    }
}
