#include "load/chunker.hpp"

#include "decode/sniff.hpp"
#include "decode/stream_decoder.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <string_view>
#include <utility>

namespace ks::load {

namespace {

// Bytes asked of read_function at a time.
constexpr std::size_t read_block_bytes = 1u << 20;

// Compressed input handed to the decoder at a time: enough, at the
// expansion seen so far, to cover what filling still needs, within these
// bounds. Filling stops once the window is covered, so decoding overshoots
// it by little even for zstd frames that expand ten-thousandfold.
constexpr std::size_t min_slice_bytes = 256;
constexpr std::size_t max_slice_bytes = 64u << 10;

// Bytes sniff() needs to tell every coding apart.
constexpr std::size_t sniff_bytes = 4;

// Line feeds in `text`.
std::uint64_t count_lines(std::string_view text) noexcept
{
    return static_cast<std::uint64_t>(
        std::count(text.begin(), text.end(), '\n'));
}

} // namespace

struct chunker::impl {
    impl(read_function read, chunker_options options);

    bool next(chunk& out);

    /// Reads the first bytes, sniffs the coding and starts the decoder.
    void start();

    /// Decodes until more than `want` bytes are pending or input ends.
    void fill(std::size_t want);

    /// Input to decode next to get `need` more bytes, or a bit more.
    std::size_t slice_for(std::uint64_t need) const noexcept;

    /// Reads the next block; false at the end of input.
    bool read_block();

    /// Decodes up to `n` bytes of the block read last.
    void decode_slice(std::size_t n);

    /// Declares the end of input to the decoder.
    void end_input();

    /// Drops decoded bytes that lie before the start point.
    void drop_skipped() noexcept;

    /// Moves pending text to the front when that is cheap enough.
    void compact() noexcept;

    /// A framer for pending text that starts where the next chunk does.
    frame::framer framer_over(std::string_view text) const noexcept;

    /// Cuts the first `window` pending bytes after their last record that
    /// framing can resume after; false when there is none.
    bool cut_window(std::size_t window, chunk& out);

    /// Cuts a window that holds no such record: after its first record
    /// that may go on past the window, however damaged that leaves it.
    void cut_forced(std::size_t window, chunk& out);

    /// Makes all pending text the last chunk, framed whole.
    void cut_last(chunk& out);

    /// Moves the first `size` pending bytes into `out` and goes on after
    /// them in state `after`.
    void hand_out(chunk& out, std::size_t size, std::uint64_t blank_lines,
                  const frame::resume_state& after, bool last);

    std::size_t pending_bytes() const noexcept
    {
        return pending_.size() - begin_;
    }

    read_function read_;
    std::size_t chunk_bytes_;
    std::size_t max_window_bytes_;

    // Input: a block read ahead, and how far the decoder has taken it.
    decode::stream_decoder decoder_;
    decode::encoding coding_ = decode::encoding::identity;
    decode::result damage_;
    std::unique_ptr<char[]> block_;
    std::size_t block_pos_ = 0;
    std::size_t block_len_ = 0;
    bool started_ = false;
    bool input_ended_ = false; // read_function said so: never ask again
    bool decoded_all_ = false; // decoding is over, completely or not
    bool done_ = false;        // the last chunk went out

    // Decoded text not yet in a chunk: pending_[begin_, size()). It
    // starts at decoded offset offset_, where framing is in state_.
    padded_buffer pending_;
    std::size_t begin_ = 0;
    std::uint64_t skip_bytes_ = 0; // still to drop before the start point
    std::uint64_t offset_ = 0;
    frame::resume_state state_;
    bool fresh_ = false; // at decoded offset 0: a byte order mark counts

