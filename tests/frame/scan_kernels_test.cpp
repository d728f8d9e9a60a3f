#include "frame/scan_kernels.hpp"

#include <catch2/catch.hpp>

#include <iterator>
#include <random>
#include <string>
#include <vector>

using namespace ks::frame::detail;

namespace {

/// Random bytes, mostly plain, with the ones the kernels look for mixed in.
std::string random_bytes(std::mt19937& rng, std::size_t size)
{
    static const std::string special =
        std::string("\"\\{}[]\n\t\r\x1f\x20\x7f\x80\xff", 15) + '\0';
    std::string data(size, 'a');
    for (char& c : data) {
        const unsigned roll = rng() % 16;
        if (roll < 3)
            c = special[rng() % special.size()];
        else if (roll < 6)
            c = static_cast<char>(rng() % 256);
    }
    return data;
}

/// Whether a byte falls in any class a block classification reports.
bool is_classified(char c)
{
    return is_string_stop(c) || c == '{' || c == '}' || c == '[' || c == ']';
}

} // namespace

TEST_CASE("string stops are quote, backslash and raw control bytes",
          "[frame][kernels]")
{
    for (int b = 0; b < 256; ++b) {
        CAPTURE(b);
        const bool expected = b < 0x20 || b == '"' || b == '\\';
        CHECK(is_string_stop(static_cast<char>(b)) == expected);
    }
}

TEST_CASE("the string stop search agrees with the byte loop everywhere",
          "[frame][kernels]")
{
    std::mt19937 rng(5);
    for (int round = 0; round < 3000; ++round) {
        const std::string data = random_bytes(rng, rng() % 80);
        for (std::size_t from = 0; from <= data.size(); ++from) {
            CAPTURE(round, from, data);
            const std::size_t want =
                find_string_stop_scalar(data.data(), from, data.size());
            CHECK(find_string_stop(data.data(), from, data.size()) == want);
        }
    }
}

TEST_CASE("a string stop search that finds nothing returns the end",
          "[frame][kernels]")
{
    const std::string data(100, 'x');
    for (std::size_t size = 0; size <= data.size(); ++size) {
        CAPTURE(size);
        CHECK(find_string_stop(data.data(), 0, size) == size);
    }
}

TEST_CASE("block classes agree with the byte loop", "[frame][kernels]")
{
    // Every byte value at every position, then random blocks.
    std::string block(block_bytes, 'a');
    for (int b = 0; b < 256; ++b) {
        for (std::size_t at = 0; at < block_bytes; at += 13) {
            CAPTURE(b, at);
            block.assign(block_bytes, 'a');
            block[at] = static_cast<char>(b);
            const block_masks want = classify_block_scalar(block.data());
            const block_masks got = classify_block(block.data());
            if (have_avx512_classify()) {
                const block_masks wide = classify_block_avx512(block.data());
                CHECK(wide.quote == want.quote);
                CHECK(wide.backslash == want.backslash);
                CHECK(wide.bracket == want.bracket);
                CHECK(wide.control == want.control);
            }
            CHECK(got.quote == want.quote);
            CHECK(got.backslash == want.backslash);
            CHECK(got.bracket == want.bracket);
            CHECK(got.control == want.control);
            const std::uint64_t any =
                want.quote | want.backslash | want.bracket | want.control;
            CHECK(any ==
                  (is_classified(block[at]) ? std::uint64_t{1} << at : 0));
        }
    }

    std::mt19937 rng(11);
    for (int round = 0; round < 2000; ++round) {
        const std::string data = random_bytes(rng, block_bytes);
        CAPTURE(data);
        const block_masks want = classify_block_scalar(data.data());
        std::vector<block_masks> kernels = {classify_block(data.data())};
        if (have_avx512_classify())
            kernels.push_back(classify_block_avx512(data.data()));
        for (const block_masks& got : kernels) {
            CHECK(got.quote == want.quote);
            CHECK(got.backslash == want.backslash);
            CHECK(got.bracket == want.bracket);
            CHECK(got.control == want.control);
        }
    }
}

TEST_CASE("each backslash escapes the byte after it, across blocks",
          "[frame][kernels]")
{
    std::mt19937 rng(3);
    for (int round = 0; round < 3000; ++round) {
        // Three blocks of random backslash runs, checked against a walk.
        // Long runs and runs at the edges come from the fixed shapes.
        constexpr std::uint64_t shapes[] = {
            ~std::uint64_t{0}, std::uint64_t{1} << 63, 1,
            0x8000'0000'0000'0001ull, 0xF000'0000'0000'000Full,
            0x5555'5555'5555'5555ull, 0xAAAA'AAAA'AAAA'AAAAull,
            0x0000'FFFF'FFFF'0000ull, 0x7FFF'FFFF'FFFF'FFFEull};
        std::uint64_t blocks[3];
        for (std::uint64_t& b : blocks) {
            const unsigned pick = rng() % 8;
            if (pick == 0)
                b = 0;
            else if (pick == 1)
                b = shapes[rng() % std::size(shapes)];
            else
                b = (std::uint64_t{rng()} << 32 | rng()) &
                    (std::uint64_t{rng()} << 32 | rng());
        }
        bool escape_next = false;
        std::uint64_t carry = 0;
        for (const std::uint64_t backslash : blocks) {
            std::uint64_t want = 0;
            for (int i = 0; i < 64; ++i) {
                const bool is_backslash = ((backslash >> i) & 1) != 0;
                if (escape_next) want |= std::uint64_t{1} << i;
                escape_next = !escape_next && is_backslash;
            }
            CAPTURE(round, backslash);
            CHECK(escaped_bytes(backslash, carry) == want);
            CHECK(carry == (escape_next ? 1u : 0u));
        }
    }
}

TEST_CASE("prefix parity marks the inside of quoted spans", "[frame][kernels]")
{
    std::mt19937 rng(4);
    for (int round = 0; round < 2000; ++round) {
        const std::uint64_t x = std::uint64_t{rng()} << 32 | rng();
        std::uint64_t want = 0;
        bool parity = false;
        for (int i = 0; i < 64; ++i) {
            parity ^= ((x >> i) & 1) != 0;
            if (parity) want |= std::uint64_t{1} << i;
        }
        CHECK(prefix_xor(x) == want);
    }
}
