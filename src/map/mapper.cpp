#include "map/mapper.hpp"

#include "core/padded_buffer.hpp"
#include "core/text.hpp"
#include "map/chains.hpp"
#include "map/timestamp.hpp"
#include "parse/array_scanner.hpp"
#include "parse/json_text.hpp"
#include "parse/walker.hpp"

#include <algorithm>
#include <string>

namespace ks::map {

namespace {

using parse::captured;
using parse::json_type;

// A set of JSON types a lookup accepts.
constexpr unsigned accepts(json_type t) noexcept
{
    return 1u << static_cast<unsigned>(t);
}

constexpr unsigned any_string = accepts(json_type::string);
constexpr unsigned any_number = accepts(json_type::number);
constexpr unsigned any_bool = accepts(json_type::boolean);
constexpr unsigned any_array = accepts(json_type::array);
constexpr unsigned any_object = accepts(json_type::object);

// Value types each built taxonomy key takes from its chain.
constexpr unsigned rag_types[rag_keys.size()] = {
    any_array, any_array, any_array, any_array, any_string | any_number};

// Severity words in rising order, as KoreShield ranks indicators.
constexpr std::string_view severity_names[] = {"", "low", "medium", "high",
                                               "critical"};
constexpr int medium_rank = 2;
constexpr int high_rank = 3;

// Confidence from which KoreShield calls an attack at least "high".
constexpr double high_confidence = 0.85;

// Longest part of a field's value quoted in a rejection message.
constexpr std::size_t quoted_value_bytes = 64;

// Metadata pieces that are not slices of the input.
constexpr std::string_view envelope_key = "\"_envelope\":";
constexpr std::string_view envelope_key_after = ",\"_envelope\":";
constexpr std::string_view receipt_marker =
    "\"_event_time_source\":\"received\"";
constexpr std::string_view receipt_marker_after =
    ",\"_event_time_source\":\"received\"";
constexpr std::string_view redacted_value = "\"[redacted]\"";

// The first value along `c` whose type is in `types`, or null.
const captured* first_of(const parse::walker& w, const chain& c, unsigned types,
                         std::size_t* position = nullptr)
{
    for (std::size_t i = 0; i < c.size; ++i) {
        const captured& v = w.get(c.slots[i]);
        if ((accepts(v.type) & types) == 0) continue;
        if (position != nullptr) *position = i;
        return &v;
    }
    return nullptr;
}

bool equals_ascii_nocase(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] - 'A' + 'a') : a[i];
        if (x != b[i]) return false;
    }
    return true;
}

int severity_rank(std::string_view word) noexcept
{
    for (int r = 1; r < int(std::size(severity_names)); ++r)
        if (equals_ascii_nocase(word, severity_names[r])) return r;
    return 0;
}

// array_scanner visitor: raises the rank in `context` to the word's.
void raise_rank(void* context, std::string_view word)
{
    int& rank = *static_cast<int*>(context);
    rank = std::max(rank, severity_rank(word));
}

bool starts_like_object(std::string_view text) noexcept
{
    std::string_view t = parse::trim_json_space(text);
    return !t.empty() && t.front() == '{';
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8
// sequence, so that messages stay valid text.
std::string_view cut_utf8(std::string_view text, std::size_t limit) noexcept
{
    if (text.size() <= limit) return text;
    std::size_t n = limit;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80)
        --n;
    return text.substr(0, n);
}

std::string_view type_name(json_type t) noexcept
{
    switch (t) {
    case json_type::array:
        return "an array";
    case json_type::string:
        return "a string";
    case json_type::number:
        return "a number";
    case json_type::boolean:
        return "a boolean";
    case json_type::null:
        return "null";
    default:
        return "a value";
    }
}

} // namespace

void row::clear() noexcept
{
    event_time = 0;
    event_time_from_receipt = false;
    text_line = false;
    event_type = {};
    severity = {};
    provider.reset();
    model.reset();
    request_id.reset();
    blocked = false;
    taxonomy.reset();
    metadata_pieces = 0;
}

