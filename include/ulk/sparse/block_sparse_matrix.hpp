#pragma once
// Block-sparse matrices (BSR-like): a (rows, cols) matrix cut into (BR, BC) blocks, of which only
// the kept ones are stored, packed in any weight format F (BC a multiple of F::kBlockWeights).
//
// Layout, for block-row R (output rows R*BR .. R*BR+BR-1), fb = BC / kBlockWeights:
//   row_ptr  (rows/BR + 1) u32: kept blocks of block-row R are row_ptr[R] .. row_ptr[R+1]-1
//   col_idx  (nnz) u32:         their block-column indices, strictly increasing within a block-row
//   values   one panel per block-row, panels in order. Panel R holds the n_R kept blocks
//            (n_R = row_ptr[R+1] - row_ptr[R]) as n_R * fb "columns" of BR F-blocks each:
//            F-block f of row i (f = k * fb + j: F-block j of kept block k) is at f * BR + i.
//            So the BR rows' blocks that meet the same activation block lie side by side, and a
//            kernel streams the panel once from start to end while each activation block it
//            loads serves all BR rows (no gather, one horizontal sum per row per panel).
//            Every F-block is still a whole block of the format, so any GGUF reader can parse it.
// Panel R starts at F-block BR * row_ptr[R] * fb.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/error.hpp"
#include "ulk/quant/format.hpp"

namespace ulk::sparse {

// A checked run-time view (from a file, or of a BlockSparseMatrix).
template <quant::BlockFormat F>
struct BsrView {
    using Format = F;
    using Block = typename F::Block;
    static constexpr std::size_t kMaxDim = std::size_t(1) << 24;  // keeps every size product in 64 bits
    std::size_t rows = 0, cols = 0, block_rows = 1, block_cols = F::kBlockWeights;
    std::span<const std::uint32_t> row_ptr;  // (rows / block_rows + 1)
    std::span<const std::uint32_t> col_idx;  // (nnz)
    const Block* values = nullptr;           // (block_rows * nnz * block_cols / kBlockWeights) blocks, panels as above

    std::size_t block_row_count() const noexcept { return rows / block_rows; }
    std::size_t blocks_per_row() const noexcept { return cols / block_cols; }
    std::size_t nnz() const noexcept { return row_ptr.empty() ? 0 : row_ptr.back(); }
    std::size_t kept(std::size_t R) const noexcept { return row_ptr[R + 1] - row_ptr[R]; }
    std::size_t fblocks_per_block() const noexcept { return block_cols / F::kBlockWeights; }
    // Block-row R's panel: F-block f of row i is panel(R)[f * block_rows + i].
    const Block* panel(std::size_t R) const noexcept { return values + block_rows * row_ptr[R] * fblocks_per_block(); }
    std::size_t value_blocks() const noexcept { return block_rows * nnz() * fblocks_per_block(); }
    double density() const noexcept {
        return double(nnz()) / double(block_row_count() * blocks_per_row());
    }

    // Checks shape and index data; `where` names the matrix in messages.
    static BsrView checked(std::size_t rows, std::size_t cols, std::size_t block_rows, std::size_t block_cols,
                           std::span<const std::uint32_t> row_ptr, std::span<const std::uint32_t> col_idx,
                           const void* values, std::size_t value_bytes, std::string_view where = "block-sparse matrix") {
        const std::string w(where);
        auto bad = [&](std::string what, std::string expected, std::string found) {
            throw Error({std::move(what), w, std::move(expected), std::move(found),
                         "the sparse index is damaged: prune and quantize the model again"});
        };
        if (block_rows == 0 || block_cols == 0 || block_cols % F::kBlockWeights != 0)
            bad("block shape does not fit the format", "block columns a multiple of " + std::to_string(F::kBlockWeights),
                std::to_string(block_rows) + " x " + std::to_string(block_cols));
        if (rows > kMaxDim || cols > kMaxDim)
            bad("matrix shape is absurd", "at most " + std::to_string(kMaxDim) + " rows and columns",
                std::to_string(rows) + " x " + std::to_string(cols));
        if (rows == 0 || cols == 0 || rows % block_rows != 0 || cols % block_cols != 0)
            bad("matrix shape is not a whole number of blocks",
                "multiples of " + std::to_string(block_rows) + " x " + std::to_string(block_cols),
                std::to_string(rows) + " x " + std::to_string(cols));
        const std::size_t n_block_rows = rows / block_rows, per_row = cols / block_cols;
        if (row_ptr.size() != n_block_rows + 1)
            bad("row pointer array has the wrong length", std::to_string(n_block_rows + 1), std::to_string(row_ptr.size()));
        if (row_ptr[0] != 0) bad("row pointer does not start at 0", "0", std::to_string(row_ptr[0]));
        for (std::size_t R = 0; R < n_block_rows; ++R) {
            if (row_ptr[R + 1] < row_ptr[R] || row_ptr[R + 1] - row_ptr[R] > per_row)
                bad("row pointer is not a valid prefix count at block-row " + std::to_string(R),
                    "between " + std::to_string(row_ptr[R]) + " and " + std::to_string(row_ptr[R] + per_row),
                    std::to_string(row_ptr[R + 1]));
        }
        if (col_idx.size() != row_ptr.back())
            bad("column index array has the wrong length", std::to_string(row_ptr.back()), std::to_string(col_idx.size()));
        for (std::size_t R = 0; R < n_block_rows; ++R)
            for (std::uint32_t k = row_ptr[R]; k < row_ptr[R + 1]; ++k)
                if (col_idx[k] >= per_row || (k > row_ptr[R] && col_idx[k] <= col_idx[k - 1]))
                    bad("column index out of order or out of range at block-row " + std::to_string(R) + ", entry " +
                            std::to_string(k),
                        "increasing block columns below " + std::to_string(per_row), std::to_string(col_idx[k]));
        const std::size_t expect = block_rows * row_ptr.back() * (block_cols / F::kBlockWeights) * sizeof(Block);
        if (value_bytes != expect)
            bad("value data size does not match the index", std::to_string(expect) + " bytes", std::to_string(value_bytes) + " bytes");
        return {rows, cols, block_rows, block_cols, row_ptr, col_idx, static_cast<const Block*>(values)};
    }
};

// Owning storage with a run-time shape (what pruning produces and files hold).
template <quant::BlockFormat F>
struct BsrStorage {
    using Block = typename F::Block;
    std::size_t rows = 0, cols = 0, block_rows = 1, block_cols = F::kBlockWeights;
    std::vector<std::uint32_t> row_ptr;  // (rows / block_rows + 1)
    std::vector<std::uint32_t> col_idx;  // (nnz)
    AlignedBuffer<Block> values;         // panels, see the layout above

