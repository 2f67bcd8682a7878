#pragma once
// Pruning dense float weights to a block-sparse matrix at a target density.
//
// Each (BR, BC) block gets a score. The matrix keeps round(density * blocks) blocks in all, spread
// as evenly as that allows: every block-row keeps its k or k + 1 best blocks (k = floor(kept /
// block-rows), at least 1 unless density is 0), so that every group of output rows keeps work and
// the threads of a GEMV stay balanced. The block-rows that keep k + 1 are those whose (k + 1)-th
// best block scores highest. (Rounding per block-row instead would keep 6 of 11 blocks at 50%:
// 54.5%, more than asked.)
//   magnitude:  the block's L2 norm, sqrt(sum w^2)
//   activation-aware (Wanda: Sun et al., 2023): sum |w_ij| * ||x_j||, where ||x_j|| is the L2 norm
//     of input feature j over a calibration set; a small weight on an outlier feature stays.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/sparse/block_sparse_matrix.hpp"

namespace ulk::sparse {

enum class PruneMethod { Magnitude, ActivationAware };

inline const char* prune_method_name(PruneMethod m) { return m == PruneMethod::Magnitude ? "magnitude" : "activation-aware"; }

// Which blocks are kept: the index half of a BSR matrix.
struct BlockMask {
    std::size_t rows = 0, cols = 0, block_rows = 1, block_cols = 1;
    std::vector<std::uint32_t> row_ptr;  // (rows / block_rows + 1)
    std::vector<std::uint32_t> col_idx;  // (nnz), increasing within a block-row
};

// Blocks a matrix of n_block_rows x blocks_per_row blocks keeps in all for a density in [0, 1]:
// round(density * blocks), at least one per block-row unless density is 0.
inline std::size_t kept_blocks(double density, std::size_t n_block_rows, std::size_t blocks_per_row) {
    require(density >= 0.0 && density <= 1.0, {"density out of range", "pruning", "0..1", std::to_string(density), ""});
    if (density == 0.0 || n_block_rows == 0) return 0;
    const std::size_t total = n_block_rows * blocks_per_row;
    const auto k = std::size_t(std::llround(density * double(total)));
    return std::clamp<std::size_t>(k, n_block_rows, total);
}

// w: (rows, cols) row-major; input_norms: (cols), required for ActivationAware.
inline BlockMask choose_blocks(const float* w, std::size_t rows, std::size_t cols, std::size_t block_rows,
                               std::size_t block_cols, double density, PruneMethod method,
                               std::span<const float> input_norms = {}) {
    require(block_rows > 0 && block_cols > 0 && rows % block_rows == 0 && cols % block_cols == 0,
            {"matrix is not a whole number of blocks", "pruning",
             "multiples of " + std::to_string(block_rows) + " x " + std::to_string(block_cols),
             std::to_string(rows) + " x " + std::to_string(cols), ""});
    require(method != PruneMethod::ActivationAware || input_norms.size() == cols,
            {"activation-aware pruning needs one norm per input column", "pruning", std::to_string(cols),
             std::to_string(input_norms.size()), "pass the calibration activations' column norms"});
    const std::size_t n_block_rows = rows / block_rows, per_row = cols / block_cols;
    const std::size_t total = kept_blocks(density, n_block_rows, per_row);
    const std::size_t base = n_block_rows == 0 ? 0 : total / n_block_rows, extra = total - base * n_block_rows;
    // (n_block_rows, per_row) block columns of each block-row, best first; ties to the lower column
    // so the choice is deterministic
    std::vector<std::uint32_t> order(n_block_rows * per_row);
    std::vector<double> score(n_block_rows * per_row);  // (n_block_rows, per_row)
    for (std::size_t R = 0; R < n_block_rows; ++R) {
        double* sc = score.data() + R * per_row;
        for (std::size_t i = 0; i < block_rows; ++i) {
            const float* row = w + (R * block_rows + i) * cols;
            for (std::size_t c = 0; c < cols; ++c)
                sc[c / block_cols] += method == PruneMethod::Magnitude ? double(row[c]) * row[c]
                                                                       : std::fabs(double(row[c])) * input_norms[c];
        }
        const auto o = order.begin() + std::ptrdiff_t(R * per_row);
        std::iota(o, o + std::ptrdiff_t(per_row), 0u);
        std::sort(o, o + std::ptrdiff_t(per_row),
                  [&](std::uint32_t a, std::uint32_t b) { return sc[a] > sc[b] || (sc[a] == sc[b] && a < b); });
    }
    // The `extra` block-rows whose next-best block scores highest keep it too (ties to the lower row).
    std::vector<char> keeps_extra(n_block_rows, 0);
    if (extra > 0) {
        std::vector<std::uint32_t> rows_by_next(n_block_rows);
        std::iota(rows_by_next.begin(), rows_by_next.end(), 0u);
        auto next = [&](std::uint32_t R) { return score[R * per_row + order[R * per_row + base]]; };
        std::partial_sort(rows_by_next.begin(), rows_by_next.begin() + std::ptrdiff_t(extra), rows_by_next.end(),
                          [&](std::uint32_t a, std::uint32_t b) { return next(a) > next(b) || (next(a) == next(b) && a < b); });
        for (std::size_t i = 0; i < extra; ++i) keeps_extra[rows_by_next[i]] = 1;
    }
    BlockMask m{rows, cols, block_rows, block_cols, {0}, {}};
    m.col_idx.reserve(total);
    for (std::size_t R = 0; R < n_block_rows; ++R) {
        const auto o = order.begin() + std::ptrdiff_t(R * per_row);
        const auto keep = std::ptrdiff_t(base + keeps_extra[R]);
        std::sort(o, o + keep);
        m.col_idx.insert(m.col_idx.end(), o, o + keep);
        m.row_ptr.push_back(std::uint32_t(m.col_idx.size()));
    }
    return m;
}

// Zeroes the pruned blocks of a dense (rows, cols) matrix in place: the dense equivalent of the mask.
inline void zero_pruned(float* w, const BlockMask& m) {
    const std::size_t per_row = m.cols / m.block_cols;
    std::vector<char> keep(per_row);
    for (std::size_t R = 0; R + 1 < m.row_ptr.size(); ++R) {
        std::fill(keep.begin(), keep.end(), 0);
        for (std::uint32_t k = m.row_ptr[R]; k < m.row_ptr[R + 1]; ++k) keep[m.col_idx[k]] = 1;
        for (std::size_t i = 0; i < m.block_rows; ++i)
            for (std::size_t b = 0; b < per_row; ++b)
                if (!keep[b]) std::fill_n(w + (R * m.block_rows + i) * m.cols + b * m.block_cols, m.block_cols, 0.f);
    }
}

// Packs the kept blocks of dense weights in format F (reference quantizer), in the panel layout.
template <quant::BlockFormat F>
BsrStorage<F> pack_block_sparse(const float* w, const BlockMask& m) {
    require(m.block_cols % F::kBlockWeights == 0,
            {"block columns are not a whole number of format blocks", std::string(F::kName),
             "a multiple of " + std::to_string(F::kBlockWeights), std::to_string(m.block_cols), ""});
    BsrStorage<F> s;
    s.rows = m.rows;
    s.cols = m.cols;
    s.block_rows = m.block_rows;
    s.block_cols = m.block_cols;
    s.row_ptr = m.row_ptr;
    s.col_idx = m.col_idx;
    const std::size_t fb = m.block_cols / F::kBlockWeights;
    s.values = AlignedBuffer<typename F::Block>(m.block_rows * m.col_idx.size() * fb);
    std::vector<typename F::Block> seg(fb);  // one kept block of one row, (fb) F-blocks
    for (std::size_t R = 0; R + 1 < m.row_ptr.size(); ++R) {
        typename F::Block* panel = s.values.data() + m.block_rows * m.row_ptr[R] * fb;
        for (std::uint32_t k = 0; k < m.row_ptr[R + 1] - m.row_ptr[R]; ++k)
            for (std::size_t i = 0; i < m.block_rows; ++i) {
                const float* row = w + (R * m.block_rows + i) * m.cols;
                F::quantize_ref(row + std::size_t(m.col_idx[m.row_ptr[R] + k]) * m.block_cols, seg.data(), m.block_cols);
                for (std::size_t j = 0; j < fb; ++j) panel[(k * fb + j) * m.block_rows + i] = seg[j];  // F-block f at f * BR + i
            }
    }
    s.check("pruned matrix");
    return s;
}

// Relative error of the layer output on calibration inputs: ||W X - W' X|| / ||W X||, with
// X (tokens, cols) row-major. What pruning costs the model, measured where it matters.
inline double output_error(const float* w, const float* w_pruned, std::size_t rows, std::size_t cols, const float* x,
                           std::size_t tokens) {
    double num = 0, den = 0;
    for (std::size_t t = 0; t < tokens; ++t)
        for (std::size_t r = 0; r < rows; ++r) {
            double a = 0, b = 0;
            for (std::size_t c = 0; c < cols; ++c) {
                a += double(w[r * cols + c]) * x[t * cols + c];
                b += double(w_pruned[r * cols + c]) * x[t * cols + c];
            }
            num += (a - b) * (a - b);
            den += a * a;
        }
    return den > 0 ? std::sqrt(num / den) : 0.0;
}

// Column norms ||x_j|| of calibration inputs X (tokens, cols): the activation-aware score's input.
inline std::vector<float> input_column_norms(const float* x, std::size_t tokens, std::size_t cols) {
    std::vector<double> s(cols, 0.0);
    for (std::size_t t = 0; t < tokens; ++t)
        for (std::size_t c = 0; c < cols; ++c) s[c] += double(x[t * cols + c]) * x[t * cols + c];
    std::vector<float> n(cols);
    for (std::size_t c = 0; c < cols; ++c) n[c] = float(std::sqrt(s[c]));
    return n;
}

}  // namespace ulk::sparse
