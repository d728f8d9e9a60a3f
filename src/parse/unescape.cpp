#include "parse/unescape.hpp"

#include "frame/scan_kernels.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define KS_UNESCAPE_AVX512 1
#include <immintrin.h>
#endif

namespace ks::parse {

namespace {

#ifdef KS_UNESCAPE_AVX512

#define KS_AVX512_TARGET                                                       \
    __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2")))

// The byte each one-letter escape stands for, indexed by the letter's low
// six bits (vpermb's index); only letters b, f, n, r and t are looked up.
struct letter_table {
    alignas(64) std::uint8_t bytes[64];
};

constexpr letter_table make_letter_table() noexcept
{
    letter_table t{};
    t.bytes['b' & 63] = '\b';
    t.bytes['f' & 63] = '\f';
    t.bytes['n' & 63] = '\n';
    t.bytes['r' & 63] = '\r';
    t.bytes['t' & 63] = '\t';
    return t;
}

constexpr letter_table control_letters = make_letter_table();

KS_AVX512_TARGET std::uint64_t matches(__m512i v, char c) noexcept
{
    return _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(c));
}

KS_AVX512_TARGET std::optional<std::size_t>
unescape_avx512(std::string_view body, char* out) noexcept
{
    const __m512i letters = _mm512_load_si512(control_letters.bytes);
    std::size_t written = 0;
    std::uint64_t carry = 0; // the next block's first byte is escaped

    for (std::size_t at = 0; at < body.size(); at += 64) {
        // A masked load reads nothing past the body.
        const std::size_t n = std::min<std::size_t>(64, body.size() - at);
        const std::uint64_t live = n == 64 ? ~std::uint64_t{0}
                                           : (std::uint64_t{1} << n) - 1;
        __m512i v = _mm512_maskz_loadu_epi8(live, body.data() + at);

        // Which bytes escape and which are escaped, across blocks.
        const std::uint64_t backslash = matches(v, '\\') & live;
        const std::uint64_t escaped = frame::detail::escaped_bytes(backslash,
                                                                   carry);
        const std::uint64_t escapers = backslash & ~escaped;

        // Escaped bytes must be letters of one-byte escapes; \u and bad
        // escapes are left to simdjson.
        const std::uint64_t kept_as_is =
            matches(v, '"') | matches(v, '\\') | matches(v, '/');
        const std::uint64_t control = matches(v, 'b') | matches(v, 'f') |
                                      matches(v, 'n') | matches(v, 'r') |
                                      matches(v, 't');
        if ((escaped & ~(kept_as_is | control)) != 0) return std::nullopt;

        // Letters become their bytes, escapers go, the rest is packed.
        v = _mm512_mask_permutexvar_epi8(v, escaped & control, v, letters);
        const std::uint64_t keep = live & ~escapers;
        _mm512_storeu_si512(out + written, _mm512_maskz_compress_epi8(keep, v));
        written += static_cast<std::size_t>(std::popcount(keep));
    }

    // A body ending in an escaper escapes the closing quote: not ours.
    if (carry != 0) return std::nullopt;
    return written;
}

bool has_avx512_vbmi2() noexcept
{
    static const bool has = __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512vbmi") &&
                            __builtin_cpu_supports("avx512vbmi2");
    return has;
}

#endif

} // namespace

std::optional<std::size_t> unescape_simple(std::string_view body,
                                           char* out) noexcept
{
#ifdef KS_UNESCAPE_AVX512
    if (has_avx512_vbmi2()) return unescape_avx512(body, out);
#else
    static_cast<void>(body);
    static_cast<void>(out);
#endif
    return std::nullopt;
}

} // namespace ks::parse