std::size_t row::metadata_bytes() const noexcept
{
    std::size_t n = 0;
    for (std::size_t i = 0; i < metadata_pieces; ++i)
        n += metadata[i].size();
    return n;
}

struct mapper::impl {
    explicit impl(mapping_options o);

    bool map(std::string_view record, frame::shape kind,
             std::int64_t receive_time, row& out, rejection& why);

    // Choosing the event object.
    bool choose_event(rejection& why);
    bool unwrap_bare_string(rejection& why);
    bool walk_inner(std::string_view text, parse::walk_error& error);
    bool map_text_line(std::string_view line, std::int64_t receive_time,
                       row& out, rejection& why);

    // Filling the columns.
    bool resolve_time(std::int64_t receive_time, row& out, rejection& why);
    bool take_time(const captured& v, std::string_view field, row& out,
                   rejection& why);
    std::string_view resolve_event_type();
    std::string_view resolve_severity();
    std::string_view derive_severity();
    bool resolve_blocked(std::string_view event_type) const;
    std::optional<std::string_view> build_taxonomy();
    void add_taxonomy_member(std::string_view key, const captured* value);
    void build_metadata(row& out) const;
    void add_masked(std::string_view text, row& out) const;
    void splice_envelope(row& out) const;
    static std::string_view lower(std::string_view word,
                                  std::string& scratch);
    std::optional<std::string_view> resolve_text(const chain& c,
                                                 const column_rule& rule,
                                                 std::string& scratch);

    // Saying why a record was refused.
    static bool reject(rejection& why, ks::reason r, std::string_view text);
    static bool reject_walk(rejection& why, const parse::walk_error& e,
                            std::string_view where);
    static bool reject_time(rejection& why, time_errc e, std::string_view field,
                            const captured& v);

    mapping_options options;
    parse::path_set paths; // before chains and walkers, which use it
    lookup_chains chains;
    parse::walker outer; // the record as framed
    parse::walker inner; // the event held as text in a string
    parse::array_scanner scanner;
    padded_buffer unwrapped;   // that text, unescaped, with padding
    std::string severity_text; // a lower-cased severity
    std::string event_type_text; // other lower-cased columns
    std::string provider_text;
    std::string model_text;
    std::string request_id_text;
    std::string taxonomy_text; // a built taxonomy object
    std::string text_event;    // the metadata of a text line

    // What the current record resolved to.
    const parse::walker* event = nullptr;
    const parse::walker* envelope = nullptr;
    const captured* message = nullptr; // the field the event came from
    const captured* text_message = nullptr; // a wrapped line, not JSON
};

mapper::impl::impl(mapping_options o)
    : options(o), chains(paths, options.rules), outer(paths, o.max_depth),
      inner(paths, o.max_depth)
{
    severity_text.reserve(64);
    taxonomy_text.reserve(4096);
    unwrapped.reserve(4096);
}

bool mapper::impl::map(std::string_view record, frame::shape kind,
                       std::int64_t receive_time, row& out, rejection& why)
{
    out.clear();
    text_message = nullptr;
    if (record.size() > options.max_event_bytes)
        return reject(why, ks::reason::too_large,
                      "the event is larger than the configured limit");
    if (kind == frame::shape::text)
        return map_text_line(record, receive_time, out, why);

    // Validate the whole record before trusting any of it.
    parse::walk_error error;
    if (!outer.walk(record, error)) {
        // A line that starts like a bare number or literal but is not
        // one ("no such route", "2026-12-04 INFO ...") is plain text.
        if (kind == frame::shape::scalar &&
            error.why == ks::reason::malformed_json)
            return map_text_line(record, receive_time, out, why);
        return reject_walk(why, error, "");
    }

    // Find the event: the object itself, or JSON text held in a string.
    json_type root = outer.root().type;
    if (root == json_type::object) {
        if (!choose_event(why)) return false;
        if (text_message != nullptr && !options.text_lines_as_events)
            return reject(why, ks::reason::not_json,
                          "a shipper's record around a text line, not JSON");
    } else if (root == json_type::string) {
        if (!unwrap_bare_string(why)) return false;
    } else {
        reject(why, ks::reason::not_object, type_name(root));
        why.message.append(" is not an object");
        return false;
    }

    // Columns, then the lossless copy.
    if (!resolve_time(receive_time, out, why)) return false;
    out.event_type =
        text_message != nullptr ? "text_line" : resolve_event_type();
    out.text_line = text_message != nullptr;
    out.severity = resolve_severity();
    const mapping_rules& rules = options.rules;
    out.provider = resolve_text(chains.provider, rules.provider, provider_text);
    out.model = resolve_text(chains.model, rules.model, model_text);
    out.request_id =
        resolve_text(chains.request_id, rules.request_id, request_id_text);
    out.blocked = resolve_blocked(out.event_type);
    out.taxonomy = build_taxonomy();
    build_metadata(out);
    return true;
}

