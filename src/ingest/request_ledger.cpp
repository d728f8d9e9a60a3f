#include "ingest/request_ledger.hpp"

#include <charconv>

namespace ks::ingest {
namespace {

/// Entries one purge statement deletes at most: a purge after a long
/// pause is spread over several runs instead of one long transaction.
constexpr std::uint64_t purge_slice = 50000;

std::string key_literal(const digest& d)
{
    return "'\\x" + to_hex(d) + "'::bytea";
}

// Request ids are made by the sink (hex), but quoting costs nothing and
// keeps the statement safe whatever they become.
std::string text_literal(std::string_view s)
{
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') out += '\'';
        out += c;
    }
    out += '\'';
    return out;
}

bool parse_count(const std::optional<std::string>& v, std::uint64_t& out)
{
    if (!v) return false;
    const char* end = v->data() + v->size();
    auto [p, ec] = std::from_chars(v->data(), end, out);
    return ec == std::errc() && p == end;
}

} // namespace

request_key key_from_header(std::string_view idempotency_key)
{
    // Prefixed, so no header value can name the same key as a body.
    sha256_stream sha;
    sha.update(std::string_view("idempotency-key\0", 16));
    sha.update(idempotency_key);
    return {sha.so_far(), "idempotency-key"};
}

request_ledger::request_ledger(std::string_view table)
    : table_(table), quoted_(pg::quote_table_name(table))
{
}

pg::copy_target request_ledger::target() const
{
    return {table_, std::string(ledger_columns)};
}

void request_ledger::attach(pg::batch& b, const request_key& key,
                            std::string_view request_id,
                            const counts& tally) const
{
    const std::string k = key_literal(key.sha256);
    b.ledger = "INSERT INTO " + quoted_ + " " + std::string(ledger_columns) +
               " VALUES (" + k + ", " + text_literal(key.source) + ", " +
               text_literal(request_id) + ", " +
               std::to_string(tally.received) + ", " +
               std::to_string(tally.loaded) + ", " +
               std::to_string(tally.dead_lettered) + ", " +
               std::to_string(tally.blank_lines) + ");";
    b.ledger_lookup = "SELECT request_id, received, loaded, dead_lettered, "
                      "blank_lines FROM " +
                      quoted_ + " WHERE request_key = " + k;

    // Rows PostgreSQL refuses become dead letters of the same request.
    const std::string where = " WHERE request_key = " + k + ";";
    b.on_refusal.amend_ledger = [table = quoted_,
                                 where](std::uint64_t refused) {
        const std::string n = std::to_string(refused);
        return "UPDATE " + table + " SET loaded = loaded - " + n +
               ", dead_lettered = dead_lettered + " + n + where;
    };
}

std::optional<recorded_request>
request_ledger::recorded(const pg::ledger_values& row)
{
    recorded_request r;
    if (row.size() != 5 || !row[0]) return std::nullopt;
    r.request_id = *row[0];
    if (!parse_count(row[1], r.tally.received) ||
        !parse_count(row[2], r.tally.loaded) ||
        !parse_count(row[3], r.tally.dead_lettered) ||
        !parse_count(row[4], r.tally.blank_lines))
        return std::nullopt;
    return r;
}

std::string request_ledger::purge(std::chrono::seconds window) const
{
    return "DELETE FROM " + quoted_ +
           " WHERE request_key IN (SELECT request_key FROM " + quoted_ +
           " WHERE received_at < now() - make_interval(secs => " +
           std::to_string(window.count()) + ") LIMIT " +
           std::to_string(purge_slice) + ");";
}

} // namespace ks::ingest
