#include "fault/shipper.hpp"

#include "support/coders.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace ks::test::fault {

using clock_type = std::chrono::steady_clock;

namespace {

std::string event_id(int batch, int i)
{
    return "fault-" + std::to_string(batch) + "-" + std::to_string(i);
}

// Distinct timestamps as well: a batch that went in twice would differ
// from the original in nothing but its database ids.
std::string ndjson(int batch, int events)
{
    std::string text;
    for (int i = 0; i < events; ++i) {
        const int second = (batch * events + i) % 86400;
        char stamp[40];
        std::snprintf(stamp, sizeof stamp, "2026-03-01T%02d:%02d:%02d.%03dZ",
                      second / 3600, second / 60 % 60, second % 60, i);
        text += R"({"timestamp":")" + std::string(stamp) +
                R"(","event":"fault_test","severity":"low",)"
                R"("provider":"openai","model":"gpt-4o","request_id":")" +
                event_id(batch, i) + R"(","batch":)" + std::to_string(batch) +
                "}\n";
    }
    return text;
}

/// The string or number after `"key":` in the sink's flat answers.
std::optional<std::string> json_field(std::string_view body,
                                      std::string_view key)
{
    const std::string needle = "\"" + std::string(key) + "\":";
    auto at = body.find(needle);
    if (at == std::string_view::npos) return std::nullopt;
    at += needle.size();
    if (at < body.size() && body[at] == '"') {
        auto end = body.find('"', at + 1);
        if (end == std::string_view::npos) return std::nullopt;
        return std::string(body.substr(at + 1, end - at - 1));
    }
    auto end = body.find_first_of(",}", at);
    if (end == std::string_view::npos) return std::nullopt;
    return std::string(body.substr(at, end - at));
}

long long json_count(std::string_view body, std::string_view key)
{
    auto v = json_field(body, key);
    if (!v || v->empty()) return -1;
    try {
        return std::stoll(*v);
    } catch (const std::exception&) {
        return -1;
    }
}

bool iequal(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

/// xorshift32: each thread its own, so pauses differ between threads
/// but every run of a thread is reproducible.
std::uint32_t next_random(std::uint32_t& state)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

} // namespace

std::vector<batch> make_batches(int count, int events)
{
    std::vector<batch> out;
    out.reserve(static_cast<std::size_t>(count));
    for (int b = 0; b < count; ++b) {
        const std::string text = ndjson(b, events);
        // Vector's compression = "none", "gzip" and "zstd" in turn; the
        // ledger keys on the decoded text, so the coding must not matter.
        std::string body, coding;
        switch (b % 3) {
        case 0:
            body = text;
            break;
        case 1:
            body = gzip_member(text);
            coding = "gzip";
            break;
        default:
            body = zstd_streamed(text);
            coding = "zstd";
            break;
        }
        batch x;
        x.request = "POST /ingest HTTP/1.1\r\n"
                    "Host: 127.0.0.1\r\n"
                    "Content-Type: application/x-ndjson\r\n"
                    "Accept-Encoding: identity\r\n"
                    "User-Agent: koreshield-fault-shipper\r\n";
        if (!coding.empty())
            x.request += "Content-Encoding: " + coding + "\r\n";
        x.request += "Content-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n" + body;
        out.push_back(std::move(x));
    }
    return out;
}

std::vector<std::string> expected_request_ids(int count, int events)
{
    std::vector<std::string> ids;
    ids.reserve(static_cast<std::size_t>(count) *
                static_cast<std::size_t>(events));
    for (int b = 0; b < count; ++b)
        for (int i = 0; i < events; ++i)
            ids.push_back(event_id(b, i));
    std::sort(ids.begin(), ids.end());
    return ids;
}

// ---------------------------------------------------------------------
// One attempt on the wire

enum class shipper::ending : std::uint8_t {
    answered,
    refused,
    reset,
    closed,
    timeout,
    other_error
};

struct shipper::exchange {
    ending end = ending::other_error;
    int status = 0;
    bool keep_alive = false;
    std::string body;
    std::string error; // for failure messages
};

