#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace ks::frame {

/// What the framer could tell about a record from its structure alone.
enum class defect : std::uint8_t {
    none,              // balanced; still needs a real JSON parse
    unterminated,      // input ended inside the record
    unbalanced,        // a closing bracket that does not match
    newline_in_string, // raw line break inside a string: record cut there
    control_character, // raw byte < 0x20 inside a string
    bad_separator,     // array elements not separated by one comma
};

/// How a record started, which decides how it is read later.
enum class shape : std::uint8_t {
    object, // starts with '{'
    array,  // starts with '[' (see framer for when '[' opens a batch)
    string, // a JSON string (bare string element)
    scalar, // number, true, false, null
    text,   // a line that does not start like JSON
};

/// One record: a byte range of the body plus where it came from.
struct record {
    std::size_t offset = 0;  // byte offset of the first byte in the body
    std::size_t length = 0;  // bytes, surrounding whitespace excluded
    std::uint64_t line = 1;  // 1-based line of the first byte
    std::uint64_t index = 0; // 0-based position among all records
    shape kind = shape::text;
    defect problem = defect::none;
    /// The body ended before anything ended the record: a longer body
    /// could make it longer or frame it otherwise. See framer.
    bool open_at_end = false;
    std::size_t problem_offset = 0; // body offset of the defect, if any
};

/// What a new framer needs to frame the rest of a text exactly as the
/// framer that stopped in it would have gone on.
struct resume_state {
    std::uint64_t line = 1;       // line number at the resume point
    std::uint64_t index = 0;      // records framed before it
    bool in_array = false;        // in a top-level array, after an element
    bool arrays_only = true;      // nothing but top-level arrays so far
    bool line_has_record = false; // the current line holds a record
    bool line_has_space = false;  // the current line has a space or tab
};

/// Where a framer stands after a call to next(), for a caller that frames
/// a long text a piece at a time.
struct stop_point {
    std::size_t offset = 0;        // body offset where framing goes on
    std::uint64_t blank_lines = 0; // blank lines before offset
    /// A framer made from `state` over the body from `offset` on frames
    /// it exactly as this one goes on: same records, lines and blanks.
    bool resumable = false;
    resume_state state;
};

/// Splits a decoded body into records without parsing values.
///
/// Accepted layouts, detected from the bytes: a JSON array (its elements
/// are the records), NDJSON with or without a final newline, with CRLF and
/// blank lines, values back to back with nothing between them, a single
/// value, pretty-printed objects spanning lines, and several top-level
/// arrays in a row. A UTF-8 byte order mark at the start is skipped.
///
/// A top-level '[' opens a batch, whose elements are the records, only
/// while the body has held nothing but such batches. Once any other value
/// has been framed, a '[' starts an ordinary record of shape array, read
/// like an object, so an NDJSON line `[1,2]` stays one record and a dead
/// letter keeps the bytes that were sent.
///
/// Damage is contained: a record with a defect is reported as one record
/// and framing resumes after it, so one broken event costs as few of its
/// neighbours as the layout allows:
/// - An object or array in the stream whose damage (no end before the
///   body ends, a mismatched bracket, a line feed in a string) lies on a
///   later line than its start is cut at the end of its first line,
///   flagged unterminated, and framing resumes on the next line. Without
///   the cut, a line truncated by its writer would swallow every valid
///   event behind it. The price is paid by a pretty-printed value that is
///   really broken: it comes out as its first line, then its other lines
///   framed one by one; every byte still belongs to a record.
/// - Damage on the value's first line keeps it to that line: a mismatched
///   bracket spoils the rest of its line, a line feed in a string cuts the
///   record there, and a value left open at the end of the body runs to
///   the end.
/// - Inside a top-level array, a line feed in a string cuts the record and
///   the next line is framed as a stream; any other broken structure makes
///   the rest of the body one record, since nothing after it can be
///   trusted.
///
/// Details a caller can see:
/// - In the stream, a value that starts with none of '{', '[' and '"' is
///   read to the end of its line (shape scalar or text); one that starts
///   with '}' or ']' closes nothing and is flagged unbalanced.
/// - A top-level array that ends after a complete element or a comma,
///   without its ']', yields a last record of length 0 at the end of the
///   body flagged unterminated, so a truncated batch is never silent.
/// - For unterminated, problem_offset is the body size, or the line feed
///   where the record was cut.
/// - Inside an object or array a backslash takes away the meaning of the
///   next byte as a quote, even outside strings; only invalid JSON has
///   one there, and the parser rejects it.
/// - Framing takes time linear in the body, however many values are cut.
/// - A record flagged open_at_end ran into the end of the body: a value
///   or string still open, a line or array element without the byte that
///   ends it, or the rest of a broken array. A value still open that is
///   cut at the end of its first line is flagged too, though the cut
///   comes first. A record that is not flagged but ends exactly at the
///   end of the body may still be part of something longer (a line that
///   goes on); see "Framing in pieces".
/// - Only bytes of the body are read: no padding is needed. Nesting
///   deeper than 64 levels keeps one bit per level on the heap, and a cut
///   keeps one bit per line up to its damage; both are reused for the
///   framer's life, and nothing is allocated otherwise.
///
/// Framing in pieces: a text too long to hold can be framed a window at
/// a time. Framed alone, a prefix of a text yields the same records as
/// the whole text, with the same where() after each, up to the first
/// record that is open_at_end or after which where() is at the end of
/// the prefix. At a point where() calls resumable, a framer made with
/// that state over the text from there goes on as the first would have.
///
/// The body must outlive the framer; records refer to it by offset.
class framer {
public:
    /// Frames a whole body, skipping a byte order mark at its start.
    explicit framer(std::string_view body) noexcept;

