#include "frame/scan_kernels.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KS_FRAME_AVX512 1
#endif

namespace ks::frame::detail {

#ifdef KS_FRAME_AVX512

bool have_avx512_classify() noexcept
{
    static const bool has = __builtin_cpu_supports("avx512f") &&
                            __builtin_cpu_supports("avx512bw");
    return has;
}

#define KS_AVX512BW_TARGET __attribute__((target("avx512f,avx512bw")))

namespace {

KS_AVX512BW_TARGET std::uint64_t is(__m512i x, char c) noexcept
{
    return _mm512_cmpeq_epi8_mask(x, _mm512_set1_epi8(c));
}

} // namespace

KS_AVX512BW_TARGET block_masks classify_block_avx512(const char* p) noexcept
{
    const __m512i v = _mm512_loadu_si512(p);

    // Setting bit 5 folds '[' onto '{' and ']' onto '}', as in the SSE2
    // kernel; control bytes are the unsigned ones below 0x20.
    const __m512i folded = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
    block_masks m;
    m.quote = is(v, '"');
    m.backslash = is(v, '\\');
    m.bracket = is(folded, '{') | is(folded, '}');
    m.control = _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(0x20));
    return m;
}

#else

bool have_avx512_classify() noexcept
{
    return false;
}

block_masks classify_block_avx512(const char* p) noexcept
{
    return classify_block(p);
}

#endif

} // namespace ks::frame::detail
