#pragma once

// What five log shippers put on the wire, built byte for byte as
// /work/shared/docs/wire-formats.md describes each one (Vector 0.57,
// logstash-output-http on Logstash 7 and 8, Fluent Bit 3.1+, syslog-ng
// 3.38, rsyslog 8.2302), around KoreShield lines shaped as in
// event-mapping.md (sections 2 to 5 and 10); the rows those lines must
// become (README, "How events become rows"); and the checks the
// conformance tests share.

#include "http/sink_fixture.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ks::conf {

using ks::test::header_list;
using ks::test::http_response;
using ks::test::sink_fixture;
using ks::test::test_db;

// ---------------------------------------------------------------------
// A small JSON value, so that one event can be written the way each
// producer writes JSON: Python's json.dumps (spaces, \uXXXX), Vector's
// serde (sorted keys, raw UTF-8), Fluent Bit (\uXXXX), serde_json's
// pretty printer.

class json_value {
public:
    enum class kind { literal, string, object, array };

    /// A number, true, false or null, exactly as written.
    static json_value lit(std::string text);
    /// A string; `utf8` is its decoded text.
    static json_value str(std::string utf8);
    static json_value object();
    static json_value array();

    /// Appends a member (objects keep the order they are built in).
    json_value& set(std::string key, json_value value);
    /// Appends an element.
    json_value& push(json_value value);
    /// A copy of an object without the member `key`.
    json_value without(std::string_view key) const;
    /// The member `key` of an object, or nullptr.
    const json_value* find(std::string_view key) const;

    kind type() const noexcept { return kind_; }
    const std::string& text() const noexcept { return text_; }
    const std::vector<std::pair<std::string, json_value>>& members() const
    {
        return members_;
    }
    const std::vector<json_value>& items() const { return items_; }

private:
    kind kind_ = kind::literal;
    std::string text_;
    std::vector<std::pair<std::string, json_value>> members_;
    std::vector<json_value> items_;
};

inline json_value jlit(std::string text)
{
    return json_value::lit(std::move(text));
}
inline json_value jstr(std::string text)
{
    return json_value::str(std::move(text));
}
inline json_value jobj()
{
    return json_value::object();
}
inline json_value jarr()
{
    return json_value::array();
}

/// How a producer writes JSON.
struct json_style {
    bool sorted = false; // object keys sorted bytewise (Vector)
    bool spaces = false; // ", " and ": " separators (Python)
    bool ascii = false;  // non-ASCII as \uXXXX, surrogate pairs
    bool pretty = false; // serde_json's pretty printer: a line per
                         // member, two-space indent, ": "
};

std::string dump(const json_value& value, const json_style& style);

/// Python's json.dumps with its defaults, as structlog writes lines.
std::string python_json(const json_value& value);

// ---------------------------------------------------------------------
// Time.

/// Microseconds since the Unix epoch of a UTC calendar time.
std::int64_t unix_us(int year, int month, int day, int hour, int minute,
                     int second, int micros = 0);

/// An instant (ns since the epoch) as local time at `offset_minutes`,
/// `sep` between date and time, `digits` fractional digits (0 to 9,
/// truncated), then `zone` written as given ("Z", "+02:00", "").
std::string iso_time(std::int64_t unix_ns, int digits, std::string_view zone,
                     int offset_minutes = 0, char sep = 'T');

/// The zone text of an offset: "+02:00", "-05:00", "+05:30".
std::string offset_text(int offset_minutes);

/// Nanoseconds to microseconds, rounded half to even as README says
/// the sink rounds extra fractional digits.
std::int64_t us_half_even(std::int64_t unix_ns);

/// The form stored times are compared in: "YYYY-MM-DDTHH:MM:SS.ffffffZ".
std::string utc_text(std::int64_t unix_us);

// ---------------------------------------------------------------------
// KoreShield lines and the rows they must become.

