#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

// Magic numbers that open gzip members and zstd frames, shared by sniff()
// and by the stream decoder's check of what follows a finished member.
namespace ks::decode::detail {

/// First bytes of every gzip member (RFC 1952).
inline constexpr std::array<unsigned char, 2> gzip_magic = {0x1f, 0x8b};

/// 0xFD2FB528 little-endian: the first bytes of a zstd frame.
inline constexpr std::array<unsigned char, 4> zstd_magic = {0x28, 0xb5, 0x2f,
                                                            0xfd};

/// 0x184D2A5? little-endian: a skippable frame; the low nibble is free.
inline constexpr std::array<unsigned char, 4> skippable_magic = {0x50, 0x2a,
                                                                 0x4d, 0x18};

/// Bytes of magic checked before a gzip member is handed to zlib.
inline constexpr std::size_t gzip_magic_bytes = gzip_magic.size();

/// Bytes of magic checked before a zstd frame is handed to libzstd.
inline constexpr std::size_t zstd_magic_bytes = zstd_magic.size();

/// Whether `head`, the first bytes seen of a member, agrees with the gzip
/// magic as far as it goes.
constexpr bool could_open_gzip(std::span<const unsigned char> head) noexcept
{
    const std::size_t n = std::min(head.size(), gzip_magic.size());
    return std::equal(head.begin(), head.begin() + n, gzip_magic.begin());
}

/// Whether `head`, the first bytes seen of a frame, agrees with the magic
/// of a zstd frame or of a skippable frame as far as it goes.
constexpr bool could_open_zstd(std::span<const unsigned char> head) noexcept
{
    const std::size_t n = std::min(head.size(), zstd_magic.size());
    bool frame = true;
    bool skippable = true;
    for (std::size_t i = 0; i < n; ++i) {
        frame = frame && head[i] == zstd_magic[i];

        // The low nibble of a skippable magic's first byte is free.
        const unsigned char mask = i == 0 ? 0xf0 : 0xff;
        skippable = skippable && (head[i] & mask) == skippable_magic[i];
    }
    return frame || skippable;
}

} // namespace ks::decode::detail
