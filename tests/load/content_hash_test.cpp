#include "load/content_hash.hpp"

#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using ks::digest;
using ks::load::file_hash;
using ks::load::hash_file;
using ks::to_hex;
using ks::test::temp_dir;

namespace {

constexpr std::uint64_t mib = 1 << 20;
constexpr std::uint64_t everything = std::numeric_limits<std::uint64_t>::max();

void write_file(const std::string& path, const std::string& content)
{
    std::ofstream out(path, std::ios::binary);
    out << content;
    if (!out) throw std::runtime_error("cannot write " + path);
}

/// Bytes that differ everywhere, so that a block hashed twice or
/// skipped changes the digest.
std::string random_bytes(std::size_t n)
{
    std::mt19937_64 rng(20260101);
    std::string s(n, '\0');
    for (char& c : s)
        c = static_cast<char>(rng());
    return s;
}

/// SHA-256 in one call over memory: the reference for the streaming
/// implementation.
std::string reference_hex(const std::string& data)
{
    digest d{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(),
                   nullptr) != 1 ||
        len != d.size())
        throw std::runtime_error("EVP_Digest failed");
    return to_hex(d);
}

std::string prefix_hex(const file_hash& h)
{
    return h.prefix ? to_hex(*h.prefix) : "(none)";
}

} // namespace

TEST_CASE("files hash to the published SHA-256 vectors", "[load][content_hash]")
{
    struct vector_case {
        std::string name;
        std::string content;
        std::string hex;
    };
    const std::vector<vector_case> cases = {
        {"empty", "",
         "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "abc",
         "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"two blocks of the compression function",
         "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };

    const temp_dir tmp("content-hash");
    for (const vector_case& c : cases) {
        DYNAMIC_SECTION(c.name)
        {
            const std::string path = tmp.file("vector");
            write_file(path, c.content);
            const file_hash h = hash_file(path, everything);
            CHECK(to_hex(h.whole) == c.hex);
            CHECK(h.bytes == c.content.size());
            CHECK_FALSE(h.prefix);
        }
    }
}

TEST_CASE("a file larger than one read block hashes as a whole",
          "[load][content_hash]")
{
    const temp_dir tmp("content-hash");
    const std::string content = random_bytes(3 * mib + 12345);
    write_file(tmp.file("big"), content);

    const file_hash h = hash_file(tmp.file("big"), everything);
    CHECK(to_hex(h.whole) == reference_hex(content));
    CHECK(h.bytes == content.size());
}

TEST_CASE("a limit hashes only the first bytes", "[load][content_hash]")
{
    const temp_dir tmp("content-hash");
    const std::string content = random_bytes(2 * mib + 777);
    write_file(tmp.file("big"), content);

    const std::vector<std::uint64_t> limits = {0,
                                               1,
                                               100,
                                               mib - 1,
                                               mib,
                                               mib + 1,
                                               content.size() - 1,
                                               content.size(),
                                               content.size() + 1000};
    for (const std::uint64_t limit : limits) {
        DYNAMIC_SECTION("limit " << limit)
        {
            const std::uint64_t expected_bytes =
                std::min<std::uint64_t>(limit, content.size());
            const file_hash h = hash_file(tmp.file("big"), limit);
            CHECK(h.bytes == expected_bytes);
            CHECK(to_hex(h.whole) ==
                  reference_hex(content.substr(0, expected_bytes)));
        }
    }
}

TEST_CASE("the prefix digest equals hashing the prefix alone",
          "[load][content_hash]")
{
    const temp_dir tmp("content-hash");
    const std::string content = random_bytes(2 * mib + 777);
    write_file(tmp.file("big"), content);

    // Boundaries inside a block, on a block edge, and at the very end.
    const std::vector<std::uint64_t> prefixes = {
        1, 1000, mib - 1, mib, mib + 1, 2 * mib, content.size()};
    for (const std::uint64_t prefix : prefixes) {
        DYNAMIC_SECTION("prefix " << prefix)
        {
            const file_hash h = hash_file(tmp.file("big"), everything, prefix);
            const std::string want = reference_hex(content.substr(0, prefix));
            CHECK(prefix_hex(h) == want);
            CHECK(to_hex(hash_file(tmp.file("big"), prefix).whole) == want);

            // The whole is unaffected by the split.
            CHECK(to_hex(h.whole) == reference_hex(content));
            CHECK(h.bytes == content.size());
        }
    }
}

TEST_CASE("a prefix beyond what is hashed gives no prefix",
          "[load][content_hash]")
{
    const temp_dir tmp("content-hash");
    write_file(tmp.file("small"), "0123456789");

    SECTION("beyond the end of the file")
    {
        const file_hash h = hash_file(tmp.file("small"), everything, 11);
        CHECK_FALSE(h.prefix);
        CHECK(h.bytes == 10);
    }

    SECTION("beyond the limit")
    {
        const file_hash h = hash_file(tmp.file("small"), 5, 8);
        CHECK_FALSE(h.prefix);
        CHECK(h.bytes == 5);
    }

    SECTION("a prefix of 0 asks for none")
    {
        CHECK_FALSE(hash_file(tmp.file("small"), everything, 0).prefix);
    }

    SECTION("exactly the file is a prefix equal to the whole")
    {
        const file_hash h = hash_file(tmp.file("small"), everything, 10);
        REQUIRE(h.prefix);
        CHECK(to_hex(*h.prefix) == to_hex(h.whole));
    }
}

TEST_CASE("a file that cannot be read throws system_error",
          "[load][content_hash]")
{
    const temp_dir tmp("content-hash");

    SECTION("missing")
    {
        try {
            static_cast<void>(hash_file(tmp.file("missing"), everything));
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::no_such_file_or_directory);
            CHECK_THAT(e.what(), Catch::Contains(tmp.file("missing")));
        }
    }

    SECTION("a directory")
    {
        try {
            static_cast<void>(hash_file(tmp.file(""), everything));
            FAIL("no exception");
        } catch (const std::system_error& e) {
            CHECK(e.code() == std::errc::is_a_directory);
        }
    }
}

TEST_CASE("digests print as lower-case hex", "[load][content_hash]")
{
    digest d{};
    d[0] = 0xab;
    d[31] = 0x0f;
    const std::string hex = to_hex(d);

    CHECK(hex.size() == 64);
    CHECK(hex.substr(0, 2) == "ab");
    CHECK(hex.substr(2, 60) == std::string(60, '0'));
    CHECK(hex.substr(62) == "0f");
}