/// The stored row a test expects. Rows are matched by request_id.
struct want_row {
    std::string request_id;
    std::string event_time; // utc_text()
    std::string event_type;
    std::string severity;
    std::optional<std::string> provider;
    std::optional<std::string> model;
    bool blocked = false;
    /// The event (JSON text); metadata must equal it as jsonb, plus
    /// `_envelope` when the event was unwrapped from a shipper's record.
    std::string event;
    /// That shipper's record and the field that held the event's text:
    /// `_envelope` must be the record without that field.
    std::optional<std::string> outer;
    std::string message_key;
};

/// One KoreShield record as it sits in the log file.
struct ks_line {
    json_value event;  // keys in the order KoreShield writes them
    std::string text;  // the line itself (python_json of event)
    std::int64_t us{}; // its instant, µs since the Unix epoch
    want_row row;      // the row when shipped as it is
};

/// The i-th line. Seven shapes take turns (event-mapping.md, section
/// 10): structlog's request_blocked, request_received, chat
/// attack_detected, RAG attack_detected and request_allowed lines, an
/// audit entry (time without zone) and a Redis threat_detected envelope
/// (time with +00:00). `salt` keeps request ids of tests apart.
ks_line koreshield_line(std::size_t i, std::uint32_t salt);
std::vector<ks_line> koreshield_lines(std::size_t first, std::size_t count,
                                      std::uint32_t salt);

/// `line.row` for a line a shipper carried as a string in field `key`
/// of `outer` (its JSON text): the event is unwrapped, the rest is
/// kept under `_envelope`.
want_row wrapped_row(const ks_line& line, std::string outer, std::string key);

/// `line.row` for a record whose keys are the event's own (a shipper
/// parsed the line): metadata is `record`, time is `event_time_us`.
want_row parsed_row(const ks_line& line, std::string record,
                    std::int64_t event_time_us);

/// A KoreShield line from the console renderer (its default without
/// json_logs): text, not JSON, starting with the ISO time.
std::string console_line(std::size_t i, std::uint32_t salt);

/// A uvicorn access line, as it shares KoreShield's stdout.
std::string access_line(std::size_t i);

// ---------------------------------------------------------------------
// Vector `http` sink (wire-formats.md, section 1).

/// Vector's JSON encoder: sorted keys, no whitespace, raw UTF-8; with
/// `pretty` (encoding.json.pretty) each event spans several lines.
std::string vector_encode(const json_value& record, bool pretty = false);

/// A timestamp value as Vector renders one: RFC 3339, `Z`, with as few
/// of 0, 3, 6 or 9 fractional digits as hold it exactly.
std::string vector_rfc3339(std::int64_t unix_ns);

/// `encoding.timestamp_format`.
enum class vector_time { rfc3339, unix, unix_ms, unix_us, unix_ns, unix_float };

/// A timestamp value rendered per `encoding.timestamp_format`.
json_value vector_timestamp(std::int64_t unix_ns, vector_time format);

/// The µs the sink must store for that rendering: integers keep their
/// unit, nanoseconds round half to even, floats carry µs exactly here.
std::int64_t vector_time_us(std::int64_t unix_ns, vector_time format);

/// A line as Vector's file source ships it unparsed: the line in
/// `message`, next to file, host, source_type and the read time.
json_value vector_file_record(const ks_line& line, std::int64_t read_ns,
                              std::string host);

/// A line after `. = merge(., parse_json!(.message)); del(.message)`
/// and `.timestamp = parse_timestamp!(...)`: KoreShield's keys at the
/// top level next to Vector's, `timestamp` a timestamp value.
json_value vector_parsed_record(const ks_line& line, json_value timestamp);

/// `json` codec: `[e1,e2,...]`.
std::string vector_json_body(const std::vector<std::string>& events);
/// `json` + newline_delimited: `e1\n...\neN`, no final newline.
std::string vector_ndjson_body(const std::vector<std::string>& events);
/// `text` or `raw_message`: each message and `\n`, the last one too.
std::string vector_text_body(const std::vector<std::string>& messages);

