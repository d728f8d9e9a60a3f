#include "load/manifest.hpp"

#include "pg/writer.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace ks::load {

namespace {

using pg::text_row;
using pg::text_value;

// bytea in PostgreSQL's hex text form.
std::string bytea_text(const digest& d)
{
    return "\\x" + to_hex(d);
}

std::string number_text(std::uint64_t n)
{
    return std::to_string(n);
}

std::string number_text(std::int64_t n)
{
    return std::to_string(n);
}

// A column the queries below never leave NULL where it is read.
std::uint64_t unsigned_of(const text_value& v)
{
    std::uint64_t n = 0;
    if (v)
        static_cast<void>(std::from_chars(v->data(), v->data() + v->size(), n));
    return n;
}

std::int64_t signed_of(const text_value& v)
{
    std::int64_t n = 0;
    if (v)
        static_cast<void>(std::from_chars(v->data(), v->data() + v->size(), n));
    return n;
}

// The hex digits of encode(sha, 'hex') back into a digest.
digest digest_of(const text_value& v)
{
    digest d{};
    if (!v || v->size() != 2 * d.size()) return d;
    for (std::size_t i = 0; i < d.size(); ++i) {
        unsigned byte = 0;
        static_cast<void>(std::from_chars(v->data() + 2 * i,
                                          v->data() + 2 * i + 2, byte, 16));
        d[i] = static_cast<unsigned char>(byte);
    }
    return d;
}

pg::db_error data_error(std::string message)
{
    return pg::db_error{pg::error_kind::data, "", std::move(message)};
}

} // namespace

pg::db_status manifest::query(const std::string& sql,
                             std::span<const pg::text_value> params,
                             std::string_view step,
                             std::vector<pg::text_row>& rows)
{
    // A server restart between two files ends this idle connection; the
    // statement never ran, so it is sent once more on a new one, once the
    // server takes connections again (waiting up to retry_for_).
    pg::db_status e = conn_.query(sql, params, step, rows);
    if (!e || !conn_.lost(*e)) return e;

    const auto give_up = std::chrono::steady_clock::now() + retry_for_;
    auto pause = std::chrono::milliseconds(100);
    while (auto reopened = conn_.open(dsn_, timeout_s_)) {
        if (reopened->kind != pg::error_kind::transient ||
            std::chrono::steady_clock::now() + pause > give_up)
            return e;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(2000));
    }
    return conn_.query(sql, params, step, rows);
}

manifest::manifest(manifest_tables tables)
    : tables_(std::move(tables)), files_(pg::quote_table_name(tables_.files)),
      chunks_(pg::quote_table_name(tables_.chunks))
{
}

pg::db_status manifest::open(const std::string& dsn, unsigned connect_timeout_s)
{
    dsn_ = dsn;
    timeout_s_ = connect_timeout_s;
    if (auto e = conn_.open(dsn, connect_timeout_s)) return e;

    // Name the missing table rather than fail on the first query.
    std::vector<text_row> rows;
    const text_value names[] = {tables_.files, tables_.chunks};
    if (auto e = query("SELECT to_regclass($1) IS NULL, "
                             "to_regclass($2) IS NULL",
                             names, "checking the manifest tables", rows))
        return e;
    for (int i = 0; i < 2; ++i)
        if (rows.at(0).at(i) == "t")
            return data_error("the manifest table " + *names[i] +
                              " does not exist; apply the schema with "
                              "sql/apply");
    return std::nullopt;
}

pg::db_status manifest::last_load_of(const std::string& path,
                                     std::optional<earlier_load>& out)
{
    return load_of(path, true, out);
}

pg::db_status manifest::unfinished_load_of(const std::string& path,
                                           std::optional<earlier_load>& out)
{
    return load_of(path, false, out);
}

