// koreshield-load: loads archived KoreShield log files (NDJSON or JSON
// arrays; plain, gzip or zstd) into PostgreSQL through the sink's own
// parse, map and COPY path, each file exactly once.

#include "cli/flags.hpp"
#include "core/padded_buffer.hpp"
#include "load/file_list.hpp"
#include "load/loader.hpp"
#include "pg/writer.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

/// Exit statuses, as README documents them.
constexpr int exit_loaded = 0;     // every event of every file is stored
constexpr int exit_failure = 1;    // some file or chunk was not stored
constexpr int exit_usage = 2;      // the command line cannot be used
constexpr int exit_dead_letters = 3; // stored, but some events became
                                     // dead letters or a file was damaged

struct options {
    std::vector<std::string> paths;
    ks::cli::database_flags db;
    std::vector<std::string> include;
    std::vector<std::string> exclude;
    bool follow_symlinks = false;
    bool force = false;
    unsigned writers = 2;
    unsigned workers = 2;
    std::uint64_t chunk_bytes = 4u << 20;
    unsigned retry_for_s = 300;
    std::string progress = "auto";
    unsigned progress_interval_s = 10;
};

void add_flags(CLI::App& app, options& opt)
{
    app.add_option("paths", opt.paths,
                   "Files, directories (searched recursively) or - for "
                   "standard input")
        ->required()
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    ks::cli::add_database_flags(app, opt.db);
    app.add_option("--include", opt.include,
                   "In directories, load only files matching this shell "
                   "pattern (name or relative path; repeatable)")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--exclude", opt.exclude,
                   "In directories, skip files matching this shell "
                   "pattern (repeatable; wins over --include)")
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_flag("--follow-symlinks", opt.follow_symlinks,
                 "Follow symbolic links found inside directories");
    app.add_flag("--force", opt.force,
                 "Load files again that the manifest says are loaded");
    app.add_option("--writers", opt.writers,
                   "PostgreSQL connections copying rows in parallel")
        ->check(CLI::Range(1u, 64u))
        ->capture_default_str();
    app.add_option("--workers", opt.workers,
                   "Threads that parse, map and encode events")
        ->check(CLI::Range(1u, 256u))
        ->capture_default_str();
    app.add_option("--chunk-bytes", opt.chunk_bytes,
                   "Decoded bytes per chunk, the unit of one transaction "
                   "and of resuming; kept per file for resuming")
        ->transform(ks::cli::size_value())
        ->capture_default_str();
    app.add_option("--retry-for-s", opt.retry_for_s,
                   "Seconds a chunk is retried while PostgreSQL is "
                   "unavailable before its file counts as failed")
        ->check(CLI::Range(0u, 86400u))
        ->capture_default_str();
    app.add_option("--progress", opt.progress,
                   "auto (a bar on a terminal, else log lines), bar, log "
                   "or none")
        ->check(CLI::IsMember({"auto", "bar", "log", "none"}))
        ->capture_default_str();
    app.add_option("--progress-interval-s", opt.progress_interval_s,
                   "Seconds between progress log lines")
        ->check(CLI::Range(1u, 3600u))
        ->capture_default_str();
    app.set_version_flag("--version", "koreshield-load " KS_VERSION);
}

std::string with_commas(std::uint64_t n)
{
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string mebibytes(std::uint64_t bytes)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MiB",
                  static_cast<double>(bytes) / (1024.0 * 1024.0));
    return text;
}

/// "1 row", "2 rows", with thousands separated.
std::string count_of(std::uint64_t n, const char* one, const char* many)
{
    return with_commas(n) + " " + (n == 1 ? one : many);
}

/// The closing lines; paths that could not be listed count as failed.
void print_summary(const ks::load::run_summary& s, std::size_t unlisted)
{
    using ks::load::file_status;
    const double rate =
        s.seconds > 0 ? static_cast<double>(s.rows_loaded) / s.seconds : 0;
    const std::string files =
        count_of(s.files.size() + unlisted, "file", "files") + ": " +
        with_commas(s.count(file_status::loaded)) + " loaded, " +
        with_commas(s.count(file_status::already_loaded)) +
        " already loaded, " +
        with_commas(s.count(file_status::failed) + unlisted) + " failed";
    const std::string run =
        count_of(s.rows_loaded, "row", "rows") + " loaded, " +
        count_of(s.dead_lettered, "dead letter", "dead letters") + ", " +
        count_of(s.blank_lines, "blank line", "blank lines");
    std::fprintf(stderr,
                 "koreshield-load: %s\n"
                 "koreshield-load: this run: %s, %s read in %.1f s (%s "
                 "rows/s)\n",
                 files.c_str(), run.c_str(), mebibytes(s.input_bytes).c_str(),
                 s.seconds,
                 with_commas(static_cast<std::uint64_t>(rate)).c_str());
}

} // namespace

