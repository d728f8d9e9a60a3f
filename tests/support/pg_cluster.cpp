#include "support/pg_cluster.hpp"

#include "support/test_db.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace ks::test {

namespace {

/// Runs the scripts/lib.sh function `function` with `dir` as its
/// argument, in bash with the library sourced; returns what it printed
/// (stdout and stderr), or throws with that output when it fails.
std::string run_lib(const std::string& function, const std::string& dir)
{
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0)
        throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
    const std::string lib = source_path("scripts/lib.sh");

    // Arguments go to bash as they are: no shell quoting to get wrong.
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(out[0]);
        ::close(out[1]);
        throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    }
    if (pid == 0) {
        ::dup2(out[1], STDOUT_FILENO);
        ::dup2(out[1], STDERR_FILENO);
        ::execlp("bash", "bash", "-c", "source \"$1\" && \"$2\" \"$3\"", "bash",
                 lib.c_str(), function.c_str(), dir.c_str(),
                 static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(out[1]);

    std::string text;
    char chunk[4096];
    for (;;) {
        ssize_t n = ::read(out[0], chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(chunk, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        throw std::runtime_error(function + " " + dir + " failed:\n" + text);
    return text;
}

} // namespace

pg_cluster::pg_cluster()
{
    char path[] = "/tmp/ks-pg-cluster-XXXXXX";
    if (::mkdtemp(path) == nullptr)
        throw std::runtime_error("mkdtemp failed for " + std::string(path));
    dir_ = path;

    // ks_pg_start prints the DSN last, after initdb's and pg_ctl's lines
    // (those go to stderr, joined here).
    try {
        std::string out = run_lib("ks_pg_start", dir_);
        auto at = out.rfind("host=");
        if (at == std::string::npos)
            throw std::runtime_error("ks_pg_start printed no DSN:\n" + out);
        dsn_ = out.substr(at);
        while (!dsn_.empty() && (dsn_.back() == '\n' || dsn_.back() == ' '))
            dsn_.pop_back();
    } catch (...) {
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
        throw;
    }
}

pg_cluster::~pg_cluster()
{
    try {
        run_lib("ks_pg_stop", dir_);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pg_cluster: %s\n", e.what());
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

void pg_cluster::restart()
{
    stop();
    start();
}

void pg_cluster::stop() { run_lib("ks_pg_stop", dir_); }

void pg_cluster::start() { run_lib("ks_pg_start", dir_); }

void pg_cluster::crash() { run_lib("ks_pg_crash", dir_); }

} // namespace ks::test
