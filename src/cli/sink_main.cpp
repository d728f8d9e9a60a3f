// koreshield-sink: the HTTP sink. Shippers post batches of KoreShield JSON
// log events; the sink loads them into PostgreSQL and answers 200 only
// after COMMIT.

#include "cli/flags.hpp"
#include "core/padded_buffer.hpp"
#include "http/log.hpp"
#include "http/server.hpp"
#include "ingest/pipeline.hpp"
#include "pg/table_check.hpp"
#include "pg/writer.hpp"

#include <CLI/CLI.hpp>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <pthread.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#ifndef KS_VERSION
#define KS_VERSION "unknown"
#endif

namespace {

/// Exit status for a command line that cannot be used.
constexpr int exit_usage = 2;
/// Exit status when the sink cannot start (address in use, ...).
constexpr int exit_failure = 1;

/// Everything the command line sets.
struct options {
    std::string listen = "127.0.0.1:8080";
    ks::cli::database_flags db;
    std::string ingest_path = "/ingest";
    std::uint64_t max_body_bytes = 32u << 20;
    std::uint64_t max_decoded_bytes = 256u << 20;
    unsigned io_threads = 1;
    unsigned writers = 2;
    std::uint64_t memory_budget_bytes = 176u << 20;
    unsigned budget_wait_ms = 1000;
    std::uint64_t group_max_bytes = 32u << 20;
    unsigned group_delay_ms = 0;
    unsigned idle_timeout_s = 60;
    unsigned shutdown_grace_s = 30;
    std::string ledger_table = "koreshield_ingest_requests";
    unsigned dedup_window_h = 7 * 24;
    bool no_dedup = false;
    bool reject_undecodable = false;
    std::string auth_file;
    bool no_auth = false;
    std::string log_level = "info";
};

/// A host and port taken from HOST:PORT or [IPv6]:PORT.
struct listen_address {
    std::string host;
    std::uint16_t port = 0;
};

/// Splits --listen; returns an error sentence when it cannot.
std::optional<std::string> parse_listen(std::string_view text,
                                        listen_address& out)
{
    // The port follows the last colon; an IPv6 host sits in brackets.
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
        return "--listen wants HOST:PORT, e.g. 127.0.0.1:8080 or "
               "[::1]:8080";
    std::string_view host = text.substr(0, colon);
    std::string_view port = text.substr(colon + 1);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']')
            return "--listen: an IPv6 address goes in brackets, "
                   "e.g. [::1]:8080";
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return "--listen: put an IPv6 address in brackets, e.g. [::1]:8080";
    }

    // The port is a number from 0 (any free port) to 65535.
    unsigned value = 0;
    auto [end, ec] =
        std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() ||
        value > 65535)
        return "--listen: '" + std::string(port) +
               "' is not a port number (0 to 65535)";

    out.host = std::string(host);
    out.port = static_cast<std::uint16_t>(value);
    return std::nullopt;
}

