#pragma once

#include <zstd.h>

#include <cstddef>

namespace ks::decode::detail {

/// Owns a zstd decompression context and reuses it from stream to stream.
class zstd_reader {
public:
    /// Makes the context; throws std::bad_alloc when zstd cannot.
    zstd_reader();
    ~zstd_reader();
    zstd_reader(const zstd_reader&) = delete;
    zstd_reader& operator=(const zstd_reader&) = delete;

    /// Forgets the current stream and refuses frames whose window is over
    /// 2^window_log_max bytes. Returns a zstd error code, or 0.
    [[nodiscard]] std::size_t restart(int window_log_max) noexcept;

    /// One ZSTD_decompressStream call; returns what it returns.
    [[nodiscard]] std::size_t run(ZSTD_inBuffer& in,
                                  ZSTD_outBuffer& out) noexcept;

private:
    ZSTD_DCtx* context_ = nullptr;
};

} // namespace ks::decode::detail
