#pragma once
// GEMV for decode: y = W x, W a packed (rows, cols) matrix, x one token's activations.
//
// Integer formats quantize x once into their activation format (the scratch buffer), then every
// row is one dot product against it; float formats read x directly. Each thread streams one
// contiguous range of rows, and a thread that finishes first steals the back half of what is left
// (base/stealing_ranges.hpp): long runs for the hardware prefetchers, and balance when one core
// is slowed.
#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>

#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/error.hpp"
#include "ulk/base/stealing_ranges.hpp"
#include "ulk/base/thread_pool.hpp"
#include "ulk/quant/f32.hpp"
#include "ulk/quant/packed_matrix.hpp"

namespace ulk::ops {

template <quant::DotFormat F>
using ActivationBlock = typename F::Activation::Block;

template <quant::DotFormat F>
constexpr bool kFloatActivation = std::is_same_v<typename F::Activation, quant::F32>;

// Activation blocks a GEMV over `cols` needs as scratch (0 for float formats).
template <quant::DotFormat F>
constexpr std::size_t gemv_scratch_blocks(std::size_t cols) noexcept {
    return kFloatActivation<F> ? 0 : cols / F::Activation::kBlockWeights;
}

namespace detail {
// Splits rows into one range per thread of at least 16 rows (fewer ranges for short matrices):
// range t is [bounds[t], bounds[t + 1]). Returns the number of ranges.
inline std::size_t gemv_row_ranges(std::size_t rows, const ThreadPool* pool, std::size_t* bounds) noexcept {
    const std::size_t ranges = std::max<std::size_t>(1, std::min(stealing_range_count(pool), rows / 16));
    for (std::size_t t = 0; t <= ranges; ++t) bounds[t] = rows * t / ranges;
    return ranges;
}

// Throws unless `have` activation blocks are enough scratch for a GEMV over `cols`.
template <quant::DotFormat F>
void require_gemv_scratch(std::size_t have, std::size_t cols) {
    if (have < gemv_scratch_blocks<F>(cols))  // the message is built only on failure
        throw Error({"GEMV scratch too small", std::string(F::kName), std::to_string(gemv_scratch_blocks<F>(cols)) + " blocks",
                     std::to_string(have), ""});
}

// The activations the dot products read, for x (tokens, cols): x itself for float formats, else x
// quantized into act (tokens, cols / F::Activation::kBlockWeights) blocks.
template <quant::DotFormat F, class Arch>
const ActivationBlock<F>* prepare_activations(const float* x, std::size_t cols, std::size_t tokens, ActivationBlock<F>* act,
                                              Arch arch) {
    if constexpr (kFloatActivation<F>) {
        return x;
    } else {
        for (std::size_t t = 0; t < tokens; ++t)
            quant::quantize_activation<typename F::Activation>(arch, x + t * cols, act + t * (cols / F::Activation::kBlockWeights),
                                                               cols);
        return act;
    }
}

// Prefetches one token's activation blocks into the cache. At the start of a range: the worker
// threads read the blocks the caller just wrote, and prefetching them all at once lets their
// transfers between cores overlap instead of trickling in behind the first row's dot product.
template <quant::DotFormat F>
void prefetch_activations(const ActivationBlock<F>* act, std::size_t cols) noexcept {
#if defined(__GNUC__)
    const char* c = reinterpret_cast<const char*>(act);
    const std::size_t bytes = cols / F::Activation::kBlockWeights * sizeof(ActivationBlock<F>);
    for (std::size_t off = 0; off < bytes; off += 64) __builtin_prefetch(c + off);
#endif
}
}  // namespace detail

// x: (cols) floats; y: (rows) floats; scratch: gemv_scratch_blocks<F>(cols) blocks.
template <quant::DotFormat F, class Arch = simd::native>
void gemv(quant::MatrixView<F> w, const float* x, float* y, std::span<ActivationBlock<F>> scratch,
          ThreadPool* pool = nullptr, Arch arch = {}) {
    detail::require_gemv_scratch<F>(scratch.size(), w.cols);
    const ActivationBlock<F>* act = detail::prepare_activations<F>(x, w.cols, 1, scratch.data(), arch);
    std::size_t bounds[kMaxStealingRanges + 1];
    const std::size_t ranges = detail::gemv_row_ranges(w.rows, pool, bounds);
    run_ranges(
        pool, bounds, ranges, [&](std::size_t) { detail::prefetch_activations<F>(act, w.cols); },
        [&](std::size_t, std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) y[r] = F::dot(arch, w.row(r), act, w.cols);
        });
}

// Convenience overload that allocates its scratch (not for the decode loop).
template <quant::DotFormat F, class Arch = simd::native>
void gemv(quant::MatrixView<F> w, const float* x, float* y, ThreadPool* pool = nullptr, Arch arch = {}) {
    AlignedBuffer<ActivationBlock<F>> scratch(gemv_scratch_blocks<F>(w.cols), false);
    gemv<F>(w, x, y, scratch.span(), pool, arch);
}

// Reference: dequantize each row with the format's scalar reference and sum in double.
template <quant::BlockFormat F>
void gemv_ref(quant::MatrixView<F> w, const float* x, float* y) {
    AlignedBuffer<float> row(w.cols);
    for (std::size_t r = 0; r < w.rows; ++r) {
        F::dequantize_ref(w.row(r), row.data(), w.cols);
        double s = 0;
        for (std::size_t c = 0; c < w.cols; ++c) s += double(row[c]) * double(x[c]);
        y[r] = float(s);
    }
}

}  // namespace ulk::ops

namespace ulk::ops {

// N GEMVs over the same input in one fork-join: y_i = W_i x, with the matrices' rows split as
// one list into ranges. Decode runs q, k and v (and gate and up) this way: the small k and v
// matrices alone are too short to split well over threads, and each fork-join costs a barrier.
// w[i] must all have cols columns; y[i]: (w[i].rows) floats.
template <quant::DotFormat F, std::size_t N, class Arch = simd::native>
void gemv_fused(const std::array<quant::MatrixView<F>, N>& w, const float* x, const std::array<float*, N>& y,
                std::span<ActivationBlock<F>> scratch, ThreadPool* pool = nullptr, Arch arch = {}) {
    const std::size_t cols = w[0].cols;
    detail::require_gemv_scratch<F>(scratch.size(), cols);
    const ActivationBlock<F>* act = detail::prepare_activations<F>(x, cols, 1, scratch.data(), arch);
    std::size_t total = 0;
    for (const auto& m : w) total += m.rows;
    std::size_t bounds[kMaxStealingRanges + 1];
    const std::size_t ranges = detail::gemv_row_ranges(total, pool, bounds);
    // Pieces are global row ranges [r0, r1), possibly across matrices.
    run_ranges(
        pool, bounds, ranges, [&](std::size_t) { detail::prefetch_activations<F>(act, cols); },
        [&](std::size_t, std::size_t r0, std::size_t r1) {
            std::size_t base = 0;
            for (std::size_t i = 0; i < N && r0 < r1; base += w[i].rows, ++i) {
                const std::size_t end = base + w[i].rows;
                for (; r0 < r1 && r0 < end; ++r0) y[i][r0 - base] = F::dot(arch, w[i].row(r0 - base), act, cols);
            }
        });
}

}  // namespace ulk::ops
