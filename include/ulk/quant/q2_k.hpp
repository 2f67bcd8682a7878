#pragma once
// Q2_K (ggml): 256 weights in 16 sub-blocks of 16; each sub-block has a 4-bit scale and a 4-bit
// min, both multiplied by f16 super-block factors.   x = d * sc_j * q - dmin * m_j,  q in 0..3.
//
// Layout (84 bytes, 2.625 bits per weight):
//   scales[16] u8 (low nibble sc_j, high nibble m_j) | qs[64] u8 | d f16 | dmin f16
//   weight 128h + 32s + l (h = 0..1, s = 0..3, l = 0..31) is bits 2s..2s+1 of qs[32h + l].
#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "ulk/base/fp16.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/kquant_search.hpp"
#include "ulk/quant/q8_k.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

struct BlockQ2_K {
    std::uint8_t scales[16];
    std::uint8_t qs[64];
    f16_bits d;
    f16_bits dmin;
};
static_assert(sizeof(BlockQ2_K) == 84, "Q2_K block: 16 scale/min bytes + 64 bytes of 2-bit codes + 2 f16");

struct Q2_K {
    static constexpr std::string_view kName = "Q2_K";
    static constexpr int kGgmlType = int(GgmlType::Q2_K);
    static constexpr std::size_t kBlockWeights = 256;
    using Block = BlockQ2_K;
    using Activation = Q8_K;

    // ggml's quantize_row_q2_K_ref: per sub-block a (scale, min) search weighted by |x| with
    // absolute error, the 4-bit scales and mins relative to their maxima, then every code
    // recomputed against the rounded scales.
    static void quantize_ref(const float* x, Block* y, std::size_t n);
    static void dequantize_ref(const Block* x, float* y, std::size_t n);
    // ggml's ggml_vec_dot_q2_K_q8_K_generic: one integer sum per block.
    static float dot_ref(const Block* w, const Activation::Block* a, std::size_t n);

    // The 2-bit code of weight i of a block.
    static int code(const Block& blk, int i) { return (blk.qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3; }

    static float dot(simd::portable, const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 256; ++b) {
            std::int32_t isum = 0;
            for (int k = 0; k < 8; ++k) {  // 32 weights: sub-blocks 2k, 2k + 1
                const std::uint8_t* qs = w[b].qs + 32 * (k / 4);
                const int shift = 2 * (k % 4);
                const std::int8_t* x = a[b].qs + 32 * k;
                std::int32_t sum0 = 0, sum1 = 0;
                for (int l = 0; l < 16; ++l) sum0 += ((qs[l] >> shift) & 3) * x[l];
                for (int l = 16; l < 32; ++l) sum1 += ((qs[l] >> shift) & 3) * x[l];
                isum += (w[b].scales[2 * k] & 15) * sum0 + (w[b].scales[2 * k + 1] & 15) * sum1;
            }
            std::int32_t msum = 0;
            for (int j = 0; j < 16; ++j) msum += (w[b].scales[j] >> 4) * a[b].bsums[j];
            s += a[b].d * (f16_to_f32(w[b].d) * float(isum) - f16_to_f32(w[b].dmin) * float(msum));
        }
        return s;
    }

#if defined(ULK_HAVE_AVX2)
    // Per 32 weights: shift and mask (the codes are already unsigned), vpmaddubsw against the
    // activations, vpdpwssd (AVX2: vpmaddwd + vpaddd) with the two sub-block scales. The mins
    // cost one vpmaddwd per block against Q8_K's sums.
    // One body for both tags; the tag picks vpdpwssd or vpmaddwd + vpaddd (q8k_kernels::madd_acc).
    template <std::derived_from<simd::avx2> Arch>
    static float dot(Arch arch, const Block* w, const Activation::Block* a, std::size_t n) {
        const __m256i two_bits = _mm256_set1_epi8(3);
        const __m128i low4 = _mm_set1_epi8(0x0f);
        __m256 acc = _mm256_setzero_ps();
        for (std::size_t b = 0; b < n / 256; ++b) {
            const Block& blk = w[b];
            const Activation::Block& act = a[b];
            const __m128i packed = _mm_loadu_si128((const __m128i*)blk.scales);
            const q8k_kernels::PairScales scale(_mm256_cvtepu8_epi16(_mm_and_si128(packed, low4)));
            const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
            const __m256i msum = _mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i*)act.bsums));

            __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
            const __m256i qs[2] = {_mm256_loadu_si256((const __m256i*)blk.qs),
                                   _mm256_loadu_si256((const __m256i*)(blk.qs + 32))};
            q8k_kernels::unroll<4>([&](auto pair) {  // weights 64 * pair .. 64 * pair + 63
                constexpr int k = 2 * pair, shift = 2 * (k % 4);
                const __m256i q0 = _mm256_and_si256(_mm256_srli_epi16(qs[k / 4], shift), two_bits);
                const __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(qs[k / 4], shift + 2), two_bits);
                const __m256i p0 = _mm256_maddubs_epi16(q0, _mm256_loadu_si256((const __m256i*)(act.qs + 32 * k)));
                const __m256i p1 = _mm256_maddubs_epi16(q1, _mm256_loadu_si256((const __m256i*)(act.qs + 32 * k + 32)));
                sum0 = q8k_kernels::madd_acc(arch, sum0, p0, scale(k));
                sum1 = q8k_kernels::madd_acc(arch, sum1, p1, scale(k + 1));
            });
            const __m128 dd = q8k_kernels::scale_pair(blk.d, blk.dmin, act.d);
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sum0, sum1)), _mm256_broadcastss_ps(dd), acc);
            acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_broadcastss_ps(_mm_movehdup_ps(dd)), acc);
        }
        return simd::hsum(acc);
    }
