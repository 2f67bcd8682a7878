#pragma once
// GEMV (decode) and GEMM (prefill) over block-sparse matrices (sparse/block_sparse_matrix.hpp):
// pruned blocks are never read. The activations are quantized once into the format's activation
// blocks. A panel keeps its BR rows' F-blocks side by side, so a format with a panel kernel
// (dot_rows: Q8_0, Q4_0, Q2Planar) streams each panel once, loads each activation block the kept
// blocks meet once for up to 16 rows, keeps one accumulator per row, and reads the activations in
// place through the column index: no gather, and one horizontal sum per row per panel. Short
// panel rows (a 50% matrix of 1024 columns keeps 512 weights per row) then cost no more per byte
// than long dense rows. Other formats gather the kept activation blocks and copy each panel row
// into a contiguous buffer for their dense dot product (correct everywhere, not fast).
//
// Work is split into one range of block-rows per thread with equal numbers of kept blocks (row_ptr
// is a prefix sum, so the split is a binary search), so rows of different density balance; a
// thread that finishes first steals the back half of what is left (base/stealing_ranges.hpp).
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <span>

#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/error.hpp"
#include "ulk/base/stealing_ranges.hpp"
#include "ulk/base/thread_pool.hpp"
#include "ulk/ops/gemm.hpp"
#include "ulk/ops/gemv.hpp"
#include "ulk/sparse/block_sparse_matrix.hpp"

