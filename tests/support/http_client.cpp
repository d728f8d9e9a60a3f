#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace ks::test {

namespace {

[[noreturn]] void fail(const std::string& what)
{
    throw std::runtime_error("http_client: " + what + ": " +
                             std::strerror(errno));
}

bool iequal(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? char(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? char(b[i] + 32) : b[i];
        if (x != y) return false;
    }
    return true;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

} // namespace

std::optional<std::string> http_response::header(std::string_view name) const
{
    for (const auto& [key, value] : headers)
        if (iequal(key, name)) return value;
    return std::nullopt;
}

http_client::http_client(const std::string& host, std::uint16_t port)
    : host_(host)
{
    // IPv4 or IPv6 literal.
    sockaddr_storage addr{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof *v6;
    } else {
        throw std::runtime_error("http_client: not an IP address: " + host);
    }

    fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) fail("socket");
    timeval timeout{120, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        int saved = errno;
        ::close(fd_);
        fd_ = -1;
        errno = saved;
        fail("connect to " + host + ":" + std::to_string(port));
    }
}

http_client::~http_client()
{
    if (fd_ >= 0) ::close(fd_);
}

void http_client::write_raw(std::string_view bytes)
{
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) fail("send");
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

http_response http_client::send(const http_request& req)
{
    std::string head = req.method + " " + req.target + " HTTP/1.1\r\n";
    head += "Host: " + host_ + "\r\n";
    for (const auto& [name, value] : req.headers)
        head += name + ": " + value + "\r\n";
    bool has_body =
        !req.body.empty() || req.method == "POST" || req.method == "PUT";
    if (has_body)
        head += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
    head += "\r\n";

    write_raw(head);
    if (!req.headers_only) write_raw(req.body);
    return read_response(req.method == "HEAD");
}

std::size_t http_client::fill()
{
    char chunk[65536];
    for (;;) {
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("recv");
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return static_cast<std::size_t>(n);
    }
}

http_response http_client::read_response(bool head, bool interim)
{
    for (;;) {
        // The status line and headers end at the first empty line.
        std::size_t end;
        while ((end = buffer_.find("\r\n\r\n")) == std::string::npos)
            if (fill() == 0)
                throw std::runtime_error(
                    "http_client: connection closed before a response");
        std::string_view text(buffer_.data(), end);

        http_response res;
        std::size_t line_end = text.find("\r\n");
        std::string_view status_line = text.substr(0, line_end);
        if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/")
            throw std::runtime_error("http_client: bad status line: " +
                                     std::string(status_line));
        res.status = std::stoi(std::string(status_line.substr(9, 3)));
        res.reason = std::string(
            status_line.substr(std::min<std::size_t>(13, status_line.size())));
        while (line_end != std::string_view::npos) {
            std::size_t start = line_end + 2;
            line_end = text.find("\r\n", start);
            std::string_view line = text.substr(start, line_end - start);
            std::size_t colon = line.find(':');
            if (colon == std::string_view::npos)
                throw std::runtime_error("http_client: bad header: " +
                                         std::string(line));
            res.headers.emplace_back(std::string(trim(line.substr(0, colon))),
                                     std::string(trim(line.substr(colon + 1))));
        }
        buffer_.erase(0, end + 4);

        // 100 Continue is followed by the real answer.
        if (res.status >= 100 && res.status < 200) {
            if (interim) return res;
            continue;
        }

        // The body: Content-Length bytes, or up to end of file.
        if (head || res.status == 204 || res.status == 304) return res;
        if (auto length = res.header("Content-Length")) {
            std::size_t want = std::stoull(*length);
            while (buffer_.size() < want)
                if (fill() == 0)
                    throw std::runtime_error(
                        "http_client: connection closed inside a body");
            res.body = buffer_.substr(0, want);
            buffer_.erase(0, want);
        } else {
            while (fill() != 0) {
            }
            res.body = std::move(buffer_);
            buffer_.clear();
        }
        return res;
    }
}

bool http_client::peer_closed(int timeout_ms)
{
    if (!buffer_.empty()) return false;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, timeout_ms);
    if (ready <= 0) return false;
    char byte;
    ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

http_response http_send(const std::string& host, std::uint16_t port,
                        const http_request& req)
{
    http_client client(host, port);
    return client.send(req);
}

} // namespace ks::test
