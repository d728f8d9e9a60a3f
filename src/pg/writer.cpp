#include "pg/writer.hpp"

#include "pg/connection.hpp"
#include "pg/copy_stream.hpp"
#include "pg/health_probe.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace ks::pg {

namespace {

using steady = std::chrono::steady_clock;

// After a failed connection attempt a session waits this long before the
// next one, doubling up to the maximum, so a database that is down sees a
// few attempts per second from the whole pool rather than one per batch.
constexpr auto first_retry_delay = std::chrono::milliseconds(100);
constexpr auto max_retry_delay = std::chrono::milliseconds(2000);

/// A batch waiting for a connection, then its outcome.
struct job {
    std::shared_ptr<batch> work;
    writer::completion done;
    commit_outcome result; // set by the session that ran the job
};

/// Batches that one writer thread runs in one transaction.
using job_group = std::vector<job>;

/// COPY bytes a job adds to a group.
std::size_t copy_bytes(const job& j) noexcept
{
    if (j.work == nullptr) return 0;
    return j.work->events.bytes().size() + j.work->dead_letters.bytes().size();
}

/// The statements a session sends, built once from the configuration.
struct statements {
    std::string copy_events;
    std::string copy_dead_letters;
    std::string insert_ledger_rows; // up to VALUES; empty without a table
    std::string events_step; // names the COPY in error messages
    std::string dead_letters_step;
    std::string ledger_step;
    std::string sift_first;  // SAVEPOINT; COPY events ...
    std::string sift_next;   // RELEASE, SAVEPOINT; COPY events ...
};

/// Where a transaction failed, which decides what can be done about it.
enum class failed_at : std::uint8_t {
    opening,      // BEGIN and the ledger, before any row was sent
    event_rows,   // the events COPY: PostgreSQL refused a row
    other,        // the dead letters, COMMIT, or the link
};

/// One COPY of a transaction: a part of every batch of a group.
struct copy_part {
    const std::string* sql;  // the COPY statement
    const std::string* step; // names it in error messages
    copy_buffer batch::*rows;
    std::uint64_t* loaded;   // the server's row count goes here
    failed_at sending;       // where a failure once the COPY started is
};

commit_outcome make_outcome(outcome_kind kind, std::string message)
{
    commit_outcome o;
    o.kind = kind;
    o.message = std::move(message);
    return o;
}

commit_outcome outcome_from(db_error e)
{
    commit_outcome o;
    o.kind = e.kind == error_kind::transient ? outcome_kind::unavailable
                                             : outcome_kind::failed;
    o.sqlstate = std::move(e.sqlstate);
    o.message = std::move(e.message);
    return o;
}

std::string copy_statement(const copy_target& t)
{
    std::string sql = "COPY " + quote_table_name(t.table);
    if (!t.columns.empty()) sql += " " + t.columns;
    sql += " FROM STDIN (FORMAT binary)";
    return sql;
}

statements make_statements(const writer_config& c)
{
    statements s;
    s.copy_events = copy_statement(c.events);
    s.copy_dead_letters = copy_statement(c.dead_letters);
    s.events_step = "COPY into " + c.events.table;
    s.dead_letters_step = "COPY into " + c.dead_letters.table;
    s.ledger_step = "recording the batch";
    if (!c.ledger_rows.table.empty())
        s.insert_ledger_rows = "INSERT INTO " +
                               quote_table_name(c.ledger_rows.table) + " " +
                               c.ledger_rows.columns + " VALUES ";
    s.sift_first = "SAVEPOINT ks_sift; " + s.copy_events;
    s.sift_next = "RELEASE SAVEPOINT ks_sift; " + s.sift_first;
    return s;
}

std::string milliseconds_text(steady::duration d)
{
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d);
    return std::to_string(std::max<std::int64_t>(ms.count(), 0)) + " ms";
}

/// Fills `starts` with the offset of each tuple in `tuples` and the
/// end; false when they do not parse.
bool tuple_starts(std::string_view tuples, std::vector<std::size_t>& starts)
{
    std::size_t at = 0;
    while (at < tuples.size()) {
        starts.push_back(at);
        const std::size_t n = copy_buffer::tuple_length(tuples.substr(at));
        if (n == 0) return false;
        at += n;
    }
    starts.push_back(at);
    return true;
}

