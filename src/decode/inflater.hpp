#pragma once

#include <zlib.h>

#include <cstddef>
#include <span>

namespace ks::decode::detail {

/// zlib window bits for a gzip member (RFC 1952 wrapper only).
inline constexpr int gzip_window_bits = 15 + 16;

/// zlib window bits for a zlib-wrapped deflate stream (RFC 1950).
inline constexpr int zlib_window_bits = 15;

/// zlib window bits for raw deflate (RFC 1951, no wrapper).
inline constexpr int raw_window_bits = -15;

/// What one inflate call did.
struct inflate_step {
    int status = Z_OK;        // zlib's return value
    std::size_t consumed = 0; // input bytes taken
    std::size_t produced = 0; // output bytes written
};

/// Owns a zlib inflate stream and reuses it from stream to stream.
/// Neither copyable nor movable: zlib's state points back at the stream.
class inflater {
public:
    /// Makes the stream; throws std::bad_alloc when zlib cannot.
    inflater();
    ~inflater();
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;

    /// Forgets the current stream and readies one with `window_bits`.
    /// Throws std::bad_alloc when the stream must be rebuilt and cannot.
    void restart(int window_bits);

    /// Inflates from `in` into `out` once, without flushing.
    [[nodiscard]] inflate_step run(std::span<const char> in,
                                   std::span<char> out) noexcept;

    /// zlib's description of the last failure, never null.
    const char* message() const noexcept;

private:
    void init(int window_bits);

    z_stream stream_{};
};

} // namespace ks::decode::detail
