// The shippers' bodies, the KoreShield lines inside them and the shared
// row checks declared in shipper_bodies.hpp.

#include "shipper_bodies.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

namespace ks::conf {

// ---------------------------------------------------------------------
// JSON values.

json_value json_value::lit(std::string text)
{
    json_value v;
    v.kind_ = kind::literal;
    v.text_ = std::move(text);
    return v;
}

json_value json_value::str(std::string utf8)
{
    json_value v;
    v.kind_ = kind::string;
    v.text_ = std::move(utf8);
    return v;
}

json_value json_value::object()
{
    json_value v;
    v.kind_ = kind::object;
    return v;
}

json_value json_value::array()
{
    json_value v;
    v.kind_ = kind::array;
    return v;
}

json_value& json_value::set(std::string key, json_value value)
{
    if (kind_ != kind::object) throw std::logic_error("set on a non-object");
    members_.emplace_back(std::move(key), std::move(value));
    return *this;
}

json_value& json_value::push(json_value value)
{
    if (kind_ != kind::array) throw std::logic_error("push on a non-array");
    items_.push_back(std::move(value));
    return *this;
}

json_value json_value::without(std::string_view key) const
{
    json_value out = *this;
    auto& m = out.members_;
    m.erase(std::remove_if(m.begin(), m.end(),
                           [&](const auto& p) { return p.first == key; }),
            m.end());
    return out;
}

const json_value* json_value::find(std::string_view key) const
{
    for (const auto& [k, v] : members_)
        if (k == key) return &v;
    return nullptr;
}

namespace {

/// The code point of the UTF-8 sequence at text[i]; advances i.
std::uint32_t next_code_point(std::string_view text, std::size_t& i)
{
    auto byte = [&](std::size_t at) {
        if (at >= text.size()) throw std::logic_error("cut UTF-8 in fixture");
        return static_cast<unsigned char>(text[at]);
    };
    unsigned char b = byte(i);
    int extra = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc0 ? 1 : 0;
    std::uint32_t cp = extra == 0   ? b
                       : extra == 1 ? b & 0x1f
                       : extra == 2 ? b & 0x0f
                                    : b & 0x07;
    for (int k = 1; k <= extra; ++k)
        cp = (cp << 6) | (byte(i + k) & 0x3f);
    i += static_cast<std::size_t>(extra) + 1;
    return cp;
}

void append_u_escape(std::string& out, std::uint32_t unit)
{
    char text[8];
    std::snprintf(text, sizeof text, "\\u%04x", unit);
    out += text;
}

void append_string(std::string& out, std::string_view text,
                   const json_style& style)
{
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        char c = text[i];
        auto u = static_cast<unsigned char>(c);
        if (u >= 0x80) {
            std::size_t start = i;
            std::uint32_t cp = next_code_point(text, i);
            if (!style.ascii) {
                out.append(text.substr(start, i - start));
            } else if (cp > 0xffff) {
                cp -= 0x10000;
                append_u_escape(out, 0xd800 + (cp >> 10));
                append_u_escape(out, 0xdc00 + (cp & 0x3ff));
            } else {
                append_u_escape(out, cp);
            }
            continue;
        }
        ++i;
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (u < 0x20)
                append_u_escape(out, u);
            else
                out += c;
        }
    }
    out += '"';
}

void append_value(std::string& out, const json_value& v,
                  const json_style& style, int depth = 0)
{
    const char* comma = style.spaces ? ", " : ",";
    const char* colon = style.spaces || style.pretty ? ": " : ":";
    // Before a member or element, and before the closing bracket.
    auto next_line = [&](int level) {
        if (!style.pretty) return;
        out += '\n';
        out.append(static_cast<std::size_t>(2 * level), ' ');
    };
    switch (v.type()) {
    case json_value::kind::literal:
        out += v.text();
        return;
    case json_value::kind::string:
        append_string(out, v.text(), style);
        return;
    case json_value::kind::array: {
        out += '[';
        bool first = true;
        for (const auto& item : v.items()) {
            if (!first) out += style.pretty ? "," : comma;
            first = false;
            next_line(depth + 1);
            append_value(out, item, style, depth + 1);
        }
        if (!v.items().empty()) next_line(depth);
        out += ']';
        return;
    }
    case json_value::kind::object: {
        std::vector<const std::pair<std::string, json_value>*> members;
        for (const auto& m : v.members())
            members.push_back(&m);
        if (style.sorted)
            std::sort(members.begin(), members.end(),
                      [](auto* a, auto* b) { return a->first < b->first; });
        out += '{';
        bool first = true;
        for (const auto* m : members) {
            if (!first) out += style.pretty ? "," : comma;
            first = false;
            next_line(depth + 1);
            append_string(out, m->first, style);
            out += colon;
            append_value(out, m->second, style, depth + 1);
        }
        if (!members.empty()) next_line(depth);
        out += '}';
        return;
    }
    }
}

} // namespace