    // Progress may be shown by another thread.
    std::atomic<std::uint64_t> input_bytes_{0};
    std::uint64_t decoded_bytes_ = 0;
};

chunker::impl::impl(read_function read, chunker_options options)
    : read_(std::move(read)),
      chunk_bytes_(std::max<std::size_t>(options.chunk_bytes, 1)),
      max_window_bytes_(std::max(options.max_window_bytes, chunk_bytes_)),
      block_(std::make_unique_for_overwrite<char[]>(read_block_bytes))
{
    // From the beginning of the input numbering starts afresh.
    const start_point& s = options.start;
    skip_bytes_ = s.decoded_offset;
    offset_ = s.decoded_offset;
    fresh_ = s.decoded_offset == 0;
    if (!fresh_) {
        state_.line = s.line;
        state_.index = s.index;
    }
}

bool chunker::impl::next(chunk& out)
{
    if (done_) return false;
    if (!started_) start();

    // The window grows only while no record fits; whether the rest is the
    // last chunk is decided by its size alone, so that how input arrives
    // never moves a cut.
    std::size_t window = chunk_bytes_;
    for (;;) {
        fill(window);
        if (decoded_all_ && pending_bytes() <= window) {
            cut_last(out);
            return true;
        }

        if (cut_window(window, out)) return true;
        if (window == max_window_bytes_) {
            cut_forced(window, out);
            return true;
        }
        window =
            window > max_window_bytes_ / 2 ? max_window_bytes_ : window * 2;
    }
}

void chunker::impl::start()
{
    // sniff() needs 4 bytes to tell zstd from text; reads may be shorter.
    while (block_len_ < sniff_bytes && !input_ended_) {
        const std::size_t n =
            read_(block_.get() + block_len_, read_block_bytes - block_len_);
        input_bytes_.fetch_add(n, std::memory_order_relaxed);
        block_len_ += n;
        input_ended_ = n == 0;
    }

    coding_ = decode::sniff({block_.get(), block_len_});
    decoder_.reset(coding_);
    started_ = true;
}

void chunker::impl::fill(std::size_t want)
{
    while (!decoded_all_ && pending_bytes() <= want) {
        if (block_pos_ == block_len_ && !read_block()) {
            end_input();
            return;
        }
        // Text before the start point is dropped as it comes, a window's
        // worth at a time at most.
        const std::uint64_t skip = std::min<std::uint64_t>(skip_bytes_, want);
        decode_slice(slice_for(skip + want + 1 - pending_bytes()));
    }
}

std::size_t chunker::impl::slice_for(std::uint64_t need) const noexcept
{
    // Plain text does not expand: it may go in a block at a time.
    if (coding_ == decode::encoding::identity) return read_block_bytes;

    const double in = static_cast<double>(decoder_.input_bytes());
    const double out = static_cast<double>(decoder_.output_bytes());
    if (out == 0) return min_slice_bytes;
    const double guess = static_cast<double>(need) * in / out + 1;
    return guess >= max_slice_bytes
               ? max_slice_bytes
               : std::max(static_cast<std::size_t>(guess), min_slice_bytes);
}

bool chunker::impl::read_block()
{
    if (input_ended_) return false;

    const std::size_t n = read_(block_.get(), read_block_bytes);
    input_bytes_.fetch_add(n, std::memory_order_relaxed);
    block_pos_ = 0;
    block_len_ = n;
    input_ended_ = n == 0;
    return n != 0;
}

void chunker::impl::decode_slice(std::size_t n)
{
    compact();
    n = std::min(n, block_len_ - block_pos_);

    const std::size_t before = pending_.size();
    const decode::result r =
        decoder_.feed({block_.get() + block_pos_, n}, pending_);
    block_pos_ += n;
    decoded_bytes_ += pending_.size() - before;
    drop_skipped();

    // Damage ends the text; what was decoded before it stays.
    if (r.error != decode::errc::ok) {
        damage_ = r;
        decoded_all_ = true;
    }
}

void chunker::impl::end_input()
{
    // An input that stops inside a member or frame is damage too.
    const decode::result r = decoder_.finish();
    if (r.error != decode::errc::ok) damage_ = r;
    decoded_all_ = true;
}

void chunker::impl::drop_skipped() noexcept
{
    if (skip_bytes_ == 0) return;

    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(skip_bytes_, pending_bytes()));
    begin_ += n;
    skip_bytes_ -= n;
    if (begin_ == pending_.size()) {
        pending_.clear();
        begin_ = 0;
    }
}

void chunker::impl::compact() noexcept
{
    // Moving the rest to the front costs no more than the bytes handed out
    // since the last move, so each byte is moved about once; until then
    // the buffer holds at most twice the rest.
    const std::size_t rest = pending_bytes();
    if (begin_ == 0 || begin_ < rest) return;

    std::memmove(pending_.data(), pending_.data() + begin_, rest);
    pending_.resize(rest);
    begin_ = 0;
}

frame::framer chunker::impl::framer_over(std::string_view text) const noexcept
{
    if (fresh_) return frame::framer(text);
    return frame::framer(text, state_);
}