pg::db_status manifest::load_of(const std::string& path, bool completed,
                                std::optional<earlier_load>& out)
{
    // An unfinished load has no end yet: those columns read NULL, as 0.
    out.reset();
    std::vector<text_row> rows;
    const text_value params[] = {path};
    if (auto e = query(
            "SELECT load_id, encode(content_sha256, 'hex'), file_bytes, "
            "decoded_bytes, end_line, start_index + records FROM " +
                files_ + " WHERE path = $1 AND completed_at IS " +
                (completed ? "NOT NULL" : "NULL") +
                " ORDER BY completed_at DESC NULLS LAST, load_id DESC"
                " LIMIT 1",
            params, "reading the manifest", rows))
        return e;
    if (rows.empty()) return std::nullopt;

    const text_row& r = rows.front();
    earlier_load l;
    l.load_id = signed_of(r[0]);
    l.sha256 = digest_of(r[1]);
    l.file_bytes = unsigned_of(r[2]);
    l.end = {unsigned_of(r[3]), unsigned_of(r[4]), unsigned_of(r[5])};
    out = l;
    return std::nullopt;
}

pg::db_status manifest::text_head_known(const digest& head, bool& known)
{
    std::vector<text_row> rows;
    const text_value params[] = {bytea_text(head)};
    if (auto e = query("SELECT EXISTS (SELECT 1 FROM " + files_ +
                           " WHERE head_sha256 = $1)",
                       params, "reading the manifest", rows))
        return e;
    known = !rows.empty() && rows.front().at(0) == "t";
    return std::nullopt;
}

pg::db_status manifest::unfinished_with(const digest& sha256, bool& found)
{
    std::vector<text_row> rows;
    const text_value params[] = {bytea_text(sha256)};
    if (auto e = query("SELECT EXISTS (SELECT 1 FROM " + files_ +
                           " WHERE content_sha256 = $1 AND completed_at IS "
                           "NULL)",
                       params, "reading the manifest", rows))
        return e;
    found = !rows.empty() && rows.front().at(0) == "t";
    return std::nullopt;
}

pg::db_status manifest::texts_starting(const digest& head, std::size_t most,
                                       std::vector<text_start>& out)
{
    out.clear();
    std::vector<text_row> rows;
    const std::uint64_t head_bytes = text_head_bytes;
    const std::uint64_t limit = most;
    const text_value params[] = {bytea_text(head), number_text(head_bytes),
                                 number_text(limit)};
    if (auto e = query(
            "SELECT load_id, path, encode(text_sha256, 'hex'), "
            "decoded_bytes, end_line, start_index + records FROM " +
                files_ +
                " f WHERE head_sha256 = $1 AND completed_at IS NOT NULL "
                "AND text_sha256 IS NOT NULL AND damage IS NULL "
                "AND decoded_bytes > $2 AND NOT EXISTS (SELECT 1 FROM " +
                files_ +
                " g WHERE g.grown_from = f.load_id AND "
                "g.text_sha256 IS NULL) "
                "ORDER BY decoded_bytes DESC, load_id DESC LIMIT $3",
            params, "reading the manifest", rows))
        return e;
    for (const text_row& r : rows) {
        text_start t;
        t.load_id = signed_of(r[0]);
        t.path = r[1].value_or("");
        t.text_sha256 = digest_of(r[2]);
        t.end = {unsigned_of(r[3]), unsigned_of(r[4]), unsigned_of(r[5])};
        out.push_back(std::move(t));
    }
    return std::nullopt;
}

pg::db_status manifest::finished_with_text(const text_hash& text,
                                           std::optional<finished_load>& out)
{
    const text_value params[] = {bytea_text(text.head), bytea_text(text.whole),
                                 number_text(text.bytes)};
    return latest_finished("head_sha256 = $1 AND text_sha256 = $2 AND "
                           "decoded_bytes = $3",
                           params, out);
}

pg::db_status manifest::finished_with(const digest& sha256,
                                      std::optional<finished_load>& out)
{
    const text_value params[] = {bytea_text(sha256)};
    return latest_finished("content_sha256 = $1", params, out);
}