/// One writer thread's connection and its reconnection schedule. Only
/// that thread touches it.
class session {
public:
    session(const writer_config& config, const statements& sql)
        : config_(config), sql_(sql)
    {
    }

    /// True from a failed connection attempt until one succeeds.
    bool backing_off() const noexcept
    {
        return retry_at_ != steady::time_point();
    }

    /// When a session that is backing off may try again.
    steady::time_point retry_at() const noexcept { return retry_at_; }

    /// Tries to connect once the pause after a failure is over, without
    /// a batch: while other connections work, finding out whether the
    /// database is back must not cost a batch.
    void retry() noexcept
    {
        try {
            static_cast<void>(connect());
        } catch (const std::exception&) {
            // Out of memory: pause as long as a down database would.
            retry_at_ = steady::now() + max_retry_delay;
        }
    }

    /// Runs a group of batches and sets each job's result. Never throws:
    /// whatever goes wrong becomes the outcome.
    void run(job_group& group) noexcept
    {
        try {
            write_group(group);
        } catch (const std::exception& e) {
            // Most likely out of memory: the session state is unknown.
            // Before this no batch of the group was committed: nothing
            // allocates after a COMMIT, and batches written alone after a
            // refused group catch their own errors.
            for (job& j : group)
                j.result = failed_by(e);
        }
    }

private:
    /// Batches of a group that need the database.
    using member_list = std::vector<job*>;

    // Settles what needs no database, then writes the rest together.
    void write_group(job_group& group)
    {
        member_list members;
        members.reserve(group.size());
        for (job& j : group)
            if (needs_database(j)) members.push_back(&j);
        if (members.empty()) return;

        if (auto e = connect()) {
            for (job* m : members)
                m->result = outcome_from(*e);
            return;
        }
        if (members.size() == 1) {
            members.front()->result = write_alone(*members.front()->work);
            return;
        }
        write_together(members);
    }

    // Guards: the contract of submit(), checked so a caller's mistake
    // fails one batch instead of sending a broken stream. A batch without
    // rows is committed at once. False when `j` is settled.
    static bool needs_database(job& j)
    {
        const batch* b = j.work.get();
        if (b == nullptr) {
            j.result = make_outcome(outcome_kind::failed, "no batch submitted");
            return false;
        }
        if (!b->events.finished() || !b->dead_letters.finished()) {
            j.result = make_outcome(outcome_kind::failed,
                                    "batch submitted before finish()");
            return false;
        }
        if (b->events.rows() == 0 && b->dead_letters.rows() == 0 &&
            b->ledger.empty() && b->ledger_rows.empty()) {
            j.result = commit_outcome{};
            return false;
        }
        return true;
    }

    // One batch in its own transaction, with the server's row counts.
    commit_outcome write_alone(batch& b)
    {
        if (auto e = connect()) return outcome_from(std::move(*e));

        batch* one[] = {&b};
        commit_outcome out;
        failed_at where = failed_at::other;
        db_status e =
            copy_rows(one, out.events_loaded, out.dead_letters_loaded, where);
        if (!e)
            e = all_stored(out.events_loaded, b.events.rows(),
                           sql_.events_step);
        if (!e)
            e = all_stored(out.dead_letters_loaded, b.dead_letters.rows(),
                           sql_.dead_letters_step);
        if (!e) e = conn_.commit();
        if (!e) return out;
        conn_.recover();

        // Only the ledger can break a unique key before rows are sent.
        if (where == failed_at::opening && e->sqlstate == "23505" &&
            (!b.ledger.empty() || !b.ledger_rows.empty()))
            return duplicate_of(b);
        if (where == failed_at::event_rows && e->kind == error_kind::data &&
            b.on_refusal.dead_letter)
            return write_sifting(b, *e);
        return outcome_from(std::move(*e));
    }

