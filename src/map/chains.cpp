#include "map/chains.hpp"

#include <algorithm>
#include <cassert>

namespace ks::map {

namespace {

using sv = std::string_view;

// Chains no mapping changes, in lookup order (event-mapping.md §9).
constexpr sv unwrap_name_paths[] = {"event", "event_type", "type"};
constexpr sv attack_flag_paths[] = {"attack_detected", "detection.is_attack"};
constexpr sv indicator_paths[] = {"detection.indicators",
                                  "attack_details.indicators", "indicators",
                                  "matched_patterns"};
constexpr sv confidence_paths[] = {
    "confidence", "data.confidence", "detection.confidence",
    "attack_details.confidence", "overall_confidence"};
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

chain make_chain(parse::path_set& paths, std::span<const std::string> dotted)
{
    std::array<std::string_view, chain::capacity> views{};
    const std::size_t n = std::min(dotted.size(), views.size());
    for (std::size_t i = 0; i < n; ++i)
        views[i] = dotted[i];
    return make_chain(paths, std::span(views.data(), n));
}

lookup_chains::lookup_chains(parse::path_set& paths,
                             const mapping_rules& rules)
    : time(make_chain(paths, rules.time)),
      envelope_time(make_chain(paths, rules.envelope_time)),
      event_type(make_chain(paths, rules.event_type.fields)),
      unwrap_names(make_chain(paths, unwrap_name_paths)),
      unwrap_message(make_chain(paths, rules.message)),
      severity(make_chain(paths, rules.severity.fields)),
      level(make_chain(paths, rules.level)),
      attack_flags(make_chain(paths, attack_flag_paths)),
      indicators(make_chain(paths, indicator_paths)),
      confidence(make_chain(paths, confidence_paths)),
      provider(make_chain(paths, rules.provider.fields)),
      model(make_chain(paths, rules.model.fields)),
      request_id(make_chain(paths, rules.request_id.fields)),
      blocked_flag(make_chain(paths, rules.blocked_flags)),
      blocked_action(make_chain(paths, rules.blocked_actions)),
      taxonomy(make_chain(paths, taxonomy_paths)),
      attack_type(make_chain(paths, attack_type_paths)),
      categories(make_chain(paths, category_paths)),
      detector_type(make_chain(paths, detector_type_paths))
{
    for (std::size_t i = 0; i < rag.size(); ++i)
        rag[i] = make_chain(paths, rag_paths[i]);
    for (const std::string& path : rules.redact)
        redact.push_back(static_cast<std::uint16_t>(paths.add(path)));
}

} // namespace ks::map
