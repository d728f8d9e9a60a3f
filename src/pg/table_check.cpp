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

// One row about the events table: its name as the server prints it,
// whether it is partitioned by range on event_time, its default partition
// (NULL when none), and whether some partition holds the current time.
// The bounds are read back from their text, which for a timestamptz range
// is FROM ('...') TO ('...'); the cast only runs for such a table.
constexpr const char* partition_query = R"(
WITH t AS (SELECT $1::regclass AS rel),
leaf AS (
    SELECT c.oid, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM t, pg_partition_tree(t.rel) p JOIN pg_class c ON c.oid = p.relid
    WHERE p.isleaf AND p.level > 0)
SELECT t.rel::text,
       coalesce(pg_get_partkeydef(t.rel) = 'RANGE (event_time)', false),
       (SELECT oid::regclass::text FROM leaf WHERE bound = 'DEFAULT'),
       CASE WHEN pg_get_partkeydef(t.rel) = 'RANGE (event_time)' THEN
           EXISTS (SELECT 1 FROM leaf,
                   regexp_match(leaf.bound,
                                'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)')
                       AS m
                   WHERE now() >= m[1]::timestamptz
                     AND now() < m[2]::timestamptz)
       END
FROM t)";

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

db_status partition_warnings(connection& conn, const copy_target& events,
                             std::vector<std::string>& out)
{
    const text_value table[] = {quote_table_name(events.table)};
    std::vector<text_row> rows;
    if (auto e = conn.query(partition_query, table,
                            "reading the partitions of " + events.table,
                            rows))
        return e;
    const text_row& r = rows.at(0);
    if (r.at(1) != "t") return std::nullopt;

    const std::string& name = *r.at(0);
    if (!r.at(2)) {
        out.push_back(name + " has no default partition: events of a month "
                             "without a partition are refused by "
                             "PostgreSQL and stored as dead letters "
                             "(rejected_by_database); make one with CREATE "
                             "TABLE " + name + "_default PARTITION OF " +
                             name + " DEFAULT");
    }
    if (r.at(3) != "t") {
        out.push_back(name + " has no partition for the current time: live "
                             "events go to the default partition, or are "
                             "refused without one; run CALL "
                             "koreshield_maintenance() and check "
                             "pg_partman's premake");
    }
    if (!r.at(2)) return std::nullopt;

    // Rows in the default partition are stored, but wait for someone to
    // move them. Reading it must not wait behind DDL holding its lock.
    const std::string& fallback = *r.at(2);
    bool holds_rows = false;
    if (conn.exec("SET lock_timeout = '1s'", "setting a lock timeout") ||
        conn.query_flag("SELECT EXISTS (SELECT 1 FROM ONLY " + fallback + ")",
                        {}, "reading " + fallback, holds_rows))
        return std::nullopt;
    if (holds_rows) {
        out.push_back(fallback + " holds rows of months without a "
                                 "partition: SELECT * FROM "
                                 "koreshield_default_rows shows them; CALL "
                                 "koreshield_maintenance() moves those it "
                                 "can");
    }
    return std::nullopt;
}

db_status check_database(const writer_config& config,
                         std::vector<std::string>* warnings)
{
    connection conn;
    if (auto e = conn.open(config.dsn, config.connect_timeout_s)) return e;
    if (auto e = check_tables(conn, config)) return e;
    if (warnings == nullptr) return std::nullopt;
    return partition_warnings(conn, config.events, *warnings);
}

} // namespace ks::pg
