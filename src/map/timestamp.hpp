#pragma once

#include <cstdint>
#include <string_view>

namespace ks::map {

/// Microseconds between the Unix epoch and PostgreSQL's epoch
/// (2000-01-01 00:00:00 UTC), which binary timestamptz counts from.
inline constexpr std::int64_t unix_to_pg_epoch_us = 946'684'800'000'000;

/// Why a timestamp could not be used.
enum class time_errc : std::uint8_t {
    ok,
    malformed,    // not one of the accepted shapes
    impossible,   // shaped right, but no such date or time (Feb 30, 25:00)
    out_of_range, // a real instant PostgreSQL's timestamptz cannot hold
};

/// A parsed instant in PostgreSQL's binary timestamptz unit.
struct time_result {
    time_errc error = time_errc::ok;
    std::int64_t pg_us = 0; // microseconds since 2000-01-01 00:00:00 UTC
};

/// Parses RFC 3339 / ISO 8601 text: YYYY-MM-DD, 'T', 't' or ' ', hh:mm:ss,
/// an optional fraction of 0 to 9 digits after '.' or ',', then 'Z', 'z',
/// +hh:mm, +hhmm, +hh or nothing (UTC). Second 60 (a leap second) is read
/// as the first instant of the next minute, as PostgreSQL does. Digits
/// beyond microseconds are rounded half to even.
time_result parse_timestamp(std::string_view text) noexcept;

/// An integer epoch; the unit is chosen by magnitude: below 1e11 seconds,
/// below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
time_result from_epoch(std::int64_t value) noexcept;

/// An unsigned epoch (a JSON integer above INT64_MAX): nanoseconds, since
/// nothing smaller reaches that magnitude; values up to INT64_MAX are read
/// as the signed overload reads them.
time_result from_epoch(std::uint64_t value) noexcept;

/// A floating-point epoch (Fluent Bit's `date`, webhook alerts); the unit
/// is chosen by magnitude as for integers; rounded to microseconds.
time_result from_epoch(double value) noexcept;

} // namespace ks::map
