#pragma once

#include "parse/path_set.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ks::map {

/// Up to eight watched paths tried in order; the first one holding a value
/// of the expected JSON type wins.
struct chain {
    static constexpr std::size_t capacity = 8;

    std::array<std::uint16_t, capacity> slots{};    // of the shared path_set
    std::array<std::string_view, capacity> names{}; // dotted, for messages
    std::size_t size = 0;
};

/// How one text column is found: the first of `fields` (dotted paths)
/// holding a string, else `fallback`; lower-cased when asked.
struct column_rule {
    std::vector<std::string> fields;
    std::optional<std::string> fallback; // none: NULL
    bool lowercase = false;
};

/// What a mapping may change (a config file's [mapping] tables). The
/// defaults are KoreShield's own mapping (event-mapping.md); chains hold
/// at most chain::capacity fields.
struct mapping_rules {
    std::vector<std::string> time = {"timestamp", "time", "@timestamp",
                                     "created_at", "data.timestamp"};
    std::vector<std::string> envelope_time = {"timestamp", "@timestamp",
                                              "date", "timereported"};
    column_rule event_type{
        {"event", "event_type", "type", "alert_name", "rule_name"},
        "unknown",
        false};
    /// Before a derived severity; `level` is tried after it.
    column_rule severity{{"severity", "overall_severity",
                          "attack_details.severity", "data.severity",
                          "details.severity", "risk_class",
                          "policy.risk_class"},
                         "info",
                         true};
    std::vector<std::string> level = {"level"};
    column_rule provider{{"provider", "data.provider"}, std::nullopt, false};
    column_rule model{{"model", "data.model"}, std::nullopt, false};
    column_rule request_id{
        {"request_id", "data.request_id", "details.request_id", "scan_id"},
        std::nullopt,
        false};
    /// `blocked`: the first boolean of these; else true when one of the
    /// action fields holds one of the action values, or the event type
    /// is one of blocked_event_types; else false.
    std::vector<std::string> blocked_flags = {"blocked", "is_blocked",
                                              "data.blocked"};
    std::vector<std::string> blocked_actions = {
        "action_taken", "data.action_taken", "details.action"};
    std::vector<std::string> blocked_action_values = {"blocked", "block"};
    std::vector<std::string> blocked_event_types = {"request_blocked"};
    /// String fields that may hold the event's JSON text.
    std::vector<std::string> message = {"message", "log", "MESSAGE"};
    /// Fields of the event whose values metadata keeps only as the
    /// string "[redacted]" (raw prompts are personal data); at most
    /// max_redactions. Array elements cannot be named.
    std::vector<std::string> redact;
    static constexpr std::size_t max_redactions = 16;
};

/// Names of the RAG taxonomy keys, each looked up at the top level and
/// under context_analysis.
inline constexpr std::array<std::string_view, 5> rag_keys = {
    "injection_vectors",   "operational_targets",  "persistence_mechanisms",
    "enterprise_contexts", "detection_complexity",
};

/// The lookup chains of a mapping, registered in one path_set so that a
/// single walk captures them all.
struct lookup_chains {
    /// Adds every path of every chain to `paths`; the chains' names view
    /// the strings of `rules`, which must outlive them.
    lookup_chains(parse::path_set& paths, const mapping_rules& rules);

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
    /// The redact paths' slots, in the rules' order.
    std::vector<std::uint16_t> redact;
};

/// Registers `dotted` paths in order and returns their chain.
chain make_chain(parse::path_set& paths,
                 std::span<const std::string_view> dotted);
chain make_chain(parse::path_set& paths,
                 std::span<const std::string> dotted);

} // namespace ks::map
