#pragma once
// Q3_K (ggml): 256 weights in 16 sub-blocks of 16, each with a signed 6-bit scale times one f16
// super-block scale.   x = d * (sc_j - 32) * (q - 4),  q in 0..7, sc_j in 0..63.
//
// Layout (110 bytes, 3.4375 bits per weight):
//   hmask[32] u8 | qs[64] u8 | scales[12] u8 | d f16
//   weight 128h + 32s + l (h = 0..1, s = 0..3, l = 0..31): low 2 bits are bits 2s..2s+1 of
//   qs[32h + l]; bit 2 is bit 4h + s of hmask[l].
//   scales (6 bits each): low 4 bits of sc_j are scales[j] & 15 for j < 8, scales[j - 8] >> 4
//   for j >= 8; high 2 bits are bits 2(j / 4)..2(j / 4)+1 of scales[8 + j % 4].
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

struct BlockQ3_K {
    std::uint8_t hmask[32];
    std::uint8_t qs[64];
    std::uint8_t scales[12];
    f16_bits d;
};
static_assert(sizeof(BlockQ3_K) == 110, "Q3_K block: 32 + 64 bytes of 3-bit codes + 12 bytes of 6-bit scales + f16");

struct Q3_K {
    static constexpr std::string_view kName = "Q3_K";
    static constexpr int kGgmlType = int(GgmlType::Q3_K);
    static constexpr std::size_t kBlockWeights = 256;
    using Block = BlockQ3_K;
    using Activation = Q8_K;

    // ggml's quantize_row_q3_K_ref: a refined x^2-weighted scale per sub-block, the 6-bit scales
    // relative to the largest, then every code recomputed against the rounded scales.
    static void quantize_ref(const float* x, Block* y, std::size_t n);
    static void dequantize_ref(const Block* x, float* y, std::size_t n);
    // ggml's ggml_vec_dot_q3_K_q8_K_generic: integer sums in 8 lanes, float sums per lane.
    static float dot_ref(const Block* w, const Activation::Block* a, std::size_t n);

    // The 16 sub-block scales, signed (sc_j - 32).
    static void unpack_scales(const std::uint8_t* packed, std::int8_t* scale) {
        for (int j = 0; j < 16; ++j) {
            const int low = j < 8 ? packed[j] & 15 : packed[j - 8] >> 4;
            const int high = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
            scale[j] = std::int8_t((low | high << 4) - 32);
        }
    }
    // The unsigned 3-bit code (0..7) of weight i of a block.
    static int code(const Block& blk, int i) {
        const int h = i / 128, s = (i % 128) / 32, l = i % 32;
        return ((blk.qs[32 * h + l] >> (2 * s)) & 3) | ((blk.hmask[l] >> (4 * h + s)) & 1) << 2;
    }

    // Portable: unpack the block's codes, then 16 short integer dots; both loops vectorize.
    static float dot(simd::portable, const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 256; ++b) {
            std::uint8_t q[256];
            for (int k = 0; k < 8; ++k) {  // weights 32k .. 32k + 31
                const std::uint8_t* qs = w[b].qs + 32 * (k / 4);
                const int shift = 2 * (k % 4);
                for (int l = 0; l < 32; ++l)
                    q[32 * k + l] = std::uint8_t(((qs[l] >> shift) & 3) | ((w[b].hmask[l] >> k) & 1) << 2);
            }
            std::int8_t sc[16];
            unpack_scales(w[b].scales, sc);
            std::int32_t isum = 0, offset = 0;
            for (int j = 0; j < 16; ++j) {
                std::int32_t sum = 0;
                for (int l = 0; l < 16; ++l) sum += q[16 * j + l] * a[b].qs[16 * j + l];
                isum += sc[j] * sum;
                offset += sc[j] * a[b].bsums[j];
            }
            // the codes carry +4: subtract 4 * sum(scale * activations), from the sums of 16
            s += f16_to_f32(w[b].d) * a[b].d * float(isum - 4 * offset);
        }
        return s;
    }

#if defined(ULK_HAVE_AVX2)
    // Per 32 weights: shift+mask the 2 low bits and the hmask bit, or them, vpmaddubsw against
    // the activations, vpdpwssd (AVX2: vpmaddwd + vpaddd) with the two sub-block scales. The +4
    // of the codes comes off once per block through Q8_K's sums.
    // One body for both tags; the tag picks vpdpwssd or vpmaddwd + vpaddd (q8k_kernels::madd_acc).
    template <std::derived_from<simd::avx2> Arch>
    static float dot(Arch arch, const Block* w, const Activation::Block* a, std::size_t n) {
        const __m256i two_bits = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
        __m256 acc = _mm256_setzero_ps();
        for (std::size_t b = 0; b < n / 256; ++b) {
            const Block& blk = w[b];
            const Activation::Block& act = a[b];
            const __m256i sc16 = _mm256_cvtepi8_epi16(scales_vector(blk.scales));
            const q8k_kernels::PairScales scale(sc16);
            const __m256i offset = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i*)act.bsums));
            const __m256i hmask = _mm256_loadu_si256((const __m256i*)blk.hmask);

            __m256i sum0 = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();
            const __m256i qs[2] = {_mm256_loadu_si256((const __m256i*)blk.qs),
                                   _mm256_loadu_si256((const __m256i*)(blk.qs + 32))};
            q8k_kernels::unroll<8>([&](auto k) {  // weights 32k .. 32k + 31
                const __m256i low = _mm256_and_si256(_mm256_srli_epi16(qs[k / 4], 2 * (k % 4)), two_bits);
                __m256i high;  // bit k of the hmask bytes moved to bit 2
                if constexpr (k >= 2) high = _mm256_srli_epi16(hmask, k - 2);
                else high = _mm256_slli_epi16(hmask, 2 - k);
                const __m256i q = _mm256_or_si256(low, _mm256_and_si256(high, four));
                const __m256i p = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i*)(act.qs + 32 * k)));
                if constexpr (k % 2 == 0) sum0 = q8k_kernels::madd_acc(arch, sum0, p, scale(k));
                else sum1 = q8k_kernels::madd_acc(arch, sum1, p, scale(k));
            });
            const __m256i isum = _mm256_sub_epi32(_mm256_add_epi32(sum0, sum1), _mm256_slli_epi32(offset, 2));
            const __m256 d = _mm256_set1_ps(f16_to_f32(blk.d) * act.d);
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc);
        }
        return simd::hsum(acc);
    }

    // The 16 signed scales as bytes: word-parallel version of unpack_scales.
    static __m128i scales_vector(const std::uint8_t* packed) {
        std::uint32_t v[3];
        std::memcpy(v, packed, 12);
        const std::uint32_t lo4 = 0x0f0f0f0f, hi2 = 0x03030303;
        const __m128i biased = _mm_setr_epi32(int((v[0] & lo4) | ((v[2] >> 0) & hi2) << 4),
                                              int((v[1] & lo4) | ((v[2] >> 2) & hi2) << 4),
                                              int(((v[0] >> 4) & lo4) | ((v[2] >> 4) & hi2) << 4),
                                              int(((v[1] >> 4) & lo4) | ((v[2] >> 6) & hi2) << 4));
        return _mm_sub_epi8(biased, _mm_set1_epi8(32));
    }
