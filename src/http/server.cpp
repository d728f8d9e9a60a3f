#include "http/server.hpp"

#include "http/errors.hpp"
#include "http/request_id.hpp"
#include "ingest/byte_budget.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <list>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

namespace ks::http {

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = beast::error_code;
using clock_type = std::chrono::steady_clock;

/// Bytes read at once while waiting for a request to begin.
constexpr std::size_t first_read_bytes = 16u << 10;
/// A body buffer up to this size is kept for the connection's next
/// request; larger ones are freed so idle connections stay small. The
/// memory budget does not cover kept buffers: this bounds what each open
/// connection holds beside it (Logstash's 125 events fit).
constexpr std::size_t kept_body_bytes = 256u << 10;
/// Bytes one read of a chunked body may add: what Beast reads at once.
constexpr std::size_t max_read_bytes = 64u << 10;
/// How often a request waiting for the memory budget looks again.
constexpr auto budget_poll_interval = std::chrono::milliseconds(5);
/// A body is let in only while this share of the memory budget stays free
/// for preparing rows, so bodies waiting for an I/O thread can never take
/// all the memory their own preparation needs; preparing then waits only
/// for commits, which always come.
constexpr std::size_t preparing_share_divisor = 4;
/// After refusing a body we still drain what the peer sends, for at most
/// this long and at most a whole body (max_body_bytes), so that closing
/// does not reset the connection before the peer has read our answer: a
/// client that sends all of a 10 MB body before reading (Python's
/// http.client) otherwise gets a broken pipe instead of the 503.
constexpr auto linger_time = std::chrono::seconds(2);
/// Pause before accepting again after the accept itself failed (for
/// example when out of file descriptors), so the loop does not spin.
constexpr auto accept_retry_delay = std::chrono::milliseconds(100);

/// How often the request ledger is trimmed to the dedup window.
constexpr auto ledger_purge_every = std::chrono::seconds(60);

/// The header a client may name its request with, so that a retry is
/// known even when its body differs (say, recompressed or re-batched
/// with the same events in the same order).
constexpr std::string_view idempotency_key_field = "Idempotency-Key";

/// The preparer of the I/O thread running the current handler; set once
/// per thread by server_core::run_thread.
thread_local ingest::preparer* current_preparer = nullptr;

/// Whether `ec` says the bytes received are not valid HTTP.
bool is_parse_error(const error_code& ec) noexcept
{
    return ec.category() ==
           bhttp::make_error_code(bhttp::error::bad_target).category();
}

std::string_view to_std(beast::string_view s) noexcept
{
    return {s.data(), s.size()};
}

/// The path of a request target without its query. Besides the usual
/// origin form ("/ingest?x"), takes the absolute form that proxies and
/// some clients send ("http://host:8080/ingest"), whose path is "/" when
/// the authority ends the target.
std::string_view request_path(std::string_view target) noexcept
{
    // The scheme is letters up to "://"; "/" or "?" ends the authority.
    if (!target.empty() && target.front() != '/') {
        std::size_t scheme_end = target.find("://");
        if (scheme_end != std::string_view::npos && scheme_end > 0) {
            std::size_t authority_end =
                target.find_first_of("/?", scheme_end + 3);
            if (authority_end == std::string_view::npos ||
                target[authority_end] == '?')
                return "/";
            target.remove_prefix(authority_end);
        }
    }
    return target.substr(0, target.find('?'));
}

/// A request body, and how many bytes of it may be stored: the session
/// raises `allowed` only once the memory budget covers it, so the body
/// never grows past what the budget holds for it.
struct held_body {
    ks::padded_buffer bytes;
    std::size_t allowed = 0;
};

/// A request body held in a ks::padded_buffer, so the bytes read from the
/// socket are copied once, into memory that the decoder and simdjson can
/// read directly, and the memory can be reused for the next request.
struct padded_body {
    using value_type = held_body;

    static std::uint64_t size(const value_type& body) noexcept
    {
        return body.bytes.size();
    }

    class reader {
    public:
        template <bool IsRequest, class Fields>
        reader(bhttp::header<IsRequest, Fields>&, value_type& body)
            : body_(body)
        {
        }

        void init(const boost::optional<std::uint64_t>&, error_code& ec)
        {
            // Memory comes later, once the budget has granted it.
            body_.bytes.clear();
            ec = {};
        }

        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, error_code& ec)
        {
            // Take what is allowed; the parser keeps the rest buffered
            // until the session allows more.
            ec = {};
            std::size_t n = std::min(net::buffer_size(buffers),
                                     body_.allowed - body_.bytes.size());
            if (n == 0) return 0;
            char* dst = body_.bytes.prepare(n);
            net::buffer_copy(net::buffer(dst, n), buffers);
            body_.bytes.commit(n);
            return n;
        }

        void finish(error_code& ec) { ec = {}; }

    private:
        value_type& body_;
    };
};

using request_parser = bhttp::request_parser<padded_body>;
using request_message = bhttp::request<padded_body>;

/// Which endpoint a request path names.
enum class route : std::uint8_t { ingest, health, unknown };

class session;

/// Everything the sessions share: configuration, the writer, the I/O
/// context, the listening socket and the list of live connections.
class server_core {
public:
    server_core(server_config config, pg::writer& writer, const logger& log);

    void start();
    void stop();
    std::uint16_t port() const noexcept { return bound_.port(); }
    std::string endpoint() const;

