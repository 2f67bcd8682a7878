#pragma once
// Q4_K (ggml): 256 weights in 8 sub-blocks of 32; each sub-block has a 6-bit scale and a 6-bit
// min, both multiplied by f16 super-block factors.   x = d * sc_j * q - dmin * m_j,  q in 0..15.
//
// Layout (144 bytes, 4.5 bits per weight):
//   d f16 | dmin f16 | scales[12] u8 | qs[128] u8
//   scales, sub-block j < 4:  sc_j = scales[j] & 63,  m_j = scales[j + 4] & 63
//           sub-block j >= 4: sc_j = (scales[j + 4] & 15) | (scales[j - 4] >> 6) << 4
//                             m_j  = (scales[j + 4] >> 4) | (scales[j] >> 6) << 4
//   qs: byte 32c + l holds weight 64c + l (sub-block 2c) in its low nibble and weight
//       64c + 32 + l (sub-block 2c + 1) in its high nibble, c = 0..3.
// The dot product runs against Q8_K: the mins fold in through Q8_K's sums of 16 activations.
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

struct BlockQ4_K {
    f16_bits d;
    f16_bits dmin;
    std::uint8_t scales[12];
    std::uint8_t qs[128];
};
static_assert(sizeof(BlockQ4_K) == 144, "Q4_K block: 2 f16 + 12 bytes of 6-bit scales/mins + 128 bytes of nibbles");

struct Q4_K {
    static constexpr std::string_view kName = "Q4_K";
    static constexpr int kGgmlType = int(GgmlType::Q4_K);
    static constexpr std::size_t kBlockWeights = 256;
    using Block = BlockQ4_K;
    using Activation = Q8_K;

    // ggml's quantize_row_q4_K_ref: per sub-block a (scale, min) search weighted by
    // rms + |x|, then the 6-bit scales and mins relative to their maxima, then every code
    // recomputed against the rounded scales.
    static void quantize_ref(const float* x, Block* y, std::size_t n);
    static void dequantize_ref(const Block* x, float* y, std::size_t n);
    // ggml's ggml_vec_dot_q4_K_q8_K_generic: integer sums in 8 lanes, float sums per lane.
    static float dot_ref(const Block* w, const Activation::Block* a, std::size_t n);

    // The 6-bit scales and mins of the 8 sub-blocks.
    static void unpack_scales(const std::uint8_t* packed, std::uint8_t* scale, std::uint8_t* min) {
        for (int j = 0; j < 4; ++j) {
            scale[j] = packed[j] & 63;
            min[j] = packed[j + 4] & 63;
            scale[j + 4] = std::uint8_t((packed[j + 8] & 15) | (packed[j] >> 6) << 4);
            min[j + 4] = std::uint8_t((packed[j + 8] >> 4) | (packed[j + 4] >> 6) << 4);
        }
    }

    static float dot(simd::portable, const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 256; ++b) {
            std::uint8_t sc[8], m[8];
            unpack_scales(w[b].scales, sc, m);
            std::int32_t isum = 0;
            for (int c = 0; c < 4; ++c) {
                const std::uint8_t* q = w[b].qs + 32 * c;
                const std::int8_t* x = a[b].qs + 64 * c;
                std::int32_t lo = 0, hi = 0;
                for (int l = 0; l < 32; ++l) lo += std::int32_t(q[l] & 15) * x[l];
                for (int l = 0; l < 32; ++l) hi += std::int32_t(q[l] >> 4) * x[l + 32];
                isum += sc[2 * c] * lo + sc[2 * c + 1] * hi;
            }
            std::int32_t msum = 0;
            for (int j = 0; j < 8; ++j) msum += m[j] * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
            s += a[b].d * (f16_to_f32(w[b].d) * float(isum) - f16_to_f32(w[b].dmin) * float(msum));
        }
        return s;
    }

