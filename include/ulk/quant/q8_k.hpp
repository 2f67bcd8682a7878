#pragma once
// Q8_K (ggml): the activation format of the k-quants (Q2_K..Q6_K). 256 activations per block,
// an f32 scale, and the sum of every 16 codes, so that a weight format's per-sub-block offset or
// min (Q4_K's mins, Q6_K's zero point 32) costs 16 multiplies per block instead of 256.
//
// Layout (292 bytes): d f32 | qs[256] int8 | bsums[16] int16, bsums[j] = sum of qs[16j..16j+15].
// x = d * qs. The value of largest magnitude, with its sign, maps to -127 (d = max / -127);
// codes round to nearest even (ggml's nearest_int) and clamp at 127.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ulk/base/fp16.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/kquant_search.hpp"
#include "ulk/simd/narrow.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

struct BlockQ8_K {
    float d;
    std::int8_t qs[256];
    std::int16_t bsums[16];
};
static_assert(sizeof(BlockQ8_K) == 292, "Q8_K block: f32 scale + 256 int8 + 16 int16 sums");

struct Q8_K {
    static constexpr std::string_view kName = "Q8_K";
    static constexpr int kGgmlType = int(GgmlType::Q8_K);
    static constexpr std::size_t kBlockWeights = 256;
    using Block = BlockQ8_K;
    using Activation = Q8_K;

    // ggml's quantize_row_q8_K_ref. An all-zero block gets zero sums (ggml leaves them unset).
    static void quantize_ref(const float* x, Block* y, std::size_t n);
    static void dequantize_ref(const Block* x, float* y, std::size_t n);

#if defined(ULK_HAVE_AVX512VNNI)
    // Same bytes as quantize_ref. The scale's sign comes from the block's largest and smallest
    // value; only a block holding both +amax and -amax searches for the first of them. The codes
    // are a multiply and a round-to-nearest-even convert per value (what nearest_int computes),
    // narrowed 64 at a time; the sums of 16 come from vpsadbw on the codes offset by 128.
    static void quantize(simd::avx512vnni, const float* x, Block* y, std::size_t n) {
        const __m512i offset = _mm512_set1_epi8(char(0x80));
        const __m512i even = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14), odd = _mm512_setr_epi64(1, 3, 5, 7, 9, 11, 13, 15);
        for (std::size_t b = 0; b < n / 256; ++b, x += 256) {
            __m512 v[16];
            __m512 vhi = _mm512_loadu_ps(x), vlo = vhi;
            for (int k = 0; k < 16; ++k) {
                v[k] = _mm512_loadu_ps(x + 16 * k);
                vhi = _mm512_max_ps(vhi, v[k]);
                vlo = _mm512_min_ps(vlo, v[k]);
            }
            const float hi = _mm512_reduce_max_ps(vhi), lo = _mm512_reduce_min_ps(vlo);
            const float amax = std::max(hi, -lo);
            if (amax == 0) {
                std::memset(&y[b], 0, sizeof(Block));
                continue;
            }
            // the reference keeps the first value reaching amax: its sign picks the scale's sign
            float max = hi > -lo ? hi : lo;
            if (hi == -lo)
                for (int k = 0; k < 16; ++k) {
                    const __mmask16 hit = _mm512_cmpeq_ps_mask(_mm512_abs_ps(v[k]), _mm512_set1_ps(amax));
                    if (hit) {
                        max = x[16 * k + std::countr_zero(unsigned(hit))];
                        break;
                    }
                }
            const float iscale = -127.f / max;
            const __m512 vscale = _mm512_set1_ps(iscale);
            auto code = [&](int k) { return _mm512_cvtps_epi32(_mm512_mul_ps(v[k], vscale)); };  // MXCSR default: nearest even
            __m512i sad[4];  // per 64-bit lane: sum of 8 codes + 8 * 128
            for (int j = 0; j < 4; ++j) {
                // |codes| <= 127 (|x| <= amax), so the narrowing's saturation never acts
                const __m512i q = simd::narrow4_epi32_epi8(code(4 * j), code(4 * j + 1), code(4 * j + 2), code(4 * j + 3));
                _mm512_storeu_si512(y[b].qs + 64 * j, q);
                sad[j] = _mm512_sad_epu8(_mm512_xor_si512(q, offset), _mm512_setzero_si512());
            }
            // Lanes 2i and 2i+1 of sad[j] make group 4j + i: pair them up, drop the offset (16 * 128).
            const __m512i bias = _mm512_set1_epi64(16 * 128);
            const __m512i g0 = _mm512_sub_epi64(_mm512_add_epi64(_mm512_permutex2var_epi64(sad[0], even, sad[1]),
                                                                 _mm512_permutex2var_epi64(sad[0], odd, sad[1])), bias);
            const __m512i g1 = _mm512_sub_epi64(_mm512_add_epi64(_mm512_permutex2var_epi64(sad[2], even, sad[3]),
                                                                 _mm512_permutex2var_epi64(sad[2], odd, sad[3])), bias);
            _mm_storeu_si128((__m128i*)y[b].bsums, _mm512_cvtepi64_epi16(g0));
            _mm_storeu_si128((__m128i*)(y[b].bsums + 8), _mm512_cvtepi64_epi16(g1));
            y[b].d = 1 / iscale;
        }
    }
