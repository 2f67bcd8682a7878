#pragma once
// Narrowing of int32 lanes to int8 in memory order, for the activation quantizers.
//
// vpmovsdb narrows one 16-lane vector in 2 uops; two pack instructions and one dword permute
// narrow four vectors (64 values), half the shuffle work per value.
#include <cstdint>

#include "ulk/simd/arch.hpp"
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace ulk::simd {

#if defined(__AVX512F__) && defined(__AVX512BW__)
// Lanes of a, b, c, d (16 int32 each) as 64 int8 in the order a[0..15], b[0..15], c[0..15],
// d[0..15], saturated to [-128, 127].
inline __m512i narrow4_epi32_epi8(__m512i a, __m512i b, __m512i c, __m512i d) noexcept {
    // The packs work within 128-bit lanes: 128-bit lane L of the result holds a[4L..4L+3],
    // b[4L..4L+3], c[4L..4L+3], d[4L..4L+3] as its four dwords. Dword 4L+j goes to 4j+L.
    const __m512i bytes = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_epi32(order, bytes);
}
#endif

}  // namespace ulk::simd
