#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

// Real encoders for building coded test input (request bodies, archives
// on disk); they throw on any failure so a broken fixture cannot pass for
// a decoder bug. Several members or frames are these calls concatenated,
// as `cat a.gz b.gz` makes.
namespace ks::test {

/// One gzip member holding `data`; `name` goes into the header if given.
std::string gzip_member(std::string_view data, int level = 6,
                        const char* name = nullptr);

/// A zlib-wrapped (RFC 1950) deflate stream.
std::string zlib_stream(std::string_view data, int level = 6);

/// A raw (RFC 1951) deflate stream.
std::string raw_deflate(std::string_view data, int level = 6);

/// A zstd frame that records its content size (ZSTD_compress).
std::string zstd_sized(std::string_view data, int level = 3);

/// A zstd frame without content size, streamed with ZSTD_compressStream2;
/// `checksum` adds the optional content checksum.
std::string zstd_streamed(std::string_view data, int level = 3,
                          bool checksum = false);

/// A zstd frame without content size decoding to `zeros` zero bytes,
/// made without holding them all in memory.
std::string zstd_zeros(std::size_t zeros);

/// One raw snappy block of `data`, as Vector's and Fluent Bit's `snappy`
/// compression sends a body.
std::string snappy_block(std::string_view data);

/// A skippable frame; `nibble` picks the magic 0x184D2A50 + nibble.
std::string skippable_frame(std::string_view payload, unsigned nibble = 0);

/// Log-like text that compresses well but not trivially.
std::string sample_text(std::size_t bytes);

/// Pseudo-random bytes that do not compress.
std::string noise(std::size_t bytes, std::uint32_t seed = 1);

} // namespace ks::test
