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

    std::string_view bytes() const noexcept { return bytes_; }
    std::uint64_t rows() const noexcept { return rows_; }
    bool finished() const noexcept { return finished_; }

private:
    void put16(std::int16_t v);
    void put32(std::int32_t v);
    void put64(std::int64_t v);

    std::string bytes_;
    std::uint64_t rows_ = 0;
    bool finished_ = false;
};

} // namespace ks::pg
