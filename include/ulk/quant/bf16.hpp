#pragma once
// BF16: the upper half of an IEEE float; weights widen exactly to float by a 16-bit shift.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <xsimd/xsimd.hpp>

#include "ulk/base/fp16.hpp"
#include "ulk/quant/f32.hpp"
#include "ulk/simd/reduce.hpp"

namespace ulk::quant {

struct BF16 {
    static constexpr std::string_view kName = "BF16";
    static constexpr int kGgmlType = int(GgmlType::BF16);
    static constexpr std::size_t kBlockWeights = 1;
    using Block = bf16_bits;
    using Activation = F32;

    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]);
    }
    static void dequantize_ref(const Block* x, float* y, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) y[i] = bf16_to_f32(x[i]);
    }
    static float dot_ref(const Block* w, const float* a, std::size_t n) {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += double(bf16_to_f32(w[i])) * double(a[i]);
        return float(s);
    }
    // Portable: widen with xsimd integer batches (shift into the high half), then FMA.
    static float dot(simd::portable, const Block* w, const float* a, std::size_t n) {
        using BF = xsimd::batch<float>;
        using BI = xsimd::batch<std::uint32_t>;
        constexpr std::size_t L = BF::size;
        alignas(64) std::uint32_t wide[L];
        BF s(0.f);
        std::size_t i = 0;
        for (; i + L <= n; i += L) {
            for (std::size_t j = 0; j < L; ++j) wide[j] = w[i + j];
            const BI bits = BI::load_aligned(wide) << 16;
            s = xsimd::fma(xsimd::bitwise_cast<BF>(bits), BF::load_unaligned(a + i), s);
        }
        float r = xsimd::hadd(s);
        for (; i < n; ++i) r += bf16_to_f32(w[i]) * a[i];
        return r;
    }
#if defined(ULK_HAVE_AVX512VNNI)
    static float dot(simd::avx512vnni, const Block* w, const float* a, std::size_t n) {
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        std::size_t i = 0;
        auto widen = [](const Block* p) {
            return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)), 16));
        };
        for (; n - i >= 32; i += 32) {  // i <= n always: no wrap-around
            s0 = _mm512_fmadd_ps(widen(w + i), _mm512_loadu_ps(a + i), s0);
            s1 = _mm512_fmadd_ps(widen(w + i + 16), _mm512_loadu_ps(a + i + 16), s1);
        }
        for (; i < n; i += 16) {  // tail of fewer than 32: masked loads, no scalar loop
            const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
            const __m512i bits = _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, w + i)), 16);
            s0 = _mm512_fmadd_ps(_mm512_castsi512_ps(bits), _mm512_maskz_loadu_ps(m, a + i), s0);
        }
        return simd::hsum(_mm512_add_ps(s0, s1));
    }
    template <std::size_t R>
    static void dot_rows(simd::avx512vnni, const Block* w, std::size_t stride, const float* x, const std::uint32_t* cols,
                         std::size_t kept, std::size_t per_block, float* out) {
        float_panel::dot_rows<R>(
            [](__mmask16 m, const Block* p) {
                return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
            },
            w, stride, x, cols, kept, per_block, out);
    }
#endif
};

}  // namespace ulk::quant