    // A batch the ledger knows: what the earlier transaction recorded.
    commit_outcome duplicate_of(batch& b)
    {
        commit_outcome out;
        out.kind = outcome_kind::duplicate;
        if (b.ledger_lookup.empty()) return out;

        std::vector<text_row> rows;
        if (auto e = conn_.query(b.ledger_lookup, {}, sql_.ledger_step, rows)) {
            // Known to be stored, but its counts are not at hand: the
            // client must try again to hear them.
            conn_.recover();
            return outcome_from(std::move(*e));
        }
        if (!rows.empty()) {
            out.ledger_row = std::move(rows.front());
            return out;
        }

        // An entry too old to count: gone, and the batch is new. Once
        // only: a second conflict is a live entry made meanwhile.
        if (b.ledger_expired.empty() || renewing_) return out;
        if (auto e = conn_.exec(b.ledger_expired.c_str(), sql_.ledger_step)) {
            conn_.recover();
            return outcome_from(std::move(*e));
        }
        renewing_ = true;
        commit_outcome again = write_alone(b);
        renewing_ = false;
        return again;
    }

    // The batch again, its events in windows, each behind a savepoint:
    // a window PostgreSQL refuses is rolled back, the row it names goes
    // to the dead letters, and the rest is tried again. Rows are sent at
    // most about twice when few are refused, and the refused ones cost
    // one small COPY each, so a batch of bad rows does not turn into a
    // quadratic amount of traffic.
    commit_outcome write_sifting(batch& b, const db_error& first)
    {
        // Where each tuple starts, to send any run of them.
        std::vector<std::size_t> starts;
        starts.reserve(static_cast<std::size_t>(b.events.rows()) + 1);
        const std::string_view tuples = b.events.tuples();
        if (!tuple_starts(tuples, starts) ||
            starts.size() != b.events.rows() + 1)
            return outcome_from(first);
        const std::uint64_t n = b.events.rows();

        batch* one[] = {&b};
        if (auto e = open_with_ledger(one)) {
            conn_.recover();
            return outcome_from(std::move(*e));
        }

        commit_outcome out;
        copy_buffer refused_letters;
        std::uint64_t at = 0;
        std::uint64_t window = n;
        bool saved = false;
        while (at < n) {
            const std::uint64_t end = std::min(n, at + window);
            std::uint64_t loaded = 0;
            db_status e = copy_tuples(saved ? sql_.sift_next : sql_.sift_first,
                                      tuples.substr(starts[at],
                                                    starts[end] - starts[at]),
                                      loaded);
            saved = true;
            if (!e) {
                out.events_loaded += loaded;
                at = end;
                window = std::min<std::uint64_t>(n, window * 2);
                continue;
            }
            if (e->kind != error_kind::data || !rollback_to_savepoint()) {
                conn_.recover();
                return outcome_from(std::move(*e));
            }

            // The tuple at fault, when it is named; else a smaller window.
            const std::uint64_t tried = end - at;
            const std::uint64_t line = e->copy_line;
            if (line >= 2 && line <= tried) {
                window = line - 1; // the rows before it load
                continue;
            }
            if (line == 0 && tried > 1) {
                window = tried / 2;
                continue;
            }
            b.on_refusal.dead_letter(
                at, tuples.substr(starts[at], starts[at + 1] - starts[at]),
                e->primary.empty() ? e->message : e->primary,
                refused_letters);
            ++out.refused;
            ++at;
            window = 1;
        }
        refused_letters.finish();

        db_status e = all_stored(out.events_loaded + out.refused, n,
                                 sql_.events_step);
        if (!e)
            e = copy_dead_letters(b, refused_letters,
                                  out.dead_letters_loaded);
        if (!e)
            e = all_stored(out.dead_letters_loaded,
                           b.dead_letters.rows() + refused_letters.rows(),
                           sql_.dead_letters_step);
        if (!e && out.refused > 0 && b.on_refusal.amend_ledger) {
            const std::string sql = b.on_refusal.amend_ledger(out.refused);
            if (!sql.empty()) e = conn_.exec(sql.c_str(), sql_.ledger_step);
        }
        if (!e) e = conn_.commit();
        if (e) {
            conn_.recover();
            return outcome_from(std::move(*e));
        }
        return out;
    }

    // Rolls back the window that failed; false leaves the session to
    // recover().
    bool rollback_to_savepoint()
    {
        return !conn_.exec("ROLLBACK TO SAVEPOINT ks_sift",
                           "rolling back a refused window");
    }

