#pragma once

#include "parse/path_set.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace ks::map {

/// Up to eight watched paths tried in order; the first one holding a value
/// of the expected JSON type wins.
struct chain {
    static constexpr std::size_t capacity = 8;

    std::array<std::uint16_t, capacity> slots{};    // of the shared path_set
    std::array<std::string_view, capacity> names{}; // dotted, for messages
    std::size_t size = 0;
};

/// Names of the RAG taxonomy keys, each looked up at the top level and
/// under context_analysis.
inline constexpr std::array<std::string_view, 5> rag_keys = {
    "injection_vectors",   "operational_targets",  "persistence_mechanisms",
    "enterprise_contexts", "detection_complexity",
};

/// The default lookup chains for KoreShield events (event-mapping.md §9),
/// registered in one path_set so that a single walk captures them all.
struct lookup_chains {
    /// Adds every path of every chain to `paths`.
    explicit lookup_chains(parse::path_set& paths);

    chain time;          // on the event
    chain envelope_time; // on the shipper's envelope
    chain event_type;
    chain unwrap_names;   // a string here means the object is the event
    chain unwrap_message; // strings that may hold the event's JSON text
    chain severity;       // tried before deriving one
    chain level;          // tried after deriving one
    chain attack_flags;   // booleans that mark an attack record
    chain indicators;
    chain confidence;
    chain provider;
    chain model;
    chain request_id;
    chain blocked_flag;   // booleans
    chain blocked_action; // strings meaning "blocked"
    chain taxonomy;       // an object used as is
    chain attack_type;
    chain categories;
    std::array<chain, rag_keys.size()> rag;
    chain detector_type;
};

/// Registers `dotted` paths in order and returns their chain.
chain make_chain(parse::path_set& paths,
                 std::span<const std::string_view> dotted);

} // namespace ks::map
