#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace ks::test {

/// A program started with fork/exec for a test: its standard input comes
/// from a file (or /dev/null), standard output and error go together to
/// an unlinked temporary file that output() reads.
class process {
public:
    /// Starts `binary` with `args`. Throws std::runtime_error when the
    /// program cannot be started.
    process(const std::string& binary, const std::vector<std::string>& args,
            const std::string& stdin_path = "/dev/null");
    /// Kills the program if it still runs, and reaps it.
    ~process();
    process(const process&) = delete;
    process& operator=(const process&) = delete;

    pid_t pid() const noexcept { return pid_; }

    /// Waits for the exit (SIGKILL after `timeout_s`) and returns its
    /// status, or 128 + the signal that ended it.
    int wait(int timeout_s = 120);

    /// Sends `signal` at once; wait() then reports it.
    void kill(int signal);

    /// Whatever the program wrote so far.
    std::string output() const;

private:
    pid_t pid_ = -1;
    int status_ = -1;
    int output_fd_ = -1;
};

/// The program the environment variable `variable` names, as meson test
/// sets it for the end-to-end suites. Ends the test program with status 2
/// and a message saying so when it is not set: e2e tests must never pass
/// by skipping.
std::string program_from_env(const char* variable);

/// Runs a program to its end and returns its status; `output` gets what
/// it wrote.
int run_program(const std::string& binary,
                const std::vector<std::string>& args, std::string& output,
                const std::string& stdin_path = "/dev/null");

} // namespace ks::test
