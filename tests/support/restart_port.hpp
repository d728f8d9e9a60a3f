#pragma once

// A loopback port for a server that a test stops and starts again on the
// same port.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>

namespace ks::test {

/// A free port on loopback below the kernel's ephemeral range. A server
/// restarted on the same port must find it free: a port inside the range
/// could meanwhile become the source port of a client's connection (on
/// loopback even a connection to itself), which ports below it never do.
/// Throws std::runtime_error when none is free.
inline std::uint16_t restart_port()
{
    int low = 32768;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
    const int first = std::max(1024, low - 10000);
    const int span = std::max(1, low - first);
    unsigned seed = static_cast<unsigned>(::getpid()) * 2654435761u;
    for (int tries = 0; tries < 500; ++tries) {
        seed = seed * 1103515245u + 12345u;
        const int port = first + static_cast<int>(seed % span);
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw std::runtime_error("socket() failed");
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const bool free =
            ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        ::close(fd);
        if (free) return static_cast<std::uint16_t>(port);
    }
    throw std::runtime_error("no free loopback port below " +
                             std::to_string(low));
}

} // namespace ks::test