bool chunker::impl::cut_window(std::size_t window, chunk& out)
{
    // Records up to the first that may go on past the window are framed
    // as in the whole text (see frame::framer, "Framing in pieces").
    const std::string_view text(pending_.data() + begin_, window);
    frame::framer f = framer_over(text);
    out.records.clear();
    frame::record r;
    frame::stop_point cut;
    std::size_t kept = 0;
    bool found = false;
    bool all_sure = true;
    while (f.next(r)) {
        const frame::stop_point p = f.where();
        if (r.open_at_end || p.offset >= window) {
            all_sure = false;
            break;
        }
        out.records.push_back(r);
        if (p.resumable) {
            cut = p;
            kept = out.records.size();
            found = true;
        }
    }

    // A window ending between values of the stream is cut at its end.
    if (all_sure) {
        const frame::stop_point p = f.where();
        if (p.resumable) {
            cut = p;
            kept = out.records.size();
            found = true;
        }
    }
    if (!found) return false;

    // What follows the cut is framed again in the next chunk.
    out.records.resize(kept);
    hand_out(out, cut.offset, cut.blank_lines, cut.state, false);
    return true;
}

void chunker::impl::cut_forced(std::size_t window, chunk& out)
{
    // The first record that may go on is either cut by the window end, or
    // a value left open and cut at the end of its first line. Going on
    // after it, rather than after all the window, keeps the lines after
    // such a value whole: they are framed as a new stream, as the whole
    // text would frame them if the value never closes.
    const std::string_view text(pending_.data() + begin_, window);
    frame::framer f = framer_over(text);
    out.records.clear();
    frame::record r;
    frame::stop_point stop;
    bool went_on = true;
    while (went_on && f.next(r)) {
        stop = f.where();
        went_on = !r.open_at_end && stop.offset < window;

        // A line or element that ran into the window end has no defect of
        // its own: it gets the one the cut gives it.
        if (r.open_at_end && r.problem == frame::defect::none) {
            r.problem = frame::defect::unterminated;
            r.problem_offset = window;
        }
        out.records.push_back(r);
    }
    if (went_on) stop = f.where();
    const std::size_t cut = std::max<std::size_t>(stop.offset, 1);

    // The rest of the cut record comes as a stream on the same line; the
    // framer may not have counted the lines of the bytes it gave up on.
    frame::resume_state after;
    after.line = state_.line + count_lines(text.substr(0, cut));
    after.index = state_.index + out.records.size();
    after.in_array = false;
    after.arrays_only = false;
    after.line_has_record = true;
    after.line_has_space = false;
    hand_out(out, cut, stop.blank_lines, after, false);
}

void chunker::impl::cut_last(chunk& out)
{
    const std::string_view text(pending_.data() + begin_, pending_bytes());
    frame::framer f = framer_over(text);
    out.records.clear();
    frame::record r;
    while (f.next(r))
        out.records.push_back(r);

    // A framer gives up on the rest of a broken array without counting
    // its lines; the end line is counted here instead.
    frame::resume_state end = state_;
    end.line += count_lines(text);
    end.index += out.records.size();
    hand_out(out, text.size(), f.blank_lines(), end, true);
    done_ = true;

    // Nothing more is read: give the memory back now.
    pending_ = padded_buffer();
    begin_ = 0;
    block_.reset();
    block_len_ = 0;
    block_pos_ = 0;
}

void chunker::impl::hand_out(chunk& out, std::size_t size,
                             std::uint64_t blank_lines,
                             const frame::resume_state& after, bool last)
{
    out.offset = offset_;
    out.next_offset = offset_ + size;
    out.first_line = state_.line;
    out.first_index = state_.index;
    out.text.clear();
    out.text.append(pending_.data() + begin_, size);
    out.blank_lines = blank_lines;
    out.last = last;

    begin_ += size;
    offset_ += size;
    state_ = after;
    fresh_ = false;
}

chunker::chunker(read_function read, chunker_options options)
    : impl_(std::make_unique<impl>(std::move(read), options))
{
}

chunker::~chunker() = default;

bool chunker::next(chunk& out)
{
    return impl_->next(out);
}

const decode::result& chunker::damage() const noexcept
{
    return impl_->damage_;
}

decode::encoding chunker::coding() const noexcept
{
    return impl_->coding_;
}

std::uint64_t chunker::input_bytes() const noexcept
{
    return impl_->input_bytes_.load(std::memory_order_relaxed);
}

std::uint64_t chunker::decoded_bytes() const noexcept
{
    return impl_->decoded_bytes_;
}

std::uint64_t chunker::end_line() const noexcept
{
    return impl_->state_.line;
}

std::uint64_t chunker::end_index() const noexcept
{
    return impl_->state_.index;
}

} // namespace ks::load