#endif
};

ULK_STRICT_FP_BEGIN

inline void Q2_K::quantize_ref(const float* x, Block* y, std::size_t n) {
    constexpr float kLevels = 15.f;  // 4-bit scales and mins
    for (std::size_t b = 0; b < n / 256; ++b, x += 256) {
        std::uint8_t codes[256], scratch[16];
        float weights[16], scales[16], mins[16];
        float max_scale = 0, max_min = 0;  // scales and mins are >= 0: the min is subtracted
        for (int j = 0; j < 16; ++j) {
            for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
            scales[j] = kquant::fit_scale_and_min(16, 3, x + 16 * j, weights, codes + 16 * j, &mins[j], scratch, -0.5f,
                                                  0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }

        Block& out = y[b];
        if (max_scale > 0) {
            const float iscale = kLevels / max_scale;
            for (int j = 0; j < 16; ++j) out.scales[j] = std::uint8_t(kquant::nearest_int(iscale * scales[j]));
            out.d = f32_to_f16_scalar(max_scale / kLevels);
        } else {
            for (int j = 0; j < 16; ++j) out.scales[j] = 0;
            out.d = f32_to_f16_scalar(0.f);
        }
        if (max_min > 0) {
            const float iscale = kLevels / max_min;
            for (int j = 0; j < 16; ++j) out.scales[j] |= std::uint8_t(kquant::nearest_int(iscale * mins[j]) << 4);
            out.dmin = f32_to_f16_scalar(max_min / kLevels);
        } else {
            out.dmin = f32_to_f16_scalar(0.f);
        }

        for (int j = 0; j < 16; ++j) {
            const float d = f16_to_f32_scalar(out.d) * float(out.scales[j] & 15);
            if (d == 0) continue;  // keep the search's codes
            const float dm = f16_to_f32_scalar(out.dmin) * float(out.scales[j] >> 4);
            for (int l = 0; l < 16; ++l)
                codes[16 * j + l] = std::uint8_t(std::clamp(kquant::nearest_int((x[16 * j + l] + dm) / d), 0, 3));
        }
        for (int h = 0; h < 2; ++h) {
            const std::uint8_t* c = codes + 128 * h;
            for (int l = 0; l < 32; ++l)
                out.qs[32 * h + l] = std::uint8_t(c[l] | c[l + 32] << 2 | c[l + 64] << 4 | c[l + 96] << 6);
        }
    }
}

inline void Q2_K::dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = f16_to_f32_scalar(x[b].d), dmin = f16_to_f32_scalar(x[b].dmin);
        for (int j = 0; j < 16; ++j) {
            const float dl = d * float(x[b].scales[j] & 15), ml = dmin * float(x[b].scales[j] >> 4);
            for (int l = 0; l < 16; ++l) y[16 * j + l] = dl * float(code(x[b], 16 * j + l)) - ml;
        }
    }
}

inline float Q2_K::dot_ref(const Block* w, const Activation::Block* a, std::size_t n) {
    float s = 0;
    for (std::size_t b = 0; b < n / 256; ++b) {
        int msum = 0;
        for (int j = 0; j < 16; ++j) msum += a[b].bsums[j] * (w[b].scales[j] >> 4);
        int isum = 0;
        for (int j = 0; j < 16; ++j) {
            int sub = 0;
            for (int l = 0; l < 16; ++l) sub += a[b].qs[16 * j + l] * code(w[b], 16 * j + l);
            isum += (w[b].scales[j] & 15) * sub;
        }
        const float dall = a[b].d * f16_to_f32_scalar(w[b].d);
        const float dmin = a[b].d * f16_to_f32_scalar(w[b].dmin);
        s += dall * float(isum) - dmin * float(msum);
    }
    return s;
}

ULK_STRICT_FP_END

}  // namespace ulk::quant
