#include "decode/inflater.hpp"

#include <algorithm>
#include <new>

namespace ks::decode::detail {

inflater::inflater()
{
    init(gzip_window_bits);
}

inflater::~inflater()
{
    // inflateEnd only fails for a stream that was never initialised.
    (void)inflateEnd(&stream_);
}

void inflater::restart(int window_bits)
{
    // Resetting keeps the window memory; it fails only if the state is
    // inconsistent, and then a fresh stream is the way out.
    if (inflateReset2(&stream_, window_bits) == Z_OK) return;

    (void)inflateEnd(&stream_);
    init(window_bits);
}

inflate_step inflater::run(std::span<const char> in,
                           std::span<char> out) noexcept
{
    // zlib counts in uInt; larger spans are fed in parts by the caller's
    // loop, which sees that not everything was consumed.
    constexpr std::size_t max_step = 1u << 30;
    const auto in_n = static_cast<uInt>(std::min(in.size(), max_step));
    const auto out_n = static_cast<uInt>(std::min(out.size(), max_step));

    // zlib's interface is not const-correct; it never writes to next_in.
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    stream_.avail_in = in_n;
    stream_.next_out = reinterpret_cast<Bytef*>(out.data());
    stream_.avail_out = out_n;

    const int status = inflate(&stream_, Z_NO_FLUSH);
    return {status, in_n - stream_.avail_in, out_n - stream_.avail_out};
}

const char* inflater::message() const noexcept
{
    return stream_.msg != nullptr ? stream_.msg : "invalid deflate data";
}

void inflater::init(int window_bits)
{
    // Start from a clean struct: zlib reads the allocator fields. With
    // valid window bits, running out of memory is the only way to fail.
    stream_ = z_stream{};
    if (inflateInit2(&stream_, window_bits) != Z_OK) throw std::bad_alloc();
}

} // namespace ks::decode::detail