/// A keep-alive connection to the sink, or none yet.
struct shipper::connection {
    int fd = -1;
    std::string buffer; // bytes read past the last answer
    ~connection() { close(); }
    void close()
    {
        if (fd >= 0) ::close(fd);
        fd = -1;
        buffer.clear();
    }
};

namespace {

using deadline = clock_type::time_point;

int left_ms(deadline d)
{
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        d - clock_type::now());
    return static_cast<int>(std::max<std::int64_t>(left.count(), 0));
}

/// Connects to 127.0.0.1:port; -1 with errno set on failure.
int connect_to(std::uint16_t port)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

/// 0 when sent; else the errno, ETIMEDOUT at the deadline.
int write_all(int fd, std::string_view bytes, deadline d)
{
    while (!bytes.empty()) {
        pollfd p{fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, left_ms(d));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return errno;
        if (ready == 0) return ETIMEDOUT;
        const ssize_t n =
            ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return errno;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return 0;
}

/// Reads more into `buffer`: 0 on data, -1 at end of file, else errno
/// (ETIMEDOUT at the deadline).
int read_more(int fd, std::string& buffer, deadline d)
{
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, left_ms(d));
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return errno;
        if (ready == 0) return ETIMEDOUT;
        char chunk[16384];
        const ssize_t n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return errno;
        if (n == 0) return -1;
        buffer.append(chunk, static_cast<std::size_t>(n));
        return 0;
    }
}

} // namespace

shipper::exchange shipper::attempt(const batch& b, connection& conn)
{
    exchange x;
    const deadline d = clock_type::now() + options_.timeout;
    auto failed = [&](int error, const char* step) {
        x.error = std::string(step) + ": " +
                  (error == -1 ? "end of file" : std::strerror(error));
        x.end = error == ETIMEDOUT                      ? ending::timeout
                : error == ECONNRESET || error == EPIPE ? ending::reset
                : error == -1                           ? ending::closed
                                                        : ending::other_error;
        conn.close();
        return x;
    };

    if (conn.fd < 0) {
        conn.fd = connect_to(port_.load());
        if (conn.fd < 0) {
            const int error = errno;
            x.error = std::string("connect: ") + std::strerror(error);
            x.end =
                error == ECONNREFUSED ? ending::refused : ending::other_error;
            return x;
        }
    }
    if (int e = write_all(conn.fd, b.request, d)) return failed(e, "send");

    // The sink has the whole request: it is reading, preparing,
    // committing or answering it until the answer is read here.
    awaiting(1);
    struct done_waiting {
        shipper& s;
        ~done_waiting() { s.awaiting(-1); }
    } guard{*this};

    // Status line and headers, then Content-Length bytes of body.
    std::size_t head_end;
    while ((head_end = conn.buffer.find("\r\n\r\n")) == std::string::npos)
        if (int e = read_more(conn.fd, conn.buffer, d))
            return failed(e, "reading the head");
    const std::string head = conn.buffer.substr(0, head_end);
    conn.buffer.erase(0, head_end + 4);
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
        conn.close();
        x.error = "bad status line: " + head.substr(0, head.find('\r'));
        return x;
    }
    x.status = std::atoi(head.c_str() + 9);
    x.keep_alive = true;
    std::size_t length = 0;
    for (std::size_t at = head.find("\r\n"); at != std::string::npos;) {
        const std::size_t start = at + 2;
        at = head.find("\r\n", start);
        const std::string line = head.substr(start, at - start);
        const auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string_view name(line.data(), colon);
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        if (iequal(name, "content-length"))
            length = static_cast<std::size_t>(
                std::strtoull(value.c_str(), nullptr, 10));
        if (iequal(name, "connection") && iequal(value, "close"))
            x.keep_alive = false;
    }
    while (conn.buffer.size() < length)
        if (int e = read_more(conn.fd, conn.buffer, d))
            return failed(e, "reading the body");
    x.body = conn.buffer.substr(0, length);
    conn.buffer.erase(0, length);
    if (!x.keep_alive) conn.close();
    x.end = ending::answered;
    return x;
}

