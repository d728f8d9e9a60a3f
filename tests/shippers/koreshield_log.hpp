#pragma once

// Lines of a KoreShield log file as the service writes them to stdout,
// for tests that let a real shipper read the file: JSON events of the
// shapes KoreShield logs (docs: event-mapping.md section 10), each with a
// request id of its own, and uvicorn access lines between them.

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ks::test {

/// The JSON event numbered `index`, on one line without its newline.
/// Its request id is koreshield_request_id(index); the event type cycles
/// through the kinds KoreShield logs. `pad_bytes` > 0 adds a prompt
/// excerpt of about that size, as real attack lines carry.
std::string koreshield_event(int index, std::size_t pad_bytes = 0);

/// The request id event `index` carries: UUID-shaped and unique.
std::string koreshield_request_id(int index);

/// The event type event `index` carries.
std::string koreshield_event_type(int index);

/// A uvicorn access line (not JSON), distinct for each `n`.
std::string uvicorn_line(int n);

/// Non-ASCII text that koreshield_event puts into every fifth event's
/// excerpt, to see it arrive unchanged.
extern const std::string koreshield_unicode_excerpt;

/// What a test wrote to the log, to compare with what was stored.
struct written_log {
    std::set<std::string> request_ids;
    std::map<std::string, long long> event_types; // text_line included
    std::set<std::string> text_lines;
    long long lines = 0; // every line, JSON or not

    /// Records event `index` as written.
    void add_event(int index);
    /// Records a line that is not JSON.
    void add_text(const std::string& line);
};

} // namespace ks::test
