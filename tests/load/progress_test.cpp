#include "load/progress.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using ks::load::progress_display;
using ks::load::progress_snapshot;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = kib * 1024;
constexpr std::uint64_t gib = mib * 1024;

/// 1.2 GiB of 3.4 GiB (35%), the example the loader's docs use.
constexpr std::uint64_t example_done = 1'288'490'189;
constexpr std::uint64_t example_total = 3'650'722'202;

progress_snapshot example()
{
    progress_snapshot s;
    s.bytes_done = example_done;
    s.bytes_total = example_total;
    s.rows_loaded = 123456;
    s.current = "x.gz";
    return s;
}

/// The rate at which the example has 42 s left.
double example_bytes_per_s()
{
    return static_cast<double>(example_total - example_done) / 42.0;
}

std::string plain(const progress_snapshot& s, double rows_per_s = 0,
                  double bytes_per_s = 0, double elapsed_s = 0)
{
    return progress_display::render(s, elapsed_s, rows_per_s, bytes_per_s,
                                    false, 0);
}

std::string on_terminal(const progress_snapshot& s, int width,
                        double rows_per_s = 0, double bytes_per_s = 0)
{
    return progress_display::render(s, 0, rows_per_s, bytes_per_s, true, width);
}

/// The text after `marker` in a plain line, up to the next comma: the
/// ETA after ", eta ", the rate after "rows loaded, ".
std::string after(const std::string& line, const std::string& marker)
{
    const std::size_t at = line.find(marker);
    if (at == std::string::npos) return "(missing)";
    const std::size_t from = at + marker.size();
    return line.substr(from, line.find(',', from) - from);
}

/// Columns a terminal gives `s`, counting UTF-8 code points.
int columns(const std::string& s)
{
    int n = 0;
    for (const char c : s)
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++n;
    return n;
}

/// Everything written to a FILE, read back after each step.
class captured_stream {
public:
    captured_stream()
    {
        file_ = ::open_memstream(&data_, &size_);
        if (file_ == nullptr) throw std::runtime_error("open_memstream");
    }
    captured_stream(const captured_stream&) = delete;
    captured_stream& operator=(const captured_stream&) = delete;
    ~captured_stream()
    {
        std::fclose(file_);
        std::free(data_);
    }

    std::FILE* file() { return file_; }
    std::string text()
    {
        std::fflush(file_);
        return std::string(data_, size_);
    }

private:
    char* data_ = nullptr;
    std::size_t size_ = 0;
    std::FILE* file_;
};

} // namespace

TEST_CASE("the plain line reports every figure", "[load][progress]")
{
    progress_snapshot s = example();
    CHECK(plain(s, 98765.4, example_bytes_per_s(), 21) ==
          "progress: 1.2 GiB of 3.4 GiB (35%), 123456 rows loaded, "
          "98765 rows/s, elapsed 0:00:21, eta 0:00:42, file x.gz");

    s.dead_lettered = 7;
    s.files_done = 2;
    s.files_total = 10;
    CHECK(plain(s, 98765.4, example_bytes_per_s(), 21) ==
          "progress: 1.2 GiB of 3.4 GiB (35%), 123456 rows loaded, "
          "7 dead-lettered, 98765 rows/s, elapsed 0:00:21, eta 0:00:42, "
          "2 of 10 files done, file x.gz");

    s = progress_snapshot{};
    CHECK(plain(s) == "progress: 0 B read, 0 rows loaded, 0 rows/s, "
                      "elapsed 0:00:00, eta --");
}

TEST_CASE("byte counts use binary units", "[load][progress]")
{
    struct unit_case {
        std::uint64_t bytes;
        std::string text;
    };
    const std::vector<unit_case> cases = {
        {0, "0 B"},
        {1023, "1023 B"},
        {1024, "1.0 KiB"},
        {1536, "1.5 KiB"},
        {mib - 1, "1.0 MiB"}, // 1023.999 KiB rounds up a unit
        {mib * 11 / 2, "5.5 MiB"},
        {gib, "1.0 GiB"},
        {2 * gib * 1024, "2.0 TiB"},
        {std::numeric_limits<std::uint64_t>::max(), "16.0 EiB"},
    };
    for (const unit_case& c : cases) {
        DYNAMIC_SECTION(c.bytes << " bytes")
        {
            progress_snapshot s;
            s.bytes_done = c.bytes;
            CHECK(plain(s) == "progress: " + c.text +
                                  " read, 0 rows loaded, 0 rows/s, "
                                  "elapsed 0:00:00, eta --");
        }
    }
}