// Headers: ks::test::vector_headers (http/sink_fixture.hpp).

// ---------------------------------------------------------------------
// Logstash `http` output (wire-formats.md, section 2).

/// `@timestamp` as Logstash writes it: UTC, `Z`, `digits` fractional
/// digits (3 in Logstash 7; in 8 mostly 6, `.000` for whole seconds
/// from 8.4, none in 8.0 to 8.3, 9 when the value has them).
std::string logstash_timestamp(std::int64_t unix_ns, int digits);

/// A line as the file input reads it, unparsed in `message`; `ecs`
/// picks Logstash 8's default ECS v8 fields (host and log.file objects,
/// event.original) over the legacy ones (host and path strings).
json_value logstash_line_record(const ks_line& line, std::string timestamp,
                                bool ecs, std::string host);

/// A line a json codec parsed (legacy fields) and a date filter moved
/// into `@timestamp`, removing KoreShield's `timestamp`.
json_value logstash_parsed_record(const ks_line& line, std::string timestamp,
                                  std::string host);

/// Logstash's (Jackson's) JSON: compact, raw UTF-8.
std::string logstash_encode(const json_value& record);
/// `format => "json"`: the event alone, no trailing newline.
std::string logstash_json(const json_value& record);
/// `format => "json_batch"`: an array of the batch's events.
std::string logstash_json_batch(const std::vector<json_value>& records);
/// Content-Type application/json always; gzip with http_compression.
header_list logstash_headers(bool http_compression);

// ---------------------------------------------------------------------
// Fluent Bit `http` output (wire-formats.md, section 3).

/// `json_date_format`.
enum class fb_date {
    double_epoch,
    iso8601,
    java_sql_timestamp,
    epoch,
    epoch_ms
};

/// The `date` value for an instant (µs since the epoch).
json_value fluentbit_date(std::int64_t unix_us, fb_date format);

/// The µs the sink must store for that `date`.
std::int64_t fluentbit_date_us(std::int64_t unix_us, fb_date format);

/// A tail input record, no parser: `{"date":...,"log":"<line>"}`.
json_value fluentbit_tail_record(const ks_line& line, json_value date);

/// A record a JSON parser with `Time_Key timestamp` made: the line's
/// keys after `date`, KoreShield's `timestamp` consumed into the
/// record's time (which `date` then carries).
json_value fluentbit_parsed_record(const ks_line& line, json_value date);

/// Fluent Bit's JSON: compact, non-ASCII as \uXXXX.
std::string fluentbit_encode(const json_value& record);
/// `format json`: `[r1,r2,...]`.
std::string fluentbit_json(const std::vector<std::string>& records);
/// `format json_lines`: `r1\n...rN\n`, final newline included.
std::string fluentbit_json_lines(const std::vector<std::string>& records);
/// `format json_stream`: `r1r2...rN`, nothing between.
std::string fluentbit_json_stream(const std::vector<std::string>& records);
/// Content-Type, `User-Agent: Fluent-Bit`, Content-Encoding if any.
header_list fluentbit_headers(std::string content_type,
                              std::string encoding = "");

// ---------------------------------------------------------------------
// syslog-ng 3.38 `http()` (wire-formats.md, section 4).

/// `${ISODATE}`: the sender's local time, no fraction, `±hh:mm`.
std::string syslog_ng_isodate(std::int64_t unix_us, int offset_minutes);

/// `$(format-json host=${HOST} message=${MESSAGE} program=${PROGRAM}
/// timestamp=${ISODATE})`: keys sorted, control characters \u00XX.
std::string syslog_ng_format_json(std::string_view host,
                                  std::string_view message,
                                  std::string_view program,
                                  std::string_view isodate);

