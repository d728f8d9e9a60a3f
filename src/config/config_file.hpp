#pragma once

#include "map/chains.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ks::config {

/// What a TOML config file sets for one program.
struct file_settings {
    /// The program's settings as command-line arguments ("--writers",
    /// "4", "--no-dedup", ...), taken from [database] and the program's
    /// own table, to be placed before the real command line so that a
    /// flag given there wins.
    std::vector<std::string> arguments;
    /// [mapping]: the defaults, changed where the file says.
    map::mapping_rules rules;
    bool derive_severity = true;
    bool unwrap_message = true;
};

/// Reads the config file at `path` for `program`, whose settings table is
/// `table` ("sink" or "load"); the other program's table is skipped, so
/// one file can serve both. Keys are the program's long flag names
/// without the dashes ("max-body-bytes", or with underscores); `flag_kind`
/// tells, for a flag name such as "--writers", nothing when the program
/// has no such flag, else whether it is a switch (a flag without a
/// value, set by `true`).
///
/// Returns a sentence naming the file and the key when it cannot be used:
/// a TOML syntax error (with line and column), an unknown table or key,
/// a value of the wrong type, a chain longer than the mapper takes.
using flag_lookup =
    std::function<std::optional<bool>(const std::string& flag)>;
std::optional<std::string> read_config(const std::string& path,
                                       std::string_view table,
                                       const flag_lookup& flag_kind,
                                       file_settings& out);

} // namespace ks::config
