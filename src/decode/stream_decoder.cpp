#include "decode/stream_decoder.hpp"

#include "decode/inflater.hpp"
#include "decode/magic.hpp"
#include "decode/zstd_reader.hpp"

#include <zstd_errors.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cstring>
#include <new>
#include <utility>

namespace ks::decode {
namespace {

// Smallest room offered to a codec per call; from there it doubles with
// the output, so a body costs a logarithmic number of reallocations.
constexpr std::size_t min_room_bytes = 64u << 10;

// Bytes of a zstd frame needed before libzstd knows its header size: the
// 4-byte magic and the frame header descriptor.
constexpr std::size_t zstd_frame_prefix_bytes = 5;

// libzstd allocates a frame's declared window up front, and a frame may
// declare up to 2^31 bytes. Allow what the output limit could need, but
// never less than the 2^23 that levels 1 to 19 choose for input of unknown
// size, and never more than libzstd's own default cap of 2^27.
constexpr int zstd_min_window_log = 23;
constexpr int zstd_max_window_log = 27;

// What libzstd adds to its input hint for the next block's header.
constexpr std::size_t zstd_block_header_bytes = 3;

// Input for the next ZSTD_decompressStream call, from the hint the last
// one returned. The hint covers the next block and the header of the one
// after; leaving that header out makes each call decode one block and
// report its output before the next header is read, so damage there
// loses no earlier output. (A whole frame in one call would even take a
// single-pass path that reports no output at all on error.) Any slice is
// valid input; this only decides where calls end.
std::size_t zstd_slice_for(std::size_t hint) noexcept
{
    if (hint > zstd_block_header_bytes) return hint - zstd_block_header_bytes;
    return hint;
}

int window_log_for(std::size_t max_output_bytes) noexcept
{
    const int bits = static_cast<int>(std::bit_width(max_output_bytes));
    return std::clamp(bits, zstd_min_window_log, zstd_max_window_log);
}

// "1 complete member", "2 complete members".
std::string count_of(std::size_t n, const char* noun)
{
    std::string s = std::to_string(n) + " complete " + noun;
    if (n != 1) s += 's';
    return s;
}

// libzstd names its errors with a capital; ours sit mid-sentence.
std::string lower_first(const char* text)
{
    std::string s(text);
    if (!s.empty())
        s[0] =
            static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    return s;
}

} // namespace

stream_decoder::stream_decoder() noexcept = default;
stream_decoder::~stream_decoder() = default;
stream_decoder::stream_decoder(stream_decoder&&) noexcept = default;
stream_decoder& stream_decoder::operator=(stream_decoder&&) noexcept = default;

void stream_decoder::reset(encoding coding, std::size_t max_output_bytes)
{
    // Forget the previous stream entirely.
    coding_ = coding;
    max_output_bytes_ = max_output_bytes;
    input_bytes_ = 0;
    output_bytes_ = 0;
    units_done_ = 0;
    unit_open_ = false;
    unit_start_ = 0;
    head_len_ = 0;
    deflate_started_ = false;
    deflate_raw_ = false;
    zstd_slice_ = zstd_frame_prefix_bytes;
    error_ = {};

    // Contexts are made on first need and kept for later streams. Deflate
    // restarts its inflater once the first two bytes tell the wrapping.
    if (coding == encoding::gzip || coding == encoding::deflate) {
        if (!inflater_)
            inflater_ = std::make_unique<detail::inflater>();
        else if (coding == encoding::gzip)
            inflater_->restart(detail::gzip_window_bits);
    }
    if (coding == encoding::zstd) start_zstd();
}

void stream_decoder::start_zstd()
{
    if (!zstd_) zstd_ = std::make_unique<detail::zstd_reader>();

    // Restarting only fails on a context in a bad state; a new one is the
    // way out, and a second failure is reported by the first feed().
    const int window_log = window_log_for(max_output_bytes_);
    std::size_t code = zstd_->restart(window_log);
    if (ZSTD_isError(code)) {
        zstd_ = std::make_unique<detail::zstd_reader>();
        code = zstd_->restart(window_log);
    }
    if (ZSTD_isError(code))
        (void)fail(errc::corrupt, 0,
                   "zstd refused its decoder settings: " +
                       lower_first(ZSTD_getErrorName(code)));
}

result stream_decoder::feed(std::span<const char> chunk, padded_buffer& out)
{
    if (error_.error != errc::ok) return error_;

    switch (coding_) {
    case encoding::identity:
        return feed_identity(chunk, out);
    case encoding::gzip:
        return run_inflate(chunk, out);
    case encoding::deflate:
        return feed_deflate(chunk, out);
    case encoding::zstd:
        return run_zstd(chunk, out);
    case encoding::snappy:
        // A raw block is not a stream: decode_snappy_block takes it whole.
        return fail(errc::unsupported_encoding, 0,
                    "snappy blocks are decoded whole, not as a stream");
    }
    return ok();
}

result stream_decoder::finish()
{
    if (error_.error != errc::ok) return error_;
    if (!unit_open_) return ok();

    const std::string label = unit_label();
    const std::string at = std::to_string(input_bytes());
    return fail(errc::truncated, input_bytes(),
                label + " is truncated: the input ends at byte " + at +
                    " before the end of the " + unit_noun());
}

std::size_t stream_decoder::input_bytes() const noexcept
{
    // A deflate byte waiting in head_ was taken but not yet inflated.
    const bool waiting = coding_ == encoding::deflate && !deflate_started_;
    return input_bytes_ + (waiting ? head_len_ : 0);
}

result stream_decoder::feed_identity(std::span<const char> in,
                                     padded_buffer& out)
{
    // Copy what the limit allows, growing `out` no further than that.
    const std::size_t allowance = max_output_bytes_ - output_bytes_;
    const std::size_t n = std::min(in.size(), allowance);
    if (n == 0) return in.empty() ? ok() : too_large();
    reserve_room(out, n);
    out.append(in.data(), n);
    output_bytes_ += n;
    input_bytes_ += n;

    if (n < in.size()) return too_large();
    return ok();
}

result stream_decoder::feed_deflate(std::span<const char> in,
                                    padded_buffer& out)
{
    if (deflate_started_) return run_inflate(in, out);

    // The first two bytes tell the wrapping; usually both are here.
    if (head_len_ == 0 && in.size() >= 2) {
        choose_deflate_wrapping(static_cast<unsigned char>(in[0]),
                                static_cast<unsigned char>(in[1]));
        return run_inflate(in, out);
    }

    // Otherwise the first byte waits in head_ for the second one.
    const std::size_t take = std::min<std::size_t>(2 - head_len_, in.size());
    if (take != 0) std::memcpy(head_.data() + head_len_, in.data(), take);
    head_len_ += take;
    unit_open_ = head_len_ > 0;
    if (head_len_ < 2) return ok();

    // Inflate the two waiting bytes, then the rest of this chunk.
    choose_deflate_wrapping(head_[0], head_[1]);
    std::array<char, 2> first{};
    std::memcpy(first.data(), head_.data(), first.size());
    const result head = run_inflate(first, out);
    if (head.error != errc::ok) return head;
    return run_inflate(in.subspan(take), out);
}

result stream_decoder::run_inflate(std::span<const char> in, padded_buffer& out)
{
    std::size_t pos = 0;
    bool flush_pending = false;
    while (pos < in.size() || flush_pending) {
        // Open the next member, or refuse what follows the last one.
        if (!unit_open_) {
            const result opened = open_unit();
            if (opened.error != errc::ok) return opened;
        }
        const std::span<const char> rest = in.subspan(pos);
        const result head = check_head(rest);
        if (head.error != errc::ok) return head;

        // Inflate what fits, then keep only what the limit allows.
        const std::span<char> dst = room(out);
        const detail::inflate_step step = inflater_->run(rest, dst);
        pos += step.consumed;
        input_bytes_ += step.consumed;
        const bool fits = keep(out, step.produced);

        // Damage is reported before overflow: the output is suspect then.
        const bool ended = step.status == Z_STREAM_END;
        if (ended) {
            unit_open_ = false;
            ++units_done_;
        } else if (step.status != Z_OK && step.status != Z_BUF_ERROR) {
            return inflate_failure(step.status);
        }
        if (!fits) return too_large();

        // A full output may hide more. With room to write, zlib always
        // takes input it is given, so standing still means it has flushed
        // all; standing still on input would otherwise drop it unseen.
        flush_pending = unit_open_ && step.produced == dst.size();
        if (!ended && step.consumed == 0 && step.produced == 0) {
            if (pos < in.size()) return inflate_failure(Z_STREAM_ERROR);
            break;
        }
    }
    return ok();
}

result stream_decoder::run_zstd(std::span<const char> in, padded_buffer& out)
{
    std::size_t pos = 0;
    bool flush_pending = false;
    while (pos < in.size() || flush_pending) {
        if (!unit_open_) {
            const result opened = open_unit();
            if (opened.error != errc::ok) return opened;
        }

        // Pending output goes out in calls without input: a damaged
        // header read in the same call would lose it (libzstd reports no
        // output with an error).
        const std::size_t want =
            flush_pending ? 0 : std::max<std::size_t>(zstd_slice_, 1);
        const auto slice = in.subspan(pos, std::min(in.size() - pos, want));
        const result head = check_head(slice);
        if (head.error != errc::ok) return head;

        // Decompress, then keep only what the limit allows.
        const std::span<char> dst = room(out);
        ZSTD_inBuffer zin{slice.data(), slice.size(), 0};
        ZSTD_outBuffer zout{dst.data(), dst.size(), 0};
        const std::size_t code = zstd_->run(zin, zout);
        pos += zin.pos;
        input_bytes_ += zin.pos;
        const bool fits = keep(out, zout.pos);

        // 0 means the frame is complete and flushed; else the next hint.
        if (ZSTD_isError(code)) return zstd_failure(code);
        if (code == 0) {
            unit_open_ = false;
            ++units_done_;
            zstd_slice_ = zstd_frame_prefix_bytes;
        } else {
            zstd_slice_ = zstd_slice_for(code);
        }
        if (!fits) return too_large();

        // A full output may hide more. libzstd buffers any input it is
        // given, so standing still on input would drop it unseen.
        flush_pending = unit_open_ && zout.pos == zout.size;
        const bool stuck = zin.pos == 0 && zout.pos == 0;
        if (code != 0 && stuck && !slice.empty())
            return fail(errc::corrupt, input_bytes_,
                        unit_label() + " made libzstd stop taking input");
    }
    return ok();
}

result stream_decoder::open_unit()
{
    // A deflate body is one stream; nothing may follow it.
    if (coding_ == encoding::deflate) {
        const std::string at = std::to_string(input_bytes_);
        return fail(errc::corrupt, input_bytes_,
                    unit_label() + " ends at byte " + at +
                        " but more bytes follow it");
    }

    // gzip members and zstd frames may follow one another.
    if (coding_ == encoding::gzip && units_done_ != 0)
        inflater_->restart(detail::gzip_window_bits);
    unit_open_ = true;
    unit_start_ = input_bytes_;
    head_len_ = 0;
    return ok();
}

result stream_decoder::check_head(std::span<const char> slice)
{
    // Only gzip members and zstd frames have a magic to check.
    std::size_t need = 0;
    if (coding_ == encoding::gzip) need = detail::gzip_magic_bytes;
    if (coding_ == encoding::zstd) need = detail::zstd_magic_bytes;
    if (head_len_ >= need) return ok();

    // The codecs would wait for more bytes on a lone trailing zero; seeing
    // each magic byte as it comes reports such garbage as corrupt.
    const std::size_t take = std::min(need - head_len_, slice.size());
    if (take != 0) std::memcpy(head_.data() + head_len_, slice.data(), take);
    head_len_ += take;
    const std::span<const unsigned char> seen(head_.data(), head_len_);
    const bool fine = coding_ == encoding::gzip ? detail::could_open_gzip(seen)
                                                : detail::could_open_zstd(seen);
    if (fine) return ok();

    // Say whether the body was never this coding or had trailing garbage.
    const std::string name(encoding_name(coding_));
    const char* magic = coding_ == encoding::gzip
                            ? "the gzip magic bytes 1f 8b"
                            : "a zstd or skippable frame magic number";
    if (units_done_ == 0)
        return fail(errc::corrupt, unit_start_,
                    name + " body does not start with " + magic);
    return fail(errc::corrupt, unit_start_,
                name + " body holds " + count_of(units_done_, unit_noun()) +
                    ", then data at byte " + std::to_string(unit_start_) +
                    " that does not start with " + magic);
}

void stream_decoder::choose_deflate_wrapping(unsigned char cmf,
                                             unsigned char flg)
{
    // RFC 1950: method 8, a window of at most 32 KiB, and a 16-bit header
    // that is a multiple of 31. Raw deflate data rarely passes all three.
    const bool zlib =
        (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
    deflate_raw_ = !zlib;
    inflater_->restart(zlib ? detail::zlib_window_bits
                            : detail::raw_window_bits);
    deflate_started_ = true;
    unit_open_ = true;
}

std::span<char> stream_decoder::room(padded_buffer& out)
{
    // One byte beyond the allowance lets an overflow be seen, not guessed,
    // without ever reserving more than the limit plus that byte.
    const std::size_t allowance = max_output_bytes_ - output_bytes_;
    const std::size_t cap = allowance == unlimited ? allowance : allowance + 1;
    const std::size_t want =
        std::min(std::max(min_room_bytes, out.size()), cap);
    reserve_room(out, want);
    return {out.prepare(want), want};
}

void stream_decoder::reserve_room(padded_buffer& out, std::size_t need)
{
    // Enough room already: growing now would copy the content again for
    // every block decoded, which is quadratic in the body size.
    if (out.capacity() - out.size() >= need) return;

    // Double the content as it grows, but never past what may still come:
    // the allowance, plus the one byte that reveals an overflow.
    const std::size_t allowance = max_output_bytes_ - output_bytes_;
    const std::size_t doubled = std::max({need, min_room_bytes, out.size()});
    const std::size_t extra = std::min(doubled, std::max(need, allowance));
    out.reserve(out.size() + extra);
}

bool stream_decoder::keep(padded_buffer& out, std::size_t produced) noexcept
{
    const std::size_t allowance = max_output_bytes_ - output_bytes_;
    const std::size_t n = std::min(produced, allowance);
    out.commit(n);
    output_bytes_ += n;
    return produced <= allowance;
}

result stream_decoder::inflate_failure(int status)
{
    // zlib could not allocate its 32 KiB window: the process is out of
    // memory, which everywhere else in C++ is std::bad_alloc too.
    if (status == Z_MEM_ERROR) throw std::bad_alloc();

    std::string why;
    if (status == Z_DATA_ERROR)
        why = inflater_->message();
    else if (status == Z_NEED_DICT)
        why = "it needs a preset dictionary, which a body cannot name";
    else
        why = "zlib found its stream state inconsistent";

    const std::string at = std::to_string(input_bytes_);
    return fail(errc::corrupt, input_bytes_,
                unit_label() + " is corrupt at byte " + at + ": " + why);
}

result stream_decoder::zstd_failure(std::size_t code)
{
    const std::string label = unit_label();
    const ZSTD_ErrorCode kind = ZSTD_getErrorCode(code);

    // A window beyond the cap is refused before any of it is allocated.
    if (kind == ZSTD_error_frameParameter_windowTooLarge) {
        const std::string log =
            std::to_string(window_log_for(max_output_bytes_));
        return fail(errc::too_large, unit_start_,
                    label + " asks for a window over 2^" + log +
                        " bytes, more than the output limit allows");
    }
    if (kind == ZSTD_error_memory_allocation)
        return fail(errc::too_large, input_bytes_,
                    label + " needs more memory than could be allocated");

    const std::string at = std::to_string(input_bytes_);
    return fail(errc::corrupt, input_bytes_,
                label + " is corrupt at byte " + at + ": " +
                    lower_first(ZSTD_getErrorName(code)));
}

result stream_decoder::too_large()
{
    const std::string name(encoding_name(coding_));
    return fail(errc::too_large, input_bytes(),
                name + " body decodes to more than " +
                    std::to_string(max_output_bytes_) +
                    " bytes, the limit; decoding stopped at input byte " +
                    std::to_string(input_bytes()));
}

std::string stream_decoder::unit_label() const
{
    const std::string n = std::to_string(units_done_ + 1);
    switch (coding_) {
    case encoding::gzip:
        return "gzip member " + n;
    case encoding::zstd:
        return "zstd frame " + n;
    case encoding::deflate:
        if (!deflate_started_) return "deflate stream";
        return deflate_raw_ ? "raw deflate stream"
                            : "zlib-wrapped deflate stream";
    case encoding::identity:
    case encoding::snappy:
        break;
    }
    return "identity body";
}

const char* stream_decoder::unit_noun() const noexcept
{
    if (coding_ == encoding::gzip) return "member";
    if (coding_ == encoding::zstd) return "frame";
    return "stream";
}

result stream_decoder::fail(errc code, std::size_t offset, std::string message)
{
    error_ = {code, offset, std::move(message), 0};
    return error_;
}

result stream_decoder::ok() const
{
    result r;
    r.input_offset = input_bytes();
    return r;
}

} // namespace ks::decode
