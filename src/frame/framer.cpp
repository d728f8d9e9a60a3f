#include "frame/framer.hpp"

#include "frame/scan_kernels.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string>

namespace ks::frame {

namespace {

/// Whether blocks are classified with AVX-512: decided once, the branch
/// on it then costs nothing.
const bool wide_kernels = detail::have_avx512_classify();

/// Byte classes the scanners look up instead of comparing one by one.
enum byte_class : std::uint8_t {
    space = 1,        // space, tab, CR, LF
    element_stop = 2, // ends a scalar or text element inside an array
    scalar_start = 4, // begins a JSON number, true, false or null
};

constexpr std::array<std::uint8_t, 256> make_classes() noexcept
{
    std::array<std::uint8_t, 256> table{};
    for (const char c : {' ', '\t', '\r', '\n'})
        table[static_cast<unsigned char>(c)] |= space | element_stop;
    for (const char c : {',', ']', '}', '[', '{', '"'})
        table[static_cast<unsigned char>(c)] |= element_stop;
    for (const char c : {'-', 't', 'f', 'n'})
        table[static_cast<unsigned char>(c)] |= scalar_start;
    for (char c = '0'; c <= '9'; ++c)
        table[static_cast<unsigned char>(c)] |= scalar_start;
    return table;
}

constexpr std::array<std::uint8_t, 256> classes = make_classes();

bool has_class(char c, byte_class which) noexcept
{
    return (classes[static_cast<unsigned char>(c)] & which) != 0;
}

/// Shape of a record that is not a complete value, from its first byte.
shape shape_of(char first) noexcept
{
    switch (first) {
    case '{':
        return shape::object;
    case '[':
        return shape::array;
    case '"':
        return shape::string;
    default:
        return has_class(first, scalar_start) ? shape::scalar : shape::text;
    }
}

/// Whether the '[' at `at` starts a log line rather than JSON, as
/// gunicorn's "[2026-03-30 16:02:11 +0000] [7] [INFO] Booting", nginx's
/// "[30/Mar/2026:16:02:11 +0000]" or "[INFO] ready" do: read as an array
/// such a line would be cut into pieces, and at the start of a body it
/// would swallow the whole body. Only what JSON cannot be counts: digits
/// followed by '-', ':' or '/' (a date or time), or a bare word other
/// than JSON's literals (and nan, inf, which shippers do write) ending
/// at ']' or a space.
bool starts_log_line(std::string_view body, std::size_t at) noexcept
{
    std::size_t i = at + 1;
    while (i < body.size() && (body[i] == ' ' || body[i] == '\t'))
        ++i;
    const std::size_t first = i;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    auto letter = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    };

    if (i < body.size() && digit(body[i])) {
        while (i < body.size() && digit(body[i]))
            ++i;
        return i < body.size() &&
               (body[i] == '-' || body[i] == ':' || body[i] == '/');
    }
    if (i == body.size() || !letter(body[i])) return false;
    while (i < body.size() && letter(body[i]))
        ++i;
    if (i == body.size() || (body[i] != ']' && body[i] != ' ')) return false;

    std::string word(body.substr(first, i - first));
    for (char& c : word)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return word != "true" && word != "false" && word != "null" &&
           word != "nan" && word != "inf" && word != "infinity";
}

/// Offset of the line feed ending the line that holds `from`, or `size`.
std::size_t line_end(std::string_view body, std::size_t from) noexcept
{
    const void* hit = std::memchr(body.data() + from, '\n', body.size() - from);
    if (hit == nullptr) return body.size();
    return static_cast<std::size_t>(static_cast<const char*>(hit) -
                                    body.data());
}

/// Offset of the last byte of `body` that is not whitespace; `body` must
/// hold one.
std::size_t last_content(std::string_view body) noexcept
{
    std::size_t last = body.size() - 1;
    while (has_class(body[last], space))
        --last;
    return last;
}

/// Brackets of one line left unmatched within it.
struct line_balance {
    std::size_t opens = 0;  // opened on the line and not closed on it
    std::size_t closes = 0; // closing brackets of values opened before it
};

/// Reads a line that starts outside any string as scan_nested reads it:
/// a backslash takes away the meaning of the next byte as a quote, and
/// strings hide brackets. Bracket kinds are not checked; the scan that
/// asks for this has already found them matching.
line_balance balance_of(std::string_view line) noexcept
{
    const char* data = line.data();
    const std::size_t size = line.size();
    line_balance b;
    bool escaped = false;

    for (std::size_t i = 0; i < size; ++i) {
        const char c = data[i];
        const bool was_escaped = escaped;
        escaped = c == '\\' && !was_escaped;
        if (c == '{' || c == '[') {
            ++b.opens;
        } else if (c == '}' || c == ']') {
            if (b.opens > 0)
                --b.opens;
            else
                ++b.closes;
        } else if (c == '"' && !was_escaped) {
            // Jump to the closing quote; an escape covers the next byte.
            i = detail::find_string_stop(data, i + 1, size);
            while (i < size && data[i] != '"') {
                const std::size_t skip = data[i] == '\\' ? 2 : 1;
                i = detail::find_string_stop(data, std::min(i + skip, size),
                                             size);
            }
        }
    }
    return b;
}

constexpr std::size_t shallow_levels = 64;

} // namespace

