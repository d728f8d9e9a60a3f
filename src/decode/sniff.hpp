#pragma once

#include "decode/decode.hpp"

#include <span>

namespace ks::decode {

/// Guesses the coding of a stream from its first bytes, for inputs that
/// carry no Content-Encoding (files on disk).
///
/// Returns gzip for 1f 8b, zstd for a zstd frame (28 b5 2f fd) or a
/// skippable frame (magic 0x184D2A50 to 0x184D2A5F, little-endian), and
/// identity otherwise. Needs 2 bytes to see gzip and 4 to see zstd; a
/// shorter head is identity. Deflate is never guessed: its zlib header
/// starts with 'x', which plain text may too.
encoding sniff(std::span<const char> head) noexcept;

} // namespace ks::decode
