#include "vector_batches.hpp"

#include <zstd.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace ks::test {

namespace {

/// Builds a JSON object member by member. In sorted mode it refuses keys
/// out of order, so objects that stand for Vector's output really are
/// sorted as Vector sorts them (bytewise).
class json_object {
public:
    explicit json_object(bool sorted) : sorted_(sorted) {}

    json_object& raw(std::string_view key, std::string_view json)
    {
        if (sorted_ && !last_.empty() && key <= last_)
            throw std::logic_error("keys out of order at " + std::string(key));
        last_ = std::string(key);
        if (!body_.empty()) body_ += ',';
        body_ += json_quote(key);
        body_ += ':';
        body_ += json;
        return *this;
    }

    json_object& str(std::string_view key, std::string_view text)
    {
        return raw(key, json_quote(text));
    }

    std::string text() const { return "{" + body_ + "}"; }

private:
    bool sorted_;
    std::string last_;
    std::string body_;
};

/// Microseconds since the Unix epoch of a UTC calendar time.
std::int64_t unix_us(int year, int month, int day, int hour, int minute,
                     int second)
{
    std::tm t{};
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = day;
    t.tm_hour = hour;
    t.tm_min = minute;
    t.tm_sec = second;
    return static_cast<std::int64_t>(timegm(&t)) * 1'000'000;
}

/// Formats an instant as `offset_minutes` local time with `digits`
/// fractional digits (0, 3, 6 or 9; 9 appends `nanos`), then `zone`.
std::string format_time(std::int64_t us, int digits, std::string_view zone,
                        int offset_minutes = 0, int nanos = 0)
{
    std::int64_t local = us + std::int64_t{offset_minutes} * 60'000'000;
    std::time_t secs = static_cast<std::time_t>(local / 1'000'000);
    int micros = static_cast<int>(local % 1'000'000);
    std::tm t{};
    gmtime_r(&secs, &t);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d",
                  t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
                  t.tm_min, t.tm_sec);
    std::string out = text;
    if (digits == 3) {
        std::snprintf(text, sizeof text, ".%03d", micros / 1000);
        out += text;
    } else if (digits == 6) {
        std::snprintf(text, sizeof text, ".%06d", micros);
        out += text;
    } else if (digits == 9) {
        std::snprintf(text, sizeof text, ".%06d%03d", micros, nanos);
        out += text;
    }
    return out + std::string(zone);
}

/// The canonical form row comparisons use.
std::string utc_text(std::int64_t us)
{
    return format_time(us, 6, "Z");
}

/// "0.50" to "0.99".
std::string confidence(std::size_t i)
{
    char text[8];
    std::snprintf(text, sizeof text, "0.%02zu", 50 + i % 50);
    return text;
}

std::string request_id(std::size_t i, std::uint32_t salt)
{
    char text[48];
    std::snprintf(text, sizeof text, "%08x-3d41-4e8a-b7c5-%012zx", salt, i);
    return text;
}

/// Wraps a KoreShield stdout line the way Vector's file source ships it,
/// and returns the event plus the metadata the sink must store: the line
/// itself, with Vector's other fields under `_envelope`.
sample_event vector_file_line(const json_object& line, std::size_t i,
                              std::int64_t read_us, expected_row row)
{
    std::string host = i % 2 == 0 ? "gw-eu-1" : "gw-us-2";
    std::string read_at =
        format_time(read_us, 9, "Z", 0, static_cast<int>(i % 1000));
    std::string line_text = line.text();

    sample_event e;
    e.json = json_object(true)
                 .str("file", "/var/log/koreshield/koreshield.log")
                 .str("host", host)
                 .str("message", line_text)
                 .str("source_type", "file")
                 .str("timestamp", read_at)
                 .text();
    std::string envelope =
        json_object(true)
            .str("file", "/var/log/koreshield/koreshield.log")
            .str("host", host)
            .str("source_type", "file")
            .str("timestamp", read_at)
            .text();
    row.metadata = line_text.substr(0, line_text.size() - 1) +
                   ",\"_envelope\":" + envelope + "}";
    e.row = std::move(row);
    return e;
}