namespace ulk::ops {

namespace detail {
template <quant::DotFormat F>
constexpr std::size_t activation_weights() noexcept {
    return kFloatActivation<F> ? 1 : F::Activation::kBlockWeights;
}

// Block-row ranges with about equal numbers of kept blocks: range t is [bounds[t], bounds[t+1]).
template <quant::BlockFormat F>
void balanced_bounds(const sparse::BsrView<F>& w, std::size_t ranges, std::size_t* bounds) {
    const std::size_t nbr = w.block_row_count(), nnz = w.nnz();
    bounds[0] = 0;
    for (std::size_t t = 1; t < ranges; ++t) {
        const std::size_t target = nnz * t / ranges;
        std::size_t b = nnz == 0 ? nbr * t / ranges
                                 : std::size_t(std::lower_bound(w.row_ptr.begin(), w.row_ptr.end(), std::uint32_t(target)) -
                                               w.row_ptr.begin());
        bounds[t] = std::clamp(b, bounds[t - 1], nbr);
    }
    bounds[ranges] = nbr;
}

// Copies the activation blocks of block-row R's kept blocks next to each other.
// Copies are per activation block (a compile-time size, so each is a few inlined vector moves;
// a memcpy call per block would cost as much as streaming the weights it serves).
template <class A>
const A* gather(const A* act, std::span<const std::uint32_t> cols, std::size_t per_block, A* out) {
    if (per_block == 1) {
        for (std::size_t k = 0; k < cols.size(); ++k) std::memcpy(out + k, act + cols[k], sizeof(A));
        return out;
    }
    for (std::size_t k = 0; k < cols.size(); ++k)
        for (std::size_t j = 0; j < per_block; ++j)
            std::memcpy(out + k * per_block + j, act + std::size_t(cols[k]) * per_block + j, sizeof(A));
    return out;
}

// A format's optional panel kernel: R interleaved rows (row r's F-block f at w[f * stride + r])
// against activation blocks a[cols[k] * per_block + j] for F-block f = k * per_block + j.
template <class F, class Arch>
concept HasDotRows = requires(const typename F::Block* w, const ActivationBlock<F>* a, const std::uint32_t* cols, float* out) {
    F::template dot_rows<1>(Arch{}, w, std::size_t{}, a, cols, std::size_t{}, std::size_t{}, out);
};

// out[i] = row i of block-row R's panel times one token's activations act (x_blocks blocks), for
// i < BR. `gathered` (x_blocks blocks) is scratch for formats without a panel kernel.
template <quant::DotFormat F, class Arch>
void panel_dot(const sparse::BsrView<F>& w, std::size_t R, const ActivationBlock<F>* act, ActivationBlock<F>* gathered,
               float* out, Arch arch) {
    using Block = typename F::Block;
    const std::size_t n = w.kept(R), br = w.block_rows;
    const Block* panel = w.panel(R);
    const std::uint32_t* cols = w.col_idx.data() + w.row_ptr[R];
    const std::size_t per_block = w.block_cols / activation_weights<F>();  // activation blocks per kept block
    if constexpr (HasDotRows<F, Arch>) {
        static_assert(F::kBlockWeights == activation_weights<F>(), "a panel kernel pairs one F-block with one activation block");
        if (br == 1 && n == w.blocks_per_row()) {
            // A single row that kept everything: the dense row kernel (its two accumulator chains
            // beat one row's panel kernel) on the activations in place.
            out[0] = F::dot(arch, panel, act, w.cols);
            return;
        }
        // Up to 16 rows per pass (16 accumulators stay in registers); a panel of more rows takes passes.
        for (std::size_t i = 0; i < br;) {
            const std::size_t left = br - i;
            if (left >= 16) F::template dot_rows<16>(arch, panel + i, br, act, cols, n, per_block, out + i), i += 16;
            else if (left >= 8) F::template dot_rows<8>(arch, panel + i, br, act, cols, n, per_block, out + i), i += 8;
            else if (left >= 4) F::template dot_rows<4>(arch, panel + i, br, act, cols, n, per_block, out + i), i += 4;
            else if (left >= 2) F::template dot_rows<2>(arch, panel + i, br, act, cols, n, per_block, out + i), i += 2;
            else F::template dot_rows<1>(arch, panel + i, br, act, cols, n, per_block, out + i), i += 1;
        }
    } else if constexpr (F::kBlockWeights >= 256) {
        // Big blocks (the k-quants): one dense dot per F-block, read in place; its fixed cost is
        // paid per 256 weights.
        const std::size_t fb = w.fblocks_per_block();
        for (std::size_t i = 0; i < br; ++i) {
            float s = 0;
            for (std::size_t k = 0; k < n; ++k)
                for (std::size_t j = 0; j < fb; ++j)
                    s += F::dot(arch, panel + (k * fb + j) * br + i, act + (std::size_t(cols[k]) * fb + j) *
                                                                              (F::kBlockWeights / activation_weights<F>()),
                                F::kBlockWeights);
            out[i] = s;
        }
    } else {
        // Small blocks: gather the kept activation blocks, copy row i's F-blocks out of the
        // interleaved panel a chunk at a time, and run the format's dense dot over the chunk.
        const std::size_t f_total = n * w.fblocks_per_block();
        const std::size_t act_per_f = F::kBlockWeights / activation_weights<F>();
        const ActivationBlock<F>* a = gather(act, std::span(cols, n), per_block, gathered);
        constexpr std::size_t kChunk = std::max<std::size_t>(1, 8192 / sizeof(Block));
        alignas(64) Block row[kChunk];  // (kChunk) F-blocks of one row
        for (std::size_t i = 0; i < br; ++i) {
            float s = 0;
            for (std::size_t f0 = 0; f0 < f_total; f0 += kChunk) {
                const std::size_t m = std::min(kChunk, f_total - f0);
                for (std::size_t f = 0; f < m; ++f) row[f] = panel[(f0 + f) * br + i];
                s += F::dot(arch, row, a + f0 * act_per_f, m * F::kBlockWeights);
            }
            out[i] = s;
        }
    }
}
}  // namespace detail

// Ranges bsr_gemm splits a matrix into: one per thread (see run_ranges).
constexpr std::size_t bsr_range_count(std::size_t block_rows, unsigned threads) noexcept {
    return std::max<std::size_t>(1, std::min({block_rows, std::size_t(threads), kMaxStealingRanges}));
}

// Tokens whose kept activation blocks a range gathers at once: one register tile's worth.
inline constexpr std::size_t kBsrGatherTokens = 8;

// Scratch activation blocks bsr_gemm needs for `tokens` tokens (bsr_gemv: tokens = 1): the
// quantized tokens, and per range the gathered blocks of up to kBsrGatherTokens tokens.
template <quant::DotFormat F>
constexpr std::size_t bsr_scratch_blocks(std::size_t cols, std::size_t tokens, std::size_t ranges) noexcept {
    return (tokens + ranges * std::min(tokens, kBsrGatherTokens)) * (cols / detail::activation_weights<F>());
}

// Y = W X for `tokens` tokens: x (tokens, cols), y (tokens, rows), both row-major. ranges must be
// bsr_range_count(w.block_row_count(), pool ? pool->size() : 1).
template <quant::DotFormat F, class Arch = simd::native>
void bsr_gemm(const sparse::BsrView<F>& w, const float* x, std::size_t tokens, float* y,
              std::span<ActivationBlock<F>> scratch, ThreadPool* pool = nullptr, Arch arch = {}) {
    constexpr std::size_t kMaxTokens = 64;  // per pass; longer batches run in passes
    if (tokens > kMaxTokens) {
        for (std::size_t t0 = 0; t0 < tokens; t0 += kMaxTokens) {
            const std::size_t n = std::min(kMaxTokens, tokens - t0);
            // y is (tokens, rows): a pass writes rows t0 .. t0+n-1, contiguous.
            bsr_gemm<F>(w, x + t0 * w.cols, n, y + t0 * w.rows, scratch, pool, arch);
        }
        return;
    }
    using A = ActivationBlock<F>;
    const std::size_t aw = detail::activation_weights<F>();
    const std::size_t x_blocks = w.cols / aw, per_block = w.block_cols / aw;
    const std::size_t ranges = bsr_range_count(w.block_row_count(), pool ? pool->size() : 1);
    if (w.block_cols % aw != 0 || scratch.size() < bsr_scratch_blocks<F>(w.cols, tokens, ranges))
        throw Error({"block-sparse GEMM scratch or block shape does not fit", std::string(F::kName),
                     std::to_string(bsr_scratch_blocks<F>(w.cols, tokens, ranges)) + " scratch blocks, block columns a multiple of " +
                         std::to_string(aw),
                     std::to_string(scratch.size()) + " blocks, block columns " + std::to_string(w.block_cols), ""});
    const A* act = detail::prepare_activations<F>(x, w.cols, tokens, scratch.data(), arch);
    std::size_t bounds[kMaxStealingRanges + 1];
    detail::balanced_bounds(w, ranges, bounds);
    const std::size_t full = w.blocks_per_row();
    // The first token's activation blocks, which the first panel reads in column order through the
    // index, where the hardware prefetchers cannot follow (see detail::prefetch_activations).
    auto prefetch_first_token = [&](std::size_t) { detail::prefetch_activations<F>(act, w.cols); };
    auto run = [&](std::size_t slot, std::size_t first, std::size_t last) {
        // (min(tokens, kBsrGatherTokens), x_blocks) gathered activation blocks of this range
        A* gathered = scratch.data() + tokens * x_blocks + slot * std::min(tokens, kBsrGatherTokens) * x_blocks;
        for (std::size_t R = first; R < last; ++R) {
            const std::size_t n = w.kept(R);
            float* out = y + R * w.block_rows;
            if (n == 0) {
                for (std::size_t t = 0; t < tokens; ++t) std::fill_n(out + t * w.rows, w.block_rows, 0.f);
                continue;
            }
            std::size_t t0 = 0;
            if constexpr (HasDotTile<F, Arch>) {
                // Prefill: register tiles of 8 panel rows x 8 tokens unpack each weight block once for
                // all 8 tokens (ops/gemm.hpp), reading the panel with stride BR and the 8 tokens' kept
                // activation blocks gathered side by side. Tokens left over, and decode, use the
                // panel kernel.
                constexpr std::size_t TR = F::kTileRows, TT = F::kTileTokens;
                static_assert(TT <= kBsrGatherTokens, "a tile's tokens fit the gather scratch");
                const std::size_t full_tiles = tokens / TT * TT;
                if (full_tiles > 0 && w.block_rows % TR == 0) {
                    const auto cols = w.col_idx.subspan(w.row_ptr[R], n);
                    const typename F::Block* panel = w.panel(R);
                    for (std::size_t tile = 0; tile < full_tiles; tile += TT) {
                        const A* a[TT];
                        for (std::size_t t = 0; t < TT; ++t)
                            a[t] = n == full ? act + (tile + t) * x_blocks
                                             : detail::gather(act + (tile + t) * x_blocks, cols, per_block, gathered + t * x_blocks);
                        for (std::size_t i = 0; i < w.block_rows; i += TR) {
                            const typename F::Block* rows[TR];
                            for (std::size_t r = 0; r < TR; ++r) rows[r] = panel + i + r;
                            F::template dot_tile<TR, TT>(arch, rows, w.block_rows, a, n * w.block_cols, out + tile * w.rows + i,
                                                         w.rows);
                        }
                    }
                    t0 = full_tiles;
                }
            }
            for (std::size_t t = t0; t < tokens; ++t)
                detail::panel_dot<F>(w, R, act + t * x_blocks, gathered, out + t * w.rows, arch);
        }
    };
    run_ranges(pool, bounds, ranges, prefetch_first_token, run);
}

// y = W x (decode).
template <quant::DotFormat F, class Arch = simd::native>
void bsr_gemv(const sparse::BsrView<F>& w, const float* x, float* y, std::span<ActivationBlock<F>> scratch,
              ThreadPool* pool = nullptr, Arch arch = {}) {
    bsr_gemm<F>(w, x, 1, y, scratch, pool, arch);
}

// Convenience overload that allocates its scratch (not for the decode loop).
template <quant::DotFormat F, class Arch = simd::native>
void bsr_gemm(const sparse::BsrView<F>& w, const float* x, std::size_t tokens, float* y, ThreadPool* pool = nullptr,
              Arch arch = {}) {
    const std::size_t ranges = bsr_range_count(w.block_row_count(), pool ? pool->size() : 1);
    AlignedBuffer<ActivationBlock<F>> scratch(bsr_scratch_blocks<F>(w.cols, tokens, ranges), false);
    bsr_gemm<F>(w, x, tokens, y, scratch.span(), pool, arch);
}

// Reference: dequantize the kept blocks with the format's scalar reference, sum in double in
// column order. Equals gemv_ref on the dense matrix with the pruned blocks zeroed, bit for bit.
template <quant::BlockFormat F>
void bsr_gemv_ref(const sparse::BsrView<F>& w, const float* x, float* y) {
    const std::size_t fb = w.fblocks_per_block();
    AlignedBuffer<float> seg(F::kBlockWeights);
    for (std::size_t R = 0; R < w.block_row_count(); ++R)
        for (std::size_t i = 0; i < w.block_rows; ++i) {
            double s = 0;
            for (std::size_t k = 0; k < w.kept(R); ++k)
                for (std::size_t j = 0; j < fb; ++j) {
                    F::dequantize_ref(w.panel(R) + (k * fb + j) * w.block_rows + i, seg.data(), F::kBlockWeights);
                    const float* xs = x + std::size_t(w.col_idx[w.row_ptr[R] + k]) * w.block_cols + j * F::kBlockWeights;
                    for (std::size_t c = 0; c < F::kBlockWeights; ++c) s += double(seg[c]) * double(xs[c]);
                }
            y[R * w.block_rows + i] = float(s);
        }
}

}  // namespace ulk::ops
