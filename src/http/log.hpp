#pragma once

#include <charconv>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace ks::http {

/// How important a log line is; lines below the logger's level are
/// dropped before any formatting happens.
enum class log_level : std::uint8_t { debug, info, warn, error };

/// Parses "debug", "info", "warn" or "error".
std::optional<log_level> parse_log_level(std::string_view name) noexcept;

/// The lower-case name of a level, as it appears in log lines.
std::string_view log_level_name(log_level level) noexcept;

/// Writes one line per event to stderr: a UTC time, the level, the event
/// name, then `key=value` pairs. Values holding spaces, quotes or `=` are
/// quoted. Safe to use from several threads; each line is written with a
/// single write(2), so lines never interleave.
///
/// Usage: `log.write(log_level::warn, "request_failed", "status", 503)`.
/// Arguments after the event alternate between keys and values; values
/// may be strings, integers or booleans. Nothing is formatted when the
/// level is off, so callers need not check enabled() themselves unless
/// computing a value is itself expensive.
class logger {
public:
    explicit logger(log_level min_level = log_level::info) noexcept
        : min_level_(min_level)
    {
    }

    /// Whether lines of `level` are written.
    bool enabled(log_level level) const noexcept { return level >= min_level_; }

    template <typename... Fields>
    void write(log_level level, std::string_view event,
               const Fields&... fields) const
    {
        if (!enabled(level)) return;
        static_assert(sizeof...(Fields) % 2 == 0,
                      "log fields come in key, value pairs");
        std::string line = start_line(level, event);
        append_fields(line, fields...);
        finish_line(line);
    }

private:
    static std::string start_line(log_level level, std::string_view event);
    static void finish_line(std::string& line);
    static void append_value(std::string& line, std::string_view value);

    static void append_value(std::string& line, bool value)
    {
        line += value ? "true" : "false";
    }

    template <std::integral Int>
    requires(!std::same_as<Int, bool>) static void append_value(
        std::string& line, Int value)
    {
        char digits[24];
        auto done = std::to_chars(digits, digits + sizeof digits, value);
        line.append(digits, done.ptr);
    }

    static void append_value(std::string& line, double value);

    static void append_fields(std::string&) {}

    template <typename Value, typename... Rest>
    static void append_fields(std::string& line, std::string_view key,
                              const Value& value, const Rest&... rest)
    {
        line += ' ';
        line += key;
        line += '=';
        if constexpr (std::is_convertible_v<const Value&, std::string_view>)
            append_value(line, std::string_view(value));
        else
            append_value(line, value);
        append_fields(line, rest...);
    }

    log_level min_level_;
};

} // namespace ks::http