    const server_config& config() const noexcept { return config_; }
    pg::writer& writer() noexcept { return writer_; }
    ingest::byte_budget& budget() noexcept { return budget_; }
    const logger& log() const noexcept { return log_; }
    std::string next_request_id() { return ids_.next(); }
    bool stopping() const noexcept { return stopping_.load(); }

    route route_for(std::string_view target) const noexcept;

    using registration = std::list<std::weak_ptr<session>>::iterator;
    registration add_session(std::weak_ptr<session> s);
    void remove_session(registration r);

private:
    void bind();
    void do_accept();
    void on_accept(error_code ec, tcp::socket socket);
    void run_thread(ingest::preparer* prep);
    std::vector<std::shared_ptr<session>> live_sessions();
    void wait_for_threads();
    bool threads_done_within(std::chrono::seconds limit);
    void wait_until_threads_done();
    void schedule_purge();

    server_config config_;
    pg::writer& writer_;
    const logger& log_;
    request_ids ids_;
    ingest::byte_budget budget_;

    std::mutex sessions_mutex_;
    std::list<std::weak_ptr<session>> sessions_;

    std::vector<std::unique_ptr<ingest::preparer>> preparers_;

    // The context goes before the objects bound to it, so it is
    // destroyed after them.
    net::io_context ioc_;
    tcp::acceptor acceptor_;
    net::steady_timer retry_timer_;
    net::steady_timer purge_timer_;
    tcp::endpoint bound_;

    std::mutex lifecycle_mutex_; // start() and stop()
    bool started_ = false;
    bool stopped_ = false;
    std::atomic<bool> stopping_{false};
    std::vector<std::thread> threads_;
    std::mutex done_mutex_;
    std::condition_variable done_cv_;
    unsigned threads_done_ = 0;
};

/// One connection: reads requests one after the other (HTTP/1.1
/// keep-alive), and answers each before reading the next. All handlers
/// run on the connection's strand.
class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket&& socket, server_core& server)
        : stream_(std::move(socket)), server_(server), hold_(server.budget()),
          budget_timer_(stream_.get_executor())
    {
    }

    ~session()
    {
        if (registered_) server_.remove_session(registration_);
    }

    session(const session&) = delete;
    session& operator=(const session&) = delete;

    /// Registers with the server and waits for the first request.
    void start();

    /// Asks the connection to finish: an idle one closes now, a busy one
    /// after sending its response. Called from any thread.
    void shutdown();

    /// Closes the connection now unless its batch is in the writer's
    /// hands or its answer is being written: once the grace period of a
    /// stop is over. Called from any thread.
    void cut();

private:
    /// Where the connection is. Only `idle` may be closed at once; a
    /// connection `committing` (its batch handed to the writer, which
    /// may commit it) is never closed before its answer is sent.
    enum class phase : std::uint8_t {
        idle,
        reading,
        working,
        committing,
        writing
    };

    void do_wait_request();
    void on_first_bytes(error_code ec, std::size_t bytes);
    void do_read_header();
    void on_read_header(error_code ec, std::size_t bytes);
    void do_continue();
    void on_continue(error_code ec, std::size_t bytes);
    void do_read_body();
    void on_read_body(error_code ec, std::size_t bytes);
    void do_read_chunks();
    void on_read_chunks(error_code ec, std::size_t consumed);
    std::size_t chunked_ceiling() const;
    std::size_t preparing_room(std::size_t body_bytes) const;
    void on_read_failed(error_code ec);

    void reserve_body();
    void start_body();
    void wait_for_budget(void (session::*resume)());
    /// Answers without reading the body, which then closes the
    /// connection.
    void refuse_before_body(failure f, std::string_view message);
    /// Whether the request carries credentials the sink accepts (or none
    /// are required).
    bool authorized() const;
    std::string budget_full_message() const;
    void give_back_body();

    void handle_request();
    void do_ingest();
    void retry_ingest();
    void on_commit(pg::commit_outcome outcome);
    void do_ping();
    void on_ping(pg::commit_outcome outcome);

    /// 200 with the tally; `duplicate_of` names the request that stored
    /// these rows when this one is a repeat of it.
    void send_counts(std::string_view duplicate_of = {});
    void send_failure(failure f, std::string_view message,
                      std::string_view sqlstate = {},
                      std::string_view allow = {});
    void send(unsigned status, std::string body);
    void make_response(unsigned status, std::string body);
    void do_write();
    void on_write(error_code ec, std::size_t bytes);

    void do_linger();
    void on_linger(error_code ec, std::size_t bytes);
    void close();
    void on_shutdown();
    void on_cut();

    std::string content_encoding() const;
    void recycle_body();
    void log_request(unsigned status) const;
    double elapsed_ms() const;

    template <typename Handler>
    auto bind(Handler handler)
    {
        return beast::bind_front_handler(handler, shared_from_this());
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    server_core& server_;
    server_core::registration registration_{};
    bool registered_ = false;

    std::optional<request_parser> parser_;
    ks::padded_buffer spare_body_; // memory for the next request's body

    // What the request being answered holds of the memory budget, the
    // part of it that covers the body, and the waiting for more.
    ingest::budget_hold hold_;
    std::size_t body_held_ = 0;
    net::steady_timer budget_timer_;
    clock_type::time_point budget_deadline_{};
    std::size_t budget_needed_ = 0; // hold size a new attempt needs

    bhttp::response<bhttp::string_body> response_;
    bhttp::response<bhttp::empty_body> continue_;

    phase phase_ = phase::idle;
    bool closed_ = false;      // nothing more is read, prepared or sent
    bool stopping_ = false;    // the server is stopping
    bool must_close_ = false;  // close once the response is written
    bool body_unread_ = false; // the peer may still be sending a body

    // The request being answered.
    std::string request_id_;
    route route_ = route::unknown;
    bhttp::verb method_ = bhttp::verb::unknown;
    std::string path_;
    unsigned version_ = 11;
    bool keep_alive_ = false;
    clock_type::time_point started_{};
    std::size_t body_bytes_ = 0;
    ingest::counts tally_;
    bool lingering_ = false;
    std::size_t lingered_bytes_ = 0;
};

