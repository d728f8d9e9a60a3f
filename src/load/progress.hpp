#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace ks::load {

/// What a progress report shows; the loader fills it in.
struct progress_snapshot {
    std::uint64_t bytes_done = 0;  // input bytes of the files read so far
    std::uint64_t bytes_total = 0; // of every file to load (0: unknown)
    std::uint64_t rows_loaded = 0; // committed so far
    std::uint64_t dead_lettered = 0;
    std::uint64_t files_done = 0;
    std::uint64_t files_total = 0;
    std::string current; // file being read, may be empty
};

/// Shows progress on a stream: on a terminal a one-line bar redrawn in
/// place (bytes done of total, rows/s, ETA), otherwise a plain log line;
/// either at most once per `interval`, the first after one interval.
/// Rates are measured over the last few seconds, so they follow changes
/// in speed. Not thread-safe: one thread updates it.
class progress_display {
public:
    progress_display(std::FILE* out, bool terminal,
                     std::chrono::milliseconds interval);

    /// Draws or logs when it is time to; call it often, it is cheap.
    void update(const progress_snapshot& now);

    /// Clears the bar (on a terminal) so that the summary starts on a
    /// clean line.
    void finish();

    /// The line that update() would draw for `now`, without the
    /// terminal's control bytes. `elapsed_s` is the time since the start
    /// (the plain line shows it), the rates are those over the recent
    /// window; a rate of 0 leaves the ETA unknown ("--"), and so does an
    /// unknown total. On a terminal the line fits in `width` columns
    /// (counted as UTF-8 code points): the bar shrinks, then the file name
    /// is shortened from the left, then the line is cut. The plain line
    /// ignores `width`. Control bytes in the file name are shown as '?'.
    /// Exposed for tests.
    static std::string render(const progress_snapshot& now, double elapsed_s,
                              double rows_per_s, double bytes_per_s,
                              bool terminal, int width);

private:
    /// Rows and bytes at one moment, for the rates.
    struct sample {
        std::chrono::steady_clock::time_point at;
        std::uint64_t rows = 0;
        std::uint64_t bytes = 0;
    };

    /// Rates over the samples kept: about the last four seconds.
    static constexpr std::size_t sample_slots = 16;
    static constexpr std::chrono::milliseconds sample_every{250};

    void take_sample(std::chrono::steady_clock::time_point at,
                     const progress_snapshot& now);
    const sample& oldest_sample() const;
    int terminal_width() const;

    std::FILE* out_;
    bool terminal_;
    std::chrono::milliseconds interval_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point last_draw_;
    std::array<sample, sample_slots> samples_{}; // a ring over the count
    std::size_t sample_count_ = 0;               // taken since the start
    bool drawn_ = false;
};

} // namespace ks::load
