#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ks::test {

/// How often `what` occurs in `text`, not overlapping.
inline int occurrences(const std::string& text, const std::string& what)
{
    int n = 0;
    for (auto at = text.find(what); at != std::string::npos;
         at = text.find(what, at + what.size()))
        ++n;
    return n;
}

/// Lower-case hex of bytes, for comparing bytea columns.
inline std::string to_hex(std::string_view bytes)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) {
        auto u = static_cast<unsigned char>(c);
        out += hex[u >> 4];
        out += hex[u & 0xf];
    }
    return out;
}

/// Up to ten items of a list, one a line, for a failure message.
inline std::string first_items(const std::vector<std::string>& items)
{
    std::string out;
    for (std::size_t i = 0; i < items.size() && i < 10; ++i)
        out += items[i] + "\n";
    if (items.size() > 10)
        out += "... " + std::to_string(items.size() - 10) + " more\n";
    return out;
}

} // namespace ks::test
