#pragma once

#include <memory>
#include <string_view>

namespace ks::parse {

/// Receives one string found by array_scanner::each_string.
using string_visitor = void (*)(void* context, std::string_view value);

/// Reads one string field from every object element of a JSON array
/// that a walker has already validated, such as the `severity` of each
/// indicator. It owns its own simdjson parser, so the strings a walker
/// captured stay valid while it runs. One scanner per thread.
class array_scanner {
public:
    array_scanner();
    ~array_scanner();
    array_scanner(const array_scanner&) = delete;
    array_scanner& operator=(const array_scanner&) = delete;

    /// Calls `visit(context, value)` with the unescaped string held under
    /// `key` by each object element of `array_json`, in order; other
    /// elements and values of other types are skipped. At least
    /// ks::json_padding_bytes readable bytes must follow `array_json` (any
    /// slice of a walked document qualifies). Returns false if the text is
    /// not an array or stops parsing; strings seen before that were
    /// visited. Never throws.
    bool each_string(std::string_view array_json, std::string_view key,
                     string_visitor visit, void* context) noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ks::parse
