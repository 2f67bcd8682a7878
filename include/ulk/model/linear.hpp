#pragma once
// Linear<F, Rows, Cols, Sparsity>: one weight matrix of the model, y = W x, as a zero-copy view of
// the mapped file; dense (PackedMatrix) or block-sparse (BlockSparseMatrix) as the config says.
// forward() runs the GEMV for one token and the GEMM for a batch.
#include <algorithm>
#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "ulk/model/config.hpp"
#include "ulk/model/file_check.hpp"
#include "ulk/ops/bsr_gemv.hpp"
#include "ulk/ops/gemm.hpp"
#include "ulk/ops/gemv.hpp"
#include "ulk/quant/packed_matrix.hpp"
#include "ulk/sparse/block_sparse_matrix.hpp"

namespace ulk::model {

template <quant::DotFormat F, std::size_t Rows, std::size_t Cols, Sparsity S = kDense>
class Linear {
public:
    using Format = F;
    using Activation = ops::ActivationBlock<F>;
    static constexpr std::size_t kRows = Rows, kCols = Cols;
    static constexpr bool kSparse = !S.dense();
    static constexpr std::size_t kDenseBytes = Rows * quant::row_bytes<F>(Cols);

    // Upper bound of the bytes one token streams: the whole matrix, or for a sparse one the kept
    // blocks at the configured maximum density plus the index.
    static constexpr std::size_t kMaxBytes = [] {
        if constexpr (!kSparse) {
            return kDenseBytes;
        } else {
            const std::size_t blocks = Rows / S.block_rows * (Cols / S.block_cols);
            const double kept = S.max_density * double(blocks);
            const std::size_t kept_blocks = std::size_t(kept) + (double(std::size_t(kept)) < kept ? 1 : 0);
            return kept_blocks * (S.block_rows * quant::row_bytes<F>(S.block_cols) + 4) + (Rows / S.block_rows + 1) * 4;
        }
    }();

    // Bytes of activation scratch forward() needs for `tokens` tokens with `threads` threads.
    static constexpr std::size_t scratch_bytes(std::size_t tokens, unsigned threads) {
        if constexpr (kSparse)
            return ops::bsr_scratch_blocks<F>(Cols, std::min<std::size_t>(tokens, 64),
                                              ops::bsr_range_count(Rows / S.block_rows, threads)) * sizeof(Activation);
        else
            return ops::gemm_scratch_blocks<F>(tokens, Cols) * sizeof(Activation);
    }

    // Binds to tensor `name` (ggml dims [Cols, Rows]) if it matches; otherwise `check` records why.
    bool load(FileCheck& check, const gguf::GgufFile& f, const std::string& name) {
        if constexpr (kSparse) {
            sparse::BsrView<F> v;
            if (!check.block_sparse<F>(name, Rows, Cols, S.block_rows, S.block_cols, S.max_density, &v)) return false;
            sparse_ = v;
            return true;
        } else {
            if (!check.tensor<F>(name, Cols, Rows)) return false;
            dense_ = f.matrix<F>(name);
            return true;
        }
    }

    // x: (tokens, Cols); y: (tokens, Rows); scratch: scratch_bytes(tokens, threads) bytes, 64-aligned.
    void forward(const float* x, std::size_t tokens, float* y, std::span<std::byte> scratch, ThreadPool* pool) const {
        const std::span<Activation> act(reinterpret_cast<Activation*>(scratch.data()), scratch.size() / sizeof(Activation));
        if constexpr (kSparse) ops::bsr_gemm<F>(sparse_, x, tokens, y, act, pool);
        else if (tokens == 1) ops::gemv<F>(dense_, x, y, act, pool);
        else ops::gemm<F>(dense_, x, tokens, y, act, pool);
    }

    // The dense matrix (for fused GEMVs over several matrices).
    quant::MatrixView<F> dense() const noexcept requires(!kSparse) { return dense_; }

    // Bytes of weights (and index) this matrix streams per token.
    std::size_t bytes() const noexcept {
        if constexpr (kSparse)
            return sparse_.value_blocks() * sizeof(typename F::Block) + (sparse_.row_ptr.size() + sparse_.col_idx.size()) * 4;
        else
            return dense_.bytes();
    }
    double density() const noexcept {
        if constexpr (kSparse) return sparse_.density();
        else return 1.0;
    }

private:
    quant::MatrixView<F> dense_;
    sparse::BsrView<F> sparse_;
};

}  // namespace ulk::model
