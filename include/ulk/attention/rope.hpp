#pragma once
// Rotary position embedding in ggml's "normal" mode, the one llama.cpp uses for `llama` files:
// within each head, the adjacent pair (x[2i], x[2i+1]) rotates by pos * base^(-2i / head_dim).
// (Hugging Face checkpoints rotate halves instead; ulk-convert permutes q/k rows to this order.)
//
// The angles are tabulated once per model: cos/sin are computed in double and rounded, so that
// every position gets the correctly rounded value rather than ggml's running product's.
#include <cmath>
#include <cstddef>

#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/error.hpp"

namespace ulk::attention {

template <std::size_t HeadDim, std::size_t Context>
class RopeTable {
    static_assert(HeadDim % 2 == 0, "RoPE rotates pairs: the head dimension must be even");

public:
    static constexpr std::size_t kPairs = HeadDim / 2;
    static constexpr std::size_t kBytes = 2 * Context * kPairs * sizeof(float);

    explicit RopeTable(double base) : cos_sin_(2 * Context * kPairs) {
        for (std::size_t p = 0; p < Context; ++p)
            for (std::size_t i = 0; i < kPairs; ++i) {
                const double angle = double(p) * std::pow(base, -2.0 * double(i) / double(HeadDim));
                cos_sin_[(p * kPairs + i) * 2] = float(std::cos(angle));
                cos_sin_[(p * kPairs + i) * 2 + 1] = float(std::sin(angle));
            }
    }

    // Rotates `heads` consecutive head vectors of one token at position pos. x: (heads, HeadDim).
    void apply(float* x, std::size_t heads, std::size_t pos) const noexcept {
        const float* cs = cos_sin_.data() + pos * kPairs * 2;  // (kPairs, 2): cos, sin
        for (std::size_t h = 0; h < heads; ++h, x += HeadDim)
            for (std::size_t i = 0; i < kPairs; ++i) {
                const float c = cs[2 * i], s = cs[2 * i + 1];
                const float x0 = x[2 * i], x1 = x[2 * i + 1];
                x[2 * i] = x0 * c - x1 * s;
                x[2 * i + 1] = x0 * s + x1 * c;
            }
    }

private:
    AlignedBuffer<float> cos_sin_;  // (Context, kPairs, 2)
};

// Reference: the angle computed directly, in double.
inline void rope_ref(float* x, std::size_t heads, std::size_t head_dim, std::size_t pos, double base) {
    for (std::size_t h = 0; h < heads; ++h, x += head_dim)
        for (std::size_t i = 0; i < head_dim / 2; ++i) {
            const double a = double(pos) * std::pow(base, -2.0 * double(i) / double(head_dim));
            const double x0 = x[2 * i], x1 = x[2 * i + 1];
            x[2 * i] = float(x0 * std::cos(a) - x1 * std::sin(a));
            x[2 * i + 1] = float(x0 * std::sin(a) + x1 * std::cos(a));
        }
}

}  // namespace ulk::attention
