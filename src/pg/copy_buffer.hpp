#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
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
    void reserve(std::size_t bytes) { bytes_.reserve(bytes); }

    /// The whole stream: header, tuples and, once finished, the trailer.
    std::string_view bytes() const noexcept { return bytes_; }

    /// The tuples alone, without the header and the trailer, so that the
    /// tuples of several buffers can follow one header in one COPY.
    std::string_view tuples() const noexcept;

    /// Bytes allocated for the stream, which may exceed bytes().size().
    std::size_t capacity() const noexcept { return bytes_.capacity(); }

    std::uint64_t rows() const noexcept { return rows_; }
    bool finished() const noexcept { return finished_; }

    /// The header every stream starts with.
    static std::string_view stream_header() noexcept;
    /// The trailer every finished stream ends with.
    static std::string_view stream_trailer() noexcept;

private:
    void put16(std::int16_t v);
    void put32(std::int32_t v);
    void put64(std::int64_t v);

    std::string bytes_;
    std::uint64_t rows_ = 0;
    bool finished_ = false;
};

} // namespace ks::pg
