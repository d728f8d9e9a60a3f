#include "parse/json_text.hpp"

#include <cstdint>

namespace ks::parse {

namespace {

bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The code unit of a \uXXXX escape whose 'u' is at s[u], or -1.
long escape_unit(std::string_view s, std::size_t u) noexcept
{
    if (u + 4 >= s.size()) return -1;
    long unit = 0;
    for (std::size_t i = u + 1; i <= u + 4; ++i) {
        int h = hex_value(s[i]);
        if (h < 0) return -1;
        unit = unit * 16 + h;
    }
    return unit;
}

bool is_high_surrogate(long unit) noexcept
{
    return unit >= 0xD800 && unit <= 0xDBFF;
}

bool is_low_surrogate(long unit) noexcept
{
    return unit >= 0xDC00 && unit <= 0xDFFF;
}

// Whether the \u escape of a high surrogate at raw[i] is followed at
// once by the escape of a low one.
bool low_half_follows(std::string_view raw, std::size_t i) noexcept
{
    return i + 7 < raw.size() && raw[i + 6] == '\\' && raw[i + 7] == 'u' &&
           is_low_surrogate(escape_unit(raw, i + 7));
}

bool is_continuation(unsigned char c) noexcept
{
    return (c & 0xC0) == 0x80;
}

// Length of the valid UTF-8 sequence starting at text[i], or 0.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) noexcept
{
    auto byte = [&](std::size_t k) -> unsigned char {
        return i + k < text.size() ? static_cast<unsigned char>(text[i + k])
                                   : 0;
    };
    unsigned char lead = byte(0);
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return is_continuation(byte(1)) ? 2 : 0;

    // Three-byte forms: E0 excludes overlongs, ED excludes surrogates.
    if (lead >= 0xE0 && lead <= 0xEF) {
        unsigned char lo = lead == 0xE0 ? 0xA0 : 0x80;
        unsigned char hi = lead == 0xED ? 0x9F : 0xBF;
        bool ok = byte(1) >= lo && byte(1) <= hi && is_continuation(byte(2));
        return ok ? 3 : 0;
    }

    // Four-byte forms: F0 excludes overlongs, F4 caps at U+10FFFF.
    if (lead >= 0xF0 && lead <= 0xF4) {
        unsigned char lo = lead == 0xF0 ? 0x90 : 0x80;
        unsigned char hi = lead == 0xF4 ? 0x8F : 0xBF;
        bool ok = byte(1) >= lo && byte(1) <= hi && is_continuation(byte(2)) &&
                  is_continuation(byte(3));
        return ok ? 4 : 0;
    }
    return 0;
}

// The parts of a JSON number that decide whether numeric can hold it.
struct number_parts {
    std::int64_t int_digits = 0;     // digits before the point
    std::int64_t int_first_nz = -1;  // index of its first non-zero digit
    std::int64_t frac_digits = 0;    // digits after the point
    std::int64_t frac_first_nz = -1; // index of its first non-zero digit
    std::int64_t exponent = 0;       // saturated well beyond the limit
};

number_parts split_number(std::string_view t) noexcept
{
    number_parts p;
    std::size_t i = t.empty() || t[0] != '-' ? 0 : 1;

    // Integer and fraction digits, remembering the first significant one.
    for (; i < t.size() && is_digit(t[i]); ++i, ++p.int_digits)
        if (t[i] != '0' && p.int_first_nz < 0) p.int_first_nz = p.int_digits;
    if (i < t.size() && t[i] == '.') ++i;
    for (; i < t.size() && is_digit(t[i]); ++i, ++p.frac_digits)
        if (t[i] != '0' && p.frac_first_nz < 0) p.frac_first_nz = p.frac_digits;

    // Exponent, saturated so that absurd ones cannot overflow.
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        bool negative = i < t.size() && t[i] == '-';
        if (i < t.size() && (t[i] == '-' || t[i] == '+')) ++i;
        std::int64_t e = 0;
        for (; i < t.size() && is_digit(t[i]); ++i)
            if (e < (std::int64_t{1} << 40)) e = e * 10 + (t[i] - '0');
        p.exponent = negative ? -e : e;
    }
    return p;
}

} // namespace

std::string_view trim_json_space(std::string_view text) noexcept
{
    std::size_t b = 0;
    while (b < text.size() && is_json_space(text[b]))
        ++b;
    return trim_json_space_right(text.substr(b));
}