void shipper::lose_answer(const batch& b, int variant)
{
    // A connection of its own, as a shipper's timed-out request has.
    const int fd = connect_to(port_.load());
    if (fd < 0) return; // nothing sent: the retry is a first delivery
    const deadline d = clock_type::now() + options_.timeout;
    if (write_all(fd, b.request, d) == 0) {
        if (variant == 1) {
            // A reset instead of an orderly close.
            linger l{1, 0};
            ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        } else if (variant == 2) {
            // A client timeout far shorter than a COMMIT: it gives up
            // while the sink works (or reads nothing it got in time).
            pollfd p{fd, POLLIN, 0};
            ::poll(&p, 1, 20);
        }
    }
    ::close(fd);
}

// ---------------------------------------------------------------------
// Threads

shipper::shipper(std::vector<batch> batches, shipper_options options)
    : batches_(std::move(batches)), options_(options),
      results_(batches_.size()), allowed_(static_cast<int>(batches_.size()))
{
}

shipper::~shipper()
{
    stopping_ = true;
    changed_.notify_all();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
}

void shipper::start()
{
    for (int i = 0; i < options_.threads; ++i)
        threads_.emplace_back([this, i] { run(i); });
}

void shipper::allow(int count)
{
    {
        std::lock_guard lock(mutex_);
        allowed_ = std::min(count, static_cast<int>(batches_.size()));
    }
    changed_.notify_all();
}

bool shipper::wait_settled(int count, std::chrono::seconds timeout)
{
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return settled_ >= count; });
}

void shipper::strike_at(int index, std::function<void()> fault)
{
    std::lock_guard lock(mutex_);
    if (next_ > index)
        throw std::logic_error("strike_at(" + std::to_string(index) +
                               "): that batch is taken already");
    strike_index_ = index;
    strike_ = std::move(fault);
    struck_ = false;
    struck_awaiting_ = -1;
    strike_error_ = nullptr;
}

int shipper::wait_struck(std::chrono::seconds timeout)
{
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return struck_; })) return -1;
    if (strike_error_) std::rethrow_exception(strike_error_);
    return struck_awaiting_;
}

void shipper::strike_if_due(int index)
{
    std::function<void()> fault;
    int in_sink = 0;
    {
        std::unique_lock lock(mutex_);
        if (!strike_ || index < strike_index_) return;
        fault = std::move(strike_);
        strike_ = nullptr;
        // The other threads may just have taken their batches, woken by
        // the same group COMMIT, or may be backing off: the fault waits
        // (a little) for a request the sink has whole, so that it meets
        // one between its reading and its answer.
        changed_.wait_for(lock, std::chrono::seconds(2),
                          [&] { return stopping_ || awaiting_ > 0; });
        in_sink = awaiting_;
    }
    std::exception_ptr error;
    try {
        fault();
    } catch (...) {
        error = std::current_exception();
    }
    {
        std::lock_guard lock(mutex_);
        struck_ = true;
        struck_awaiting_ = in_sink;
        strike_error_ = error;
    }
    changed_.notify_all();
}

void shipper::awaiting(int change)
{
    {
        std::lock_guard lock(mutex_);
        awaiting_ += change;
    }
    if (change > 0) changed_.notify_all();
}

bool shipper::finish(std::chrono::seconds timeout)
{
    allow(static_cast<int>(batches_.size()));
    const bool done = wait_settled(static_cast<int>(batches_.size()), timeout);
    stopping_ = true;
    changed_.notify_all();
    for (auto& t : threads_)
        if (t.joinable()) t.join();
    return done;
}

attempt_counts shipper::counts() const
{
    std::lock_guard lock(mutex_);
    return counts_;
}

int shipper::take_next()
{
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
        return stopping_ || next_ >= static_cast<int>(batches_.size()) ||
               next_ < allowed_;
    });
    if (stopping_ || next_ >= static_cast<int>(batches_.size())) return -1;
    return next_++;
}

