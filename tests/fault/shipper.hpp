#pragma once

// A log shipper for the fault suite that retries the way Vector's http
// sink does: each batch is sent until it gets a 200, the byte-identical
// body again after a 5xx, a refused, reset or closed connection, or a
// timeout. Several threads share one queue of batches. It talks plain
// HTTP/1.1 over its own sockets (keep-alive, poll deadlines), because the
// suite must tell these failures apart and must not wait the shared
// client's 120 s for an answer that will never come.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ks::test::fault {

/// One batch as the shipper sends it on every attempt.
struct batch {
    std::string request; // head and body, ready to write
};

/// `count` batches of `events` NDJSON events each. Every event has the
/// unique request_id "fault-<batch>-<i>" and a timestamp; batches take
/// turns at being plain, gzip and zstd.
std::vector<batch> make_batches(int count, int events);

/// Every request_id make_batches(count, events) uses, sorted as
/// PostgreSQL's C collation sorts them.
std::vector<std::string> expected_request_ids(int count, int events);

/// How the shipper behaves; the defaults are a brisk Vector.
struct shipper_options {
    int threads = 4;
    std::chrono::milliseconds timeout{15000};   // per attempt, like Vector
    std::chrono::milliseconds backoff_min{100}; // between attempts
    std::chrono::milliseconds backoff_max{300};
    std::chrono::seconds give_up{90}; // per batch; then the test fails
    /// When not 0, the first attempt of every batch whose index is a
    /// multiple of it loses its answer: the whole request is written and
    /// the socket closed (FIN or RST) or left after 20 ms, unread.
    int lose_every = 0;
};

/// What happened to one batch.
struct batch_result {
    bool delivered = false; // got its 200
    std::string failure;    // why not, when not
    int attempts = 0;
    std::string request_id;   // of the answer that was a 200
    std::string duplicate_of; // set when the ledger answered
    long long received = -1, loaded = -1, dead_lettered = -1;
};

/// What all attempts ended with, counted over every thread.
struct attempt_counts {
    long long attempts = 0;
    long long ok = 0;
    long long duplicates = 0; // 200 with duplicate_of
    long long status_503 = 0;
    long long status_5xx = 0; // other 5xx
    long long status_4xx = 0; // each one fails its batch
    long long refused = 0;    // connect refused
    long long reset = 0;      // reset by the peer
    long long closed = 0;     // closed before a whole answer
    long long timeouts = 0;
    long long other_errors = 0; // another socket error, a bad answer
    long long lost = 0;         // answers the shipper chose not to read

    long long connection_errors() const
    {
        return refused + reset + closed + timeouts + other_errors;
    }
};

/// The shipper. Threads start with start() and take batches in index
/// order. The test places its faults with a gate, which holds back the
/// batches from an index on, and with strike_at(), which runs a fault at
/// a given point of the traffic: each fault then meets traffic and
/// leaves batches to send after it, on a fast machine or a slow one.
class shipper {
public:
    shipper(std::vector<batch> batches, shipper_options options);
    /// Stops the threads (a test that failed half-way) and joins them.
    ~shipper();
    shipper(const shipper&) = delete;
    shipper& operator=(const shipper&) = delete;

    /// Where the sink listens now; read at every new connection.
    void set_port(std::uint16_t port) { port_ = port; }

    void start();

    /// Batches with an index below `count` may be started (all of them
    /// when never called).
    void allow(int count);

    /// Waits until `count` batches are settled (200 or given up);
    /// false after `timeout`.
    bool wait_settled(int count, std::chrono::seconds timeout);

    /// Makes the thread that takes batch `index` run `fault` before it
    /// sends that batch, once another thread's request is in the sink
    /// (or after 2 s): the fault strikes at that point of the traffic
    /// with requests between read and answer, however late the scheduler
    /// wakes the test's own thread. Throws std::logic_error when that
    /// batch is taken already.
    void strike_at(int index, std::function<void()> fault);

    /// Waits until the fault of strike_at() has run, and rethrows what it
    /// threw; returns how many requests the sink had whole and had not
    /// answered yet as it struck, or -1 after `timeout`.
    int wait_struck(std::chrono::seconds timeout);

    /// Waits until every batch is settled and joins the threads; false
    /// after `timeout`, the threads then being stopped.
    bool finish(std::chrono::seconds timeout);

    attempt_counts counts() const;
    /// One per batch, by index; read after finish().
    const std::vector<batch_result>& results() const { return results_; }

private:
    struct connection;
    enum class ending : std::uint8_t;
    struct exchange;

    void run(int thread_index);
    int take_next();
    void deliver(int index, connection& conn, std::uint32_t& random);
    exchange attempt(const batch& b, connection& conn);
    void lose_answer(const batch& b, int variant);
    void settle(int index, batch_result result);
    void awaiting(int change);
    void strike_if_due(int index);
    void note(ending e, int status);
    void pause(std::chrono::milliseconds min, std::chrono::milliseconds max,
               std::uint32_t& random);

    std::vector<batch> batches_;
    shipper_options options_;
    std::vector<batch_result> results_;
    std::atomic<std::uint16_t> port_{0};
    std::atomic<bool> stopping_{false};

    mutable std::mutex mutex_;
    std::condition_variable changed_;
    int next_ = 0;     // the next batch to take
    int allowed_;      // the gate
    int settled_ = 0;  // batches with their final result
    int awaiting_ = 0; // requests written whole, answer not read yet
    int strike_index_ = 0;
    std::function<void()> strike_; // not yet struck
    bool struck_ = false;
    int struck_awaiting_ = -1;
    std::exception_ptr strike_error_;
    attempt_counts counts_;

    std::vector<std::thread> threads_;
};

} // namespace ks::test::fault