#endif
};

ULK_STRICT_FP_BEGIN

inline void Q3_K::quantize_ref(const float* x, Block* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 256; ++b, x += 256) {
        std::int8_t codes[256];  // unsigned 3-bit codes, 0..7
        float scales[16];
        float max_scale = 0, amax = 0;
        for (int j = 0; j < 16; ++j) {
            scales[j] = kquant::fit_symmetric_scale_refined(16, 4, x + 16 * j, codes + 16 * j);
            if (std::fabs(scales[j]) > amax) {
                amax = std::fabs(scales[j]);
                max_scale = scales[j];
            }
        }

        Block& out = y[b];
        std::memset(out.scales, 0, 12);
        if (max_scale != 0) {
            // the largest scale, with its sign, maps to -32 (the bottom of the 6-bit range)
            const float iscale = -32.f / max_scale;
            for (int j = 0; j < 16; ++j) {
                // ggml narrows to int8 before clamping; kept for identical bytes on odd inputs
                const std::int8_t l = std::int8_t(kquant::nearest_int(iscale * scales[j]));
                const int biased = std::clamp(int(l), -32, 31) + 32;
                if (j < 8) out.scales[j] = std::uint8_t(biased & 15);
                else out.scales[j - 8] |= std::uint8_t((biased & 15) << 4);
                out.scales[8 + j % 4] |= std::uint8_t((biased >> 4) << (2 * (j / 4)));
            }
            out.d = f32_to_f16_scalar(1 / iscale);
        } else {
            out.d = f32_to_f16_scalar(0.f);
        }

        std::int8_t sc[16];
        unpack_scales(out.scales, sc);
        for (int j = 0; j < 16; ++j) {
            const float d = f16_to_f32_scalar(out.d) * float(sc[j]);
            if (d == 0) continue;  // keep the search's codes
            for (int l = 0; l < 16; ++l)
                codes[16 * j + l] = std::int8_t(std::clamp(kquant::nearest_int(x[16 * j + l] / d), -4, 3) + 4);
        }

        std::memset(out.hmask, 0, 32);
        for (int i = 0; i < 256; ++i) {
            if (codes[i] > 3) {
                out.hmask[i % 32] |= std::uint8_t(1 << (i / 32));
                codes[i] = std::int8_t(codes[i] - 4);
            }
        }
        for (int h = 0; h < 2; ++h) {
            const std::int8_t* c = codes + 128 * h;
            for (int l = 0; l < 32; ++l)
                out.qs[32 * h + l] = std::uint8_t(c[l] | c[l + 32] << 2 | c[l + 64] << 4 | c[l + 96] << 6);
        }
    }
}

inline void Q3_K::dequantize_ref(const Block* x, float* y, std::size_t n) {
    for (std::size_t b = 0; b < n / 256; ++b, y += 256) {
        const float d = f16_to_f32_scalar(x[b].d);
        std::int8_t sc[16];
        unpack_scales(x[b].scales, sc);
        for (int j = 0; j < 16; ++j) {
            const float dl = d * float(sc[j]);
            for (int l = 0; l < 16; ++l) y[16 * j + l] = dl * float(code(x[b], 16 * j + l) - 4);
        }
    }
}

inline float Q3_K::dot_ref(const Block* w, const Activation::Block* a, std::size_t n) {
    float lane_sums[8] = {};
    for (std::size_t b = 0; b < n / 256; ++b) {
        std::int8_t sc[16];
        unpack_scales(w[b].scales, sc);
        std::int32_t lanes[8] = {};  // lane l: elements i with i % 8 == l, each times its scale
        for (int i = 0; i < 256; ++i)
            lanes[i % 8] += sc[i / 16] * std::int16_t(a[b].qs[i] * (code(w[b], i) - 4));
        const float d = f16_to_f32_scalar(w[b].d) * a[b].d;
        for (int l = 0; l < 8; ++l) lane_sums[l] += d * float(lanes[l]);
    }
    float s = 0;
    for (int l = 0; l < 8; ++l) s += lane_sums[l];
    return s;
}

ULK_STRICT_FP_END

}  // namespace ulk::quant
