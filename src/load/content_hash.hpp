#pragma once

#include "core/sha256.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ks::load {

using ks::digest;
using ks::sha256_stream;
using ks::to_hex;

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

/// Decoded bytes whose digest names the start of a text.
inline constexpr std::size_t text_head_bytes = 64 * 1024;

/// Digests of the text a file decodes to: the same events stored plain,
/// as gzip or as zstd have the same ones.
struct text_hash {
    digest head{};           // of the first text_head_bytes (or fewer)
    digest whole{};          // of all of it
    std::uint64_t bytes = 0; // decoded bytes hashed
};

/// The digest of the first text_head_bytes (or fewer) of the text that the
/// first `limit` bytes of `path` decode to (the coding sniffed as the
/// loader does), decoding no further. Decoding stops quietly at damage,
/// here and in the functions below: the digests then cover the text
/// before it. Throws std::system_error when the file cannot be read.
digest hash_text_head(const std::string& path, std::uint64_t limit);

/// The digests of a text being hashed, for whoever goes on with the text
/// that follows: fed the whole text, they end as its text_hash.
struct text_hashing {
    sha256_stream whole;
    sha256_stream head;      // of the first text_head_bytes only
    std::uint64_t bytes = 0; // decoded bytes fed so far

    void update(std::string_view text);
};

/// Hashes the first `decoded_bytes` of the text that the first `limit`
/// bytes of `path` decode to: a load that starts there (a file that grew)
/// goes on from it, so its digests cover the whole text. Fewer bytes are
/// hashed when the text ends, or is damaged, before.
text_hashing hash_text_start(const std::string& path, std::uint64_t limit,
                             std::uint64_t decoded_bytes);

/// What hash_text_and_starts found.
struct text_and_starts {
    text_hash text; // of the whole text
    /// starts[i]: the digest of the text's first lengths[i] bytes, or
    /// nothing when the text is shorter.
    std::vector<std::optional<digest>> starts;
};

/// The text_hash of the whole text, and in the same pass the digest of its
/// first `lengths[i]` bytes for each i: whether earlier loads' texts are
/// the start of this one.
text_and_starts hash_text_and_starts(const std::string& path,
                                     std::uint64_t limit,
                                     std::span<const std::uint64_t> lengths);

} // namespace ks::load
