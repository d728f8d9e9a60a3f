#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace ks::load {

/// A SHA-256 digest.
using digest = std::array<unsigned char, 32>;

/// Lower-case hex of a digest (64 characters).
std::string to_hex(const digest& d);

/// What hashing a file found.
struct file_hash {
    digest whole{}; // SHA-256 of bytes [0, bytes)
    std::uint64_t bytes = 0;
    /// SHA-256 of bytes [0, prefix_bytes) when a prefix was asked for
    /// and at least that many bytes were hashed (so not beyond `limit`).
    std::optional<digest> prefix;
};

/// Hashes the first `limit` bytes of the file at `path` (all of it if it
/// is shorter), and on the way the first `prefix_bytes` when that is not
/// 0 — so that one pass tells whether a file only grew since an earlier
/// version was hashed. Reads in blocks of 1 MiB. Uses OpenSSL's SHA-256.
/// Throws std::system_error when the file cannot be opened or read
/// (ENOENT, EACCES, EISDIR, ...), std::runtime_error when OpenSSL fails.
file_hash hash_file(const std::string& path, std::uint64_t limit,
                    std::uint64_t prefix_bytes = 0);

} // namespace ks::load
