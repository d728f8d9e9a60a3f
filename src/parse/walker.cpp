#include "parse/walker.hpp"

#include "core/padded_buffer.hpp"
#include "frame/scan_kernels.hpp"
#include "parse/json_text.hpp"
#include "parse/path_index.hpp"
#include "parse/unescape.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <vector>

namespace ks::parse {

static_assert(ks::json_padding_bytes == simdjson::SIMDJSON_PADDING,
              "padded buffers must leave the room simdjson reads past a "
              "document");
static_assert(unescape_overrun_bytes <= simdjson::SIMDJSON_PADDING,
              "the decoded-string buffer's padding must take what "
              "unescape_simple writes past a string");

namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Room for a typical batch of events before a parser has to grow.
constexpr std::size_t initial_capacity_bytes = 64 * 1024;

// Plain decimals shorter than this cannot exceed numeric's limits.
constexpr std::size_t short_number_bytes = 1000;

json_type to_json_type(od::json_type t) noexcept
{
    switch (t) {
    case od::json_type::object:
        return json_type::object;
    case od::json_type::array:
        return json_type::array;
    case od::json_type::string:
        return json_type::string;
    case od::json_type::number:
        return json_type::number;
    case od::json_type::boolean:
        return json_type::boolean;
    case od::json_type::null:
        return json_type::null;
    }
    return json_type::absent;
}

// Whether a number simdjson accepted may still break numeric's limits:
// only exponents and very long fractions can.
bool needs_numeric_check(std::string_view digits) noexcept
{
    if (digits.size() >= short_number_bytes) return true;
    for (char c : digits)
        if (c == 'e' || c == 'E') return true;
    return false;
}

} // namespace

double captured::as_double() const noexcept
{
    switch (number) {
    case number_kind::signed_integer:
        return static_cast<double>(i64);
    case number_kind::unsigned_integer:
        return static_cast<double>(u64);
    case number_kind::floating:
    case number_kind::huge:
        return f64;
    }
    return f64;
}

struct walker::impl {
    impl(const path_set& paths, std::size_t depth_limit,
         capture_table& captures);

    bool walk(std::string_view text, walk_error& err) noexcept;

    bool walk_root();
    bool walk_object(od::object& object, std::uint32_t node, std::size_t depth,
                     std::size_t& members);
    bool walk_array(od::array& array, std::size_t depth, std::size_t& members);
    bool walk_value(od::value& value, std::uint32_t node, std::size_t depth,
                    captured* into);
    bool walk_nested_object(od::value& value, std::string_view token,
                            std::uint32_t node, std::size_t depth,
                            captured* into);
    bool walk_nested_array(od::value& value, std::string_view token,
                           std::size_t depth, captured* into);

    bool read_key(od::raw_json_string raw, std::string_view& key);
    bool decode(od::raw_json_string raw, std::string_view quoted,
                const char* at, bool key, std::string_view& text);
    template <typename Value>
    bool read_string(Value& value, std::string_view token, captured* into);
    template <typename Value>
    bool read_number(Value& value, std::string_view token, captured* into);
    template <typename Value>
    bool read_bool(Value& value, std::string_view token, captured* into);
    template <typename Value>
    bool read_null(Value& value, std::string_view token);

    bool keep_number(const od::number& n, std::string_view digits,
                     captured* into);
    bool keep_wide_number(std::string_view digits, captured* into);
    bool check_unescaped(std::string_view text, std::string_view quoted,
                         const char* at, bool key);
    const char* escape_at(std::string_view quoted, const char* at) noexcept;
    bool check_trailing();

    captured* visit(std::uint32_t node, const char* key_at) noexcept;
    std::string_view span_to_here(const char* begin) noexcept;
    const char* where() noexcept;
    void next_generation() noexcept;

    bool fail(ks::reason why, const char* at, std::string_view detail) noexcept;
    bool fail_simdjson(error_code e, const char* at) noexcept;
    bool fail_index(error_code e) noexcept;
    bool fail_escape(std::string_view quoted, const char* at) noexcept;

    path_index index;
    std::size_t max_depth;
    od::parser parser;
    od::document doc;
    std::string_view json;
    capture_table& table;
    std::unique_ptr<std::uint8_t[]> decoded; // strings that had escapes
    std::size_t decoded_capacity = 0;
    std::uint8_t* decoded_end = nullptr;
    captured root;
    walk_error* error = nullptr;
    const char* last = nullptr; // latest token read, to place errors
};

