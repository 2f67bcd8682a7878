#pragma once
// Packed weight matrices: rows of blocks in one format, row-major, rows contiguous.
//
//   MatrixView<F>                 run-time shape, checked on construction (file views, tests)
//   PackedMatrix<F, Rows, Cols>   compile-time shape; owns its bytes or views a mapped file
//
// Memory: (rows, cols / F::kBlockWeights) blocks of sizeof(F::Block) bytes; row r starts at
// r * row_bytes<F>(cols). A row is one output of a GEMV, so the kernels stream rows in order.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/error.hpp"
#include "ulk/quant/format.hpp"

namespace ulk::quant {

template <BlockFormat F>
struct MatrixView {
    using Format = F;
    using Block = typename F::Block;
    const Block* data = nullptr;  // (rows, cols / kBlockWeights) blocks
    std::size_t rows = 0, cols = 0;

    std::size_t blocks_per_row() const noexcept { return cols / F::kBlockWeights; }
    const Block* row(std::size_t r) const noexcept { return data + r * blocks_per_row(); }
    std::size_t bytes() const noexcept { return rows * blocks_per_row() * sizeof(Block); }

    // A view over raw bytes (a tensor in a mapped file): shape, size and alignment are checked.
    static MatrixView checked(const void* bytes, std::size_t nbytes, std::size_t rows, std::size_t cols,
                              std::string_view name = "matrix") {
        const std::string where = std::string(name) + " (" + std::string(F::kName) + ", " +
                                  std::to_string(rows) + " x " + std::to_string(cols) + ")";
        require(cols % F::kBlockWeights == 0,
                {"row length is not a whole number of blocks", where,
                 "a multiple of " + std::to_string(F::kBlockWeights), std::to_string(cols),
                 "pick a format whose block size divides the row length"});
        const std::size_t per_row = cols / F::kBlockWeights * sizeof(Block);
        require(rows == 0 || per_row <= SIZE_MAX / rows,
                {"matrix size overflows", where, "", "", ""});
        require(nbytes == rows * per_row,
                {"matrix byte size does not match its shape", where, std::to_string(rows * per_row) + " bytes",
                 std::to_string(nbytes) + " bytes", ""});
        require(reinterpret_cast<std::uintptr_t>(bytes) % alignof(Block) == 0,
                {"matrix data is misaligned", where, "alignment " + std::to_string(alignof(Block)), "", ""});
        return {static_cast<const Block*>(bytes), rows, cols};
    }
};

template <BlockFormat F, std::size_t Rows, std::size_t Cols>
class PackedMatrix {
    static_assert(Rows > 0 && Cols > 0, "PackedMatrix: empty shape");
    static_assert(Cols % F::kBlockWeights == 0,
                  "PackedMatrix: Cols must be a multiple of the format's block size (F::kBlockWeights)");

public:
    using Format = F;
    using Block = typename F::Block;
    static constexpr std::size_t kRows = Rows;
    static constexpr std::size_t kCols = Cols;
    static constexpr std::size_t kBlocksPerRow = Cols / F::kBlockWeights;
    static constexpr std::size_t kRowBytes = kBlocksPerRow * sizeof(Block);
    static constexpr std::size_t kBytes = Rows * kRowBytes;

    // Owns zeroed storage.
    PackedMatrix() : owned_(Rows * kBlocksPerRow), data_(owned_.data()) {}

    // Views bytes owned elsewhere (a mapped file); size and alignment are checked.
    static PackedMatrix view(const void* bytes, std::size_t nbytes, std::string_view name = "matrix") {
        return PackedMatrix(MatrixView<F>::checked(bytes, nbytes, Rows, Cols, name).data);
    }

    // Quantizes a dense row-major (Rows, Cols) float matrix with the format's reference quantizer.
    static PackedMatrix quantize(std::span<const float> dense) {
        require(dense.size() == Rows * Cols, {"dense matrix size does not match", "PackedMatrix::quantize",
                                              std::to_string(Rows * Cols), std::to_string(dense.size()), ""});
        PackedMatrix m;
        for (std::size_t r = 0; r < Rows; ++r) F::quantize_ref(dense.data() + r * Cols, m.owned_.data() + r * kBlocksPerRow, Cols);
        return m;
    }

    const Block* row(std::size_t r) const noexcept { return data_ + r * kBlocksPerRow; }
    Block* mutable_data() noexcept { return owned_.data(); }  // null for views
    const Block* data() const noexcept { return data_; }
    MatrixView<F> view() const noexcept { return {data_, Rows, Cols}; }
    operator MatrixView<F>() const noexcept { return view(); }

private:
    explicit PackedMatrix(const Block* external) : data_(external) {}
    AlignedBuffer<Block> owned_;
    const Block* data_ = nullptr;
};

}  // namespace ulk::quant
