#pragma once

#include "load/chunker.hpp"
#include "load/content_hash.hpp"
#include "pg/connection.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ks::load {

/// Table names of the manifest (see sql/20_support_tables.sql).
struct manifest_tables {
    std::string files = "koreshield_load_files";
    std::string chunks = "koreshield_load_chunks";
};

/// A file as the manifest knows it.
struct file_identity {
    digest sha256{};
    std::string path;
    std::uint64_t bytes = 0; // bytes hashed, the part that gets loaded
    std::int64_t mtime_ns = 0;
    /// The digest of its text's first text_head_bytes, when known before
    /// the load: recorded at once, so that a load killed before its end
    /// can still be found from another coding of the same text.
    std::optional<digest> text_head;
};

/// The last completed load of a path, to recognise a file that grew.
struct earlier_load {
    std::int64_t load_id = 0;
    digest sha256{};
    std::uint64_t file_bytes = 0;
    start_point end; // decoded bytes, end line and records of that load
};

/// A completed load of the same content, to skip a file.
struct finished_load {
    std::int64_t load_id = 0;
    std::string path;
    std::string completed_at;
    std::uint64_t loaded = 0;
    std::uint64_t dead_lettered = 0;
};

/// A completed load whose text may be the start of a longer file's.
struct text_start {
    std::int64_t load_id = 0;
    std::string path;
    digest text_sha256{}; // of its text from the start to end
    start_point end;      // decoded bytes, end line and records
};

/// What one chunk of a load stored, as its manifest row says.
struct chunk_counts {
    std::uint64_t next_offset = 0;
    std::uint64_t records = 0;
    std::uint64_t loaded = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t blank_lines = 0;
};

/// A load to run: new, or one an interrupted run left unfinished.
struct open_load {
    std::int64_t load_id = 0;
    bool resumed = false;
    std::uint64_t chunk_bytes = 0; // as recorded: cuts must not move
    start_point start;
    std::optional<std::int64_t> grown_from;
    /// Chunks already committed, by decoded offset.
    std::map<std::uint64_t, chunk_counts> done;
};

/// Totals of a completed load, summed from its chunks by the server.
struct load_totals {
    std::uint64_t chunks = 0;
    std::uint64_t records = 0;
    std::uint64_t loaded = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t blank_lines = 0;
};

/// The loader's record of which files it stored, on a connection of its
/// own. Each chunk's manifest row is written by chunk_ledger() into the
/// chunk's own transaction (pg::batch::ledger); this class reads the
/// manifest before a file and closes the file's load after it.
class manifest {
public:
    explicit manifest(manifest_tables tables = {});

    /// How long a statement waits for a database that went away while
    /// the connection sat idle (a restart between two files) to come
    /// back; 0 tries one new connection only.
    void wait_for_database(std::chrono::seconds limit) { retry_for_ = limit; }

    /// Connects; the manifest tables must exist.
    [[nodiscard]] pg::db_status open(const std::string& dsn,
                                     unsigned connect_timeout_s);

    /// The latest completed load of `path`, if any.
    [[nodiscard]] pg::db_status last_load_of(const std::string& path,
                                             std::optional<earlier_load>& out);

    /// The latest unfinished load of `path` (an interrupted run), if any;
    /// its end is not known yet (zeros).
    [[nodiscard]] pg::db_status
    unfinished_load_of(const std::string& path,
                       std::optional<earlier_load>& out);

    /// A completed load of the same content, if any.
    [[nodiscard]] pg::db_status
    finished_with(const digest& sha256, std::optional<finished_load>& out);

    /// Whether a load's decoded text, completed or not, starts like one
    /// whose first text_head_bytes have digest `head`: cheap to know, and
    /// only then is a whole text worth hashing.
    [[nodiscard]] pg::db_status text_head_known(const digest& head,
                                                bool& known);

    /// Whether an unfinished load (an interrupted run) is of the content
    /// `sha256`: for a plain file, the digest of its text.
    [[nodiscard]] pg::db_status unfinished_with(const digest& sha256,
                                                bool& found);
    /// A completed load of the same decoded text (the same events in
    /// another coding), if any.
    [[nodiscard]] pg::db_status
    finished_with_text(const text_hash& text,
                       std::optional<finished_load>& out);

    /// Completed loads whose text begins with the text_head_bytes whose
    /// digest is `head` and goes on past them, longest first, at most
    /// `most`: those with a digest of their text from its start, no
    /// damage, and no later load grown from them without such a digest
    /// (an older loader's: what it stored cannot be told apart).
    [[nodiscard]] pg::db_status texts_starting(const digest& head,
                                               std::size_t most,
                                               std::vector<text_start>& out);
    /// Resumes the unfinished load of this content, or records a new one
    /// cut into `chunk_bytes` chunks from `start` (for a file that grew
    /// since `grown_from`).
    [[nodiscard]] pg::db_status begin(const file_identity& file,
                                      std::uint64_t chunk_bytes,
                                      const start_point& start,
                                      std::optional<std::int64_t> grown_from,
                                      open_load& out);

    /// Marks the load complete once its chunks are all in, with the end
    /// of its text and any damage; `totals` are the sums of its chunk
    /// rows. Fails (data) if a chunk is missing: the chunks must cover
    /// the text from the start offset to `end.decoded_offset` without a
    /// gap.
    [[nodiscard]] pg::db_status complete(std::int64_t load_id,
                                         const start_point& end,
                                         const std::string& damage,
                                         const std::optional<text_hash>& text,
                                         load_totals& totals);

    /// The SQL that records a chunk, for its batch's ledger.
    std::string chunk_ledger(std::int64_t load_id, std::uint64_t offset,
                             const chunk_counts& counts) const;

    /// The SQL that moves `refused` of a recorded chunk's rows, which
    /// PostgreSQL refused, to its dead-letter count.
    std::string chunk_refusals(std::int64_t load_id, std::uint64_t offset,
                               std::uint64_t refused) const;

private:
    // The latest completed load whose row meets `condition`.
    [[nodiscard]] pg::db_status
    latest_finished(const std::string& condition,
                    std::span<const pg::text_value> params,
                    std::optional<finished_load>& out);
    [[nodiscard]] pg::db_status load_of(const std::string& path,
                                        bool completed,
                                        std::optional<earlier_load>& out);
    [[nodiscard]] pg::db_status query(const std::string& sql,
                                      std::span<const pg::text_value> params,
                                      std::string_view step,
                                      std::vector<pg::text_row>& rows);

    manifest_tables tables_;
    std::string files_; // quoted names
    std::string chunks_;
    pg::connection conn_;
    std::string dsn_;
    unsigned timeout_s_ = 5;
    std::chrono::seconds retry_for_{0};
};

} // namespace ks::load
