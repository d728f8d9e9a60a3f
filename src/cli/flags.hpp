#pragma once

#include "config/config_file.hpp"
#include "map/mapper.hpp"

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

/// Declares --config on `app`, then parses argv: when --config FILE is
/// given, the file's settings for `table` ("sink" or "load") and
/// [database] come first, as if typed before the command line, which
/// therefore wins; its [mapping] goes to `file`. Returns an exit status
/// when the program is done (help, version: 0; a mistake: 2, after
/// printing it).
std::optional<int> parse_with_config(CLI::App& app, int argc, char** argv,
                                     std::string_view table,
                                     config::file_settings& file);

/// The mapping options both programs build from their flags and file.
map::mapping_options mapping_from(const database_flags& flags,
                                  const config::file_settings& file);

} // namespace ks::cli
