#include "decode/decode.hpp"

#include "decode/body_decoder.hpp"

#include <algorithm>
#include <cctype>

namespace ks::decode {
namespace {

// Optional whitespace around list elements (RFC 9110, section 5.6.1).
constexpr std::string_view list_space = " \t";

std::string_view trim(std::string_view s) noexcept
{
    const std::size_t first = s.find_first_not_of(list_space);
    if (first == std::string_view::npos) return {};
    const std::size_t last = s.find_last_not_of(list_space);
    return s.substr(first, last - first + 1);
}

bool same_token(std::string_view a, std::string_view b) noexcept
{
    const auto folded_equal = [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    };
    return std::ranges::equal(a, b, folded_equal);
}

} // namespace

std::string_view encoding_name(encoding e) noexcept
{
    switch (e) {
    case encoding::identity:
        return "identity";
    case encoding::gzip:
        return "gzip";
    case encoding::deflate:
        return "deflate";
    case encoding::zstd:
        return "zstd";
    case encoding::snappy:
        return "snappy";
    }
    return "identity";
}

std::string_view supported_encodings() noexcept
{
    return "gzip, x-gzip, deflate, zstd, snappy, identity";
}

encoding_list parse_content_encoding(std::string_view header)
{
    // Collect the codings in the order they were applied.
    encoding_list list;
    while (!header.empty()) {
        const std::size_t comma = header.find(',');
        const std::string_view token = trim(header.substr(0, comma));
        header = comma == std::string_view::npos ? std::string_view{}
                                                 : header.substr(comma + 1);

        // Empty list elements and identity change nothing.
        if (token.empty() || same_token(token, "identity")) continue;
        if (same_token(token, "gzip") || same_token(token, "x-gzip")) {
            list.order.push_back(encoding::gzip);
        } else if (same_token(token, "deflate")) {
            list.order.push_back(encoding::deflate);
        } else if (same_token(token, "zstd")) {
            list.order.push_back(encoding::zstd);
        } else if (same_token(token, "snappy")) {
            list.order.push_back(encoding::snappy);
        } else {
            list.error = errc::unsupported_encoding;
            list.unknown = std::string(token);
            list.order.clear();
            return list;
        }
    }

    // The last coding applied is the first to undo.
    std::ranges::reverse(list.order);
    return list;
}

result decode_body(std::span<const encoding> codings,
                   std::span<const char> input, std::size_t max_output_bytes,
                   padded_buffer& out)
{
    body_decoder decoder;
    return decoder.decode(codings, input, max_output_bytes, out);
}

} // namespace ks::decode