sample_event request_blocked_line(std::size_t i, std::string rid,
                                  std::string stamp, std::int64_t us)
{
    json_object line(false);
    line.str("request_id", rid)
        .str("reason", "High severity policy violations detected: " +
                           std::to_string(1 + i % 3))
        .str("event", "request_blocked")
        .str("logger", "koreshield.logger")
        .str("level", "warning")
        .str("timestamp", stamp);

    expected_row row;
    row.event_time = utc_text(us);
    row.event_type = "request_blocked";
    row.severity = "warning"; // from `level`
    row.request_id = rid;
    row.blocked = true; // from the event type
    return vector_file_line(line, i, us + 196'894, std::move(row));
}

sample_event request_received_line(std::size_t i, std::string rid,
                                   std::string stamp, std::int64_t us)
{
    static const char* models[] = {"gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet",
                                   "gemini-1.5-pro"};
    std::string model = models[i % 4];
    json_object line(false);
    line.str("request_id", rid)
        .str("method", "POST")
        .str("path", "/v1/chat/completions")
        .str("model", model)
        .raw("message_count", std::to_string(1 + i % 9))
        .str("event", "request_received")
        .str("logger", "koreshield.logger")
        .str("level", "info")
        .str("timestamp", stamp);

    expected_row row;
    row.event_time = utc_text(us);
    row.event_type = "request_received";
    row.severity = "info";
    row.model = model;
    row.request_id = rid;
    return vector_file_line(line, i, us + 1'500, std::move(row));
}

sample_event attack_detected_line(std::size_t i, std::string rid,
                                  std::string stamp, std::int64_t us)
{
    static const char* risk[] = {"high", "High", "medium", "CRITICAL"};
    static const char* risk_lower[] = {"high", "high", "medium", "critical"};
    std::string conf = confidence(i);
    std::string indicators = R"([{"type":"role_hijack","severity":"high"},)"
                             R"({"type":"keyword_match","severity":"medium"}])";
    std::string detection = json_object(false)
                                .raw("is_attack", "true")
                                .str("attack_type", "prompt_injection")
                                .raw("confidence", conf)
                                .raw("indicators", indicators)
                                .raw("processing_time_ms", "2.4")
                                .text();
    std::string policy =
        json_object(false)
            .raw("allowed", "false")
            .str("action", "block")
            .str("reason", "High severity policy violations detected: 1")
            .str("risk_class", risk[i % 4])
            .text();
    json_object line(false);
    line.str("request_id", rid)
        .str("attack_type", "prompt_injection")
        .raw("detection", detection)
        .raw("policy", policy)
        .str("event", "attack_detected")
        .str("logger", "koreshield.logger")
        .str("level", "warning")
        .str("timestamp", stamp);

    expected_row row;
    row.event_time = utc_text(us);
    row.event_type = "attack_detected";
    row.severity = risk_lower[i % 4]; // policy.risk_class, lower-cased
    row.request_id = rid;
    row.blocked = false; // the block is its own request_blocked line
    row.taxonomy = R"({"type":"prompt_injection","confidence":)" + conf +
                   R"(,"indicators":)" + indicators + "}";
    return vector_file_line(line, i, us + 42'000, std::move(row));
}

sample_event audit_entry(std::size_t i, std::string rid, std::int64_t us)
{
    static const char* providers[] = {"openai", "anthropic", "gemini",
                                      "deepseek", "azure_openai"};
    static const char* models[] = {"gpt-4o-mini", "claude-3-haiku",
                                   "gemini-1.5-flash", "deepseek-chat",
                                   "gpt-4o"};
    bool blocked = i % 2 == 1;
    json_object e(true);
    e.raw("attack_detected", "false")
        .raw("attack_type", "null")
        .raw("cost", "0.0")
        .str("event", "request_log")
        .str("id", "c41e8f02-7a9d-4b36-8e15-" + rid.substr(24))
        .raw("ip", "null")
        .raw("is_blocked", blocked ? "true" : "false")
        .raw("latency_ms", "9.7")
        .str("method", "POST")
        .str("model", models[i % 5])
        .str("path", "/v1/chat/completions")
        .str("provider", providers[i % 5])
        .str("request_id", rid)
        .str("status", "success")
        .raw("status_code", "200")
        .str("timestamp", format_time(us, 6, "")) // naive UTC
        .raw("tokens_total", std::to_string(100 + i % 900))
        .raw("user_agent", "null")
        .str("user_id", "u-1187");

    sample_event s;
    s.json = e.text();
    s.row.event_time = utc_text(us);
    s.row.event_type = "request_log";
    s.row.severity = "info"; // no severity field, no attack shown
    s.row.provider = providers[i % 5];
    s.row.model = models[i % 5];
    s.row.request_id = rid;
    s.row.blocked = blocked; // is_blocked
    s.row.metadata = s.json;
    return s;
}

sample_event threat_envelope(std::size_t i, std::string rid, std::int64_t us)
{
    bool blocked = i % 3 != 0;
    std::string severity = i % 2 == 0 ? "critical" : "high";
    std::string conf = confidence(i + 17);
    std::string data = json_object(true)
                           .str("action_taken", blocked ? "blocked" : "allowed")
                           .str("attack_type", "direct_injection")
                           .raw("confidence", conf)
                           .str("endpoint", "/v1/chat/completions")
                           .str("request_id", rid)
                           .str("severity", severity)
                           .str("user_id", "u-2210")
                           .text();
    json_object e(true);
    e.raw("data", data)
        .str("timestamp", format_time(us, 6, "+02:00", 120))
        .str("type", "threat_detected");

    sample_event s;
    s.json = e.text();
    s.row.event_time = utc_text(us);
    s.row.event_type = "threat_detected";
    s.row.severity = severity; // data.severity
    s.row.request_id = rid;    // data.request_id
    s.row.blocked = blocked;   // data.action_taken
    s.row.taxonomy = R"({"type":"direct_injection","confidence":)" + conf + "}";
    s.row.metadata = s.json;
    return s;
}

sample_event rag_finding(std::size_t i, std::string rid, std::int64_t us)
{
    std::string severity = i % 2 == 0 ? "high" : "medium";
    std::string conf = confidence(i + 5);
    std::string date = std::to_string(us / 1'000'000 + 3) + ".412877";
    std::string reference = json_object(true)
                                .raw("confidence", conf)
                                .str("document_id", "kb-204")
                                .raw("evidence_refs", "[]")
                                .str("excerpt", "<document text>")
                                .raw("location", "{}")
                                .str("severity", severity)
                                .str("threat_type", "indirect_injection")
                                .text();
    json_object e(true);
    e.str("attack_type", "indirect_injection")
        .raw("date", date)
        .raw("documents_with_threats", "1")
        .str("endpoint", "/v1/rag/scan")
        .str("event", "attack_detected")
        .str("level", "warning")
        .str("logger", "koreshield.logger")
        .raw("overall_confidence", conf)
        .str("overall_severity", severity)
        .str("request_id", rid)
        .str("scan_id", "6d2f9a41-8c3e-4b7d-a5f0-" + rid.substr(24))
        .raw("threat_references", "[" + reference + "]")
        .str("timestamp", format_time(us, 6, "Z"))
        .raw("total_threats_found", "1");

    sample_event s;
    s.json = e.text();
    s.row.event_time = utc_text(us); // `timestamp`, not `date`
    s.row.event_type = "attack_detected";
    s.row.severity = severity; // overall_severity
    s.row.request_id = rid;
    s.row.taxonomy =
        R"({"type":"indirect_injection","confidence":)" + conf + "}";
    s.row.metadata = s.json;
    return s;
}

sample_event own_taxonomy(std::size_t i, std::string rid, std::int64_t us)
{
    std::int64_t ms_us = us - us % 1000; // three digits travel exactly
    std::string taxonomy =
        json_object(true)
            .raw("categories", R"(["pii","secrets"])")
            .str("type", i % 2 == 0 ? "custom_rule" : "blocklist_match")
            .text();
    json_object e(true);
    e.raw("blocked", i % 4 == 0 ? "false" : "true")
        .str("event", "custom_rule_hit")
        .str("model", "claude-3-haiku")
        .str("provider", "anthropic")
        .str("request_id", rid)
        .str("severity", i % 2 == 0 ? "LOW" : "Medium")
        .raw("taxonomy", taxonomy)
        .str("timestamp", format_time(ms_us, 3, "Z"));

    sample_event s;
    s.json = e.text();
    s.row.event_time = utc_text(ms_us);
    s.row.event_type = "custom_rule_hit";
    s.row.severity = i % 2 == 0 ? "low" : "medium";
    s.row.provider = "anthropic";
    s.row.model = "claude-3-haiku";
    s.row.request_id = rid;
    s.row.blocked = i % 4 != 0;
    s.row.taxonomy = taxonomy;
    s.row.metadata = s.json;
    return s;
}

std::string sql_literal(const std::optional<std::string>& value)
{
    if (!value) return "NULL";
    std::string out = "'";
    for (char c : *value) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

std::string sql_literal(const std::string& value)
{
    return sql_literal(std::optional<std::string>(value));
}

} // namespace

sample_event koreshield_event(std::size_t i, std::uint32_t salt)
{
    // Distinct instants with varied microseconds; every fifth round of
    // shapes has whole seconds, which structlog writes with no fraction.
    std::int64_t us = unix_us(2026, 2, 17, 9, 21, 44) +
                      static_cast<std::int64_t>(i) * 1'234'567 + 108'233;
    bool whole = (i / 7) % 5 == 0;
    if (whole) us -= us % 1'000'000;
    std::string stamp = format_time(us, whole ? 0 : 6, "Z");
    std::string rid = request_id(i, salt);

    switch (i % 7) {
    case 0:
        return request_blocked_line(i, rid, stamp, us);
    case 1:
        return request_received_line(i, rid, stamp, us);
    case 2:
        return attack_detected_line(i, rid, stamp, us);
    case 3:
        return audit_entry(i, rid, us);
    case 4:
        return threat_envelope(i, rid, us);
    case 5:
        return rag_finding(i, rid, us);
    default:
        return own_taxonomy(i, rid, us);
    }
}

std::vector<sample_event>
koreshield_events(std::size_t first, std::size_t count, std::uint32_t salt)
{
    std::vector<sample_event> out;
    out.reserve(count);
    for (std::size_t i = first; i < first + count; ++i)
        out.push_back(koreshield_event(i, salt));
    return out;
}

std::string vector_json_array(const std::vector<sample_event>& events)
{
    std::string body = "[";
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i != 0) body += ',';
        body += events[i].json;
    }
    return body + "]";
}

std::string vector_ndjson(const std::vector<sample_event>& events)
{
    std::string body;
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (i != 0) body += '\n';
        body += events[i].json;
    }
    return body;
}