bool mapper::impl::map_text_line(std::string_view line,
                                 std::int64_t receive_time, row& out,
                                 rejection& why)
{
    if (!options.text_lines_as_events)
        return reject(why, ks::reason::not_json, "a text line, not JSON");

    // jsonb takes only valid UTF-8 without NUL; the line is not changed
    // to fit, it is kept whole as a dead letter instead.
    if (!is_storable_text(line))
        return reject(why,
                      line.find('\0') == std::string_view::npos
                          ? ks::reason::invalid_utf8
                          : ks::reason::nul_character,
                      "a text line that is not valid UTF-8 or holds NUL");

    // {"message":"<line>","_event_time_source":"received"}
    text_event.assign("{\"message\":");
    append_json_string(text_event, line);
    text_event.append(",\"_event_time_source\":\"received\"}");

    out.event_time = receive_time;
    out.event_time_from_receipt = true;
    out.text_line = true;
    out.event_type = "text_line";
    out.severity = "info";
    out.metadata[0] = text_event;
    out.metadata_pieces = 1;
    return true;
}

bool mapper::impl::choose_event(rejection& why)
{
    // Unless unwrapped, the object is both the event and the shipper's
    // record, so the envelope's time fields (date, timereported) apply to
    // it as the last candidates.
    event = &outer;
    envelope = &outer;
    message = nullptr;
    text_message = nullptr;
    if (!options.unwrap_message) return true;

    // An object that names its event is the event, whatever it holds.
    if (first_of(outer, chains.unwrap_names, any_string) != nullptr)
        return true;

    // The first message-like string that looks like an object.
    const chain& c = chains.unwrap_message;
    const captured* plain = nullptr;
    for (std::size_t i = 0; i < c.size; ++i) {
        const captured& v = outer.get(c.slots[i]);
        if (!v.is(json_type::string)) continue;
        if (!starts_like_object(v.text)) {
            if (plain == nullptr && !v.text.empty()) plain = &v;
            continue;
        }

        // Text that starts like an object but is none is a damaged
        // event, refused as the same line sent bare would be: kept as
        // the outer record, its damage would go unnoticed.
        parse::walk_error error;
        if (!walk_inner(v.text, error))
            return reject_walk(why, error,
                               " of the JSON text in the shipper's message");
        event = &inner;
        message = &v;
        return true;
    }

    // A shipper's record around a line that is not JSON (Vector's file
    // source, Fluent Bit's tail, Logstash's file input): a text line
    // like one sent bare, with the shipper's fields kept around it.
    text_message = plain;
    return true;
}

