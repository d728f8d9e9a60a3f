#include "http/errors.hpp"

namespace ks::http {

namespace {

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

} // namespace ks::http
