#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ks::test {

/// Header fields in the order they were given or received.
using header_list = std::vector<std::pair<std::string, std::string>>;

/// A request as the test wants it sent.
struct http_request {
    std::string method = "POST";
    std::string target = "/ingest";
    header_list headers; // Host and Content-Length are added
    std::string body;
    /// Send the request line and headers only (Content-Length still says
    /// body.size()), to see what the server answers before any body.
    bool headers_only = false;
};

/// A response as read from the socket.
struct http_response {
    int status = 0;
    std::string reason;
    header_list headers;
    std::string body;

    /// The first header of that name, compared case-insensitively.
    std::optional<std::string> header(std::string_view name) const;
};

/// A tiny blocking HTTP/1.1 client over one TCP connection, reused for
/// every request (keep-alive). No TLS, no chunked responses (the sink
/// never sends them). Throws std::runtime_error on socket errors, on a
/// malformed response and after a 120 s read timeout.
class http_client {
public:
    /// Connects to host (an IP literal) and port.
    http_client(const std::string& host, std::uint16_t port);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    /// Sends `req` and reads the answer (skipping 100 Continue).
    http_response send(const http_request& req);

    /// Writes bytes as they are.
    void write_raw(std::string_view bytes);

    /// Reads one response; `head` means no body follows (answer to HEAD).
    /// Interim 1xx responses are skipped unless `interim` is true.
    http_response read_response(bool head = false, bool interim = false);

    /// Whether the server closed the connection: true when a read finds
    /// end of file (waits up to `timeout_ms` for it).
    bool peer_closed(int timeout_ms = 2000);

private:
    std::size_t fill(); // reads more into buffer_; 0 at end of file

    int fd_ = -1;
    std::string host_;
    std::string buffer_; // bytes read but not yet consumed
};

/// Convenience: one request on a fresh connection.
http_response http_send(const std::string& host, std::uint16_t port,
                        const http_request& req);

} // namespace ks::test
