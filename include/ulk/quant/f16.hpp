#pragma once
// F16: IEEE half weights against float activations (converted on the fly, exact).
#include <cstddef>
#include <string_view>
#include <xsimd/xsimd.hpp>

#include "ulk/base/fp16.hpp"
#include "ulk/quant/f32.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

struct F16 {
    static constexpr std::string_view kName = "F16";
    static constexpr int kGgmlType = int(GgmlType::F16);
    static constexpr std::size_t kBlockWeights = 1;
    using Block = f16_bits;
    using Activation = F32;

    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) y[i] = f32_to_f16_scalar(x[i]);
    }
    static void dequantize_ref(const Block* x, float* y, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) y[i] = f16_to_f32_scalar(x[i]);
    }
    static float dot_ref(const Block* w, const float* a, std::size_t n) {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += double(f16_to_f32_scalar(w[i])) * double(a[i]);
        return float(s);
    }
    // Portable: convert a chunk to floats, then the F32 kernel.
    static float dot(simd::portable arch, const Block* w, const float* a, std::size_t n) {
        constexpr std::size_t kChunk = 256;
        alignas(64) float tmp[kChunk];
        float s = 0;
        for (std::size_t i = 0; i < n; i += kChunk) {
            const std::size_t m = n - i < kChunk ? n - i : kChunk;
            for (std::size_t j = 0; j < m; ++j) tmp[j] = f16_to_f32(w[i + j]);
            s += F32::dot(arch, tmp, a + i, m);
        }
        return s;
    }
#if defined(ULK_HAVE_AVX512VNNI)
    static float dot(simd::avx512vnni, const Block* w, const float* a, std::size_t n) {
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        std::size_t i = 0;
        for (; n - i >= 32; i += 32) {  // i <= n always: no wrap-around
            s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(w + i))), _mm512_loadu_ps(a + i), s0);
            s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(w + i + 16))), _mm512_loadu_ps(a + i + 16), s1);
        }
        for (; i < n; i += 16) {  // tail of fewer than 32: masked loads, no scalar loop
            const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
            s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, w + i)), _mm512_maskz_loadu_ps(m, a + i), s0);
        }
        return simd::hsum(_mm512_add_ps(s0, s1));
    }
    template <std::size_t R>
    static void dot_rows(simd::avx512vnni, const Block* w, std::size_t stride, const float* x, const std::uint32_t* cols,
                         std::size_t kept, std::size_t per_block, float* out) {
        float_panel::dot_rows<R>([](__mmask16 m, const Block* p) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }, w,
                                 stride, x, cols, kept, per_block, out);
    }
#endif
};

}  // namespace ulk::quant