/// body-prefix, messages joined by delimiter (between them only),
/// body-suffix.
std::string syslog_ng_batch(std::string_view prefix, std::string_view delimiter,
                            std::string_view suffix,
                            const std::vector<std::string>& messages);

/// What libcurl sends for syslog-ng: its user agent, `Accept: */*` and,
/// since syslog-ng sets none, `Content-Type:
/// application/x-www-form-urlencoded` unless `headers()` names one
/// (`content_type`). Unbatched requests add the X-Syslog-* headers.
struct syslog_origin {
    std::string host, program, facility, level;
};
header_list syslog_ng_headers(std::optional<std::string> content_type,
                              const std::optional<syslog_origin>& origin);

// ---------------------------------------------------------------------
// rsyslog 8.2302 `omhttp` (wire-formats.md, section 5).

/// `date-rfc3339`: local time, 6 fractional digits, `±hh:mm`.
std::string rsyslog_rfc3339(std::int64_t unix_us, int offset_minutes);

/// One message rendered with StdJSONFmt: message, fromhost, facility,
/// priority, timereported, timegenerated, `msg` and the host escaped
/// as rsyslog's `json` property option does.
std::string rsyslog_std_json(std::string_view msg, std::string_view host,
                             std::string_view facility,
                             std::string_view priority,
                             std::string_view timereported,
                             std::string_view timegenerated);

/// batch.format `newline`: `m1\n...\nmN`, no final newline.
std::string rsyslog_newline(const std::vector<std::string>& messages);
/// batch.format `jsonarray`: `[m1,m2,...]`. omhttp leaves out messages
/// that are not valid JSON; StdJSONFmt messages always are.
std::string rsyslog_jsonarray(const std::vector<std::string>& messages);

/// `text/plain` (newline), `application/json` (jsonarray) or, batching
/// off, `application/json; charset=utf-8`; gzip with compress="on".
enum class rsyslog_format { single, newline, jsonarray };
header_list rsyslog_headers(rsyslog_format format, bool compress);

// ---------------------------------------------------------------------
// Checks.

/// Requires a 200 with these counts (and `text_lines` when not 0);
/// returns the request id.
std::string require_counts(const http_response& res, const sink_fixture& f,
                           long long received, long long loaded,
                           long long dead_lettered, long long text_lines = 0,
                           long long blank_lines = 0);

/// Differences between the rows that have a request_id and `want`
/// (missing, unexpected, different, doubled); at most 10 lines.
std::vector<std::string> row_problems(test_db& db,
                                      const std::vector<want_row>& want);

/// Requires the rows that have a request_id to be exactly `want`.
void require_stored(sink_fixture& f, const std::vector<want_row>& want);

/// A stored row found by its metadata's `message` (or `log`) text.
struct found_row {
    std::string event_time; // utc_text form
    std::string event_type;
    std::string severity;
    bool blocked = false;
    std::optional<std::string> request_id;
    std::string metadata; // jsonb text
    double epoch = 0;     // event_time as Unix seconds
};
std::vector<found_row> rows_with_message(test_db& db, std::string_view field,
                                         std::string_view text);

/// How many times a text line is kept whole: as a text_line event with
/// it in metadata.message, or as a dead letter holding exactly it.
int times_kept_whole(test_db& db, std::string_view line);

/// A gunicorn error-log line (its default format): text, not JSON, yet
/// starting with '[' like a JSON array.
std::string gunicorn_line(int pid);

/// Whether two JSON texts are equal as jsonb (asked of PostgreSQL).
bool same_jsonb(test_db& db, std::string_view a, std::string_view b);

/// Unix seconds now, for checking receipt times.
double now_seconds();

/// `text` as an SQL string literal.
std::string sql_text(std::string_view text);

/// The sink's stderr, at most its last `bytes`.
std::string log_tail(const sink_fixture& f, std::size_t bytes = 6000);

} // namespace ks::conf
