#include "decode/snappy_block.hpp"

#include <snappy.h>

#include <string>
#include <string_view>

namespace ks::decode {

result decode_snappy_block(std::span<const char> block,
                           std::size_t max_output_bytes, padded_buffer& out)
{
    result r;
    if (block.empty()) return r;

    // The framing format (snzip, python-snappy streams) starts with its
    // stream identifier, which would pass for a block length.
    constexpr std::string_view stream_identifier("\xff\x06\x00\x00sNaPpY",
                                                 10);
    if (std::string_view(block.data(), block.size())
            .starts_with(stream_identifier)) {
        r.error = errc::corrupt;
        r.message = "snappy: the body is in the framing format; send the raw "
                    "block format";
        return r;
    }

    // The varint at the start says how long the text is.
    std::size_t length = 0;
    if (!snappy::GetUncompressedLength(block.data(), block.size(), &length)) {
        r.error = errc::corrupt;
        r.message = "snappy: the body does not start with a block length; "
                    "send the raw block format, not the framing format";
        return r;
    }
    if (length > max_output_bytes) {
        r.error = errc::too_large;
        r.message = "snappy: the block decodes to " + std::to_string(length) +
                    " bytes, over the limit of " +
                    std::to_string(max_output_bytes);
        return r;
    }

    // Decoded in place after what `out` holds; committed only if whole.
    char* dst = out.prepare(length);
    if (!snappy::RawUncompress(block.data(), block.size(), dst)) {
        r.error = errc::corrupt;
        r.message = "snappy: the block is corrupt (" +
                    std::to_string(block.size()) + " bytes, meant to decode "
                    "to " + std::to_string(length) + ")";
        return r;
    }
    out.commit(length);
    r.input_offset = block.size();
    return r;
}

} // namespace ks::decode
