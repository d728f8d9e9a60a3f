#pragma once

#include "core/reason.hpp"
#include "frame/framer.hpp"
#include "map/chains.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ks::map {

/// Limits and switches of the mapping.
struct mapping_options {
    std::size_t max_depth = 64;                   // nesting of one event
    std::size_t max_event_bytes = 8 * 1024 * 1024; // one record, raw
    bool derive_severity = true;  // KoreShield's rule for attack records
    bool unwrap_message = true;   // parse a JSON line held in message/log
    /// An event with no timestamp field at all: false stores it with the
    /// receipt time, marked in its metadata; true makes it a dead letter
    /// (missing_timestamp), for audit trails that want only times the
    /// event itself states.
    bool reject_missing_time = false;
    /// A line that is not JSON (an access log line on the same stream,
    /// Vector's `text` codec, syslog-ng without a JSON body): true makes
    /// it an event of type text_line with the line in metadata.message
    /// and the receipt time; false makes it a not_json dead letter.
    bool text_lines_as_events = true;
    /// Lookup chains, defaults and lower-casing of the columns.
    mapping_rules rules{};
};

/// Column values of one koreshield_events row. Views point into the
/// record or into the mapper's scratch memory and stay valid until the
/// next call to mapper::map on the same mapper.
struct row {
    std::int64_t event_time = 0; // µs since 2000-01-01 00:00:00 UTC
    bool event_time_from_receipt = false; // no timestamp field existed
    bool text_line = false; // a line that is not JSON, kept as an event
    std::string_view event_type;
    std::string_view severity; // lower-cased
    std::optional<std::string_view> provider;
    std::optional<std::string_view> model;
    std::optional<std::string_view> request_id;
    bool blocked = false;
    std::optional<std::string_view> taxonomy; // JSON text, or NULL

    /// The metadata JSON text, as pieces written back to back, so the
    /// original event bytes are never copied to build it.
    std::array<std::string_view,
               8 + 2 * mapping_rules::max_redactions>
        metadata{};
    std::size_t metadata_pieces = 0;

    std::size_t metadata_bytes() const noexcept;

    /// Back to a fresh row, without clearing every metadata slot: only
    /// the first metadata_pieces count.
    void clear() noexcept;
};

/// Why a record cannot become a row.
struct rejection {
    ks::reason why = ks::reason::malformed_json;
    std::string message; // a sentence naming the field or byte at fault
};

/// Turns one framed record into column values with the default lookup
/// chains of KoreShield events (see README, "Mapping"). Owns its simdjson
/// parsers and scratch memory; one mapper per thread.
class mapper {
public:
    explicit mapper(mapping_options options = {});
    ~mapper();
    mapper(const mapper&) = delete;
    mapper& operator=(const mapper&) = delete;

    /// Maps `record`, whose first byte is `record.data()`. At least
    /// ks::json_padding_bytes readable bytes must follow it (any slice of
    /// a padded_buffer qualifies). `receive_time` (µs since 2000-01-01 UTC)
    /// is used when no timestamp field exists. Returns true and fills
    /// `out`, or returns false and fills `why`. Never throws.
    ///
    /// Reasons: too_large (over max_event_bytes), not_json (a text
    /// record), not_object (valid JSON that is no object, including a
    /// string whose text is no object), bad_timestamp and
    /// timestamp_out_of_range (the first timestamp field present), and
    /// whatever parse::walker finds wrong with the JSON itself.
    bool map(std::string_view record, frame::shape kind,
             std::int64_t receive_time, row& out, rejection& why);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ks::map
