#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace ks::test {

/// The koreshield-sink binary the test run names in KORESHIELD_SINK_BIN.
/// Aborts the test program with a clear message when it is not set.
std::string sink_binary();

/// Runs koreshield-sink with `args` until it exits (SIGKILL after 30 s)
/// and returns its exit status; `output` gets stdout and stderr.
int run_sink_to_exit(const std::vector<std::string>& args, std::string& output);

/// A running koreshield-sink, started with fork/exec for one test.
///
/// The constructor waits (up to 30 s) for the line the sink prints on
/// stdout once it listens, and learns the port from it, so pass
/// `--listen 127.0.0.1:0`. Standard error goes to an unlinked temporary
/// file that stderr_text() reads, so a failing test can show what the sink
/// logged. The destructor sends SIGTERM and waits (SIGKILL after 30 s).
class sink_process {
public:
    /// Throws std::runtime_error, with the sink's stderr, when it exits
    /// or stays silent instead of listening.
    explicit sink_process(const std::vector<std::string>& args);
    ~sink_process();
    sink_process(const sink_process&) = delete;
    sink_process& operator=(const sink_process&) = delete;

    const std::string& host() const noexcept { return host_; }
    std::uint16_t port() const noexcept { return port_; }
    /// The whole line the sink printed when it started.
    const std::string& banner() const noexcept { return banner_; }
    pid_t pid() const noexcept { return pid_; }

    /// What the sink wrote to stderr so far.
    std::string stderr_text() const;

    /// Sends SIGTERM and waits; returns the exit status, or 128 + signal
    /// when it was killed. Later calls return the same value.
    int stop();

private:
    pid_t pid_ = -1;
    int exit_status_ = -1;
    std::string host_;
    std::uint16_t port_ = 0;
    std::string banner_;
    int stderr_fd_ = -1; // the unlinked file the sink's stderr goes to
};

} // namespace ks::test
