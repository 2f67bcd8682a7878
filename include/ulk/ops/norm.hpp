#pragma once
// RMSNorm: y = x / sqrt(mean(x^2) + eps) * w, over one token's vector of n values.
//
// The sum of squares is accumulated in double as ggml does (a dim-4096 sum of squares in float
// loses digits that show up in the logits); the scaling is a plain float loop.
#include <cmath>
#include <cstddef>

namespace ulk::ops {

// x, y: (n) floats (y may alias x); w: (n) floats.
inline void rms_norm(const float* x, const float* w, float* y, std::size_t n, float eps) noexcept {
    double ss = 0;
    for (std::size_t i = 0; i < n; ++i) ss += double(x[i]) * double(x[i]);
    const float scale = float(1.0 / std::sqrt(ss / double(n) + double(eps)));
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
}

// Reference: everything in double.
inline void rms_norm_ref(const float* x, const float* w, float* y, std::size_t n, float eps) noexcept {
    double ss = 0;
    for (std::size_t i = 0; i < n; ++i) ss += double(x[i]) * double(x[i]);
    const double scale = 1.0 / std::sqrt(ss / double(n) + double(eps));
    for (std::size_t i = 0; i < n; ++i) y[i] = float(double(x[i]) * scale * double(w[i]));
}

}  // namespace ulk::ops