// ---------------------------------------------------------------------
// server_core

server_core::server_core(server_config config, pg::writer& writer,
                         const logger& log)
    : config_(std::move(config)), writer_(writer), log_(log),
      budget_(config_.memory_budget_bytes),
      ioc_(static_cast<int>(std::max(config_.io_threads, 1u))),
      acceptor_(net::make_strand(ioc_)), retry_timer_(acceptor_.get_executor()),
      purge_timer_(acceptor_.get_executor())
{
    if (config_.ingest_path.empty() || config_.ingest_path[0] != '/')
        throw std::invalid_argument("the ingest path must start with '/'");
    if (config_.health_path.empty() || config_.health_path[0] != '/')
        throw std::invalid_argument("the health path must start with '/'");
    if (config_.io_threads == 0) config_.io_threads = 1;
    bind();
}

void server_core::bind()
{
    // An IP literal is used as is; anything else is looked up.
    error_code ec;
    auto address = net::ip::make_address(config_.host, ec);
    tcp::endpoint want;
    if (!ec) {
        want = tcp::endpoint(address, config_.port);
    } else {
        tcp::resolver resolver(ioc_);
        auto found =
            resolver.resolve(config_.host, std::to_string(config_.port),
                             tcp::resolver::passive, ec);
        if (ec || found.empty()) {
            std::error_code code =
                ec ? std::error_code(ec)
                   : std::make_error_code(std::errc::invalid_argument);
            throw std::system_error(code,
                                    "cannot resolve '" + config_.host + "'");
        }
        want = found.begin()->endpoint();
    }

    // Open, bind and listen; each step names the address on failure.
    auto check = [&](error_code e, const char* what) {
        if (e)
            throw std::system_error(std::error_code(e),
                                    std::string(what) + " " +
                                        want.address().to_string() + ":" +
                                        std::to_string(want.port()));
    };
    acceptor_.open(want.protocol(), ec);
    check(ec, "cannot open a socket for");
    acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    check(ec, "cannot set SO_REUSEADDR on");
    acceptor_.bind(want, ec);
    check(ec, "cannot bind");
    acceptor_.listen(net::socket_base::max_listen_connections, ec);
    check(ec, "cannot listen on");
    bound_ = acceptor_.local_endpoint(ec);
    check(ec, "cannot read the bound address of");
}

std::string server_core::endpoint() const
{
    auto address = bound_.address();
    std::string host = address.to_string();
    if (address.is_v6()) host = "[" + host + "]";
    return host + ":" + std::to_string(bound_.port());
}

void server_core::start()
{
    std::lock_guard lock(lifecycle_mutex_);
    if (started_ || stopped_) return;
    started_ = true;

    // One preparer per I/O thread: it keeps parsers and scratch memory
    // from request to request.
    for (unsigned i = 0; i < config_.io_threads; ++i)
        preparers_.push_back(std::make_unique<ingest::preparer>(
            config_.mapping, config_.limits));

    net::dispatch(acceptor_.get_executor(), [this] {
        do_accept();
        if (config_.ledger) schedule_purge();
    });
    for (unsigned i = 0; i < config_.io_threads; ++i)
        threads_.emplace_back(
            [this, prep = preparers_[i].get()] { run_thread(prep); });

    log_.write(log_level::info, "listening", "endpoint", endpoint(),
               "ingest_path", config_.ingest_path, "health_path",
               config_.health_path, "credentials", config_.auth.size(),
               "io_threads", config_.io_threads,
               "max_body_bytes", config_.max_body_bytes);
}

void server_core::run_thread(ingest::preparer* prep)
{
    current_preparer = prep;

    // A handler that throws must not take the process down; the
    // connection it served is lost, the others go on.
    for (;;) {
        try {
            ioc_.run();
            break;
        } catch (const std::exception& e) {
            log_.write(log_level::error, "handler_failed", "what", e.what());
        }
    }

    std::lock_guard lock(done_mutex_);
    ++threads_done_;
    done_cv_.notify_all();
}

void server_core::do_accept()
{
    acceptor_.async_accept(net::make_strand(ioc_),
                           [this](error_code ec, tcp::socket socket) {
                               on_accept(ec, std::move(socket));
                           });
}

void server_core::on_accept(error_code ec, tcp::socket socket)
{
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (stopping()) return;
    if (ec) {
        log_.write(log_level::warn, "accept_failed", "error", ec.message());
        retry_timer_.expires_after(accept_retry_delay);
        retry_timer_.async_wait([this](error_code wait_ec) {
            if (!wait_ec && !stopping()) do_accept();
        });
        return;
    }

    std::make_shared<session>(std::move(socket), *this)->start();
    do_accept();
}