walker::impl::impl(const path_set& paths, std::size_t depth_limit,
                   capture_table& captures)
    : index(paths),
      max_depth(depth_limit < depth_ceiling ? depth_limit : depth_ceiling),
      table(captures)
{
    // One capture per node; slots name the nodes that callers ask for.
    table.values.resize(index.size());
    table.stamps.assign(index.size(), 0);
    for (std::size_t slot = 0; slot < index.slots(); ++slot)
        table.slot_nodes.push_back(index.node_of(slot));

    // Start with room for ordinary events; a failure here only means the
    // first walk allocates instead.
    error_code ignored =
        parser.allocate(initial_capacity_bytes, depth_ceiling + 2);
    (void)ignored;
    next_generation();
}

bool walker::impl::walk(std::string_view text, walk_error& err) noexcept
{
    // Forget the previous walk.
    next_generation();
    root = captured{};
    json = text;
    error = &err;
    last = text.data();

    // Decoded strings never outgrow the text; simdjson writes whole
    // blocks, hence the padding. Growth is geometric so that slowly
    // growing events do not allocate every time.
    std::size_t needed = text.size() + simdjson::SIMDJSON_PADDING;
    if (decoded_capacity < needed) {
        std::size_t size = std::max({needed, initial_capacity_bytes,
                                     decoded_capacity + decoded_capacity / 2});
        decoded.reset(new (std::nothrow) std::uint8_t[size]);
        decoded_capacity = decoded ? size : 0;
        if (!decoded)
            return fail(ks::reason::too_large, text.data(),
                        "no memory to decode the strings of the event");
    }
    decoded_end = decoded.get();

    // Index the document; this pass checks UTF-8 and raw control bytes.
    error_code e = parser
                       .iterate(text.data(), text.size(),
                                text.size() + simdjson::SIMDJSON_PADDING)
                       .get(doc);
    if (e) return fail_index(e);

    // Read every value; a failure leaves nothing captured.
    if (walk_root()) return true;
    next_generation();
    root = captured{};
    return false;
}

bool walker::impl::walk_root()
{
    od::json_type t;
    if (error_code e = doc.type().get(t)) return fail_simdjson(e, last);
    std::string_view token;
    if (error_code e = doc.raw_json_token().get(token))
        return fail_simdjson(e, last);
    root.type = to_json_type(t);
    root.raw = trim_json_space(json);

    switch (t) {
    case od::json_type::object: {
        od::object object;
        if (error_code e = doc.get_object().get(object))
            return fail_simdjson(e, where());
        return walk_object(object, 0, 1, root.members) && check_trailing();
    }
    case od::json_type::array: {
        od::array array;
        if (error_code e = doc.get_array().get(array))
            return fail_simdjson(e, where());
        return walk_array(array, 1, root.members) && check_trailing();
    }
    case od::json_type::string:
        return read_string(doc, token, &root) && check_trailing();
    case od::json_type::number:
        return read_number(doc, token, &root);
    case od::json_type::boolean:
        return read_bool(doc, token, &root);
    case od::json_type::null:
        return read_null(doc, token);
    }
    return fail(ks::reason::malformed_json, last, "an unknown value");
}

bool walker::impl::walk_object(od::object& object, std::uint32_t node,
                               std::size_t depth, std::size_t& members)
{
    bool search = node != path_index::none && index.has_children(node);
    for (auto field : object) {
        // The raw key places errors and tells whether it had escapes.
        od::raw_json_string raw_key;
        if (error_code e = field.key().get(raw_key))
            return fail_simdjson(e, where());
        const char* key_at = raw_key.raw() - 1;
        last = key_at;

        // Keys are checked like any string: jsonb stores them too.
        std::string_view key;
        if (!read_key(raw_key, key)) return false;

        // Follow the watched paths, then read the value whatever it is.
        std::uint32_t child = search ? index.find(node, key) : path_index::none;
        captured* into =
            child == path_index::none ? nullptr : visit(child, key_at);
        od::value value;
        if (error_code e = field.value().get(value))
            return fail_simdjson(e, where());
        if (!walk_value(value, child, depth, into)) return false;
        ++members;
    }
    return true;
}

bool walker::impl::walk_array(od::array& array, std::size_t depth,
                              std::size_t& members)
{
    for (auto element : array) {
        od::value value;
        if (error_code e = std::move(element).get(value))
            return fail_simdjson(e, where());
        if (!walk_value(value, path_index::none, depth, nullptr)) return false;
        ++members;
    }
    return true;
}

