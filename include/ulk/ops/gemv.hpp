#pragma once
// GEMV for decode: y = W x, W a packed (rows, cols) matrix, x one token's activations.
//
// Integer formats quantize x once into their activation format (the scratch buffer), then every
// row is one dot product against it; float formats read x directly. Rows are split into chunks
// that the pool hands out dynamically, so two cores stream disjoint halves of the weights.
#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <type_traits>

#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/error.hpp"
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

// Rows per task. Each thread should stream long contiguous runs (short chunks taken in turn by two
// cores break the hardware prefetchers' streams and cost half the bandwidth), yet tasks must be
// small enough to rebalance when one core is slowed: two tasks per thread, at least 16 rows.
inline std::size_t gemv_rows_per_task(std::size_t rows, unsigned threads) noexcept {
    return std::max<std::size_t>(16, (rows + 2 * threads - 1) / (2 * threads));
}

// x: (cols) floats; y: (rows) floats; scratch: gemv_scratch_blocks<F>(cols) blocks.
template <quant::DotFormat F, class Arch = simd::native>
void gemv(quant::MatrixView<F> w, const float* x, float* y, std::span<ActivationBlock<F>> scratch,
          ThreadPool* pool = nullptr, Arch arch = {}) {
    const ActivationBlock<F>* act;
    if constexpr (kFloatActivation<F>) {
        act = x;
    } else {
        if (scratch.size() < gemv_scratch_blocks<F>(w.cols))  // the message is built only on failure
            throw Error({"GEMV scratch too small", std::string(F::kName),
                 std::to_string(gemv_scratch_blocks<F>(w.cols)) + " blocks", std::to_string(scratch.size()), ""});
        quant::quantize_activation<typename F::Activation>(arch, x, scratch.data(), w.cols);
        act = scratch.data();
    }
    const std::size_t per_task = gemv_rows_per_task(w.rows, pool ? pool->size() : 1);
    const std::size_t tasks = (w.rows + per_task - 1) / per_task;
    auto run = [&](std::size_t t) {
        const std::size_t r1 = std::min(w.rows, (t + 1) * per_task);
        for (std::size_t r = t * per_task; r < r1; ++r) y[r] = F::dot(arch, w.row(r), act, w.cols);
    };
    if (pool) pool->parallel_for(tasks, run);
    else for (std::size_t t = 0; t < tasks; ++t) run(t);
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

// N GEMVs over the same input in one fork-join: y_i = W_i x, with the matrices' rows handed out as
// one list of tasks. Decode runs q, k and v (and gate and up) this way: the small k and v
// matrices alone are too short to split well over threads, and each fork-join costs a barrier.
// w[i] must all have cols columns; y[i]: (w[i].rows) floats.
template <quant::DotFormat F, std::size_t N, class Arch = simd::native>
void gemv_fused(const std::array<quant::MatrixView<F>, N>& w, const float* x, const std::array<float*, N>& y,
                std::span<ActivationBlock<F>> scratch, ThreadPool* pool = nullptr, Arch arch = {}) {
    const std::size_t cols = w[0].cols;
    const ActivationBlock<F>* act;
    if constexpr (kFloatActivation<F>) {
        act = x;
    } else {
        if (scratch.size() < gemv_scratch_blocks<F>(cols))
            throw Error({"GEMV scratch too small", std::string(F::kName), std::to_string(gemv_scratch_blocks<F>(cols)) + " blocks",
                         std::to_string(scratch.size()), ""});
        quant::quantize_activation<typename F::Activation>(arch, x, scratch.data(), cols);
        act = scratch.data();
    }
    std::size_t total = 0;
    for (const auto& m : w) total += m.rows;
    const std::size_t per_task = gemv_rows_per_task(total, pool ? pool->size() : 1);
    // Task t covers global rows [t * per_task, (t + 1) * per_task), possibly across matrices.
    auto run = [&](std::size_t t) {
        std::size_t r0 = t * per_task, r1 = std::min(total, r0 + per_task), base = 0;
        for (std::size_t i = 0; i < N && r0 < r1; base += w[i].rows, ++i) {
            const std::size_t end = base + w[i].rows;
            for (; r0 < r1 && r0 < end; ++r0) y[i][r0 - base] = F::dot(arch, w[i].row(r0 - base), act, cols);
        }
    };
    const std::size_t tasks = (total + per_task - 1) / per_task;
    if (pool) pool->parallel_for(tasks, run);
    else for (std::size_t t = 0; t < tasks; ++t) run(t);
}

}  // namespace ulk::ops
