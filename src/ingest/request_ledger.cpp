#include "ingest/request_ledger.hpp"

#include <charconv>

namespace ks::ingest {
namespace {

/// Entries one purge statement deletes at most: a purge after a long
/// pause is spread over several runs instead of one long transaction.
constexpr std::uint64_t purge_slice = 50000;

std::string key_literal(const digest& d)
{
    return "E'\\\\x" + to_hex(d) + "'::bytea";
}

/// `text` as an SQL string literal. E'' reads the same whatever
/// standard_conforming_strings says.
std::string text_literal(std::string_view text)
{
    std::string out = "E'";
    for (char c : text) {
        if (c == '\'' || c == '\\') out += c;
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
    // Tagged, so no header value can name the same key as a body.
    return {tagged_sha256("idempotency-key", {idempotency_key}),
            "idempotency-key"};
}

request_ledger::request_ledger(std::string_view table,
                               std::chrono::seconds window)
    : table_(table), quoted_(pg::quote_table_name(table)),
      older_("received_at < now() - make_interval(secs => " +
            std::to_string(window.count()) + ")")
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
    // One row for the writer's ledger INSERT, laid out as ledger_columns.
    const std::string k = key_literal(key.sha256);
    std::string& row = b.ledger_rows;
    row = "(" + k + ", " + text_literal(key.source) + ", " +
          text_literal(request_id);
    for (std::uint64_t n : {tally.received, tally.loaded, tally.dead_lettered,
                            tally.blank_lines, tally.text_lines})
        row += ", " + std::to_string(n);
    row += ")";

    // An entry past the window is no repeat: the lookup does not see it,
    // and the writer deletes it and stores the request again.
    b.ledger_lookup = "SELECT request_id, received, loaded, dead_lettered, "
                      "blank_lines, text_lines FROM " +
                      quoted_ + " WHERE request_key = " + k + " AND NOT (" +
                      older_ + ")";
    b.ledger_expired = "DELETE FROM " + quoted_ + " WHERE request_key = " + k +
                       " AND " + older_;

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
    if (row.size() != 6 || !row[0]) return std::nullopt;
    r.request_id = *row[0];
    if (!parse_count(row[1], r.tally.received) ||
        !parse_count(row[2], r.tally.loaded) ||
        !parse_count(row[3], r.tally.dead_lettered) ||
        !parse_count(row[4], r.tally.blank_lines) ||
        !parse_count(row[5], r.tally.text_lines))
        return std::nullopt;
    return r;
}

std::string request_ledger::purge() const
{
    return "DELETE FROM " + quoted_ +
           " WHERE request_key IN (SELECT request_key FROM " + quoted_ +
           " WHERE " + older_ + " LIMIT " + std::to_string(purge_slice) + ");";
}

} // namespace ks::ingest
