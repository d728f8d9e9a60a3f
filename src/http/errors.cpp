#include "http/errors.hpp"

namespace ks::http {

namespace {

/// Length of the valid UTF-8 sequence starting at text[i], or 0.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i)
{
    auto byte = [&](std::size_t k) {
        return static_cast<unsigned char>(text[k]);
    };
    auto continuation = [&](std::size_t k) {
        return k < text.size() && (byte(k) & 0xc0) == 0x80;
    };

    unsigned char lead = byte(i);
    if (lead < 0x80) return 1;
    if (lead >= 0xc2 && lead <= 0xdf) return continuation(i + 1) ? 2 : 0;
    if (lead >= 0xe0 && lead <= 0xef) {
        if (!continuation(i + 1) || !continuation(i + 2)) return 0;
        unsigned char second = byte(i + 1);
        if (lead == 0xe0 && second < 0xa0) return 0; // overlong
        if (lead == 0xed && second > 0x9f) return 0; // surrogate
        return 3;
    }
    if (lead >= 0xf0 && lead <= 0xf4) {
        if (!continuation(i + 1) || !continuation(i + 2) ||
            !continuation(i + 3))
            return 0;
        unsigned char second = byte(i + 1);
        if (lead == 0xf0 && second < 0x90) return 0; // overlong
        if (lead == 0xf4 && second > 0x8f) return 0; // above U+10FFFF
        return 4;
    }
    return 0;
}

struct failure_info {
    unsigned status;
    unsigned retry_after_s;
};

failure_info info_for(failure f) noexcept
{
    switch (f) {
    case failure::bad_request:
        return {400, 0};
    case failure::unauthorized:
        return {401, 0};
    case failure::not_found:
        return {404, 0};
    case failure::method_not_allowed:
        return {405, 0};
    case failure::body_too_large:
        return {413, 0};
    case failure::decoded_too_large:
        return {413, 0};
    case failure::unsupported_encoding:
        return {415, 0};
    case failure::undecodable_body:
        return {422, 0};
    case failure::header_too_large:
        return {431, 0};
    case failure::larger_than_budget:
        return {413, 0};
    case failure::memory_budget_full:
        return {503, 1};
    case failure::database_unavailable:
        return {503, 1};
    case failure::shutting_down:
        return {503, 1};
    case failure::database_refused:
        return {500, 0};
    case failure::internal_error:
        return {500, 0};
    }
    return {500, 0};
}

} // namespace

std::string_view failure_code(failure f) noexcept
{
    switch (f) {
    case failure::bad_request:
        return "bad_request";
    case failure::unauthorized:
        return "unauthorized";
    case failure::not_found:
        return "not_found";
    case failure::method_not_allowed:
        return "method_not_allowed";
    case failure::body_too_large:
        return "body_too_large";
    case failure::decoded_too_large:
        return "decoded_too_large";
    case failure::unsupported_encoding:
        return "unsupported_encoding";
    case failure::undecodable_body:
        return "undecodable_body";
    case failure::header_too_large:
        return "header_too_large";
    case failure::larger_than_budget:
        return "larger_than_budget";
    case failure::memory_budget_full:
        return "memory_budget_full";
    case failure::database_unavailable:
        return "database_unavailable";
    case failure::shutting_down:
        return "shutting_down";
    case failure::database_refused:
        return "database_refused";
    case failure::internal_error:
        return "internal_error";
    }
    return "internal_error";
}

error_reply make_error_reply(failure f, std::string_view message,
                             std::string_view sqlstate)
{
    failure_info info = info_for(f);

    error_reply reply;
    reply.status = info.status;
    reply.retry_after_s = info.retry_after_s;
    reply.body.reserve(48 + message.size());
    reply.body += "{\"error\":";
    append_json_string(reply.body, failure_code(f));
    reply.body += ",\"message\":";
    append_json_string(reply.body, message);
    if (!sqlstate.empty()) {
        reply.body += ",\"sqlstate\":";
        append_json_string(reply.body, sqlstate);
    }
    reply.body += '}';
    return reply;
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
            std::size_t n = utf8_sequence_length(text, i);
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

} // namespace ks::http
