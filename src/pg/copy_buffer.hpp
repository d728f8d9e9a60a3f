#pragma once

#include "core/padded_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace ks::pg {

/// Builds a PostgreSQL binary COPY stream in memory: the 19-byte header,
/// tuples, and the trailer. Every field is written in the binary format of
/// its column type, so the server does no text conversion.
///
/// Usage: begin_row(n), then exactly n field calls, repeated; finish()
/// once before the bytes are sent. The caller guarantees the values are
/// acceptable (valid UTF-8, no NUL, finite times); this class only lays
/// out bytes.
class copy_buffer {
public:
    /// Bytes of the stream header: signature, flags, extension length.
    static constexpr std::size_t header_bytes = 19;
    /// Bytes of the trailer that finish() appends.
    static constexpr std::size_t trailer_bytes = 2;

    copy_buffer();
    copy_buffer(copy_buffer&& other) noexcept;
    copy_buffer& operator=(copy_buffer&& other) noexcept;

    /// Starts a tuple of `fields` values.
    void begin_row(std::int16_t fields);

    void null();
    void boolean(bool v);
    void int64(std::int64_t v);
    /// timestamptz: microseconds since 2000-01-01 00:00:00 UTC.
    void timestamptz(std::int64_t pg_us);
    void text(std::string_view v);
    /// text written from pieces placed back to back.
    void text(std::span<const std::string_view> pieces);
    /// bytea: the bytes as they are.
    void bytea(std::string_view v);
    /// jsonb: version byte 1, then the JSON text.
    void jsonb(std::string_view json);
    void jsonb(std::span<const std::string_view> pieces);

    /// Appends the trailer. No row may be added afterwards.
    void finish();

    /// Forgets the content, keeps the memory, writes a fresh header.
    void reset();

    /// Makes room for `bytes` in all without another allocation, so that
    /// the caller decides when memory grows (and may account for it).
    void reserve(std::size_t bytes)
    {
        if (bytes > capacity_) allocate(bytes);
    }

    /// Gives back the memory beyond bytes().size().
    void shrink_to_fit();

    /// The whole stream: header, tuples and, once finished, the trailer.
    std::string_view bytes() const noexcept { return {data_.get(), size_}; }

    /// The tuples alone, without the header and the trailer, so that the
    /// tuples of several buffers can follow one header in one COPY.
    std::string_view tuples() const noexcept;

    /// Bytes allocated for the stream, which may exceed bytes().size().
    std::size_t capacity() const noexcept { return capacity_; }

    std::uint64_t rows() const noexcept { return rows_; }
    bool finished() const noexcept { return finished_; }

    /// Bytes of the tuple that `tuples` starts with (as tuples() lays
    /// them out); 0 when they are cut short or are not a tuple. For the
    /// rare paths that take a finished batch apart again.
    static std::size_t tuple_length(std::string_view tuples) noexcept;

    /// The value of the last field of `tuple`; empty for NULL, for no
    /// field, or for a tuple cut short.
    static std::string_view last_field(std::string_view tuple) noexcept;

    /// The header every stream starts with.
    static std::string_view stream_header() noexcept;
    /// The trailer every finished stream ends with.
    static std::string_view stream_trailer() noexcept;

private:
    void put16(std::int16_t v);
    void put32(std::int32_t v);
    void put64(std::int64_t v);
    void put(const void* src, std::size_t n)
    {
        if (capacity_ - size_ < n) grow_to(size_ + n);
        std::memcpy(data_.get() + size_, src, n);
        size_ += n;
    }
    void grow_to(std::size_t needed);
    void allocate(std::size_t bytes);

    // A plain block rather than std::string: it grows with realloc (see
    // ks::malloc_bytes), and appending skips string's bookkeeping.
    malloc_bytes data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::uint64_t rows_ = 0;
    bool finished_ = false;
};

} // namespace ks::pg