route server_core::route_for(std::string_view target) const noexcept
{
    std::string_view path = request_path(target);
    if (path == "/" || path == config_.ingest_path) return route::ingest;
    if (path == config_.health_path) return route::health;
    return route::unknown;
}

server_core::registration server_core::add_session(std::weak_ptr<session> s)
{
    std::lock_guard lock(sessions_mutex_);
    return sessions_.insert(sessions_.end(), std::move(s));
}

void server_core::remove_session(registration r)
{
    std::lock_guard lock(sessions_mutex_);
    sessions_.erase(r);
}

void server_core::schedule_purge()
{
    // On the acceptor's strand, like stop()'s cancel: a stop seen here
    // ends the cycle, so the timer never keeps the threads running.
    if (stopping_) return;
    purge_timer_.expires_after(ledger_purge_every);
    purge_timer_.async_wait([this](error_code ec) {
        if (ec || stopping_) return;

        // A batch with a ledger statement and no rows: the writer runs it
        // in a transaction of its own, like any other.
        auto purge = std::make_shared<pg::batch>();
        purge->events.finish();
        purge->dead_letters.finish();
        purge->ledger = config_.ledger->purge();
        writer_.submit(std::move(purge), [this](pg::commit_outcome o) {
            if (o.kind != pg::outcome_kind::committed &&
                o.kind != pg::outcome_kind::stopped)
                log_.write(log_level::warn, "ledger_purge_failed", "message",
                           o.message);
            net::post(acceptor_.get_executor(), [this] { schedule_purge(); });
        });
    });
}

void server_core::stop()
{
    std::lock_guard lock(lifecycle_mutex_);
    if (stopped_) return;
    stopped_ = true;
    stopping_.store(true);

    // Stop accepting, on the acceptor's strand.
    std::size_t open_connections = 0;
    {
        std::lock_guard sessions_lock(sessions_mutex_);
        open_connections = sessions_.size();
    }
    if (started_)
        log_.write(log_level::info, "stopping", "open_connections",
                   open_connections);
    net::post(acceptor_.get_executor(), [this] {
        error_code ignored;
        acceptor_.close(ignored);
        retry_timer_.cancel();
        purge_timer_.cancel();
    });

    // Ask every connection to finish; idle ones close at once.
    for (auto& s : live_sessions())
        s->shutdown();

    if (!started_) {
        error_code ignored;
        acceptor_.close(ignored);
        return;
    }
    wait_for_threads();
    log_.write(log_level::info, "stopped");
}

std::vector<std::shared_ptr<session>> server_core::live_sessions()
{
    std::vector<std::shared_ptr<session>> live;
    std::lock_guard lock(sessions_mutex_);
    for (auto& weak : sessions_)
        if (auto s = weak.lock()) live.push_back(std::move(s));
    return live;
}

void server_core::wait_for_threads()
{
    // The I/O threads return from run() once the last connection closed.
    const std::chrono::seconds grace(config_.shutdown_grace_s);
    if (!threads_done_within(grace)) {
        // Past the grace period, connections that have stored nothing
        // (reading a request, waiting for memory) are closed; a shipper
        // sends their batches again.
        std::size_t open_connections = 0;
        for (auto& s : live_sessions()) {
            s->cut();
            ++open_connections;
        }
        log_.write(log_level::warn, "stop_grace_expired", "grace_s",
                   config_.shutdown_grace_s, "open_connections",
                   open_connections);

        // A batch the writer holds must still get its real answer, or its
        // shipper would store it twice: queued ones are answered 503 now
        // (nothing of them is stored), running ones after their COMMIT.
        // Each answer keeps its connection open until it is sent.
        writer_.stop();
        wait_until_threads_done();
    }
    for (auto& t : threads_)
        t.join();
    threads_.clear();
}

bool server_core::threads_done_within(std::chrono::seconds limit)
{
    std::unique_lock lock(done_mutex_);
    return done_cv_.wait_for(lock, limit,
                             [&] { return threads_done_ == threads_.size(); });
}

void server_core::wait_until_threads_done()
{
    std::unique_lock lock(done_mutex_);
    done_cv_.wait(lock, [&] { return threads_done_ == threads_.size(); });
}

// ---------------------------------------------------------------------
// session: lifecycle

void session::start()
{
    registration_ = server_.add_session(weak_from_this());
    registered_ = true;

    // A stop that raced with this accept has not seen us: serve nothing.
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
        if (self->server_.stopping()) return self->close();
        self->do_wait_request();
    });
}

void session::shutdown()
{
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->on_shutdown(); });
}

void session::on_shutdown()
{
    stopping_ = true;
    if (phase_ == phase::idle) close();
}

void session::cut()
{
    net::post(stream_.get_executor(),
              [self = shared_from_this()] { self->on_cut(); });
}

void session::on_cut()
{
    // Whatever the writer holds may be committed: that connection stays
    // until its answer is out. The others have stored nothing.
    if (phase_ == phase::committing || phase_ == phase::writing) return;
    close();
}

void session::close()
{
    // A wait for the memory budget must not resume a closed connection.
    closed_ = true;
    budget_timer_.cancel();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
}

// ---------------------------------------------------------------------
// session: reading a request

