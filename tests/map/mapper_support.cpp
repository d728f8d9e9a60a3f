#include "mapper_support.hpp"

#include <catch2/catch.hpp>
#include <simdjson.h>

namespace ks::map::test {

namespace {

std::optional<std::string> copy(const std::optional<std::string_view>& v)
{
    if (!v) return std::nullopt;
    return std::string(*v);
}

} // namespace

outcome harness::run(std::string_view record, frame::shape kind)
{
    buffer_.clear();
    buffer_.append(record);

    row r;
    rejection why;
    outcome o;
    o.ok = mapper_.map(buffer_.view(), kind, receive_time, r, why);
    if (!o.ok) {
        o.why = why.why;
        o.message = why.message;
        return o;
    }

    o.event_time = r.event_time;
    o.from_receipt = r.event_time_from_receipt;
    o.event_type = r.event_type;
    o.severity = r.severity;
    o.provider = copy(r.provider);
    o.model = copy(r.model);
    o.request_id = copy(r.request_id);
    o.blocked = r.blocked;
    o.taxonomy = copy(r.taxonomy);
    for (std::size_t i = 0; i < r.metadata_pieces; ++i)
        o.metadata.append(r.metadata[i]);

    // Whatever is produced must load into jsonb.
    CHECK(r.metadata_bytes() == o.metadata.size());
    CHECK(is_valid_json(o.metadata));
    if (o.taxonomy) CHECK(is_valid_json(*o.taxonomy));
    return o;
}

bool is_valid_json(std::string_view text)
{
    // An escaped backslash followed by "u0000" is fine; \u0000 is not.
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
        if (text[i] != '\\') continue;
        if (text.substr(i + 1, 5) == "u0000") return false;
        ++i;
    }
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::padded_string copy(text);
    return parser.parse(copy).get(root) == simdjson::SUCCESS;
}

} // namespace ks::map::test
