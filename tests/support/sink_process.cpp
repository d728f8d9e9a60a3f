#include "support/sink_process.hpp"

#include "support/process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ks::test {

namespace {

/// Waits for `pid` up to `timeout`; returns the wait status or -1.
int wait_for(pid_t pid, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int status = 0;
        pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) return status;
        if (done < 0 && errno != EINTR) return -1;
        if (std::chrono::steady_clock::now() >= deadline) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

int exit_code(int status)
{
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

/// Reads one line from `fd` within `timeout`; false on EOF or timeout.
bool read_line(int fd, std::string& line, std::chrono::milliseconds timeout)
{
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return false;
        char c;
        ssize_t n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        if (c == '\n') return true;
        line += c;
    }
}

} // namespace

std::string sink_binary()
{
    return program_from_env("KORESHIELD_SINK_BIN");
}

int run_sink_to_exit(const std::vector<std::string>& args, std::string& output)
{
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    std::vector<std::string> argv_store{sink_binary()};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid = ::fork();
    if (pid < 0)
        throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(out[1], STDERR_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);

    // Read until the child closes its end, then collect its status.
    output.clear();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    char chunk[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{out[0], POLLIN, 0};
        int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) break;
        ssize_t n = ::read(out[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        output.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    int status = wait_for(pid, std::chrono::seconds(30));
    if (status == -1) {
        ::kill(pid, SIGKILL);
        status = wait_for(pid, std::chrono::seconds(10));
    }
    return status == -1 ? -1 : exit_code(status);
}

sink_process::sink_process(const std::vector<std::string>& args)
{
    // Standard error to a file of our own; standard output to a pipe.
    char path[] = "/tmp/koreshield-sink-stderr.XXXXXX";
    int err_fd = ::mkstemp(path);
    if (err_fd < 0)
        throw std::runtime_error("mkstemp: " +
                                 std::string(std::strerror(errno)));
    // Unlinked at once: the open descriptors keep it, and nothing is left
    // behind when the test program dies.
    ::unlink(path);
    ::fcntl(err_fd, F_SETFD, FD_CLOEXEC);
    stderr_fd_ = err_fd;
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(err_fd);
        throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    }

    std::string bin = sink_binary();
    std::vector<std::string> argv_store{bin};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(err_fd);
        ::close(out[0]);
        ::close(out[1]);
        throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    }
    if (pid_ == 0) {
        // Child: only async-signal-safe calls until exec. The sink goes
        // down with the test program, even when that one crashes.
        ::prctl(PR_SET_PDEATHSIG, SIGTERM);
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(err_fd, STDERR_FILENO);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(out[1]);

    // The sink says where it listens once it is ready.
    bool got = read_line(out[0], banner_, std::chrono::seconds(30));
    ::close(out[0]);
    const std::string marker = "listening on http://";
    auto at = banner_.find(marker);
    if (!got || at == std::string::npos) {
        int status = stop();
        std::string log = stderr_text();
        ::close(stderr_fd_);
        throw std::runtime_error("koreshield-sink did not start (exit status " +
                                 std::to_string(status) + ", stdout '" +
                                 banner_ + "'); stderr:\n" + log);
    }

    // "http://HOST:PORT " with HOST possibly in brackets.
    std::string address = banner_.substr(at + marker.size());
    address = address.substr(0, address.find(' '));
    auto colon = address.rfind(':');
    host_ = address.substr(0, colon);
    if (!host_.empty() && host_.front() == '[')
        host_ = host_.substr(1, host_.size() - 2);
    port_ = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
}

sink_process::~sink_process()
{
    // A test that ends by an exception (a failed REQUIRE included) shows
    // what the sink logged.
    if (std::uncaught_exceptions() > 0) {
        std::string log = stderr_text();
        if (log.size() > 20000) log = "...\n" + log.substr(log.size() - 20000);
        std::fprintf(stderr, "--- koreshield-sink stderr ---\n%s--- end ---\n",
                     log.c_str());
    }
    stop();
    if (stderr_fd_ >= 0) ::close(stderr_fd_);
}

std::string sink_process::stderr_text() const
{
    std::string text;
    char chunk[65536];
    off_t offset = 0;
    for (;;) {
        ssize_t n = ::pread(stderr_fd_, chunk, sizeof chunk, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return text;
        text.append(chunk, static_cast<std::size_t>(n));
        offset += n;
    }
}

int sink_process::stop()
{
    if (pid_ <= 0) return exit_status_;

    // Ask politely, then insist.
    ::kill(pid_, SIGTERM);
    int status = wait_for(pid_, std::chrono::seconds(30));
    if (status == -1) {
        ::kill(pid_, SIGKILL);
        status = wait_for(pid_, std::chrono::seconds(10));
    }
    pid_ = -1;
    exit_status_ = status == -1 ? -1 : exit_code(status);
    return exit_status_;
}

} // namespace ks::test