bool zstd_has_content_size(std::string_view frame)
{
    unsigned long long size =
        ZSTD_getFrameContentSize(frame.data(), frame.size());
    return size != ZSTD_CONTENTSIZE_UNKNOWN && size != ZSTD_CONTENTSIZE_ERROR;
}

std::string json_quote(std::string_view text)
{
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (c == '"') {
            out += "\\\"";
        } else if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (u < 0x20) {
            out += "\\u00";
            out += hex[u >> 4];
            out += hex[u & 0xf];
        } else {
            out += c;
        }
    }
    return out + "\"";
}

long long json_number(std::string_view body, std::string_view key)
{
    // Built by appending: gcc 12 at -O3 warns falsely (-Wrestrict) about
    // "literal" + std::string.
    std::string marker;
    marker.append("\"").append(key).append("\":");
    auto at = body.find(marker);
    if (at == std::string_view::npos) return -1;
    std::size_t i = at + marker.size();
    if (i >= body.size() || body[i] < '0' || body[i] > '9') return -1;
    long long value = 0;
    while (i < body.size() && body[i] >= '0' && body[i] <= '9')
        value = value * 10 + (body[i++] - '0');
    return value;
}

std::string json_string(std::string_view body, std::string_view key)
{
    std::string marker = "\"" + std::string(key) + "\":\"";
    auto at = body.find(marker);
    if (at == std::string_view::npos) return "";

    // Simple escapes are undone; \uXXXX is kept as written.
    std::string out;
    for (std::size_t i = at + marker.size(); i < body.size(); ++i) {
        char c = body[i];
        if (c == '"') return out;
        if (c == '\\' && i + 1 < body.size()) {
            char next = body[++i];
            if (next == 'n')
                out += '\n';
            else if (next == 't')
                out += '\t';
            else if (next == 'r')
                out += '\r';
            else if (next == 'u')
                out += "\\u";
            else
                out += next;
            continue;
        }
        out += c;
    }
    return "";
}

