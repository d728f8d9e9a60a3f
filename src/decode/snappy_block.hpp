#pragma once

#include "core/padded_buffer.hpp"
#include "decode/decode.hpp"

#include <cstddef>
#include <span>

namespace ks::decode {

/// Undoes snappy's raw block format (one snappy::Compress of the whole
/// body, as Vector's and Fluent Bit's `snappy` compression send it; not
/// the framing format with stream identifiers and checksums). The block
/// states its decoded length up front, so a block over
/// `max_output_bytes` is refused before anything is written. Appends to
/// `out`.
///
/// Errors: corrupt (no valid length, or the block does not decode),
/// too_large. Unlike the other codings a block cannot be decoded in
/// parts: on an error `out` gets nothing.
result decode_snappy_block(std::span<const char> block,
                           std::size_t max_output_bytes, padded_buffer& out);

} // namespace ks::decode