bool mapper::impl::unwrap_bare_string(rejection& why)
{
    std::string_view text = outer.root().text;
    if (!options.unwrap_message || !starts_like_object(text))
        return reject(why, ks::reason::not_object, "a string is not an object");

    // Text that is no valid object leaves a string, which is refused as
    // not_object; the message says what is wrong with the text.
    parse::walk_error error;
    std::string_view body = parse::trim_json_space(text);
    unwrapped.clear();
    unwrapped.append(body);
    if (!inner.walk(unwrapped.view(), error)) {
        reject_walk(why, error, " of the text it holds");
        why.why = ks::reason::not_object;
        why.message.insert(0, "a string whose text is no JSON object: ");
        return false;
    }

    event = &inner;
    envelope = nullptr;
    message = nullptr;
    return true;
}

bool mapper::impl::walk_inner(std::string_view text,
                              parse::walk_error& error)
{
    // The outer parser's strings must survive, hence a copy with padding.
    // Text that starts like an object is one when it is valid.
    unwrapped.clear();
    unwrapped.append(parse::trim_json_space(text));
    return inner.walk(unwrapped.view(), error);
}

bool mapper::impl::resolve_time(std::int64_t receive_time, row& out,
                                rejection& why)
{
    constexpr unsigned types = any_string | any_number;

    // The event's own fields, then the shipper's.
    std::size_t at = 0;
    if (const captured* v = first_of(*event, chains.time, types, &at))
        return take_time(*v, chains.time.names[at], out, why);
    if (envelope != nullptr) {
        const chain& c = chains.envelope_time;
        if (const captured* v = first_of(*envelope, c, types, &at))
            return take_time(*v, c.names[at], out, why);
    }

    // No candidate at all: refused, or the receipt time, marked as such.
    if (options.reject_missing_time) {
        why.why = ks::reason::missing_timestamp;
        why.message = "the event has no timestamp field (looked for " +
                      std::string(chains.time.names[0]) + " and the other "
                      "time fields of the mapping)";
        return false;
    }
    out.event_time = receive_time;
    out.event_time_from_receipt = true;
    return true;
}

bool mapper::impl::take_time(const captured& v, std::string_view field,
                             row& out, rejection& why)
{
    time_result t;
    if (v.is(json_type::string)) {
        t = parse_timestamp(v.text);
    } else if (v.number == parse::number_kind::signed_integer) {
        t = from_epoch(v.i64);
    } else if (v.number == parse::number_kind::unsigned_integer) {
        t = from_epoch(v.u64);
    } else {
        t = from_epoch(v.f64);
    }

    // A field that exists decides: it never falls back to receipt time.
    if (t.error != time_errc::ok) return reject_time(why, t.error, field, v);
    out.event_time = t.pg_us;
    return true;
}

std::string_view mapper::impl::resolve_event_type()
{
    const column_rule& rule = options.rules.event_type;
    const captured* v = first_of(*event, chains.event_type, any_string);
    if (v == nullptr) return *rule.fallback;
    return rule.lowercase ? lower(v->text, event_type_text) : v->text;
}

std::string_view mapper::impl::resolve_severity()
{
    // Derived severities and the fallback are as configured.
    const column_rule& rule = options.rules.severity;
    auto as_configured = [&](std::string_view word) {
        return rule.lowercase ? lower(word, severity_text) : word;
    };
    if (const captured* v = first_of(*event, chains.severity, any_string))
        return as_configured(v->text);
    if (options.derive_severity) {
        std::string_view derived = derive_severity();
        if (!derived.empty()) return derived;
    }
    if (const captured* v = first_of(*event, chains.level, any_string))
        return as_configured(v->text);
    return *rule.fallback;
}

std::optional<std::string_view>
mapper::impl::resolve_text(const chain& c, const column_rule& rule,
                           std::string& scratch)
{
    const captured* v = first_of(*event, c, any_string);
    if (v == nullptr) {
        if (!rule.fallback) return std::nullopt;
        return *rule.fallback;
    }
    return rule.lowercase ? lower(v->text, scratch) : v->text;
}