#if defined(ULK_HAVE_AVX2)
    // Per 32 weights: mask or shift+mask the nibbles, vpmaddubsw against the activations (pairs
    // of products fit int16: 2 * 15 * 127), vpdpwssd (AVX2: vpmaddwd + vpaddd) with the sub-block
    // scale into int32 lanes. The mins cost one vpmaddwd per block against Q8_K's sums.
    // One body for both tags; the tag picks vpdpwssd or vpmaddwd + vpaddd (q8k_kernels::madd_acc).
    template <std::derived_from<simd::avx2> Arch>
    static float dot(Arch arch, const Block* w, const Activation::Block* a, std::size_t n) {
        const __m256i low4 = _mm256_set1_epi8(0x0f);
        auto splat16 = [](__m256i v, int j) {  // int16 j of each 128-bit lane, across the lane
            return _mm256_shuffle_epi8(v, _mm256_set1_epi16(short(0x0100 + 0x0202 * j)));
        };
        // mins m_0..m_7 (bytes 8..15 of the unpacked scales) each twice, as 16 int16
        const __m128i dup_mins = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
        __m256 acc = _mm256_setzero_ps();
        for (std::size_t b = 0; b < n / 256; ++b) {
            const Block& blk = w[b];
            const Activation::Block& act = a[b];
            const __m128i scales_mins = scales_mins_vector(blk.scales);  // bytes 0..7 scales, 8..15 mins
            const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scales_mins));
            const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scales_mins, dup_mins));
            const __m256i msum = _mm256_madd_epi16(mins16, _mm256_loadu_si256((const __m256i*)act.bsums));

            __m256i sum_lo = _mm256_setzero_si256(), sum_hi = _mm256_setzero_si256();
            q8k_kernels::unroll<4>([&](auto c) {  // weights 64c .. 64c + 63
                const __m256i q = _mm256_loadu_si256((const __m256i*)(blk.qs + 32 * c));
                const __m256i lo = _mm256_and_si256(q, low4);
                const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
                const __m256i p_lo = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i*)(act.qs + 64 * c)));
                const __m256i x_hi = _mm256_loadu_si256((const __m256i*)(act.qs + 64 * c + 32));
                const __m256i p_hi = _mm256_maddubs_epi16(hi, x_hi);
                sum_lo = q8k_kernels::madd_acc(arch, sum_lo, p_lo, splat16(sc16, 2 * c));
                sum_hi = q8k_kernels::madd_acc(arch, sum_hi, p_hi, splat16(sc16, 2 * c + 1));
            });
            const __m128 dd = q8k_kernels::scale_pair(blk.d, blk.dmin, act.d);
            const __m256 d = _mm256_broadcastss_ps(dd);
            const __m256 m = _mm256_broadcastss_ps(_mm_movehdup_ps(dd));
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(sum_lo, sum_hi)), d, acc);
            acc = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), m, acc);
        }
        return simd::hsum(acc);
    }

    // Bytes 0..7: the sub-block scales; 8..15: the mins. Word-parallel version of unpack_scales.
    static __m128i scales_mins_vector(const std::uint8_t* packed) {
        std::uint32_t v[3];
        std::memcpy(v, packed, 12);
        const std::uint32_t sc_lo = v[0] & 0x3f3f3f3f, m_lo = v[1] & 0x3f3f3f3f;
        const std::uint32_t sc_hi = (v[2] & 0x0f0f0f0f) | ((v[0] >> 6) & 0x03030303) << 4;
        const std::uint32_t m_hi = ((v[2] >> 4) & 0x0f0f0f0f) | ((v[1] >> 6) & 0x03030303) << 4;
        return _mm_setr_epi32(int(sc_lo), int(sc_hi), int(m_lo), int(m_hi));
    }
#endif
};

ULK_STRICT_FP_BEGIN

