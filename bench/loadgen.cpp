// koreshield-loadgen: the load client of bench/run. Loads pre-compressed
// request bodies into memory, opens one keep-alive HTTP/1.1 connection per
// thread, and POSTs every body exactly once across the connections,
// timing each request. Prints one JSON line of totals; exits 1 unless
// every body was answered with 200.

#include <CLI/CLI.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <latch>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::string path = "/ingest";
    std::string bodies_dir;
    unsigned concurrency = 1;
    std::size_t limit = 0;
    unsigned timeout_s = 300;
    bool retry_503 = true;
};

// A request body as it goes on the wire, with its Content-Type.
struct body {
    std::string bytes;
    std::string_view content_type;
};

std::vector<body> load_bodies(const options& opt)
{
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(opt.bodies_dir)) {
        if (entry.is_regular_file() && entry.path().extension() == ".zst")
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    if (opt.limit && files.size() > opt.limit) files.resize(opt.limit);
    if (files.empty())
        throw std::runtime_error("no *.zst bodies in " + opt.bodies_dir);

    std::vector<body> out;
    for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + f.string());
        body b;
        b.bytes.assign(std::istreambuf_iterator<char>(in),
                       std::istreambuf_iterator<char>());
        bool ndjson = f.stem().extension() == ".ndjson";
        b.content_type = ndjson ? "application/x-ndjson" : "application/json";
        out.push_back(std::move(b));
    }
    return out;
}

// Owns a socket descriptor.
class socket_fd {
public:
    socket_fd() = default;
    explicit socket_fd(int fd) : fd_(fd) {}
    socket_fd(const socket_fd&) = delete;
    socket_fd& operator=(const socket_fd&) = delete;
    ~socket_fd() { reset(); }

    int get() const noexcept { return fd_; }
    void reset() noexcept
    {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }
    void adopt(int fd) noexcept
    {
        reset();
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

// What one connection saw.
struct tally {
    std::vector<double> latencies_ms;
    std::uint64_t ok = 0;
    std::uint64_t non_200 = 0;
    std::uint64_t retries = 0; // 503s sent again, as shippers do
    std::uint64_t io_errors = 0;
    std::uint64_t received = 0;
    std::uint64_t loaded = 0;
    std::uint64_t dead_lettered = 0;
    std::uint64_t wire_bytes = 0;
    std::string first_problem;
};

// The number after "key": in a flat JSON object; 0 when absent.
std::uint64_t json_count(std::string_view json, std::string_view key)
{
    std::string needle = "\"" + std::string(key) + "\":";
    auto at = json.find(needle);
    if (at == std::string_view::npos) return 0;
    return std::strtoull(json.data() + at + needle.size(), nullptr, 10);
}

bool iequals(std::string_view a, std::string_view b)
{
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// One keep-alive connection and the requests it sends.
class connection {
public:
    connection(const options& opt, const sockaddr_in& addr)
        : opt_(opt), addr_(addr)
    {
    }

    // Connects; false (with the reason) when that fails.
    bool open(std::string& problem)
    {
        fd_.adopt(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (fd_.get() < 0) return fail(problem, "socket");
        int one = 1;
        ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        timeval tv{static_cast<time_t>(opt_.timeout_s), 0};
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&addr_),
                      sizeof addr_) != 0)
            return fail(problem, "connect");
        pending_.clear();
        return true;
    }

    // Sends one body and reads the answer into status and response_body.
    bool exchange(const body& b, int& status, std::string& response_body,
                  std::string& problem)
    {
        if (fd_.get() < 0 && !open(problem)) return false;
        if (!send_request(b, problem)) return false;
        bool close = false;
        if (!read_response(status, response_body, close, problem)) return false;
        if (close) fd_.reset();
        return true;
    }

private:
    static bool fail(std::string& problem, const char* what)
    {
        problem = std::string(what) + ": " + std::strerror(errno);
        return false;
    }

    bool send_request(const body& b, std::string& problem)
    {
        std::string head = "POST " + opt_.path +
                           " HTTP/1.1\r\nHost: " + opt_.host + ":" +
                           std::to_string(opt_.port) +
                           "\r\nContent-Type: " + std::string(b.content_type) +
                           "\r\nContent-Encoding: zstd\r\nContent-Length: " +
                           std::to_string(b.bytes.size()) + "\r\n\r\n";
        iovec parts[2] = {{head.data(), head.size()},
                          {const_cast<char*>(b.bytes.data()), b.bytes.size()}};
        iovec* next = parts;
        int left = 2;
        while (left > 0) {
            ssize_t n = ::writev(fd_.get(), next, left);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return fail(problem, "send");
            auto done = static_cast<std::size_t>(n);
            while (left > 0 && done >= next->iov_len) {
                done -= next->iov_len;
                ++next;
                --left;
            }
            if (left > 0) {
                next->iov_base = static_cast<char*>(next->iov_base) + done;
                next->iov_len -= done;
            }
        }
        return true;
    }

    // Reads more bytes into pending_; false on error or end of stream.
    bool fill(std::string& problem)
    {
        char chunk[16384];
        for (;;) {
            ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail(problem, "recv");
            if (n == 0) {
                problem = "the server closed the connection";
                return false;
            }
            pending_.append(chunk, static_cast<std::size_t>(n));
            return true;
        }
    }

    bool read_response(int& status, std::string& response_body, bool& close,
                       std::string& problem)
    {
        // The head, up to the blank line.
        std::size_t end;
        while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill(problem)) return false;
        }
        std::string_view head(pending_.data(), end);
        if (head.size() < 12 || head.substr(0, 5) != "HTTP/") {
            problem = "not an HTTP response";
            return false;
        }
        status = std::atoi(pending_.c_str() + head.find(' ') + 1);

