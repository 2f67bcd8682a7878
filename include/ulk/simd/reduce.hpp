#pragma once
// Horizontal sums of x86 vectors, used at the end of every dot kernel.
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
#if defined(__AVX512F__)
inline float hsum(__m512 v) noexcept {
    return hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}
#endif

}  // namespace ulk::simd