bool walker::impl::walk_value(od::value& value, std::uint32_t node,
                              std::size_t depth, captured* into)
{
    std::string_view token = value.raw_json_token();
    last = token.data();
    od::json_type t;
    if (error_code e = value.type().get(t)) return fail_simdjson(e, last);
    if (into != nullptr) into->type = to_json_type(t);

    switch (t) {
    case od::json_type::object:
        return walk_nested_object(value, token, node, depth, into);
    case od::json_type::array:
        return walk_nested_array(value, token, depth, into);
    case od::json_type::string:
        return read_string(value, token, into);
    case od::json_type::number:
        return read_number(value, token, into);
    case od::json_type::boolean:
        return read_bool(value, token, into);
    case od::json_type::null:
        return read_null(value, token);
    }
    return fail(ks::reason::malformed_json, last, "an unknown value");
}

bool walker::impl::walk_nested_object(od::value& value, std::string_view token,
                                      std::uint32_t node, std::size_t depth,
                                      captured* into)
{
    if (depth >= max_depth)
        return fail(ks::reason::too_deep, token.data(),
                    "containers nested deeper than the limit");
    od::object object;
    if (error_code e = value.get_object().get(object))
        return fail_simdjson(e, token.data());

    // Its text ends where the parent's next token starts.
    std::size_t members = 0;
    if (!walk_object(object, node, depth + 1, members)) return false;
    if (into != nullptr) {
        into->members = members;
        into->raw = span_to_here(token.data());
    }
    return true;
}

bool walker::impl::walk_nested_array(od::value& value, std::string_view token,
                                     std::size_t depth, captured* into)
{
    if (depth >= max_depth)
        return fail(ks::reason::too_deep, token.data(),
                    "containers nested deeper than the limit");
    od::array array;
    if (error_code e = value.get_array().get(array))
        return fail_simdjson(e, token.data());

    std::size_t members = 0;
    if (!walk_array(array, depth + 1, members)) return false;
    if (into != nullptr) {
        into->members = members;
        into->raw = span_to_here(token.data());
    }
    return true;
}

bool walker::impl::read_key(od::raw_json_string raw, std::string_view& key)
{
    // A quote before any backslash closes the key, and the bytes before
    // it are the key itself; one scan tells.
    const char* body = raw.raw();
    auto left = static_cast<std::size_t>(json.end() - body);
    std::size_t n = frame::detail::find_string_stop(body, 0, left);
    if (n == left)
        return fail(ks::reason::malformed_json, body - 1,
                    "an unterminated key");
    if (body[n] == '"') {
        key = {body, n};
        return true;
    }

    std::size_t raw_size = raw_string_length(body, json.end());
    return decode(raw, {body - 1, raw_size + 2}, body - 1, true, key);
}

bool walker::impl::decode(od::raw_json_string raw, std::string_view quoted,
                          const char* at, bool key, std::string_view& text)
{
    // The one-byte escapes, nearly all there are, are decoded at once;
    // the result needs no checks (see unescape_simple).
    char* into = reinterpret_cast<char*>(decoded_end);
    if (auto n = unescape_simple(quoted.substr(1, quoted.size() - 2), into)) {
        text = {into, *n};
        decoded_end += *n;
        return true;
    }

    // simdjson decodes the other escapes into this walk's buffer and
    // refuses bad ones, lone surrogates included.
    error_code e = parser.unescape(raw, decoded_end).get(text);
    if (e == simdjson::STRING_ERROR) return fail_escape(quoted, at);
    if (e != simdjson::SUCCESS) return fail_simdjson(e, at);
    return check_unescaped(text, quoted, at, key);
}

template <typename Value>
bool walker::impl::read_string(Value& value, std::string_view token,
                               captured* into)
{
    std::string_view quoted = trim_json_space_right(token);
    od::raw_json_string raw;
    if (error_code e = value.get_raw_json_string().get(raw))
        return fail_simdjson(e, token.data());
    if (quoted.size() < 2)
        return fail(ks::reason::malformed_json, token.data(),
                    "an unterminated string");

    // Without a backslash the raw bytes are the text: stage 1 checked
    // their UTF-8 and control bytes already.
    std::string_view text = quoted.substr(1, quoted.size() - 2);
    bool plain = std::memchr(text.data(), '\\', text.size()) == nullptr;
    if (!plain && !decode(raw, quoted, token.data(), false, text)) return false;
    if (into != nullptr) {
        into->text = text;
        into->raw = quoted;
    }
    return true;
}

