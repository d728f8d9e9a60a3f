#include "pg/copy_buffer.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <string>
#include <string_view>

using ks::pg::copy_buffer;
using namespace std::string_literals;

namespace {

// Signature with its NUL, then zero flags and zero extension length.
const std::string header = "PGCOPY\n\xff\r\n\0"s + std::string(8, '\0');

// The bytes appended by one call, after the header.
std::string appended(const std::function<void(copy_buffer&)>& write)
{
    copy_buffer b;
    write(b);
    return std::string(b.bytes().substr(header.size()));
}

} // namespace

TEST_CASE("a new copy buffer holds only the 19-byte header")
{
    copy_buffer b;
    CHECK(b.bytes() == header);
    CHECK(b.bytes().size() == 19);
    CHECK(b.rows() == 0);
    CHECK_FALSE(b.finished());
}

TEST_CASE("finish appends the int16 -1 trailer")
{
    copy_buffer b;
    b.finish();
    CHECK(b.bytes() == header + "\xff\xff");
    CHECK(b.finished());
}

TEST_CASE("every field is an int32 big-endian length and its bytes")
{
    struct field_case {
        const char* name;
        std::function<void(copy_buffer&)> write;
        std::string bytes;
    };
    std::array<std::string_view, 3> pieces{"ab", "", "c"};
    const field_case cases[] = {
        {"row start", [](copy_buffer& b) { b.begin_row(9); }, "\x00\x09"s},
        {"null", [](copy_buffer& b) { b.null(); }, "\xff\xff\xff\xff"s},
        {"true", [](copy_buffer& b) { b.boolean(true); },
         "\x00\x00\x00\x01\x01"s},
        {"false", [](copy_buffer& b) { b.boolean(false); },
         "\x00\x00\x00\x01\x00"s},
        {"int64", [](copy_buffer& b) { b.int64(0x0102030405060708); },
         "\x00\x00\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08"s},
        {"negative int64", [](copy_buffer& b) { b.int64(-2); },
         "\x00\x00\x00\x08\xff\xff\xff\xff\xff\xff\xff\xfe"s},
        {"timestamptz epoch", [](copy_buffer& b) { b.timestamptz(0); },
         "\x00\x00\x00\x08"s + std::string(8, '\0')},
        {"timestamptz before 2000", [](copy_buffer& b) { b.timestamptz(-1); },
         "\x00\x00\x00\x08"s + std::string(8, '\xff')},
        {"text in UTF-8", [](copy_buffer& b) { b.text("h\xc3\xa9"); },
         "\x00\x00\x00\x03h\xc3\xa9"s},
        {"empty text is not null", [](copy_buffer& b) { b.text(""); },
         "\x00\x00\x00\x00"s},
        {"text from pieces", [&](copy_buffer& b) { b.text(pieces); },
         "\x00\x00\x00\x03"
         "abc"s},
        {"bytea keeps every byte", [](copy_buffer& b) { b.bytea("\0\xff"s); },
         "\x00\x00\x00\x02\x00\xff"s},
        {"jsonb has version byte 1", [](copy_buffer& b) { b.jsonb("{}"); },
         "\x00\x00\x00\x03\x01{}"s},
        {"jsonb from pieces", [&](copy_buffer& b) { b.jsonb(pieces); },
         "\x00\x00\x00\x04\x01"
         "abc"s},
    };

    for (const field_case& c : cases) {
        CAPTURE(c.name);
        CHECK(appended(c.write) == c.bytes);
    }
}

TEST_CASE("a field longer than 255 bytes carries all four length bytes")
{
    std::string long_text(0x010203, 'x');
    std::string bytes = appended([&](copy_buffer& b) { b.text(long_text); });
    CHECK(bytes.substr(0, 4) == "\x00\x01\x02\x03"s);
    CHECK(bytes.size() == 4 + long_text.size());
}

TEST_CASE("rows counts tuples, not fields")
{
    copy_buffer b;
    b.begin_row(2);
    b.int64(1);
    b.null();
    b.begin_row(2);
    b.int64(2);
    b.text("x");
    CHECK(b.rows() == 2);
}

