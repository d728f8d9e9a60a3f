#pragma once

#include "pg/connection.hpp"
#include "pg/writer.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace ks::pg {

/// Answers health checks on a connection and a thread of its own, so a
/// check never waits behind batches however long they take. A check
/// connects when needed and runs check_tables(): it passes only while
/// PostgreSQL answers and both tables can take rows. Checks asked for
/// while one runs share the next one.
class health_probe {
public:
    /// Starts the thread without connecting; `config` must outlive the
    /// probe.
    explicit health_probe(const writer_config& config);
    /// Calls stop().
    ~health_probe();
    health_probe(const health_probe&) = delete;
    health_probe& operator=(const health_probe&) = delete;

    /// Queues a check; `done` runs once, on the probe's thread, with
    /// committed (healthy) or unavailable and the reason. After stop(),
    /// or with max_queued checks already waiting, `done` runs inside
    /// check() with stopped, or unavailable. Never blocks.
    void check(writer::completion done);

    /// Answers waiting checks with stopped, lets a running one finish,
    /// and joins the thread. Idempotent.
    void stop();

private:
    void run();
    commit_outcome probe();

    const writer_config& config_;
    connection conn_; // only the probe's thread touches it

    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<writer::completion> waiting_;
    bool stopping_ = false;

    std::mutex stop_mutex_;
    std::thread thread_;
};

} // namespace ks::pg