inline void Q4_K::quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 256; ++b, x += 256) {
        std::uint8_t codes[256], scratch[32];
        float weights[32], scales[8], mins[8];
        float max_scale = 0, max_min = 0;  // scales and mins are >= 0: the min is subtracted
        for (int j = 0; j < 8; ++j) {
            const float* xs = x + 32 * j;
            float sum_x2 = 0;
            for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
            const float av_x = std::sqrt(sum_x2 / 32);
            for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
            scales[j] = kquant::fit_scale_and_min(32, 15, xs, weights, codes + 32 * j, &mins[j], scratch, -1.f, 0.1f,
                                                  20, false);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }

        Block& out = y[b];
        const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
        const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
        for (int j = 0; j < 8; ++j) {
            // ggml narrows to u8 before clamping; kept for identical bytes on odd inputs
            const auto ls = std::min<std::uint8_t>(63, std::uint8_t(kquant::nearest_int(inv_scale * scales[j])));
            const auto lm = std::min<std::uint8_t>(63, std::uint8_t(kquant::nearest_int(inv_min * mins[j])));
            if (j < 4) {
                out.scales[j] = ls;
                out.scales[j + 4] = lm;
            } else {
                out.scales[j + 4] = std::uint8_t((ls & 15) | (lm & 15) << 4);
                out.scales[j - 4] |= std::uint8_t((ls >> 4) << 6);
                out.scales[j] |= std::uint8_t((lm >> 4) << 6);
            }
        }
        out.d = f32_to_f16_scalar(max_scale / 63.f);
        out.dmin = f32_to_f16_scalar(max_min / 63.f);

        std::uint8_t sc[8], m[8];
        unpack_scales(out.scales, sc, m);
        for (int j = 0; j < 8; ++j) {
            const float d = f16_to_f32_scalar(out.d) * float(sc[j]);
            if (d == 0) continue;  // keep the search's codes
            const float dm = f16_to_f32_scalar(out.dmin) * float(m[j]);
            for (int l = 0; l < 32; ++l)
                codes[32 * j + l] = std::uint8_t(std::clamp(kquant::nearest_int((x[32 * j + l] + dm) / d), 0, 15));
        }
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l)
                out.qs[32 * c + l] = std::uint8_t(codes[64 * c + l] | codes[64 * c + 32 + l] << 4);
    }
}

inline void Q4_K::dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = f16_to_f32_scalar(x[b].d), dmin = f16_to_f32_scalar(x[b].dmin);
        std::uint8_t sc[8], m[8];
        unpack_scales(x[b].scales, sc, m);
        for (int c = 0; c < 4; ++c) {
            const float d_lo = d * float(sc[2 * c]), m_lo = dmin * float(m[2 * c]);
            const float d_hi = d * float(sc[2 * c + 1]), m_hi = dmin * float(m[2 * c + 1]);
            const std::uint8_t* q = x[b].qs + 32 * c;
            for (int l = 0; l < 32; ++l) y[64 * c + l] = d_lo * float(q[l] & 15) - m_lo;
            for (int l = 0; l < 32; ++l) y[64 * c + 32 + l] = d_hi * float(q[l] >> 4) - m_hi;
        }
    }
}

inline float Q4_K::dot_ref(const Block* w, const Activation::Block* a, std::size_t n) {
    float lane_sums[8] = {};
    float s = 0;
    for (std::size_t b = 0; b < n / 256; ++b) {
        std::int8_t q[256];
        for (int c = 0; c < 4; ++c)
            for (int l = 0; l < 32; ++l) {
                q[64 * c + l] = std::int8_t(w[b].qs[32 * c + l] & 15);
                q[64 * c + 32 + l] = std::int8_t(w[b].qs[32 * c + l] >> 4);
            }
        std::uint8_t sc[8], m[8];
        unpack_scales(w[b].scales, sc, m);
        int msum = 0;
        for (int j = 0; j < 16; ++j) msum += a[b].bsums[j] * m[j / 2];
        std::int32_t lanes[8] = {};  // lane l: elements i with i % 8 == l, each times its scale
        for (int i = 0; i < 256; ++i) lanes[i % 8] += sc[i / 32] * std::int16_t(a[b].qs[i] * q[i]);
        const float d = f16_to_f32_scalar(w[b].d) * a[b].d;
        for (int l = 0; l < 8; ++l) lane_sums[l] += d * float(lanes[l]);
        const float dmin = f16_to_f32_scalar(w[b].dmin) * a[b].d;
        s -= dmin * float(msum);
    }
    for (int l = 0; l < 8; ++l) s += lane_sums[l];
    return s;
}

ULK_STRICT_FP_END

}  // namespace ulk::quant
