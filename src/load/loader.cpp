#include "load/loader.hpp"

#include "load/content_hash.hpp"
#include "load/progress.hpp"
#include "pg/table_check.hpp"
#include "pg/writer.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fcntl.h>
#include <sys/stat.h>
#include <mutex>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace ks::load {

namespace {

using steady = std::chrono::steady_clock;

// A chunk that the database could not take for a passing reason waits
// this long before it is sent again, doubling up to the maximum.
constexpr auto first_retry_delay = std::chrono::milliseconds(200);
constexpr auto max_retry_delay = std::chrono::milliseconds(5000);

// How often the reading thread looks at completions while it waits.
constexpr auto service_interval = std::chrono::milliseconds(100);

/// Earlier loads whose text may be a new file's start that are compared
/// with it: each is a text the same log had when a run loaded it, and
/// rotation leaves few.
constexpr std::size_t most_text_starts = 8;

// Input bytes read per call.
constexpr std::size_t read_block_bytes = 1u << 20;

/// A file descriptor closed on scope exit.
class file_descriptor {
public:
    explicit file_descriptor(int fd) noexcept : fd_(fd) {}
    ~file_descriptor()
    {
        if (fd_ > 0) ::close(fd_);
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    int get() const noexcept { return fd_; }

private:
    int fd_;
};

/// Reads at most `limit` bytes of `fd` in total, so that a file that
/// grows while it is loaded is loaded as it was hashed.
read_function bounded_reader(int fd, std::uint64_t limit)
{
    auto left = std::make_shared<std::uint64_t>(limit);
    return [fd, left](char* dst, std::size_t n) -> std::size_t {
        n = static_cast<std::size_t>(std::min<std::uint64_t>(n, *left));
        if (n == 0) return 0;
        for (;;) {
            ssize_t got = ::read(fd, dst, n);
            if (got >= 0) {
                *left -= static_cast<std::uint64_t>(got);
                return static_cast<std::size_t>(got);
            }
            if (errno != EINTR)
                throw std::system_error(errno, std::generic_category(), "read");
        }
    };
}

/// Up to `max` bytes of `fd` from `offset`: the start of an undecodable
/// rest of a file, kept as a dead letter.
std::string read_at(int fd, std::uint64_t offset, std::size_t max)
{
    std::string out(max, '\0');
    std::size_t have = 0;
    while (have < max) {
        ssize_t got = ::pread(fd, out.data() + have, max - have,
                              static_cast<off_t>(offset + have));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        have += static_cast<std::size_t>(got);
    }
    out.resize(have);
    return out;
}

std::string plural(std::uint64_t n, const char* one, const char* many)
{
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

} // namespace

std::uint64_t run_summary::count(file_status s) const
{
    return static_cast<std::uint64_t>(
        std::count_if(files.begin(), files.end(),
                      [s](const file_report& f) { return f.status == s; }));
}

bool run_summary::any_dead_letters() const
{
    return dead_lettered != 0 ||
           std::any_of(files.begin(), files.end(), [](const file_report& f) {
               return f.status == file_status::loaded && f.dead_lettered != 0;
           });
}

bool run_summary::any_damage() const
{
    return std::any_of(files.begin(), files.end(),
                       [](const file_report& f) { return !f.damage.empty(); });
}

/// One file between its first chunk and its completion. Guarded by
/// impl::mutex_ once chunks are in flight.
struct file_job {
    file_report report;
    bool is_stream = false;   // stdin or a pipe: read once, no manifest
    std::int64_t load_id = 0; // 0: no manifest (standard input)
    unsigned in_flight = 0;   // chunks sent and not settled
    bool reading_done = false;
    bool failed = false;
    bool settled = false; // reported
    start_point end;      // once reading is done
    std::uint64_t chunks_earlier = 0;
    std::uint64_t chunks_elsewhere = 0; // by a loader running meanwhile
    bool again = false; // finished an interrupted load of its start only
    std::optional<text_hash> text; // digests of the whole decoded text
};

/// A chunk on its way through a worker and the writer.
struct chunk_job {
    std::shared_ptr<file_job> file;
    chunk* text = nullptr; // from the pool; back there when settled
    std::optional<ingest::unreadable_input> unreadable;
    std::string unreadable_bytes;

