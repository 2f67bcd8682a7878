#pragma once
// Q6_K (ggml): 256 weights in 16 sub-blocks of 16, each with a signed 8-bit scale times one f16
// super-block scale.   x = d * sc_j * (q - 32),  q in 0..63.
//
// Layout (210 bytes, 6.5625 bits per weight):
//   ql[128] u8 | qh[64] u8 | scales[16] i8 | d f16
//   Two halves of 128 weights; half h uses ql[64h..64h+63] and qh[32h..32h+31]. For l = 0..31,
//   weight 128h + 32g + l has its low 4 bits in ql[64h + l] (g = 0: low nibble, g = 2: high
//   nibble) or ql[64h + 32 + l] (g = 1: low, g = 3: high), and its high 2 bits in bits 2g..2g+1
//   of qh[32h + l]. Sub-block j is weights 16j..16j+15.
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

struct BlockQ6_K {
    std::uint8_t ql[128];
    std::uint8_t qh[64];
    std::int8_t scales[16];
    f16_bits d;
};
static_assert(sizeof(BlockQ6_K) == 210, "Q6_K block: 128 + 64 bytes of 6-bit codes + 16 int8 scales + f16");

struct Q6_K {
    static constexpr std::string_view kName = "Q6_K";
    static constexpr int kGgmlType = int(GgmlType::Q6_K);
    static constexpr std::size_t kBlockWeights = 256;
    using Block = BlockQ6_K;
    using Activation = Q8_K;

    // ggml's quantize_row_q6_K_ref: a weighted least-squares scale per sub-block, the 8-bit
    // scales relative to the largest, then every code recomputed against the rounded scales.
    static void quantize_ref(const float* x, Block* y, std::size_t n);
    static void dequantize_ref(const Block* x, float* y, std::size_t n);
    // ggml's ggml_vec_dot_q6_K_q8_K_generic: integer sums in 8 lanes, float sums per lane.
    static float dot_ref(const Block* w, const Activation::Block* a, std::size_t n);

    // The unsigned 6-bit code (0..63) of weight i of a block.
    static int code(const Block& blk, int i) {
        const int h = i / 128, g = (i % 128) / 32, l = i % 32;
        const std::uint8_t low = blk.ql[64 * h + 32 * (g & 1) + l];
        return ((g < 2 ? low & 15 : low >> 4) | ((blk.qh[32 * h + l] >> (2 * g)) & 3) << 4);
    }

    // Portable: unpack the block's codes, then 16 short integer dots; both loops vectorize.
    static float dot(simd::portable, const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 256; ++b) {
            std::uint8_t q[256];
            for (int h = 0; h < 2; ++h) {
                const std::uint8_t* ql = w[b].ql + 64 * h;
                const std::uint8_t* qh = w[b].qh + 32 * h;
                for (int l = 0; l < 32; ++l) {
                    q[128 * h + l] = std::uint8_t((ql[l] & 15) | (qh[l] & 3) << 4);
                    q[128 * h + 32 + l] = std::uint8_t((ql[l + 32] & 15) | (qh[l] & 12) << 2);
                    q[128 * h + 64 + l] = std::uint8_t((ql[l] >> 4) | (qh[l] & 48));
                    q[128 * h + 96 + l] = std::uint8_t((ql[l + 32] >> 4) | (qh[l] & 192) >> 2);
                }
            }
            std::int32_t isum = 0, offset = 0;
            for (int j = 0; j < 16; ++j) {
                std::int32_t sum = 0;
                for (int l = 0; l < 16; ++l) sum += q[16 * j + l] * a[b].qs[16 * j + l];
                isum += w[b].scales[j] * sum;
                offset += w[b].scales[j] * a[b].bsums[j];
            }
            // the codes carry +32: subtract 32 * sum(scale * activations), from the sums of 16
            s += f16_to_f32(w[b].d) * a[b].d * float(isum - 32 * offset);
        }
        return s;
    }

