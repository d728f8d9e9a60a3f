#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

// SSE2 is part of the x86_64 baseline, so no runtime check is needed.
// Defining KS_FRAME_SCALAR forces the portable kernels, as other
// architectures get; tests compare the two.
#if defined(__SSE2__) && !defined(KS_FRAME_SCALAR)
#define KS_FRAME_SSE2 1
#include <emmintrin.h>
#endif

namespace ks::frame::detail {

/// Bytes one block classification covers.
inline constexpr std::size_t block_bytes = 64;

/// True for the bytes that end a run of plain string content: '"', '\\'
/// and the raw control bytes below 0x20.
inline bool is_string_stop(char c) noexcept
{
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == '"' || u == '\\';
}

/// Index of the first string stop in data[from, size), or size if none.
/// Reads one byte at a time; the reference for the vector version.
inline std::size_t find_string_stop_scalar(const char* data, std::size_t from,
                                           std::size_t size) noexcept
{
    while (from < size && !is_string_stop(data[from]))
        ++from;
    return from;
}

/// Bit i of each mask describes byte i of a 64-byte block.
struct block_masks {
    std::uint64_t quote = 0;     // '"'
    std::uint64_t backslash = 0; // '\\'
    std::uint64_t bracket = 0;   // '{', '}', '[' or ']'
    std::uint64_t control = 0;   // below 0x20, line feed included
};

// TODO: there is no NEON kernel; other architectures run this loop, which
// frames about 6x slower than the SSE2 kernel.
/// Classifies the 64 bytes at `p` one at a time; the reference for the
/// vector version.
inline block_masks classify_block_scalar(const char* p) noexcept
{
    block_masks m;
    for (std::size_t i = 0; i < block_bytes; ++i) {
        const auto u = static_cast<unsigned char>(p[i]);
        const std::uint64_t bit = std::uint64_t{1} << i;
        if (u == '"')
            m.quote |= bit;
        else if (u == '\\')
            m.backslash |= bit;
        else if (u == '{' || u == '}' || u == '[' || u == ']')
            m.bracket |= bit;
        else if (u < 0x20)
            m.control |= bit;
    }
    return m;
}

#ifdef KS_FRAME_SSE2
/// Bit i set when byte i of the 16 at `p` is a string stop.
inline unsigned string_stop_mask(const char* p) noexcept
{
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));

    // max(v, 0x1f) equals 0x1f exactly for the unsigned bytes below 0x20.
    const __m128i low = _mm_set1_epi8(0x1f);
    const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);
    const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    const __m128i slash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    const __m128i any = _mm_or_si128(control, _mm_or_si128(quote, slash));
    return static_cast<unsigned>(_mm_movemask_epi8(any));
}

/// Index of the first string stop in data[from, size), or size if none.
/// Never reads outside data[from, size): the last partial block is copied
/// into a local buffer padded with quotes.
inline std::size_t find_string_stop_sse2(const char* data, std::size_t from,
                                         std::size_t size) noexcept
{
    // Whole blocks straight from the body.
    while (size - from >= 16) {
        const unsigned mask = string_stop_mask(data + from);
        if (mask != 0)
            return from + static_cast<std::size_t>(std::countr_zero(mask));
        from += 16;
    }
    if (from >= size) return size;

    // The tail; a hit in the padding means nothing was found.
    char tail[16];
    std::memset(tail, '"', sizeof tail);
    std::memcpy(tail, data + from, size - from);
    const unsigned mask = string_stop_mask(tail);
    const std::size_t hit =
        from + static_cast<std::size_t>(std::countr_zero(mask));
    return hit < size ? hit : size;
}

/// Adds the classes of the 16 bytes at `p` to `m` at bit `shift`.
inline void classify_lane(const char* p, int shift, block_masks& m) noexcept
{
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));

    // Setting bit 5 folds '[' onto '{' and ']' onto '}'; no other byte
    // lands on either.
    const __m128i folded = _mm_or_si128(v, _mm_set1_epi8(0x20));
    const __m128i bracket =
        _mm_or_si128(_mm_cmpeq_epi8(folded, _mm_set1_epi8('{')),
                     _mm_cmpeq_epi8(folded, _mm_set1_epi8('}')));

    // max(v, 0x1f) equals 0x1f exactly for the unsigned bytes below 0x20.
    const __m128i low = _mm_set1_epi8(0x1f);
    const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, low), low);

    const auto bits = [shift](__m128i x) {
        const auto lane = static_cast<std::uint16_t>(_mm_movemask_epi8(x));
        return static_cast<std::uint64_t>(lane) << shift;
    };
    m.quote |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
    m.backslash |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')));
    m.bracket |= bits(bracket);
    m.control |= bits(control);
}

/// Classifies the 64 bytes at `p`, 16 at a time.
inline block_masks classify_block_sse2(const char* p) noexcept
{
    block_masks m;
    classify_lane(p, 0, m);
    classify_lane(p + 16, 16, m);
    classify_lane(p + 32, 32, m);
    classify_lane(p + 48, 48, m);
    return m;
}
#endif

/// Whether classify_block_avx512 may run on this processor (AVX-512BW).
bool have_avx512_classify() noexcept;

/// classify_block with one 64-byte compare per class, for processors
/// where have_avx512_classify(); a quarter of the SSE2 kernel's work.
block_masks classify_block_avx512(const char* p) noexcept;

/// Index of the first string stop in data[from, size), or size if none.
inline std::size_t find_string_stop(const char* data, std::size_t from,
                                    std::size_t size) noexcept
{
#ifdef KS_FRAME_SSE2
    return find_string_stop_sse2(data, from, size);
#else
    return find_string_stop_scalar(data, from, size);
#endif
}

/// Classifies the 64 readable bytes at `p`.
inline block_masks classify_block(const char* p) noexcept
{
#ifdef KS_FRAME_SSE2
    return classify_block_sse2(p);
#else
    return classify_block_scalar(p);
#endif
}

/// Bytes escaped by a backslash. `carry` is 1 when the block's first byte
/// is escaped by the previous block, and is updated for the next block.
/// Branch-free: a shipper that wraps each event in a JSON string (Vector's
/// file source) escapes every quote of it, so blocks with several
/// backslashes are the common case, not the rare one.
inline std::uint64_t escaped_bytes(std::uint64_t backslash,
                                   std::uint64_t& carry) noexcept
{
    constexpr std::uint64_t odd = 0xAAAA'AAAA'AAAA'AAAAull;

    // A backslash escaped by the previous block starts no escape. In a
    // run of backslashes the first, third, ... escape the byte after
    // them, so whether a byte is escaped depends on the parity of its
    // distance from where the run starts.
    const std::uint64_t leaders = backslash & ~carry;

    // Subtracting a run from the odd positions shifted in after it lets
    // the borrow ripple through the run: what comes out marks, for runs
    // starting at an even position as for those at an odd one, the
    // escapers and the byte after the run when the run is odd-length.
    const std::uint64_t marks = (((leaders << 1) | odd) - leaders) ^ odd;

    // Escaped bytes are the marks that are not escapers, plus the first
    // byte when the previous block escapes it.
    const std::uint64_t escaped = marks ^ (backslash | carry);
    carry = (marks & backslash) >> 63;
    return escaped;
}

/// Bit i of the result is the parity of bits 0..i of `x`: with real
/// quotes as input, the bytes from an opening quote up to (not including)
/// its closing quote.
inline std::uint64_t prefix_xor(std::uint64_t x) noexcept
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

} // namespace ks::frame::detail