    std::shared_ptr<pg::batch> rows;
    chunk_counts counts;
    steady::time_point first_try{};
    steady::time_point retry_at{};
    steady::duration retry_delay{};
};

struct loader::impl {
    impl(loader_options o, log_function l);
    ~impl();

    pg::db_status connect();
    run_summary run(const std::vector<input_file>& files);

private:
    void start_workers();
    void stop_workers() noexcept;
    void work() noexcept;
    void submit(const std::shared_ptr<chunk_job>& job);
    void settle(const std::shared_ptr<chunk_job>& job,
                const pg::commit_outcome& outcome);

    void load_file(const input_file& in);
    bool plan_file(const input_file& in, file_job& file, open_load& load,
                   std::uint64_t& hashed_bytes);
    void wait_for_text_head(const digest& head);
    chunk* take_chunk();
    bool gave_up_now();
    void give_back(chunk* c);
    void service(std::unique_lock<std::mutex>& lock);
    void finish_files(std::unique_lock<std::mutex>& lock);
    void finish_file(file_job& f);
    void draw_progress(bool force);
    void say(const std::string& line);

    loader_options options_;
    log_function log_;
    manifest manifest_;
    std::unique_ptr<pg::writer> writer_;
    progress_display display_;

    std::mutex mutex_;
    std::condition_variable wake_main_;
    std::condition_variable wake_workers_;
    std::deque<std::shared_ptr<chunk_job>> to_prepare_;
    std::vector<std::shared_ptr<chunk_job>> to_retry_;
    std::vector<std::shared_ptr<file_job>> open_files_;
    std::vector<std::unique_ptr<chunk>> pool_;
    std::vector<chunk*> free_chunks_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;

    // Progress, read by the reading thread.
    std::atomic<std::uint64_t> rows_loaded_{0};
    std::atomic<std::uint64_t> dead_lettered_{0};
    std::uint64_t bytes_total_ = 0;
    std::uint64_t bytes_done_ = 0; // of files read completely
    std::uint64_t files_total_ = 0;
    std::uint64_t files_done_ = 0;
    const chunker* reading_ = nullptr;
    std::string current_;

    run_summary summary_;
    std::vector<input_file> again_; // to load once more, see plan_file
    bool second_pass_ = false;

