#pragma once
// Q4_0 (ggml): 32 weights per block, one f16 scale, 4-bit codes with a fixed offset of 8.
//
// Layout (18 bytes): d f16 | qs[16] u8, element j in the low nibble of qs[j], element j+16 in
// the high nibble.   x = d * (q - 8),  d = (the value of largest magnitude) / -8.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ulk/base/fp16.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/q8_act.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

struct BlockQ4_0 {
    f16_bits d;
    std::uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_0) == 18, "Q4_0 block: f16 scale + 16 bytes of nibbles");

struct Q4_0 {
    static constexpr std::string_view kName = "Q4_0";
    static constexpr int kGgmlType = int(GgmlType::Q4_0);
    static constexpr std::size_t kBlockWeights = 32;
    using Block = BlockQ4_0;
    using Activation = Q8Act<8>;  // codes are unsigned with zero point 8

    // ggml's quantize_row_q4_0_ref: the signed extreme maps to -8, codes truncate x/d + 8.5.
    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; ++j)
                if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); max = x[j]; }
            const float d = max / -8.f;
            const float id = d != 0 ? 1.f / d : 0.f;
            y[b].d = f32_to_f16_scalar(d);
            for (int j = 0; j < 16; ++j) {
                const std::uint8_t lo = std::uint8_t(std::min(15, int(std::int8_t(x[j] * id + 8.5f))));
                const std::uint8_t hi = std::uint8_t(std::min(15, int(std::int8_t(x[j + 16] * id + 8.5f))));
                y[b].qs[j] = std::uint8_t(lo | (hi << 4));
            }
        }
    }
    static void dequantize_ref(const Block* x, float* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 32; ++b) {
            const float d = f16_to_f32_scalar(x[b].d);
            for (int j = 0; j < 16; ++j) {
                y[b * 32 + j] = d * float((x[b].qs[j] & 15) - 8);
                y[b * 32 + j + 16] = d * float((x[b].qs[j] >> 4) - 8);
            }
        }
    }
    static float dot_ref(const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 32; ++b) {
            std::int32_t isum = 0;
            for (int j = 0; j < 16; ++j) {
                isum += ((w[b].qs[j] & 15) - 8) * a[b].qs[j];
                isum += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + 16];
            }
            s += f16_to_f32_scalar(w[b].d) * a[b].d * float(isum);
        }
        return s;
    }
    static float dot(simd::portable, const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 32; ++b) {
            std::int32_t isum = 0;
            for (int j = 0; j < 16; ++j) isum += std::int32_t(w[b].qs[j] & 15) * a[b].qs[j];
            for (int j = 0; j < 16; ++j) isum += std::int32_t(w[b].qs[j] >> 4) * a[b].qs[j + 16];
            for (int i = 0; i < 8; ++i) isum += a[b].bias[i];  // -8 * sum(x)
            s += f16_to_f32(w[b].d) * a[b].d * float(isum);
        }
        return s;
    }
#if defined(ULK_HAVE_AVX512VNNI)
    // Unpacks one block into 32 unsigned codes: broadcast the 16 bytes to both halves, shift the
    // upper half by 4 (per-word variable shift), mask.
    static __m256i unpack(const Block& blk) {
        const __m256i shifts = _mm256_setr_epi64x(0, 0, 0x0004000400040004LL, 0x0004000400040004LL);
        const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i*)blk.qs));
        return _mm256_and_si256(_mm256_srlv_epi16(v, shifts), _mm256_set1_epi8(0x0f));
    }
    static float dot(simd::avx512vnni, const Block* w, const Activation::Block* a, std::size_t n) {
        __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
        const std::size_t nb = n / 32;
        auto block = [&](std::size_t i, __m256 acc) {
            const __m256i dot = _mm256_dpbusd_epi32(_mm256_loadu_si256((const __m256i*)a[i].bias), unpack(w[i]),
                                                    _mm256_loadu_si256((const __m256i*)a[i].qs));
            return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), simd::scale_product(w[i].d, a[i].d), acc);
        };
        std::size_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            acc0 = block(b, acc0);
            acc1 = block(b + 1, acc1);
        }
        if (b < nb) acc0 = block(b, acc0);
        return simd::hsum(_mm256_add_ps(acc0, acc1));
    }

    // GEMM micro-kernel: TR rows x TT tokens. Each weight block is unpacked once and used for TT
    // tokens; per (row, token, block) the work is one vpdpbusd, one convert and one FMA whose
    // scale (d_row * d_token) is read from a small table with a broadcast load.
    // out[t * ldo + r] = dot(row r, token t).
    static constexpr std::size_t kTileRows = 4, kTileTokens = 4;
    template <std::size_t TR, std::size_t TT>
    static void dot_tile(simd::avx512vnni, const Block* const* w, const Activation::Block* const* a, std::size_t n,
                         float* out, std::size_t ldo) {
        static_assert(TR == 4, "the scale table is built four rows at a time");
        const std::size_t nb = n / 32;
        __m256 acc[TR][TT];
        for (auto& row : acc)
            for (auto& v : row) v = _mm256_setzero_ps();
        for (std::size_t b = 0; b < nb; ++b) {
            const __m128 dw = _mm_cvtph_ps(_mm_setr_epi16(short(w[0][b].d), short(w[1][b].d), short(w[2][b].d),
                                                          short(w[3][b].d), 0, 0, 0, 0));
            alignas(16) float scale[TT][4];  // (token, row): d_row * d_token
            for (std::size_t t = 0; t < TT; ++t) _mm_store_ps(scale[t], _mm_mul_ps(dw, _mm_set1_ps(a[t][b].d)));
            __m256i q[TR];
            for (std::size_t r = 0; r < TR; ++r) q[r] = unpack(w[r][b]);
            for (std::size_t t = 0; t < TT; ++t) {
                const __m256i x = _mm256_loadu_si256((const __m256i*)a[t][b].qs);
                const __m256i bias = _mm256_loadu_si256((const __m256i*)a[t][b].bias);
                for (std::size_t r = 0; r < TR; ++r) {
                    const __m256i dot = _mm256_dpbusd_epi32(bias, q[r], x);
                    acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_broadcast_ss(&scale[t][r]), acc[r][t]);
                }
            }
        }
        for (std::size_t r = 0; r < TR; ++r)
            for (std::size_t t = 0; t < TT; ++t) out[t * ldo + r] = simd::hsum(acc[r][t]);
    }
#endif
};

}  // namespace ulk::quant
