#pragma once
// Causal grouped-query attention over the KV cache, for one token (decode) or a batch (prefill).
//
// Query head h reads KV head h / (heads / kv_heads). For a token at position p the scores cover
// positions 0..p (the causal mask is the range, nothing is masked after the fact):
//   s = softmax(q . K[0..p] / sqrt(head_dim)),  out = sum_j s[j] V[j].
// Heads are independent, so they are the unit of parallel work; in prefill a head's task runs the
// batch's tokens in order, reusing its row of the score buffer.
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <vector>
#include <algorithm>

#include "ulk/base/fp16.hpp"
#include "ulk/base/thread_pool.hpp"
#include "ulk/ops/activation.hpp"
#include "ulk/quant/f16.hpp"
#include "ulk/quant/f32.hpp"

namespace ulk::attention {

namespace detail {

// q . row for a cache row of HeadDim values in format Elem.
template <class Elem, std::size_t HeadDim, class Arch>
inline float dot_row(Arch arch, const float* q, const typename Elem::Block* row) noexcept {
    if constexpr (std::is_same_v<typename Elem::Activation, quant::F32>) {
        return Elem::dot(arch, row, q, HeadDim);
    } else {  // quantized rows: expand, then the float dot (quantizing q would add its own error)
        alignas(64) float tmp[HeadDim];
        Elem::dequantize_ref(row, tmp, HeadDim);
        return quant::F32::dot(arch, tmp, q, HeadDim);
    }
}

// out += p * row.
template <class Elem, std::size_t HeadDim>
inline void accumulate_row(float* out, float p, const typename Elem::Block* row) noexcept {
    if constexpr (std::is_same_v<Elem, quant::F32>) {
        for (std::size_t d = 0; d < HeadDim; ++d) out[d] += p * row[d];
    } else if constexpr (std::is_same_v<Elem, quant::F16>) {
        for (std::size_t d = 0; d < HeadDim; ++d) out[d] += p * f16_to_f32(row[d]);  // F16C, not the software reference
    } else {
        alignas(64) float tmp[HeadDim];
        Elem::dequantize_ref(row, tmp, HeadDim);
        for (std::size_t d = 0; d < HeadDim; ++d) out[d] += p * tmp[d];
    }
}

#if defined(__AVX512F__)
// The weighted sum over F16 values with the head's output in registers across all positions:
// HeadDim / 16 accumulators, one vcvtph2ps and one FMA per 16 values.
template <std::size_t HeadDim>
inline void weighted_sum_f16(const float* p, const f16_bits* values, std::size_t n, float* out) noexcept {
    static_assert(HeadDim % 16 == 0);
    __m512 acc[HeadDim / 16];
    for (auto& a : acc) a = _mm512_setzero_ps();
    for (std::size_t j = 0; j < n; ++j) {
        const __m512 pj = _mm512_set1_ps(p[j]);
        const f16_bits* row = values + j * HeadDim;
        #pragma GCC unroll 16
        for (std::size_t i = 0; i < HeadDim / 16; ++i)
            acc[i] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i*)(row + 16 * i))), pj, acc[i]);
    }
    for (std::size_t i = 0; i < HeadDim / 16; ++i) _mm512_storeu_ps(out + 16 * i, acc[i]);
}
#endif

}  // namespace detail

// One query head over n cached positions. q: (HeadDim); keys, values: (n, HeadDim) in Elem
// blocks; scores: (n) scratch; out: (HeadDim).
template <class Elem, std::size_t HeadDim, class Arch = simd::native>
void attend_head(const float* q, const typename Elem::Block* keys, const typename Elem::Block* values, std::size_t n,
                 float* scores, float* out, Arch arch = {}) noexcept {
    constexpr std::size_t kRow = HeadDim / Elem::kBlockWeights;
    const float scale = 1.f / std::sqrt(float(HeadDim));
    for (std::size_t j = 0; j < n; ++j) scores[j] = detail::dot_row<Elem, HeadDim>(arch, q, keys + j * kRow) * scale;
    ops::softmax(scores, n);
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<Elem, quant::F16> && HeadDim % 16 == 0 && HeadDim <= 256) {
        detail::weighted_sum_f16<HeadDim>(scores, values, n, out);
        return;
    }
#endif
    for (std::size_t d = 0; d < HeadDim; ++d) out[d] = 0.f;
    for (std::size_t j = 0; j < n; ++j) detail::accumulate_row<Elem, HeadDim>(out, scores[j], values + j * kRow);
}

// Attention of `tokens` consecutive tokens at positions pos0 .. pos0+tokens-1, whose keys and
// values are already in the cache. q: (tokens, Heads, HeadDim); out: (tokens, Heads, HeadDim);
// scores: (Heads, Cache::kContext) scratch.
template <std::size_t Heads, class Cache, class Arch = simd::native>
void attention(const Cache& cache, std::size_t layer, const float* q, std::size_t tokens, std::size_t pos0, float* out,
               float* scores, ThreadPool* pool = nullptr, Arch arch = {}) {
    constexpr std::size_t D = Cache::kHeadDim, kGroup = Heads / Cache::kKvHeads;
    static_assert(Heads % Cache::kKvHeads == 0, "attention: query heads must be a multiple of KV heads");
    auto head = [&](std::size_t h) {
        const auto* keys = cache.keys(layer, h / kGroup);
        const auto* values = cache.values(layer, h / kGroup);
        for (std::size_t t = 0; t < tokens; ++t)
            attend_head<typename Cache::Element, D>(q + (t * Heads + h) * D, keys, values, pos0 + t + 1,
                                                    scores + h * Cache::kContext, out + (t * Heads + h) * D, arch);
    };
    if (pool) pool->parallel_for(Heads, head);
    else for (std::size_t h = 0; h < Heads; ++h) head(h);
}

// Reference for one head: float64 throughout over already-dequantized rows.
// q: (head_dim); keys, values: (n, head_dim) floats; out: (head_dim).
inline void attend_head_ref(const float* q, const float* keys, const float* values, std::size_t n, std::size_t head_dim,
                            float* out) {
    std::vector<double> s(n);
    double m = -INFINITY;
    for (std::size_t j = 0; j < n; ++j) {
        double d = 0;
        for (std::size_t i = 0; i < head_dim; ++i) d += double(q[i]) * double(keys[j * head_dim + i]);
        s[j] = d / std::sqrt(double(head_dim));
        m = std::max(m, s[j]);
    }
    double sum = 0;
    for (auto& v : s) sum += (v = std::exp(v - m));
    for (std::size_t i = 0; i < head_dim; ++i) {
        double o = 0;
        for (std::size_t j = 0; j < n; ++j) o += s[j] / sum * double(values[j * head_dim + i]);
        out[i] = float(o);
    }
}

}  // namespace ulk::attention
