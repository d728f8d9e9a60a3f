#pragma once

#include <cstddef>
#include <string_view>

// Byte-level checks on JSON text that simdjson does not make, or makes
// without saying where. None of them allocates; all run on cold paths or on
// a handful of tokens per event.
namespace ks::parse {

/// True for the four whitespace bytes JSON allows between tokens.
constexpr bool is_json_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// `text` without leading and trailing JSON whitespace.
std::string_view trim_json_space(std::string_view text) noexcept;

/// `text` without trailing JSON whitespace.
inline std::string_view trim_json_space_right(std::string_view text) noexcept
{
    std::size_t e = text.size();
    while (e > 0 && is_json_space(text[e - 1]))
        --e;
    return text.substr(0, e);
}

/// Whether `token` is exactly one number of the JSON grammar
/// (RFC 8259 section 6), nothing before or after it.
bool is_json_number(std::string_view token) noexcept;

/// Whether PostgreSQL's numeric type, which jsonb stores numbers in, can
/// hold the JSON number `token` (grammar already checked): the exponent
/// must stay below 2^30, the display scale at most 16383 digits and the
/// weight within 32767 base-10000 digits either way.
bool fits_pg_numeric(std::string_view token) noexcept;

/// Offset of the first byte of `text` that does not belong to a valid
/// UTF-8 sequence (overlong forms and surrogates included), or
/// text.size() when it is all valid.
std::size_t first_invalid_utf8(std::string_view text) noexcept;

/// Offset of the first raw byte below 0x20 inside a JSON string of
/// `json`, or json.size() when there is none.
std::size_t first_raw_control(std::string_view json) noexcept;

/// Whether the escapes of a raw JSON string body (the bytes between the
/// quotes, escapes not yet decoded) hold a \u surrogate that is not part
/// of a high-low pair.
bool has_lone_surrogate(std::string_view raw_body) noexcept;

/// Where the first escape of a raw JSON string body that jsonb refuses
/// starts (its backslash): an unknown letter, a \u without four hex
/// digits, \u0000 or a lone surrogate; raw_body.size() when there is
/// none. Places the error of a string that failed to decode.
std::size_t first_refused_escape(std::string_view raw_body) noexcept;

/// Length of the raw body of the JSON string whose opening quote is just
/// before `body`: the bytes up to the closing quote. `end` bounds the scan.
std::size_t raw_string_length(const char* body, const char* end) noexcept;

} // namespace ks::parse