void session::do_wait_request()
{
    // Bytes of a pipelined request may already be here.
    if (buffer_.size() != 0) return do_read_header();
    if (stopping_) return close();

    // Otherwise wait, idle, for the first bytes; only this wait may be
    // cut short by stop().
    phase_ = phase::idle;
    stream_.expires_after(
        std::chrono::seconds(server_.config().idle_timeout_s));
    stream_.async_read_some(buffer_.prepare(first_read_bytes),
                            bind(&session::on_first_bytes));
}

void session::on_first_bytes(error_code ec, std::size_t bytes)
{
    // The peer closing an idle connection is the normal end; anything
    // else (a reset, the idle timeout) is worth a debug line.
    if (ec) {
        if (ec != net::error::eof && ec != net::error::operation_aborted)
            server_.log().write(log_level::debug, "connection_closed", "reason",
                                ec.message());
        return close();
    }
    buffer_.commit(bytes);
    do_read_header();
}

void session::do_read_header()
{
    // A fresh parser per request; the body memory is handed on.
    phase_ = phase::reading;
    request_id_ = server_.next_request_id();
    route_ = route::unknown;
    method_ = bhttp::verb::unknown;
    path_.clear();
    version_ = 11;
    keep_alive_ = false;
    must_close_ = false;
    body_unread_ = false;
    body_bytes_ = 0;
    tally_ = {};
    started_ = clock_type::now();
    hold_.release();
    body_held_ = 0;
    budget_deadline_ = {};
    budget_needed_ = 0;

    parser_.emplace();
    parser_->get().body().bytes = std::move(spare_body_);
    parser_->get().body().allowed = 0;
    parser_->header_limit(
        static_cast<std::uint32_t>(server_.config().max_header_bytes));
    parser_->body_limit(server_.config().max_body_bytes);

    stream_.expires_after(
        std::chrono::seconds(server_.config().idle_timeout_s));
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             bind(&session::on_read_header));
}

void session::on_read_header(error_code ec, std::size_t)
{
    // What the header says, also for answering a refused request.
    const request_message& req = parser_->get();
    method_ = req.method();
    version_ = req.version() == 10 ? 10 : 11;
    std::string_view target = to_std(req.target());
    path_ = std::string(request_path(target));
    if (ec) return on_read_failed(ec);

    keep_alive_ = req.keep_alive();
    route_ = server_.route_for(target);
    started_ = clock_type::now();
    if (!authorized())
        return refuse_before_body(failure::unauthorized,
                                  "this sink requires a bearer token or "
                                  "basic credentials");
    reserve_body();
}

void session::reserve_body()
{
    // No body, or a chunked one, which is held as it grows.
    if (parser_->is_done()) return handle_request();
    auto length = parser_->content_length();
    if (!length) return start_body();

    // A body of known length is held whole before any of it is read;
    // the parser has already held it against max_body_bytes.
    const std::size_t need =
        static_cast<std::size_t>(*length) + ks::json_padding_bytes;
    if (need > server_.budget().limit())
        return refuse_before_body(
            failure::larger_than_budget,
            "the body of " + std::to_string(*length) +
                " bytes is larger than the sink's whole memory budget of " +
                std::to_string(server_.budget().limit()) + " bytes");
    if (!hold_.grow_to(need, preparing_room(need)))
        return wait_for_budget(&session::reserve_body);
    body_held_ = need;

    held_body& body = parser_->get().body();
    body.bytes.reserve(static_cast<std::size_t>(*length));
    body.allowed = static_cast<std::size_t>(*length);
    start_body();
}

void session::start_body()
{
    // A client that waits for our consent before sending its body.
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue"))
        return do_continue();
    do_read_body();
}

void session::wait_for_budget(void (session::*resume)())
{
    // TODO: waiting requests are not served in order; a large one may
    // keep losing to smaller ones until its wait runs out.

    // A request waits budget_wait_ms in all, from its first refusal, so a
    // shipper hears 503 in time to retry elsewhere or later.
    auto now = clock_type::now();
    if (budget_deadline_ == clock_type::time_point{}) {
        budget_deadline_ =
            now + std::chrono::milliseconds(server_.config().budget_wait_ms);
        server_.log().write(
            log_level::debug, "budget_wait", "request_id", request_id_, "for",
            parser_->is_done() ? "rows" : "body", "held", hold_.bytes(),
            "available", server_.budget().available());
    }
    if (now >= budget_deadline_)
        return refuse_before_body(failure::memory_budget_full,
                                 budget_full_message());

    budget_timer_.expires_after(budget_poll_interval);
    budget_timer_.async_wait([self = shared_from_this(), resume](error_code) {
        if (self->closed_) return;
        (self.get()->*resume)();
    });
}

bool session::authorized() const
{
    const credentials& auth = server_.config().auth;
    if (auth.empty()) return true;
    auto field = parser_->get().find(bhttp::field::authorization);
    return field != parser_->get().end() &&
           auth.accepts(to_std(field->value()));
}

void session::refuse_before_body(failure f, std::string_view message)
{
    // A body not read yet is left unread, so the connection cannot carry
    // another request.
    if (!parser_->is_done()) {
        must_close_ = true;
        body_unread_ = true;
    }
    send_failure(f, message);
}

std::string session::budget_full_message() const
{
    return "the sink is at its memory budget of " +
           std::to_string(server_.budget().limit()) + " bytes; retry later";
}

void session::do_continue()
{
    continue_ = {};
    continue_.version(11);
    continue_.result(bhttp::status::continue_);
    bhttp::async_write(stream_, continue_, bind(&session::on_continue));
}