std::vector<expected_row> rows_of(const std::vector<sample_event>& events)
{
    std::vector<expected_row> rows;
    rows.reserve(events.size());
    for (const auto& e : events)
        rows.push_back(e.row);
    return rows;
}

std::vector<std::string>
row_differences(test_db& db, const std::vector<expected_row>& expected)
{
    // The expected rows go into a temporary table, so PostgreSQL itself
    // compares: jsonb equality ignores key order and spacing.
    db.exec("DROP TABLE IF EXISTS pg_temp.expected_events");
    db.exec("CREATE TEMP TABLE expected_events (event_time text, "
            "event_type text, severity text, provider text, model text, "
            "request_id text PRIMARY KEY, blocked boolean, taxonomy jsonb, "
            "metadata jsonb)");
    for (std::size_t first = 0; first < expected.size(); first += 500) {
        std::string sql = "INSERT INTO expected_events VALUES ";
        std::size_t last = std::min(expected.size(), first + 500);
        for (std::size_t i = first; i < last; ++i) {
            const expected_row& r = expected[i];
            if (i != first) sql += ',';
            sql.append("(")
                .append(sql_literal(r.event_time)).append(",")
                .append(sql_literal(r.event_type)).append(",")
                .append(sql_literal(r.severity)).append(",")
                .append(sql_literal(r.provider)).append(",")
                .append(sql_literal(r.model)).append(",")
                .append(sql_literal(r.request_id)).append(",")
                .append(r.blocked ? "true" : "false").append(",")
                .append(sql_literal(r.taxonomy)).append(",")
                .append(sql_literal(r.metadata)).append(")");
        }
        db.exec(sql);
    }

    auto rows = db.query(R"(
        WITH stored AS (
            SELECT to_char(event_time AT TIME ZONE 'UTC',
                           'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS event_time,
                   event_type, severity, provider, model, request_id,
                   blocked, taxonomy, metadata
              FROM koreshield_events)
        SELECT coalesce(x.request_id, s.request_id, '(null)'),
               CASE WHEN x.request_id IS NULL THEN 'unexpected row'
                    WHEN s.request_id IS NULL THEN 'missing row'
                    ELSE 'different' END,
               concat_ws(' | ', x.event_time, x.event_type, x.severity,
                         coalesce(x.provider, 'NULL'),
                         coalesce(x.model, 'NULL'), x.blocked::text,
                         coalesce(x.taxonomy::text, 'NULL'),
                         x.metadata::text),
               concat_ws(' | ', s.event_time, s.event_type, s.severity,
                         coalesce(s.provider, 'NULL'),
                         coalesce(s.model, 'NULL'), s.blocked::text,
                         coalesce(s.taxonomy::text, 'NULL'),
                         s.metadata::text)
          FROM expected_events x
          FULL JOIN stored s ON s.request_id = x.request_id
         WHERE x.request_id IS NULL OR s.request_id IS NULL
            OR s.event_time IS DISTINCT FROM x.event_time
            OR s.event_type IS DISTINCT FROM x.event_type
            OR s.severity IS DISTINCT FROM x.severity
            OR s.provider IS DISTINCT FROM x.provider
            OR s.model IS DISTINCT FROM x.model
            OR s.blocked IS DISTINCT FROM x.blocked
            OR s.taxonomy IS DISTINCT FROM x.taxonomy
            OR s.metadata IS DISTINCT FROM x.metadata
         ORDER BY 1
         LIMIT 10)");

    std::vector<std::string> out;
    for (auto& r : rows)
        out.push_back(r[0].value_or("") + ": " + r[1].value_or("") +
                      "\n  expected: " + r[2].value_or("") +
                      "\n  stored:   " + r[3].value_or(""));

    // Rows without a request id cannot be matched above; count them.
    std::string stray = db.scalar(
        "SELECT count(*) FROM koreshield_events WHERE request_id IS NULL");
    if (stray != "0") out.push_back(stray + " stored rows have no request_id");
    return out;
}

} // namespace ks::test