    // The database's state, set by completions, told by the reading
    // thread: since when it fails, whether the run gave up on it, and a
    // line to print.
    steady::time_point unavailable_since_{};
    bool giving_up_ = false;
    std::string notice_;
};

loader::impl::impl(loader_options o, log_function l)
    : options_(std::move(o)), log_(std::move(l)), manifest_(options_.manifest),
      display_(stderr, options_.progress_terminal, options_.progress_interval)
{
    pg::writer_config c;
    c.dsn = options_.dsn;
    c.events = {options_.events_table, std::string(ingest::event_columns)};
    c.dead_letters = {options_.dead_letter_table,
                      std::string(ingest::dead_letter_columns)};
    c.connections = std::max(1u, options_.connections);
    c.connect_timeout_s = options_.connect_timeout_s;
    writer_ = std::make_unique<pg::writer>(c);

    // Enough chunks for every worker and connection to have one and the
    // reader to fill the next; memory is about this many chunk_bytes
    // twice over (text, then rows).
    const unsigned workers = std::max(1u, options_.workers);
    const std::size_t chunks = workers + 2 * c.connections + 1;
    for (std::size_t i = 0; i < chunks; ++i) {
        pool_.push_back(std::make_unique<chunk>());
        free_chunks_.push_back(pool_.back().get());
    }
}

loader::impl::~impl()
{
    stop_workers();
    if (writer_) writer_->stop();
}

pg::db_status loader::impl::connect()
{
    manifest_.wait_for_database(options_.retry_for);
    if (auto e = manifest_.open(options_.dsn, options_.connect_timeout_s))
        return e;

    // The tables before the first file: a missing one fails the run with
    // its name, rather than every chunk with the same error.
    std::vector<std::string> warnings;
    if (auto e = pg::check_database(writer_->config(), &warnings))
        return e;
    for (const std::string& w : warnings)
        say("warning: " + w);
    return std::nullopt;
}

void loader::impl::start_workers()
{
    const unsigned n = std::max(1u, options_.workers);
    for (unsigned i = 0; i < n; ++i)
        workers_.emplace_back([this] { work(); });
}

void loader::impl::stop_workers() noexcept
{
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_workers_.notify_all();
    for (std::thread& t : workers_)
        t.join();
    workers_.clear();
}

void loader::impl::work() noexcept
{
    ingest::preparer prep(options_.mapping, options_.limits);
    for (;;) {
        std::shared_ptr<chunk_job> job;
        {
            std::unique_lock lock(mutex_);
            wake_workers_.wait(
                lock, [&] { return stopping_ || !to_prepare_.empty(); });
            if (to_prepare_.empty()) return;
            job = std::move(to_prepare_.front());
            to_prepare_.pop_front();
        }

        // Parse, map and encode; then the chunk's manifest row rides in
        // the same transaction as its rows.
        try {
            const chunk& c = *job->text;
            job->rows = std::make_shared<pg::batch>();
            ingest::counts tally;
            const ingest::origin from{"file", job->file->report.path};
            static_cast<void>(prep.prepare_framed(
                c.text.view(), c.records, c.offset, c.blank_lines, from,
                ingest::pg_now(), *job->rows, tally,
                job->unreadable ? &*job->unreadable : nullptr));
            job->counts = {c.next_offset, tally.received, tally.loaded,
                           tally.dead_lettered, tally.blank_lines};
            if (job->file->load_id != 0) {
                const std::int64_t load_id = job->file->load_id;
                const std::uint64_t offset = c.offset;
                job->rows->ledger =
                    manifest_.chunk_ledger(load_id, offset, job->counts);
                job->rows->on_refusal.amend_ledger =
                    [this, load_id, offset](std::uint64_t refused) {
                        return manifest_.chunk_refusals(load_id, offset,
                                                        refused);
                    };
            }
        } catch (const std::exception& e) {
            pg::commit_outcome failed;
            failed.kind = pg::outcome_kind::failed;
            failed.message = std::string("preparing a chunk: ") + e.what();
            settle(job, failed);
            continue;
        }
        job->first_try = steady::now();
        submit(job);
    }
}

void loader::impl::submit(const std::shared_ptr<chunk_job>& job)
{
    writer_->submit(job->rows,
                    [this, job](pg::commit_outcome o) { settle(job, o); });
}

void loader::impl::settle(const std::shared_ptr<chunk_job>& job,
                          const pg::commit_outcome& o)
{
    std::lock_guard lock(mutex_);
    file_job& f = *job->file;

    // A database that is away for a while is waited for: the chunk goes
    // again later, holding its place in memory meanwhile. The wait is
    // counted from the first failure since the last commit, for the
    // whole run, so an outage longer than retry_for ends it quickly.
    const auto now = steady::now();
    if (o.kind == pg::outcome_kind::unavailable &&
        unavailable_since_ == steady::time_point{}) {
        unavailable_since_ = now;
        notice_ = "PostgreSQL is unavailable (" + o.message +
                  "); retrying for up to " +
                  std::to_string(options_.retry_for.count()) + " s";
    }
    if (o.kind == pg::outcome_kind::unavailable &&
        now - unavailable_since_ < options_.retry_for && !stopping_) {
        job->retry_delay = job->retry_delay == steady::duration{}
                               ? steady::duration(first_retry_delay)
                               : std::min<steady::duration>(
                                     2 * job->retry_delay, max_retry_delay);
        job->retry_at = now + job->retry_delay;
        to_retry_.push_back(job);
        wake_main_.notify_one();
        return;
    }

    // The manifest row exists already: another loader stored this chunk
    // of the same content at the same time. Its rows are there, once.
    const bool stored_elsewhere =
        o.kind == pg::outcome_kind::duplicate && f.load_id != 0;
    if (o.kind == pg::outcome_kind::unavailable) giving_up_ = true;
    if (stored_elsewhere) ++f.chunks_elsewhere;
    if (o.kind == pg::outcome_kind::committed) {
        // Rows PostgreSQL refused are dead letters of the same chunk.
        job->counts.loaded -= std::min(o.refused, job->counts.loaded);
        job->counts.dead_lettered += o.refused;
        if (unavailable_since_ != steady::time_point{})
            notice_ = "PostgreSQL is available again";
        unavailable_since_ = {};
        f.report.records += job->counts.records;
        f.report.loaded += job->counts.loaded;
        f.report.dead_lettered += job->counts.dead_lettered;
        f.report.blank_lines += job->counts.blank_lines;
        summary_.records += job->counts.records;
        summary_.rows_loaded += job->counts.loaded;
        summary_.dead_lettered += job->counts.dead_lettered;
        summary_.blank_lines += job->counts.blank_lines;
        rows_loaded_ += job->counts.loaded;
        dead_lettered_ += job->counts.dead_lettered;
    } else if (!stored_elsewhere) {
        if (!f.failed) f.report.message = o.message;
        f.failed = true;
    }

    --f.in_flight;
    job->rows.reset();
    free_chunks_.push_back(job->text);
    job->text = nullptr;
    wake_main_.notify_one();
}

bool loader::impl::gave_up_now()
{
    std::lock_guard lock(mutex_);
    return giving_up_;
}

chunk* loader::impl::take_chunk()
{
    std::unique_lock lock(mutex_);
    for (;;) {
        service(lock);
        if (!free_chunks_.empty()) break;
        wake_main_.wait_for(lock, service_interval);
    }
    chunk* c = free_chunks_.back();
    free_chunks_.pop_back();
    return c;
}

void loader::impl::give_back(chunk* c)
{
    std::lock_guard lock(mutex_);
    free_chunks_.push_back(c);
}

void loader::impl::service(std::unique_lock<std::mutex>& lock)
{
    // Chunks whose pause is over go to the writer again.
    const auto now = steady::now();
    std::vector<std::shared_ptr<chunk_job>> due;
    std::erase_if(to_retry_, [&](const std::shared_ptr<chunk_job>& j) {
        if (j->retry_at > now) return false;
        due.push_back(j);
        return true;
    });
    if (!due.empty()) {
        lock.unlock();
        for (const auto& j : due)
            submit(j);
        lock.lock();
    }

    finish_files(lock);
    std::string notice = std::move(notice_);
    notice_.clear();
    lock.unlock();
    if (!notice.empty()) say(notice);
    draw_progress(false);
    lock.lock();
}

void loader::impl::finish_files(std::unique_lock<std::mutex>& lock)
{
    // Files read to the end whose chunks all settled, in the order they
    // were read. The manifest is written outside the lock: only this
    // thread uses it, and completions must not wait for the database.
    for (;;) {
        auto it = std::find_if(open_files_.begin(), open_files_.end(),
                               [](const std::shared_ptr<file_job>& f) {
                                   return f->reading_done && f->in_flight == 0;
                               });
        if (it == open_files_.end()) return;
        std::shared_ptr<file_job> f = *it;
        open_files_.erase(it);
        lock.unlock();
        finish_file(*f);
        lock.lock();
    }
}

void loader::impl::finish_file(file_job& f)
{
    file_report& r = f.report;
    if (!f.failed && f.load_id != 0) {
        load_totals totals;
        if (auto e = manifest_.complete(f.load_id, f.end, r.damage, f.text,
                                        totals)) {
            f.failed = true;
            r.message = e->message;
        } else {
            // The file's counts as the manifest has them, including
            // chunks an earlier, interrupted run stored.
            r.records = totals.records;
            r.loaded = totals.loaded;
            r.dead_lettered = totals.dead_lettered;
            r.blank_lines = totals.blank_lines;
        }
    }
    r.status = f.failed ? file_status::failed : file_status::loaded;

    std::string line = (f.failed ? "FAILED " : "loaded ") + r.path + ": " +
                       plural(r.loaded, "row", "rows") + ", " +
                       plural(r.dead_lettered, "dead letter", "dead letters") +
                       ", " +
                       plural(r.blank_lines, "blank line", "blank lines");
    // An earlier run that recorded the load but was stopped before its
    // first chunk committed left nothing to resume from.
    if (r.resumed && f.chunks_earlier == 0)
        line += " (an earlier run had begun it and stored none of it)";
    else if (r.resumed)
        line += " (resumed: " + plural(f.chunks_earlier, "chunk", "chunks") +
                " stored by an earlier run)";
    if (f.chunks_elsewhere > 0)
        line += " (" + plural(f.chunks_elsewhere, "chunk", "chunks") +
                " stored by another run at the same time)";
    if (r.grown && r.grown_after.empty())
        line += " (only what was added since its last load)";
    if (!r.grown_after.empty())
        line += " (only what follows the text loaded from " + r.grown_after +
                ")";
    if (f.again)
        line += " (finished an interrupted load of the file as it was "
                "then; what it gained since loads next)";
    if (!r.damage.empty()) line += "; damaged: " + r.damage;
    if (f.failed) line += "; " + r.message;
    say(line);

    ++files_done_;
    summary_.files.push_back(r);
}

void loader::impl::draw_progress(bool force)
{
    if (!options_.show_progress) return;
    progress_snapshot s;
    s.bytes_done = bytes_done_ + (reading_ ? reading_->input_bytes() : 0);
    s.bytes_total = bytes_total_;
    s.rows_loaded = rows_loaded_;
    s.dead_lettered = dead_lettered_;
    s.files_done = files_done_;
    s.files_total = files_total_;
    s.current = current_;
    if (force) display_.finish();
    display_.update(s);
}

void loader::impl::say(const std::string& line)
{
    // The bar is cleared first and drawn again at the next update.
    if (options_.show_progress) display_.finish();
    log_(line);
}

namespace {

/// Reports a file as loaded already, by `done`; `how` is put after
/// "already loaded". Returns true, as plan_file does for a settled file.
bool skip_as_loaded(file_report& r, const finished_load& done,
                    std::string_view how)
{
    r.status = file_status::already_loaded;
    r.loaded = done.loaded;
    r.dead_lettered = done.dead_lettered;
    r.message = "already loaded" + std::string(how) + " from " + done.path +
                " at " + done.completed_at;
    return true;
}

} // namespace

bool loader::impl::plan_file(const input_file& in, file_job& file,
                             open_load& load, std::uint64_t& hashed_bytes)
{
    file_report& r = file.report;

    // A path that held a shorter version of this file before may only
    // have grown: hashing tells, in the same pass, whether the old bytes
    // are still its start.
    // A run killed while loading this path, which has grown since: the
    // interrupted load is finished first, over exactly the bytes it
    // hashed, so that its committed chunks are not stored again; the
    // part added since is loaded once it is complete (run() takes the
    // file again).
    std::optional<earlier_load> earlier;
    if (auto e = manifest_.unfinished_load_of(in.path, earlier)) {
        r.message = e->message;
        return false;
    }
    if (earlier && !options_.force && earlier->file_bytes < in.size &&
        hash_file(in.path, earlier->file_bytes).whole == earlier->sha256) {
        const file_identity id{earlier->sha256, in.path, earlier->file_bytes,
                               in.mtime_ns, std::nullopt};
        if (auto e = manifest_.begin(id, options_.chunk_bytes, {},
                                     std::nullopt, load)) {
            r.message = e->message;
            return false;
        }
        hashed_bytes = earlier->file_bytes;
        r.resumed = true;
        r.grown = load.grown_from.has_value();
        file.load_id = load.load_id;
        file.again = true;
        return true;
    }

    if (auto e = manifest_.last_load_of(in.path, earlier)) {
        r.message = e->message;
        return false;
    }
    const std::uint64_t prefix =
        earlier && earlier->file_bytes < in.size && !options_.force
            ? earlier->file_bytes
            : 0;
    file_hash h = hash_file(in.path, in.size, prefix);
    hashed_bytes = h.bytes;

    // The same bytes, whatever the path now, are stored already.
    if (!options_.force) {
        std::optional<finished_load> done;
        if (auto e = manifest_.finished_with(h.whole, done)) {
            r.message = e->message;
            return false;
        }
        if (done) return skip_as_loaded(r, *done, "");
    }

    // Missing: an earlier load that ended inside a line still being
    // written dead-lettered that piece, and the grown part starts after
    // it, so the completed line comes out as a second dead letter; the
    // end of the last complete record would be the better start.
    start_point start;
    std::optional<std::int64_t> grown_from;
    if (earlier && h.prefix && *h.prefix == earlier->sha256) {
        start = earlier->end;
        grown_from = earlier->load_id;
        r.grown = true;
    }

    // New bytes may still be known events in another coding: a rotation
    // that compressed a file loaded plain. The start of the text tells
    // cheaply whether that is possible; only then is it all decoded.
    // Such a skip is not recorded, so each run decodes the file again.
    // A file of this run with the same start is waited for: its text is
    // in the manifest only once it is finished.
    file_identity id{h.whole, in.path, h.bytes, in.mtime_ns, std::nullopt};
    if (!options_.force && !grown_from) {
        const digest head = hash_text_head(in.path, h.bytes);
        id.text_head = head;
        wait_for_text_head(head);
        bool known = false;
        if (auto e = manifest_.text_head_known(head, known)) {
            r.message = e->message;
            return false;
        }
        if (known) {
            // One decoding pass: the whole text's digests, and whether the
            // texts of earlier loads that start alike are its start.
            std::vector<text_start> loads;
            if (auto e = manifest_.texts_starting(head, most_text_starts,
                                                  loads)) {
                r.message = e->message;
                return false;
            }
            std::vector<std::uint64_t> lengths;
            for (const text_start& l : loads)
                lengths.push_back(l.end.decoded_offset);
            const text_and_starts seen =
                hash_text_and_starts(in.path, h.bytes, lengths);

            std::optional<finished_load> done;
            if (auto e = manifest_.finished_with_text(seen.text, done)) {
                r.message = e->message;
                return false;
            }
            if (done) return skip_as_loaded(r, *done, ", in another coding,");

            // A plain file whose load was interrupted, then compressed
            // before this run: its text is this file's, so that load goes
            // on from here, skipping the chunks it stored (cuts depend on
            // the text alone). Its content digest is that of this text.
            bool interrupted = false;
            if (auto e = manifest_.unfinished_with(seen.text.whole,
                                                   interrupted)) {
                r.message = e->message;
                return false;
            }
            if (interrupted) id.sha256 = seen.text.whole;

            // Or a loaded text followed by more: the active log loaded,
            // then grown and rotated (renamed, compressed, or both). Only
            // what follows the longest such text is new.
            for (std::size_t i = 0; i < loads.size() && !interrupted; ++i) {
                if (seen.starts[i] != loads[i].text_sha256) continue;
                start = loads[i].end;
                grown_from = loads[i].load_id;
                r.grown = true;
                r.grown_after = loads[i].path;
                break;
            }
        }
    }

    if (auto e = manifest_.begin(id, options_.chunk_bytes, start, grown_from,
                                 load)) {
        r.message = e->message;
        return false;
    }
    r.resumed = load.resumed;
    r.grown = load.grown_from.has_value();
    file.load_id = load.load_id;
    return true;
}

void loader::impl::wait_for_text_head(const digest& head)
{
    // Files read in this run have their text digests before the next
    // file is planned; only unfinished ones are not in the manifest yet.
    auto loading = [&] {
        return std::any_of(open_files_.begin(), open_files_.end(),
                           [&](const std::shared_ptr<file_job>& f) {
                               return f->text && f->text->head == head;
                           });
    };
    std::unique_lock lock(mutex_);
    while (loading()) {
        service(lock);
        if (!loading()) break;
        wake_main_.wait_for(lock, service_interval);
    }
}

void loader::impl::load_file(const input_file& in)
{
    auto file = std::make_shared<file_job>();
    file_report& r = file->report;
    r.path = in.path;
    current_ = in.path;

    // Standard input and pipes (`<(zcat x.gz)`) can be read only once and
    // have no identity to record: they are loaded as they come.
    struct stat st {};
    file->is_stream = in.is_stdin || ::stat(in.path.c_str(), &st) != 0 ||
                      !S_ISREG(st.st_mode);

    auto fail = [&](const std::string& why) {
        r.status = file_status::failed;
        r.message = why;
        say("FAILED " + in.path + ": " + why);
        ++files_done_;
        bytes_done_ += in.size;
        summary_.files.push_back(r);
    };

    const std::string gave_up =
        "not loaded: PostgreSQL was unavailable for longer than "
        "--retry-for-s (" +
        std::to_string(options_.retry_for.count()) + " s)";
    if (gave_up_now()) return fail(gave_up);

    open_load load;
    load.chunk_bytes = options_.chunk_bytes;
    std::uint64_t limit = UINT64_MAX;
    int fd = STDIN_FILENO;
    std::unique_ptr<file_descriptor> owned;
    try {
        if (!file->is_stream) {
            if (!plan_file(in, *file, load, limit)) return fail(r.message);
            if (file->again && !second_pass_) again_.push_back(in);
            if (r.status == file_status::already_loaded) {
                say("skipped " + in.path + ": " + r.message);
                ++files_done_;
                bytes_done_ += in.size;
                summary_.files.push_back(r);
                return;
            }
        }
        if (!in.is_stdin) {
            fd = ::open(in.path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                throw std::system_error(errno, std::generic_category(), "open");
            owned = std::make_unique<file_descriptor>(fd);
        }
    } catch (const std::exception& e) {
        return fail(e.what());
    }

    // From here the file is in flight: completions may settle it.
    {
        std::lock_guard lock(mutex_);
        open_files_.push_back(file);
    }

    chunker_options copts;
    copts.chunk_bytes = static_cast<std::size_t>(load.chunk_bytes);
    // A record longer than the largest event cannot load anyway: the
    // window stops growing a chunk past that, so a truncated line costs
    // one larger chunk rather than the rest of the file.
    copts.max_window_bytes =
        copts.chunk_bytes + options_.mapping.max_event_bytes;
    copts.start = load.start;
    std::string damage;
    bool damage_letter = false;
    try {
        chunker cut(bounded_reader(fd, limit), copts);
        // The text's digests from its start: a load that starts further
        // on (a file that grew) hashes the text before it first, so that
        // its digests name everything loaded up to its end.
        std::optional<text_hashing> text;
        if (!file->is_stream) {
            text_hashing before =
                hash_text_start(in.path, limit, load.start.decoded_offset);
            if (before.bytes == load.start.decoded_offset)
                text.emplace(std::move(before));
        }
        reading_ = &cut;
        for (;;) {
            chunk* c = take_chunk();
            if (gave_up_now()) {
                give_back(c);
                std::lock_guard lock(mutex_);
                if (!file->failed) r.message = gave_up;
                file->failed = true;
                break;
            }
            if (!cut.next(*c)) {
                give_back(c);
                break;
            }

            if (text) text->update(c->text.view());

            // Stored by an interrupted run: the same cut, so skip it.
            auto done = load.done.find(c->offset);
            if (done != load.done.end() &&
                done->second.next_offset == c->next_offset) {
                ++file->chunks_earlier;
                give_back(c);
                continue;
            }

            auto job = std::make_shared<chunk_job>();
            job->file = file;
            job->text = c;

            // The undecodable rest of a corrupt file goes with the last
            // chunk, as a dead letter of its own.
            const decode::result& d = cut.damage();
            if (c->last && d.error == decode::errc::corrupt &&
                !file->is_stream) {
                const std::uint64_t rest =
                    limit > d.input_offset ? limit - d.input_offset : 0;
                job->unreadable_bytes =
                    read_at(fd, d.input_offset,
                            static_cast<std::size_t>(std::min<std::uint64_t>(
                                rest, options_.limits.max_dead_letter_bytes)));
                ingest::unreadable_input u;
                u.offset = d.input_offset;
                u.record_index = c->first_index + c->records.size();
                u.message = d.message;
                u.raw = job->unreadable_bytes;
                u.raw_bytes = rest;
                job->unreadable = u;
                damage_letter = true;
            }

            std::lock_guard lock(mutex_);
            ++file->in_flight;
            to_prepare_.push_back(std::move(job));
            wake_workers_.notify_one();
        }

        const decode::result& d = cut.damage();
        if (d.error != decode::errc::ok)
            damage = d.message + " (at byte " + std::to_string(d.input_offset) +
                     " of the file)";
        reading_ = nullptr;
        std::lock_guard lock(mutex_);
        file->end = {cut.decoded_bytes(), cut.end_line(),
                     cut.end_index() + (damage_letter ? 1 : 0)};
        r.damage = damage;
        r.input_bytes = cut.input_bytes();
        if (text)
            file->text = text_hash{text->head.so_far(), text->whole.so_far(),
                                   text->bytes};
        bytes_done_ += in.is_stdin ? 0 : in.size;
        file->reading_done = true;
    } catch (const std::exception& e) {
        reading_ = nullptr;
        std::lock_guard lock(mutex_);
        if (!file->failed) r.message = std::string("reading: ") + e.what();
        file->failed = true;
        bytes_done_ += in.size;
        file->reading_done = true;
    }
    summary_.input_bytes += r.input_bytes;
}

run_summary loader::impl::run(const std::vector<input_file>& files)
{
    const auto t0 = steady::now();
    summary_ = {};
    files_total_ = files.size();
    for (const input_file& f : files)
        bytes_total_ += f.size;

    start_workers();
    std::vector<input_file> pass = files;
    while (!pass.empty()) {
        again_.clear();
        for (const input_file& f : pass)
            load_file(f);

        // Wait for the last chunks, then the last files.
        std::unique_lock lock(mutex_);
        for (;;) {
            service(lock);
            if (open_files_.empty()) break;
            wake_main_.wait_for(lock, service_interval);
        }
        lock.unlock();

        // Files whose interrupted load was finished: now what they gained.
        pass = std::move(again_);
        second_pass_ = true;
        files_total_ += pass.size();
        for (const input_file& f : pass)
            bytes_total_ += f.size;
    }
    stop_workers();
    current_.clear();
    draw_progress(true);
    if (options_.show_progress) display_.finish();

    summary_.seconds =
        std::chrono::duration<double>(steady::now() - t0).count();
    return summary_;
}

loader::loader(loader_options options, log_function log)
    : impl_(std::make_unique<impl>(std::move(options), std::move(log)))
{
}

loader::~loader() = default;

pg::db_status loader::connect()
{
    return impl_->connect();
}

run_summary loader::run(const std::vector<input_file>& files)
{
    return impl_->run(files);
}

} // namespace ks::load
