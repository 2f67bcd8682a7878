#pragma once
// F32: plain IEEE floats, one weight per "block". Also the activation format of the float path.
#include <cstddef>
#include <string_view>
#include <xsimd/xsimd.hpp>

#include "ulk/quant/format.hpp"

namespace ulk::quant {

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
};

}  // namespace ulk::quant
