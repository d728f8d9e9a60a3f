#pragma once

#include "core/padded_buffer.hpp"
#include "decode/decode.hpp"
#include "decode/stream_decoder.hpp"

#include <array>
#include <cstddef>
#include <span>

namespace ks::decode {

/// Decodes whole bodies like decode_body, but keeps its zlib and zstd
/// contexts and its scratch buffers from one body to the next. Keep one
/// per thread; the scratch buffers keep the memory of the largest body
/// with more than one coding.
class body_decoder {
public:
    /// Undoes `codings` in order over `input` into `out`, as decode_body
    /// does (same errors, same guarantees on `out`).
    ///
    /// With several codings each one is undone whole into a scratch
    /// buffer. A coding undone before the last may produce a little more
    /// than `max_output_bytes`, since its output is still compressed. When
    /// one fails, what it did decode is still run through the codings
    /// after it, so `out` gets every byte that can be recovered.
    result decode(std::span<const encoding> codings,
                  std::span<const char> input, std::size_t max_output_bytes,
                  padded_buffer& out);

private:
    stream_decoder stream_;
    std::array<padded_buffer, 2> scratch_;
};

} // namespace ks::decode
