#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

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
/// The body must outlive the framer; records refer to it by offset.
class framer {
public:
    explicit framer(std::string_view body) noexcept;

    /// Fills `out` with the next record; returns false when none is left.
    bool next(record& out) noexcept;

    /// Lines holding only whitespace, outside any record, seen so far.
    std::uint64_t blank_lines() const noexcept { return blank_lines_; }

private:
    std::string_view body_;
    std::size_t pos_ = 0;
    std::uint64_t line_ = 1;
    std::uint64_t index_ = 0;
    std::uint64_t blank_lines_ = 0;
    bool in_array_ = false;     // inside a top-level array
    bool line_has_record_ = false; // current line already holds a record
};

} // namespace ks::frame