    // One COPY of `tuples` inside the open transaction.
    [[nodiscard]] db_status copy_tuples(const std::string& sql,
                                        std::string_view tuples,
                                        std::uint64_t& loaded)
    {
        if (auto e = conn_.start_copy(sql, sql_.events_step)) return e;
        const std::string_view pieces[] = {tuples};
        if (auto e = stream_tuples(sql_.events_step, pieces, loaded))
            return e;
        return conn_.finish(sql_.events_step);
    }

    // The batch's dead letters and those of its refused rows, in one COPY.
    [[nodiscard]] db_status copy_dead_letters(const batch& b,
                                              const copy_buffer& refused,
                                              std::uint64_t& loaded)
    {
        if (b.dead_letters.rows() == 0 && refused.rows() == 0)
            return std::nullopt;
        if (auto e = conn_.start_copy(sql_.copy_dead_letters,
                                      sql_.dead_letters_step))
            return e;
        const std::string_view pieces[] = {b.dead_letters.tuples(),
                                           refused.tuples()};
        if (auto e = stream_tuples(sql_.dead_letters_step, pieces, loaded))
            return e;
        return conn_.finish(sql_.dead_letters_step);
    }

    // The data of a started COPY: the header once, the tuples of each
    // piece straight from where they lie, so nothing is copied to join
    // them, then the trailer; `loaded` is what the server stored.
    // What the string does after the COPY is left to the caller.
    [[nodiscard]] db_status stream_tuples(const std::string& step,
                                          std::span<const std::string_view>
                                              pieces,
                                          std::uint64_t& loaded)
    {
        copy_stream stream(conn_, step);
        if (auto e = stream.write(copy_buffer::stream_header())) return e;
        for (std::string_view piece : pieces)
            if (!piece.empty())
                if (auto e = stream.write(piece)) return e;
        if (auto e = stream.write(copy_buffer::stream_trailer())) return e;
        return stream.complete(loaded);
    }

    // Several batches in one transaction. A refusal of the data, or a
    // row count that cannot be shared out, sends each batch on alone.
    void write_together(const member_list& members)
    {
        // The batches, in the order their tuples are streamed.
        std::vector<batch*> batches;
        batches.reserve(members.size());
        std::uint64_t events_sent = 0;
        std::uint64_t dead_letters_sent = 0;
        for (job* m : members) {
            batches.push_back(m->work.get());
            events_sent += m->work->events.rows();
            dead_letters_sent += m->work->dead_letters.rows();
        }

        // The server counts rows per COPY; each batch gets its own share
        // only when the totals match what was sent (a BEFORE trigger
        // that skips rows would make them differ).
        std::uint64_t events = 0;
        std::uint64_t dead_letters = 0;
        failed_at where = failed_at::other;
        db_status e = copy_rows(batches, events, dead_letters, where);
        bool shared_out =
            events == events_sent && dead_letters == dead_letters_sent;
        if (!e && shared_out) e = conn_.commit();
        if (!e && shared_out) {
            for (job* m : members) {
                m->result.events_loaded = m->work->events.rows();
                m->result.dead_letters_loaded = m->work->dead_letters.rows();
            }
            return;
        }
        conn_.recover();

        // A passing condition would strike each batch alike: none of
        // them is tried again now.
        if (e && e->kind == error_kind::transient) {
            for (job* m : members)
                m->result = outcome_from(*e);
            return;
        }

        // Missing: the error's CONTEXT names the tuple at fault, which
        // would let the batches before and after it commit as one group
        // again; one transaction per batch is simpler, and refusals are
        // rare since rows are validated before they are encoded.
        for (job* m : members) {
            try {
                m->result = write_alone(*m->work);
            } catch (const std::exception& e) {
                m->result = failed_by(e);
            }
        }
    }

    // The outcome of an exception in the middle of a transaction.
    commit_outcome failed_by(const std::exception& e) noexcept
    {
        conn_.close();
        return make_outcome(outcome_kind::unavailable,
                            std::string("writer error: ") + e.what());
    }