void session::on_continue(error_code ec, std::size_t)
{
    if (ec) return close();
    do_read_body();
}

void session::do_read_body()
{
    if (!parser_->content_length()) return do_read_chunks();

    // The idle timeout bounds silence, not the whole body: it starts over
    // with each read, so a slow link that keeps sending gets through,
    // and a peer that stops sending is cut off.
    stream_.expires_after(
        std::chrono::seconds(server_.config().idle_timeout_s));
    bhttp::async_read_some(stream_, buffer_, *parser_,
                           bind(&session::on_read_body));
}

void session::on_read_body(error_code ec, std::size_t)
{
    if (ec) return on_read_failed(ec);
    if (!parser_->is_done()) return do_read_body();
    handle_request();
}

std::size_t session::preparing_room(std::size_t body_bytes) const
{
    // A body larger than the rest of the budget goes in alone.
    const std::size_t limit = server_.budget().limit();
    return std::min(limit / preparing_share_divisor,
                    limit - std::min(limit, body_bytes));
}

std::size_t session::chunked_ceiling() const
{
    // The parser refuses a body over max_body_bytes, and no body may hold
    // more than the whole budget.
    const std::size_t limit = server_.budget().limit();
    const std::size_t room =
        limit > ks::json_padding_bytes ? limit - ks::json_padding_bytes : 0;
    return std::min(server_.config().max_body_bytes, room);
}

void session::do_read_chunks()
{
    // One read may add what is buffered plus one more read to the body;
    // that much is held before reading, growing by half at least so that
    // a long body is not held in small steps. The body reader stores no
    // more than is held; the parser keeps the rest buffered.
    held_body& body = parser_->get().body();
    const std::size_t ceiling = chunked_ceiling();
    const std::size_t want =
        std::min(body.bytes.size() + buffer_.size() + max_read_bytes, ceiling);
    if (want > body.allowed) {
        const std::size_t grown =
            std::min(std::max(want, body.allowed + body.allowed / 2), ceiling);
        const std::size_t need = grown + ks::json_padding_bytes;
        if (!hold_.grow_to(need, preparing_room(need)))
            return wait_for_budget(&session::do_read_chunks);
        body_held_ = need;
        body.bytes.reserve(grown);
        body.allowed = grown;
    }

    stream_.expires_after(
        std::chrono::seconds(server_.config().idle_timeout_s));
    bhttp::async_read_some(stream_, buffer_, *parser_,
                           bind(&session::on_read_chunks));
}

void session::on_read_chunks(error_code ec, std::size_t consumed)
{
    if (ec) return on_read_failed(ec);
    if (parser_->is_done()) return handle_request();

    // Nothing taken with the body at the ceiling: it holds body bytes
    // that would not fit in the whole budget.
    const held_body& body = parser_->get().body();
    if (consumed == 0 && body.bytes.size() == body.allowed &&
        body.allowed == chunked_ceiling())
        return refuse_before_body(
            failure::larger_than_budget,
            "the chunked body is larger than the sink's whole memory "
            "budget of " +
                std::to_string(server_.budget().limit()) + " bytes");
    do_read_chunks();
}

void session::on_read_failed(error_code ec)
{
    // Refusals the peer should hear about; the rest of what it sends
    // cannot be trusted, so the connection closes after the answer.
    must_close_ = true;
    body_unread_ = true;
    const auto& limits = server_.config();
    if (ec == bhttp::error::body_limit)
        return send_failure(failure::body_too_large,
                            "the request body is larger than the limit of " +
                                std::to_string(limits.max_body_bytes) +
                                " bytes");
    if (ec == bhttp::error::header_limit)
        return send_failure(
            failure::header_too_large,
            "the request line and headers are larger than the limit of " +
                std::to_string(limits.max_header_bytes) + " bytes");

    // The peer went away, stalled past the timeout, or we are closing.
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == bhttp::error::partial_message || !is_parse_error(ec)) {
        server_.log().write(log_level::debug, "connection_closed", "reason",
                            ec.message(), "request_id", request_id_);
        return close();
    }

    send_failure(failure::bad_request,
                 "the request is not valid HTTP/1.1: " + ec.message());
}

// ---------------------------------------------------------------------
// session: answering

void session::handle_request()
{
    phase_ = phase::working;
    const bool is_ingest = route_ == route::ingest;
    const bool is_health = route_ == route::health;

    if (route_ == route::unknown)
        return send_failure(failure::not_found,
                            "nothing is served at " + path_ + "; post to " +
                                server_.config().ingest_path + " or /");
    if (is_ingest && method_ != bhttp::verb::post &&
        method_ != bhttp::verb::put)
        return send_failure(failure::method_not_allowed,
                            "batches are sent with POST or PUT", {},
                            "POST, PUT");
    if (is_health && method_ != bhttp::verb::get &&
        method_ != bhttp::verb::head)
        return send_failure(failure::method_not_allowed,
                            "the health check answers HEAD and GET", {},
                            "GET, HEAD");
    if (is_health) return do_ping();
    do_ingest();
}

std::string session::content_encoding() const
{
    // Several Content-Encoding fields form one list, in order.
    std::string codings;
    auto range = parser_->get().equal_range(bhttp::field::content_encoding);
    for (auto it = range.first; it != range.second; ++it) {
        if (!codings.empty()) codings += ", ";
        codings += to_std(it->value());
    }
    return codings;
}

