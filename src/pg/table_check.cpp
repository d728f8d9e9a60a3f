#include "pg/table_check.hpp"

namespace ks::pg {

namespace {

std::string_view trim_spaces(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// "name" as written in SQL: a quoted identifier loses its quotes and
// doubled quotes; a bare one is folded to lower case, as PostgreSQL does.
std::string identifier_text(std::string_view name)
{
    std::string out;
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
        name = name.substr(1, name.size() - 2);
        for (std::size_t i = 0; i < name.size(); ++i) {
            out += name[i];
            if (name[i] == '"' && i + 1 < name.size() && name[i + 1] == '"')
                ++i;
        }
        return out;
    }
    for (char c : name)
        out += c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
    return out;
}

// One boolean for the whole table: every listed column takes INSERTs
// (a grant on the table covers its columns). The functions raise the
// same "does not exist" errors a COPY would.
// TODO: defaults of the columns left out (the id sequence) are not
// checked; a role that may insert but not use the sequence passes, and
// its batches are refused with 42501.
std::string privilege_query(std::size_t columns)
{
    if (columns == 0) return "SELECT has_table_privilege($1::text, 'INSERT')";
    std::string sql = "SELECT ";
    for (std::size_t i = 0; i < columns; ++i) {
        if (i > 0) sql += " AND ";
        sql += "has_column_privilege($1::text, $" + std::to_string(i + 2) +
               "::text, 'INSERT')";
    }
    return sql;
}

} // namespace

std::vector<std::string> column_names(std::string_view list)
{
    list = trim_spaces(list);
    if (list.size() >= 2 && list.front() == '(' && list.back() == ')')
        list = list.substr(1, list.size() - 2);

    // Names hold no commas: ours are plain identifiers.
    std::vector<std::string> names;
    while (!trim_spaces(list).empty()) {
        std::size_t comma = list.find(',');
        std::string_view name = trim_spaces(list.substr(0, comma));
        if (!name.empty()) names.push_back(identifier_text(name));
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return names;
}

db_status check_table(connection& conn, const copy_target& target,
                      std::string_view what)
{
    // The quoted name is parsed by the server as COPY would parse it.
    std::vector<std::string> params{quote_table_name(target.table)};
    for (std::string& c : column_names(target.columns))
        params.push_back(std::move(c));
    const std::string step = std::string(what) + " " + target.table;

    bool may_insert = false;
    if (auto e = conn.query_flag(privilege_query(params.size() - 1), params,
                                 step, may_insert))
        return e;
    if (!may_insert)
        return db_error{error_kind::data, "42501",
                        step + ": the role may not INSERT into it or into "
                               "one of its columns"};
    return std::nullopt;
}

db_status check_tables(connection& conn, const writer_config& config)
{
    if (auto e = check_table(conn, config.events, "events table")) return e;
    if (auto e = check_table(conn, config.dead_letters, "dead-letter table"))
        return e;
    for (const auto& [target, what] : config.also_checked)
        if (auto e = check_table(conn, target, what)) return e;
    return std::nullopt;
}

db_status check_database(const writer_config& config)
{
    connection conn;
    if (auto e = conn.open(config.dsn, config.connect_timeout_s)) return e;
    return check_tables(conn, config);
}

} // namespace ks::pg
