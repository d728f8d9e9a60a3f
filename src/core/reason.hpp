#pragma once

#include <cstdint>
#include <string_view>

namespace ks {

/// Why a record could not become a row. The code strings are stored in the
/// dead-letter table and are a stable interface: add, never rename.
enum class reason : std::uint8_t {
    decode_failed,        // body or file could not be decompressed
    malformed_json,       // starts like JSON but does not parse
    not_json,             // a text line that is not JSON at all
    not_object,           // valid JSON, but not an object
    invalid_utf8,         // bytes that are not UTF-8
    control_character,    // raw control character inside a JSON string
    nul_character,        // \u0000 or a lone surrogate PostgreSQL rejects
    number_out_of_range,  // a number no PostgreSQL numeric/double can hold
    too_deep,             // nesting deeper than the configured limit
    too_large,            // one event larger than the configured limit
    bad_timestamp,        // a timestamp field exists but does not parse
    timestamp_out_of_range, // parses, but PostgreSQL cannot store it
    rejected_by_database, // PostgreSQL refused the row
    missing_timestamp,    // no timestamp field, and receipt time is not used
};

/// The stable machine-readable code, e.g. "malformed_json".
std::string_view reason_code(reason r) noexcept;

} // namespace ks
