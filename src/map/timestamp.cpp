#include "map/timestamp.hpp"

#include <cmath>

namespace ks::map {

namespace {

constexpr std::int64_t us_per_second = 1'000'000;
constexpr std::int64_t us_per_day = 86'400 * us_per_second;

// PostgreSQL's timestamptz range in its own epoch: from 4714-11-24
// 00:00:00 BC (Julian day 0) up to, not including, 294277-01-01.
constexpr std::int64_t pg_min_us = -211'813'488'000'000'000;
constexpr std::int64_t pg_end_us = 9'223'371'331'200'000'000;

// Epoch magnitudes at which the unit steps from s to ms, µs and ns.
constexpr std::uint64_t ms_from = 100'000'000'000;         // 1e11
constexpr std::uint64_t us_from = 100'000'000'000'000;     // 1e14
constexpr std::uint64_t ns_from = 100'000'000'000'000'000; // 1e17

// Days since 0000-03-01 of a proleptic Gregorian date. Counting years
// from March puts the leap day last, so a year's days before a month
// follow one linear formula and 400-year eras repeat exactly.
constexpr std::int64_t days_since_march_0(std::int64_t year, int month,
                                          int day) noexcept
{
    std::int64_t y = month <= 2 ? year - 1 : year;
    std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    std::int64_t year_of_era = y - era * 400;
    int shifted_month = month > 2 ? month - 3 : month + 9; // March is 0
    std::int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    std::int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146'097 + day_of_era;
}

// Days between 2000-01-01 and a date.
constexpr std::int64_t days_from_pg_epoch(std::int64_t year, int month,
                                          int day) noexcept
{
    return days_since_march_0(year, month, day) -
           days_since_march_0(2000, 1, 1);
}

static_assert(days_from_pg_epoch(2000, 1, 1) == 0);
static_assert(days_from_pg_epoch(1970, 1, 1) == -10'957);
static_assert(days_from_pg_epoch(-4713, 11, 24) * us_per_day == pg_min_us);

bool is_leap(int year) noexcept
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int days_in_month(int year, int month) noexcept
{
    constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

// Rounds v / d (d > 0) to the nearest integer, ties to even.
std::int64_t divide_half_even(std::int64_t v, std::int64_t d) noexcept
{
    std::int64_t q = v / d;
    std::int64_t r = v % d;
    if (r < 0) { // make it a floor division: 0 <= r < d
        q -= 1;
        r += d;
    }
    if (2 * r > d || (2 * r == d && (q & 1) != 0)) q += 1;
    return q;
}

time_result checked(std::int64_t pg_us) noexcept
{
    if (pg_us < pg_min_us || pg_us >= pg_end_us)
        return {time_errc::out_of_range, 0};
    return {time_errc::ok, pg_us};
}

time_result from_unix_us(std::int64_t unix_us) noexcept
{
    return checked(unix_us - unix_to_pg_epoch_us);
}

// Reads timestamp text left to right; every reader returns false when
// the text does not have the expected shape there.
class reader {
public:
    explicit reader(std::string_view text) noexcept : text_(text) {}

    bool at_end() const noexcept { return pos_ == text_.size(); }
    char peek() const noexcept { return at_end() ? '\0' : text_[pos_]; }
    void skip() noexcept { ++pos_; }

    /// Consumes `c` if it is next.
    bool accept(char c) noexcept
    {
        if (peek() != c) return false;
        ++pos_;
        return true;
    }

    /// Reads exactly `n` ASCII digits.
    bool digits(int n, int& out) noexcept
    {
        out = 0;
        for (int i = 0; i < n; ++i, ++pos_) {
            char c = peek();
            if (c < '0' || c > '9') return false;
            out = out * 10 + (c - '0');
        }
        return true;
    }

    /// Reads up to `max` digits; returns how many were read.
    int digit_run(int max, std::int64_t& out) noexcept
    {
        out = 0;
        int n = 0;
        for (; peek() >= '0' && peek() <= '9'; ++n, ++pos_) {
            if (n == max) return max + 1;
            out = out * 10 + (peek() - '0');
        }
        return n;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

// The fields of one timestamp text, not yet checked against the calendar.
struct fields {
    int year = 0, month = 0, day = 0;
    int hour = 0, minute = 0, second = 0;
    std::int64_t micros = 0; // fraction rounded to µs; may be 1'000'000
    int offset_sign = 0, offset_hour = 0, offset_minute = 0;
};

bool read_date(reader& r, fields& f) noexcept
{
    return r.digits(4, f.year) && r.accept('-') && r.digits(2, f.month) &&
           r.accept('-') && r.digits(2, f.day);
}

bool read_time(reader& r, fields& f) noexcept
{
    return r.digits(2, f.hour) && r.accept(':') && r.digits(2, f.minute) &&
           r.accept(':') && r.digits(2, f.second);
}

// 0 to 9 digits after '.' or ','; beyond µs rounded half to even.
bool read_fraction(reader& r, fields& f) noexcept
{
    if (!r.accept('.') && !r.accept(',')) return true;
    std::int64_t value = 0;
    int n = r.digit_run(9, value);
    if (n == 0 || n > 9) return false;

    constexpr std::int64_t scale[] = {
        1,       10,        100,        1'000,       10'000,
        100'000, 1'000'000, 10'000'000, 100'000'000, 1'000'000'000};
    if (n <= 6) {
        f.micros = value * scale[6 - n];
    } else {
        f.micros = divide_half_even(value, scale[n - 6]);
    }
    return true;
}

// 'Z', 'z', +hh:mm, +hhmm, +hh (or '-'), or nothing at all for UTC.
bool read_zone(reader& r, fields& f) noexcept
{
    if (r.at_end()) return true;
    if (r.accept('Z') || r.accept('z')) return r.at_end();

    char sign = r.peek();
    if (sign != '+' && sign != '-') return false;
    r.skip();
    f.offset_sign = sign == '+' ? 1 : -1;
    if (!r.digits(2, f.offset_hour)) return false;
    if (r.at_end()) return true;
    r.accept(':');
    return r.digits(2, f.offset_minute) && r.at_end();
}

bool is_possible(const fields& f) noexcept
{
    bool date_ok = f.month >= 1 && f.month <= 12 && f.day >= 1 &&
                   f.day <= days_in_month(f.year, f.month);
    bool time_ok = f.hour <= 23 && f.minute <= 59 && f.second <= 60;
    bool zone_ok = f.offset_hour <= 23 && f.offset_minute <= 59;
    return date_ok && time_ok && zone_ok;
}

// Second 60 simply counts on into the next minute, as PostgreSQL does.
std::int64_t to_pg_us(const fields& f) noexcept
{
    std::int64_t day_us =
        days_from_pg_epoch(f.year, f.month, f.day) * us_per_day;
    std::int64_t clock_s = (f.hour * 60 + f.minute) * 60 + f.second;
    std::int64_t offset_s =
        f.offset_sign * (f.offset_hour * 60 + f.offset_minute) * 60;
    return day_us + (clock_s - offset_s) * us_per_second + f.micros;
}

} // namespace

time_result parse_timestamp(std::string_view text) noexcept
{
    // Shape first: date, separator, time, fraction, zone, nothing more.
    reader r(text);
    fields f;
    bool shaped = read_date(r, f) &&
                  (r.accept('T') || r.accept('t') || r.accept(' ')) &&
                  read_time(r, f) && read_fraction(r, f) && read_zone(r, f);
    if (!shaped) return {time_errc::malformed, 0};

    // Then the calendar and the clock.
    if (!is_possible(f)) return {time_errc::impossible, 0};
    return checked(to_pg_us(f));
}

time_result from_epoch(std::int64_t value) noexcept
{
    // The unit follows from the magnitude; integers never overflow here
    // because each unit's range is bounded by the next threshold.
    std::uint64_t magnitude = value < 0 ? 0 - static_cast<std::uint64_t>(value)
                                        : static_cast<std::uint64_t>(value);
    if (magnitude < ms_from) return from_unix_us(value * us_per_second);
    if (magnitude < us_from) return from_unix_us(value * 1'000);
    if (magnitude < ns_from) return from_unix_us(value);
    return from_unix_us(divide_half_even(value, 1'000));
}

time_result from_epoch(std::uint64_t value) noexcept
{
    constexpr auto int64_max = static_cast<std::uint64_t>(INT64_MAX);
    if (value <= int64_max) return from_epoch(static_cast<std::int64_t>(value));

    // Beyond int64 only nanoseconds are possible; µs then fit int64.
    std::uint64_t us = value / 1'000;
    std::uint64_t rest = value % 1'000;
    if (rest > 500 || (rest == 500 && (us & 1) != 0)) ++us;
    return from_unix_us(static_cast<std::int64_t>(us));
}

time_result from_epoch(double value) noexcept
{
    if (std::isnan(value)) return {time_errc::malformed, 0};
    if (std::isinf(value)) return {time_errc::out_of_range, 0};

    // Scale to µs by magnitude, round half to even (the default rounding
    // mode), and check the range before converting to an integer.
    double magnitude = std::fabs(value);
    double unix_us = magnitude < 1e11   ? value * 1e6
                     : magnitude < 1e14 ? value * 1e3
                     : magnitude < 1e17 ? value
                                        : value / 1e3;
    double pg_us =
        std::nearbyint(unix_us) - static_cast<double>(unix_to_pg_epoch_us);
    if (!(pg_us >= static_cast<double>(pg_min_us) &&
          pg_us < static_cast<double>(pg_end_us)))
        return {time_errc::out_of_range, 0};
    return checked(static_cast<std::int64_t>(pg_us));
}

} // namespace ks::map