void session::do_ingest()
{
    // Decode, frame, parse, map and encode here, on this I/O thread; the
    // preparer takes the memory it needs from this request's hold.
    auto rows = std::make_shared<pg::batch>();
    ingest::prepare_result prepared;
    const auto& ledger = server_.config().ledger;
    digest body_key{};
    try {
        const ks::padded_buffer& body = parser_->get().body().bytes;
        body_bytes_ = body.size();
        prepared = current_preparer->prepare(
            content_encoding(), std::span<const char>(body.data(), body.size()),
            ingest::origin{"request", request_id_}, ingest::pg_now(), *rows,
            tally_, &hold_, ledger ? &body_key : nullptr);
    } catch (const std::exception& e) {
        give_back_body();
        return send_failure(failure::internal_error,
                            std::string("preparing the batch failed: ") +
                                e.what());
    }

    // Short of memory now: keep the body and try again once the budget
    // has the room that was missing.
    if (prepared.status == ingest::prepare_status::over_budget) {
        budget_needed_ = prepared.needed_bytes;
        return wait_for_budget(&session::retry_ingest);
    }
    give_back_body();

    if (prepared.status == ingest::prepare_status::unsupported_encoding)
        return send_failure(failure::unsupported_encoding, prepared.message);
    if (prepared.status == ingest::prepare_status::too_large)
        return send_failure(failure::decoded_too_large, prepared.message);
    if (prepared.status == ingest::prepare_status::larger_than_budget)
        return send_failure(failure::larger_than_budget, prepared.message);
    if (prepared.undecodable && server_.config().reject_undecodable)
        return send_failure(failure::undecodable_body, prepared.message);

    // The request's identity goes in with its rows; a client's own key
    // wins over the body's digest.
    if (ledger) {
        const auto key = parser_->get().find(idempotency_key_field);
        ledger->attach(*rows,
                       key != parser_->get().end() && !key->value().empty()
                           ? ingest::key_from_header(to_std(key->value()))
                           : ingest::request_key{body_key, "body"},
                       request_id_, tally_);
    }

    // The writer answers on one of its threads; the answer is carried
    // back to this connection's strand. The tracked executor keeps the
    // I/O context running while the batch waits for its COMMIT, and no
    // timeout or stop closes the connection before that answer.
    phase_ = phase::committing;
    server_.log().write(log_level::debug, "batch_submitted", "request_id",
                        request_id_, "events", rows->events.rows(),
                        "dead_letters", rows->dead_letters.rows());
    stream_.expires_never();
    auto home = net::prefer(stream_.get_executor(),
                            net::execution::outstanding_work.tracked);
    server_.writer().submit(std::move(rows), [self = shared_from_this(), home](
                                                 pg::commit_outcome outcome) {
        net::post(home, [self, outcome = std::move(outcome)]() mutable {
            self->on_commit(std::move(outcome));
        });
    });
}

void session::retry_ingest()
{
    // Preparing again only pays once the room it lacked is there.
    if (server_.budget().available() + hold_.bytes() < budget_needed_)
        return wait_for_budget(&session::retry_ingest);
    do_ingest();
}

void session::give_back_body()
{
    // The rows no longer need the body: it is freed (or kept, small, for
    // the next request) and its part of the hold given back.
    recycle_body();
    hold_.shrink_to(hold_.bytes() - std::min(hold_.bytes(), body_held_));
    body_held_ = 0;
}

void session::on_commit(pg::commit_outcome outcome)
{
    switch (outcome.kind) {
    case pg::outcome_kind::committed: {
        // Rows PostgreSQL refused after all went to the dead letters in
        // the same transaction; count them there.
        const std::uint64_t refused = std::min(outcome.refused, tally_.loaded);
        tally_.loaded -= refused;
        tally_.dead_lettered += refused;
        return send_counts();
    }
    case pg::outcome_kind::duplicate: {
        // Stored by an earlier delivery: answered as that one was.
        auto first = ingest::request_ledger::recorded(outcome.ledger_row);
        if (!first)
            return send_failure(failure::internal_error,
                                "the request was stored before, but the "
                                "ledger holds no counts for it");
        server_.log().write(log_level::info, "duplicate_request",
                            "request_id", request_id_, "first_request_id",
                            first->request_id);
        tally_ = first->tally;
        return send_counts(first->request_id);
    }
    case pg::outcome_kind::unavailable:
        return send_failure(failure::database_unavailable, outcome.message);
    case pg::outcome_kind::stopped:
        return send_failure(failure::shutting_down, outcome.message);
    case pg::outcome_kind::failed:
        return send_failure(failure::database_refused, outcome.message,
                            outcome.sqlstate);
    }
    send_failure(failure::internal_error, "the writer gave no outcome");
}

void session::do_ping()
{
    stream_.expires_never();
    auto home = net::prefer(stream_.get_executor(),
                            net::execution::outstanding_work.tracked);
    server_.writer().ping(
        [self = shared_from_this(), home](pg::commit_outcome outcome) {
            net::post(home, [self, outcome = std::move(outcome)]() mutable {
                self->on_ping(std::move(outcome));
            });
        });
}

void session::on_ping(pg::commit_outcome outcome)
{
    if (outcome.kind == pg::outcome_kind::committed)
        return send(200, "{\"status\":\"ok\"}");
    if (outcome.kind == pg::outcome_kind::stopped)
        return send_failure(failure::shutting_down, outcome.message);
    send_failure(failure::database_unavailable, outcome.message);
}

