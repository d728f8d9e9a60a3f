#pragma once

#include <string>
#include <string_view>

namespace ks {

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, no
/// code points above U+10FFFF) and holds no NUL byte: what a PostgreSQL
/// text column in a UTF8 database accepts.
bool is_storable_text(std::string_view s) noexcept;

/// A copy of `s` that PostgreSQL accepts as text: every byte of a
/// malformed sequence and every NUL becomes U+FFFD. Meant for messages
/// and names built from input (file paths, reasons quoting values), never
/// for event data, which is validated or dead-lettered instead.
std::string to_storable_text(std::string_view s);

/// Appends `text` as a JSON string literal, quotes included. Bytes that
/// are not valid UTF-8 become U+FFFD, so the result is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

} // namespace ks
