#pragma once
// Q8Act<ZeroPoint>: the activation format of the 32-weight integer formats (Q8_0, Q4_0).
//
// Activations are quantized once per token (per GEMV input) and reused by every row, so this
// block carries precomputed work: `bias` holds, per group of four activations, -ZeroPoint times
// their sum. VNNI's vpdpbusd multiplies unsigned by signed bytes; a weight format stored with an
// unsigned offset (Q4_0: q = w + 8; Q8_0 after XOR 0x80: q = w + 128) then gets the exact signed
// dot as vpdpbusd(bias, q, x), with no extra instruction per block.
//
// Layout (68 bytes): qs[32] int8 | bias[8] int32 (lane i: -ZeroPoint * sum qs[4i..4i+3]) | d f32
// x = d * qs; d = max|x| / 127, rounded to nearest even (our format: d stays f32, unlike ggml's
// q8_0, since activations never leave memory).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ulk/quant/format.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

template <int ZeroPoint>
struct BlockQ8Act {
    std::int8_t qs[32];
    std::int32_t bias[8];
    float d;
};
static_assert(sizeof(BlockQ8Act<8>) == 68, "BlockQ8Act: 32 int8 + 8 int32 + f32");

template <int ZeroPoint>
struct Q8Act {
    static constexpr std::string_view kName = "Q8Act";
    static constexpr int kGgmlType = kNotGgml;
    static constexpr std::size_t kBlockWeights = 32;
    using Block = BlockQ8Act<ZeroPoint>;
    using Activation = Q8Act;

    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
            float amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
            const float d = amax / 127.f;
            const float id = d != 0 ? 127.f / amax : 0.f;
            for (int j = 0; j < 32; ++j) y[b].qs[j] = std::int8_t(std::nearbyint(x[j] * id));
            finish(y[b], d);
        }
    }
    static void dequantize_ref(const Block* x, float* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 32; ++b)
            for (int j = 0; j < 32; ++j) y[b * 32 + j] = x[b].d * float(x[b].qs[j]);
    }
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    static void quantize(simd::avx512vnni, const float* x, Block* y, std::size_t n) {
        const __m512 sign = _mm512_set1_ps(-0.f);
        for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
            const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
            const __m512 m = _mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_andnot_ps(sign, v1));
            const float amax = _mm512_reduce_max_ps(m);
            const float d = amax / 127.f;
            const __m512 id = _mm512_set1_ps(d != 0 ? 127.f / amax : 0.f);
            // cvtps rounds to nearest even under the default MXCSR, like nearbyint above
            const __m128i q0 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, id)));
            const __m128i q1 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, id)));
            _mm_storeu_si128((__m128i*)y[b].qs, q0);
            _mm_storeu_si128((__m128i*)(y[b].qs + 16), q1);
            finish(y[b], d);
        }
    }
#endif

private:
    static void finish(Block& y, float d) {
        y.d = d;
        for (int i = 0; i < 8; ++i)
            y.bias[i] = -ZeroPoint * (y.qs[4 * i] + y.qs[4 * i + 1] + y.qs[4 * i + 2] + y.qs[4 * i + 3]);
    }
};

}  // namespace ulk::quant