    // One string: BEGIN, the ledger, and a COPY for each part of the
    // batches that holds rows (events, dead letters); PostgreSQL runs it
    // in one round trip per COPY. The caller checks the row counts, then
    // commits or rolls back; COMMIT cannot ride in the string, since it
    // would come before that check. `where` tells which step failed.
    [[nodiscard]] db_status copy_rows(std::span<batch* const> batches,
                                      std::uint64_t& events,
                                      std::uint64_t& dead_letters,
                                      failed_at& where)
    {
        where = failed_at::opening;
        std::string script;
        if (auto e = opening(batches, script)) return e;

        bool any_events = false;
        bool any_dead_letters = false;
        for (const batch* b : batches) {
            any_events = any_events || b->events.rows() > 0;
            any_dead_letters = any_dead_letters || b->dead_letters.rows() > 0;
        }
        parts_.clear();
        if (any_events)
            parts_.push_back({&sql_.copy_events, &sql_.events_step,
                              &batch::events, &events, failed_at::event_rows});
        if (any_dead_letters)
            parts_.push_back({&sql_.copy_dead_letters,
                              &sql_.dead_letters_step, &batch::dead_letters,
                              &dead_letters, failed_at::other});
        if (parts_.empty())
            return open_transaction(script, sql_.ledger_step, false);

        for (const copy_part& part : parts_)
            script += *part.sql + ";";

        for (std::size_t i = 0; i < parts_.size(); ++i) {
            // A COPY that fails to start after another one ended is no
            // fault of the rows sent before.
            const copy_part& part = parts_[i];
            if (i > 0) where = failed_at::other;
            db_status started = i == 0 ? open_transaction(script, *part.step)
                                       : conn_.next_copy(*part.step);
            if (started) return started;
            where = part.sending;

            pieces_.clear();
            for (const batch* b : batches)
                pieces_.push_back((b->*part.rows).tuples());
            if (auto e = stream_tuples(*part.step, pieces_, *part.loaded))
                return e;
        }

        where = failed_at::other;
        return conn_.finish(*parts_.back().step);
    }

    // A failure unless PostgreSQL stored all `sent` rows of a COPY. A
    // BEFORE trigger returning NULL skips a row without an error; such a
    // row would be neither stored nor a dead letter, and the answer's
    // counts would not add up, so the transaction is not committed.
    [[nodiscard]] static db_status all_stored(std::uint64_t stored,
                                              std::uint64_t sent,
                                              const std::string& step)
    {
        if (stored == sent) return std::nullopt;
        return db_error{error_kind::data, "",
                        step + ": PostgreSQL stored " +
                            std::to_string(stored) + " of the " +
                            std::to_string(sent) +
                            " rows sent without an error (a trigger that "
                            "skips rows?); rows the sink cannot account "
                            "for are not committed"};
    }

    // Opens the transaction with the statements of `opening`.
    [[nodiscard]] db_status open_with_ledger(std::span<batch* const> batches)
    {
        std::string sql;
        if (auto e = opening(batches, sql)) return e;
        return open_transaction(sql, sql_.ledger_step, false);
    }

    // BEGIN, then the batches' ledger statements and one INSERT of all
    // their ledger rows. The ledger goes first, so that a duplicate stops
    // the transaction before any event is sent.
    [[nodiscard]] db_status opening(std::span<batch* const> batches,
                                    std::string& sql) const
    {
        sql = "BEGIN; ";
        for (const batch* b : batches)
            sql += b->ledger;

        bool first = true;
        for (const batch* b : batches) {
            if (b->ledger_rows.empty()) continue;
            if (sql_.insert_ledger_rows.empty())
                return db_error{error_kind::data, "",
                                "a batch carries ledger rows, but the "
                                "writer has no ledger table"};
            sql += first ? sql_.insert_ledger_rows : std::string(", ");
            sql += b->ledger_rows;
            first = false;
        }
        if (!first) sql += ";";
        return std::nullopt;
    }

    // Sends the statement that opens the transaction with its first COPY.
    // A connection the server ended while it sat idle (a restart, an idle
    // timeout) is often found out only by this failure. No COMMIT was sent
    // on it, so nothing can have been stored: the statement goes once more
    // over a new connection, and only a second failure reaches the batch.
    [[nodiscard]] db_status open_transaction(const std::string& sql,
                                             const std::string& step,
                                             bool with_copy = true)
    {
        auto send = [&] {
            return with_copy ? conn_.start_copy(sql, step)
                             : conn_.exec(sql.c_str(), step);
        };
        db_status e = send();
        if (!e || !conn_.lost(*e)) return e;

        conn_.close();
        if (auto c = connect()) return c;
        return send();
    }

