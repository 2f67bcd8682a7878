#pragma once
// GEMM for prefill: Y = X W^T for a batch of tokens. X: (tokens, cols) floats; W: packed
// (rows, cols); Y: (tokens, rows) floats.
//
// The batch is quantized once; then each task takes a tile of rows and runs it against every
// token, so a row's blocks are unpacked from L1 while the tokens' activations stay in L2. A format
// may provide a register-tiled kernel (dot_tile) that unpacks each weight block once for several
// tokens; otherwise the GEMM falls back to one dot per (row, token).
#include <algorithm>
#include <cstddef>
#include <span>

#include "ulk/ops/gemv.hpp"

namespace ulk::ops {

// Rows per task in the GEMM: one tile of rows against all tokens.
inline constexpr std::size_t kGemmRowsPerTask = 32;

template <quant::DotFormat F>
constexpr std::size_t gemm_scratch_blocks(std::size_t tokens, std::size_t cols) noexcept {
    return tokens * gemv_scratch_blocks<F>(cols);
}

// A format's optional tiled kernel: out[t * ldo + r] for kRows rows x kTokens tokens; row r's block
// b is w[r][b * stride].
template <class F, class Arch>
concept HasDotTile = requires(const typename F::Block* const* w, const ActivationBlock<F>* const* a, float* out) {
    F::template dot_tile<F::kTileRows, F::kTileTokens>(Arch{}, w, std::size_t{}, a, std::size_t{}, out, std::size_t{});
};

template <quant::DotFormat F, class Arch = simd::native>
void gemm(quant::MatrixView<F> w, const float* x, std::size_t tokens, float* y,
          std::span<ActivationBlock<F>> scratch, ThreadPool* pool = nullptr, Arch arch = {}) {
    const std::size_t act_stride = kFloatActivation<F> ? w.cols : gemv_scratch_blocks<F>(w.cols);
    const ActivationBlock<F>* act;
    if constexpr (kFloatActivation<F>) {
        act = x;
    } else {
        if (scratch.size() < gemm_scratch_blocks<F>(tokens, w.cols))  // the message is built only on failure
            throw Error({"GEMM scratch too small", std::string(F::kName),
                 std::to_string(gemm_scratch_blocks<F>(tokens, w.cols)) + " blocks", std::to_string(scratch.size()), ""});
        for (std::size_t t = 0; t < tokens; ++t)
            quant::quantize_activation<typename F::Activation>(arch, x + t * w.cols, scratch.data() + t * act_stride, w.cols);
        act = scratch.data();
    }
    const std::size_t tasks = (w.rows + kGemmRowsPerTask - 1) / kGemmRowsPerTask;
    auto run = [&](std::size_t task) {
        const std::size_t r0 = task * kGemmRowsPerTask, r1 = std::min(w.rows, r0 + kGemmRowsPerTask);
        std::size_t r = r0;
        if constexpr (HasDotTile<F, Arch>) {
            constexpr std::size_t TR = F::kTileRows, TT = F::kTileTokens;
            for (; r + TR <= r1; r += TR) {
                const typename F::Block* rows[TR];
                for (std::size_t i = 0; i < TR; ++i) rows[i] = w.row(r + i);
                std::size_t t = 0;
                for (; t + TT <= tokens; t += TT) {
                    const ActivationBlock<F>* toks[TT];
                    for (std::size_t j = 0; j < TT; ++j) toks[j] = act + (t + j) * act_stride;
                    F::template dot_tile<TR, TT>(arch, rows, 1, toks, w.cols, y + t * w.rows + r, w.rows);
                }
                for (; t < tokens; ++t)
                    for (std::size_t i = 0; i < TR; ++i) y[t * w.rows + r + i] = F::dot(arch, rows[i], act + t * act_stride, w.cols);
            }
        }
        for (; r < r1; ++r)
            for (std::size_t t = 0; t < tokens; ++t) y[t * w.rows + r] = F::dot(arch, w.row(r), act + t * act_stride, w.cols);
    };
    if (pool) pool->parallel_for(tasks, run);
    else for (std::size_t t = 0; t < tasks; ++t) run(t);
}

template <quant::DotFormat F, class Arch = simd::native>
void gemm(quant::MatrixView<F> w, const float* x, std::size_t tokens, float* y, ThreadPool* pool = nullptr, Arch arch = {}) {
    AlignedBuffer<ActivationBlock<F>> scratch(gemm_scratch_blocks<F>(tokens, w.cols), false);
    gemm<F>(w, x, tokens, y, scratch.span(), pool, arch);
}

}  // namespace ulk::ops
