#include "map/timestamp.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>

using ks::map::from_epoch;
using ks::map::parse_timestamp;
using ks::map::time_errc;
using ks::map::unix_to_pg_epoch_us;

namespace {

// 2026-02-17T09:21:44Z in PostgreSQL's epoch, µs.
constexpr std::int64_t base = 824'635'304'000'000;
constexpr std::int64_t s = 1'000'000;
constexpr std::int64_t day = 86'400 * s;

struct text_case {
    const char* text;
    std::int64_t pg_us;
};

struct error_case {
    const char* text;
    time_errc error;
};

std::int64_t unix_us(std::int64_t us)
{
    return us - unix_to_pg_epoch_us;
}

} // namespace

TEST_CASE("timestamps with a zone or without one parse to µs", "[time]")
{
    const text_case cases[] = {
        {"2000-01-01T00:00:00Z", 0},
        {"1970-01-01T00:00:00Z", -946'684'800'000'000},
        {"2026-02-17T09:21:44Z", base},
        {"2026-02-17t09:21:44z", base},
        {"2026-02-17 09:21:44", base},
        {"2026-02-17T09:21:44", base},
        {"2026-02-17T09:21:44+00:00", base},
        {"2026-02-17T09:21:44-00:00", base},
        {"2026-02-17T09:21:44+02:00", base - 2 * 3600 * s},
        {"2026-02-17T09:21:44+0200", base - 2 * 3600 * s},
        {"2026-02-17T09:21:44-0530", base + 19'800 * s},
        {"2026-02-17T09:21:44-05:30", base + 19'800 * s},
        {"2026-02-17T09:21:44+05", base - 5 * 3600 * s},
        {"2026-02-17T09:21:44.108233Z", 824'635'304'108'233},
        {"2026-04-22T16:03:12.554019", 830'188'992'554'019},
        {"2026-04-22 16:03:12.554019", 830'188'992'554'019},
        {"2026-04-22T16:07:55.031442+00:00", 830'189'275'031'442},
        {"2024-02-29T12:00:00Z", 762'523'200'000'000},
        {"2000-02-29T00:00:00Z", 59 * day},
        {"0000-01-01T00:00:00Z", -730'485 * day},
        {"9999-12-31T23:59:59.999999Z", 252'455'615'999'999'999},
    };
    for (const text_case& c : cases) {
        INFO(c.text);
        auto r = parse_timestamp(c.text);
        CHECK(r.error == time_errc::ok);
        CHECK(r.pg_us == c.pg_us);
    }
}

TEST_CASE("fractions of 0 to 9 digits round half to even", "[time]")
{
    const text_case cases[] = {
        {"2026-02-17T09:21:44.1Z", base + 100'000},
        {"2026-02-17T09:21:44,1Z", base + 100'000},
        {"2026-02-17T09:21:44.12Z", base + 120'000},
        {"2026-02-17T09:21:44.123Z", base + 123'000},
        {"2026-02-17T09:21:44.1234Z", base + 123'400},
        {"2026-02-17T09:21:44.12345Z", base + 123'450},
        {"2026-02-17T09:21:44.123456Z", base + 123'456},
        {"2026-02-17T09:21:44.1234564Z", base + 123'456},
        {"2026-02-17T09:21:44.1234565Z", base + 123'456}, // tie, even
        {"2026-02-17T09:21:44.1234575Z", base + 123'458}, // tie, even
        {"2026-02-17T09:21:44.1234566Z", base + 123'457},
        {"2026-02-17T09:21:44.12345650Z", base + 123'456},
        {"2026-02-17T09:21:44.123456500Z", base + 123'456},
        {"2026-02-17T09:21:44.123456501Z", base + 123'457},
        {"2026-02-17T09:21:44.305127431Z", base + 305'127},
        {"2026-02-17T09:21:44.000000000Z", base},
        {"2026-02-17T09:21:44.9999995Z", base + s}, // carry: second
        {"1999-12-31T23:59:59.999999999Z", 0},      // carry: day
        {"1999-12-31T23:59:59.9999995+00:00", 0},
    };
    for (const text_case& c : cases) {
        INFO(c.text);
        auto r = parse_timestamp(c.text);
        CHECK(r.error == time_errc::ok);
        CHECK(r.pg_us == c.pg_us);
    }
}

TEST_CASE("a leap second is the next minute's first instant", "[time]")
{
    auto leap = parse_timestamp("2016-12-31T23:59:60Z");
    auto next = parse_timestamp("2017-01-01T00:00:00Z");
    REQUIRE(leap.error == time_errc::ok);
    CHECK(leap.pg_us == next.pg_us);
    CHECK(next.pg_us == 536'544'000'000'000);

    auto fraction = parse_timestamp("2016-12-31T23:59:60.5Z");
    CHECK(fraction.pg_us == next.pg_us + 500'000);
}

TEST_CASE("impossible dates and times are told from malformed text", "[time]")
{
    const error_case cases[] = {
        {"2026-02-30T00:00:00Z", time_errc::impossible},
        {"2025-02-29T00:00:00Z", time_errc::impossible},
        {"1900-02-29T00:00:00Z", time_errc::impossible},
        {"2026-04-31T00:00:00Z", time_errc::impossible},
        {"2026-13-01T00:00:00Z", time_errc::impossible},
        {"2026-00-10T00:00:00Z", time_errc::impossible},
        {"2026-01-00T00:00:00Z", time_errc::impossible},
        {"2026-01-01T24:00:00Z", time_errc::impossible},
        {"2026-01-01T12:60:00Z", time_errc::impossible},
        {"2026-01-01T12:00:61Z", time_errc::impossible},
        {"2026-01-01T12:00:00+24:00", time_errc::impossible},
        {"2026-01-01T12:00:00+05:60", time_errc::impossible},
        {"", time_errc::malformed},
        {"2026-02-17", time_errc::malformed},
        {"2026-02-17T09:21Z", time_errc::malformed},
        {"2026-02-17T09:21:44Zjunk", time_errc::malformed},
        {"2026-02-17T09:21:44 ", time_errc::malformed},
        {"2026-1-01T00:00:00Z", time_errc::malformed},
        {"26-01-01T00:00:00Z", time_errc::malformed},
        {"+2026-01-01T00:00:00Z", time_errc::malformed},
        {"2026-02-17X09:21:44Z", time_errc::malformed},
        {"2026-02-17T09:21:44.Z", time_errc::malformed},
        {"2026-02-17T09:21:44.", time_errc::malformed},
        {"2026-02-17T09:21:44.1234567891Z", time_errc::malformed},
        {"2026-02-17T09:21:44+5", time_errc::malformed},
        {"2026-02-17T09:21:44+05:", time_errc::malformed},
        {"2026-02-17T09:21:44+05:3", time_errc::malformed},
        {"2026-02-17T09:21:44+053", time_errc::malformed},
        {"2026-02-17T09:21:44 UTC", time_errc::malformed},
        {"1776873792", time_errc::malformed},
        {"2026-02-17T09:21:4a", time_errc::malformed},
    };
    for (const error_case& c : cases) {
        INFO(c.text);
        CHECK(parse_timestamp(c.text).error == c.error);
    }
}

TEST_CASE("integer epochs pick their unit by magnitude", "[time]")
{
    struct {
        std::int64_t value;
        std::int64_t unix_us;
    } cases[] = {
        {0, 0},
        {1'715'000'000, 1'715'000'000'000'000},
        {-1'500, -1'500'000'000},
        {99'999'999'999, 99'999'999'999'000'000}, // last seconds
        {100'000'000'000, 100'000'000'000'000},   // first ms
        {1'715'000'000'123, 1'715'000'000'123'000},
        {-1'715'000'000'123, -1'715'000'000'123'000},
        {1'715'000'000'123'456, 1'715'000'000'123'456},     // µs
        {1'715'000'000'123'456'789, 1'715'000'000'123'457}, // ns
        {1'715'000'000'123'456'500, 1'715'000'000'123'456}, // tie, even
        {1'715'000'000'123'457'500, 1'715'000'000'123'458}, // tie, even
        {-1'715'000'000'123'456'500, -1'715'000'000'123'456},
        {-1'715'000'000'123'456'501, -1'715'000'000'123'457},
        {std::numeric_limits<std::int64_t>::max(), 9'223'372'036'854'776},
        {std::numeric_limits<std::int64_t>::min(), -9'223'372'036'854'776},
    };
    for (const auto& c : cases) {
        INFO(c.value);
        auto r = from_epoch(c.value);
        CHECK(r.error == time_errc::ok);
        CHECK(r.pg_us == unix_us(c.unix_us));
    }
}

TEST_CASE("unsigned epochs beyond int64 are nanoseconds", "[time]")
{
    auto max = from_epoch(std::numeric_limits<std::uint64_t>::max());
    CHECK(max.error == time_errc::ok);
    CHECK(max.pg_us == unix_us(18'446'744'073'709'552));

    auto small = from_epoch(std::uint64_t{1'715'000'000});
    CHECK(small.pg_us == unix_us(1'715'000'000'000'000));
}

TEST_CASE("floating epochs round to the nearest µs", "[time]")
{
    struct {
        double value;
        std::int64_t unix_us;
    } cases[] = {
        {1'776'873'792.55, 1'776'873'792'550'000},
        {1'715'000'000.123456, 1'715'000'000'123'456},
        {1'715'000'000.0, 1'715'000'000'000'000},
        {-1.5, -1'500'000},
        {1'715'000'000'123.5, 1'715'000'000'123'500},
        {1.715e15, 1'715'000'000'000'000},
        {1.715e18, 1'715'000'000'000'000},
    };
    for (const auto& c : cases) {
        INFO(c.value);
        auto r = from_epoch(c.value);
        CHECK(r.error == time_errc::ok);
        CHECK(r.pg_us == unix_us(c.unix_us));
    }
}

TEST_CASE("epochs PostgreSQL cannot hold are refused", "[time]")
{
    constexpr double inf = std::numeric_limits<double>::infinity();
    CHECK(from_epoch(std::nan("")).error == time_errc::malformed);
    CHECK(from_epoch(inf).error == time_errc::out_of_range);
    CHECK(from_epoch(-inf).error == time_errc::out_of_range);
    CHECK(from_epoch(1e25).error == time_errc::out_of_range);
    CHECK(from_epoch(-1e25).error == time_errc::out_of_range);
    CHECK(from_epoch(9.3e21).error == time_errc::out_of_range);
    CHECK(from_epoch(9.2e21).error == time_errc::ok); // ~292 000 years
    CHECK(from_epoch(-2.2e20).error == time_errc::out_of_range);
    CHECK(from_epoch(-2.0e20).error == time_errc::ok); // ~4300 BC
}