    // Keeps a live connection, else opens one unless the last attempt
    // failed so recently that the database is presumed still down.
    [[nodiscard]] db_status connect()
    {
        if (conn_.usable()) return std::nullopt;
        conn_.close();

        auto now = steady::now();
        if (now < retry_at_)
            return db_error{error_kind::transient, "",
                            last_failure_ + " (next attempt in " +
                                milliseconds_text(retry_at_ - now) + ")"};

        if (auto e = conn_.open(config_.dsn, config_.connect_timeout_s)) {
            retry_delay_ = retry_delay_ == steady::duration::zero()
                               ? steady::duration(first_retry_delay)
                               : std::min<steady::duration>(retry_delay_ * 2,
                                                            max_retry_delay);
            retry_at_ = steady::now() + retry_delay_;
            last_failure_ = e->message;
            return e;
        }

        retry_delay_ = steady::duration::zero();
        retry_at_ = steady::time_point();
        return std::nullopt;
    }

    const writer_config& config_;
    const statements& sql_;
    connection conn_;
    bool renewing_ = false; // writing a batch whose entry had expired
    std::vector<copy_part> parts_;         // reused by copy_rows()
    std::vector<std::string_view> pieces_; // reused by copy_rows()
    steady::time_point retry_at_;
    steady::duration retry_delay_ = steady::duration::zero();
    std::string last_failure_;
};

} // namespace

struct writer::impl {
    explicit impl(writer_config c);
    ~impl() { stop(); }
    impl(const impl&) = delete;
    impl& operator=(const impl&) = delete;

    void start();
    void enqueue(job j);
    void check_health(completion done);
    void stop();
    const writer_config& config() const noexcept { return config_; }

private:
    void run_thread();
    bool next_group(session& s, bool& counted_ready, job_group& group);
    void take_group(std::unique_lock<std::mutex>& lock, job_group& group,
                    bool may_wait);
    bool gather(job_group& group, std::size_t& bytes);
    job pop_front();

    const writer_config config_;
    const statements sql_;
    health_probe health_{config_};

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<job> queue_;
    bool stopping_ = false;
    // Threads that may take a batch to the database: connected, or not
    // yet tried. A thread backing off after a failed attempt takes
    // batches (to fail them at once) only when no thread is ready, and
    // meanwhile reconnects on its own when its pause is over.
    unsigned ready_threads_ = 0;

    std::mutex stop_mutex_;
    std::vector<std::thread> threads_;
};

writer::impl::impl(writer_config c)
    : config_(std::move(c)), sql_(make_statements(config_))
{
    if (config_.connections == 0)
        throw std::invalid_argument("writer needs at least one connection");
    if (config_.max_queued == 0)
        throw std::invalid_argument("writer queue must hold a batch");
    if (config_.group_max_bytes == 0)
        throw std::invalid_argument("a group must hold some COPY bytes");
}

void writer::impl::start()
{
    ready_threads_ = config_.connections;
    threads_.reserve(config_.connections);
    for (unsigned i = 0; i < config_.connections; ++i)
        threads_.emplace_back([this] { run_thread(); });
}

void writer::impl::enqueue(job j)
{
    if (!j.done) j.done = [](commit_outcome) {};

    // Refusals are decided under the lock but reported outside it.
    std::optional<commit_outcome> refused;
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            refused = make_outcome(outcome_kind::stopped, "writer stopped");
        else if (queue_.size() >= config_.max_queued)
            refused =
                make_outcome(outcome_kind::unavailable, "writer queue full");
        else
            queue_.push_back(std::move(j));
    }
    if (refused) {
        j.done(std::move(*refused));
        return;
    }

    // All: the woken thread may be one that leaves batches to others.
    wake_.notify_all();
}

void writer::impl::stop()
{
    std::lock_guard stopping(stop_mutex_);

    // Take what has not started; the threads finish what has.
    std::deque<job> orphans;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        orphans.swap(queue_);
    }
    wake_.notify_all();

    for (job& j : orphans)
        j.done(make_outcome(outcome_kind::stopped,
                            "writer stopped before the batch ran"));

    for (std::thread& t : threads_)
        if (t.joinable()) t.join();
    health_.stop();
}

void writer::impl::check_health(completion done)
{
    health_.check(std::move(done));
}

