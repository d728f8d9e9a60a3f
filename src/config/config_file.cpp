#include "config/config_file.hpp"

#include <toml++/toml.h>

#include <set>

namespace ks::config {
namespace {

/// The tables a config file may hold.
const std::set<std::string_view> known_tables = {"database", "sink", "load",
                                                 "mapping"};

/// Where a value sits, for messages: "[mapping.severity] lowercase".
std::string at(std::string_view table, std::string_view key)
{
    return "[" + std::string(table) + "] " + std::string(key);
}

/// Reads one setting of a program table as command-line arguments.
std::optional<std::string> add_argument(const toml::node& value,
                                        const std::string& where,
                                        const std::string& flag,
                                        bool is_switch,
                                        std::vector<std::string>& out)
{
    if (is_switch) {
        const auto b = value.value<bool>();
        if (!value.is_boolean() || !b)
            return where + ": expected true or false";
        if (*b) out.push_back(flag);
        return std::nullopt;
    }
    if (value.is_string()) {
        out.push_back(flag);
        out.push_back(*value.value<std::string>());
    } else if (value.is_integer()) {
        out.push_back(flag);
        out.push_back(std::to_string(*value.value<std::int64_t>()));
    } else {
        return where + ": expected a string or a whole number";
    }
    return std::nullopt;
}

/// A list of dotted field paths, at most a chain long.
std::optional<std::string>
read_fields(const toml::node& value, const std::string& where,
            std::vector<std::string>& out,
            std::size_t most = map::chain::capacity)
{
    const toml::array* list = value.as_array();
    if (list == nullptr) return where + ": expected a list of field paths";
    if (list->size() > most)
        return where + ": at most " + std::to_string(most) + " fields, " +
               std::to_string(list->size()) + " given";
    std::vector<std::string> fields;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto s = (*list)[i].value<std::string>();
        if (!(*list)[i].is_string() || !s || s->empty() ||
            s->front() == '.' || s->back() == '.' ||
            s->find("..") != std::string::npos)
            return where + "[" + std::to_string(i) +
                   "]: expected a field path such as \"data.severity\"";
        fields.push_back(*s);
    }
    out = std::move(fields);
    return std::nullopt;
}

std::optional<std::string> read_words(const toml::node& value,
                                      const std::string& where,
                                      std::vector<std::string>& out)
{
    const toml::array* list = value.as_array();
    if (list == nullptr) return where + ": expected a list of strings";
    std::vector<std::string> words;
    for (std::size_t i = 0; i < list->size(); ++i) {
        if (!(*list)[i].is_string())
            return where + "[" + std::to_string(i) + "]: expected a string";
        words.push_back(*(*list)[i].value<std::string>());
    }
    out = std::move(words);
    return std::nullopt;
}

std::optional<std::string> read_bool(const toml::node& value,
                                     const std::string& where, bool& out)
{
    if (!value.is_boolean()) return where + ": expected true or false";
    out = *value.value<bool>();
    return std::nullopt;
}

/// [mapping.<column>]: fields, default, lowercase, and for severity the
/// level fields. `required` columns are NOT NULL: their default must be
/// a string.
std::optional<std::string> read_column(const toml::table& t,
                                       std::string_view name, bool required,
                                       map::column_rule& rule,
                                       std::vector<std::string>* level)
{
    const std::string table = "mapping." + std::string(name);
    for (const auto& [k, v] : t) {
        const std::string key(k.str());
        const std::string where = at(table, key);
        std::optional<std::string> problem;
        if (key == "fields") {
            problem = read_fields(v, where, rule.fields);
        } else if (key == "default") {
            if (!v.is_string())
                return where + ": expected a string" +
                       (required ? "" : " (leave it out for NULL)");
            rule.fallback = *v.value<std::string>();
        } else if (key == "lowercase") {
            problem = read_bool(v, where, rule.lowercase);
        } else if (key == "level_fields" && level != nullptr) {
            problem = read_fields(v, where, *level);
        } else {
            return where + ": not a setting of a column (fields, default, "
                           "lowercase" +
                   std::string(level != nullptr ? ", level_fields" : "") +
                   ")";
        }
        if (problem) return problem;
    }
    if (required && (!rule.fallback || rule.fallback->empty()))
        return at(table, "default") + ": the column cannot be NULL, so its "
                                      "default must be a word";
    return std::nullopt;
}

std::optional<std::string> read_mapping(const toml::table& mapping,
                                        file_settings& out)
{
    map::mapping_rules& r = out.rules;
    for (const auto& [k, v] : mapping) {
        const std::string key(k.str());
        const std::string where = at("mapping", key);
        const toml::table* sub = v.as_table();
        std::optional<std::string> problem;
        if (key == "event_type" && sub != nullptr) {
            problem = read_column(*sub, key, true, r.event_type, nullptr);
        } else if (key == "severity" && sub != nullptr) {
            problem = read_column(*sub, key, true, r.severity, &r.level);
        } else if (key == "provider" && sub != nullptr) {
            problem = read_column(*sub, key, false, r.provider, nullptr);
        } else if (key == "model" && sub != nullptr) {
            problem = read_column(*sub, key, false, r.model, nullptr);
        } else if (key == "request_id" && sub != nullptr) {
            problem = read_column(*sub, key, false, r.request_id, nullptr);
        } else if (key == "blocked" && sub != nullptr) {
            for (const auto& [bk, bv] : *sub) {
                const std::string b(bk.str());
                const std::string w = at("mapping.blocked", b);
                if (b == "fields") problem = read_fields(bv, w, r.blocked_flags);
                else if (b == "action_fields")
                    problem = read_fields(bv, w, r.blocked_actions);
                else if (b == "action_values")
                    problem = read_words(bv, w, r.blocked_action_values);
                else if (b == "event_types")
                    problem = read_words(bv, w, r.blocked_event_types);
                else
                    return w + ": not a setting of blocked (fields, "
                               "action_fields, action_values, event_types)";
                if (problem) return problem;
            }
        } else if (key == "time_fields") {
            problem = read_fields(v, where, r.time);
        } else if (key == "envelope_time_fields") {
            problem = read_fields(v, where, r.envelope_time);
        } else if (key == "message_fields") {
            problem = read_fields(v, where, r.message);
        } else if (key == "redact") {
            problem = read_fields(v, where, r.redact,
                                  map::mapping_rules::max_redactions);
        } else if (key == "derive_severity") {
            problem = read_bool(v, where, out.derive_severity);
        } else if (key == "unwrap_message") {
            problem = read_bool(v, where, out.unwrap_message);
        } else {
            return where + ": not a mapping setting (event_type, severity, "
                           "provider, model, request_id and blocked tables; "
                           "time_fields, envelope_time_fields, "
                           "message_fields, redact, derive_severity, "
                           "unwrap_message)";
        }
        if (problem) return problem;
    }
    return std::nullopt;
}

} // namespace

