#include "http/request_id.hpp"

#include <random>

namespace ks::http {

namespace {

/// The splitmix64 finalizer: a bijection on 64-bit values, so distinct
/// counters give distinct ids that do not look sequential.
std::uint64_t mix(std::uint64_t x) noexcept
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t random_seed()
{
    std::random_device device;
    std::uint64_t high = device();
    return (high << 32) ^ device();
}

} // namespace

request_ids::request_ids() : next_(random_seed()) {}

std::string request_ids::next()
{
    static constexpr char hex[] = "0123456789abcdef";
    std::uint64_t value = mix(next_.fetch_add(1, std::memory_order_relaxed));
    std::string id(16, '0');
    for (int i = 15; i >= 0; --i) {
        id[static_cast<std::size_t>(i)] = hex[value & 0xf];
        value >>= 4;
    }
    return id;
}

} // namespace ks::http
