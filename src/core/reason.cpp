#include "core/reason.hpp"

namespace ks {

std::string_view reason_code(reason r) noexcept
{
    switch (r) {
    case reason::decode_failed: return "decode_failed";
    case reason::malformed_json: return "malformed_json";
    case reason::not_json: return "not_json";
    case reason::not_object: return "not_object";
    case reason::invalid_utf8: return "invalid_utf8";
    case reason::control_character: return "control_character";
    case reason::nul_character: return "nul_character";
    case reason::number_out_of_range: return "number_out_of_range";
    case reason::too_deep: return "too_deep";
    case reason::too_large: return "too_large";
    case reason::bad_timestamp: return "bad_timestamp";
    case reason::timestamp_out_of_range: return "timestamp_out_of_range";
    case reason::rejected_by_database: return "rejected_by_database";
    case reason::missing_timestamp: return "missing_timestamp";
    }
    return "unknown";
}

} // namespace ks