/// Declares every flag on `app`, bound to `opt`.
void add_flags(CLI::App& app, options& opt)
{
    // A flag given twice takes its last value, as scripts that append
    // overrides expect.
    app.option_defaults()->multi_option_policy(
        CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--listen", opt.listen,
                   "Address to listen on: HOST:PORT or [IPv6]:PORT; port 0 "
                   "picks a free one")
        ->capture_default_str();
    ks::cli::add_database_flags(app, opt.db);
    app.add_option("--ingest-path", opt.ingest_path,
                   "Path that accepts batches, besides /")
        ->capture_default_str();
    app.add_option("--max-body-bytes", opt.max_body_bytes,
                   "Largest request body as sent (before decoding); "
                   "sizes go from 1 byte to 1T, K, M, G, T count in 1024s")
        ->transform(ks::cli::size_value())
        ->capture_default_str();
    app.add_option("--max-decoded-bytes", opt.max_decoded_bytes,
                   "Largest request body after decoding")
        ->transform(ks::cli::size_value())
        ->capture_default_str();
    app.add_option("--io-threads", opt.io_threads,
                   "Threads that serve connections and prepare rows")
        ->check(CLI::Range(1u, 1024u))
        ->capture_default_str();
    app.add_option("--writers", opt.writers,
                   "PostgreSQL connections writing batches, one thread "
                   "each; health checks use one more")
        ->check(CLI::Range(1u, 256u))
        ->capture_default_str();
    app.add_option("--memory-budget-bytes", opt.memory_budget_bytes,
                   "Memory all requests may hold at once (bodies, decoded "
                   "text, rows); past it requests wait, then get 503")
        ->transform(ks::cli::size_value())
        ->capture_default_str();
    app.add_option("--budget-wait-ms", opt.budget_wait_ms,
                   "How long a request waits for the memory budget before "
                   "it gets 503")
        ->check(CLI::Range(0u, 600000u))
        ->capture_default_str();
    app.add_option("--group-max-bytes", opt.group_max_bytes,
                   "COPY bytes of queued batches that one transaction "
                   "gathers (group commit)")
        ->transform(ks::cli::size_value())
        ->capture_default_str();
    app.add_option("--group-delay-ms", opt.group_delay_ms,
                   "How long a writer waits for more batches to fill a "
                   "group; 0 takes what is queued")
        ->check(CLI::Range(0u, 10000u))
        ->capture_default_str();
    app.add_option("--idle-timeout-s", opt.idle_timeout_s,
                   "Seconds a client may stay silent: before a request, "
                   "between two reads of its body, while reading the "
                   "answer; the request line and headers must arrive "
                   "within it")
        ->check(CLI::Range(1u, 3600u))
        ->capture_default_str();
    app.add_option("--shutdown-grace-s", opt.shutdown_grace_s,
                   "Seconds SIGTERM or SIGINT lets requests still being "
                   "read finish before closing them; batches already in "
                   "PostgreSQL's hands always get their answer")
        ->check(CLI::Range(0u, 3600u))
        ->capture_default_str();
    app.add_option("--ledger-table", opt.ledger_table,
                   "Table of committed requests, whose retries are "
                   "answered from it instead of being stored again")
        ->capture_default_str();
    app.add_option("--dedup-window-h", opt.dedup_window_h,
                   "Hours a committed request is remembered: a retry "
                   "arriving later is stored again")
        ->check(CLI::Range(1u, 24u * 366u))
        ->capture_default_str();
    app.add_flag("--no-dedup", opt.no_dedup,
                 "Keep no ledger: a retried request is stored again");
    app.add_flag("--reject-undecodable", opt.reject_undecodable,
                 "Answer 422 to a body that cannot be decompressed, "
                 "instead of storing it whole as a dead letter and "
                 "answering 200");
    app.add_option("--auth-file", opt.auth_file,
                   "File of accepted credentials, one per line: 'bearer "
                   "TOKEN' or 'basic USER:PASSWORD'; KORESHIELD_SINK_TOKEN "
                   "and KORESHIELD_SINK_BASIC_AUTH add one each");
    app.add_flag("--no-auth",
                 opt.no_auth,
                 "Serve without credentials on an address other hosts can "
                 "reach (on loopback that is the default)");
    app.add_option("--log-level", opt.log_level,
                   "debug, info, warn or error (logs go to stderr)")
        ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
        ->capture_default_str();
    app.set_version_flag("--version", "koreshield-sink " KS_VERSION);
}

/// Prints a usage error the way CLI11 does and returns the exit status.
int usage_error(const std::string& message)
{
    std::fprintf(stderr, "%s\nRun with --help for more information.\n",
                 message.c_str());
    return exit_usage;
}

/// The signal name for logs.
const char* signal_name(int sig)
{
    switch (sig) {
    case SIGINT:
        return "SIGINT";
    case SIGTERM:
        return "SIGTERM";
    }
    return "signal";
}