pg::db_status manifest::latest_finished(const std::string& condition,
                                        std::span<const text_value> params,
                                        std::optional<finished_load>& out)
{
    out.reset();
    std::vector<text_row> rows;
    if (auto e = query(
            "SELECT load_id, path, to_char(completed_at, "
            "'YYYY-MM-DD HH24:MI:SS TZ'), loaded, dead_lettered FROM " +
                files_ + " WHERE " + condition +
                " AND completed_at IS NOT NULL"
                " ORDER BY completed_at DESC, load_id DESC LIMIT 1",
            params, "reading the manifest", rows))
        return e;
    if (rows.empty()) return std::nullopt;

    const text_row& r = rows.front();
    out = finished_load{signed_of(r[0]), r[1].value_or(""), r[2].value_or(""),
                        unsigned_of(r[3]), unsigned_of(r[4])};
    return std::nullopt;
}

pg::db_status manifest::begin(const file_identity& file,
                              std::uint64_t chunk_bytes,
                              const start_point& start,
                              std::optional<std::int64_t> grown_from,
                              open_load& out)
{
    out = open_load{};
    const text_value sha[] = {bytea_text(file.sha256)};
    std::vector<text_row> rows;

    // A new load is recorded unless one for this content is unfinished;
    // a second loader racing for the same file finds the first one's row
    // on its second look.
    for (int attempt = 0; attempt < 2; ++attempt) {
        if (auto e = query(
                "SELECT load_id, chunk_bytes, start_offset, start_line, "
                "start_index, grown_from FROM " +
                    files_ +
                    " WHERE content_sha256 = $1 AND completed_at IS NULL",
                sha, "reading the manifest", rows))
            return e;
        if (!rows.empty()) break;

        const text_value params[] = {
            bytea_text(file.sha256),
            file.path,
            number_text(file.bytes),
            number_text(file.mtime_ns),
            number_text(static_cast<std::uint64_t>(chunk_bytes)),
            grown_from ? text_value(number_text(*grown_from)) : std::nullopt,
            number_text(start.decoded_offset),
            number_text(start.line),
            number_text(start.index),
            file.text_head ? text_value(bytea_text(*file.text_head))
                           : std::nullopt};
        if (auto e = query(
                "INSERT INTO " + files_ +
                    " (content_sha256, path, file_bytes, modified_at, "
                    "chunk_bytes, grown_from, start_offset, start_line, "
                    "start_index, head_sha256) VALUES ($1, $2, $3, "
                    "to_timestamp($4::numeric / 1000000000), $5, $6, $7, "
                    "$8, $9, $10) ON CONFLICT (content_sha256) WHERE "
                    "completed_at IS NULL DO NOTHING RETURNING load_id",
                params, "recording the file in the manifest", rows))
            return e;
        if (!rows.empty()) {
            out.load_id = signed_of(rows.front()[0]);
            out.chunk_bytes = chunk_bytes;
            out.start = start;
            out.grown_from = grown_from;
            return std::nullopt;
        }
    }
    if (rows.empty())
        return pg::db_error{pg::error_kind::transient, "",
                            "the manifest row of " + file.path +
                                " vanished while it was being opened"};

    // Resume: the cuts and the start come from the row, not the options.
    const text_row& r = rows.front();
    out.load_id = signed_of(r[0]);
    out.resumed = true;
    out.chunk_bytes = unsigned_of(r[1]);
    out.start = {unsigned_of(r[2]), unsigned_of(r[3]), unsigned_of(r[4])};
    if (r[5]) out.grown_from = signed_of(r[5]);

    const text_value id[] = {number_text(out.load_id)};
    if (auto e = query("SELECT chunk_offset, next_offset, records, "
                             "loaded, dead_lettered, blank_lines FROM " +
                                 chunks_ + " WHERE load_id = $1",
                             id, "reading the manifest's chunks", rows))
        return e;
    for (const text_row& c : rows)
        out.done[unsigned_of(c[0])] = chunk_counts{
            unsigned_of(c[1]), unsigned_of(c[2]), unsigned_of(c[3]),
            unsigned_of(c[4]), unsigned_of(c[5])};
    return std::nullopt;
}

