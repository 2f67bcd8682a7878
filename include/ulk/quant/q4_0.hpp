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
    // x*id is rounded to float before the add, as in ggml (built with -ffp-contract=off): the
    // volatile keeps the compiler from fusing them into an FMA (GCC does by default, even in ISO
    // C++ mode, with -march=native), which moves codes at the boundaries (tests/data/kat).
    static float rounded_product(float a, float b) noexcept {
        volatile float p = a * b;
        return p;
    }
    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
            float amax = 0, max = 0;
            for (int j = 0; j < 32; ++j)
                if (amax < std::fabs(x[j])) { amax = std::fabs(x[j]); max = x[j]; }
            const float d = max / -8.f;
            const float id = d != 0 ? 1.f / d : 0.f;
            y[b].d = f32_to_f16_scalar(d);
            for (int j = 0; j < 16; ++j) {
                const std::uint8_t lo = std::uint8_t(std::min(15, int(std::int8_t(rounded_product(x[j], id) + 8.5f))));
                const std::uint8_t hi =
                    std::uint8_t(std::min(15, int(std::int8_t(rounded_product(x[j + 16], id) + 8.5f))));
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
        return q8act_kernels::dot([](const Block& b) { return unpack(b); }, w, a, n);
    }
    // Block b of 8 rows, transposed (q8act_kernels::dot_tile8): group g < 4 is the low nibbles of
    // qs[4g..4g+3], group g + 4 their high nibbles; minus the zero point 8.
    static void load8(const Block* const* w, std::size_t b, __m256i q[8]) {
        const void* p[8];
        #pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) p[r] = w[r][b].qs;
        __m256i t[4];
        q8act_kernels::transpose8x16(p, t);
        const __m256i m = _mm256_set1_epi8(0x0f), z = _mm256_set1_epi8(8);
        #pragma GCC unroll 8
        for (int g = 0; g < 4; ++g) {
            q[g] = _mm256_sub_epi8(_mm256_and_si256(t[g], m), z);
            q[g + 4] = _mm256_sub_epi8(_mm256_and_si256(_mm256_srli_epi16(t[g], 4), m), z);
        }
    }
    static constexpr std::size_t kTileRows = 8, kTileTokens = 8;
    template <std::size_t TR, std::size_t TT>
    static void dot_tile(simd::avx512vnni, const Block* const* w, std::size_t stride, const Activation::Block* const* a,
                         std::size_t n, float* out, std::size_t ldo) {
        static_assert(TR == 8, "the shared tile kernel takes eight rows");
        q8act_kernels::dot_tile8<TT>(load8, w, stride, a, n, out, ldo);
    }
    // Block-sparse decode over R interleaved panel rows (q8act_kernels::dot_rows).
    template <std::size_t R>
    static void dot_rows(simd::avx512vnni, const Block* w, std::size_t stride, const Activation::Block* a,
                         const std::uint32_t* cols, std::size_t kept, std::size_t per_block, float* out) {
        q8act_kernels::dot_rows<R>([](const Block& b) { return unpack(b); }, w, stride, a, cols, kept, per_block, out);
    }
#endif
};

}  // namespace ulk::quant
