#include "decode/sniff.hpp"

#include "decode/magic.hpp"

#include <cstring>

namespace ks::decode {

encoding sniff(std::span<const char> head) noexcept
{
    // Compare unsigned bytes; a short head matches nothing.
    std::array<unsigned char, detail::zstd_magic_bytes> bytes{};
    const std::size_t n = std::min(head.size(), bytes.size());
    if (n != 0) std::memcpy(bytes.data(), head.data(), n);
    const std::span<const unsigned char> seen(bytes.data(), n);

    if (n >= detail::gzip_magic_bytes && detail::could_open_gzip(seen))
        return encoding::gzip;
    if (n >= detail::zstd_magic_bytes && detail::could_open_zstd(seen))
        return encoding::zstd;
    return encoding::identity;
}

} // namespace ks::decode
