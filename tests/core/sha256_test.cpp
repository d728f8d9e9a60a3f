// SHA-256 helpers: tagged digests are the digest of the tag and parts
// joined by NUL bytes, so different tags never give the same digest.

#include "core/sha256.hpp"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("a tagged digest hashes the tag and each part after a NUL")
{
    using namespace std::string_literals;
    CHECK(ks::tagged_sha256("bearer", {"x"}) == ks::sha256("bearer\0x"s));
    CHECK(ks::tagged_sha256("undecodable", {"gzip", "body"}) ==
          ks::sha256("undecodable\0gzip\0body"s));
    CHECK(ks::tagged_sha256("basic", {"x"}) !=
          ks::tagged_sha256("bearer", {"x"}));
    CHECK(ks::to_hex(ks::sha256("abc")) ==
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
