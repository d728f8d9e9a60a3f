#pragma once

#include "core/text.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ks::http {

/// Every way a request can fail, as the HTTP layer reports it.
enum class failure : std::uint8_t {
    bad_request,          // not a valid HTTP/1.1 request
    unauthorized,         // credentials are required and were not given
    not_found,            // no endpoint at this path
    method_not_allowed,   // the path exists, the method is not served there
    body_too_large,       // more body bytes on the wire than allowed
    decoded_too_large,    // the decoded body is over its limit
    unsupported_encoding, // Content-Encoding names an unknown coding
    undecodable_body,     // corrupt or truncated compression, refused
    header_too_large,     // request line and headers over their limit
    larger_than_budget,   // the request needs more than the memory budget
    memory_budget_full,   // the memory budget cannot cover the request now
    database_unavailable, // PostgreSQL unreachable or the writer is full
    shutting_down,        // the sink stops and writes nothing more
    database_refused,     // PostgreSQL refused the data
    internal_error,       // a fault of the sink itself
};

/// The answer to a failed request.
struct error_reply {
    unsigned status = 500;      // HTTP status code
    std::string body;           // JSON: {"error": code, "message": text}
    unsigned retry_after_s = 0; // a Retry-After header is sent unless 0
};

/// The stable machine-readable code, e.g. "body_too_large".
std::string_view failure_code(failure f) noexcept;

/// The one place that turns a failure into an HTTP status and a JSON body
/// {"error": code, "message": sentence}. `sqlstate`, when not empty, is
/// added as a third member (PostgreSQL's error code).
///
/// Statuses follow what shippers do with them (wire-formats.md, section
/// 7): 503 with Retry-After for every condition worth retrying, 413 for
/// bodies over a limit, 415 for an unknown coding, 422 for a body that
/// cannot be decompressed (when it is refused rather than kept as a dead
/// letter: every shipper drops a 422 instead of retrying or stalling),
/// 500 when PostgreSQL refuses the data.
error_reply make_error_reply(failure f, std::string_view message,
                             std::string_view sqlstate = {});

/// JSON string literals for error bodies (core/text.hpp).
using ks::append_json_string;

} // namespace ks::http
