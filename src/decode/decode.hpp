#pragma once

#include "core/padded_buffer.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ks::decode {

/// A Content-Encoding the sink understands.
enum class encoding : std::uint8_t { identity, gzip, deflate, zstd, snappy };

/// The lower-case token for an encoding, as it appears in HTTP headers.
std::string_view encoding_name(encoding e) noexcept;

/// Comma-separated names of every supported encoding, for error messages.
std::string_view supported_encodings() noexcept;

/// What went wrong while decoding.
enum class errc : std::uint8_t {
    ok,
    unsupported_encoding, // header names a coding we do not implement
    corrupt,              // the stream is not valid for its coding
    truncated,            // the stream ends in the middle of a member/frame
    too_large,            // decoded output exceeds the configured limit
};

/// The outcome of parsing a Content-Encoding header.
struct encoding_list {
    errc error = errc::ok;
    /// Codings in the order they must be undone (last applied first).
    std::vector<encoding> order;
    /// On unsupported_encoding: the token we did not recognise.
    std::string unknown;
};

/// Parses a Content-Encoding header value such as "gzip" or "gzip, zstd".
/// Tokens are matched case-insensitively; empty and "identity" mean plain.
/// "x-gzip" is accepted as gzip. Codings listed are undone last-first.
encoding_list parse_content_encoding(std::string_view header);

/// Result of decoding a whole body.
struct result {
    errc error = errc::ok;
    /// Input bytes consumed before the error (position of the damage).
    std::size_t input_offset = 0;
    /// A sentence for humans: which coding, what failed, where.
    std::string message;
    /// Which entry of the coding list failed (0 = the first one undone).
    /// For entries after the first, input_offset counts bytes of that
    /// coding's own input, which is the previous coding's output.
    std::size_t coding_index = 0;
};

/// Decodes `input`, undoing `codings` in order, into `out` (replacing its
/// content). Streaming decoders are used throughout: gzip bodies may hold
/// several members; zstd bodies several frames, frames without a content
/// size, and skippable frames; deflate is zlib-wrapped with a raw-deflate
/// fallback; snappy is the raw block format, decoded whole. On error,
/// `out` holds every byte decoded before the damage (nothing of a snappy
/// block).
/// Never writes more than `max_output_bytes` to `out`. A body with no
/// bytes at all decodes to nothing under every coding.
///
/// Errors: corrupt, truncated, too_large (also when a zstd frame asks for
/// a window far beyond what the limit could need).
/// This makes fresh zlib/zstd contexts; body_decoder keeps them instead.
result decode_body(std::span<const encoding> codings,
                   std::span<const char> input,
                   std::size_t max_output_bytes, padded_buffer& out);

} // namespace ks::decode
