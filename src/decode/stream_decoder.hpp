#pragma once

#include "core/padded_buffer.hpp"
#include "decode/decode.hpp"

#include <array>
#include <cstddef>
#include <limits>
#include <memory>
#include <span>
#include <string>

namespace ks::decode {

namespace detail {
class inflater;
class zstd_reader;
} // namespace detail

/// Decodes one coded stream handed over chunk by chunk, appending the
/// decoded bytes to a padded_buffer in place. Reusable: reset() starts the
/// next stream and keeps the zlib and zstd contexts already made.
///
/// Streams: gzip may hold several members; deflate is zlib-wrapped, or raw
/// when its first two bytes fail the zlib header check; zstd may hold
/// several frames, frames without a content size, and skippable frames.
/// Anything after the last member or frame that does not start another
/// one is corrupt. snappy's raw block format is not a stream: feed()
/// refuses it (decode_snappy_block decodes a whole block).
///
/// Errors are sticky: after one, feed() and finish() return it again.
/// Threads: one decoder per thread.
class stream_decoder {
public:
    /// A max_output_bytes that sets no limit.
    static constexpr std::size_t unlimited =
        std::numeric_limits<std::size_t>::max();

    /// Makes a decoder for an identity stream; contexts come on first use.
    stream_decoder() noexcept;
    ~stream_decoder();
    stream_decoder(stream_decoder&&) noexcept;
    stream_decoder& operator=(stream_decoder&&) noexcept;
    stream_decoder(const stream_decoder&) = delete;
    stream_decoder& operator=(const stream_decoder&) = delete;

    /// Starts a new stream of `coding` that may decode to at most
    /// `max_output_bytes`. Throws std::bad_alloc only when a zlib or zstd
    /// context must be made and cannot be.
    void reset(encoding coding, std::size_t max_output_bytes = unlimited);

    /// Decodes `chunk` and appends the result to `out`; any chunk size,
    /// including empty, is fine.
    ///
    /// Errors: corrupt (input_offset is where the damage was seen),
    /// too_large (`out` then holds exactly the allowed bytes, and a zstd
    /// frame asking for a window far beyond the limit counts too). On
    /// error `out` keeps every byte decoded before it.
    [[nodiscard]] result feed(std::span<const char> chunk, padded_buffer& out);

    /// Declares the end of input. Errors: truncated when the input stopped
    /// inside a member or frame, or an earlier error again. A stream of no
    /// bytes at all is fine under every coding.
    [[nodiscard]] result finish();

    /// Input bytes taken so far.
    std::size_t input_bytes() const noexcept;

    /// Decoded bytes appended so far.
    std::size_t output_bytes() const noexcept { return output_bytes_; }

private:
    void start_zstd();
    result feed_identity(std::span<const char> in, padded_buffer& out);
    result feed_deflate(std::span<const char> in, padded_buffer& out);
    result run_inflate(std::span<const char> in, padded_buffer& out);
    result run_zstd(std::span<const char> in, padded_buffer& out);

    result open_unit();
    result check_head(std::span<const char> slice);
    void choose_deflate_wrapping(unsigned char cmf, unsigned char flg);

    std::span<char> room(padded_buffer& out);
    void reserve_room(padded_buffer& out, std::size_t need);
    bool keep(padded_buffer& out, std::size_t produced) noexcept;

    result inflate_failure(int status);
    result zstd_failure(std::size_t code);
    result too_large();
    std::string unit_label() const;
    const char* unit_noun() const noexcept;
    result fail(errc code, std::size_t offset, std::string message);
    result ok() const;

    std::unique_ptr<detail::inflater> inflater_;
    std::unique_ptr<detail::zstd_reader> zstd_;

    encoding coding_ = encoding::identity;
    std::size_t max_output_bytes_ = unlimited;
    std::size_t input_bytes_ = 0; // taken by the codec, see input_bytes()
    std::size_t output_bytes_ = 0;

    // Members (gzip) or frames (zstd) finished, and whether one is open.
    std::size_t units_done_ = 0;
    bool unit_open_ = false;
    std::size_t unit_start_ = 0; // input offset where the open one began

    // First bytes of the open unit: its magic, or for deflate the two
    // bytes that tell the wrapping, kept until both have arrived.
    std::array<unsigned char, 4> head_{};
    std::size_t head_len_ = 0;
    bool deflate_started_ = false;
    bool deflate_raw_ = false;

    // Input to hand libzstd in its next call; see zstd_slice_for.
    std::size_t zstd_slice_ = 0;

    result error_;
};

} // namespace ks::decode