TEST_CASE("reset forgets rows and starts a fresh stream")
{
    copy_buffer b;
    b.begin_row(1);
    b.text("x");
    b.finish();

    b.reset();

    CHECK(b.bytes() == header);
    CHECK(b.rows() == 0);
    CHECK_FALSE(b.finished());
}

TEST_CASE("tuples are the stream without its header and trailer")
{
    copy_buffer b;
    CHECK(b.tuples().empty());
    b.begin_row(1);
    b.boolean(true);
    std::string tuple = "\x00\x01\x00\x00\x00\x01\x01"s;
    CHECK(b.tuples() == tuple);

    // Finished: the trailer is left out too, and the pieces add up.
    b.finish();
    CHECK(b.tuples() == tuple);
    CHECK(std::string(copy_buffer::stream_header()) + std::string(b.tuples()) +
              std::string(copy_buffer::stream_trailer()) ==
          b.bytes());
    CHECK(copy_buffer::stream_header() == header);
    CHECK(copy_buffer::stream_trailer() == "\xff\xff"s);
}

TEST_CASE("reserve makes room without changing the stream")
{
    copy_buffer b;
    b.reserve(4096);
    CHECK(b.capacity() == 4096);
    CHECK(b.bytes() == header);
    CHECK(b.rows() == 0);

    // Exactly what is asked, never twice the room held: the caller
    // accounts for what it reserves.
    b.reserve(5000);
    CHECK(b.capacity() == 5000);
    CHECK(b.bytes() == header);
}

TEST_CASE("a stream of many megabytes keeps every byte as it grows")
{
    // Large enough that the C library maps the block and moves it with
    // mremap rather than copying.
    ks::serve_large_blocks_with_mmap();
    copy_buffer b;
    std::string expected = header;
    std::string value(1000, 'a');
    for (int i = 0; i < 20000; ++i) {
        value[static_cast<std::size_t>(i) % value.size()] =
            static_cast<char>('a' + i % 26);
        b.begin_row(1);
        b.text(value);
        expected += "\x00\x01"s + "\x00\x00\x03\xe8"s + value;
    }
    REQUIRE(b.rows() == 20000);
    REQUIRE(b.bytes() == expected);
}

TEST_CASE("shrink_to_fit gives back room and keeps the stream")
{
    copy_buffer b;
    b.reserve(1 << 20);
    b.begin_row(1);
    b.boolean(true);
    b.finish();
    const std::string before(b.bytes());
    b.shrink_to_fit();
    CHECK(b.capacity() == b.bytes().size());
    CHECK(b.bytes() == before);
}

TEST_CASE("a moved buffer leaves an empty one that reset makes usable")
{
    copy_buffer a;
    a.begin_row(1);
    a.null();
    const std::string stream(a.bytes());

    copy_buffer b(std::move(a));
    CHECK(b.bytes() == stream);
    CHECK(b.rows() == 1);
    CHECK(a.bytes().empty());
    CHECK(a.capacity() == 0);
    CHECK(a.rows() == 0);

    copy_buffer c;
    c = std::move(b);
    CHECK(c.bytes() == stream);

    a.reset();
    CHECK(a.bytes() == header);
}

TEST_CASE("tuples can be walked back: their lengths and last values")
{
    copy_buffer b;
    b.begin_row(2);
    b.int64(7);
    b.text("last");
    b.begin_row(2);
    b.text("x");
    b.null();
    b.finish();

    const std::string_view all = b.tuples();
    const std::size_t first = copy_buffer::tuple_length(all);
    CHECK(first == 2 + 4 + 8 + 4 + 4);
    CHECK(copy_buffer::last_field(all.substr(0, first)) == "last");

    const std::string_view second = all.substr(first);
    CHECK(copy_buffer::tuple_length(second) == second.size());
    CHECK(copy_buffer::last_field(second).empty());

    // Cut short: no length, no value.
    CHECK(copy_buffer::tuple_length(all.substr(0, first - 1)) == 0);
    CHECK(copy_buffer::last_field(all.substr(0, first - 1)).empty());
    CHECK(copy_buffer::tuple_length({}) == 0);
}
