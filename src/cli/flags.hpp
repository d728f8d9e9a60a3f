#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ks::cli {

/// The largest size a flag takes: far beyond any real body or budget,
/// and small enough that sums of sizes cannot overflow.
inline constexpr std::uint64_t max_size_bytes = std::uint64_t{1} << 40;

/// Reads a size: a whole number of bytes and an optional unit, K, M, G
/// or T (also KB, KiB, ...), each 1024 times the one before. Returns an
/// error sentence when `text` is not a size from 1 byte to 1T.
std::optional<std::string> parse_size(std::string_view text,
                                      std::uint64_t& bytes);

/// A CLI11 transform that turns a size into its count of bytes, or
/// refuses it with parse_size()'s sentence.
CLI::Validator size_value();

/// Where rows go: the flags koreshield-sink and koreshield-load share.
struct database_flags {
    std::string dsn;
    std::string table = "koreshield_events";
    std::string dead_letter_table = "koreshield_dead_letters";
    std::uint64_t max_event_bytes = 8u << 20;
    std::string missing_time = "received"; // or "dead-letter"
    std::string text_lines = "event";      // or "dead-letter"
};

/// Declares --dsn, --table, --dead-letter-table, --max-event-bytes,
/// --missing-time and --text-lines.
void add_database_flags(CLI::App& app, database_flags& flags);

/// Checks the table names as the writer will quote them; an error
/// sentence for one that cannot be used.
std::optional<std::string> check_table_names(const database_flags& flags);

} // namespace ks::cli
