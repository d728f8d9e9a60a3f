#pragma once

// Request bodies shaped byte for byte like Vector's `http` sink output
// (wire-formats.md, section 1), the KoreShield events inside them, and
// the rows those events must become (event-mapping.md, section 9).

#include "support/coders.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ks::test {

/// The koreshield_events row an event implies. JSON columns hold JSON
/// text; they are compared as jsonb, so key order and spacing do not
/// matter.
struct expected_row {
    std::string event_time; // UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"
    std::string event_type;
    std::string severity;
    std::optional<std::string> provider;
    std::optional<std::string> model;
    std::string request_id; // every generated event has one, unique
    bool blocked = false;
    std::optional<std::string> taxonomy;
    std::string metadata;
};

/// One array element or NDJSON line, and what it must become.
struct sample_event {
    std::string json;
    expected_row row;
};

/// The i-th generated event. Seven shapes take turns: three KoreShield
/// stdout lines as Vector's file source ships them (the line as a string
/// in `message`), and four records whose keys Vector parsed to the top
/// level (an audit entry, a Redis envelope, a RAG finding, a record with
/// its own taxonomy). Keys Vector wrote are sorted, as Vector does.
/// `salt` keeps request ids of different batches apart.
sample_event koreshield_event(std::size_t i, std::uint32_t salt = 0);

/// Events i in [first, first + count).
std::vector<sample_event>
koreshield_events(std::size_t first, std::size_t count, std::uint32_t salt = 0);

/// `json` codec: `[e1,e2,...]`, no whitespace, no final newline.
std::string vector_json_array(const std::vector<sample_event>& events);

/// `json` + newline_delimited framing: `e1\ne2`, no final newline.
std::string vector_ndjson(const std::vector<sample_event>& events);

// Bodies are coded with support/coders.hpp: Vector's `compression =
// "gzip"` sends one gzip_member, its `compression = "zstd"` one
// zstd_streamed frame, whose header has no content size.

/// Whether a zstd frame header records the content size.
bool zstd_has_content_size(std::string_view frame);

/// `text` as a JSON string literal (quotes included).
std::string json_quote(std::string_view text);

/// The unsigned number after `"key":` in a flat JSON object, or -1.
long long json_number(std::string_view body, std::string_view key);

/// The string after `"key":` in a flat JSON object, unescaped, or "".
std::string json_string(std::string_view body, std::string_view key);

/// Compares koreshield_events with `expected`, matching rows by
/// request_id, every column. Returns one line per difference (missing,
/// unexpected or different rows; at most 10), empty when all match.
std::vector<std::string>
row_differences(test_db& db, const std::vector<expected_row>& expected);

/// Rows of `events` as expected_row values.
std::vector<expected_row> rows_of(const std::vector<sample_event>& events);

} // namespace ks::test