std::optional<std::string> read_config(const std::string& path,
                                       std::string_view table,
                                       const flag_lookup& flag_kind,
                                       file_settings& out)
{
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        const auto& where = e.source().begin;
        return "config " + path + ", line " + std::to_string(where.line) +
               ", column " + std::to_string(where.column) + ": " +
               std::string(e.description());
    }

    const std::string prefix = "config " + path + ": ";
    for (const auto& [k, v] : root) {
        const std::string name(k.str());
        if (!known_tables.contains(name) || !v.is_table())
            return prefix + "'" + name +
                   "' is not one of the tables database, sink, load, mapping";
    }

    // Settings: [database], then the program's own table.
    for (std::string_view section : {std::string_view("database"), table}) {
        const toml::table* t = root[section].as_table();
        if (t == nullptr) continue;
        for (const auto& [k, v] : *t) {
            std::string key(k.str());
            for (char& c : key)
                if (c == '_') c = '-';
            const std::string flag = "--" + key;
            const std::string where = prefix + at(section, k.str());
            const auto kind = flag_kind(flag);
            if (!kind || key == "config")
                return where + ": not a setting of this program (see " +
                       "--help for the flags, which are the keys)";
            if (auto problem =
                    add_argument(v, where, flag, *kind, out.arguments))
                return problem;
        }
    }

    if (const toml::table* m = root["mapping"].as_table())
        if (auto problem = read_mapping(*m, out)) return prefix + *problem;
    return std::nullopt;
}

} // namespace ks::config
