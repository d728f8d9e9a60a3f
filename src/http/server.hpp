#pragma once

#include "http/auth.hpp"
#include "http/log.hpp"
#include "ingest/pipeline.hpp"
#include "ingest/request_ledger.hpp"
#include "map/mapper.hpp"
#include "pg/writer.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace ks::http {

/// Where the server listens, which paths it serves, and its limits.
struct server_config {
    /// IP literal (IPv6 without brackets) or a name resolved at start-up.
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;           // 0: the kernel picks a free port
    std::string ingest_path = "/ingest"; // "/" is always an ingest path
    std::string health_path = "/health";
    std::size_t max_body_bytes = 32u << 20;   // as sent, before decoding
    std::size_t max_header_bytes = 64u << 10; // request line and headers
    unsigned io_threads = 1;
    /// Longest silence of a peer: waiting for a request, between two reads
    /// of its body (not for the whole body), or while an answer is sent.
    /// The request line and headers must arrive within it as a whole.
    unsigned idle_timeout_s = 60;
    /// How long stop() lets requests still being read or prepared finish;
    /// it never cuts a request whose batch the writer holds.
    unsigned shutdown_grace_s = 30;
    ingest::limits limits;        // decoded size, dead-letter size
    map::mapping_options mapping; // per-event limits of the mapping

    /// Bytes all requests may hold at once: bodies, decoded text and
    /// encoded rows, from the request head until the response is sent.
    std::size_t memory_budget_bytes = 176u << 20;
    /// How long a request waits for the budget before it is answered
    /// 503; 0 answers at once.
    unsigned budget_wait_ms = 1000;

    /// The ledger of committed requests: a request it knows (the same
    /// body and codings, or the same Idempotency-Key header) is answered 200
    /// with the counts recorded the first time and stores nothing. None:
    /// every request is stored, retries included.
    /// Its entries past their window are deleted, a slice each minute.
    std::optional<ingest::request_ledger> ledger;

    /// A body that cannot be decompressed is answered 422 instead of
    /// being stored whole as a dead letter and answered 200.
    bool reject_undecodable = false;

    /// When not empty, every request (health checks too) must carry one
    /// of these in its Authorization header, or is answered 401 before
    /// its body is read.
    credentials auth;
};

/// The HTTP/1.1 front door of the sink.
///
/// Endpoints: POST or PUT on `/` and on the ingest path (query strings
/// are ignored; targets in absolute form, "http://host/ingest", are
/// matched on their path) load a batch and answer 200 with counts only
/// after the rows are committed; HEAD or GET on the health path answer
/// 200 when the writer's health check passes (PostgreSQL answers and
/// both tables take rows) and 503 with the reason otherwise. Every
/// response carries an X-Request-Id header; error bodies are JSON (see
/// errors.hpp).
///
/// Memory: a request takes its Content-Length from a process-wide byte
/// budget once its head is read (a chunked body as it grows), then the
/// memory its decoded text and its rows need, and gives it all back when
/// its response is sent. While the budget cannot cover it, it waits up
/// to budget_wait_ms and is then answered 503; a request that needs more
/// than the whole budget is answered 413. A body is let in only while a
/// quarter of the budget stays free for preparing rows.
///
/// Threads: start() runs an I/O context on `io_threads` threads; each
/// thread owns one ingest::preparer, and a request's decoding, parsing
/// and encoding run on the thread that read it. Writer completions are
/// handed back to the connection's own strand.
///
/// Lifetime: `writer` and `log` must outlive the server. Stop the writer
/// only after stop() returned, so that requests in flight get answers,
/// and before the server is destroyed, so that no writer completion
/// arrives after it (stop() itself stops the writer when its grace
/// period runs out; stopping it again is harmless).
class server {
public:
    /// Binds and listens at once, so the port is known before start().
    /// Throws std::system_error when the address cannot be resolved or
    /// bound, std::invalid_argument for a bad configuration.
    server(server_config config, pg::writer& writer, const logger& log);
    /// Calls stop().
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Starts the I/O threads and accepting connections.
    void start();

    /// The bound port (the real one when 0 was asked for).
    std::uint16_t port() const noexcept;

    /// "127.0.0.1:8080" or "[::1]:8080": the bound address and port.
    std::string endpoint() const;

    /// Stops accepting, closes idle connections, lets requests in flight
    /// finish and send their responses (with Connection: close), then
    /// joins the I/O threads.
    ///
    /// After shutdown_grace_s, connections that have stored nothing yet
    /// (reading a request, waiting for memory, a health check) are closed
    /// without an answer, and the writer is stopped: batches it still
    /// queues are answered 503 (shutting_down), batches it is writing are
    /// answered once their COMMIT succeeded or failed. A connection whose
    /// batch may be committed is never closed before its answer is sent,
    /// so stop() waits for the writer as long as that takes.
    ///
    /// Blocks; idempotent; call it from any thread but an I/O thread.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace ks::http
