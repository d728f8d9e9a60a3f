#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ks::parse {

/// Room unescape_simple may write past the bytes it reports: it stores
/// whole 64-byte blocks.
inline constexpr std::size_t unescape_overrun_bytes = 64;

/// Decodes the content of a JSON string (the bytes between its quotes, as
/// validated by simdjson's first pass: UTF-8, no raw control bytes, no
/// unescaped quote) into `out`, which must have room for body.size() +
/// unescape_overrun_bytes bytes. Returns the decoded size.
///
/// Only the escapes that stand for one ASCII byte (\" \\ \/ \b \f \n \r
/// \t) are handled, 64 bytes at a time with AVX-512 where the processor
/// has it. Returns nothing, having written garbage to `out`, for a body
/// holding a \u escape or an invalid one, and on processors without
/// AVX-512 VBMI2: the caller then decodes with simdjson, which handles
/// them all and says what is wrong. What it returns decodes exactly as
/// simdjson would, and needs no further checks: it holds no NUL byte and
/// is valid UTF-8 when the body was.
///
/// Why: a shipper that wraps each event in a string (Vector's file source)
/// escapes every quote of it, and simdjson's decoder, built for long runs
/// without escapes, then spends a round per escape.
std::optional<std::size_t> unescape_simple(std::string_view body,
                                           char* out) noexcept;

} // namespace ks::parse
