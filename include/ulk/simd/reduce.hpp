#pragma once
// Horizontal sums of x86 vectors, used at the end of every dot kernel.
#include <cstdint>

#include "ulk/simd/arch.hpp"
#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace ulk::simd {

#if defined(__AVX2__)
inline float hsum(__m128 v) noexcept {
    v = _mm_add_ps(v, _mm_movehl_ps(v, v));
    v = _mm_add_ss(v, _mm_movehdup_ps(v));
    return _mm_cvtss_f32(v);
}
inline float hsum(__m256 v) noexcept {
    return hsum(_mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
}
inline int hsum_i32(__m256i v) noexcept {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
    return _mm_cvtsi128_si32(s);
}
#endif
#if defined(__AVX512F__) && defined(__AVX512VL__)
// (f16 weight scale) * (f32 activation scale) in all 8 lanes. Broadcasting the half and widening
// it in the vector unit avoids a round trip through scalar registers in every block of a dot.
inline __m256 scale_product(const std::uint16_t& d_half, const float& d_act) noexcept {
    const __m256 dw = _mm256_cvtph_ps(_mm_set1_epi16(short(d_half)));
    return _mm256_mul_ps(dw, _mm256_set1_ps(d_act));
}
#endif
#if defined(__AVX512F__)
inline float hsum(__m512 v) noexcept {
    return hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
#endif

}  // namespace ulk::simd