template <typename Value>
bool walker::impl::read_number(Value& value, std::string_view token,
                               captured* into)
{
    std::string_view digits = trim_json_space_right(token);
    od::number n;
    error_code e = value.get_number().get(n);
    if (e == simdjson::SUCCESS) return keep_number(n, digits, into);

    // simdjson refuses what exceeds a double or 64-bit integer; numeric
    // holds far more, so judge those by the text.
    if (e == simdjson::NUMBER_ERROR || e == simdjson::NUMBER_OUT_OF_RANGE)
        return keep_wide_number(digits, into);
    return fail_simdjson(e, digits.data());
}

template <typename Value>
bool walker::impl::read_bool(Value& value, std::string_view token,
                             captured* into)
{
    bool b = false;
    if (error_code e = value.get_bool().get(b)) {
        if (e != simdjson::INCORRECT_TYPE)
            return fail_simdjson(e, token.data());
        return fail(ks::reason::malformed_json, token.data(),
                    "an invalid literal");
    }
    if (into != nullptr) {
        into->boolean = b;
        into->raw = trim_json_space_right(token);
    }
    return true;
}

template <typename Value>
bool walker::impl::read_null(Value& value, std::string_view token)
{
    bool is_null = false;
    error_code e = value.is_null().get(is_null);
    if (e != simdjson::SUCCESS && e != simdjson::INCORRECT_TYPE)
        return fail_simdjson(e, token.data());
    if (e != simdjson::SUCCESS || !is_null)
        return fail(ks::reason::malformed_json, token.data(),
                    "an invalid literal");
    return true;
}

bool walker::impl::keep_number(const od::number& n, std::string_view digits,
                               captured* into)
{
    // Integers simdjson took have at most 20 digits; floats may carry an
    // exponent or a fraction numeric cannot store.
    bool floating =
        n.get_number_type() == od::number_type::floating_point_number;
    if (floating && needs_numeric_check(digits) && !fits_pg_numeric(digits))
        return fail(ks::reason::number_out_of_range, digits.data(),
                    "a number beyond PostgreSQL's numeric range");
    if (into == nullptr) return true;

    into->raw = digits;
    switch (n.get_number_type()) {
    case od::number_type::signed_integer:
        into->number = number_kind::signed_integer;
        into->i64 = n.get_int64();
        break;
    case od::number_type::unsigned_integer:
        into->number = number_kind::unsigned_integer;
        into->u64 = n.get_uint64();
        break;
    case od::number_type::floating_point_number:
        into->number = number_kind::floating;
        into->f64 = n.get_double();
        break;
    }
    return true;
}

bool walker::impl::keep_wide_number(std::string_view digits, captured* into)
{
    if (!is_json_number(digits))
        return fail(ks::reason::malformed_json, digits.data(),
                    "an invalid number");
    if (!fits_pg_numeric(digits))
        return fail(ks::reason::number_out_of_range, digits.data(),
                    "a number beyond PostgreSQL's numeric range");
    if (into == nullptr) return true;

    // Keep the nearest double where there is one.
    into->raw = digits;
    double d = 0;
    auto parsed = std::from_chars(digits.data(), digits.end(), d);
    if (parsed.ec == std::errc()) {
        into->number = number_kind::floating;
        into->f64 = d;
    } else {
        constexpr double inf = std::numeric_limits<double>::infinity();
        into->number = number_kind::huge;
        into->f64 = digits[0] == '-' ? -inf : inf;
    }
    return true;
}

bool walker::impl::check_unescaped(std::string_view text,
                                   std::string_view quoted, const char* at,
                                   bool key)
{
    if (std::memchr(text.data(), 0, text.size()) != nullptr)
        return fail(ks::reason::nul_character, escape_at(quoted, at),
                    key ? "\\u0000 in a key" : "\\u0000 in a string");

    // simdjson refuses lone surrogates itself; this guards the contract
    // rather than a known gap.
    if (!simdjson::validate_utf8(text.data(), text.size()))
        return fail(ks::reason::nul_character, escape_at(quoted, at),
                    "an escape that decodes to invalid UTF-8");
    return true;
}

const char* walker::impl::escape_at(std::string_view quoted,
                                    const char* at) noexcept
{
    // The backslash of the first escape jsonb refuses, else the string.
    if (quoted.size() < 2) return at;
    std::string_view body = quoted.substr(1, quoted.size() - 2);
    std::size_t off = first_refused_escape(body);
    return off < body.size() ? body.data() + off : at;
}