#if defined(ULK_HAVE_AVX2)
    // Per 32 weights: 4-bit part and 2-bit part merged with two masks and an or (AVX-512: one
    // vpternlog), vpmaddubsw of the unsigned codes against the activations (pairs fit int16:
    // 2 * 63 * 127), vpdpwssd (AVX2: vpmaddwd + vpaddd) with the two sub-block scales. The +32 of
    // the codes comes off once per block through Q8_K's sums: one vpmaddwd.
    // One body for both tags; the tag picks vpdpwssd or vpmaddwd + vpaddd (q8k_kernels::madd_acc).
    template <std::derived_from<simd::avx2> Arch>
    static float dot(Arch arch, const Block* w, const Activation::Block* a, std::size_t n) {
        const __m256i low4 = _mm256_set1_epi8(0x0f), bits45 = _mm256_set1_epi8(0x30);
        auto merge = [&](__m256i low, __m256i high) {  // (low & 15) | (high & 0x30)
            return _mm256_or_si256(_mm256_and_si256(low, low4), _mm256_and_si256(high, bits45));
        };
        __m256 acc = _mm256_setzero_ps();
        for (std::size_t b = 0; b < n / 256; ++b) {
            const Block& blk = w[b];
            const Activation::Block& act = a[b];
            const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)blk.scales));
            const q8k_kernels::PairScales scale(sc16);
            const __m256i offset = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i*)act.bsums));

            __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
            q8k_kernels::unroll<2>([&](auto h) {  // weights 128h .. 128h + 127
                const __m256i ql0 = _mm256_loadu_si256((const __m256i*)(blk.ql + 64 * h));
                const __m256i ql1 = _mm256_loadu_si256((const __m256i*)(blk.ql + 64 * h + 32));
                const __m256i qh = _mm256_loadu_si256((const __m256i*)(blk.qh + 32 * h));
                const __m256i q[4] = {merge(ql0, _mm256_slli_epi16(qh, 4)), merge(ql1, _mm256_slli_epi16(qh, 2)),
                                      merge(_mm256_srli_epi16(ql0, 4), qh),
                                      merge(_mm256_srli_epi16(ql1, 4), _mm256_srli_epi16(qh, 2))};
                const std::int8_t* x = act.qs + 128 * h;
                q8k_kernels::unroll<4>([&](auto g) {
                    const __m256i p = _mm256_maddubs_epi16(q[g], _mm256_loadu_si256((const __m256i*)(x + 32 * g)));
                    if constexpr (g % 2 == 0) sum0 = q8k_kernels::madd_acc(arch, sum0, p, scale(4 * h + g));
                    else sum1 = q8k_kernels::madd_acc(arch, sum1, p, scale(4 * h + g));
                });
            });
            const __m256i isum = _mm256_sub_epi32(_mm256_add_epi32(sum0, sum1), _mm256_slli_epi32(offset, 5));
            const __m256 d = _mm256_set1_ps(f16_to_f32(blk.d) * act.d);
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc);
        }
        return simd::hsum(acc);
    }
#endif
};

ULK_STRICT_FP_BEGIN

inline void Q6_K::quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 256; ++b, x += 256) {
        std::int8_t codes[256];  // unsigned 6-bit codes, 0..63
        float scales[16];
        float max_scale = 0, max_abs_scale = 0;
        for (int j = 0; j < 16; ++j) {
            scales[j] = kquant::fit_symmetric_scale(16, 32, x + 16 * j, codes + 16 * j, nullptr);
            if (std::fabs(scales[j]) > max_abs_scale) {
                max_abs_scale = std::fabs(scales[j]);
                max_scale = scales[j];
            }
        }
        Block& out = y[b];
        if (max_abs_scale < kquant::kGroupMaxEps) {
            std::memset(&out, 0, sizeof(Block));
            continue;
        }
        // the largest scale, with its sign, maps to -128 so that the range of int8 is used
        const float iscale = -128.f / max_scale;
        out.d = f32_to_f16_scalar(1 / iscale);
        for (int j = 0; j < 16; ++j)
            out.scales[j] = std::int8_t(std::min(127, kquant::nearest_int(iscale * scales[j])));

        for (int j = 0; j < 16; ++j) {
            const float d = f16_to_f32_scalar(out.d) * float(out.scales[j]);
            if (d == 0) continue;  // keep the search's codes
            for (int l = 0; l < 16; ++l)
                codes[16 * j + l] = std::int8_t(std::clamp(kquant::nearest_int(x[16 * j + l] / d), -32, 31) + 32);
        }
        for (int h = 0; h < 2; ++h) {
            const std::int8_t* c = codes + 128 * h;
            for (int l = 0; l < 32; ++l) {
                out.ql[64 * h + l] = std::uint8_t((c[l] & 15) | (c[l + 64] & 15) << 4);
                out.ql[64 * h + 32 + l] = std::uint8_t((c[l + 32] & 15) | (c[l + 96] & 15) << 4);
                out.qh[32 * h + l] = std::uint8_t((c[l] >> 4) | (c[l + 32] >> 4) << 2 | (c[l + 64] >> 4) << 4 |
                                                  (c[l + 96] >> 4) << 6);
            }
        }
    }
}

inline void Q6_K::dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = f16_to_f32_scalar(x[b].d);
        for (int i = 0; i < 256; ++i) y[i] = d * float(x[b].scales[i / 16]) * float(code(x[b], i) - 32);
    }
}

inline float Q6_K::dot_ref(const Block* w, const Activation::Block* a, std::size_t n) {
    float lane_sums[8] = {};
    for (std::size_t b = 0; b < n / 256; ++b) {
        std::int32_t lanes[8] = {};  // lane l: elements i with i % 8 == l, each times its scale
        for (int i = 0; i < 256; ++i)
            lanes[i % 8] += w[b].scales[i / 16] * std::int16_t(a[b].qs[i] * (code(w[b], i) - 32));
        const float d = f16_to_f32_scalar(w[b].d) * a[b].d;
        for (int l = 0; l < 8; ++l) lane_sums[l] += d * float(lanes[l]);
    }
    float s = 0;
    for (int l = 0; l < 8; ++l) s += lane_sums[l];
    return s;
}

ULK_STRICT_FP_END

}  // namespace ulk::quant
