#include "support/process.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace ks::test {

namespace {

int status_of(int raw)
{
    if (WIFEXITED(raw)) return WEXITSTATUS(raw);
    if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
    return -1;
}

} // namespace

process::process(const std::string& binary,
                 const std::vector<std::string>& args,
                 const std::string& stdin_path)
{
    char name[] = "/tmp/ks-test-output.XXXXXX";
    output_fd_ = ::mkstemp(name);
    if (output_fd_ < 0) throw std::runtime_error("mkstemp failed");
    ::unlink(name);

    const int in = ::open(stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) throw std::runtime_error("cannot open " + stdin_path);

    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(binary.c_str()));
    for (const std::string& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);

    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(in);
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        // Only async-signal-safe calls between fork and exec.
        ::dup2(in, STDIN_FILENO);
        ::dup2(output_fd_, STDOUT_FILENO);
        ::dup2(output_fd_, STDERR_FILENO);
        ::execv(binary.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(in);
}

process::~process()
{
    if (pid_ > 0 && status_ < 0) {
        ::kill(pid_, SIGKILL);
        int raw = 0;
        ::waitpid(pid_, &raw, 0);
    }
    if (output_fd_ >= 0) ::close(output_fd_);
}

int process::wait(int timeout_s)
{
    if (status_ >= 0) return status_;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    for (;;) {
        int raw = 0;
        const pid_t done = ::waitpid(pid_, &raw, WNOHANG);
        if (done == pid_) {
            status_ = status_of(raw);
            return status_;
        }
        if (std::chrono::steady_clock::now() > deadline) ::kill(pid_, SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void process::kill(int signal) { ::kill(pid_, signal); }

std::string process::output() const
{
    std::string out;
    char buf[65536];
    off_t at = 0;
    for (;;) {
        const ssize_t n = ::pread(output_fd_, buf, sizeof buf, at);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
        at += n;
    }
    return out;
}

int run_program(const std::string& binary,
                const std::vector<std::string>& args, std::string& output,
                const std::string& stdin_path)
{
    process p(binary, args, stdin_path);
    const int status = p.wait();
    output = p.output();
    return status;
}

std::string program_from_env(const char* variable)
{
    const char* bin = std::getenv(variable);
    if (bin == nullptr || *bin == '\0') {
        std::fprintf(stderr, "%s is not set: run the e2e suites through "
                             "meson test\n", variable);
        std::exit(2);
    }
    return bin;
}

} // namespace ks::test