        // The headers the client needs: length and whether to reconnect.
        std::size_t length = 0;
        bool has_length = false;
        close = head.substr(0, 8) == "HTTP/1.0";
        std::size_t line = head.find("\r\n");
        while (line != std::string_view::npos) {
            std::size_t start = line + 2;
            line = head.find("\r\n", start);
            std::string_view h = head.substr(
                start,
                line == std::string_view::npos ? head.npos : line - start);
            std::size_t colon = h.find(':');
            if (colon == std::string_view::npos) continue;
            std::string_view name = h.substr(0, colon);
            std::string_view value = h.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.remove_prefix(1);
            if (iequals(name, "content-length")) {
                length = std::strtoull(std::string(value).c_str(), nullptr, 10);
                has_length = true;
            } else if (iequals(name, "connection")) {
                close = iequals(value, "close");
            }
        }
        if (!has_length) {
            problem = "response without Content-Length";
            return false;
        }

        // The body; anything after it stays for the next response.
        std::size_t body_start = end + 4;
        while (pending_.size() < body_start + length) {
            if (!fill(problem)) return false;
        }
        response_body.assign(pending_, body_start, length);
        pending_.erase(0, body_start + length);
        return true;
    }

    const options& opt_;
    sockaddr_in addr_;
    socket_fd fd_;
    std::string pending_;
};

// Sends bodies taken from the shared counter until none is left.
void drive(const options& opt, const sockaddr_in& addr,
           const std::vector<body>& bodies, std::atomic<std::size_t>& next,
           std::latch& ready, std::latch& go, tally& t)
{
    connection conn(opt, addr);
    std::string problem;
    bool connected = conn.open(problem);
    ready.count_down();
    go.wait();
    if (!connected) {
        ++t.io_errors;
        t.first_problem = problem;
        return;
    }

    std::string answer;
    for (;;) {
        std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= bodies.size()) return;

        // A 503 (the sink's memory budget is full) is sent again after
        // a second, as Vector and Logstash do; the latency is the
        // shipper's, from the first attempt to the answer that counts.
        int status = 0;
        auto start = clock_type::now();
        for (;;) {
            if (!conn.exchange(bodies[i], status, answer, problem)) {
                // The connection is in an unknown state: stop this thread.
                ++t.io_errors;
                if (t.first_problem.empty()) t.first_problem = problem;
                return;
            }
            t.wire_bytes += bodies[i].bytes.size();
            if (status != 503 || !opt.retry_503) break;
            ++t.retries;
            std::this_thread::sleep_for(std::chrono::seconds(1));
        }
        std::chrono::duration<double, std::milli> took =
            clock_type::now() - start;
        t.latencies_ms.push_back(took.count());

        if (status != 200) {
            ++t.non_200;
            if (t.first_problem.empty())
                t.first_problem = std::to_string(status) + " " + answer;
            continue;
        }
        ++t.ok;
        t.received += json_count(answer, "received");
        t.loaded += json_count(answer, "loaded");
        t.dead_lettered += json_count(answer, "dead_lettered");
    }
}

// The nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p)
{
    if (sorted.empty()) return 0;
    auto rank = static_cast<std::size_t>(p / 100.0 * sorted.size() + 0.999999);
    return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

double cpu_seconds()
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    auto s = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
    return s(ru.ru_utime) + s(ru.ru_stime);
}

