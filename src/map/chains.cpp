#include "map/chains.hpp"

#include <cassert>

namespace ks::map {

namespace {

using sv = std::string_view;

// The default chains, in lookup order (event-mapping.md §9).
constexpr sv time_paths[] = {"timestamp", "time", "@timestamp", "created_at",
                             "data.timestamp"};
constexpr sv envelope_time_paths[] = {"timestamp", "@timestamp", "date",
                                      "timereported"};
constexpr sv event_type_paths[] = {"event", "event_type", "type", "alert_name",
                                   "rule_name"};
constexpr sv unwrap_name_paths[] = {"event", "event_type", "type"};
constexpr sv unwrap_message_paths[] = {"message", "log", "MESSAGE"};
constexpr sv severity_paths[] = {
    "severity",         "overall_severity", "attack_details.severity",
    "data.severity",    "details.severity", "risk_class",
    "policy.risk_class"};
constexpr sv level_paths[] = {"level"};
constexpr sv attack_flag_paths[] = {"attack_detected", "detection.is_attack"};
constexpr sv indicator_paths[] = {"detection.indicators",
                                  "attack_details.indicators", "indicators",
                                  "matched_patterns"};
constexpr sv confidence_paths[] = {
    "confidence", "data.confidence", "detection.confidence",
    "attack_details.confidence", "overall_confidence"};
constexpr sv provider_paths[] = {"provider", "data.provider"};
constexpr sv model_paths[] = {"model", "data.model"};
constexpr sv request_id_paths[] = {"request_id", "data.request_id",
                                   "details.request_id", "scan_id"};
constexpr sv blocked_flag_paths[] = {"blocked", "is_blocked", "data.blocked"};
constexpr sv blocked_action_paths[] = {"action_taken", "data.action_taken",
                                       "details.action"};
constexpr sv taxonomy_paths[] = {"taxonomy"};
constexpr sv attack_type_paths[] = {"attack_type", "data.attack_type",
                                    "details.attack_type", "threat_type"};
constexpr sv category_paths[] = {"attack_categories"};
constexpr sv detector_type_paths[] = {"detection.attack_type"};
constexpr sv rag_paths[rag_keys.size()][2] = {
    {"injection_vectors", "context_analysis.injection_vectors"},
    {"operational_targets", "context_analysis.operational_targets"},
    {"persistence_mechanisms", "context_analysis.persistence_mechanisms"},
    {"enterprise_contexts", "context_analysis.enterprise_contexts"},
    {"detection_complexity", "context_analysis.detection_complexity"},
};

} // namespace

chain make_chain(parse::path_set& paths,
                 std::span<const std::string_view> dotted)
{
    assert(dotted.size() <= chain::capacity);
    chain c;
    for (std::string_view path : dotted) {
        c.slots[c.size] = static_cast<std::uint16_t>(paths.add(path));
        c.names[c.size] = path;
        ++c.size;
    }
    return c;
}

lookup_chains::lookup_chains(parse::path_set& paths)
    : time(make_chain(paths, time_paths)),
      envelope_time(make_chain(paths, envelope_time_paths)),
      event_type(make_chain(paths, event_type_paths)),
      unwrap_names(make_chain(paths, unwrap_name_paths)),
      unwrap_message(make_chain(paths, unwrap_message_paths)),
      severity(make_chain(paths, severity_paths)),
      level(make_chain(paths, level_paths)),
      attack_flags(make_chain(paths, attack_flag_paths)),
      indicators(make_chain(paths, indicator_paths)),
      confidence(make_chain(paths, confidence_paths)),
      provider(make_chain(paths, provider_paths)),
      model(make_chain(paths, model_paths)),
      request_id(make_chain(paths, request_id_paths)),
      blocked_flag(make_chain(paths, blocked_flag_paths)),
      blocked_action(make_chain(paths, blocked_action_paths)),
      taxonomy(make_chain(paths, taxonomy_paths)),
      attack_type(make_chain(paths, attack_type_paths)),
      categories(make_chain(paths, category_paths)),
      detector_type(make_chain(paths, detector_type_paths))
{
    for (std::size_t i = 0; i < rag.size(); ++i)
        rag[i] = make_chain(paths, rag_paths[i]);
}

} // namespace ks::map
