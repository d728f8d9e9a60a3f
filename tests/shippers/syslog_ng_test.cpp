// syslog-ng from Debian as a real shipper: it follows a KoreShield log
// file with the shipped vector-config/syslog-ng.conf (only its @define
// values changed) and posts NDJSON batches to a real koreshield-sink.
// Every JSON line must arrive exactly once, the lines that are not JSON
// as text_line events, also for lines appended while syslog-ng runs or
// while it is stopped; basic credentials must pass; a batch answered 401
// must be sent again, not lost, once the sink accepts it; and after a
// kill -9 no line may be lost and at most the batch in flight repeated.

#include "shippers/koreshield_log.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/restart_port.hpp"
#include "support/sink_process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_db.hpp"
#include "support/text.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <set>
#include <sstream>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace ks::test;
using namespace std::chrono_literals;

namespace {

/// How often the database is looked at while events travel, and how long
/// they may take: syslog-ng reads the file once a second and sends at
/// once, so a few seconds is normal, a minute is a failure.
constexpr auto poll_interval = 200ms;
constexpr auto fast_poll_interval = 10ms; // to strike early in a file
constexpr auto arrival_timeout = 60s;

/// A prompt excerpt long enough to need the config's log-msg-size (the
/// default, 64 KiB, would cut the line).
constexpr std::size_t long_line_pad_bytes = 200 * 1024;

/// syslog-ng's binary. Fails the test, naming the packages, when it is
/// missing: CI installs them, so a skip would hide a broken setup.
std::string syslog_ng_binary()
{
    std::vector<std::string> dirs;
    if (const char* path = std::getenv("PATH")) {
        std::istringstream in(path);
        for (std::string dir; std::getline(in, dir, ':');)
            if (!dir.empty()) dirs.push_back(dir);
    }
    // Where Debian puts it, also for users whose PATH lacks sbin.
    dirs.insert(dirs.end(), {"/usr/sbin", "/sbin"});
    // syslog_ng_run starts it through setpriv (util-linux, essential on
    // Debian); say so rather than see syslog-ng "exit" at once.
    if (::access("/usr/bin/setpriv", X_OK) != 0)
        FAIL("/usr/bin/setpriv is missing: install util-linux");
    for (const std::string& dir : dirs) {
        const std::string bin = dir + "/syslog-ng";
        if (::access(bin.c_str(), X_OK) == 0) return bin;
    }
    FAIL("syslog-ng is not installed (not in PATH, /usr/sbin or /sbin): "
         "install the Debian packages syslog-ng-core and syslog-ng-mod-http "
         "(apt-get install -y syslog-ng-core syslog-ng-mod-http; they "
         "replace rsyslog)");
    return {};
}

/// Requires that syslog-ng's module path holds the http() destination,
/// which Debian ships apart from syslog-ng-core.
void require_http_module(const std::string& bin)
{
    std::string out;
    const int status = run_program(bin, {"--version"}, out);
    INFO("syslog-ng --version:\n" << out);
    REQUIRE(status == 0);
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("Available-Modules:", 0) != 0) continue;
        std::istringstream list(line.substr(line.find(':') + 1));
        for (std::string module; std::getline(list, module, ',');) {
            module.erase(0, module.find_first_not_of(' '));
            if (module == "http") return;
        }
    }
    FAIL("syslog-ng's module path has no http module: install the Debian "
         "package syslog-ng-mod-http (with syslog-ng-core)");
}