int main(int argc, char** argv)
{
    ks::serve_large_blocks_with_mmap();

    options opt;
    // Half the cores: parsing takes far less CPU per event than
    // PostgreSQL's COPY, which usually runs on the same machine; on two
    // cores a second worker only competes with it.
    const unsigned cores = std::thread::hardware_concurrency();
    opt.workers = cores < 4 ? 1 : cores / 2;
    CLI::App app{"Loads archived KoreShield log files (NDJSON or JSON "
                 "arrays; plain, gzip or zstd) into PostgreSQL, each file "
                 "exactly once.",
                 "koreshield-load"};
    app.option_defaults()->multi_option_policy(
        CLI::MultiOptionPolicy::TakeLast);
    add_flags(app, opt);
    ks::config::file_settings file;
    if (auto done = ks::cli::parse_with_config(app, argc, argv, "load", file))
        return *done == 0 ? exit_loaded : exit_usage;

    if (auto problem = ks::cli::check_table_names(opt.db)) {
        std::fprintf(stderr, "%s\nRun with --help for more information.\n",
                     problem->c_str());
        return exit_usage;
    }

    // The inputs first: a typo in a path is worth knowing before a long
    // load starts, but the paths that exist are still loaded.
    ks::load::listing_options listing;
    listing.include = opt.include;
    listing.exclude = opt.exclude;
    listing.follow_symlinks = opt.follow_symlinks;
    std::vector<ks::load::listing_error> unlisted;
    const std::vector<ks::load::input_file> files =
        ks::load::list_inputs(opt.paths, listing, unlisted);
    for (const auto& e : unlisted)
        std::fprintf(stderr, "koreshield-load: %s: %s\n", e.path.c_str(),
                     e.message.c_str());

    ks::load::loader_options lo;
    lo.dsn = opt.db.dsn;
    lo.events_table = opt.db.table;
    lo.dead_letter_table = opt.db.dead_letter_table;
    lo.connections = opt.writers;
    lo.workers = opt.workers;
    lo.chunk_bytes = static_cast<std::size_t>(opt.chunk_bytes);
    lo.mapping = ks::cli::mapping_from(opt.db, file);
    lo.force = opt.force;
    lo.retry_for = std::chrono::seconds(opt.retry_for_s);
    const bool terminal = ::isatty(STDERR_FILENO) == 1;
    lo.show_progress = opt.progress != "none";
    lo.progress_terminal =
        opt.progress == "bar" || (opt.progress == "auto" && terminal);
    lo.progress_interval =
        lo.progress_terminal
            ? std::chrono::milliseconds(200)
            : std::chrono::milliseconds(1000ull * opt.progress_interval_s);

    // A chunk's text and rows are blocks of a few MiB, freed as chunks
    // commit; the next chunks reuse them instead of faulting fresh pages.
    ks::keep_freed_large_blocks(
        std::min<std::size_t>(8 * lo.chunk_bytes, 32u << 20));

    try {
        ks::load::loader load(lo, [](const std::string& line) {
            std::fprintf(stderr, "koreshield-load: %s\n", line.c_str());
        });
        if (auto e = load.connect()) {
            std::fprintf(stderr, "koreshield-load: %s\n", e->message.c_str());
            return exit_failure;
        }
        const ks::load::run_summary s = load.run(files);
        print_summary(s, unlisted.size());

        if (!unlisted.empty() || s.count(ks::load::file_status::failed) != 0)
            return exit_failure;
        if (s.any_dead_letters() || s.any_damage()) return exit_dead_letters;
        return exit_loaded;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "koreshield-load: %s\n", e.what());
        return exit_failure;
    }
}
