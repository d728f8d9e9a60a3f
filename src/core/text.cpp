#include "core/text.hpp"

#include <cstdint>
#include <string>

namespace ks {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when the
// bytes there are not one (RFC 3629 table of valid byte ranges).
std::size_t sequence_length(std::string_view s, std::size_t i) noexcept
{
    auto byte = [&](std::size_t k) {
        return static_cast<std::uint8_t>(s[i + k]);
    };
    auto in = [](std::uint8_t b, std::uint8_t lo, std::uint8_t hi) {
        return b >= lo && b <= hi;
    };
    std::size_t left = s.size() - i;
    std::uint8_t b0 = byte(0);

    if (b0 == 0) return 0;
    if (b0 < 0x80) return 1;
    if (in(b0, 0xc2, 0xdf))
        return left >= 2 && in(byte(1), 0x80, 0xbf) ? 2 : 0;
    if (in(b0, 0xe0, 0xef)) {
        if (left < 3) return 0;
        std::uint8_t lo = b0 == 0xe0 ? 0xa0 : 0x80;
        std::uint8_t hi = b0 == 0xed ? 0x9f : 0xbf; // no surrogates
        return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xbf) ? 3 : 0;
    }
    if (in(b0, 0xf0, 0xf4)) {
        if (left < 4) return 0;
        std::uint8_t lo = b0 == 0xf0 ? 0x90 : 0x80;
        std::uint8_t hi = b0 == 0xf4 ? 0x8f : 0xbf; // max U+10FFFF
        return in(byte(1), lo, hi) && in(byte(2), 0x80, 0xbf) &&
                       in(byte(3), 0x80, 0xbf)
                   ? 4
                   : 0;
    }
    return 0;
}

} // namespace

bool is_storable_text(std::string_view s) noexcept
{
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = sequence_length(s, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string to_storable_text(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        std::size_t n = sequence_length(s, i);
        if (n == 0) {
            out += "\xef\xbf\xbd"; // U+FFFD REPLACEMENT CHARACTER
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

void append_json_string(std::string& out, std::string_view text)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t i = 0;
    while (i < text.size()) {
        auto c = static_cast<unsigned char>(text[i]);

        // Multi-byte characters are copied whole, or replaced.
        if (c >= 0x80) {
            std::size_t n = sequence_length(text, i);
            if (n == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(text.substr(i, n));
                i += n;
            }
            continue;
        }

        // ASCII: escape what JSON requires, and nothing else.
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
            } else {
                out += static_cast<char>(c);
            }
        }
        ++i;
    }
    out += '"';
}

} // namespace ks
