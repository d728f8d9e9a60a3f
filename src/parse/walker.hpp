#pragma once

#include "core/reason.hpp"
#include "parse/path_set.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace ks::parse {

/// JSON value types as a walk reports them.
enum class json_type : std::uint8_t {
    absent, // the path does not exist in this document
    object,
    array,
    string,
    number,
    boolean,
    null,
};

/// How a captured number is held.
enum class number_kind : std::uint8_t {
    signed_integer,   // in i64
    unsigned_integer, // in u64; above INT64_MAX
    floating,         // in f64, possibly rounded (also for integers that
                      // fit neither 64-bit type)
    huge,             // PostgreSQL can store it, a double cannot: f64 is
                      // +-infinity
};

/// A value found at a watched path. `text` points into the walker and
/// `raw` into the walked bytes; both stay valid until the next walk.
struct captured {
    json_type type = json_type::absent;
    number_kind number = number_kind::signed_integer;
    bool boolean = false;
    std::int64_t i64 = 0;
    std::uint64_t u64 = 0;
    double f64 = 0;
    std::size_t members = 0;   // elements of an array, fields of an object
    std::string_view text;     // a string's unescaped content
    std::string_view raw;      // the JSON text, surrounding spaces trimmed
    const char* key = nullptr; // opening quote of the key naming it

    /// Whether the path exists in the document.
    bool present() const noexcept { return type != json_type::absent; }

    /// Whether the value has type `t`.
    bool is(json_type t) const noexcept { return type == t; }

    /// The number as a double, whatever its kind.
    double as_double() const noexcept;
};

/// Why a walk failed and where.
struct walk_error {
    ks::reason why = ks::reason::malformed_json;
    std::size_t offset = 0;  // bytes from the start of the walked text
    std::string_view detail; // a static phrase naming the fault
};

/// Validates one JSON document value by value with simdjson On Demand and
/// captures the values found at a set of paths, in a single pass.
///
/// On Demand only checks what it is asked to read, and PostgreSQL's jsonb
/// parser rejects things simdjson accepts, so every key and value is read:
/// strings must not decode to NUL (\u0000) or hold a lone surrogate,
/// numbers must fit PostgreSQL's numeric, nesting must stay within the
/// depth limit and nothing may follow the root value.
///
/// Errors (walk_error::why):
/// - invalid_utf8: raw bytes that are not UTF-8;
/// - control_character: a raw byte below 0x20 inside a string;
/// - nul_character: \u0000 in a key or string, or a lone surrogate escape;
/// - number_out_of_range: a valid number PostgreSQL's numeric cannot hold
///   (numbers beyond double or 64-bit integers are kept when it can);
/// - too_deep: more nested containers than the depth limit;
/// - malformed_json: anything else that is not JSON.
///
/// Duplicate keys: the last one wins, as in jsonb. One walker per thread.
class walker {
public:
    /// Nesting limit that max_depth is clamped to, to bound the recursion.
    static constexpr std::size_t depth_ceiling = 1024;

    /// A walker capturing `paths`; `max_depth` counts containers, so 1
    /// allows a flat object only.
    walker(const path_set& paths, std::size_t max_depth);
    ~walker();
    walker(const walker&) = delete;
    walker& operator=(const walker&) = delete;

    /// Walks `json`, after which at least ks::json_padding_bytes readable
    /// bytes must follow (their content does not matter). Returns false
    /// and fills `error` when the document is not acceptable. Captures of
    /// an earlier walk are forgotten either way. Never throws.
    [[nodiscard]] bool walk(std::string_view json, walk_error& error) noexcept;

    /// The root value of the last successful walk (its key is null).
    const captured& root() const noexcept;

    /// The value captured for `slot` (see path_set::add) by the last
    /// walk, or an absent one.
    const captured& get(std::size_t slot) const noexcept
    {
        std::uint32_t node = table_.slot_nodes[slot];
        return table_.stamps[node] == table_.generation ? table_.values[node]
                                                        : absent_;
    }

private:
    /// Captures by trie node; a value counts only if its stamp is the
    /// current generation, so a new walk forgets all of them at once.
    struct capture_table {
        std::vector<captured> values;
        std::vector<std::uint32_t> stamps;
        std::vector<std::uint32_t> slot_nodes;
        std::uint32_t generation = 1;
    };

    struct impl;
    static const captured absent_;
    capture_table table_; // kept here so that get() inlines
    std::unique_ptr<impl> impl_;
};

} // namespace ks::parse