/// Parses argv into `opt`; returns an exit status when the program is
/// done already (help, version, or a mistake: status 2).
std::optional<int> parse_command_line(int argc, char** argv, options& opt,
                                      ks::config::file_settings& file)
{
    unsigned cores = std::thread::hardware_concurrency();
    opt.io_threads = cores == 0 ? 1 : cores;
    CLI::App app{"Receives batches of KoreShield JSON log events over "
                 "HTTP and loads them into PostgreSQL.",
                 "koreshield-sink"};
    add_flags(app, opt);
    return ks::cli::parse_with_config(app, argc, argv, "sink", file);
}

/// What the writer and the server are built from.
struct settings {
    ks::pg::writer_config writer;
    ks::http::server_config server;
    ks::http::log_level level = ks::http::log_level::info;
};

/// Checks what CLI11 cannot and fills `out`; returns an error sentence
/// for a value that cannot be used.
std::optional<std::string> make_settings(const options& opt,
                                         const ks::config::file_settings& file,
                                         settings& out)
{
    listen_address where;
    if (auto problem = parse_listen(opt.listen, where)) return problem;
    if (opt.ingest_path.empty() || opt.ingest_path.front() != '/')
        return "--ingest-path must start with '/'";

    // The writer quotes the table names itself; they are checked here so
    // that a bad one is a usage error.
    if (auto problem = ks::cli::check_table_names(opt.db)) return problem;

    out.writer.dsn = opt.db.dsn;
    out.writer.events = {opt.db.table, std::string(ks::ingest::event_columns)};
    out.writer.dead_letters = {opt.db.dead_letter_table,
                               std::string(ks::ingest::dead_letter_columns)};
    if (!opt.no_dedup) {
        try {
            out.server.ledger.emplace(opt.ledger_table,
                                      std::chrono::hours(opt.dedup_window_h));
        } catch (const std::invalid_argument& e) {
            return "--ledger-table: " + std::string(e.what());
        }
        out.writer.ledger_rows = out.server.ledger->target();
        out.writer.also_checked.emplace_back(out.writer.ledger_rows,
                                             "request ledger");
    }

    // Secrets come from a file or the environment, never from argv,
    // which every user of the machine can read in /proc.
    if (!opt.auth_file.empty()) {
        if (auto problem = out.server.auth.add_file(opt.auth_file))
            return *problem;
        // A file meant to protect the sink must not leave it open.
        if (out.server.auth.empty())
            return "--auth-file " + opt.auth_file +
                   " holds no credential ('bearer TOKEN' or 'basic "
                   "USER:PASSWORD' lines)";
    }
    if (auto problem = out.server.auth.add_environment()) return problem;
    if (out.server.auth.empty() && !opt.no_auth &&
        !ks::http::is_loopback_host(where.host))
        return "--listen " + opt.listen +
               " can be reached from other hosts: give credentials with "
               "--auth-file or KORESHIELD_SINK_TOKEN, or pass --no-auth";
    out.server.reject_undecodable = opt.reject_undecodable;
    out.writer.connections = opt.writers;
    out.writer.group_max_bytes = opt.group_max_bytes;
    out.writer.group_delay_ms = opt.group_delay_ms;

    out.server.host = where.host;
    out.server.port = where.port;
    out.server.ingest_path = opt.ingest_path;
    out.server.max_body_bytes = opt.max_body_bytes;
    out.server.io_threads = opt.io_threads;
    out.server.limits.max_decoded_bytes = opt.max_decoded_bytes;
    out.server.mapping = ks::cli::mapping_from(opt.db, file);
    out.server.memory_budget_bytes = opt.memory_budget_bytes;
    out.server.budget_wait_ms = opt.budget_wait_ms;
    out.server.idle_timeout_s = opt.idle_timeout_s;
    out.server.shutdown_grace_s = opt.shutdown_grace_s;
    out.level = *ks::http::parse_log_level(opt.log_level);
    return std::nullopt;
}

