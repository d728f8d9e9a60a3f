#include "core/padded_buffer.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <string>

TEST_CASE("padded buffer keeps zeroed padding after its content")
{
    ks::padded_buffer b;
    b.append("hello");
    REQUIRE(b.view() == "hello");
    REQUIRE(b.readable() == 5 + ks::json_padding_bytes);
    for (std::size_t i = 0; i < ks::json_padding_bytes; ++i)
        REQUIRE(b.data()[5 + i] == '\0');
}

TEST_CASE("padded buffer grows in place through prepare and commit")
{
    ks::padded_buffer b;
    std::string expected;
    for (int i = 0; i < 10000; ++i) {
        char* p = b.prepare(7);
        for (int k = 0; k < 7; ++k) p[k] = static_cast<char>('a' + k);
        b.commit(7);
        expected += "abcdefg";
    }
    REQUIRE(b.view() == expected);
    REQUIRE(b.data()[b.size()] == '\0');
}

TEST_CASE("shrink_to_fit gives back the room and keeps content and padding")
{
    ks::padded_buffer b;
    b.reserve(4 << 20);
    const std::string text(300 << 10, 'z');
    b.append(text);
    REQUIRE(b.capacity() >= (4u << 20));

    b.shrink_to_fit();
    CHECK(b.capacity() == text.size());
    CHECK(b.view() == text);
    for (std::size_t i = 0; i < ks::json_padding_bytes; ++i)
        REQUIRE(b.data()[text.size() + i] == '\0');

    // And it grows again as before.
    b.append("tail");
    CHECK(b.view() == text + "tail");
    CHECK(b.data()[b.size()] == '\0');
}

TEST_CASE("padded buffer clear keeps memory and resize re-pads")
{
    ks::padded_buffer b;
    b.append(std::string(1000, 'x'));
    const char* before = b.data();
    b.clear();
    REQUIRE(b.empty());
    b.append("ab");
    REQUIRE(b.data() == before);
    b.resize(1);
    REQUIRE(b.view() == "a");
    REQUIRE(b.data()[1] == '\0');
}

TEST_CASE("an empty padded buffer still has readable padding")
{
    ks::padded_buffer a;
    a.append("", 0);
    REQUIRE(a.data() != nullptr);
    REQUIRE(a.data()[0] == '\0');

    ks::padded_buffer b;
    b.resize(0);
    REQUIRE(b.data() != nullptr);

    ks::padded_buffer c;
    c.prepare(0);
    c.commit(0);
    REQUIRE(c.view().empty());
}

TEST_CASE("padded buffer keeps content and padding across large growth")
{
    // Blocks this large are mapped, and realloc moves them with mremap.
    ks::serve_large_blocks_with_mmap();
    ks::padded_buffer b;
    std::string expected;
    for (int i = 0; i < 64; ++i) {
        std::string piece(100000, static_cast<char>('A' + i % 26));
        b.append(piece);
        expected += piece;
        REQUIRE(b.data()[b.size()] == '\0');
    }
    REQUIRE(b.view() == expected);
    REQUIRE(b.data()[b.size() + ks::json_padding_bytes - 1] == '\0');
}

TEST_CASE("freed large blocks are kept within the limit and handed out "
          "again for a request of about their size")
{
    constexpr std::size_t mib = 1u << 20;
    ks::serve_large_blocks_with_mmap();
    ks::keep_freed_large_blocks(8 * mib);

    // A freed 2 MiB block comes back for 1.9 MiB, content copied from a
    // small block that grew into it.
    ks::malloc_bytes a;
    ks::realloc_bytes(a, 2 * mib);
    const char* kept = a.get();
    a.reset();
    ks::malloc_bytes b;
    ks::realloc_bytes(b, 100);
    std::memcpy(b.get(), "small content", 14);
    ks::realloc_bytes(b, 2 * mib - mib / 10);
    CHECK(b.get() == kept);
    CHECK(std::string(b.get()) == "small content");

    // Not for half its size: that would waste half the block.
    b.reset();
    ks::malloc_bytes c;
    ks::realloc_bytes(c, mib);
    CHECK(c.get() != kept);
    ks::malloc_bytes d;
    ks::realloc_bytes(d, 2 * mib);
    CHECK(d.get() == kept);

    // Past the limit a freed block goes back to the system: of two 6 MiB
    // blocks only the first is kept.
    ks::malloc_bytes e;
    ks::malloc_bytes f;
    ks::realloc_bytes(e, 6 * mib);
    ks::realloc_bytes(f, 6 * mib);
    const char* first = e.get();
    e.reset();
    f.reset();
    ks::malloc_bytes g;
    ks::malloc_bytes h;
    ks::realloc_bytes(g, 6 * mib);
    ks::realloc_bytes(h, 6 * mib);
    CHECK(g.get() == first);
    CHECK(h.get() != first);

    // Other tests keep nothing.
    ks::keep_freed_large_blocks(0);
}
