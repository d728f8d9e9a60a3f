#include "ingest/byte_budget.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using ks::ingest::budget_hold;
using ks::ingest::byte_budget;

TEST_CASE("a byte budget grants up to its limit and no further")
{
    byte_budget b(100);
    CHECK(b.limit() == 100);
    CHECK(b.available() == 100);

    CHECK(b.try_take(60));
    CHECK_FALSE(b.try_take(41));
    CHECK(b.used() == 60);
    CHECK(b.try_take(40));
    CHECK(b.available() == 0);
    CHECK_FALSE(b.try_take(1));
    CHECK(b.try_take(0));

    b.give_back(100);
    CHECK(b.used() == 0);
    CHECK_FALSE(b.try_take(101));
}

TEST_CASE("a hold grows, shrinks and gives everything back when destroyed")
{
    byte_budget b(100);
    {
        budget_hold h(b);
        CHECK(h.grow_to(30));
        CHECK(h.grow_to(20)); // already covered
        CHECK(h.bytes() == 30);
        CHECK(b.used() == 30);

        // A refused growth leaves the hold as it was.
        budget_hold other(b);
        CHECK(other.grow_to(70));
        CHECK_FALSE(h.grow_to(31));
        CHECK(h.bytes() == 30);

        h.shrink_to(10);
        CHECK(b.used() == 80);
        CHECK(h.grow_to(30));
        h.release();
        CHECK(h.bytes() == 0);
        CHECK(b.used() == 70);
    }
    CHECK(b.used() == 0);
}

TEST_CASE("threads taking and giving back never pass the limit")
{
    constexpr std::size_t limit = 1000;
    byte_budget b(limit);
    std::atomic<std::size_t> peak{0};
    std::atomic<std::size_t> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 20'000; ++i) {
                budget_hold h(b);
                if (!h.grow_to(100 + 50 * static_cast<std::size_t>(t)))
                    continue;
                ++granted;
                std::size_t now = b.used();
                std::size_t seen = peak.load();
                while (now > seen && !peak.compare_exchange_weak(seen, now)) {
                }
            }
        });
    }
    for (auto& t : threads)
        t.join();

    CHECK(granted > 0);
    CHECK(peak <= limit);
    CHECK(b.used() == 0);
}

TEST_CASE("a taker may ask for bytes to stay free beside its own")
{
    byte_budget b(100);
    CHECK_FALSE(b.try_take(80, 25));
    CHECK(b.try_take(75, 25));
    CHECK_FALSE(b.try_take(1, 25));
    CHECK(b.try_take(25));
    CHECK_FALSE(b.try_take(0, 101));
    b.give_back(100);

    // Asking to keep free all but its own size: only alone.
    budget_hold big(b);
    budget_hold small(b);
    CHECK(small.grow_to(1));
    CHECK_FALSE(big.grow_to(90, 10));
    small.release();
    CHECK(big.grow_to(90, 10));
}