/// Blocks SIGINT and SIGTERM in this thread and every thread started
/// later, so that only sigwait() takes them; returns the set.
sigset_t block_stop_signals()
{
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    return stop_signals;
}

/// Checks the tables before serving. Returns an exit status when the
/// database answers but a table cannot take rows: every batch would fail,
/// so starting would only hide the mistake behind 500s. A database that
/// cannot be reached may come back: the sink starts, and /health says 503
/// until it does.
std::optional<int> check_tables(const settings& s, const ks::http::logger& log)
{
    std::vector<std::string> warnings;
    auto problem = ks::pg::check_database(s.writer, &warnings);
    for (const std::string& w : warnings)
        log.write(ks::http::log_level::warn, "schema_warning", "message", w);
    if (!problem) return std::nullopt;
    if (problem->kind == ks::pg::error_kind::transient) {
        log.write(ks::http::log_level::warn, "database_unreachable", "error",
                  problem->message);
        return std::nullopt;
    }
    const bool refused = problem->sqlstate == "42501";
    const char* remedy =
        refused ? "; grant the sink's role INSERT on the tables (and "
                  "SELECT, UPDATE, DELETE on the ledger) and USAGE on their "
                  "id "
                  "sequences"
                : "; create the tables with sql/apply (sql/apply DSN, or "
                  "sql/apply --flat DSN without pg_partman; for other "
                  "names, copy its tables under "
                  "them), or name existing ones with --table, "
                  "--dead-letter-table and --ledger-table";
    log.write(ks::http::log_level::error, "start_failed", "error",
              problem->message + remedy, "sqlstate", problem->sqlstate);
    return exit_failure;
}

/// Runs the sink until SIGINT or SIGTERM; returns the exit status.
int serve(const settings& s, const ks::http::logger& log,
          const sigset_t& stop_signals)
{
    try {
        if (auto status = check_tables(s, log)) return *status;

        // The writer first: the server hands it batches, and it must
        // outlive the server's requests in flight.
        ks::pg::writer writer(s.writer);
        ks::http::server server(s.server, writer, log);
        server.start();
        std::printf("koreshield-sink listening on http://%s (ingest: POST "
                    "%s or /, health: HEAD/GET %s)\n",
                    server.endpoint().c_str(), s.server.ingest_path.c_str(),
                    s.server.health_path.c_str());
        std::fflush(stdout);

        // Requests in flight finish before the writer stops; the server
        // stops it itself when the grace period runs out.
        int sig = 0;
        sigwait(&stop_signals, &sig);
        log.write(ks::http::log_level::info, "shutdown", "signal",
                  signal_name(sig));
        server.stop();
        writer.stop();
        log.write(ks::http::log_level::info, "exit", "status", 0);
        return 0;
    } catch (const std::invalid_argument& e) {
        log.write(ks::http::log_level::error, "start_failed", "error",
                  e.what());
        return exit_usage;
    } catch (const std::exception& e) {
        log.write(ks::http::log_level::error, "start_failed", "error",
                  e.what());
        return exit_failure;
    }
}

} // namespace

int main(int argc, char** argv)
{
    ks::serve_large_blocks_with_mmap();

    options opt;
    ks::config::file_settings file;
    if (auto done = parse_command_line(argc, argv, opt, file)) return *done;

    settings s;
    if (auto problem = make_settings(opt, file, s))
        return usage_error(*problem);

    // Freed request-sized blocks are kept, so the next request finds its
    // pages mapped: an eighth of the budget at most, a fixed overhead
    // beside it like the I/O threads' buffers. Set aside from the budget
    // instead, they cost 10 MB bodies more 503s and more CPU than they
    // saved.
    ks::keep_freed_large_blocks(
        std::min<std::size_t>(s.server.memory_budget_bytes / 8, 32u << 20));

    sigset_t stop_signals = block_stop_signals();
    ks::http::logger log(s.level);
    return serve(s, log, stop_signals);
}