std::string_view mapper::impl::derive_severity()
{
    // Only records that show an attack get a derived severity.
    bool flagged = false;
    for (std::size_t i = 0; i < chains.attack_flags.size; ++i) {
        const captured& v = event->get(chains.attack_flags.slots[i]);
        flagged = flagged || (v.is(json_type::boolean) && v.boolean);
    }
    const captured* list = first_of(*event, chains.indicators, any_array);
    bool listed = list != nullptr && list->members > 0;
    if (!flagged && !listed) return {};

    // KoreShield's rule: medium, raised to the worst indicator, raised to
    // high by a confident detection.
    int rank = medium_rank;
    if (listed) scanner.each_string(list->raw, "severity", raise_rank, &rank);
    const captured* c = first_of(*event, chains.confidence, any_number);
    if (c != nullptr && c->as_double() >= high_confidence)
        rank = std::max(rank, high_rank);
    return severity_names[rank];
}

bool mapper::impl::resolve_blocked(std::string_view event_type) const
{
    if (const captured* v = first_of(*event, chains.blocked_flag, any_bool))
        return v->boolean;

    // Action words count only when they say "blocked"; attack_detected
    // never does, since the block has its own request_blocked line.
    const mapping_rules& rules = options.rules;
    auto one_of = [](std::string_view word,
                     const std::vector<std::string>& words) {
        return std::find(words.begin(), words.end(), word) != words.end();
    };
    const chain& c = chains.blocked_action;
    for (std::size_t i = 0; i < c.size; ++i) {
        const captured& v = event->get(c.slots[i]);
        if (v.is(json_type::string) &&
            one_of(v.text, rules.blocked_action_values))
            return true;
    }
    return one_of(event_type, rules.blocked_event_types);
}

std::optional<std::string_view> mapper::impl::build_taxonomy()
{
    if (const captured* v = first_of(*event, chains.taxonomy, any_object))
        return v->raw;

    // Raw spans are valid JSON already; strings keep their escapes.
    taxonomy_text.assign(1, '{');
    const captured* type = first_of(*event, chains.attack_type, any_string);
    add_taxonomy_member("type", type);
    add_taxonomy_member("categories", first_of(*event, chains.categories,
                                               any_array | any_object));
    add_taxonomy_member("confidence",
                        first_of(*event, chains.confidence, any_number));
    add_taxonomy_member("indicators",
                        first_of(*event, chains.indicators, any_array));
    for (std::size_t i = 0; i < rag_keys.size(); ++i)
        add_taxonomy_member(rag_keys[i],
                            first_of(*event, chains.rag[i], rag_types[i]));

    // The detector's own verdict, when it says something else.
    const captured* detector =
        first_of(*event, chains.detector_type, any_string);
    if (detector != nullptr &&
        (type == nullptr || type->text != detector->text))
        add_taxonomy_member("detector_type", detector);

    if (taxonomy_text.size() == 1) return std::nullopt;
    taxonomy_text.push_back('}');
    return taxonomy_text;
}

void mapper::impl::add_taxonomy_member(std::string_view key,
                                       const captured* value)
{
    if (value == nullptr) return;
    if (taxonomy_text.size() > 1) taxonomy_text.push_back(',');
    taxonomy_text.push_back('"');
    taxonomy_text.append(key);
    taxonomy_text.append("\":");
    taxonomy_text.append(value->raw);
}

void mapper::impl::build_metadata(row& out) const
{
    // The event's bytes as they are, when nothing is added or masked.
    std::string_view raw = event->root().raw;
    bool marker = out.event_time_from_receipt;
    if (message == nullptr && !marker) {
        add_masked(raw, out);
        return;
    }

    // Otherwise reopen the object before its closing brace.
    bool empty = event->root().members == 0;
    add_masked(raw.substr(0, raw.size() - 1), out);
    if (message != nullptr) {
        out.metadata[out.metadata_pieces++] =
            empty ? envelope_key : envelope_key_after;
        splice_envelope(out);
        empty = false;
    }
    if (marker)
        out.metadata[out.metadata_pieces++] =
            empty ? receipt_marker : receipt_marker_after;
    out.metadata[out.metadata_pieces++] = "}";
}