TEST_CASE("percent done rounds down and reaches 100 only when done",
          "[load][progress]")
{
    struct percent_case {
        std::uint64_t done;
        std::uint64_t total;
        std::string percent;
    };
    const std::vector<percent_case> cases = {
        {0, 1000, "0%"},
        {1, 1000, "0%"},
        {999, 1000, "99%"},
        {999'999, 1'000'000, "99%"},
        {1000, 1000, "100%"},
        {2000, 1000, "100%"}, // more read than listed: the file grew
    };
    for (const percent_case& c : cases) {
        DYNAMIC_SECTION(c.done << " of " << c.total)
        {
            progress_snapshot s;
            s.bytes_done = c.done;
            s.bytes_total = c.total;
            const std::string line = plain(s);
            CHECK(line.find("(" + c.percent + ")") != std::string::npos);
            CHECK(on_terminal(s, 80).find(c.percent) != std::string::npos);
        }
    }
}

TEST_CASE("the ETA is h:mm:ss, or -- when it cannot be known",
          "[load][progress]")
{
    struct eta_case {
        std::string name;
        std::uint64_t done;
        std::uint64_t total;
        double bytes_per_s;
        std::string eta;
    };
    const double nan = std::numeric_limits<double>::quiet_NaN();
    const std::vector<eta_case> cases = {
        {"seconds", 0, 59, 1, "0:00:59"},
        {"minutes and hours", 0, 3661, 1, "1:01:01"},
        {"rounded to the second", 0, 1000, 400, "0:00:03"},
        {"hours beyond a day", 0, 360'000, 1, "100:00:00"},
        {"done", 1000, 1000, 0, "0:00:00"},
        {"unknown total", 1000, 0, 1000, "--"},
        {"zero rate", 0, 1000, 0, "--"},
        {"not a rate", 0, 1000, nan, "--"},
        {"too far to mean anything", 0, 1'000'000'000, 1, "--"},
    };
    for (const eta_case& c : cases) {
        DYNAMIC_SECTION(c.name)
        {
            progress_snapshot s;
            s.bytes_done = c.done;
            s.bytes_total = c.total;
            CHECK(after(plain(s, 0, c.bytes_per_s), ", eta ") == c.eta);
            CHECK(on_terminal(s, 80, 0, c.bytes_per_s).find("eta " + c.eta) !=
                  std::string::npos);
        }
    }
}

TEST_CASE("rates print as whole numbers", "[load][progress]")
{
    const progress_snapshot s = example();
    CHECK(after(plain(s, 0.4), "rows loaded, ") == "0 rows/s");
    CHECK(after(plain(s, 2.5e6), "rows loaded, ") == "2500000 rows/s");
    CHECK(after(plain(s, -3), "rows loaded, ") == "0 rows/s");
}

TEST_CASE("the terminal line shows a bar and the figures", "[load][progress]")
{
    SECTION("known total")
    {
        CHECK(on_terminal(example(), 80, 98765.4, example_bytes_per_s()) ==
              " 35% [#######.............] 1.2 GiB/3.4 GiB  98765 rows/s  "
              "eta 0:00:42  x.gz");
    }

    SECTION("done")
    {
        progress_snapshot s = example();
        s.bytes_done = s.bytes_total;
        s.current.clear();
        CHECK(on_terminal(s, 80) ==
              "100% [####################] 3.4 GiB/3.4 GiB  0 rows/s  "
              "eta 0:00:00");
    }

    SECTION("unknown total: no percent, no bar")
    {
        progress_snapshot s = example();
        s.bytes_total = 0;
        CHECK(on_terminal(s, 80, 98765.4, 1e6) ==
              "1.2 GiB read  98765 rows/s  eta --  x.gz");
    }

    SECTION("no terminal control bytes")
    {
        const std::string line = on_terminal(example(), 80);
        CHECK(line.find('\r') == std::string::npos);
        CHECK(line.find('\x1b') == std::string::npos);
    }
}

TEST_CASE("the terminal line fits the width", "[load][progress]")
{
    progress_snapshot s = example();
    s.current = "/var/log/koreshield/archive/2026-01/"
                "koreshield-2026-01-01T00-00-00.log.gz";

    // The bar shrinks or goes, then the name loses its start, then the
    // figures are cut.
    // The whole line takes 145 columns.
    const std::vector<int> widths = {200, 145, 144, 120, 100, 80, 72,
                                     60,  52,  40,  20,  5,   1,  0};
    for (const int width : widths) {
        DYNAMIC_SECTION("width " << width)
        {
            const std::string line = on_terminal(s, width, 98765, 1e6);
            CHECK(columns(line) <= width);
            if (width >= 145) {
                CHECK(line.find(s.current) != std::string::npos);
            }
            if (width >= 60 && width < 145) {
                CHECK(line.find("  ...") != std::string::npos);
                CHECK(line.substr(line.size() - 7) == ".log.gz");
            }
        }
    }

    SECTION("the full line when it fits")
    {
        CHECK(on_terminal(s, 145, 98765, 1e6) ==
              " 35% [#######.............] 1.2 GiB/3.4 GiB  98765 rows/s  "
              "eta 0:39:22  " +
                  s.current);
    }

    SECTION("shortened from the left, keeping the file's name")
    {
        CHECK(on_terminal(s, 100, 98765, 1e6) ==
              " 35% [#######.............] 1.2 GiB/3.4 GiB  98765 rows/s  "
              "eta 0:39:22  ...026-01-01T00-00-00.log.gz");
    }

    SECTION("too narrow for the bar")
    {
        CHECK(on_terminal(s, 60, 98765, 1e6) ==
              " 35% 1.2 GiB/3.4 GiB  98765 rows/s  eta 0:39:22  ...0.log.gz");
    }

    SECTION("too narrow for the figures")
    {
        CHECK(on_terminal(s, 20, 98765, 1e6) == " 35% 1.2 GiB/3.4 GiB");
    }
}

TEST_CASE("file names are shortened between characters and made printable",
          "[load][progress]")
{
    progress_snapshot s = example();

    SECTION("multi-byte characters stay whole")
    {
        s.current = "données/journée-été-très-chargée-über-alles.log.gz";
        for (const int width : {60, 65, 70, 75, 80}) {
            const std::string line = on_terminal(s, width, 98765, 1e6);
            INFO(line);
            CHECK(columns(line) <= width);
            const std::size_t dots = line.find("  ...");
            REQUIRE(dots != std::string::npos);
            const auto after = static_cast<unsigned char>(line[dots + 5]);
            CHECK((after & 0xc0) != 0x80);
        }
    }

    SECTION("control bytes become '?'")
    {
        s.current = "evil\n\x1b[2Jname\r.gz";
        const std::string term = on_terminal(s, 200);
        const std::string log = plain(s);
        CHECK(term.find("evil??[2Jname?.gz") != std::string::npos);
        CHECK(log.find("file evil??[2Jname?.gz") != std::string::npos);
        CHECK(log.find('\n') == std::string::npos);
    }
}

TEST_CASE("without a terminal, update logs one line per interval",
          "[load][progress]")
{
    captured_stream out;

    SECTION("due: one plain line")
    {
        progress_display d(out.file(), false, 0ms);
        d.update(example());
        const std::string text = out.text();
        CHECK(text.rfind("progress: 1.2 GiB of 3.4 GiB (35%)", 0) == 0);
        CHECK(text.back() == '\n');
        CHECK(text.find('\r') == std::string::npos);

        // Nothing to clear in a log.
        d.finish();
        CHECK(out.text() == text);
    }

    SECTION("not due: nothing")
    {
        progress_display d(out.file(), false, 1h);
        for (int i = 0; i < 100; ++i)
            d.update(example());
        d.finish();
        CHECK(out.text().empty());
    }
}

TEST_CASE("on a terminal, update redraws in place and finish clears",
          "[load][progress]")
{
    captured_stream out;

    SECTION("drawn, then cleared")
    {
        progress_display d(out.file(), true, 0ms);
        d.update(example());
        const std::string drawn = out.text();
        REQUIRE(drawn.size() > 4);
        CHECK(drawn.front() == '\r');
        CHECK(drawn.substr(drawn.size() - 3) == "\x1b[K");
        CHECK(drawn.find('\n') == std::string::npos);

        // Without a window size the width falls back to 80 columns, one
        // of which stays free.
        CHECK(columns(drawn) - 4 <= 79);

        d.finish();
        CHECK(out.text() == drawn + "\r\x1b[K");
    }

    SECTION("never drawn, nothing to clear")
    {
        progress_display d(out.file(), true, 1h);
        d.update(example());
        d.finish();
        CHECK(out.text().empty());
    }
}

TEST_CASE("rates are measured between samples", "[load][progress]")
{
    captured_stream out;
    progress_display d(out.file(), false, 0ms);
    progress_snapshot s;

    // At least 300 ms pass between the two samples, so 3000 rows cannot
    // show as more than 10000 rows/s; some rate must show.
    d.update(s);
    std::this_thread::sleep_for(300ms);
    s.rows_loaded = 3000;
    d.update(s);

    const std::string text = out.text();
    const std::string last = text.substr(text.rfind("progress:"));
    const std::string rate = after(last, "rows loaded, ");
    INFO(last);
    REQUIRE(rate.size() > 7);
    const long rows_per_s = std::strtol(rate.c_str(), nullptr, 10);
    CHECK(rows_per_s > 0);
    CHECK(rows_per_s <= 10000);
}