int run(const options& opt)
{
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(opt.port);
    if (::inet_pton(AF_INET, opt.host.c_str(), &addr.sin_addr) != 1)
        throw std::runtime_error("--host must be an IPv4 address");
    std::vector<body> bodies = load_bodies(opt);

    // Connect everything first, then release all threads at once.
    std::vector<tally> tallies(opt.concurrency);
    std::atomic<std::size_t> next{0};
    std::latch ready(opt.concurrency);
    std::latch go(1);
    std::vector<std::thread> threads;
    for (unsigned c = 0; c < opt.concurrency; ++c) {
        threads.emplace_back(drive, std::cref(opt), std::cref(addr),
                             std::cref(bodies), std::ref(next), std::ref(ready),
                             std::ref(go), std::ref(tallies[c]));
    }
    ready.wait();
    double cpu_start = cpu_seconds();
    auto start = clock_type::now();
    go.count_down();
    for (auto& t : threads)
        t.join();
    std::chrono::duration<double> wall = clock_type::now() - start;
    double cpu = cpu_seconds() - cpu_start;

    // Totals over the connections.
    tally all;
    for (auto& t : tallies) {
        all.latencies_ms.insert(all.latencies_ms.end(), t.latencies_ms.begin(),
                                t.latencies_ms.end());
        all.ok += t.ok;
        all.non_200 += t.non_200;
        all.retries += t.retries;
        all.io_errors += t.io_errors;
        all.received += t.received;
        all.loaded += t.loaded;
        all.dead_lettered += t.dead_lettered;
        all.wire_bytes += t.wire_bytes;
        if (all.first_problem.empty()) all.first_problem = t.first_problem;
    }
    std::sort(all.latencies_ms.begin(), all.latencies_ms.end());

    std::printf("{\"concurrency\":%u,\"bodies\":%zu,\"requests\":%zu,"
                "\"ok\":%llu,\"non_200\":%llu,\"retries_503\":%llu,"
                "\"io_errors\":%llu,"
                "\"received\":%llu,\"loaded\":%llu,\"dead_lettered\":%llu,"
                "\"wire_bytes\":%llu,\"seconds\":%.6f,\"p50_ms\":%.3f,"
                "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"client_cpu_s\":%.3f}\n",
                opt.concurrency, bodies.size(), all.latencies_ms.size(),
                static_cast<unsigned long long>(all.ok),
                static_cast<unsigned long long>(all.non_200),
                static_cast<unsigned long long>(all.retries),
                static_cast<unsigned long long>(all.io_errors),
                static_cast<unsigned long long>(all.received),
                static_cast<unsigned long long>(all.loaded),
                static_cast<unsigned long long>(all.dead_lettered),
                static_cast<unsigned long long>(all.wire_bytes), wall.count(),
                percentile(all.latencies_ms, 50),
                percentile(all.latencies_ms, 99),
                all.latencies_ms.empty() ? 0.0 : all.latencies_ms.back(), cpu);
    std::fflush(stdout);

    if (all.ok == bodies.size()) return 0;
    std::cerr << "koreshield-loadgen: " << all.ok << " of " << bodies.size()
              << " bodies answered 200; first problem: " << all.first_problem
              << "\n";
    return 1;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"POSTs every zstd body of a directory once to a "
                 "koreshield-sink over keep-alive connections and prints "
                 "one JSON line of totals and latencies."};
    options opt;
    app.add_option("--host", opt.host, "IPv4 address of the sink")
        ->capture_default_str();
    app.add_option("--port", opt.port, "port of the sink")->required();
    app.add_option("--path", opt.path, "ingest path")->capture_default_str();
    app.add_option("--bodies", opt.bodies_dir,
                   "directory of *.ndjson.zst or *.json.zst bodies")
        ->required()
        ->check(CLI::ExistingDirectory);
    app.add_option("-c,--concurrency", opt.concurrency,
                   "connections, one thread each")
        ->check(CLI::Range(1u, 1024u))
        ->capture_default_str();
    app.add_option("--limit", opt.limit,
                   "send only the first N bodies (0: all)");
    app.add_option("--timeout-s", opt.timeout_s,
                   "give up on a connection silent for this long")
        ->capture_default_str();
    app.add_flag("!--no-retry", opt.retry_503,
                 "count a 503 as a failure instead of sending the body "
                 "again after a second");
    CLI11_PARSE(app, argc, argv);

    std::signal(SIGPIPE, SIG_IGN);
    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::cerr << "koreshield-loadgen: " << e.what() << "\n";
        return 1;
    }
}