void writer::impl::run_thread()
{
    session s(config_, sql_);
    bool counted_ready = true;
    job_group group;
    while (next_group(s, counted_ready, group)) {
        s.run(group);

        // The batches' memory goes back before their callers hear of it.
        for (job& j : group)
            j.work.reset();
        for (job& j : group)
            j.done(std::move(j.result));
        group.clear();
    }
}

bool writer::impl::next_group(session& s, bool& counted_ready, job_group& group)
{
    std::unique_lock lock(mutex_);
    for (;;) {
        if (stopping_) return false;

        // Keep the count of ready threads in step with this one.
        bool ready = !s.backing_off();
        if (ready != counted_ready) {
            counted_ready = ready;
            if (ready) {
                ++ready_threads_;
            } else {
                --ready_threads_;
                wake_.notify_all(); // others may now be the last resort
            }
        }

        if (ready) {
            if (!queue_.empty()) {
                take_group(lock, group, true);
                return true;
            }
            wake_.wait(lock);
            continue;
        }

        // Backing off: answer batches only when no thread can do better,
        // and try to reconnect when the pause is over.
        if (!queue_.empty() && ready_threads_ == 0) {
            take_group(lock, group, false);
            return true;
        }
        if (steady::now() >= s.retry_at()) {
            lock.unlock();
            s.retry();
            lock.lock();
            continue;
        }
        wake_.wait_until(lock, s.retry_at());
    }
}

void writer::impl::take_group(std::unique_lock<std::mutex>& lock,
                              job_group& group, bool may_wait)
{
    // The first batch opens a group, whatever its size.
    group.push_back(pop_front());
    std::size_t bytes = copy_bytes(group.front());
    bool closed = gather(group, bytes);
    if (closed || !may_wait || config_.group_delay_ms == 0) return;

    // Wait a little for more while the group has room. Other idle
    // threads may take what arrives meanwhile; that is as good. A stop
    // ends the wait, and the batches taken run like any started work.
    auto deadline =
        steady::now() + std::chrono::milliseconds(config_.group_delay_ms);
    while (!closed && !stopping_) {
        bool timed_out =
            wake_.wait_until(lock, deadline) == std::cv_status::timeout;
        closed = gather(group, bytes) || timed_out;
    }
}

bool writer::impl::gather(job_group& group, std::size_t& bytes)
{
    // In queue order; the first batch that does not fit closes the
    // group.
    while (!queue_.empty()) {
        const job& next = queue_.front();
        std::size_t room =
            config_.group_max_bytes - std::min(bytes, config_.group_max_bytes);
        std::size_t more = copy_bytes(next);
        if (more > room) return true;
        bytes += more;
        group.push_back(pop_front());
    }
    return bytes >= config_.group_max_bytes;
}

job writer::impl::pop_front()
{
    job j = std::move(queue_.front());
    queue_.pop_front();
    return j;
}

writer::writer(writer_config config)
    : impl_(std::make_unique<impl>(std::move(config)))
{
    impl_->start();
}

writer::~writer()
{
    stop();
}

void writer::submit(std::shared_ptr<batch> b, completion done)
{
    impl_->enqueue(job{std::move(b), std::move(done), {}});
}

void writer::ping(completion done)
{
    if (!done) done = [](commit_outcome) {};
    impl_->check_health(std::move(done));
}

void writer::stop()
{
    impl_->stop();
}

const writer_config& writer::config() const noexcept
{
    return impl_->config();
}

std::string quote_table_name(std::string_view name)
{
    // Split at every dot; quoting keeps each part's case and characters.
    std::string quoted;
    std::size_t parts = 0;
    for (;;) {
        std::size_t dot = name.find('.');
        std::string_view part = name.substr(0, dot);
        if (part.empty())
            throw std::invalid_argument("empty part in table name");
        if (part.find('\0') != std::string_view::npos)
            throw std::invalid_argument("NUL in table name");
        if (++parts > 2)
            throw std::invalid_argument("table name has more than two parts");

        if (parts > 1) quoted += '.';
        quoted += '"';
        for (char c : part) {
            if (c == '"') quoted += '"';
            quoted += c;
        }
        quoted += '"';

        if (dot == std::string_view::npos) return quoted;
        name.remove_prefix(dot + 1);
    }
}

} // namespace ks::pg
