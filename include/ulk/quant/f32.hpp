#pragma once
// F32: plain IEEE floats, one weight per "block". Also the activation format of the float path.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <xsimd/xsimd.hpp>

#include "ulk/quant/format.hpp"
#include "ulk/simd/arch.hpp"
#if defined(ULK_HAVE_AVX512VNNI)
#include <immintrin.h>
#endif

namespace ulk::quant {

#if defined(ULK_HAVE_AVX512VNNI)
namespace float_panel {
// Block-sparse decode for the float formats (F32, F16, BF16), rows as lanes: a panel keeps the R
// rows' weights of each column side by side (sparse/block_sparse_matrix.hpp, one weight per
// F-block), so one masked load of R <= 16 weights, widened to floats, times the broadcast
// activation is one FMA for all R rows, and no horizontal sum is needed. w[f * stride + r] is
// column f of row r; column f = k * per_block + j meets x[cols[k] * per_block + j]. out[r].
template <std::size_t R, class Widen, class Block>
inline void dot_rows(Widen widen, const Block* w, std::size_t stride, const float* x, const std::uint32_t* cols,
                     std::size_t kept, std::size_t per_block, float* out) {
    static_assert(R >= 1 && R <= 16, "one vector of 16 lanes holds the rows");
    constexpr __mmask16 m = __mmask16((1u << R) - 1);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (std::size_t k = 0; k < kept; ++k) {
        const float* xk = x + std::size_t(cols[k]) * per_block;
        std::size_t j = 0;
        for (; j + 4 <= per_block; j += 4, w += 4 * stride) {  // four chains hide the FMA latency
            _mm_prefetch((const char*)w + 2048, _MM_HINT_T0);
            #pragma GCC unroll 4
            for (std::size_t u = 0; u < 4; ++u)
                acc[u] = _mm512_fmadd_ps(widen(m, w + u * stride), _mm512_set1_ps(xk[j + u]), acc[u]);
        }
        for (; j < per_block; ++j, w += stride) acc[0] = _mm512_fmadd_ps(widen(m, w), _mm512_set1_ps(xk[j]), acc[0]);
    }
    _mm512_mask_storeu_ps(out, m, _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}
}  // namespace float_panel
#endif

struct F32 {
    static constexpr std::string_view kName = "F32";
    static constexpr int kGgmlType = int(GgmlType::F32);
    static constexpr std::size_t kBlockWeights = 1;
    using Block = float;
    using Activation = F32;

    static void quantize_ref(const float* x, Block* y, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
    }
    static void dequantize_ref(const Block* x, float* y, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) y[i] = x[i];
    }
    static float dot_ref(const Block* w, const float* a, std::size_t n) {
        double s = 0;
        for (std::size_t i = 0; i < n; ++i) s += double(w[i]) * double(a[i]);
        return float(s);
    }
    // xsimd is the fast path on every target: four accumulators hide the FMA latency.
    static float dot(simd::portable, const Block* w, const float* a, std::size_t n) {
        using B = xsimd::batch<float>;
        constexpr std::size_t L = B::size;
        B s0(0.f), s1(0.f), s2(0.f), s3(0.f);
        std::size_t i = 0;
        for (; i + 4 * L <= n; i += 4 * L) {
            s0 = xsimd::fma(B::load_unaligned(w + i), B::load_unaligned(a + i), s0);
            s1 = xsimd::fma(B::load_unaligned(w + i + L), B::load_unaligned(a + i + L), s1);
            s2 = xsimd::fma(B::load_unaligned(w + i + 2 * L), B::load_unaligned(a + i + 2 * L), s2);
            s3 = xsimd::fma(B::load_unaligned(w + i + 3 * L), B::load_unaligned(a + i + 3 * L), s3);
        }
        for (; i + L <= n; i += L) s0 = xsimd::fma(B::load_unaligned(w + i), B::load_unaligned(a + i), s0);
        float s = xsimd::hadd((s0 + s1) + (s2 + s3));
        for (; i < n; ++i) s += w[i] * a[i];
        return s;
    }
#if defined(ULK_HAVE_AVX512VNNI)
    template <std::size_t R>
    static void dot_rows(simd::avx512vnni, const Block* w, std::size_t stride, const float* x, const std::uint32_t* cols,
                         std::size_t kept, std::size_t per_block, float* out) {
        float_panel::dot_rows<R>([](__mmask16 m, const Block* p) { return _mm512_maskz_loadu_ps(m, p); }, w, stride, x, cols,
                                 kept, per_block, out);
    }
#endif
};

}  // namespace ulk::quant