    /// Goes on framing where another framer stopped: `body` starts at
    /// that framer's stop_point offset, and `from` is its state. No byte
    /// order mark is skipped; records count lines and indexes on from
    /// `from`, and offsets from the start of `body`.
    framer(std::string_view body, const resume_state& from) noexcept;

    /// Fills `out` with the next record; returns false when none is left.
    bool next(record& out) noexcept;

    /// Lines holding only whitespace, outside any record, seen so far;
    /// once the body has ended, a last line of only spaces or tabs too.
    std::uint64_t blank_lines() const noexcept;

    /// Where framing stands: after next() returned a record, just after
    /// that record; after it returned false, at the end of the body,
    /// resumable only if the body ended between values of the stream.
    stop_point where() const noexcept;

private:
    /// Where framing stands between two records.
    enum class state : std::uint8_t {
        stream,     // between top-level values
        array_open, // just after a top-level '['
        array_next, // after an element: expecting ',' or ']'
        done,       // body used up, or abandoned after a broken array
    };

    /// Where the scan of one value stopped and why.
    struct scan_result {
        std::size_t end = 0; // one past the value, or where it was cut
        defect problem = defect::none;
        std::size_t problem_offset = 0;
    };

    /// One step in stream mode; false when no record came out of it.
    bool step_stream(record& out) noexcept;

    /// One step inside a top-level array; false when no record came out.
    bool step_array(record& out) noexcept;

    /// Frames the stream value starting at pos_.
    void frame_stream_value(record& out) noexcept;

    /// Frames the stream object or array starting at pos_, cutting it at
    /// the end of its first line when its damage lies further on.
    void frame_stream_nested(record& out) noexcept;

    /// Frames the value starting at pos_ on a line marked by
    /// mark_broken_lines: it is broken exactly when it does not close on
    /// its line.
    void frame_on_broken_line(record& out) noexcept;

    /// Marks the lines from `from` up to the line holding `damage` that
    /// hold a value the same damage breaks: those whose opening brackets
    /// outnumber the closing ones owed to them from later lines, up to
    /// `damage_end`. `first_line` is the line number at `from`.
    void mark_broken_lines(std::size_t from, std::size_t damage,
                           std::size_t damage_end,
                           std::uint64_t first_line) noexcept;

    /// True when mark_broken_lines marked `line`.
    bool is_broken_line(std::uint64_t line) const noexcept;

    /// Frames the array element starting at pos_.
    void frame_element(record& out) noexcept;

    /// Makes the rest of the body one damaged record and stops framing.
    void frame_rest(record& out, defect problem,
                    std::size_t problem_offset) noexcept;

    /// Scans an object or array starting at `start` to its closing
    /// bracket; a value still open at `limit` is unterminated there.
    scan_result scan_nested(std::size_t start, std::size_t limit) noexcept;

    /// Scans a JSON string whose opening quote is at `start`.
    scan_result scan_string(std::size_t start) noexcept;

    /// Scans string content from `from` (after the opening quote); on
    /// return `at` is the closing quote, the cutting line feed, or the end
    /// of the body. Notes the first raw control byte in `control`.
    defect scan_string_body(std::size_t from, std::size_t& at,
                            std::size_t& control) noexcept;

    /// Adds the line feeds among the block bytes flagged in `candidates`.
    void count_lines(const char* block, std::uint64_t candidates) noexcept;

    /// Remembers whether nesting level `depth` (>= 64) is an array.
    void set_deep_level(std::size_t depth, bool is_array) noexcept;

    /// Skips whitespace in stream mode, counting lines and blank lines.
    void skip_stream_space() noexcept;

    /// Skips whitespace inside a top-level array, counting lines.
    void skip_array_space() noexcept;

    /// Leaves a top-level array after its ']' or a cut element.
    void leave_array(std::size_t resume) noexcept;

    /// Fills `out` with body_[start, stop) minus trailing whitespace.
    void emit(record& out, std::size_t start, std::size_t stop,
              std::uint64_t line, shape kind, defect problem,
              std::size_t problem_offset) noexcept;

    std::string_view body_;
    std::size_t pos_ = 0;
    std::uint64_t line_ = 1;
    std::uint64_t index_ = 0;
    std::uint64_t blank_lines_ = 0;
    state state_ = state::stream;
    bool line_has_record_ = false;  // current line already holds a record
    bool line_has_space_ = false;   // current line has a space or tab
    bool arrays_only_ = true;       // no value outside a top-level array yet
    bool stream_ended_ = false;     // the body ended between stream values
    std::vector<bool> deep_levels_; // level 64 + i is an array, if set

    // Lines after a cut, up to the one holding its damage, on which a
    // value is broken by the same damage; bit i is line last - i.
    std::size_t broken_until_ = 0; // where the damage's line starts
    std::uint64_t broken_last_line_ = 0;
    std::vector<bool> broken_lines_;
};

} // namespace ks::frame
