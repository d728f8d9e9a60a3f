#include "pg/copy_buffer.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

namespace ks::pg {

namespace {

// Signature, flags (no OIDs), header-extension length: all zero after the
// signature, whose last byte is a NUL that belongs to it.
constexpr char copy_header[copy_buffer::header_bytes] = {
    'P',  'G', 'C', 'O', 'P', 'Y', '\n', '\xff', '\r', '\n',
    '\0', 0,   0,   0,   0,   0,   0,    0,      0};

// A tuple's field count of -1 marks the end of the stream.
constexpr char copy_trailer[copy_buffer::trailer_bytes] = {'\xff', '\xff'};

// std::byteswap is C++23; the builtins are what it compiles to.
std::int16_t to_big_endian(std::int16_t v)
{
    if constexpr (std::endian::native == std::endian::big) return v;
    return static_cast<std::int16_t>(
        __builtin_bswap16(static_cast<std::uint16_t>(v)));
}

std::int32_t to_big_endian(std::int32_t v)
{
    if constexpr (std::endian::native == std::endian::big) return v;
    return static_cast<std::int32_t>(
        __builtin_bswap32(static_cast<std::uint32_t>(v)));
}

std::int64_t to_big_endian(std::int64_t v)
{
    if constexpr (std::endian::native == std::endian::big) return v;
    return static_cast<std::int64_t>(
        __builtin_bswap64(static_cast<std::uint64_t>(v)));
}

std::size_t total_size(std::span<const std::string_view> pieces)
{
    std::size_t n = 0;
    for (auto p : pieces) n += p.size();
    return n;
}

} // namespace

copy_buffer::copy_buffer() { reset(); }

copy_buffer::copy_buffer(copy_buffer&& other) noexcept
    : data_(std::move(other.data_)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      rows_(std::exchange(other.rows_, 0)),
      finished_(std::exchange(other.finished_, false))
{
}

copy_buffer& copy_buffer::operator=(copy_buffer&& other) noexcept
{
    data_ = std::move(other.data_);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
    rows_ = std::exchange(other.rows_, 0);
    finished_ = std::exchange(other.finished_, false);
    return *this;
}

void copy_buffer::reset()
{
    size_ = 0;
    put(copy_header, sizeof copy_header);
    rows_ = 0;
    finished_ = false;
}

std::string_view copy_buffer::tuples() const noexcept
{
    std::string_view all = bytes();
    all.remove_prefix(header_bytes);
    if (finished_) all.remove_suffix(trailer_bytes);
    return all;
}

namespace {

/// A big-endian unsigned value of `n` bytes at `p`.
std::uint32_t read_be(const char* p, int n) noexcept
{
    std::uint32_t v = 0;
    for (int i = 0; i < n; ++i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

/// Walks the tuple at the start of `bytes`: its length (0 when it does
/// not parse) and where its last value lies.
std::size_t walk_tuple(std::string_view bytes, std::string_view& last) noexcept
{
    last = {};
    if (bytes.size() < 2) return 0;
    const std::uint32_t fields = read_be(bytes.data(), 2);
    std::size_t at = 2;
    for (std::uint32_t f = 0; f < fields; ++f) {
        if (bytes.size() - at < 4) return 0;
        const std::uint32_t length = read_be(bytes.data() + at, 4);
        at += 4;
        last = {};
        if (length == 0xFFFFFFFFu) continue; // NULL
        if (bytes.size() - at < length) return 0;
        last = bytes.substr(at, length);
        at += length;
    }
    return at;
}

} // namespace

std::size_t copy_buffer::tuple_length(std::string_view tuples) noexcept
{
    std::string_view last;
    return walk_tuple(tuples, last);
}

std::string_view copy_buffer::last_field(std::string_view tuple) noexcept
{
    std::string_view last;
    return walk_tuple(tuple, last) == 0 ? std::string_view() : last;
}

std::string_view copy_buffer::stream_header() noexcept
{
    return {copy_header, sizeof copy_header};
}

std::string_view copy_buffer::stream_trailer() noexcept
{
    return {copy_trailer, sizeof copy_trailer};
}

void copy_buffer::begin_row(std::int16_t fields)
{
    put16(fields);
    ++rows_;
}

void copy_buffer::null() { put32(-1); }

void copy_buffer::boolean(bool v)
{
    put32(1);
    const char byte = v ? '\1' : '\0';
    put(&byte, 1);
}

void copy_buffer::int64(std::int64_t v)
{
    put32(8);
    put64(v);
}

void copy_buffer::timestamptz(std::int64_t pg_us) { int64(pg_us); }

void copy_buffer::text(std::string_view v)
{
    put32(static_cast<std::int32_t>(v.size()));
    put(v.data(), v.size());
}

void copy_buffer::text(std::span<const std::string_view> pieces)
{
    put32(static_cast<std::int32_t>(total_size(pieces)));
    for (auto p : pieces) put(p.data(), p.size());
}

void copy_buffer::bytea(std::string_view v) { text(v); }

void copy_buffer::jsonb(std::string_view json)
{
    put32(static_cast<std::int32_t>(json.size() + 1));
    put("\1", 1);
    put(json.data(), json.size());
}

void copy_buffer::jsonb(std::span<const std::string_view> pieces)
{
    put32(static_cast<std::int32_t>(total_size(pieces) + 1));
    put("\1", 1);
    for (auto p : pieces) put(p.data(), p.size());
}

void copy_buffer::finish()
{
    put16(-1);
    finished_ = true;
}

void copy_buffer::grow_to(std::size_t needed)
{
    // Doubling keeps appends linear when the caller did not reserve.
    allocate(std::max({needed, 2 * capacity_, std::size_t{256}}));
}

void copy_buffer::allocate(std::size_t bytes)
{
    // Exactly what was asked: a caller that reserves accounts for it.
    realloc_bytes(data_, bytes);
    capacity_ = bytes;
}

void copy_buffer::shrink_to_fit()
{
    if (capacity_ == size_) return;
    realloc_bytes(data_, size_);
    capacity_ = size_;
}

void copy_buffer::put16(std::int16_t v)
{
    v = to_big_endian(v);
    put(&v, sizeof v);
}

void copy_buffer::put32(std::int32_t v)
{
    v = to_big_endian(v);
    put(&v, sizeof v);
}

void copy_buffer::put64(std::int64_t v)
{
    v = to_big_endian(v);
    put(&v, sizeof v);
}

} // namespace ks::pg
