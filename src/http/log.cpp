#include "http/log.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <unistd.h>

namespace ks::http {

namespace {

bool needs_quotes(std::string_view value) noexcept
{
    if (value.empty()) return true;
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || c == '"' || c == '=' || c == '\\' || u == 0x7f)
            return true;
    }
    return false;
}

void append_escaped(std::string& line, std::string_view value)
{
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        switch (c) {
        case '"':
            line += "\\\"";
            break;
        case '\\':
            line += "\\\\";
            break;
        case '\n':
            line += "\\n";
            break;
        case '\r':
            line += "\\r";
            break;
        case '\t':
            line += "\\t";
            break;
        default:
            if (u < 0x20 || u == 0x7f) {
                line += "\\x";
                line += hex[u >> 4];
                line += hex[u & 0xf];
            } else {
                line += c;
            }
        }
    }
}

} // namespace

std::optional<log_level> parse_log_level(std::string_view name) noexcept
{
    if (name == "debug") return log_level::debug;
    if (name == "info") return log_level::info;
    if (name == "warn") return log_level::warn;
    if (name == "error") return log_level::error;
    return std::nullopt;
}

std::string_view log_level_name(log_level level) noexcept
{
    switch (level) {
    case log_level::debug:
        return "debug";
    case log_level::info:
        return "info";
    case log_level::warn:
        return "warn";
    case log_level::error:
        return "error";
    }
    return "unknown";
}

std::string logger::start_line(log_level level, std::string_view event)
{
    // UTC time with milliseconds, so lines from several threads sort.
    using namespace std::chrono;
    auto now = system_clock::now();
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&secs, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                  utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                  utc.tm_min, utc.tm_sec, static_cast<int>(ms % 1000));

    std::string line;
    line.reserve(160);
    line += stamp;
    line += ' ';
    line += log_level_name(level);
    line += ' ';
    line += event;
    return line;
}

void logger::append_value(std::string& line, std::string_view value)
{
    if (!needs_quotes(value)) {
        line += value;
        return;
    }
    line += '"';
    append_escaped(line, value);
    line += '"';
}

void logger::append_value(std::string& line, double value)
{
    char digits[32];
    int n = std::snprintf(digits, sizeof digits, "%.3f", value);
    if (n > 0) line.append(digits, static_cast<std::size_t>(n));
}

void logger::finish_line(std::string& line)
{
    // One write per line keeps lines whole when threads log at once; a
    // short write (a pipe under pressure) is continued, errors are
    // dropped since there is nowhere left to report them.
    line += '\n';
    const char* p = line.data();
    std::size_t left = line.size();
    while (left != 0) {
        ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

} // namespace ks::http