bool walker::impl::check_trailing()
{
    const char* at = nullptr;
    if (doc.current_location().get(at) != simdjson::SUCCESS) return true;
    return fail(ks::reason::malformed_json, at,
                "content after the end of the value");
}

captured* walker::impl::visit(std::uint32_t node, const char* key_at) noexcept
{
    // A repeated key replaces the whole earlier value, as in jsonb, so
    // whatever was captured below it goes too.
    if (table.stamps[node] == table.generation && index.has_children(node))
        for (std::uint32_t n = node + 1; n < index.subtree_end(node); ++n)
            table.stamps[n] = 0;

    table.stamps[node] = table.generation;
    captured& c = table.values[node];
    c = captured{};
    c.key = key_at;
    return &c;
}

std::string_view walker::impl::span_to_here(const char* begin) noexcept
{
    const char* end = nullptr;
    if (doc.current_location().get(end) != simdjson::SUCCESS)
        end = json.data() + json.size();
    return trim_json_space_right(
        {begin, static_cast<std::size_t>(end - begin)});
}

const char* walker::impl::where() noexcept
{
    const char* at = nullptr;
    bool known = doc.current_location().get(at) == simdjson::SUCCESS;
    bool inside = known && at >= json.data() && at <= json.end();
    return inside ? at : last;
}

void walker::impl::next_generation() noexcept
{
    // Stamp 0 means "never set", so a wrap clears every stamp first.
    if (++table.generation == 0) {
        std::fill(table.stamps.begin(), table.stamps.end(), 0);
        table.generation = 1;
    }
}

bool walker::impl::fail(ks::reason why, const char* at,
                        std::string_view detail) noexcept
{
    std::size_t offset = 0;
    if (at != nullptr && at >= json.data())
        offset = static_cast<std::size_t>(at - json.data());
    error->why = why;
    error->offset = offset < json.size() ? offset : json.size();
    error->detail = detail;
    return false;
}

bool walker::impl::fail_simdjson(error_code e, const char* at) noexcept
{
    switch (e) {
    case simdjson::UTF8_ERROR:
        return fail(ks::reason::invalid_utf8, at, "bytes that are not UTF-8");
    case simdjson::UNESCAPED_CHARS:
        return fail(ks::reason::control_character, at,
                    "a raw control character in a string");
    case simdjson::DEPTH_ERROR:
        return fail(ks::reason::too_deep, at,
                    "containers nested deeper than the limit");
    case simdjson::NUMBER_ERROR:
    case simdjson::NUMBER_OUT_OF_RANGE:
        return fail(ks::reason::number_out_of_range, at,
                    "a number beyond PostgreSQL's numeric range");
    case simdjson::CAPACITY:
    case simdjson::MEMALLOC:
        return fail(ks::reason::too_large, at, "a document too large to parse");
    default:
        return fail(ks::reason::malformed_json, at, simdjson::error_message(e));
    }
}

bool walker::impl::fail_index(error_code e) noexcept
{
    // Indexing says what is wrong but not where; find the byte ourselves.
    if (e == simdjson::UTF8_ERROR)
        return fail(ks::reason::invalid_utf8,
                    json.data() + first_invalid_utf8(json),
                    "bytes that are not UTF-8");
    if (e == simdjson::UNESCAPED_CHARS)
        return fail(ks::reason::control_character,
                    json.data() + first_raw_control(json),
                    "a raw control character in a string");
    return fail_simdjson(e, json.data());
}

bool walker::impl::fail_escape(std::string_view quoted, const char* at) noexcept
{
    std::string_view body = quoted.size() >= 2
                                ? quoted.substr(1, quoted.size() - 2)
                                : std::string_view{};
    if (has_lone_surrogate(body))
        return fail(ks::reason::nul_character, escape_at(quoted, at),
                    "a lone surrogate escape");
    return fail(ks::reason::malformed_json, escape_at(quoted, at),
                "an invalid escape");
}

walker::walker(const path_set& paths, std::size_t max_depth)
    : impl_(std::make_unique<impl>(paths, max_depth, table_))
{
}

walker::~walker() = default;

const captured walker::absent_{};

bool walker::walk(std::string_view json, walk_error& error) noexcept
{
    return impl_->walk(json, error);
}

const captured& walker::root() const noexcept
{
    return impl_->root;
}

} // namespace ks::parse
