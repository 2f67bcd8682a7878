#pragma once
// Element-wise kernels of the forward pass: SwiGLU's gate, softmax, and the residual add.
//
// The exponentials are xsimd's vectorized exp: a scalar std::exp per FFN unit costs about half a
// millisecond per token on the 246M shape (16 layers x 2816 units), a tenth of a decode step.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <xsimd/xsimd.hpp>

namespace ulk::ops {

// gate[i] = silu(gate[i]) * up[i] = gate / (1 + exp(-gate)) * up. gate, up: (n) floats.
inline void swiglu(float* gate, const float* up, std::size_t n) noexcept {
    using B = xsimd::batch<float>;
    constexpr std::size_t L = B::size;
    const std::size_t whole = n - n % L;
    for (std::size_t i = 0; i < whole; i += L) {
        const B g = B::load_unaligned(gate + i);
        (g / (B(1.f) + xsimd::exp(-g)) * B::load_unaligned(up + i)).store_unaligned(gate + i);
    }
    for (std::size_t i = whole; i < n; ++i) gate[i] = gate[i] / (1.f + std::exp(-gate[i])) * up[i];
}

inline void swiglu_ref(float* gate, const float* up, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const double g = gate[i];
        gate[i] = float(g / (1.0 + std::exp(-g)) * double(up[i]));
    }
}

// In place: x[i] = exp(x[i] - max) / sum. x: (n) floats, n >= 1.
inline void softmax(float* x, std::size_t n) noexcept {
    using B = xsimd::batch<float>;
    constexpr std::size_t L = B::size;
    const float m = *std::max_element(x, x + n);
    std::size_t i = 0;
    B vs(0.f);
    for (; i + L <= n; i += L) {
        const B e = xsimd::exp(B::load_unaligned(x + i) - B(m));
        e.store_unaligned(x + i);
        vs += e;
    }
    float s = xsimd::hadd(vs);
    for (; i < n; ++i) s += (x[i] = std::exp(x[i] - m));
    const float inv = 1.f / s;
    for (std::size_t j = 0; j < n; ++j) x[j] *= inv;
}

inline void softmax_ref(float* x, std::size_t n) noexcept {
    const double m = *std::max_element(x, x + n);
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += std::exp(double(x[i]) - m);
    for (std::size_t i = 0; i < n; ++i) x[i] = float(std::exp(double(x[i]) - m) / s);
}

// y[i] += x[i]. x, y: (n) floats.
inline void add_into(float* y, const float* x, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] += x[i];
}

}  // namespace ulk::ops
