#pragma once

#include <array>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>

namespace ks {

/// A SHA-256 digest.
using digest = std::array<unsigned char, 32>;

/// SHA-256 of bytes handed over in pieces, with OpenSSL (which uses the
/// CPU's SHA instructions where there are any). Throws std::runtime_error
/// when OpenSSL fails, std::bad_alloc without memory.
class sha256_stream {
public:
    sha256_stream();
    ~sha256_stream();
    sha256_stream(sha256_stream&&) noexcept;
    sha256_stream& operator=(sha256_stream&&) noexcept;

    void update(std::string_view bytes);

    /// The digest of everything so far; the stream may go on.
    digest so_far() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// SHA-256 of `bytes` in one call.
digest sha256(std::string_view bytes);

/// SHA-256 of `tag`, then of each of `parts` after a NUL byte: digests of
/// different kinds of input, each with its own tag, never coincide.
digest tagged_sha256(std::string_view tag,
                     std::initializer_list<std::string_view> parts);

/// Lower-case hex of a digest (64 characters).
std::string to_hex(const digest& d);

} // namespace ks