void mapper::impl::add_masked(std::string_view text, row& out) const
{
    // The values to mask, in the order they appear; one inside another
    // already masked is covered by it.
    std::array<std::string_view, mapping_rules::max_redactions> masks{};
    std::size_t n = 0;
    for (std::uint16_t slot : chains.redact) {
        const captured& v = event->get(slot);
        if (v.present() && v.raw.data() >= text.data() &&
            v.raw.data() + v.raw.size() <= text.data() + text.size())
            masks[n++] = v.raw;
    }
    std::sort(masks.begin(), masks.begin() + n,
              [](std::string_view a, std::string_view b) {
                  return a.data() < b.data();
              });

    const char* at = text.data();
    for (std::size_t i = 0; i < n; ++i) {
        if (masks[i].data() < at) continue; // inside the previous one
        out.metadata[out.metadata_pieces++] =
            std::string_view(at, static_cast<std::size_t>(masks[i].data() - at));
        out.metadata[out.metadata_pieces++] = redacted_value;
        at = masks[i].data() + masks[i].size();
    }
    out.metadata[out.metadata_pieces++] = std::string_view(
        at, static_cast<std::size_t>(text.data() + text.size() - at));
}

void mapper::impl::splice_envelope(row& out) const
{
    // The outer object around the message field, in two slices.
    std::string_view whole = outer.root().raw;
    const char* value_end = message->raw.data() + message->raw.size();
    std::string_view before(
        whole.data(), static_cast<std::size_t>(message->key - whole.data()));
    std::string_view after(value_end,
                           static_cast<std::size_t>(whole.end() - value_end));

    // Drop one comma: the one before the field, or else the one after it.
    std::string_view head = parse::trim_json_space_right(before);
    if (head.back() == ',') {
        before = head.substr(0, head.size() - 1);
    } else {
        std::size_t i = 0;
        while (i < after.size() && parse::is_json_space(after[i]))
            ++i;
        if (i < after.size() && after[i] == ',') after.remove_prefix(i + 1);
    }
    out.metadata[out.metadata_pieces++] = before;
    out.metadata[out.metadata_pieces++] = after;
}

std::string_view mapper::impl::lower(std::string_view word,
                                    std::string& scratch)
{
    // Most words are lower-case already and need no copy.
    auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
    if (std::none_of(word.begin(), word.end(), upper)) return word;
    scratch.assign(word);
    for (char& c : scratch)
        if (upper(c)) c = static_cast<char>(c - 'A' + 'a');
    return scratch;
}

bool mapper::impl::reject(rejection& why, ks::reason r, std::string_view text)
{
    why.why = r;
    why.message.assign(text);
    return false;
}

bool mapper::impl::reject_walk(rejection& why, const parse::walk_error& e,
                               std::string_view where)
{
    why.why = e.why;
    why.message.assign(e.detail);
    why.message.append(" at byte ");
    why.message.append(std::to_string(e.offset));
    why.message.append(where);
    return false;
}

bool mapper::impl::reject_time(rejection& why, time_errc e,
                               std::string_view field, const captured& v)
{
    why.why = e == time_errc::out_of_range ? ks::reason::timestamp_out_of_range
                                           : ks::reason::bad_timestamp;
    why.message.assign("field ");
    why.message.append(field);
    why.message.append(" holds ");
    why.message.append(cut_utf8(v.raw, quoted_value_bytes));
    switch (e) {
    case time_errc::out_of_range:
        why.message.append(", outside PostgreSQL's timestamp range");
        break;
    case time_errc::impossible:
        why.message.append(", which names no real date or time");
        break;
    default:
        why.message.append(", which is not a timestamp");
        break;
    }
    return false;
}

mapper::mapper(mapping_options options) : impl_(std::make_unique<impl>(options))
{
}

mapper::~mapper() = default;

bool mapper::map(std::string_view record, frame::shape kind,
                 std::int64_t receive_time, row& out, rejection& why)
{
    return impl_->map(record, kind, receive_time, out, why);
}

} // namespace ks::map