bool is_json_number(std::string_view t) noexcept
{
    std::size_t i = 0;
    if (i < t.size() && t[i] == '-') ++i;

    // Integer part: a single zero, or digits not starting with zero.
    if (i >= t.size() || !is_digit(t[i])) return false;
    if (t[i] == '0') {
        ++i;
    } else {
        while (i < t.size() && is_digit(t[i]))
            ++i;
    }

    // Optional fraction: a point needs at least one digit.
    if (i < t.size() && t[i] == '.') {
        ++i;
        if (i >= t.size() || !is_digit(t[i])) return false;
        while (i < t.size() && is_digit(t[i]))
            ++i;
    }

    // Optional exponent with optional sign and at least one digit.
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
        if (i >= t.size() || !is_digit(t[i])) return false;
        while (i < t.size() && is_digit(t[i]))
            ++i;
    }
    return i == t.size();
}

bool fits_pg_numeric(std::string_view token) noexcept
{
    constexpr std::int64_t max_exponent = 1'073'741'823; // INT_MAX / 2
    constexpr std::int64_t max_dscale = 16'383;
    constexpr std::int64_t max_dweight = 32'767 * 4 + 3;
    constexpr std::int64_t min_dweight = -32'768 * 4;

    number_parts p = split_number(token);

    // numeric_in refuses huge exponents before looking at the digits.
    if (p.exponent >= max_exponent || p.exponent <= -max_exponent) return false;

    // The display scale counts fraction digits, zeros included.
    std::int64_t dscale = p.frac_digits - p.exponent;
    if (dscale > max_dscale) return false;

    // Zero has weight 0; otherwise place the first significant digit.
    std::int64_t dweight = 0;
    if (p.int_first_nz >= 0) {
        dweight = p.int_digits - p.int_first_nz - 1 + p.exponent;
    } else if (p.frac_first_nz >= 0) {
        dweight = -(p.frac_first_nz + 1) + p.exponent;
    } else {
        return true;
    }
    return dweight >= min_dweight && dweight <= max_dweight;
}

std::size_t first_invalid_utf8(std::string_view text) noexcept
{
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t n = utf8_sequence_length(text, i);
        if (n == 0) return i;
        i += n;
    }
    return text.size();
}

std::size_t first_raw_control(std::string_view json) noexcept
{
    bool in_string = false;
    for (std::size_t i = 0; i < json.size(); ++i) {
        char c = json[i];
        if (!in_string) {
            in_string = c == '"';
            continue;
        }
        if (static_cast<unsigned char>(c) < 0x20) return i;
        if (c == '\\') {
            ++i;
        } else if (c == '"') {
            in_string = false;
        }
    }
    return json.size();
}

bool has_lone_surrogate(std::string_view raw) noexcept
{
    std::size_t i = 0;
    while (i < raw.size()) {
        if (raw[i] != '\\' || i + 1 >= raw.size()) {
            ++i;
            continue;
        }
        if (raw[i + 1] != 'u') {
            i += 2;
            continue;
        }

        // A high half must be followed at once by an escaped low half.
        long unit = escape_unit(raw, i + 1);
        if (is_low_surrogate(unit)) return true;
        if (!is_high_surrogate(unit)) {
            i += 6;
            continue;
        }
        bool paired = low_half_follows(raw, i);
        if (!paired) return true;
        i += 12;
    }
    return false;
}

std::size_t first_refused_escape(std::string_view raw) noexcept
{
    constexpr std::string_view one_byte = "\"\\/bfnrt";
    std::size_t i = 0;
    while (i < raw.size()) {
        if (raw[i] != '\\') {
            ++i;
            continue;
        }
        if (i + 1 >= raw.size()) return i;
        if (one_byte.find(raw[i + 1]) != std::string_view::npos) {
            i += 2;
            continue;
        }
        if (raw[i + 1] != 'u') return i;

        // \u: four hex digits, not NUL, and a surrogate only as the high
        // half of a pair.
        long unit = escape_unit(raw, i + 1);
        if (unit <= 0 || is_low_surrogate(unit)) return i;
        if (!is_high_surrogate(unit)) {
            i += 6;
            continue;
        }
        bool paired = low_half_follows(raw, i);
        if (!paired) return i;
        i += 12;
    }
    return raw.size();
}

std::size_t raw_string_length(const char* body, const char* end) noexcept
{
    const char* p = body;
    while (p < end && *p != '"')
        p += *p == '\\' ? 2 : 1;
    return static_cast<std::size_t>((p < end ? p : end) - body);
}

} // namespace ks::parse
