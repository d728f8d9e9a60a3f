#include "ingest/pipeline.hpp"

#include "core/text.hpp"
#include "frame/framer.hpp"
#include "map/timestamp.hpp"

#include <chrono>
#include <span>
#include <string>

namespace ks::ingest {

namespace {

constexpr std::int16_t event_fields = 9;
constexpr std::int16_t dead_letter_fields = 10;

// A sentence for a record the framer already found broken.
std::string defect_message(const frame::record& rec)
{
    std::string at = " at byte " + std::to_string(rec.problem_offset);
    switch (rec.problem) {
    case frame::defect::unterminated:
        return "JSON value is cut off: the input ends inside it";
    case frame::defect::unbalanced:
        return "JSON brackets do not match" + at;
    case frame::defect::newline_in_string:
        return "JSON string is not closed before the line break" + at;
    case frame::defect::control_character:
        return "JSON string holds an unescaped control character" + at;
    case frame::defect::bad_separator:
        return "array elements are not separated by one comma" + at;
    case frame::defect::none: break;
    }
    return "record is malformed" + at;
}

ks::reason defect_reason(frame::defect d)
{
    return d == frame::defect::control_character
               ? ks::reason::control_character
               : ks::reason::malformed_json;
}

void optional_text(pg::copy_buffer& b, const std::optional<std::string_view>& v)
{
    if (v)
        b.text(*v);
    else
        b.null();
}

void optional_int(pg::copy_buffer& b, std::int64_t v)
{
    if (v >= 0)
        b.int64(v);
    else
        b.null();
}

} // namespace

std::int64_t pg_now() noexcept
{
    using namespace std::chrono;
    auto us = duration_cast<microseconds>(
        system_clock::now().time_since_epoch());
    return us.count() - map::unix_to_pg_epoch_us;
}

preparer::preparer(map::mapping_options options, limits lim)
    : mapper_(options), limits_(lim)
{
}

prepare_result preparer::prepare(std::string_view content_encoding,
                                 std::span<const char> body,
                                 const origin& from,
                                 std::int64_t receive_time, pg::batch& out,
                                 counts& tally)
{
    tally = {};
    out.events.reset();
    out.dead_letters.reset();

    // An unknown coding is the client's configuration error, not data.
    auto codings = decode::parse_content_encoding(content_encoding);
    if (codings.error != decode::errc::ok) {
        return {prepare_status::unsupported_encoding,
                "Content-Encoding '" + to_storable_text(codings.unknown) +
                    "' is not supported; use one of: " +
                    std::string(decode::supported_encodings())};
    }

    // Too large decoded is refused before anything is written, so the
    // client learns to send smaller batches.
    auto decoded = decoder_.decode(codings.order, body,
                                   limits_.max_decoded_bytes, decoded_);
    if (decoded.error == decode::errc::too_large)
        return {prepare_status::too_large, decoded.message};

    // A body that cannot be decoded is kept whole, as received, so it can
    // be inspected and replayed; loading a prefix of it would store part
    // of a batch the client may later send again intact.
    if (decoded.error != decode::errc::ok) {
        position at;
        at.offset = static_cast<std::int64_t>(decoded.input_offset);
        add_dead_letter(out, from, receive_time, at,
                        ks::reason::decode_failed, decoded.message,
                        {body.data(), body.size()});
        tally.received = 1;
        tally.dead_lettered = 1;
    } else {
        prepare_records(decoded_.view(), from, receive_time, out, tally);
    }

    out.events.finish();
    out.dead_letters.finish();
    return {};
}

void preparer::prepare_records(std::string_view text, const origin& from,
                               std::int64_t receive_time, pg::batch& out,
                               counts& tally)
{
    frame::framer records(text);
    frame::record rec;
    while (records.next(rec)) {
        ++tally.received;
        std::string_view raw = text.substr(rec.offset, rec.length);
        position at{static_cast<std::int64_t>(rec.index),
                    static_cast<std::int64_t>(rec.line),
                    static_cast<std::int64_t>(rec.offset)};

        // Structural damage found while framing needs no parse.
        if (rec.problem != frame::defect::none) {
            add_dead_letter(out, from, receive_time, at,
                            defect_reason(rec.problem), defect_message(rec),
                            raw);
            ++tally.dead_lettered;
            continue;
        }

        // The record sits inside decoded_, whose padding simdjson needs.
        if (!mapper_.map(raw, rec.kind, receive_time, row_, rejection_)) {
            add_dead_letter(out, from, receive_time, at, rejection_.why,
                            rejection_.message, raw);
            ++tally.dead_lettered;
            continue;
        }
        add_row(out, row_);
        ++tally.loaded;
        if (row_.event_time_from_receipt) ++tally.time_from_receipt;
    }
    tally.blank_lines = records.blank_lines();
}

void preparer::add_row(pg::batch& out, const map::row& r)
{
    pg::copy_buffer& b = out.events;
    b.begin_row(event_fields);
    b.timestamptz(r.event_time);
    b.text(r.event_type);
    b.text(r.severity);
    optional_text(b, r.provider);
    optional_text(b, r.model);
    optional_text(b, r.request_id);
    b.boolean(r.blocked);
    if (r.taxonomy)
        b.jsonb(*r.taxonomy);
    else
        b.null();
    b.jsonb(std::span(r.metadata.data(), r.metadata_pieces));
}

void preparer::add_dead_letter(pg::batch& out, const origin& from,
                               std::int64_t receive_time, const position& at,
                               ks::reason why, std::string_view message,
                               std::string_view raw)
{
    // Reasons may quote input; names may be file paths in any encoding.
    // Both go to text columns, which accept only valid UTF-8.
    std::string_view kept = raw.substr(
        0, std::min(raw.size(), limits_.max_dead_letter_bytes));

    pg::copy_buffer& b = out.dead_letters;
    b.begin_row(dead_letter_fields);
    b.timestamptz(receive_time);
    b.text(from.kind);
    if (is_storable_text(from.name))
        b.text(from.name);
    else
        b.text(to_storable_text(from.name));
    optional_int(b, at.index);
    optional_int(b, at.line);
    optional_int(b, at.offset);
    b.text(reason_code(why));
    if (is_storable_text(message))
        b.text(message);
    else
        b.text(to_storable_text(message));
    b.bytea(kept);
    b.int64(static_cast<std::int64_t>(raw.size()));
}

} // namespace ks::ingest
