#pragma once
// Q8_0 (ggml): 32 weights per block, one f16 scale.
//
// Layout (34 bytes): d f16 | qs[32] int8.   x = d * qs,  d = max|x| / 127.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ulk/base/fp16.hpp"
#include "ulk/quant/format.hpp"
#include "ulk/quant/q8_act.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

struct BlockQ8_0 {
    f16_bits d;
    std::int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34, "Q8_0 block: f16 scale + 32 int8");

struct Q8_0 {
    static constexpr std::string_view kName = "Q8_0";
    static constexpr int kGgmlType = int(GgmlType::Q8_0);
    static constexpr std::size_t kBlockWeights = 32;
    using Block = BlockQ8_0;
    using Activation = Q8Act<128>;  // weights XOR 0x80 become unsigned with zero point 128

    // ggml's quantize_row_q8_0_ref: round half away from zero (roundf).
    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 32; ++b, x += 32) {
            float amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
            const float d = amax / 127.f;
            const float id = d != 0 ? 1.f / d : 0.f;
            y[b].d = f32_to_f16_scalar(d);
            for (int j = 0; j < 32; ++j) y[b].qs[j] = std::int8_t(std::roundf(x[j] * id));
        }
    }
    static void dequantize_ref(const Block* x, float* y, std::size_t n) {
        for (std::size_t b = 0; b < n / 32; ++b) {
            const float d = f16_to_f32_scalar(x[b].d);
            for (int j = 0; j < 32; ++j) y[b * 32 + j] = d * float(x[b].qs[j]);
        }
    }
    static float dot_ref(const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 32; ++b) {
            std::int32_t isum = 0;
            for (int j = 0; j < 32; ++j) isum += std::int32_t(w[b].qs[j]) * a[b].qs[j];
            s += f16_to_f32_scalar(w[b].d) * a[b].d * float(isum);
        }
        return s;
    }
    // Portable: the same integer loop; compilers vectorize the 32-wide inner sum.
    static float dot(simd::portable, const Block* w, const Activation::Block* a, std::size_t n) {
        float s = 0;
        for (std::size_t b = 0; b < n / 32; ++b) {
            std::int32_t isum = 0;
            for (int j = 0; j < 32; ++j) isum += std::int32_t(w[b].qs[j]) * std::int32_t(a[b].qs[j]);
            s += f16_to_f32(w[b].d) * a[b].d * float(isum);
        }
        return s;
    }
#if defined(ULK_HAVE_AVX512VNNI)
    // XOR 0x80 turns the signed codes into unsigned ones with zero point 128.
    static __m256i unpack(const Block& blk) {
        return _mm256_xor_si256(_mm256_loadu_si256((const __m256i*)blk.qs), _mm256_set1_epi8(char(0x80)));
    }
    static float dot(simd::avx512vnni, const Block* w, const Activation::Block* a, std::size_t n) {
        return q8act_kernels::dot([](const Block& b) { return unpack(b); }, w, a, n);
    }
    // Block b of 8 rows, transposed (q8act_kernels::dot_tile8): the signed codes as stored.
    static void load8(const Block* const* w, std::size_t b, __m256i q[8]) {
        const void* lo[8];
        const void* hi[8];
        #pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) lo[r] = w[r][b].qs, hi[r] = w[r][b].qs + 16;
        q8act_kernels::transpose8x16(lo, q);
        q8act_kernels::transpose8x16(hi, q + 4);
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