std::string read_text(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

/// The shipped configuration with the given `@define` values; every one
/// must be defined there, so the test runs that file and no other.
std::string syslog_ng_config(const std::map<std::string, std::string>& values)
{
    std::istringstream in(
        read_text(source_path("vector-config/syslog-ng.conf")));
    std::string out;
    std::size_t replaced = 0;
    for (std::string line; std::getline(in, line);) {
        for (const auto& [name, value] : values) {
            if (line.rfind("@define " + name + " ", 0) != 0) continue;
            line = "@define " + name + " \"" + value + "\"";
            ++replaced;
        }
        out += line + "\n";
    }
    INFO("@define lines expected: koreshield_log, koreshield_url, "
         "koreshield_user, koreshield_password");
    REQUIRE(replaced == values.size());
    return out;
}

/// The batch-lines() of the shipped configuration: no request may hold
/// more lines.
long long configured_batch_lines()
{
    const std::string text =
        read_text(source_path("vector-config/syslog-ng.conf"));
    const std::string key = "batch-lines(";
    const auto at = text.find(key);
    REQUIRE(at != std::string::npos);
    return std::stoll(text.substr(at + key.size()));
}

/// Appends `text` to the log with one write, as a logger flushes a line.
void append(const std::string& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << text;
    out.flush();
    REQUIRE(out.good());
}

/// Appends events [first, first + count) to the log and to `written`.
void append_events(const std::string& path, written_log& written, int first,
                   int count)
{
    std::string text;
    for (int i = first; i < first + count; ++i) {
        text += koreshield_event(i) + "\n";
        written.add_event(i);
    }
    append(path, text);
}

/// The last `bytes` of a log, for a failure message.
std::string tail(const std::string& log, std::size_t bytes = 6000)
{
    return log.size() > bytes ? "...\n" + log.substr(log.size() - bytes) : log;
}

/// A private syslog-ng in the foreground, with its own configuration,
/// persist, pid and control files in `dir`, its messages on stderr, and
/// capabilities left alone (it needs no privileges). Killed with the
/// test program (through setpriv, as sink_process does with prctl), so a
/// crashed test leaves no shipper re-sending behind.
class syslog_ng_run {
public:
    syslog_ng_run(const std::string& bin, const temp_dir& dir)
        : proc_("/usr/bin/setpriv",
                {"--pdeathsig", "KILL", "--", bin, "--foreground", "--stderr",
                 "--no-caps", "--cfgfile", dir.file("syslog-ng.conf"),
                 "--persist-file", dir.file("syslog-ng.persist"), "--pidfile",
                 dir.file("syslog-ng.pid"), "--control",
                 dir.file("syslog-ng.ctl")})
    {
    }

    /// A test that ends by an exception (a failed REQUIRE included) shows
    /// what syslog-ng said.
    ~syslog_ng_run()
    {
        if (std::uncaught_exceptions() > 0)
            std::fprintf(stderr, "--- syslog-ng output ---\n%s--- end ---\n",
                         tail(proc_.output(), 20000).c_str());
    }
    syslog_ng_run(const syslog_ng_run&) = delete;
    syslog_ng_run& operator=(const syslog_ng_run&) = delete;

    /// Whether it still runs (an exited child stays a zombie until the
    /// stop() reaps it).
    bool running() const
    {
        std::ifstream stat("/proc/" + std::to_string(proc_.pid()) + "/stat");
        std::string line;
        if (!std::getline(stat, line)) return false;
        const auto paren = line.rfind(')');
        return paren != std::string::npos && paren + 2 < line.size() &&
               line[paren + 2] != 'Z';
    }

    /// SIGTERM, as an init system stops it; returns the exit status.
    int stop()
    {
        proc_.kill(SIGTERM);
        return proc_.wait(30);
    }

    /// SIGKILL, as a crash: nothing is flushed; returns the exit status.
    int kill()
    {
        proc_.kill(SIGKILL);
        return proc_.wait(30);
    }

    std::string output() const { return proc_.output(); }

private:
    process proc_;
};

/// The arguments of a test sink: loopback, its own database, debug
/// logging so that every request is in its log.
std::vector<std::string> sink_args(const std::string& dsn,
                                   const std::string& listen,
                                   std::vector<std::string> extra = {})
{
    std::vector<std::string> args{"--listen",    listen,  "--dsn",        dsn,
                                  "--log-level", "debug", "--io-threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

std::string ingest_url(const sink_process& sink)
{
    return "http://" + sink.host() + ":" + std::to_string(sink.port()) +
           "/ingest";
}


/// The one number `sql` yields.
long long count_of(test_db& db, const std::string& sql)
{
    return std::stoll(db.scalar(sql));
}

/// Polls until the events table holds at least `expected` rows; fails
/// after arrival_timeout, or at once when syslog-ng has exited.
void require_arrival(test_db& db, long long expected,
                     const syslog_ng_run& shipper,
                     std::chrono::milliseconds interval = poll_interval)
{
    const auto deadline = std::chrono::steady_clock::now() + arrival_timeout;
    for (;;) {
        const long long rows =
            count_of(db, "SELECT count(*) FROM koreshield_events");
        if (rows >= expected) return;
        if (!shipper.running())
            FAIL("syslog-ng exited; " << rows << " of " << expected
                                      << " rows arrived");
        if (std::chrono::steady_clock::now() > deadline)
            FAIL(rows << " of " << expected << " rows arrived in "
                      << arrival_timeout.count() << " s");
        std::this_thread::sleep_for(interval);
    }
}

/// The guarantee, seen from the database: every line written is stored,
/// JSON lines as their events and the others as text_line events, with
/// no dead letter, in requests the ledger recorded, none larger than the
/// configured batch. Each line is stored once; up to `repeats_allowed`
/// lines may be stored a second time (a batch sent again after a crash,
/// cut differently).
void require_stored(test_db& db, const written_log& written,
                    long long repeats_allowed = 0)
{
    // Every JSON event, by distinct id and as the very set of ids
    // written; each once, or at most twice where repeats are allowed.
    const long long rows =
        count_of(db, "SELECT count(*) FROM koreshield_events");
    INFO("rows: " << rows << ", lines written: " << written.lines);
    CHECK(rows >= written.lines);
    CHECK(rows - written.lines <= repeats_allowed);
    CHECK(count_of(db, "SELECT count(DISTINCT request_id) FROM "
                       "koreshield_events") ==
          static_cast<long long>(written.request_ids.size()));
    std::vector<std::string> repeated;
    const std::string most = repeats_allowed > 0 ? "2" : "1";
    for (const auto& row :
         db.query("SELECT request_id || ' x' || count(*) FROM "
                  "koreshield_events WHERE event_type <> 'text_line' "
                  "GROUP BY request_id HAVING count(*) > " +
                  most + " ORDER BY 1 LIMIT 20"))
        repeated.push_back(row[0].value_or("NULL"));
    INFO("stored more often than allowed:\n" << first_items(repeated));
    CHECK(repeated.empty());
    std::set<std::string> stored;
    for (const auto& row : db.query("SELECT request_id FROM koreshield_events "
                                    "WHERE event_type <> 'text_line'"))
        stored.insert(row[0].value_or("NULL"));
    std::vector<std::string> missing, unexpected;
    std::set_difference(written.request_ids.begin(), written.request_ids.end(),
                        stored.begin(), stored.end(),
                        std::back_inserter(missing));
    std::set_difference(stored.begin(), stored.end(),
                        written.request_ids.begin(), written.request_ids.end(),
                        std::back_inserter(unexpected));
    INFO("written, not stored:\n" << first_items(missing));
    INFO("stored, not written:\n" << first_items(unexpected));
    CHECK(missing.empty());
    CHECK(unexpected.empty());

    // Each line became the event it is: syslog-ng changed no byte that
    // decides the type. Counted by distinct line, so that a repeat does
    // not count twice.
    std::map<std::string, long long> types;
    for (const auto& row :
         db.query("SELECT event_type, count(DISTINCT coalesce(request_id, "
                  "metadata->>'message')) FROM koreshield_events GROUP BY 1"))
        types[row[0].value_or("NULL")] = std::stoll(row[1].value_or("0"));
    CHECK(types == written.event_types);

    // Lines that are not JSON arrive whole, as text_line events.
    std::set<std::string> texts;
    for (const auto& row : db.query("SELECT metadata->>'message' FROM "
                                    "koreshield_events WHERE event_type = "
                                    "'text_line'"))
        texts.insert(row[0].value_or("NULL"));
    CHECK(texts == written.text_lines);

    // Nothing refused. A reason code here says what syslog-ng did to a
    // line (a cut long line is malformed_json).
    std::string reasons;
    for (const auto& row : db.query("SELECT reason_code, count(*) FROM "
                                    "koreshield_dead_letters GROUP BY 1"))
        reasons += row[0].value_or("") + ": " + row[1].value_or("") + "\n";
    INFO("dead letters by reason:\n" << reasons);
    CHECK(count_of(db, "SELECT count(*) FROM koreshield_dead_letters") == 0);

    // The ledger recorded the requests that stored them: their counts add
    // up to the rows (so no row came without a ledger entry, and a
    // request sent again was stored once), and none holds more lines than
    // the configuration's batch.
    CHECK(count_of(db, "SELECT count(*) FROM koreshield_ingest_requests") > 0);
    CHECK(count_of(db, "SELECT coalesce(sum(received), 0) FROM "
                       "koreshield_ingest_requests") == rows);
    CHECK(count_of(db, "SELECT coalesce(sum(text_lines), 0) FROM "
                       "koreshield_ingest_requests") ==
          count_of(db, "SELECT count(*) FROM koreshield_events "
                       "WHERE event_type = 'text_line'"));
    CHECK(count_of(db,
                   "SELECT coalesce(max(received), 0) FROM "
                   "koreshield_ingest_requests") <= configured_batch_lines());
}

/// Requires that syslog-ng accepts the configuration before it runs, so
/// that a bad option fails here with syslog-ng's own words.
void require_valid_config(const std::string& bin, const std::string& conf)
{
    std::string out;
    const int status = run_program(
        bin, {"--syntax-only", "--no-caps", "--cfgfile", conf}, out);
    INFO("syslog-ng --syntax-only:\n" << out);
    REQUIRE(status == 0);
}

/// Writes the test's syslog-ng.conf into `dir`.
void write_config(const temp_dir& dir, const std::string& log,
                  const std::string& url, const std::string& user,
                  const std::string& password)
{
    std::ofstream(dir.file("syslog-ng.conf"), std::ios::binary)
        << syslog_ng_config({{"koreshield_log", log},
                             {"koreshield_url", url},
                             {"koreshield_user", user},
                             {"koreshield_password", password}});
}

/// Prints how long a stage took to arrive, for the test log.
void report(const char* stage, std::chrono::steady_clock::time_point since,
            long long lines)
{
    const std::chrono::duration<double> took =
        std::chrono::steady_clock::now() - since;
    std::printf("syslog-ng: %s: %lld lines in the table after %.1f s\n", stage,
                lines, took.count());
    std::fflush(stdout);
}

} // namespace

TEST_CASE("syslog-ng ships a growing KoreShield log, every line exactly "
          "once, across a restart")
{
    const std::string bin = syslog_ng_binary();
    require_http_module(bin);
    temp_dir dir("syslog-ng");
    const std::string log = dir.file("koreshield.log");
    written_log written;

    // The log as syslog-ng finds it: 3000 events, uvicorn access lines
    // between them, and one event far over syslog-ng's default line size.
    const std::string banner = "INFO:     Uvicorn running on "
                               "http://0.0.0.0:8000 (Press CTRL+C to quit)";
    std::string text = banner + "\n";
    written.add_text(banner);
    for (int i = 0; i < 3000; ++i) {
        text += koreshield_event(i, i == 1234 ? long_line_pad_bytes : 0) + "\n";
        written.add_event(i);
        if (i % 1000 == 500) {
            text += uvicorn_line(i) + "\n";
            written.add_text(uvicorn_line(i));
        }
    }
    append(log, text);

    const std::string dsn = fresh_database("syslog_ng");
    test_db db(dsn);
    // A sink without credentials ignores the ones the config sends.
    sink_process sink(sink_args(dsn, "127.0.0.1:0"));
    write_config(dir, log, ingest_url(sink), "syslog-ng", "unused");
    require_valid_config(bin, dir.file("syslog-ng.conf"));

    auto shipper = std::make_unique<syslog_ng_run>(bin, dir);
    auto began = std::chrono::steady_clock::now();

    // The file as it was: read from its start, since the persist file is
    // new.
    require_arrival(db, written.lines, *shipper);
    report("existing file", began, written.lines);

    // Lines written while syslog-ng follows the file, the last one in two
    // writes with a pause longer than syslog-ng's follow-freq(1): a line
    // still being written must wait for its end, not go out cut.
    began = std::chrono::steady_clock::now();
    append_events(log, written, 3000, 999);
    append(log, uvicorn_line(3999) + "\n");
    written.add_text(uvicorn_line(3999));
    const std::string split = koreshield_event(4000);
    append(log, split.substr(0, split.size() / 2));
    std::this_thread::sleep_for(1500ms); // not a wait for a result
    append(log, split.substr(split.size() / 2) + "\n");
    written.add_event(4000);
    require_arrival(db, written.lines, *shipper);
    report("appended while running", began, written.lines);

    // Stopped, more lines, started again with the same persist file: it
    // goes on where it stopped, nothing read twice.
    CHECK(shipper->stop() == 0);
    append_events(log, written, 4001, 500);
    began = std::chrono::steady_clock::now();
    shipper = std::make_unique<syslog_ng_run>(bin, dir);
    require_arrival(db, written.lines, *shipper);
    report("appended while stopped", began, written.lines);
    CHECK(shipper->stop() == 0);

    INFO("syslog-ng output:\n" << tail(shipper->output()));
    INFO("sink log:\n" << tail(sink.stderr_text()));
    require_stored(db, written);

    // Bytes syslog-ng could have touched come through unchanged: UTF-8
    // beyond ASCII, and the long line whole.
    CHECK(db.scalar("SELECT string_agg(DISTINCT metadata->'threat_references'"
                    "->0->>'excerpt', '|') FROM koreshield_events") ==
          koreshield_unicode_excerpt);
    CHECK(db.scalar("SELECT length(metadata->'sanitization'->>'normalized') "
                    "FROM koreshield_events WHERE request_id = '" +
                    koreshield_request_id(1234) + "'") ==
          std::to_string(long_line_pad_bytes));

    CHECK(sink.stop() == 0);
}

TEST_CASE("syslog-ng's basic credentials pass a sink that requires them")
{
    const std::string bin = syslog_ng_binary();
    require_http_module(bin);
    temp_dir dir("syslog-ng-auth");
    const std::string log = dir.file("koreshield.log");
    written_log written;
    append_events(log, written, 0, 1000);
    append(log, uvicorn_line(1) + "\n");
    written.add_text(uvicorn_line(1));

    std::ofstream(dir.file("credentials"))
        << "# the sink's side of the shipped config's user()/password()\n"
           "basic syslog-ng:Wz4-k9q:Lm2\n";
    const std::string dsn = fresh_database("syslog_ng_auth");
    test_db db(dsn);
    sink_process sink(sink_args(dsn, "127.0.0.1:0",
                                {"--auth-file", dir.file("credentials")}));

    // The sink really requires them: a request without is refused.
    http_request bare{"POST", "/ingest", {}, koreshield_event(99999) + "\n"};
    CHECK(http_send(sink.host(), sink.port(), bare).status == 401);

    write_config(dir, log, ingest_url(sink), "syslog-ng", "Wz4-k9q:Lm2");
    require_valid_config(bin, dir.file("syslog-ng.conf"));
    syslog_ng_run shipper(bin, dir);
    const auto began = std::chrono::steady_clock::now();
    require_arrival(db, written.lines, shipper);
    report("with basic credentials", began, written.lines);
    CHECK(shipper.stop() == 0);

    INFO("syslog-ng output:\n" << tail(shipper.output()));
    INFO("sink log:\n" << tail(sink.stderr_text()));
    require_stored(db, written);
    // Only the bare request was refused.
    CHECK(occurrences(sink.stderr_text(), "request_failed status=401") == 1);
    CHECK(sink.stop() == 0);
}

TEST_CASE("a batch answered 401 is sent again until the sink accepts it, "
          "and stored once")
{
    const std::string bin = syslog_ng_binary();
    require_http_module(bin);
    temp_dir dir("syslog-ng-401");
    const std::string log = dir.file("koreshield.log");
    written_log written;
    append_events(log, written, 0, 700);

    // A sink that knows other credentials than syslog-ng sends.
    std::ofstream(dir.file("old-credentials")) << "basic syslog-ng:old\n";
    const std::string dsn = fresh_database("syslog_ng_401");
    test_db db(dsn);
    const std::string listen =
        "127.0.0.1:" + std::to_string(ks::test::restart_port());
    auto sink = std::make_unique<sink_process>(
        sink_args(dsn, listen, {"--auth-file", dir.file("old-credentials")}));
    write_config(dir, log, ingest_url(*sink), "syslog-ng", "new");
    require_valid_config(bin, dir.file("syslog-ng.conf"));
    syslog_ng_run shipper(bin, dir);

    // Its first batch is refused...
    const auto deadline = std::chrono::steady_clock::now() + arrival_timeout;
    while (occurrences(sink->stderr_text(), "request_failed status=401") == 0) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        REQUIRE(shipper.running());
        std::this_thread::sleep_for(poll_interval);
    }
    CHECK(count_of(db, "SELECT count(*) FROM koreshield_events") == 0);
    CHECK(sink->stop() == 0);
    const std::string refusing_log = sink->stderr_text();

    // ... and kept: once the sink accepts syslog-ng's credentials, the
    // same lines arrive after syslog-ng's time-reopen(), once.
    std::ofstream(dir.file("credentials")) << "basic syslog-ng:new\n";
    const auto fixed = std::chrono::steady_clock::now();
    sink = std::make_unique<sink_process>(
        sink_args(dsn, listen, {"--auth-file", dir.file("credentials")}));
    INFO("refusing sink's log:\n" << tail(refusing_log));
    require_arrival(db, written.lines, shipper);
    report("after a 401, once the credentials were fixed", fixed,
           written.lines);
    CHECK(shipper.stop() == 0);

    INFO("syslog-ng output:\n" << tail(shipper.output()));
    INFO("accepting sink's log:\n" << tail(sink->stderr_text()));
    require_stored(db, written);
    CHECK(sink->stop() == 0);
}

TEST_CASE("syslog-ng killed with SIGKILL in the middle of a file loses no "
          "line and repeats at most the batch in flight")
{
    const std::string bin = syslog_ng_binary();
    require_http_module(bin);
    temp_dir dir("syslog-ng-kill");
    const std::string log = dir.file("koreshield.log");
    written_log written;
    append_events(log, written, 0, 60000);

    const std::string dsn = fresh_database("syslog_ng_kill");
    test_db db(dsn);
    sink_process sink(sink_args(dsn, "127.0.0.1:0"));
    write_config(dir, log, ingest_url(sink), "syslog-ng", "unused");
    require_valid_config(bin, dir.file("syslog-ng.conf"));

    // Killed while it catches up, with batches in flight: the first rows
    // are in, most of the file is not.
    auto shipper = std::make_unique<syslog_ng_run>(bin, dir);
    require_arrival(db, 1000, *shipper, fast_poll_interval);
    CHECK(shipper->kill() == 128 + SIGKILL);
    const long long at_kill =
        count_of(db, "SELECT count(*) FROM koreshield_events");
    REQUIRE(at_kill < written.lines); // else it was not killed mid-file

    // Started again on the same persist file: it resumes where the sink
    // last acknowledged, so the batch in flight comes again. Mostly it is
    // the same and the ledger stores it once; sometimes it resumes inside
    // that batch and cuts it differently (seen in 2 of 31 runs: 216 and
    // 319 of 500 lines stored twice; the kill met syslog-ng recording the
    // acknowledgement, we infer).
    const auto began = std::chrono::steady_clock::now();
    shipper = std::make_unique<syslog_ng_run>(bin, dir);
    require_arrival(db, written.lines, *shipper);
    report("after kill -9", began, written.lines);
    CHECK(shipper->stop() == 0);

    INFO("rows when killed: " << at_kill);
    INFO("syslog-ng output:\n" << tail(shipper->output()));
    INFO("sink log:\n" << tail(sink.stderr_text()));
    require_stored(db, written, configured_batch_lines());
    std::printf(
        "syslog-ng: killed at %lld rows; batches the ledger knew "
        "again: %d; lines stored twice: %lld\n",
        at_kill, occurrences(sink.stderr_text(), "info duplicate_request"),
        count_of(db, "SELECT count(*) FROM koreshield_events") - written.lines);
    CHECK(sink.stop() == 0);
}