std::string dump(const json_value& value, const json_style& style)
{
    std::string out;
    append_value(out, value, style);
    return out;
}

std::string python_json(const json_value& value)
{
    json_style python;
    python.spaces = true;
    python.ascii = true;
    return dump(value, python);
}

// ---------------------------------------------------------------------
// Time.

std::int64_t unix_us(int year, int month, int day, int hour, int minute,
                     int second, int micros)
{
    std::tm t{};
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = day;
    t.tm_hour = hour;
    t.tm_min = minute;
    t.tm_sec = second;
    return static_cast<std::int64_t>(timegm(&t)) * 1'000'000 + micros;
}

std::string offset_text(int offset_minutes)
{
    int m = offset_minutes < 0 ? -offset_minutes : offset_minutes;
    char text[16];
    std::snprintf(text, sizeof text, "%c%02d:%02d",
                  offset_minutes < 0 ? '-' : '+', m / 60, m % 60);
    return text;
}

std::string iso_time(std::int64_t unix_ns, int digits, std::string_view zone,
                     int offset_minutes, char sep)
{
    // Test instants are after 1970, so plain division floors.
    std::int64_t local =
        unix_ns + std::int64_t{offset_minutes} * 60 * 1'000'000'000;
    auto secs = static_cast<std::time_t>(local / 1'000'000'000);
    auto nanos = static_cast<long>(local % 1'000'000'000);
    std::tm t{};
    gmtime_r(&secs, &t);
    char text[64];
    std::snprintf(text, sizeof text, "%04d-%02d-%02d%c%02d:%02d:%02d",
                  t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, sep, t.tm_hour,
                  t.tm_min, t.tm_sec);
    std::string out = text;
    if (digits > 0) {
        std::snprintf(text, sizeof text, "%09ld", nanos);
        out += '.';
        out.append(text, static_cast<std::size_t>(digits));
    }
    out += zone;
    return out;
}

std::int64_t us_half_even(std::int64_t unix_ns)
{
    std::int64_t q = unix_ns / 1000, r = unix_ns % 1000;
    if (r > 500 || (r == 500 && q % 2 != 0)) ++q;
    return q;
}

std::string utc_text(std::int64_t unix_us)
{
    return iso_time(unix_us * 1000, 6, "Z");
}

// ---------------------------------------------------------------------
// KoreShield lines.

namespace {

std::string request_id(std::size_t i, std::uint32_t salt)
{
    char text[48];
    std::snprintf(text, sizeof text, "%08x-4c0a-4e8a-9e6d-%012zx", salt, i);
    return text;
}

/// "0.50" to "0.99".
std::string confidence(std::size_t i)
{
    char text[8];
    std::snprintf(text, sizeof text, "0.%02zu", 50 + i % 50);
    return text;
}

/// structlog's TimeStamper(fmt="iso", utc=True): `Z`, 6 digits, none
/// when the microseconds are 0.
std::string structlog_time(std::int64_t us)
{
    return iso_time(us * 1000, us % 1'000'000 == 0 ? 0 : 6, "Z");
}

/// Python's datetime.isoformat(): 6 digits, none when they are 0.
std::string python_isoformat(std::int64_t us, std::string_view zone)
{
    return iso_time(us * 1000, us % 1'000'000 == 0 ? 0 : 6, zone);
}

json_value tail_keys(json_value e, std::string_view level,
                     const std::string& stamp)
{
    e.set("logger", jstr("koreshield.logger"))
        .set("level", jstr(std::string(level)))
        .set("timestamp", jstr(stamp));
    return e;
}

} // namespace

ks_line koreshield_line(std::size_t i, std::uint32_t salt)
{
    // Distinct instants with varied microseconds; every fifth round of
    // shapes falls on whole seconds, written with no fraction.
    std::int64_t us = unix_us(2026, 3, 27, 9, 25, 40) +
                      static_cast<std::int64_t>(i) * 1'234'567 + 412'877;
    if ((i / 7) % 5 == 0) us -= us % 1'000'000;
    std::string rid = request_id(i, salt);
    std::string stamp = structlog_time(us);

    ks_line out;
    out.us = us;
    want_row& row = out.row;
    row.request_id = rid;
    row.event_time = utc_text(us);

    switch (i % 7) {
    case 0: // FirewallLogger.log_blocked_request
        out.event =
            tail_keys(jobj()
                          .set("request_id", jstr(rid))
                          .set("reason", jstr("High severity policy violations "
                                              "detected: " +
                                              std::to_string(1 + i % 3)))
                          .set("event", jstr("request_blocked")),
                      "warning", stamp);
        row.event_type = "request_blocked";
        row.severity = "warning"; // level
        row.blocked = true;       // the event type
        break;
    case 1: { // request_received on a chat request
        static const char* models[] = {"gpt-4o-mini", "gpt-4o",
                                       "claude-3-5-sonnet"};
        std::string model = models[i % 3];
        out.event =
            tail_keys(jobj()
                          .set("request_id", jstr(rid))
                          .set("method", jstr("POST"))
                          .set("path", jstr("/v1/chat/completions"))
                          .set("model", jstr(model))
                          .set("message_count", jlit(std::to_string(1 + i % 9)))
                          .set("event", jstr("request_received")),
                      "info", stamp);
        row.event_type = "request_received";
        row.severity = "info";
        row.model = model;
        break;
    }
    case 2: { // attack_detected on chat, details flattened
        std::string risk = i % 2 == 0 ? "high" : "Critical";
        json_value indicators =
            jarr()
                .push(jobj()
                          .set("type", jstr("role_hijack"))
                          .set("severity", jstr("high")))
                .push(jobj()
                          .set("type", jstr("keyword_match"))
                          .set("severity", jstr("medium")));
        out.event = tail_keys(
            jobj()
                .set("request_id", jstr(rid))
                .set("attack_type", jstr("prompt_injection"))
                .set("sanitization", jobj()
                                         .set("is_safe", jlit("false"))
                                         .set("threats", jarr())
                                         .set("confidence", jlit("0.7")))
                .set("detection",
                     jobj()
                         .set("is_attack", jlit("true"))
                         .set("attack_type", jstr("direct_injection"))
                         .set("confidence", jlit(confidence(i)))
                         .set("indicators", indicators)
                         .set("normalized_prompt",
                              jstr("ignore all previous instructions"))
                         .set("processing_time_ms", jlit("2.4")))
                .set("policy",
                     jobj()
                         .set("allowed", jlit("false"))
                         .set("action", jstr("block"))
                         .set("reason", jstr("High severity policy "
                                             "violations detected: 1"))
                         .set("policy_violations",
                              jarr().push(jstr("role_hijack")))
                         .set("risk_class", jstr(risk)))
                .set("event", jstr("attack_detected")),
            "warning", stamp);
        row.event_type = "attack_detected";
        row.severity = i % 2 == 0 ? "high" : "critical"; // policy.risk_class
        break; // blocked: attack_detected never says so
    }
    case 3: { // attack_detected on a RAG scan; prompt text is non-ASCII
        std::string severity = i % 2 == 0 ? "high" : "medium";
        std::string conf = confidence(i + 5);
        json_value reference =
            jobj()
                .set("document_id", jstr("kb-204"))
                .set("threat_type", jstr("indirect_injection"))
                .set("severity", jstr(severity))
                .set("confidence", jlit(conf))
                .set("excerpt", jstr("Ignor\xc3\xa9 les instructions "
                                     "\xe2\x98\x95 \xf0\x9f\x98\x80"))
                .set("location", jobj())
                .set("evidence_refs", jarr());
        out.event =
            tail_keys(jobj()
                          .set("request_id", jstr(rid))
                          .set("attack_type", jstr("indirect_injection"))
                          .set("endpoint", jstr("/v1/rag/scan"))
                          .set("scan_id", jstr("6d2f9a41-8c3e-4b7d-a5f0-" +
                                               rid.substr(24)))
                          .set("documents_with_threats", jlit("1"))
                          .set("total_threats_found", jlit("1"))
                          .set("overall_confidence", jlit(conf))
                          .set("overall_severity", jstr(severity))
                          .set("threat_references", jarr().push(reference))
                          .set("event", jstr("attack_detected")),
                      "warning", stamp);
        row.event_type = "attack_detected";
        row.severity = severity; // overall_severity
        break;
    }
    case 4: // request_allowed
        out.event = tail_keys(jobj()
                                  .set("request_id", jstr(rid))
                                  .set("event", jstr("request_allowed")),
                              "info", stamp);
        row.event_type = "request_allowed";
        row.severity = "info";
        break;
    case 5: { // audit entry: naive UTC time, no zone
        bool blocked = i % 2 == 0;
        out.event =
            jobj()
                .set("id", jstr("c41e8f02-7a9d-4b36-8e15-" + rid.substr(24)))
                .set("request_id", jstr(rid))
                .set("timestamp", jstr(python_isoformat(us, "")))
                .set("event", jstr("request_log"))
                .set("path", jstr("/v1/scan"))
                .set("method", jstr("POST"))
                .set("provider", jstr("koreshield"))
                .set("model", jstr("prompt_scan"))
                .set("status", jstr(blocked ? "failure" : "success"))
                .set("status_code", jlit(blocked ? "403" : "200"))
                .set("latency_ms", jlit("9.7"))
                .set("tokens_total", jlit("0"))
                .set("cost", jlit("0.0"))
                .set("is_blocked", jlit(blocked ? "true" : "false"))
                .set("attack_detected", jlit("true"))
                .set("attack_type", jstr("direct_injection"))
                .set("attack_details",
                     jobj()
                         .set("confidence", jlit("0.88"))
                         .set("indicators",
                              jarr().push(
                                  jobj()
                                      .set("type", jstr("system_prompt_spoof"))
                                      .set("severity", jstr("high"))))
                         .set("policy", jobj()
                                            .set("allowed", jlit("false"))
                                            .set("action", jstr("block")))
                         .set("reason", jstr("Potential prompt injection "
                                             "detected")))
                .set("user_id", jstr("u-1187"))
                .set("ip", jlit("null"))
                .set("user_agent", jlit("null"))
                .set("integrity_hash", jstr(std::string(64, 'a')));
        row.event_type = "request_log";
        row.severity = "high"; // derived: a high indicator
        row.provider = "koreshield";
        row.model = "prompt_scan";
        row.blocked = blocked; // is_blocked
        break;
    }
    default: { // Redis/WebSocket envelope, +00:00
        bool blocked = i % 3 != 0;
        std::string severity = i % 2 == 0 ? "critical" : "high";
        out.event =
            jobj()
                .set("type", jstr("threat_detected"))
                .set("timestamp", jstr(python_isoformat(us, "+00:00")))
                .set("data", jobj()
                                 .set("request_id", jstr(rid))
                                 .set("endpoint", jstr("/v1/chat/completions"))
                                 .set("attack_type", jstr("direct_injection"))
                                 .set("confidence", jlit(confidence(i + 17)))
                                 .set("severity", jstr(severity))
                                 .set("action_taken",
                                      jstr(blocked ? "blocked" : "allowed"))
                                 .set("user_id", jstr("u-2210")));
        row.event_type = "threat_detected";
        row.severity = severity; // data.severity
        row.blocked = blocked;   // data.action_taken
        break;
    }
    }
    out.text = python_json(out.event);
    row.event = out.text;
    return out;
}

std::vector<ks_line> koreshield_lines(std::size_t first, std::size_t count,
                                      std::uint32_t salt)
{
    std::vector<ks_line> out;
    out.reserve(count);
    for (std::size_t i = first; i < first + count; ++i)
        out.push_back(koreshield_line(i, salt));
    return out;
}

want_row wrapped_row(const ks_line& line, std::string outer, std::string key)
{
    want_row row = line.row;
    row.outer = std::move(outer);
    row.message_key = std::move(key);
    return row;
}

want_row parsed_row(const ks_line& line, std::string record,
                    std::int64_t event_time_us)
{
    want_row row = line.row;
    row.event = std::move(record);
    row.event_time = utc_text(event_time_us);
    return row;
}

std::string console_line(std::size_t i, std::uint32_t salt)
{
    // structlog's ConsoleRenderer without colours: time, padded level,
    // event, logger, then key=value pairs.
    std::int64_t us = unix_us(2026, 3, 30, 14, 2, 11, 482'913) +
                      static_cast<std::int64_t>(i) * 1'000'003;
    return structlog_time(us) + " [warning  ] request_blocked                " +
           "[koreshield.logger] reason='Potential prompt injection " +
           "detected' request_id=" + request_id(i, salt);
}

std::string access_line(std::size_t i)
{
    return "INFO:     10.0.3." + std::to_string(1 + i % 250) + ":51" +
           std::to_string(100 + i % 900) +
           " - \"POST /v1/chat/completions HTTP/1.1\" 200 OK";
}

// ---------------------------------------------------------------------
// Vector.

std::string vector_encode(const json_value& record, bool pretty)
{
    json_style serde;
    serde.sorted = true;
    serde.pretty = pretty;
    return dump(record, serde);
}

std::string vector_rfc3339(std::int64_t unix_ns)
{
    // chrono's SecondsFormat::AutoSi.
    int digits = unix_ns % 1'000'000'000 == 0 ? 0
                 : unix_ns % 1'000'000 == 0   ? 3
                 : unix_ns % 1'000 == 0       ? 6
                                              : 9;
    return iso_time(unix_ns, digits, "Z");
}

namespace {

/// serde_json's f64 output: the shortest text that reads back as the
/// same double, with ".0" on whole numbers.
std::string shortest_double(double value)
{
    char text[64];
    for (int precision = 1; precision <= 17; ++precision) {
        std::snprintf(text, sizeof text, "%.*g", precision, value);
        if (std::strtod(text, nullptr) == value) break;
    }
    std::string out = text;
    if (out.find_first_of(".e") == std::string::npos) out += ".0";
    return out;
}

} // namespace

json_value vector_timestamp(std::int64_t unix_ns, vector_time format)
{
    switch (format) {
    case vector_time::rfc3339:
        return jstr(vector_rfc3339(unix_ns));
    case vector_time::unix:
        return jlit(std::to_string(unix_ns / 1'000'000'000));
    case vector_time::unix_ms:
        return jlit(std::to_string(unix_ns / 1'000'000));
    case vector_time::unix_us:
        return jlit(std::to_string(unix_ns / 1'000));
    case vector_time::unix_ns:
        return jlit(std::to_string(unix_ns));
    case vector_time::unix_float:
        // Whole seconds plus the fraction, as chrono's parts give them.
        return jlit(shortest_double(
            static_cast<double>(unix_ns / 1'000'000'000) +
            static_cast<double>(unix_ns % 1'000'000'000) / 1e9));
    }
    throw std::logic_error("unknown vector_time");
}

std::int64_t vector_time_us(std::int64_t unix_ns, vector_time format)
{
    switch (format) {
    case vector_time::unix:
        return unix_ns / 1'000'000'000 * 1'000'000;
    case vector_time::unix_ms:
        return unix_ns / 1'000'000 * 1'000;
    case vector_time::unix_us:
        return unix_ns / 1'000;
    default: // rfc3339, unix_ns; unix_float is only given µs instants
        return us_half_even(unix_ns);
    }
}

json_value vector_file_record(const ks_line& line, std::int64_t read_ns,
                              std::string host)
{
    return jobj()
        .set("file", jstr("/var/log/koreshield/koreshield.log"))
        .set("host", jstr(std::move(host)))
        .set("message", jstr(line.text))
        .set("source_type", jstr("file"))
        .set("timestamp", jstr(vector_rfc3339(read_ns)));
}

json_value vector_parsed_record(const ks_line& line, json_value timestamp)
{
    json_value record = line.event.without("timestamp");
    record.set("file", jstr("/var/log/koreshield/koreshield.log"))
        .set("host", jstr("gw-eu-1"))
        .set("source_type", jstr("file"))
        .set("timestamp", std::move(timestamp));
    return record;
}

namespace {

std::string joined(const std::vector<std::string>& parts,
                   std::string_view between)
{
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i != 0) out += between;
        out += parts[i];
    }
    return out;
}

} // namespace

std::string vector_json_body(const std::vector<std::string>& events)
{
    return "[" + joined(events, ",") + "]";
}

std::string vector_ndjson_body(const std::vector<std::string>& events)
{
    return joined(events, "\n");
}

std::string vector_text_body(const std::vector<std::string>& messages)
{
    std::string out;
    for (const auto& m : messages)
        out.append(m).append("\n");
    return out;
}

// ---------------------------------------------------------------------
// Logstash.

std::string logstash_timestamp(std::int64_t unix_ns, int digits)
{
    return iso_time(unix_ns, digits, "Z");
}

json_value logstash_line_record(const ks_line& line, std::string timestamp,
                                bool ecs, std::string host)
{
    const std::string path = "/var/log/koreshield/koreshield.log";
    json_value r = jobj();
    r.set("@timestamp", jstr(std::move(timestamp))).set("@version", jstr("1"));
    if (ecs) {
        r.set("event", jobj().set("original", jstr(line.text)))
            .set("host", jobj().set("name", jstr(std::move(host))))
            .set("log", jobj().set("file", jobj().set("path", jstr(path))));
    } else {
        r.set("host", jstr(std::move(host))).set("path", jstr(path));
    }
    r.set("message", jstr(line.text));
    return r;
}

json_value logstash_parsed_record(const ks_line& line, std::string timestamp,
                                  std::string host)
{
    json_value r = line.event.without("timestamp");
    r.set("@timestamp", jstr(std::move(timestamp)))
        .set("@version", jstr("1"))
        .set("host", jstr(std::move(host)))
        .set("path", jstr("/var/log/koreshield/koreshield.log"));
    return r;
}

std::string logstash_encode(const json_value& record)
{
    return dump(record, json_style{});
}

std::string logstash_json(const json_value& record)
{
    return logstash_encode(record);
}

std::string logstash_json_batch(const std::vector<json_value>& records)
{
    std::vector<std::string> parts;
    for (const auto& r : records)
        parts.push_back(logstash_encode(r));
    return "[" + joined(parts, ",") + "]";
}

header_list logstash_headers(bool http_compression)
{
    // Manticore keeps connections alive; the plugin sets Content-Type
    // from `format` and Content-Encoding only with http_compression.
    header_list h{{"Content-Type", "application/json"},
                  {"Connection", "Keep-Alive"}};
    if (http_compression) h.emplace_back("Content-Encoding", "gzip");
    return h;
}

// ---------------------------------------------------------------------
// Fluent Bit.

json_value fluentbit_date(std::int64_t us, fb_date format)
{
    switch (format) {
    case fb_date::double_epoch: {
        // Seconds as a double, printed with 16 significant digits (6
        // decimals for today's dates) and ".0" when whole.
        double seconds = static_cast<double>(us / 1'000'000) +
                         static_cast<double>(us % 1'000'000) / 1e6;
        char text[64];
        std::snprintf(text, sizeof text, "%.16g", seconds);
        std::string out = text;
        if (out.find_first_of(".e") == std::string::npos) out += ".0";
        return jlit(out);
    }
    case fb_date::iso8601:
        return jstr(iso_time(us * 1000, 6, "Z"));
    case fb_date::java_sql_timestamp:
        return jstr(iso_time(us * 1000, 6, "", 0, ' '));
    case fb_date::epoch:
        return jlit(std::to_string(us / 1'000'000));
    case fb_date::epoch_ms:
        return jlit(std::to_string(us / 1'000));
    }
    throw std::logic_error("unknown fb_date");
}

std::int64_t fluentbit_date_us(std::int64_t us, fb_date format)
{
    switch (format) {
    case fb_date::epoch:
        return us / 1'000'000 * 1'000'000;
    case fb_date::epoch_ms:
        return us / 1'000 * 1'000;
    default:
        return us;
    }
}

json_value fluentbit_tail_record(const ks_line& line, json_value date)
{
    return jobj().set("date", std::move(date)).set("log", jstr(line.text));
}

json_value fluentbit_parsed_record(const ks_line& line, json_value date)
{
    json_value r = jobj().set("date", std::move(date));
    for (const auto& [key, value] : line.event.members())
        if (key != "timestamp") r.set(key, value);
    return r;
}

std::string fluentbit_encode(const json_value& record)
{
    json_style fb;
    fb.ascii = true;
    return dump(record, fb);
}

std::string fluentbit_json(const std::vector<std::string>& records)
{
    return "[" + joined(records, ",") + "]";
}

std::string fluentbit_json_lines(const std::vector<std::string>& records)
{
    std::string out;
    for (const auto& r : records)
        out.append(r).append("\n");
    return out;
}

std::string fluentbit_json_stream(const std::vector<std::string>& records)
{
    return joined(records, "");
}

header_list fluentbit_headers(std::string content_type, std::string encoding)
{
    header_list h{{"Content-Type", std::move(content_type)},
                  {"User-Agent", "Fluent-Bit"}};
    if (!encoding.empty()) h.emplace_back("Content-Encoding", encoding);
    return h;
}

// ---------------------------------------------------------------------
// syslog-ng.

std::string syslog_ng_isodate(std::int64_t us, int offset_minutes)
{
    return iso_time(us * 1000, 0, offset_text(offset_minutes), offset_minutes);
}

std::string syslog_ng_format_json(std::string_view host,
                                  std::string_view message,
                                  std::string_view program,
                                  std::string_view isodate)
{
    json_value r = jobj()
                       .set("host", jstr(std::string(host)))
                       .set("message", jstr(std::string(message)))
                       .set("program", jstr(std::string(program)))
                       .set("timestamp", jstr(std::string(isodate)));
    json_style sng;
    sng.sorted = true;
    return dump(r, sng);
}

std::string syslog_ng_batch(std::string_view prefix, std::string_view delimiter,
                            std::string_view suffix,
                            const std::vector<std::string>& messages)
{
    std::string out(prefix);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (i != 0) out += delimiter;
        out += messages[i];
    }
    out += suffix;
    return out;
}

header_list syslog_ng_headers(std::optional<std::string> content_type,
                              const std::optional<syslog_origin>& origin)
{
    header_list h{{"User-Agent", "syslog-ng 3.38.1/libcurl 7.88.1"},
                  {"Accept", "*/*"}};
    if (origin) {
        h.emplace_back("X-Syslog-Host", origin->host);
        h.emplace_back("X-Syslog-Program", origin->program);
        h.emplace_back("X-Syslog-Facility", origin->facility);
        h.emplace_back("X-Syslog-Level", origin->level);
    }
    h.emplace_back("Content-Type",
                   content_type.value_or("application/x-www-form-urlencoded"));
    return h;
}

// ---------------------------------------------------------------------
// rsyslog.

std::string rsyslog_rfc3339(std::int64_t us, int offset_minutes)
{
    return iso_time(us * 1000, 6, offset_text(offset_minutes), offset_minutes);
}

std::string rsyslog_std_json(std::string_view msg, std::string_view host,
                             std::string_view facility,
                             std::string_view priority,
                             std::string_view timereported,
                             std::string_view timegenerated)
{
    // StdJSONFmt is a string template, so the order is fixed; only
    // `msg` and `HOSTNAME` go through the `json` option, which escapes
    // quotes, backslashes and control characters ("/" stays as it is).
    json_style escaped;
    std::string out = "{\"message\":" + dump(jstr(std::string(msg)), escaped);
    out += ",\"fromhost\":" + dump(jstr(std::string(host)), escaped);
    out += ",\"facility\":\"" + std::string(facility) + "\"";
    out += ",\"priority\":\"" + std::string(priority) + "\"";
    out += ",\"timereported\":\"" + std::string(timereported) + "\"";
    out += ",\"timegenerated\":\"" + std::string(timegenerated) + "\"}";
    return out;
}

std::string rsyslog_newline(const std::vector<std::string>& messages)
{
    return joined(messages, "\n");
}

std::string rsyslog_jsonarray(const std::vector<std::string>& messages)
{
    return "[" + joined(messages, ",") + "]";
}

header_list rsyslog_headers(rsyslog_format format, bool compress)
{
    const char* type = format == rsyslog_format::newline ? "text/plain"
                       : format == rsyslog_format::jsonarray
                           ? "application/json"
                           : "application/json; charset=utf-8";
    // libcurl's Accept; omhttp's empty `Expect:` removes that header.
    header_list h{{"Accept", "*/*"}, {"Content-Type", type}};
    if (compress) h.emplace_back("Content-Encoding", "gzip");
    return h;
}

// ---------------------------------------------------------------------
// Checks.

std::string sql_text(std::string_view text)
{
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += '\'';
        out += c;
    }
    return out + "'";
}

std::string log_tail(const sink_fixture& f, std::size_t bytes)
{
    std::string log = f.sink.stderr_text();
    if (log.size() > bytes) log = log.substr(log.size() - bytes);
    return log;
}

std::string require_counts(const http_response& res, const sink_fixture& f,
                           long long received, long long loaded,
                           long long dead_lettered, long long text_lines,
                           long long blank_lines)
{
    std::string id = ks::test::require_loaded(res, f.sink, received, loaded,
                                              dead_lettered, blank_lines);
    INFO("response body: " << res.body);
    INFO("sink stderr (tail):\n" << log_tail(f));
    if (text_lines == 0)
        CHECK(res.body.find("\"text_lines\"") == std::string::npos);
    else
        CHECK(ks::test::json_number(res.body, "text_lines") == text_lines);
    return id;
}

std::vector<std::string> row_problems(test_db& db,
                                      const std::vector<want_row>& want)
{
    // PostgreSQL compares: jsonb equality ignores key order, spacing and
    // the way a character was escaped.
    db.exec("DROP TABLE IF EXISTS pg_temp.want_rows");
    db.exec("CREATE TEMP TABLE want_rows (request_id text PRIMARY KEY, "
            "event_time text, event_type text, severity text, provider text, "
            "model text, blocked boolean, metadata jsonb)");
    auto opt = [](const std::optional<std::string>& v) {
        return v ? sql_text(*v) : std::string("NULL");
    };
    for (std::size_t first = 0; first < want.size(); first += 200) {
        std::string sql = "INSERT INTO want_rows VALUES ";
        std::size_t last = std::min(want.size(), first + 200);
        for (std::size_t i = first; i < last; ++i) {
            const want_row& r = want[i];
            std::string metadata = sql_text(r.event) + "::jsonb";
            if (r.outer)
                metadata = "(" + metadata +
                           " || jsonb_build_object('_envelope', " +
                           sql_text(*r.outer) + "::jsonb - " +
                           sql_text(r.message_key) + "))";
            if (i != first) sql += ',';
            sql += "(" + sql_text(r.request_id) + "," + sql_text(r.event_time) +
                   "," + sql_text(r.event_type) + "," + sql_text(r.severity) +
                   "," + opt(r.provider) + "," + opt(r.model) + "," +
                   (r.blocked ? "true" : "false") + "," + metadata + ")";
        }
        db.exec(sql);
    }

    auto rows = db.query(R"(
        WITH stored AS (
            SELECT to_char(event_time AT TIME ZONE 'UTC',
                           'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS event_time,
                   event_type, severity, provider, model, request_id,
                   blocked, metadata
              FROM koreshield_events WHERE request_id IS NOT NULL)
        SELECT coalesce(w.request_id, s.request_id),
               CASE WHEN w.request_id IS NULL THEN 'unexpected row'
                    WHEN s.request_id IS NULL THEN 'missing row'
                    ELSE 'different' END,
               concat_ws(' | ', w.event_time, w.event_type, w.severity,
                         coalesce(w.provider, 'NULL'),
                         coalesce(w.model, 'NULL'), w.blocked::text,
                         w.metadata::text),
               concat_ws(' | ', s.event_time, s.event_type, s.severity,
                         coalesce(s.provider, 'NULL'),
                         coalesce(s.model, 'NULL'), s.blocked::text,
                         s.metadata::text)
          FROM want_rows w
          FULL JOIN stored s ON s.request_id = w.request_id
         WHERE w.request_id IS NULL OR s.request_id IS NULL
            OR s.event_time IS DISTINCT FROM w.event_time
            OR s.event_type IS DISTINCT FROM w.event_type
            OR s.severity IS DISTINCT FROM w.severity
            OR s.provider IS DISTINCT FROM w.provider
            OR s.model IS DISTINCT FROM w.model
            OR s.blocked IS DISTINCT FROM w.blocked
            OR s.metadata IS DISTINCT FROM w.metadata
         ORDER BY 1
         LIMIT 10)");

    std::vector<std::string> out;
    for (auto& r : rows)
        out.push_back(r[0].value_or("") + ": " + r[1].value_or("") +
                      "\n  expected: " + r[2].value_or("") +
                      "\n  stored:   " + r[3].value_or(""));

    // The join pairs a doubled row with its expectation twice over.
    std::string doubled = db.scalar(
        "SELECT count(*) FROM (SELECT request_id FROM koreshield_events "
        "WHERE request_id IS NOT NULL GROUP BY 1 HAVING count(*) > 1) d");
    if (doubled != "0") out.push_back(doubled + " request ids stored twice");
    return out;
}

void require_stored(sink_fixture& f, const std::vector<want_row>& want)
{
    auto problems = row_problems(f.db, want);
    std::string text;
    for (auto& p : problems)
        text += p + "\n";
    INFO("differences:\n" << text);
    INFO("sink stderr (tail):\n" << log_tail(f));
    REQUIRE(problems.empty());
    REQUIRE(f.db.scalar("SELECT count(*) FROM koreshield_events WHERE "
                        "request_id IS NOT NULL") ==
            std::to_string(want.size()));
}

std::vector<found_row> rows_with_message(test_db& db, std::string_view field,
                                         std::string_view text)
{
    auto rows =
        db.query("SELECT to_char(event_time AT TIME ZONE 'UTC', "
                 "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), event_type, severity, "
                 "blocked::text, request_id, metadata::text, "
                 "extract(epoch FROM event_time)::text FROM koreshield_events "
                 "WHERE metadata->>" +
                 sql_text(field) + " = " + sql_text(text) + " ORDER BY id");
    std::vector<found_row> out;
    for (auto& r : rows) {
        found_row f;
        f.event_time = r[0].value_or("");
        f.event_type = r[1].value_or("");
        f.severity = r[2].value_or("");
        f.blocked = r[3] == "true";
        f.request_id = r[4];
        f.metadata = r[5].value_or("");
        f.epoch = std::strtod(r[6].value_or("0").c_str(), nullptr);
        out.push_back(std::move(f));
    }
    return out;
}

int times_kept_whole(test_db& db, std::string_view line)
{
    std::string rows =
        db.scalar("SELECT count(*) FROM koreshield_events WHERE event_type = "
                  "'text_line' AND metadata->>'message' = " +
                  sql_text(line));
    std::string dead =
        db.scalar("SELECT count(*) FROM koreshield_dead_letters WHERE raw = "
                  "convert_to(" +
                  sql_text(line) + ", 'UTF8')");
    return std::atoi(rows.c_str()) + std::atoi(dead.c_str());
}

std::string gunicorn_line(int pid)
{
    return "[2026-03-30 16:02:11 +0000] [" + std::to_string(pid) +
           "] [INFO] Booting worker with pid: " + std::to_string(pid);
}

bool same_jsonb(test_db& db, std::string_view a, std::string_view b)
{
    return db.scalar("SELECT (" + sql_text(a) + "::jsonb = " + sql_text(b) +
                     "::jsonb)::text") == "true";
}

double now_seconds()
{
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
}

} // namespace ks::conf
