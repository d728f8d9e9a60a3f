#include "cli/flags.hpp"

#include "pg/writer.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace ks::cli {

std::optional<std::string> parse_size(std::string_view text,
                                      std::uint64_t& bytes)
{
    const std::string quoted = "'" + std::string(text) + "'";
    const std::string range =
        "sizes go from 1 byte to 1T; K, M, G and T count in 1024s";
    while (!text.empty() && text.front() == ' ')
        text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ')
        text.remove_suffix(1);

    // The number; one too large for 64 bits is out of range like 2T.
    std::uint64_t count = 0;
    auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), count);
    const bool letters_follow = end == text.data() + text.size() ||
                                (*end >= 'a' && *end <= 'z') ||
                                (*end >= 'A' && *end <= 'Z');
    if (end == text.data() || !letters_follow ||
        (ec != std::errc{} && ec != std::errc::result_out_of_range))
        return quoted +
               " is not a size: give a number of bytes, e.g. "
               "1048576 or 1M (" +
               range + ")";
    if (ec == std::errc::result_out_of_range)
        return quoted + " is out of range: " + range;

    // The unit: its first letter says how many times to multiply by
    // 1024; "B", "iB" may follow it.
    std::string unit;
    for (const char* c = end; c != text.data() + text.size(); ++c)
        unit += static_cast<char>(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    const std::string_view letters = "kmgtpe";
    std::size_t power = 0;
    if (!unit.empty() && unit != "b") {
        std::size_t letter = letters.find(unit.front());
        std::string_view rest = std::string_view(unit).substr(1);
        bool known =
            letter != std::string_view::npos &&
            (rest.empty() || rest == "b" || rest == "i" || rest == "ib");
        if (!known)
            return quoted + " has an unknown unit: use K, M, G or T (" + range +
                   ")";
        power = letter + 1;
    }

    // Scale, stopping as soon as the value is past the largest size.
    for (std::size_t i = 0; i < power && count <= max_size_bytes; ++i)
        count *= 1024;
    if (count == 0 || count > max_size_bytes)
        return quoted + " is out of range: " + range;
    bytes = count;
    return std::nullopt;
}

CLI::Validator size_value()
{
    return CLI::Validator(
        [](std::string& text) -> std::string {
            std::uint64_t bytes = 0;
            if (auto problem = parse_size(text, bytes)) return *problem;
            text = std::to_string(bytes);
            return {};
        },
        "SIZE");
}

void add_database_flags(CLI::App& app, database_flags& flags)
{
    app.add_option("--dsn", flags.dsn,
                   "PostgreSQL connection string (conninfo or URI); "
                   "without it libpq's PG* environment variables apply");
    app.add_option("--table", flags.table,
                   "Table for events, NAME or SCHEMA.NAME")
        ->capture_default_str();
    app.add_option("--dead-letter-table", flags.dead_letter_table,
                   "Table for records that cannot become events")
        ->capture_default_str();
    app.add_option("--max-event-bytes", flags.max_event_bytes,
                   "Largest single event; larger ones are dead-lettered")
        ->transform(size_value())
        ->capture_default_str();
    app.add_option("--missing-time", flags.missing_time,
                   "An event with no timestamp field: 'received' stores it "
                   "with the time it arrived, marked in metadata; "
                   "'dead-letter' keeps it out of the table")
        ->check(CLI::IsMember({"received", "dead-letter"}))
        ->capture_default_str();
    app.add_option("--text-lines", flags.text_lines,
                   "A line that is not JSON: 'event' stores it as an event "
                   "of type text_line with the line in metadata.message; "
                   "'dead-letter' keeps it out (not_json)")
        ->check(CLI::IsMember({"event", "dead-letter"}))
        ->capture_default_str();
}

namespace {

/// The value of --config in argv (--config FILE or --config=FILE).
std::optional<std::string> config_path(int argc, char** argv)
{
    std::optional<std::string> path;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--") break;
        if (a == "--config" && i + 1 < argc) path = argv[++i];
        else if (a.starts_with("--config=")) path = std::string(a.substr(9));
    }
    return path;
}

} // namespace

std::optional<int> parse_with_config(CLI::App& app, int argc, char** argv,
                                     std::string_view table,
                                     config::file_settings& file)
{
    std::string path;
    app.add_option("--config", path,
                   "TOML file of settings: [database], [" +
                       std::string(table) +
                       "] (keys are the flags' names) and [mapping]; "
                       "flags given here win");

    // The file's settings go first, so that a flag typed later wins.
    std::vector<std::string> args;
    if (auto p = config_path(argc, argv)) {
        auto kind = [&app](const std::string& flag) -> std::optional<bool> {
            const CLI::Option* o = app.get_option_no_throw(flag);
            if (o == nullptr) return std::nullopt;
            return o->get_items_expected_max() == 0; // a switch
        };
        if (auto problem = config::read_config(*p, table, kind, file)) {
            std::fprintf(stderr, "%s\n", problem->c_str());
            return 2;
        }
        args = file.arguments;
    }
    for (int i = 1; i < argc; ++i)
        args.emplace_back(argv[i]);

    // CLI11 takes a vector of arguments last one first.
    std::reverse(args.begin(), args.end());
    try {
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        const int status = app.exit(e);
        if (status != 0 && !file.arguments.empty())
            std::fprintf(stderr,
                         "(the config file's keys are read as these "
                         "flags, before the command line)\n");
        return status == 0 ? 0 : 2;
    }
    return std::nullopt;
}

map::mapping_options mapping_from(const database_flags& flags,
                                  const config::file_settings& file)
{
    map::mapping_options m;
    m.max_event_bytes = static_cast<std::size_t>(flags.max_event_bytes);
    m.reject_missing_time = flags.missing_time == "dead-letter";
    m.text_lines_as_events = flags.text_lines == "event";
    m.derive_severity = file.derive_severity;
    m.unwrap_message = file.unwrap_message;
    m.rules = file.rules;
    return m;
}

std::optional<std::string> check_table_names(const database_flags& flags)
{
    try {
        static_cast<void>(pg::quote_table_name(flags.table));
        static_cast<void>(pg::quote_table_name(flags.dead_letter_table));
    } catch (const std::invalid_argument& e) {
        return std::string("--table/--dead-letter-table: ") + e.what();
    }
    return std::nullopt;
}

} // namespace ks::cli
