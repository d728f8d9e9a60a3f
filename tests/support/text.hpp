#pragma once

#include <string>

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

} // namespace ks::test
