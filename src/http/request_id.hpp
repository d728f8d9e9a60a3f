#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace ks::http {

/// Makes request ids: 16 lower-case hex digits. Ids never repeat within a
/// process (a counter goes through a bijective mix) and differ between
/// processes (the counter starts from a random seed). Thread-safe.
class request_ids {
public:
    /// Seeds from std::random_device.
    request_ids();
    explicit request_ids(std::uint64_t seed) noexcept : next_(seed) {}

    /// The next id.
    std::string next();

private:
    std::atomic<std::uint64_t> next_;
};

} // namespace ks::http