    // Unchecked: the storage was checked when it was made (BsrStorage::checked or pruning).
    BsrView<F> view() const noexcept {
        return {rows, cols, block_rows, block_cols, row_ptr, col_idx, values.data()};
    }
    void check(std::string_view where = "block-sparse matrix") const {
        (void)BsrView<F>::checked(rows, cols, block_rows, block_cols, row_ptr, col_idx, values.data(),
                                  values.size() * sizeof(Block), where);
    }
    std::size_t bytes() const noexcept {
        return values.size() * sizeof(Block) + (row_ptr.size() + col_idx.size()) * sizeof(std::uint32_t);
    }
};

// The same with the shape and block shape fixed at compile time: a model configuration's type.
// Owns its storage (from pruning) or views storage owned elsewhere (a mapped GGUF file).
template <quant::BlockFormat F, std::size_t Rows, std::size_t Cols, std::size_t BlockRows, std::size_t BlockCols>
class BlockSparseMatrix {
    static_assert(BlockCols % F::kBlockWeights == 0,
                  "BlockSparseMatrix: BlockCols must be a multiple of the format's block size (F::kBlockWeights)");
    static_assert(Rows % BlockRows == 0 && Cols % BlockCols == 0,
                  "BlockSparseMatrix: the matrix must be a whole number of (BlockRows, BlockCols) blocks");

public:
    using Format = F;
    static constexpr std::size_t kRows = Rows, kCols = Cols, kBlockRows = BlockRows, kBlockCols = BlockCols;

    // Takes storage (from pruning); its shape must be this type's.
    explicit BlockSparseMatrix(BsrStorage<F> s, std::string_view where = "block-sparse matrix") : s_(std::move(s)) {
        check_shape(s_.rows, s_.cols, s_.block_rows, s_.block_cols, where);
        s_.check(where);
        v_ = s_.view();
    }
    // Views checked storage owned elsewhere (gguf::block_sparse gives such views); zero copy.
    static BlockSparseMatrix view_of(const BsrView<F>& v, std::string_view where = "block-sparse matrix") {
        check_shape(v.rows, v.cols, v.block_rows, v.block_cols, where);
        BlockSparseMatrix m;
        m.v_ = v;
        return m;
    }
    BsrView<F> view() const noexcept { return v_; }

private:
    BlockSparseMatrix() = default;
    static void check_shape(std::size_t r, std::size_t c, std::size_t br, std::size_t bc, std::string_view where) {
        require(r == Rows && c == Cols && br == BlockRows && bc == BlockCols,
                {"block-sparse matrix shape does not match the configuration", std::string(where),
                 shape(Rows, Cols, BlockRows, BlockCols), shape(r, c, br, bc),
                 "use the configuration the file was made for, or prune the model again"});
    }
    static std::string shape(std::size_t r, std::size_t c, std::size_t br, std::size_t bc) {
        return std::to_string(r) + " x " + std::to_string(c) + " in " + std::to_string(br) + " x " + std::to_string(bc) + " blocks";
    }
    BsrStorage<F> s_;  // empty for views
    BsrView<F> v_;
};

}  // namespace ulk::sparse
