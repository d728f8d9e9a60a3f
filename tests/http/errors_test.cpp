#include "http/errors.hpp"

#include <catch2/catch.hpp>

using ks::http::failure;

TEST_CASE("each failure maps to the status shippers handle best")
{
    struct row {
        failure f;
        unsigned status;
        unsigned retry_after_s;
        const char* code;
    };
    const row table[] = {
        {failure::bad_request, 400, 0, "bad_request"},
        {failure::not_found, 404, 0, "not_found"},
        {failure::method_not_allowed, 405, 0, "method_not_allowed"},
        {failure::body_too_large, 413, 0, "body_too_large"},
        {failure::decoded_too_large, 413, 0, "decoded_too_large"},
        {failure::unsupported_encoding, 415, 0, "unsupported_encoding"},
        {failure::header_too_large, 431, 0, "header_too_large"},
        {failure::larger_than_budget, 413, 0, "larger_than_budget"},
        {failure::memory_budget_full, 503, 1, "memory_budget_full"},
        {failure::database_unavailable, 503, 1, "database_unavailable"},
        {failure::shutting_down, 503, 1, "shutting_down"},
        {failure::database_refused, 500, 0, "database_refused"},
        {failure::internal_error, 500, 0, "internal_error"},
    };
    for (const auto& r : table) {
        auto reply = ks::http::make_error_reply(r.f, "It failed.");
        INFO(r.code);
        CHECK(reply.status == r.status);
        CHECK(reply.retry_after_s == r.retry_after_s);
        CHECK(reply.body == std::string("{\"error\":\"") + r.code +
                                "\",\"message\":\"It failed.\"}");
    }
}

TEST_CASE("a refusal by PostgreSQL carries its sqlstate")
{
    auto reply = ks::http::make_error_reply(failure::database_refused,
                                            "value too long", "22001");
    CHECK(reply.body == R"({"error":"database_refused","message":)"
                        R"("value too long","sqlstate":"22001"})");
}

TEST_CASE("messages are escaped into valid JSON strings")
{
    struct row {
        std::string in;
        std::string out;
    };
    const row table[] = {
        {"plain", R"("plain")"},
        {"say \"hi\"", R"("say \"hi\"")"},
        {"back\\slash", R"("back\\slash")"},
        {"line\nbreak\ttab\r", R"("line\nbreak\ttab\r")"},
        {std::string("nul\0here", 8), R"("nul\u0000here")"},
        {"\x1f", R"("\u001f")"},
        {"caf\xc3\xa9", "\"caf\xc3\xa9\""},
        {"\xf0\x9f\x94\x92 lock", "\"\xf0\x9f\x94\x92 lock\""},
        {"bad \xc3\x28 byte", R"("bad \ufffd( byte")"},
        {"cut \xe2\x82", R"("cut \ufffd\ufffd")"},
        {"surrogate \xed\xa0\x80", R"("surrogate \ufffd\ufffd\ufffd")"},
        {"overlong \xc0\xaf", R"("overlong \ufffd\ufffd")"},
    };
    for (const auto& r : table) {
        std::string out;
        ks::http::append_json_string(out, r.in);
        CHECK(out == r.out);
    }
}
