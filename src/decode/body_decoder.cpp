#include "decode/body_decoder.hpp"

#include "decode/snappy_block.hpp"

#include <string>

namespace ks::decode {
namespace {

// Limit for a coding undone before the last. Its output is compressed
// data, which is at most slightly larger than what it decodes to (stored
// blocks, frame headers), so it gets the final limit plus an eighth.
std::size_t intermediate_limit(std::size_t max_output_bytes) noexcept
{
    const std::size_t slack = max_output_bytes / 8 + 4096;
    if (max_output_bytes > stream_decoder::unlimited - slack)
        return stream_decoder::unlimited;
    return max_output_bytes + slack;
}

// Names the failing coding when there is more than one to tell apart.
result in_list(result r, std::size_t index, std::span<const encoding> codings)
{
    r.coding_index = index;
    if (codings.size() < 2) return r;

    r.message = "undoing coding " + std::to_string(index + 1) + " of " +
                std::to_string(codings.size()) + " (" +
                std::string(encoding_name(codings[index])) + "): " + r.message;
    return r;
}

} // namespace

result body_decoder::decode(std::span<const encoding> codings,
                            std::span<const char> input,
                            std::size_t max_output_bytes, padded_buffer& out)
{
    out.clear();

    // No coding at all is a plain copy.
    static constexpr encoding plain[] = {encoding::identity};
    if (codings.empty()) codings = plain;

    // Undo each coding whole, ping-ponging between the scratch buffers,
    // the last one straight into `out`. After a failure the rest still
    // run over the partial output, without finish(): a prefix is not an
    // error of theirs.
    result first_error;
    std::span<const char> source = input;
    for (std::size_t i = 0; i < codings.size(); ++i) {
        const bool last = i + 1 == codings.size();
        padded_buffer& target = last ? out : scratch_[i % 2];
        target.clear();

        const std::size_t limit =
            last ? max_output_bytes : intermediate_limit(max_output_bytes);
        const bool failed_before = first_error.error != errc::ok;
        result r;
        if (codings[i] == encoding::snappy) {
            r = decode_snappy_block(source, limit, target);
        } else {
            stream_.reset(codings[i], limit);
            r = stream_.feed(source, target);
            if (r.error == errc::ok && !failed_before) r = stream_.finish();
        }
        if (r.error != errc::ok && !failed_before)
            first_error = in_list(std::move(r), i, codings);

        source = std::span<const char>(target.data(), target.size());
    }
    if (first_error.error != errc::ok) return first_error;

    result done;
    done.input_offset = input.size();
    return done;
}

} // namespace ks::decode
