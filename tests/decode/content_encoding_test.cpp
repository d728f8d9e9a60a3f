#include "decode/decode.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using ks::decode::encoding;
using ks::decode::errc;

namespace {

struct header_case {
    const char* behaviour;
    const char* header;
    std::vector<encoding> order;
};

struct unknown_case {
    const char* behaviour;
    const char* header;
    const char* token;
};

} // namespace

TEST_CASE("content-encoding headers list the codings to undo, last first")
{
    const std::vector<header_case> cases = {
        {"an empty header means a plain body", "", {}},
        {"identity means a plain body", "identity", {}},
        {"gzip alone", "gzip", {encoding::gzip}},
        {"x-gzip is gzip", "x-gzip", {encoding::gzip}},
        {"tokens ignore case", "GZip", {encoding::gzip}},
        {"deflate alone", "deflate", {encoding::deflate}},
        {"zstd alone", "ZSTD", {encoding::zstd}},
        {"snappy alone", "snappy", {encoding::snappy}},
        {"spaces and tabs around tokens are ignored",
         " \tgzip \t",
         {encoding::gzip}},
        {"two codings are undone last-named first",
         "gzip, zstd",
         {encoding::zstd, encoding::gzip}},
        {"three codings without spaces",
         "deflate,gzip,zstd",
         {encoding::zstd, encoding::gzip, encoding::deflate}},
        {"identity inside a list is skipped",
         "identity, gzip, identity",
         {encoding::gzip}},
        {"empty list elements are skipped",
         ",gzip,, ,deflate,",
         {encoding::deflate, encoding::gzip}},
        {"a blank header is plain", "  \t ", {}},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.behaviour)
        {
            const auto list = ks::decode::parse_content_encoding(c.header);
            REQUIRE(list.error == errc::ok);
            REQUIRE(list.order == c.order);
            REQUIRE(list.unknown.empty());
        }
    }
}

TEST_CASE("content-encoding headers with an unknown token are refused")
{
    const std::vector<unknown_case> cases = {
        {"brotli is not supported", "br", "br"},
        {"compress is not supported", "gzip, compress", "compress"},
        {"the token is reported trimmed", "zstd,  lz4 ", "lz4"},
        {"lookalikes are not accepted", "gzip2", "gzip2"},
        {"x-zstd is not an alias", "x-zstd", "x-zstd"},
    };
    for (const auto& c : cases) {
        DYNAMIC_SECTION(c.behaviour)
        {
            const auto list = ks::decode::parse_content_encoding(c.header);
            REQUIRE(list.error == errc::unsupported_encoding);
            REQUIRE(list.unknown == c.token);
            REQUIRE(list.order.empty());
        }
    }
}

TEST_CASE("encoding names are the header tokens they come from")
{
    for (encoding e : {encoding::identity, encoding::gzip, encoding::deflate,
                       encoding::zstd, encoding::snappy}) {
        const std::string name(ks::decode::encoding_name(e));
        const auto list = ks::decode::parse_content_encoding(name);
        REQUIRE(list.error == errc::ok);
        if (e == encoding::identity)
            REQUIRE(list.order.empty());
        else
            REQUIRE(list.order == std::vector<encoding>{e});
        REQUIRE(ks::decode::supported_encodings().find(name) !=
                std::string_view::npos);
    }
}
