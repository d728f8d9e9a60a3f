#include "ingest/pipeline.hpp"

#include "core/text.hpp"
#include "frame/framer.hpp"
#include "map/timestamp.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <span>
#include <string>

namespace ks::ingest {

namespace {

constexpr std::int16_t event_fields = 9;
constexpr std::int16_t dead_letter_fields = 10;

/// Decoded text a preparer keeps memory for between bodies: enough for
/// Vector's 10 MB batches, whose next body then decodes into pages
/// already mapped instead of faulting in fresh ones (a fifth of the
/// sink's CPU for such bodies). A larger buffer is freed, so an idle
/// thread holds a bounded amount of memory that no budget covers.
constexpr std::size_t kept_text_bytes = 16u << 20;

/// Rows are given room at once for what the text should encode to (the
/// last text's rows per byte, a typical event about 1.2 times its JSON,
/// and a sixteenth more): growing later costs a copy of everything
/// encoded so far. Large reservations are whole MiB, so that the block of
/// an earlier batch of about the same size can be reused (see
/// ks::keep_freed_large_blocks) instead of a new one faulting in page by
/// page. Room that stays unused is given back once the body is done.
constexpr std::size_t rows_reserve_unit = 1u << 20;

/// A compressed body is first allowed to decode to this many times its
/// size (JSON logs compress about 5 to 20 times), and never less than
/// min_text_allowance; a larger text is decoded again with four times
/// the allowance.
constexpr std::size_t first_expansion = 16;
constexpr std::size_t min_text_allowance = 64u << 10;

/// Encoded rows grow by at least this much at a time.
constexpr std::size_t min_rows_growth = 8u << 10;

/// Unused room a finished batch keeps without being shrunk.
constexpr std::size_t kept_slack_bytes = 64u << 10;

/// Bytes of a tuple besides its values: the field count, then a length
/// per field.
constexpr std::size_t tuple_overhead(std::int16_t fields)
{
    return 2 + 4 * static_cast<std::size_t>(fields);
}

/// Memory decoding may take with an allowance of `text` bytes and
/// `scratch` intermediate buffers. The decoded text never grows past the
/// allowance plus the byte that reveals an overflow; a coding undone
/// before the last writes into a scratch buffer of body_decoder, allowed
/// an eighth and 4 KiB more than the text; two of them take turns.
std::size_t text_cost(std::size_t text, std::size_t scratch)
{
    const std::size_t own = text + 1 + json_padding_bytes;
    return own + scratch * (text + text / 8 + 4096 + json_padding_bytes);
}

/// The largest text allowance whose text_cost fits in `room`.
std::size_t largest_allowance(std::size_t room, std::size_t scratch)
{
    const std::size_t fixed = text_cost(0, scratch);
    if (room <= fixed) return 0;
    return (room - fixed) / (8 + 9 * scratch) * 8;
}

/// Whether undoing `codings` is a plain copy of the body.
bool is_plain(std::span<const decode::encoding> codings)
{
    return std::all_of(codings.begin(), codings.end(),
                       [](auto c) { return c == decode::encoding::identity; });
}

/// The first text allowance for a body of `size` bytes.
std::size_t first_allowance(std::span<const decode::encoding> codings,
                            std::size_t size)
{
    if (is_plain(codings)) return size;
    constexpr std::size_t most = std::numeric_limits<std::size_t>::max();
    if (size > most / first_expansion) return most;
    return std::max(size * first_expansion, min_text_allowance);
}

/// Bytes add_row writes for `r`.
std::size_t row_bytes(const map::row& r)
{
    auto length = [](const std::optional<std::string_view>& v) {
        return v ? v->size() : 0;
    };
    std::size_t n = tuple_overhead(event_fields) + 8 + 1; // time, blocked
    n += r.event_type.size() + r.severity.size();
    n += length(r.provider) + length(r.model) + length(r.request_id);
    n += r.taxonomy ? 1 + r.taxonomy->size() : 0; // jsonb version byte
    return n + 1 + r.metadata_bytes();
}

// A sentence for a record the framer already found broken; its byte
// counts from the start of the record, as the parser's do.
std::string defect_message(const frame::record& rec)
{
    const std::size_t into = rec.problem_offset >= rec.offset
                                 ? rec.problem_offset - rec.offset
                                 : 0;
    std::string at = " at byte " + std::to_string(into);
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

/// Appends one dead-letter tuple; `kept` is the part of the raw bytes
/// stored, `raw_bytes` their full size.
void put_dead_letter(pg::copy_buffer& b, const origin& from,
                     std::int64_t receive_time, std::int64_t index,
                     std::int64_t line, std::int64_t offset, ks::reason why,
                     std::string_view message, std::string_view kept,
                     std::uint64_t raw_bytes)
{
    // Reasons may quote input; names may be file paths in any encoding.
    // Both go to text columns, which accept only valid UTF-8.
    b.begin_row(dead_letter_fields);
    b.timestamptz(receive_time);
    b.text(from.kind);
    if (is_storable_text(from.name))
        b.text(from.name);
    else
        b.text(to_storable_text(from.name));
    optional_int(b, index);
    optional_int(b, line);
    optional_int(b, offset);
    b.text(reason_code(why));
    if (is_storable_text(message))
        b.text(message);
    else
        b.text(to_storable_text(message));
    b.bytea(kept);
    b.int64(static_cast<std::int64_t>(raw_bytes));
}

/// The JSON text of an events tuple's last field (metadata, the event as
/// mapped); empty when it is NULL or the tuple does not parse.
std::string_view metadata_of(std::string_view tuple)
{
    // jsonb's binary form: a version byte, then the text.
    const std::string_view value = pg::copy_buffer::last_field(tuple);
    return value.empty() ? value : value.substr(1);
}

/// What a dead letter for a row PostgreSQL refused is made of. The
/// writer calls it on its own thread, after the preparer moved on, so it
/// owns copies of everything it needs.
struct refusal_letters {
    std::string kind;
    std::string name;
    std::int64_t receive_time = 0;
    std::uint64_t first_index = 0; // of the batch's first record
    std::vector<std::uint64_t> gaps; // see preparer::gaps_
    std::size_t max_bytes = 0;

    void operator()(std::uint64_t row, std::string_view tuple,
                    std::string_view why, pg::copy_buffer& out) const
    {
        // Each record before the row that did not become a row moves it
        // one index further.
        const auto before = static_cast<std::uint64_t>(
            std::upper_bound(gaps.begin(), gaps.end(), row) - gaps.begin());
        const std::uint64_t index = first_index + row + before;

        const std::string_view event = metadata_of(tuple);
        const std::string message =
            "PostgreSQL refused the row: " + std::string(why) +
            "; raw holds the event as mapped (metadata)";
        put_dead_letter(out, origin{kind, name}, receive_time,
                        static_cast<std::int64_t>(index), -1, -1,
                        ks::reason::rejected_by_database, message,
                        event.substr(0, std::min(event.size(), max_bytes)),
                        event.size());
    }
};

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
                                 std::span<const char> body, const origin& from,
                                 std::int64_t receive_time, pg::batch& out,
                                 counts& tally, budget_hold* hold,
                                 digest* body_key)
{
    tally = {};
    out.events.reset();
    out.dead_letters.reset();
    gaps_.clear();
    hold_ = hold;
    held_before_ = hold == nullptr ? 0 : hold->bytes();
    text_bytes_ = 0;
    text_in_scratch_ = false;

    // A large text buffer left by a body that threw is not kept either.
    if (hold != nullptr && decoded_.capacity() > kept_text_bytes)
        decoded_ = padded_buffer{};

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
    decode::result decoded;
    if (!decode_within_budget(codings.order, body, decoded)) return refuse(out);
    if (decoded.error == decode::errc::too_large) {
        put_down_text(out);
        return {prepare_status::too_large, decoded.message, 0};
    }

    // A retry resends the bytes it sent before, so a request is named by
    // them and its codings. A compressed body is a fraction of its text:
    // hashing the text cost a tenth of the sink's CPU. Plain bodies keep
    // the digest of the text alone; coded ones are tagged, so that no
    // plain text can name a coded request.
    if (body_key != nullptr) {
        if (codings.order.empty()) {
            *body_key = sha256({body.data(), body.size()});
        } else {
            std::string names;
            for (decode::encoding e : codings.order) {
                names += decode::encoding_name(e);
                names += ',';
            }
            *body_key =
                tagged_sha256("coded", {names, {body.data(), body.size()}});
        }
    }

    // A body that cannot be decoded is kept whole, as received, so it can
    // be inspected and replayed; loading a prefix of it would store part
    // of a batch the client may later send again intact.
    if (decoded.error != decode::errc::ok) {
        position at;
        at.offset = static_cast<std::int64_t>(decoded.input_offset);
        if (!add_dead_letter(out, from, receive_time, at,
                             ks::reason::decode_failed, decoded.message,
                             {body.data(), body.size()}))
            return refuse(out);
        tally.received = 1;
        tally.dead_lettered = 1;
    } else if (!prepare_records(decoded_.view(), from, receive_time, out,
                                tally)) {
        return refuse(out);
    }
    learn_rows_per_text(out, decoded_.size());

    if (!finish_batch(out)) return refuse(out);
    arm_refusals(out, from, receive_time, 0);
    put_down_text(out);
    prepare_result done;
    done.undecodable = decoded.error != decode::errc::ok;
    if (done.undecodable) done.message = decoded.message;
    return done;
}

bool preparer::finish_batch(pg::batch& out)
{
    constexpr std::size_t trailer = pg::copy_buffer::trailer_bytes;
    if (!make_room(out, out.events, trailer)) return false;
    if (!make_room(out, out.dead_letters, trailer)) return false;
    out.events.finish();
    out.dead_letters.finish();

    // The batch waits for its commit holding its budget: room reserved
    // for rows that turned out much smaller or fewer is given back first.
    // A reservation that was about right stays whole, for the next body
    // of that size to reuse once this batch is freed.
    for (pg::copy_buffer* b : {&out.events, &out.dead_letters}) {
        const std::size_t slack = b->capacity() - b->bytes().size();
        if (slack > std::max(kept_slack_bytes, b->capacity() / 4))
            b->shrink_to_fit();
    }
    return true;
}

bool preparer::decode_within_budget(std::span<const decode::encoding> codings,
                                    std::span<const char> body,
                                    decode::result& decoded)
{
    const std::size_t most = limits_.max_decoded_bytes;
    text_in_scratch_ = codings.size() > 1;
    if (hold_ == nullptr) {
        decoded = decoder_.decode(codings, body, most, decoded_);
        return true;
    }

    // The allowance may grow up to what the whole budget could hold
    // beside what the caller holds already.
    const std::size_t scratch =
        std::min<std::size_t>(codings.size() > 1 ? codings.size() - 1 : 0, 2);
    const std::size_t limit = hold_->budget().limit();
    const std::size_t room = limit > held_before_ ? limit - held_before_ : 0;
    const std::size_t ceiling =
        std::min(most, largest_allowance(room, scratch));

    // Guess, decode, and decode again with more when the guess was short.
    std::size_t allowance =
        std::min(ceiling, first_allowance(codings, body.size()));
    for (;;) {
        const std::size_t cost = text_cost(allowance, scratch);
        if (!hold_->grow_to(held_before_ + cost)) {
            refused_total_ = held_before_ + cost;
            refused_for_good_ = false;
            return false;
        }
        text_bytes_ = cost;

        decoded = decoder_.decode(codings, body, allowance, decoded_);
        if (decoded.error != decode::errc::too_large || allowance == most) {
            charge_text_as_decoded(scratch);
            return true;
        }
        if (allowance == ceiling) {
            refused_total_ = limit;
            refused_for_good_ = true;
            return false;
        }
        allowance = allowance > ceiling / 4 ? ceiling : allowance * 4;
    }
}

void preparer::charge_text_as_decoded(std::size_t scratch)
{
    // The allowance was a guess at the text's size, and a body that
    // compresses very well was allowed up to the whole budget: charged
    // at that, its rows would not fit beside it, and it would be refused
    // as larger than the budget. Once decoded, a text of one coding is
    // charged at what it takes. Intermediate buffers of several codings
    // stay charged as allowed.
    if (scratch != 0) return;

    // A body large beside the budget (with its rows, more than half of
    // it) first gives back the room its text grew into by doubling.
    // Others keep it: the next body of that size then finds its pages
    // mapped instead of faulting them in again.
    const std::size_t at_capacity = held_before_ +
                                     text_cost(decoded_.capacity(), 0) +
                                     rows_for_text(decoded_.size());
    if (at_capacity > hold_->budget().limit() / 2 &&
        decoded_.capacity() - decoded_.size() > kept_slack_bytes)
        decoded_.shrink_to_fit();
    const std::size_t cost = text_cost(decoded_.capacity(), 0);
    if (cost >= text_bytes_) return;
    text_bytes_ = cost;
    hold_->shrink_to(held_before_ + text_bytes_);
}

bool preparer::reserve_rows(pg::batch& out, std::size_t text_bytes)
{
    std::size_t guess = rows_for_text(text_bytes);
    guess += guess / 16;
    if (guess >= rows_reserve_unit)
        guess = (guess + rows_reserve_unit - 1) / rows_reserve_unit *
                rows_reserve_unit;

    // A guess that could not fit even in the whole budget refuses
    // nothing: the rows then grow as they are written, and only what they
    // really need counts. One that does not fit now waits, before any
    // row is encoded, as every body does when the budget is busy.
    if (make_room(out, out.events, guess)) return true;
    if (!refused_for_good_) return false;
    refused_for_good_ = false;
    return true;
}

void preparer::learn_rows_per_text(const pg::batch& out,
                                   std::size_t text_bytes) noexcept
{
    // Small texts say little about the next large one.
    if (text_bytes >= 64 * 1024)
        rows_per_kib_ = std::max<std::size_t>(
            1, out.events.bytes().size() / (text_bytes / 1024));
}

bool preparer::make_room(pg::batch& out, pg::copy_buffer& b, std::size_t more)
{
    // Room already there: nothing is allocated.
    const std::size_t used = b.bytes().size();
    if (b.capacity() - used >= more) return true;

    // Grow by doubling, so that appending stays linear; the budget is
    // asked before the memory is taken, then told what was really taken.
    // Where doubling could not fit even in the whole budget, a sixteenth
    // more than needed, then what is needed: only that decides whether
    // the body could ever fit. A budget busy now makes the body wait.
    const std::size_t need = used + more;
    const std::size_t steps[] = {
        std::max({need, 2 * b.capacity(), min_rows_growth}),
        need + need / 16, need};
    for (std::size_t want : steps) {
        if (cover(out, want - b.capacity())) {
            b.reserve(want);
            return cover(out, 0);
        }
        if (!refused_for_good_) return false;
    }
    return false;
}

bool preparer::cover(const pg::batch& out, std::size_t extra)
{
    if (hold_ == nullptr) return true;
    const std::size_t total = held_before_ + text_bytes_ +
                              out.events.capacity() +
                              out.dead_letters.capacity() + extra;
    if (hold_->grow_to(total)) return true;

    refused_total_ = total;
    refused_for_good_ = total > hold_->budget().limit();
    return false;
}

prepare_result preparer::refuse(pg::batch& out)
{
    // Nothing of a refused body is kept: its rows are freed before the
    // hold lets go of them.
    out.events = pg::copy_buffer{};
    out.dead_letters = pg::copy_buffer{};
    put_down_text(out);
    hold_->shrink_to(held_before_);

    const std::string limit = std::to_string(hold_->budget().limit());
    if (refused_for_good_)
        return {prepare_status::larger_than_budget,
                "decoded and encoded, the body needs more memory than the "
                "sink's whole budget of " +
                    limit + " bytes; send smaller batches",
                refused_total_};
    return {prepare_status::over_budget,
            "the sink is at its memory budget of " + limit +
                " bytes; retry later",
            refused_total_};
}

void preparer::put_down_text(const pg::batch& out)
{
    if (hold_ == nullptr) return;

    // Large text buffers are freed, so that what the budget does not
    // cover stays small; scratch buffers of several codings are rare.
    if (decoded_.capacity() > kept_text_bytes) decoded_ = padded_buffer{};
    if (text_in_scratch_) decoder_ = decode::body_decoder{};
    text_in_scratch_ = false;

    text_bytes_ = 0;
    hold_->shrink_to(held_before_ + out.events.capacity() +
                     out.dead_letters.capacity());
}

bool preparer::prepare_records(std::string_view text, const origin& from,
                               std::int64_t receive_time, pg::batch& out,
                               counts& tally)
{
    if (!reserve_rows(out, text.size())) return false;

    frame::framer records(text);
    frame::record rec;
    while (records.next(rec))
        if (!take_record(text, rec, 0, from, receive_time, out, tally))
            return false;
    tally.blank_lines = records.blank_lines();
    return true;
}

prepare_result preparer::prepare_framed(std::string_view text,
                                        std::span<const frame::record> records,
                                        std::uint64_t base_offset,
                                        std::uint64_t blank_lines,
                                        const origin& from,
                                        std::int64_t receive_time,
                                        pg::batch& out, counts& tally,
                                        const unreadable_input* unreadable)
{
    tally = {};
    out.events.reset();
    out.dead_letters.reset();
    gaps_.clear();
    hold_ = nullptr;

    // Without a budget hold no step is refused: the steps' results can
    // only be true here.
    bool fine = reserve_rows(out, text.size());
    for (const frame::record& rec : records)
        fine = fine && take_record(text, rec, base_offset, from,
                                   receive_time, out, tally);
    tally.blank_lines = blank_lines;
    if (unreadable != nullptr) {
        position at{static_cast<std::int64_t>(unreadable->record_index), -1,
                    static_cast<std::int64_t>(unreadable->offset)};
        fine = fine && add_dead_letter(out, from, receive_time, at,
                                       ks::reason::decode_failed,
                                       unreadable->message, unreadable->raw,
                                       unreadable->raw_bytes);
        ++tally.received;
        ++tally.dead_lettered;
    }
    fine = fine && finish_batch(out);
    learn_rows_per_text(out, text.size());
    if (fine)
        arm_refusals(out, from, receive_time,
                     records.empty() ? 0 : records.front().index);
    return {fine ? prepare_status::ok : prepare_status::over_budget, "", 0};
}

bool preparer::take_record(std::string_view text, const frame::record& rec,
                           std::uint64_t base_offset, const origin& from,
                           std::int64_t receive_time, pg::batch& out,
                           counts& tally)
{
    ++tally.received;
    std::string_view raw = text.substr(rec.offset, rec.length);
    position at{static_cast<std::int64_t>(rec.index),
                static_cast<std::int64_t>(rec.line),
                static_cast<std::int64_t>(base_offset + rec.offset)};

    // Structural damage found while framing needs no parse.
    if (rec.problem != frame::defect::none) {
        if (!add_dead_letter(out, from, receive_time, at,
                             defect_reason(rec.problem),
                             defect_message(rec),
                             raw))
            return false;
        ++tally.dead_lettered;
        return true;
    }

    // The record sits inside padded text, whose padding simdjson needs.
    if (!mapper_.map(raw, rec.kind, receive_time, row_, rejection_)) {
        if (!add_dead_letter(out, from, receive_time, at, rejection_.why,
                             rejection_.message, raw))
            return false;
        ++tally.dead_lettered;
        return true;
    }
    if (!add_row(out, row_)) return false;
    ++tally.loaded;
    if (row_.event_time_from_receipt) ++tally.time_from_receipt;
    if (row_.text_line) ++tally.text_lines;
    return true;
}

bool preparer::add_row(pg::batch& out, const map::row& r)
{
    pg::copy_buffer& b = out.events;
    if (!make_room(out, b, row_bytes(r))) return false;

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

    // Covers a row larger than row_bytes() said, which would be a bug.
    return cover(out, 0);
}

bool preparer::add_dead_letter(pg::batch& out, const origin& from,
                               std::int64_t receive_time, const position& at,
                               ks::reason why, std::string_view message,
                               std::string_view raw, std::uint64_t raw_bytes)
{
    // The full size, when the caller holds only the start of the bytes.
    raw_bytes = std::max<std::uint64_t>(raw_bytes, raw.size());
    std::string_view kept = raw.substr(
        0, std::min(raw.size(), limits_.max_dead_letter_bytes));

    // Room for five 8-byte values, the texts (a byte made storable takes
    // at most 3) and the kept bytes.
    pg::copy_buffer& b = out.dead_letters;
    const std::size_t bytes = tuple_overhead(dead_letter_fields) + 5 * 8 +
                              from.kind.size() + 3 * from.name.size() +
                              reason_code(why).size() + 3 * message.size() +
                              kept.size();
    if (!make_room(out, b, bytes)) return false;

    put_dead_letter(b, from, receive_time, at.index, at.line, at.offset, why,
                    message, kept, raw_bytes);
    gaps_.push_back(out.events.rows());
    return cover(out, 0);
}

void preparer::arm_refusals(pg::batch& out, const origin& from,
                            std::int64_t receive_time,
                            std::uint64_t first_index)
{
    // Only a batch with rows can have rows refused.
    if (out.events.rows() == 0) {
        out.on_refusal = {};
        gaps_.clear();
        return;
    }
    out.on_refusal.dead_letter = refusal_letters{
        std::string(from.kind), std::string(from.name), receive_time,
        first_index, std::move(gaps_), limits_.max_dead_letter_bytes};
    gaps_.clear();
}

} // namespace ks::ingest