framer::framer(std::string_view body) noexcept : body_(body)
{
    // A byte order mark is an encoding label, not content.
    if (body_.size() >= 3 && body_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

framer::framer(std::string_view body, const resume_state& from) noexcept
    : body_(body), line_(from.line), index_(from.index),
      state_(from.in_array ? state::array_next : state::stream),
      line_has_record_(from.line_has_record),
      line_has_space_(from.line_has_space), arrays_only_(from.arrays_only)
{
}

std::uint64_t framer::blank_lines() const noexcept
{
    // A last line of spaces or tabs without a line feed is still a blank
    // line once the body has ended; the empty remainder after a final LF
    // is not. Before the end it may yet get a record.
    const bool blank_tail =
        stream_ended_ && !line_has_record_ && line_has_space_;
    return blank_lines_ + (blank_tail ? 1 : 0);
}

stop_point framer::where() const noexcept
{
    // Between values, the state is a handful of flags. The marks a cut
    // leaves on the lines up to its damage are not, so no point before
    // the line of the damage can be resumed.
    const bool between =
        state_ == state::stream || state_ == state::array_next || stream_ended_;

    stop_point p;
    p.offset = pos_;
    p.blank_lines = blank_lines_;
    p.resumable = between && pos_ >= broken_until_;
    p.state.line = line_;
    p.state.index = index_;
    p.state.in_array = state_ == state::array_next;
    p.state.arrays_only = arrays_only_;
    p.state.line_has_record = line_has_record_;
    p.state.line_has_space = line_has_space_;
    return p;
}

bool framer::next(record& out) noexcept
{
    // Every step either yields a record or moves pos_ or state_ forward,
    // so this ends.
    while (state_ != state::done) {
        const bool found =
            state_ == state::stream ? step_stream(out) : step_array(out);
        if (found) return true;
    }
    return false;
}

bool framer::step_stream(record& out) noexcept
{
    skip_stream_space();

    // End of body; blank_lines() judges the last line.
    if (pos_ == body_.size()) {
        stream_ended_ = true;
        state_ = state::done;
        return false;
    }

    // A top-level '[' opens a batch only while the body has held nothing
    // else; after that it is one record, like an object.
    if (body_[pos_] == '[' && arrays_only_ &&
        !starts_log_line(body_, pos_)) {
        ++pos_;
        state_ = state::array_open;
        return false;
    }

    frame_stream_value(out);
    return true;
}

bool framer::step_array(record& out) noexcept
{
    const std::size_t size = body_.size();
    skip_array_space();
    if (pos_ == size) {
        frame_rest(out, defect::unterminated, size);
        return true;
    }

    // Between elements exactly one comma, or the closing bracket.
    if (state_ == state::array_next) {
        if (body_[pos_] == ']') {
            leave_array(pos_ + 1);
            return false;
        }
        if (body_[pos_] == '}') {
            frame_rest(out, defect::unbalanced, pos_);
            return true;
        }
        if (body_[pos_] != ',') {
            frame_rest(out, defect::bad_separator, pos_);
            return true;
        }
        ++pos_;
        skip_array_space();
        if (pos_ == size) {
            frame_rest(out, defect::unterminated, size);
            return true;
        }
        if (body_[pos_] == ',' || body_[pos_] == ']') {
            frame_rest(out, defect::bad_separator, pos_);
            return true;
        }
        frame_element(out);
        return true;
    }

    // Right after '[': the first element, or ']' for an empty array.
    if (body_[pos_] == ']') {
        leave_array(pos_ + 1);
        return false;
    }
    if (body_[pos_] == ',') {
        frame_rest(out, defect::bad_separator, pos_);
        return true;
    }
    frame_element(out);
    return true;
}

void framer::frame_stream_value(record& out) noexcept
{
    const std::size_t start = pos_;
    const char first = body_[start];
    line_has_record_ = true;
    arrays_only_ = false;

    if (first == '{' || (first == '[' && !starts_log_line(body_, start))) {
        frame_stream_nested(out);
        return;
    }

    // Anything that is not a nested value or a string is read as one line;
    // a closing bracket there matches nothing. A log line that opens with
    // '[' is text.
    if (first != '"') {
        const bool stray = first == '}' || first == ']';
        const std::size_t stop = line_end(body_, start);
        emit(out, start, stop, line_,
             first == '[' ? shape::text : shape_of(first),
             stray ? defect::unbalanced : defect::none, stray ? start : 0);
        out.open_at_end = stop == body_.size();
        pos_ = stop;
        return;
    }

    // A string never spans lines: a line feed in it cuts it there.
    const scan_result r = scan_string(start);
    emit(out, start, r.end, line_, shape::string, r.problem, r.problem_offset);
    pos_ = r.end;
    if (r.problem == defect::unterminated) {
        out.open_at_end = true;
        state_ = state::done;
    }
}

void framer::frame_stream_nested(record& out) noexcept
{
    const std::size_t start = pos_;
    const std::uint64_t line = line_;
    const shape kind = shape_of(body_[start]);

    // An earlier cut already knows which values on this line its damage
    // breaks; scanning to the damage again would make framing quadratic.
    if (start < broken_until_ && is_broken_line(line)) {
        frame_on_broken_line(out);
        return;
    }

    scan_result r = scan_nested(start, body_.size());
    if (r.problem == defect::none || r.problem == defect::control_character) {
        emit(out, start, r.end, line, kind, r.problem, r.problem_offset);
        pos_ = r.end;
        return;
    }

    // Damage on a later line: the lines in between may be valid events, so
    // only the first line is kept and the rest is framed again. Trailing
    // whitespace is no later line.
    const std::size_t first_end = line_end(body_, start);
    const bool open = r.problem == defect::unterminated;
    const std::size_t damage = open ? last_content(body_) : r.problem_offset;
    if (damage > first_end) {
        line_ = line;
        mark_broken_lines(first_end + 1, damage, open ? body_.size() : damage,
                          line + 1);
        emit(out, start, first_end, line, kind, defect::unterminated,
             first_end);
        out.open_at_end = open;
        pos_ = first_end;
        return;
    }

    // Damage on the first line: a mismatched bracket spoils the rest of it.
    if (r.problem == defect::unbalanced) r.end = first_end;
    emit(out, start, r.end, line, kind, r.problem, r.problem_offset);
    out.open_at_end = open || r.end == body_.size();
    pos_ = r.end;
    if (open) state_ = state::done;
}

void framer::frame_on_broken_line(record& out) noexcept
{
    const std::size_t start = pos_;
    const shape kind = shape_of(body_[start]);
    const std::size_t stop = line_end(body_, start);

    // A value before the broken one on this line closes before it, hence
    // on the line; the broken one never closes.
    const scan_result r = scan_nested(start, stop);
    if (r.problem == defect::none || r.problem == defect::control_character) {
        emit(out, start, r.end, line_, kind, r.problem, r.problem_offset);
        pos_ = r.end;
        return;
    }
    emit(out, start, stop, line_, kind, defect::unterminated, stop);
    pos_ = stop;
}

void framer::mark_broken_lines(std::size_t from, std::size_t damage,
                               std::size_t damage_end,
                               std::uint64_t first_line) noexcept
{
    // Every line here starts outside a string, or the scan that found the
    // damage would have stopped at a line feed in a string first. The
    // damage's own line is framed as usual; what it closes before the
    // damage is owed to values opened on earlier lines.
    const std::size_t damage_line = body_.rfind('\n', damage - 1) + 1;
    std::size_t owed =
        balance_of(body_.substr(damage_line, damage_end - damage_line)).closes;

    // Back to the cut, last line first. Closings owed match the latest
    // unmatched openings; a line left with an opening unmatched holds a
    // value still open at the damage. Growth can fail only for want of
    // memory (a bit per line of a body already in memory); noexcept then
    // ends the process.
    broken_lines_.clear();
    for (std::size_t end = damage_line - 1; end >= from;) {
        const std::size_t begin = body_.rfind('\n', end - 1) + 1;
        const line_balance b = balance_of(body_.substr(begin, end - begin));
        broken_lines_.push_back(b.opens > owed);
        owed = (owed > b.opens ? owed - b.opens : 0) + b.closes;
        if (begin == from) break;
        end = begin - 1;
    }
    broken_until_ = damage_line;
    broken_last_line_ = first_line + broken_lines_.size() - 1;
}

bool framer::is_broken_line(std::uint64_t line) const noexcept
{
    // A line outside the marked ones wraps around past the last bit.
    const std::uint64_t slot = broken_last_line_ - line;
    return slot < broken_lines_.size() && broken_lines_[slot];
}

void framer::frame_element(record& out) noexcept
{
    const std::size_t start = pos_;
    const std::uint64_t line = line_;
    const char first = body_[start];

    // A closing brace where an element belongs breaks the array.
    if (first == '}') {
        frame_rest(out, defect::unbalanced, start);
        return;
    }

    // Scalars and text run to the next byte that could follow an element;
    // the parser decides whether they are valid.
    if (first != '{' && first != '[' && first != '"') {
        std::size_t stop = start + 1;
        while (stop < body_.size() && !has_class(body_[stop], element_stop))
            ++stop;
        emit(out, start, stop, line, shape_of(first), defect::none, 0);
        out.open_at_end = stop == body_.size();
        pos_ = stop;
        state_ = state::array_next;
        return;
    }

    scan_result r =
        first == '"' ? scan_string(start) : scan_nested(start, body_.size());
    bool rest = false;
    switch (r.problem) {
    case defect::none:
    case defect::control_character:
        pos_ = r.end;
        state_ = state::array_next;
        break;
    case defect::newline_in_string:
        // The array cannot be trusted past the cut; the next line is
        // framed as a stream.
        leave_array(r.end);
        break;
    default:
        // Nothing after a broken array can be trusted.
        r.end = body_.size();
        pos_ = r.end;
        state_ = state::done;
        rest = true;
        break;
    }
    emit(out, start, r.end, line, shape_of(first), r.problem, r.problem_offset);
    out.open_at_end = rest;
}

void framer::frame_rest(record& out, defect problem,
                        std::size_t problem_offset) noexcept
{
    const std::size_t start = pos_;
    const char first = start < body_.size() ? body_[start] : ' ';
    emit(out, start, body_.size(), line_, shape_of(first), problem,
         problem_offset);
    out.open_at_end = true;
    pos_ = body_.size();
    state_ = state::done;
}

framer::scan_result framer::scan_nested(std::size_t start,
                                        std::size_t limit) noexcept
{
    const char* data = body_.data();
    std::size_t control = limit; // first raw control byte in a string
    std::size_t depth = 0;
    std::uint64_t shallow = 0;      // bit d set: level d (< 64) is an array
    std::uint64_t escape_carry = 0; // next block starts with an escaped byte
    std::uint64_t string_carry = 0; // all ones: next block starts in a string

    for (std::size_t base = start; base < limit; base += detail::block_bytes) {
        // The last partial block is copied and padded with spaces, which
        // change nothing, so no byte past the limit is read.
        const char* block = data + base;
        char tail[detail::block_bytes];
        if (limit - base < detail::block_bytes) {
            std::memset(tail, ' ', sizeof tail);
            std::memcpy(tail, block, limit - base);
            block = tail;
        }
        const detail::block_masks m =
            wide_kernels ? detail::classify_block_avx512(block)
                         : detail::classify_block(block);

        // Quotes that are not escaped open and close strings.
        const std::uint64_t escaped =
            detail::escaped_bytes(m.backslash, escape_carry);
        const std::uint64_t in_string =
            detail::prefix_xor(m.quote & ~escaped) ^ string_carry;
        string_carry = 0 - (in_string >> 63);

        // Brackets outside strings and raw control bytes inside them are
        // the only events, taken in order.
        const std::uint64_t raw_in_string = m.control & in_string;
        const std::uint64_t between = m.control & ~in_string;
        std::uint64_t events = (m.bracket & ~in_string) | raw_in_string;
        while (events != 0) {
            const int k = std::countr_zero(events);
            const std::uint64_t bit = std::uint64_t{1} << k;
            const std::size_t at = base + static_cast<std::size_t>(k);
            const char c = block[k];
            events &= events - 1;

            // JSON strings never hold a raw line feed: cut the record.
            if ((raw_in_string & bit) != 0) {
                if (c == '\n') {
                    count_lines(block, between & (bit - 1));
                    return {at, defect::newline_in_string, at};
                }
                if (control == limit) control = at;
                continue;
            }

            // Open a level, remembering which bracket closes it.
            if (c == '{' || c == '[') {
                const bool is_array = c == '[';
                if (depth < shallow_levels) {
                    const std::uint64_t level = std::uint64_t{1} << depth;
                    shallow = is_array ? shallow | level : shallow & ~level;
                } else {
                    set_deep_level(depth, is_array);
                }
                ++depth;
                continue;
            }

            // Close a level; the value ends when the first one closes.
            --depth;
            const bool was_array = depth < shallow_levels
                                       ? ((shallow >> depth) & 1) != 0
                                       : deep_levels_[depth - shallow_levels];
            if (was_array != (c == ']')) {
                count_lines(block, between & (bit - 1));
                return {at, defect::unbalanced, at};
            }
            if (depth == 0) {
                count_lines(block, between & (bit - 1));
                if (control < limit)
                    return {at + 1, defect::control_character, control};
                return {at + 1, defect::none, 0};
            }
        }
        count_lines(block, between);
    }
    return {limit, defect::unterminated, limit};
}

void framer::count_lines(const char* block, std::uint64_t candidates) noexcept
{
    // Control bytes between tokens are rare outside pretty-printed bodies,
    // where they are mostly line feeds.
    while (candidates != 0) {
        line_ += block[std::countr_zero(candidates)] == '\n';
        candidates &= candidates - 1;
    }
}

framer::scan_result framer::scan_string(std::size_t start) noexcept
{
    std::size_t control = body_.size();
    std::size_t at = 0;
    const defect cut = scan_string_body(start + 1, at, control);
    if (cut != defect::none) return {at, cut, at};
    if (control < body_.size())
        return {at + 1, defect::control_character, control};
    return {at + 1, defect::none, 0};
}

defect framer::scan_string_body(std::size_t from, std::size_t& at,
                                std::size_t& control) noexcept
{
    const char* data = body_.data();
    const std::size_t size = body_.size();

    for (;;) {
        // Plain content is skipped 16 bytes at a time where possible.
        from = detail::find_string_stop(data, from, size);
        if (from == size) {
            at = size;
            return defect::unterminated;
        }

        const char c = data[from];
        if (c == '"') {
            at = from;
            return defect::none;
        }

        // An escape covers the next byte, which may itself be a raw
        // control byte or a line feed.
        std::size_t raw = from;
        if (c == '\\') {
            raw = from + 1;
            if (raw == size) {
                at = size;
                return defect::unterminated;
            }
            if (static_cast<unsigned char>(data[raw]) >= 0x20) {
                from = raw + 1;
                continue;
            }
        }

        // JSON strings never hold a raw line feed: cut the record there.
        if (data[raw] == '\n') {
            at = raw;
            return defect::newline_in_string;
        }
        if (control == size) control = raw;
        from = raw + 1;
    }
}

void framer::set_deep_level(std::size_t depth, bool is_array) noexcept
{
    // Levels only grow one at a time, so this appends at most one entry.
    // Growth can fail only for want of memory (a bit per level of a body
    // already in memory); noexcept then ends the process.
    const std::size_t slot = depth - shallow_levels;
    if (slot == deep_levels_.size())
        deep_levels_.push_back(is_array);
    else
        deep_levels_[slot] = is_array;
}

void framer::skip_stream_space() noexcept
{
    const char* data = body_.data();
    const std::size_t size = body_.size();

    while (pos_ < size) {
        const char c = data[pos_];
        if (c == '\n') {
            // The line that ends here is blank unless a record touched it.
            if (!line_has_record_) ++blank_lines_;
            line_has_record_ = false;
            line_has_space_ = false;
            ++line_;
        } else if (c == ' ' || c == '\t') {
            line_has_space_ = true;
        } else if (c != '\r') {
            return;
        }
        ++pos_;
    }
}

void framer::skip_array_space() noexcept
{
    const char* data = body_.data();
    const std::size_t size = body_.size();

    while (pos_ < size && has_class(data[pos_], space)) {
        if (data[pos_] == '\n') ++line_;
        ++pos_;
    }
}

void framer::leave_array(std::size_t resume) noexcept
{
    // The line of the closing bracket or cut holds a record; it is not
    // blank.
    pos_ = resume;
    state_ = state::stream;
    line_has_record_ = true;
}

void framer::emit(record& out, std::size_t start, std::size_t stop,
                  std::uint64_t line, shape kind, defect problem,
                  std::size_t problem_offset) noexcept
{
    while (stop > start && has_class(body_[stop - 1], space))
        --stop;

    out.offset = start;
    out.length = stop - start;
    out.line = line;
    out.index = index_++;
    out.kind = kind;
    out.problem = problem;
    out.open_at_end = false;
    out.problem_offset = problem_offset;
}

} // namespace ks::frame
