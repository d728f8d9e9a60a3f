#include "load/progress.hpp"

#include <sys/ioctl.h>

#include <algorithm>
#include <iterator>
#include <optional>

namespace ks::load {
namespace {

using steady = std::chrono::steady_clock;

constexpr int bar_cells_max = 20;
constexpr int bar_cells_min = 5;

/// Columns kept for the file name before the bar takes the rest, and
/// the fewest worth showing at all (with "..." in front).
constexpr int file_cols_reserved = 16;
constexpr int file_cols_min = 4;

/// Beyond this an ETA says nothing a "--" does not.
constexpr double eta_max_s = 1000.0 * 3600.0;

constexpr int width_when_unknown = 80;

bool is_continuation(char c)
{
    return (static_cast<unsigned char>(c) & 0xc0) == 0x80;
}

// TODO: columns are counted as UTF-8 code points; wide (CJK) characters
// take two columns, so a name full of them can push the bar to wrap.
int columns(const std::string& s)
{
    return static_cast<int>(std::count_if(
        s.begin(), s.end(), [](char c) { return !is_continuation(c); }));
}

/// The first `cols` columns of `s`, never splitting a character.
std::string first_columns(const std::string& s, int cols)
{
    std::size_t i = 0;
    for (int seen = 0; i < s.size(); ++i) {
        if (is_continuation(s[i])) continue;
        if (seen == cols) break;
        ++seen;
    }
    return s.substr(0, i);
}

/// `s` in at most `cols` columns, keeping its end: the end of a path
/// names the file.
std::string last_columns(const std::string& s, int cols)
{
    if (columns(s) <= cols) return s;
    std::size_t i = s.size();
    for (int kept = 0; i > 0 && kept < cols - 3;) {
        --i;
        if (!is_continuation(s[i])) ++kept;
    }
    return "..." + s.substr(i);
}

/// A file name is input: control bytes in it would move the cursor or,
/// in a log, start a forged line.
std::string printable(const std::string& name)
{
    std::string out = name;
    std::replace_if(
        out.begin(), out.end(),
        [](char c) {
            const auto u = static_cast<unsigned char>(c);
            return u < 0x20 || u == 0x7f;
        },
        '?');
    return out;
}

std::string human_bytes(std::uint64_t n)
{
    static constexpr const char* units[] = {"KiB", "MiB", "GiB",
                                            "TiB", "PiB", "EiB"};
    if (n < 1024) return std::to_string(n) + " B";

    // Step up before printing, so that 1023.97 KiB reads 1.0 MiB rather
    // than 1024.0 KiB.
    double value = static_cast<double>(n) / 1024.0;
    std::size_t unit = 0;
    while (value >= 1023.95 && unit + 1 < std::size(units)) {
        value /= 1024.0;
        ++unit;
    }
    char text[32];
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
    return text;
}

/// h:mm:ss, hours unbounded; "--" for a time that is not one.
std::string clock_time(double s)
{
    if (!(s >= 0.0) || s > eta_max_s) return "--";
    const auto total = static_cast<unsigned long long>(s + 0.5);
    char text[32];
    std::snprintf(text, sizeof text, "%llu:%02llu:%02llu", total / 3600,
                  total / 60 % 60, total % 60);
    return text;
}

std::string whole_number(double rate)
{
    // Also turns NaN and negative rates into 0.
    if (!(rate >= 0.5)) return "0";
    char text[32];
    std::snprintf(text, sizeof text, "%.0f", rate);
    return text;
}

/// Seconds until the rest is read at `bytes_per_s`, when that is known.
std::optional<double> eta_s(const progress_snapshot& now, double bytes_per_s)
{
    if (now.bytes_total == 0) return std::nullopt;
    if (now.bytes_done >= now.bytes_total) return 0.0;
    if (!(bytes_per_s > 0.0)) return std::nullopt;
    const double left = static_cast<double>(now.bytes_total - now.bytes_done);
    return left / bytes_per_s;
}

std::string eta_text(const progress_snapshot& now, double bytes_per_s)
{
    const std::optional<double> s = eta_s(now, bytes_per_s);
    return s ? clock_time(*s) : "--";
}

/// Whole percent done, for a known total; 100 only when done.
int percent(const progress_snapshot& now)
{
    if (now.bytes_done >= now.bytes_total) return 100;
    const double share = static_cast<double>(now.bytes_done) /
                         static_cast<double>(now.bytes_total);
    return std::min(static_cast<int>(share * 100.0), 99);
}

std::string bar(const progress_snapshot& now, int cells)
{
    const int filled = percent(now) == 100
                           ? cells
                           : std::min(cells - 1, percent(now) * cells / 100);
    return "[" + std::string(static_cast<std::size_t>(filled), '#') +
           std::string(static_cast<std::size_t>(cells - filled), '.') + "]";
}

std::string plain_line(const progress_snapshot& now, double elapsed_s,
                       double rows_per_s, double bytes_per_s)
{
    std::string line = "progress: " + human_bytes(now.bytes_done);
    if (now.bytes_total != 0) {
        line += " of " + human_bytes(now.bytes_total) + " (" +
                std::to_string(percent(now)) + "%)";
    } else {
        line += " read";
    }
    line += ", " + std::to_string(now.rows_loaded) + " rows loaded";
    if (now.dead_lettered != 0)
        line += ", " + std::to_string(now.dead_lettered) + " dead-lettered";
    line += ", " + whole_number(rows_per_s) + " rows/s";
    line += ", elapsed " + clock_time(elapsed_s);
    line += ", eta " + eta_text(now, bytes_per_s);
    if (now.files_total != 0) {
        line += ", " + std::to_string(now.files_done) + " of " +
                std::to_string(now.files_total) + " files done";
    }
    if (!now.current.empty()) line += ", file " + printable(now.current);
    return line;
}

std::string terminal_line(const progress_snapshot& now, double rows_per_s,
                          double bytes_per_s, int width)
{
    if (width <= 0) return {};
    const bool known = now.bytes_total != 0;

    // The figures are what the user watches, so they come first.
    std::string head;
    std::string figures = human_bytes(now.bytes_done);
    if (known) {
        char pct[16];
        std::snprintf(pct, sizeof pct, "%3d%% ", percent(now));
        head = pct;
        figures += "/" + human_bytes(now.bytes_total);
    } else {
        figures += " read";
    }
    figures += "  " + whole_number(rows_per_s) + " rows/s  eta " +
               eta_text(now, bytes_per_s);

    // The bar takes what is left after the figures and a start on the
    // file name, brackets and a space included.
    const std::string file = printable(now.current);
    const int file_reserve =
        file.empty() ? 0 : 2 + std::min(columns(file), file_cols_reserved);
    const int cells =
        std::min(bar_cells_max,
                 width - columns(head) - columns(figures) - file_reserve - 3);
    std::string line = head;
    if (known && cells >= bar_cells_min) line += bar(now, cells) + " ";
    line += figures;

    // The file name gets the rest, if enough is left to recognise it.
    const int file_room = width - columns(line) - 2;
    if (!file.empty() && file_room >= file_cols_min)
        line += "  " + last_columns(file, file_room);

    // A terminal too narrow even for the figures gets them cut.
    return first_columns(line, width);
}

} // namespace

progress_display::progress_display(std::FILE* out, bool terminal,
                                   std::chrono::milliseconds interval)
    : out_(out), terminal_(terminal), interval_(interval),
      start_(steady::now()), last_draw_(start_)
{
}

void progress_display::update(const progress_snapshot& now)
{
    // Note where things stand; draw only once per interval.
    const steady::time_point t = steady::now();
    take_sample(t, now);
    if (t - last_draw_ < interval_) return;
    last_draw_ = t;

    // Rates from the oldest sample kept to now.
    const sample& from = oldest_sample();
    const double window_s = std::chrono::duration<double>(t - from.at).count();
    double rows_per_s = 0.0;
    double bytes_per_s = 0.0;
    if (window_s > 0.0) {
        if (now.rows_loaded >= from.rows)
            rows_per_s =
                static_cast<double>(now.rows_loaded - from.rows) / window_s;
        if (now.bytes_done >= from.bytes)
            bytes_per_s =
                static_cast<double>(now.bytes_done - from.bytes) / window_s;
    }
    const double elapsed_s = std::chrono::duration<double>(t - start_).count();

    // On a terminal, overwrite the line and clear what a longer earlier
    // line left; one column stays free so the cursor never wraps.
    if (terminal_) {
        const std::string line = render(now, elapsed_s, rows_per_s, bytes_per_s,
                                        true, terminal_width() - 1);
        std::fprintf(out_, "\r%s\x1b[K", line.c_str());
    } else {
        const std::string line =
            render(now, elapsed_s, rows_per_s, bytes_per_s, false, 0);
        std::fprintf(out_, "%s\n", line.c_str());
    }
    std::fflush(out_);
    drawn_ = true;
}

void progress_display::finish()
{
    if (!terminal_ || !drawn_) return;
    std::fputs("\r\x1b[K", out_);
    std::fflush(out_);
    drawn_ = false;
}

std::string progress_display::render(const progress_snapshot& now,
                                     double elapsed_s, double rows_per_s,
                                     double bytes_per_s, bool terminal,
                                     int width)
{
    if (terminal) return terminal_line(now, rows_per_s, bytes_per_s, width);
    return plain_line(now, elapsed_s, rows_per_s, bytes_per_s);
}

void progress_display::take_sample(steady::time_point at,
                                   const progress_snapshot& now)
{
    // Spaced samples keep the window a few seconds long however often
    // the loader calls.
    if (sample_count_ != 0) {
        const sample& newest = samples_[(sample_count_ - 1) % sample_slots];
        if (at - newest.at < sample_every) return;
    }
    samples_[sample_count_ % sample_slots] = {at, now.rows_loaded,
                                              now.bytes_done};
    ++sample_count_;
}

const progress_display::sample& progress_display::oldest_sample() const
{
    if (sample_count_ < sample_slots) return samples_[0];
    return samples_[sample_count_ % sample_slots];
}

int progress_display::terminal_width() const
{
    // Asked at every draw, so that resizing the window is followed.
    winsize size{};
    if (ioctl(fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        return size.ws_col;
    return width_when_unknown;
}

} // namespace ks::load
