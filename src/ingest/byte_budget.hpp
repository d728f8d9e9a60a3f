#pragma once

#include <atomic>
#include <cstddef>

namespace ks::ingest {

/// A process-wide count of bytes that requests may hold at once: bodies
/// as received, decoded text and encoded rows. It allocates nothing
/// itself; callers ask before they allocate and give back after they
/// free, so memory stays within the limit whatever the load.
///
/// Threads: every member may be called from any thread.
class byte_budget {
public:
    /// A budget of `limit_bytes`.
    explicit byte_budget(std::size_t limit_bytes) noexcept;
    byte_budget(const byte_budget&) = delete;
    byte_budget& operator=(const byte_budget&) = delete;

    /// Takes `bytes` if they fit beside what is taken with `keep_free`
    /// bytes to spare; else takes nothing and returns false.
    [[nodiscard]] bool try_take(std::size_t bytes,
                                std::size_t keep_free = 0) noexcept;

    /// Gives back `bytes` taken before.
    void give_back(std::size_t bytes) noexcept;

    /// The most that may be taken at once.
    std::size_t limit() const noexcept { return limit_; }

    /// Bytes taken now.
    std::size_t used() const noexcept;

    /// Bytes that could be taken now.
    std::size_t available() const noexcept;

private:
    const std::size_t limit_;
    std::atomic<std::size_t> used_{0};
};

/// The part of a byte_budget one request holds; given back when the
/// holding is destroyed. Not thread-safe itself: one request, one owner.
class budget_hold {
public:
    /// Holds nothing of `budget`, which must outlive the holding.
    explicit budget_hold(byte_budget& budget) noexcept : budget_(&budget) {}
    /// Gives back what is held.
    ~budget_hold() { release(); }
    budget_hold(const budget_hold&) = delete;
    budget_hold& operator=(const budget_hold&) = delete;

    /// Grows the holding to `total` bytes, leaving at least `keep_free`
    /// bytes of the budget untaken. False, and the holding left as it
    /// was, when the budget cannot cover it now. A smaller `total` is
    /// already covered.
    [[nodiscard]] bool grow_to(std::size_t total,
                               std::size_t keep_free = 0) noexcept;

    /// Gives back all above `total` bytes.
    void shrink_to(std::size_t total) noexcept;

    /// Gives back everything.
    void release() noexcept { shrink_to(0); }

    /// Bytes held.
    std::size_t bytes() const noexcept { return held_; }

    /// The budget held from.
    const byte_budget& budget() const noexcept { return *budget_; }

private:
    byte_budget* budget_;
    std::size_t held_ = 0;
};

} // namespace ks::ingest
