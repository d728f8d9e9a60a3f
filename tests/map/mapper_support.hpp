#pragma once

#include "core/padded_buffer.hpp"
#include "map/mapper.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ks::map::test {

/// What one call to mapper::map produced, copied out of the mapper's
/// memory so that it can be compared after the next call.
struct outcome {
    bool ok = false;
    std::int64_t event_time = 0;
    bool from_receipt = false;
    std::string event_type;
    std::string severity;
    std::optional<std::string> provider;
    std::optional<std::string> model;
    std::optional<std::string> request_id;
    bool blocked = false;
    std::optional<std::string> taxonomy;
    std::string metadata;
    ks::reason why = ks::reason::malformed_json;
    std::string message;
};

/// A mapper fed the way the pipeline feeds it: each record copied into a
/// padded buffer. Checks that every JSON text it produces parses.
class harness {
public:
    static constexpr std::int64_t receive_time = 777'000'000;

    explicit harness(mapping_options options = {}) : mapper_(options) {}

    /// Maps `record` framed as `kind`.
    outcome run(std::string_view record,
                frame::shape kind = frame::shape::object);

private:
    mapper mapper_;
    padded_buffer buffer_;
};

/// Whether `text` is one complete JSON document that simdjson accepts
/// and that holds no \u0000 escape.
bool is_valid_json(std::string_view text);

} // namespace ks::map::test
