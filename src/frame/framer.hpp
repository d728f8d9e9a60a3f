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
    array,  // a '[' nested inside a top-level array element position
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
    std::size_t problem_offset = 0; // body offset of the defect, if any
};

/// Splits a decoded body into records without parsing values.
///
/// Accepted layouts, detected from the bytes: a JSON array (its elements
/// are the records), NDJSON with or without a final newline, with CRLF and
/// blank lines, values back to back with nothing between them, a single
/// value, pretty-printed objects spanning lines, and several top-level
/// arrays in a row. A UTF-8 byte order mark at the start is skipped.
///
/// Damage is contained: a record with a defect is reported as one record
/// and framing resumes after it (at the next line when the record was cut
/// by a newline inside a string; at the end of the body when an array's
/// structure is broken, since nothing after it can be trusted).
///
/// Details a caller can see:
/// - In the stream, a value that starts with neither '{' nor '"' is read
///   to the end of its line (shape scalar or text); one that starts with
///   '}' or ']' closes nothing and is flagged unbalanced.
/// - A top-level array that ends after a complete element or a comma,
///   without its ']', yields a last record of length 0 at the end of the
///   body flagged unterminated, so a truncated batch is never silent.
/// - For unterminated, problem_offset is the body size.
/// - Inside an object or array a backslash takes away the meaning of the
///   next byte as a quote, even outside strings; only invalid JSON has
///   one there, and the parser rejects it.
/// - Only bytes of the body are read: no padding is needed. Nesting
///   deeper than 64 levels keeps one bit per level on the heap, reused for
///   the framer's life; nothing is allocated otherwise.
///
/// The body must outlive the framer; records refer to it by offset.
class framer {
public:
    explicit framer(std::string_view body) noexcept;

    /// Fills `out` with the next record; returns false when none is left.
    bool next(record& out) noexcept;

    /// Lines holding only whitespace, outside any record, seen so far.
    std::uint64_t blank_lines() const noexcept { return blank_lines_; }

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

    /// Frames the array element starting at pos_.
    void frame_element(record& out) noexcept;

    /// Makes the rest of the body one damaged record and stops framing.
    void frame_rest(record& out, defect problem,
                    std::size_t problem_offset) noexcept;

    /// Scans an object or array starting at `start` to its closing bracket.
    scan_result scan_nested(std::size_t start) noexcept;

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
    std::vector<bool> deep_levels_; // level 64 + i is an array, if set
};

} // namespace ks::frame
