#include "decode/zstd_reader.hpp"

#include <new>

namespace ks::decode::detail {

zstd_reader::zstd_reader() : context_(ZSTD_createDCtx())
{
    if (context_ == nullptr) throw std::bad_alloc();
}

zstd_reader::~zstd_reader()
{
    // Freeing a context made by ZSTD_createDCtx cannot fail.
    (void)ZSTD_freeDCtx(context_);
}

std::size_t zstd_reader::restart(int window_log_max) noexcept
{
    // Only the session is reset; the window memory stays for reuse.
    const std::size_t reset =
        ZSTD_DCtx_reset(context_, ZSTD_reset_session_only);
    if (ZSTD_isError(reset)) return reset;

    return ZSTD_DCtx_setParameter(context_, ZSTD_d_windowLogMax,
                                  window_log_max);
}

std::size_t zstd_reader::run(ZSTD_inBuffer& in, ZSTD_outBuffer& out) noexcept
{
    return ZSTD_decompressStream(context_, &out, &in);
}

} // namespace ks::decode::detail