pg::db_status manifest::complete(std::int64_t load_id, const start_point& end,
                                 const std::string& damage,
                                 const std::optional<text_hash>& text,
                                 load_totals& totals)
{
    // The chunks must tile the text from the start to the end, and their
    // records must reach the end's record count: only then is every byte
    // of the file accounted for.
    const text_value params[] = {
        number_text(load_id), number_text(end.decoded_offset),
        number_text(end.line), number_text(end.index),
        damage.empty() ? std::nullopt : text_value(damage),
        text ? text_value(bytea_text(text->whole)) : std::nullopt,
        text ? text_value(bytea_text(text->head)) : std::nullopt};
    std::vector<text_row> rows;
    if (auto e = query(
            "UPDATE " + files_ +
                " f SET completed_at = now(), decoded_bytes = $2, "
                "end_line = $3, records = c.records, loaded = c.loaded, "
                "dead_lettered = c.dead_lettered, blank_lines = c.blank_lines, "
                "damage = $5, text_sha256 = $6, head_sha256 = $7 "
                "FROM (SELECT count(*) AS chunks, "
                "coalesce(sum(next_offset - chunk_offset), 0) AS covered, "
                "coalesce(sum(records), 0) AS records, "
                "coalesce(sum(loaded), 0) AS loaded, "
                "coalesce(sum(dead_lettered), 0) AS dead_lettered, "
                "coalesce(sum(blank_lines), 0) AS blank_lines FROM " +
                chunks_ +
                " WHERE load_id = $1) c WHERE f.load_id = $1 AND "
                "f.completed_at IS NULL AND f.start_offset + c.covered = $2 "
                "AND f.start_index + c.records = $4 RETURNING c.chunks, "
                "c.records, c.loaded, c.dead_lettered, c.blank_lines",
            params, "completing the file in the manifest", rows))
        return e;
    // Another loader of the same content may have completed it first.
    if (rows.empty()) {
        const text_value id[] = {number_text(load_id)};
        if (auto e = query(
                "SELECT (SELECT count(*) FROM " + chunks_ +
                    " WHERE load_id = $1), records, loaded, dead_lettered, "
                    "blank_lines FROM " +
                    files_ + " WHERE load_id = $1 AND completed_at IS NOT NULL",
                id, "reading the manifest", rows))
            return e;
    }
    if (rows.empty())
        return data_error("the manifest's chunks of load " +
                          number_text(load_id) +
                          " do not cover its text: not marked complete");

    const text_row& r = rows.front();
    totals = {unsigned_of(r[0]), unsigned_of(r[1]), unsigned_of(r[2]),
              unsigned_of(r[3]), unsigned_of(r[4])};
    return std::nullopt;
}

std::string manifest::chunk_ledger(std::int64_t load_id, std::uint64_t offset,
                                   const chunk_counts& c) const
{
    return "INSERT INTO " + chunks_ +
           " (load_id, chunk_offset, next_offset, records, loaded, "
           "dead_lettered, blank_lines) VALUES (" +
           number_text(load_id) + ", " + number_text(offset) + ", " +
           number_text(c.next_offset) + ", " + number_text(c.records) + ", " +
           number_text(c.loaded) + ", " + number_text(c.dead_lettered) + ", " +
           number_text(c.blank_lines) + ");";
}

std::string manifest::chunk_refusals(std::int64_t load_id,
                                     std::uint64_t offset,
                                     std::uint64_t refused) const
{
    return "UPDATE " + chunks_ + " SET loaded = loaded - " +
           number_text(refused) + ", dead_lettered = dead_lettered + " +
           number_text(refused) + " WHERE load_id = " + number_text(load_id) +
           " AND chunk_offset = " + number_text(offset) + ";";
}

} // namespace ks::load
