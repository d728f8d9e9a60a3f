#pragma once

#include "ingest/pipeline.hpp"
#include "load/file_list.hpp"
#include "load/manifest.hpp"
#include "map/mapper.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ks::load {

/// How a load runs.
struct loader_options {
    std::string dsn;
    std::string events_table = "koreshield_events";
    std::string dead_letter_table = "koreshield_dead_letters";
    manifest_tables manifest;
    unsigned connections = 2; // COPY connections, in parallel
    unsigned workers = 2;     // threads that parse, map and encode
    std::size_t chunk_bytes = 4u << 20;
    map::mapping_options mapping;
    ingest::limits limits;
    unsigned connect_timeout_s = 5;
    /// Load files the manifest says are loaded already, again.
    bool force = false;
    /// How long a chunk is tried again while PostgreSQL is unavailable
    /// (down, restarting) before its file counts as failed.
    std::chrono::seconds retry_for{300};
    /// Progress: a bar on a terminal, else a log line per interval.
    bool progress_terminal = false;
    std::chrono::milliseconds progress_interval{10000};
    bool show_progress = true;
};

/// What happened to one input.
enum class file_status : std::uint8_t {
    loaded,         // every chunk committed (maybe with dead letters)
    already_loaded, // the manifest holds this content: skipped
    failed,         // not (completely) loaded; see message
};

/// One input's outcome, for the summary.
struct file_report {
    std::string path;
    file_status status = file_status::loaded;
    bool resumed = false;      // finished a load an earlier run began
    bool grown = false;        // only the part added since a load ran
    std::string grown_after;   // that load's path, when it was another
    std::uint64_t records = 0; // in the part loaded, this run or earlier
    std::uint64_t loaded = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t blank_lines = 0;
    std::uint64_t input_bytes = 0;
    std::string damage;  // why decoding stopped early, if it did
    std::string message; // why it failed, or where it was loaded before
};

/// Totals of a run.
struct run_summary {
    std::vector<file_report> files;
    std::uint64_t rows_loaded = 0; // committed by this run
    std::uint64_t dead_lettered = 0;
    std::uint64_t blank_lines = 0;
    std::uint64_t records = 0; // framed by this run (chunks it committed)
    std::uint64_t input_bytes = 0;
    double seconds = 0;

    std::uint64_t count(file_status s) const;
    bool any_damage() const;
    /// Whether a file this run loaded (or finished loading) holds dead
    /// letters, this run's or an interrupted earlier one's.
    bool any_dead_letters() const;
};

/// Receives a line for the operator (a file's result, an error).
using log_function = std::function<void(const std::string&)>;

/// Loads files through the sink's path: chunker (decode and frame) on
/// the calling thread, parse/map/encode on worker threads, binary COPY on
/// a writer pool; each chunk commits with its manifest row, so every
/// file is stored exactly once however often and however abruptly runs
/// end. Files are read one after the other; their chunks overlap in
/// flight, within a file and across files.
class loader {
public:
    loader(loader_options options, log_function log);
    ~loader();
    loader(const loader&) = delete;
    loader& operator=(const loader&) = delete;

    /// Checks that the database answers and the manifest tables exist.
    [[nodiscard]] pg::db_status connect();

    /// Loads `files` and returns what happened to each. Never throws for
    /// a file's sake: a file that cannot be read or stored is reported
    /// and the others go on.
    run_summary run(const std::vector<input_file>& files);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ks::load