void shipper::pause(std::chrono::milliseconds min,
                    std::chrono::milliseconds max, std::uint32_t& random)
{
    const auto span = static_cast<std::uint32_t>((max - min).count() + 1);
    const std::chrono::milliseconds wait =
        min + std::chrono::milliseconds(next_random(random) % span);
    // A wait the destructor can cut short.
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, wait, [&] { return stopping_.load(); });
}

void shipper::run(int thread_index)
{
    std::uint32_t random =
        0x9e3779b9u * static_cast<std::uint32_t>(thread_index + 1);
    connection conn;
    // A shipper with a backlog sends batches back to back, so a fault
    // finds the other threads on the wire.
    for (int index; (index = take_next()) >= 0;) {
        strike_if_due(index);
        deliver(index, conn, random);
    }
}

void shipper::note(ending e, int status)
{
    std::lock_guard lock(mutex_);
    ++counts_.attempts;
    switch (e) {
    case ending::answered:
        if (status == 200)
            ++counts_.ok;
        else if (status == 503)
            ++counts_.status_503;
        else if (status >= 500)
            ++counts_.status_5xx;
        else if (status >= 400)
            ++counts_.status_4xx;
        else
            ++counts_.other_errors;
        break;
    case ending::refused:
        ++counts_.refused;
        break;
    case ending::reset:
        ++counts_.reset;
        break;
    case ending::closed:
        ++counts_.closed;
        break;
    case ending::timeout:
        ++counts_.timeouts;
        break;
    case ending::other_error:
        ++counts_.other_errors;
        break;
    }
}

void shipper::settle(int index, batch_result result)
{
    {
        std::lock_guard lock(mutex_);
        if (!result.duplicate_of.empty()) ++counts_.duplicates;
        results_[static_cast<std::size_t>(index)] = std::move(result);
        ++settled_;
    }
    changed_.notify_all();
}

void shipper::deliver(int index, connection& conn, std::uint32_t& random)
{
    const batch& b = batches_[static_cast<std::size_t>(index)];
    batch_result r;
    const auto give_up = clock_type::now() + options_.give_up;
    bool lose = options_.lose_every > 0 && index % options_.lose_every == 0;
    std::string last_error;

    for (;;) {
        if (stopping_) {
            r.failure = "the test stopped the shipper; last: " + last_error;
            return settle(index, std::move(r));
        }
        if (clock_type::now() > give_up) {
            r.failure = "no 200 after " + std::to_string(r.attempts) +
                        " attempts; last: " + last_error;
            return settle(index, std::move(r));
        }
        ++r.attempts;

        if (lose) {
            lose = false;
            lose_answer(b, index / options_.lose_every % 3);
            {
                std::lock_guard lock(mutex_);
                ++counts_.attempts;
                ++counts_.lost;
            }
            last_error = "answer not read on purpose";
            pause(options_.backoff_min, options_.backoff_max, random);
            continue;
        }

        exchange x = attempt(b, conn);
        note(x.end, x.status);
        if (x.end == ending::answered && x.status == 200) {
            r.delivered = true;
            r.request_id = json_field(x.body, "request_id").value_or("");
            r.duplicate_of = json_field(x.body, "duplicate_of").value_or("");
            r.received = json_count(x.body, "received");
            r.loaded = json_count(x.body, "loaded");
            r.dead_lettered = json_count(x.body, "dead_lettered");
            return settle(index, std::move(r));
        }
        if (x.end == ending::answered && x.status < 500) {
            // A shipper drops a batch on 4xx: the guarantee is broken.
            r.failure = "status " + std::to_string(x.status) + ": " + x.body;
            return settle(index, std::move(r));
        }
        last_error = x.end == ending::answered
                         ? "status " + std::to_string(x.status) + ": " + x.body
                         : x.error;
        pause(options_.backoff_min, options_.backoff_max, random);
    }
}

} // namespace ks::test::fault
