#include "pg/health_probe.hpp"

#include "pg/table_check.hpp"

#include <exception>
#include <optional>
#include <utility>

namespace ks::pg {

namespace {

commit_outcome make_outcome(outcome_kind kind, std::string message,
                            std::string sqlstate = {})
{
    commit_outcome o;
    o.kind = kind;
    o.message = std::move(message);
    o.sqlstate = std::move(sqlstate);
    return o;
}

} // namespace

health_probe::health_probe(const writer_config& config)
    : config_(config), thread_([this] { run(); })
{
}

health_probe::~health_probe()
{
    stop();
}

void health_probe::check(writer::completion done)
{
    if (!done) return;

    // Refusals are decided under the lock but reported outside it.
    std::optional<commit_outcome> refused;
    {
        std::lock_guard lock(mutex_);
        if (stopping_)
            refused = make_outcome(outcome_kind::stopped, "writer stopped");
        else if (waiting_.size() >= config_.max_queued)
            refused = make_outcome(outcome_kind::unavailable,
                                   "too many health checks waiting");
        else
            waiting_.push_back(std::move(done));
    }
    if (refused) {
        done(std::move(*refused));
        return;
    }
    wake_.notify_one();
}

void health_probe::stop()
{
    std::lock_guard stopping(stop_mutex_);

    std::vector<writer::completion> orphans;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        orphans.swap(waiting_);
    }
    wake_.notify_one();

    for (auto& done : orphans)
        done(make_outcome(outcome_kind::stopped,
                          "writer stopped before the health check ran"));
    if (thread_.joinable()) thread_.join();
}

void health_probe::run()
{
    std::vector<writer::completion> batch;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stopping_ || !waiting_.empty(); });
            if (stopping_) return;
            batch.swap(waiting_);
        }

        // Everyone who asked before this check began gets its answer.
        commit_outcome outcome = probe();
        for (auto& done : batch)
            done(outcome);
        batch.clear();
    }
}

commit_outcome health_probe::probe()
{
    try {
        // Reuse the connection while it looks alive, else open one.
        const bool reused = conn_.usable();
        db_status e;
        if (!reused) e = conn_.open(config_.dsn, config_.connect_timeout_s);
        if (!e) e = check_tables(conn_, config_);

        // A connection the server ended while it sat idle (a restart) is
        // often found out only by using it. The check writes nothing, so
        // it runs once more on a new connection; only a second failure
        // means the database is away.
        if (e && reused && conn_.lost(*e)) {
            e = conn_.open(config_.dsn, config_.connect_timeout_s);
            if (!e) e = check_tables(conn_, config_);
        }

        if (!e) return commit_outcome{};
        conn_.recover();
        return make_outcome(outcome_kind::unavailable, std::move(e->message),
                            std::move(e->sqlstate));
    } catch (const std::exception& e) {
        // Out of memory: the connection's state is unknown.
        conn_.close();
        return make_outcome(outcome_kind::unavailable,
                            std::string("health check error: ") + e.what());
    }
}

} // namespace ks::pg