#endif
};

#if defined(ULK_HAVE_AVX2)
// Pieces shared by the k-quant dot kernels against Q8_K. The kernels are written once for AVX2
// and AVX-512 VNNI; the tag picks the few instructions that differ.
namespace q8k_kernels {

// body(integral_constant<int, 0>) ... body(integral_constant<int, N - 1>): the kernels' inner
// loops, unrolled so that shift counts and shuffle masks become immediates and constants.
template <int N, class Body>
inline void unroll(Body&& body) {
    [&]<int... K>(std::integer_sequence<int, K...>) { (body(std::integral_constant<int, K>{}), ...); }(
        std::make_integer_sequence<int, N>{});
}

// acc + (int16 pairs of p times s, summed into int32 lanes): vpdpwssd, or vpmaddwd + vpaddd.
inline __m256i madd_acc(simd::avx2, __m256i acc, __m256i p, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, s));
}
#if defined(ULK_HAVE_AVX512VNNI)
inline __m256i madd_acc(simd::avx512vnni, __m256i acc, __m256i p, __m256i s) { return _mm256_dpwssd_epi32(acc, p, s); }
#endif

// Scales of the formats with 16-weight sub-blocks (Q2_K, Q3_K, Q6_K). The kernels multiply 32
// weights at a time with vpmaddubsw, whose 16 int16 outputs cover sub-blocks 2k (lanes 0..7) and
// 2k + 1 (lanes 8..15); madd_acc then wants [s_2k x 8 | s_2k+1 x 8]. One vpshufb per vector.
class PairScales {
public:
    explicit PairScales(__m256i scales16)  // the block's 16 scales as int16
        : first8_(_mm256_permute4x64_epi64(scales16, 0x44)), last8_(_mm256_permute4x64_epi64(scales16, 0xee)) {}
    __m256i operator()(int k) const {  // k = 0..7
        const int j = 2 * (k & 3);  // scale 2k within its group of 8
        const __m256i select = _mm256_set_m128i(_mm_set1_epi16(short(0x0100 + 0x0202 * (j + 1))),
                                                _mm_set1_epi16(short(0x0100 + 0x0202 * j)));
        return _mm256_shuffle_epi8(k < 4 ? first8_ : last8_, select);
    }

private:
    __m256i first8_, last8_;  // scales 0..7 / 8..15 in both 128-bit lanes
};

// d_weight * d_act and dmin_weight * d_act from the two adjacent f16 fields of a block.
inline __m128 scale_pair(f16_bits d, f16_bits dmin, float d_act) {
    return _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(int(d | std::uint32_t(dmin) << 16))), _mm_set1_ps(d_act));
}

}  // namespace q8k_kernels
#endif

ULK_STRICT_FP_BEGIN

inline void Q8_K::quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 256; ++b, x += 256) {
        float max = 0, amax = 0;
        for (int j = 0; j < 256; ++j) {
            const float ax = std::fabs(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (amax == 0) {
            std::memset(&y[b], 0, sizeof(Block));
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < 256; ++j) y[b].qs[j] = std::int8_t(std::min(127, kquant::nearest_int(iscale * x[j])));
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += y[b].qs[16 * g + j];
            y[b].bsums[g] = std::int16_t(sum);
        }
        y[b].d = 1 / iscale;
    }
}

inline void Q8_K::dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 256; ++b)
        for (int j = 0; j < 256; ++j) y[256 * b + j] = x[b].d * float(x[b].qs[j]);
}

ULK_STRICT_FP_END

}  // namespace ulk::quant