void session::send_counts(std::string_view duplicate_of)
{
    std::string body;
    body.reserve(160);
    body += "{\"request_id\":";
    append_json_string(body, request_id_);
    body += ",\"received\":" + std::to_string(tally_.received);
    body += ",\"loaded\":" + std::to_string(tally_.loaded);
    body += ",\"dead_lettered\":" + std::to_string(tally_.dead_lettered);
    body += ",\"blank_lines\":" + std::to_string(tally_.blank_lines);
    if (tally_.text_lines != 0)
        body += ",\"text_lines\":" + std::to_string(tally_.text_lines);
    if (!duplicate_of.empty()) {
        body += ",\"duplicate_of\":";
        append_json_string(body, duplicate_of);
    }
    body += '}';
    send(200, std::move(body));
}

void session::send_failure(failure f, std::string_view message,
                           std::string_view sqlstate, std::string_view allow)
{
    error_reply reply = make_error_reply(f, message, sqlstate);
    server_.log().write(
        log_level::warn, "request_failed", "status", reply.status, "reason",
        failure_code(f), "request_id", request_id_, "method",
        to_std(bhttp::to_string(method_)), "path", path_, "message", message);

    make_response(reply.status, std::move(reply.body));
    if (reply.retry_after_s != 0)
        response_.set(bhttp::field::retry_after,
                      std::to_string(reply.retry_after_s));
    if (!allow.empty()) response_.set(bhttp::field::allow, allow);
    if (f == failure::unauthorized) {
        response_.insert(bhttp::field::www_authenticate,
                         "Basic realm=\"koreshield-sink\"");
        response_.insert(bhttp::field::www_authenticate,
                         "Bearer realm=\"koreshield-sink\"");
    }
    log_request(reply.status);
    do_write();
}

void session::send(unsigned status, std::string body)
{
    make_response(status, std::move(body));
    log_request(status);
    do_write();
}

void session::make_response(unsigned status, std::string body)
{
    // Headers every answer carries.
    response_ = {};
    response_.version(version_);
    response_.result(status);
    response_.set(bhttp::field::content_type, "application/json");
    response_.set("X-Request-Id", request_id_);
    response_.keep_alive(keep_alive_ && !must_close_ && !stopping_);

    // HEAD gets the length the body would have, but no body.
    if (method_ == bhttp::verb::head) {
        response_.content_length(body.size());
    } else {
        response_.body() = std::move(body);
        response_.prepare_payload();
    }
}

void session::log_request(unsigned status) const
{
    const logger& log = server_.log();
    if (!log.enabled(log_level::debug)) return;
    log.write(log_level::debug, "request", "method",
              to_std(bhttp::to_string(method_)), "path", path_, "status",
              status, "request_id", request_id_, "bytes", body_bytes_,
              "received", tally_.received, "loaded", tally_.loaded,
              "dead_lettered", tally_.dead_lettered, "blank_lines",
              tally_.blank_lines, "ms", elapsed_ms());
}

double session::elapsed_ms() const
{
    std::chrono::duration<double, std::milli> d = clock_type::now() - started_;
    return d.count();
}

void session::do_write()
{
    phase_ = phase::writing;
    stream_.expires_after(
        std::chrono::seconds(server_.config().idle_timeout_s));
    bhttp::async_write(stream_, response_, bind(&session::on_write));
}

void session::on_write(error_code ec, std::size_t)
{
    // The answer is out: what the request held is freed, and given back.
    parser_.reset();
    hold_.release();
    body_held_ = 0;

    if (ec) return close();
    if (!response_.keep_alive() || stopping_) {
        if (body_unread_) return do_linger();
        return close();
    }
    do_wait_request();
}

void session::recycle_body()
{
    // Keep modest buffers for the next request on this connection; what
    // was allowed bounds what a chunked body reserved.
    held_body& held = parser_->get().body();
    ks::padded_buffer& body = held.bytes;
    if (std::max(body.size(), held.allowed) <= kept_body_bytes) {
        spare_body_ = std::move(body);
        spare_body_.clear();
    } else {
        body = ks::padded_buffer{};
    }
}

// ---------------------------------------------------------------------
// session: closing after a refused body

void session::do_linger()
{
    // Say we are done, then drain for a while so that the peer reads our
    // answer rather than a connection reset.
    if (!lingering_) {
        lingering_ = true;
        error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(linger_time);
    }
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(first_read_bytes),
                            bind(&session::on_linger));
}

void session::on_linger(error_code ec, std::size_t bytes)
{
    lingered_bytes_ += bytes;
    if (ec || lingered_bytes_ > server_.config().max_body_bytes)
        return stream_.close();
    do_linger();
}

} // namespace

// ---------------------------------------------------------------------
// server

struct server::impl : server_core {
    using server_core::server_core;
};

server::server(server_config config, pg::writer& writer, const logger& log)
    : impl_(std::make_unique<impl>(std::move(config), writer, log))
{
}

server::~server()
{
    impl_->stop();
}

void server::start()
{
    impl_->start();
}

std::uint16_t server::port() const noexcept
{
    return impl_->port();
}

std::string server::endpoint() const
{
    return impl_->endpoint();
}

void server::stop()
{
    impl_->stop();
}

} // namespace ks::http
