#include "ingest/byte_budget.hpp"

namespace ks::ingest {

byte_budget::byte_budget(std::size_t limit_bytes) noexcept : limit_(limit_bytes)
{
}

bool byte_budget::try_take(std::size_t bytes, std::size_t keep_free) noexcept
{
    // Compare and swap, so that two takers never both see the same room.
    if (keep_free > limit_) return false;
    std::size_t used = used_.load(std::memory_order_relaxed);
    do {
        if (used > limit_ - keep_free) return false;
        if (bytes > limit_ - keep_free - used) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes,
                                          std::memory_order_acq_rel,
                                          std::memory_order_relaxed));
    return true;
}

void byte_budget::give_back(std::size_t bytes) noexcept
{
    used_.fetch_sub(bytes, std::memory_order_acq_rel);
}

std::size_t byte_budget::used() const noexcept
{
    return used_.load(std::memory_order_acquire);
}

std::size_t byte_budget::available() const noexcept
{
    std::size_t used = used_.load(std::memory_order_acquire);
    return used < limit_ ? limit_ - used : 0;
}

bool budget_hold::grow_to(std::size_t total, std::size_t keep_free) noexcept
{
    if (total <= held_) return true;
    if (!budget_->try_take(total - held_, keep_free)) return false;
    held_ = total;
    return true;
}

void budget_hold::shrink_to(std::size_t total) noexcept
{
    if (total >= held_) return;
    budget_->give_back(held_ - total);
    held_ = total;
}

} // namespace ks::ingest
