#pragma once

#include <string>

namespace ks::test {

/// A PostgreSQL cluster of the test's own, in a new directory under /tmp,
/// listening only on a unix socket there: a test may stop and restart it
/// without disturbing the server other tests share. Made and run with
/// scripts/lib.sh (ks_pg_start, ks_pg_stop), so as root its processes
/// run as the postgres user. The destructor stops it and removes the
/// directory.
class pg_cluster {
public:
    /// Creates and starts the cluster (initdb takes a few seconds).
    /// Throws std::runtime_error, with the script's output, on failure.
    pg_cluster();
    ~pg_cluster();
    pg_cluster(const pg_cluster&) = delete;
    pg_cluster& operator=(const pg_cluster&) = delete;

    /// "host=DIR/run port=5432 user=postgres": add a dbname.
    const std::string& dsn() const noexcept { return dsn_; }

    /// Stops the server (fast shutdown: sessions are terminated) and
    /// starts it again; returns once it accepts connections.
    void restart();

    /// Stops the server (fast shutdown); start() starts it again and
    /// returns once it accepts connections.
    void stop();
    void start();

    /// Stops the server as a crash would (immediate shutdown: sessions
    /// get no FATAL, only their end); start() recovers it.
    void crash();

private:
    std::string dir_;
    std::string dsn_;
};

} // namespace ks::test
