// Block-sparse matrices in GGUF: written with standard tensor types, read back as checked views
// that give the same products, and damaged index data in a file is refused clearly.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "ulk/gguf/block_sparse_io.hpp"
#include "ulk/ops/bsr_gemv.hpp"
#include "ulk/quant/all_formats.hpp"
#include "ulk/sparse/prune.hpp"

using namespace ulk;

namespace {
using ulk::test::error_of;
template <class F>
sparse::BsrStorage<F> sample(double density, std::size_t br, std::size_t bc) {
    const auto w = test::normal_vector(32 * 1024, 7);
    return sparse::pack_block_sparse<F>(w.data(), sparse::choose_blocks(w.data(), 32, 1024, br, bc, density,
                                                                         sparse::PruneMethod::Magnitude));
}
}  // namespace

TEST_CASE_TEMPLATE("block-sparse matrices round-trip through GGUF with standard tensor types", F, quant::Q4_0,
                   quant::Q2Planar, quant::F16) {
    const std::size_t bc = std::max<std::size_t>(32, F::kBlockWeights);
    const auto s = sample<F>(0.5, 4, bc);
    const auto empty = sample<F>(0.0, 4, bc);
    gguf::GgufWriter wr;
    gguf::add_block_sparse(wr, "blk.0.ffn_up.weight", s);
    gguf::add_block_sparse(wr, "blk.0.ffn_gate.weight", empty);
    const auto f = gguf::GgufFile::from_bytes(wr.to_bytes(), "sparse.gguf");
    for (const auto& t : f.tensors()) CHECK((t.type.id == 26 || t.type.id == 24 || t.type.id == std::uint32_t(F::kGgmlType)));
    const auto v = gguf::block_sparse<F>(f, "blk.0.ffn_up.weight");
    CHECK(v.nnz() == s.col_idx.size());
    CHECK(std::memcmp(v.values, s.values.data(), s.values.size() * sizeof(typename F::Block)) == 0);
    const auto x = test::normal_vector(1024, 8);
    std::vector<float> a(32), b(32);
    ops::bsr_gemv_ref<F>(v, x.data(), a.data());
    ops::bsr_gemv_ref<F>(s.view(), x.data(), b.data());
    CHECK(a == b);
    const auto e = gguf::block_sparse<F>(f, "blk.0.ffn_gate.weight");
    CHECK(e.nnz() == 0);
    ops::bsr_gemm<F>(e, x.data(), 1, a.data());
    CHECK(a == std::vector<float>(32, 0.f));
}

TEST_CASE("damaged block-sparse data in a file is refused with what and where") {
    const auto s = sample<quant::Q4_0>(0.5, 4, 32);
    auto file_with = [&](auto&& mutate) {
        auto copy = s.row_ptr;
        auto cols = s.col_idx;
        std::vector<std::uint32_t> shape = {32, 1024, 4, 32, gguf::kBsrLayout};
        mutate(copy, cols, shape);
        sparse::BsrStorage<quant::Q4_0> t;
        t.rows = 32; t.cols = 1024; t.block_rows = 4; t.block_cols = 32;
        gguf::GgufWriter wr;
        wr.set(gguf::bsr_key("w"), gguf::Value::array(shape));
        wr.add_tensor("w.bsr_values", 2, {32, 4 * s.col_idx.size()},
                      std::span(reinterpret_cast<const std::byte*>(s.values.data()), s.values.size() * 18));
        wr.add_tensor("w.bsr_row_ptr", 26, {copy.size()}, std::as_bytes(std::span(copy)));
        wr.add_tensor("w.bsr_col_idx", 26, {cols.size()}, std::as_bytes(std::span(cols)));
        return error_of([&] {
            const auto f = gguf::GgufFile::from_bytes(wr.to_bytes(), "bad.gguf");
            (void)gguf::block_sparse<quant::Q4_0>(f, "w");
        });
    };
    CHECK(file_with([](auto&, auto&, auto&) {}).empty());
    const std::string neg = file_with([](auto& rp, auto&, auto&) { rp[2] = std::uint32_t(-1); });
    CHECK(neg.find("not a valid prefix count at block-row 1") != std::string::npos);
    CHECK(neg.find("bad.gguf, block-sparse matrix 'w'") != std::string::npos);
    CHECK(file_with([](auto&, auto& ci, auto&) { ci[0] = 1000; }).find("out of order or out of range") != std::string::npos);
    CHECK(file_with([](auto&, auto&, auto& sh) { sh[0] = 64; }).find("row pointer array has the wrong length") != std::string::npos);
    CHECK(file_with([](auto&, auto&, auto& sh) { sh = {1u << 31, 1024, 1u << 31, 32, gguf::kBsrLayout}; }).find("absurd") !=
          std::string::npos);
    // A file of an earlier version (row-after-row panels, no layout value) is refused, not misread.
    const std::string old = file_with([](auto&, auto&, auto& sh) { sh.pop_back(); });
    CHECK(old.find("panel layout of an earlier version") != std::string::npos);
    CHECK(old.find("quantize the model again") != std::string::npos);
    CHECK(file_with([](auto&, auto&, auto& sh) { sh.back() = 7; }).find("panel layout is unknown") != std::string::npos);
    CHECK(file_with([](auto&, auto&, auto& sh) { sh.resize(3); }).find("shape key is malformed") != std::string::npos);
    gguf::GgufWriter wr;
    const auto f = gguf::GgufFile::from_bytes(wr.to_bytes(), "none.gguf");
    CHECK(error_of([&] { (void)gguf::block_sparse<quant::Q4_0>(f, "w"); }).find("block-sparse matrix is missing") != std::string::npos);
}

TEST_CASE("a block-sparse matrix in a file plugs into a compile-time BlockSparseMatrix without copying") {
    const auto s = sample<quant::Q4_0>(0.5, 4, 32);
    gguf::GgufWriter wr;
    gguf::add_block_sparse(wr, "w", s);
    const auto f = gguf::GgufFile::from_bytes(wr.to_bytes(), "m.gguf");
    const auto v = gguf::block_sparse<quant::Q4_0>(f, "w");
    const auto m = sparse::BlockSparseMatrix<quant::Q4_0, 32, 1024, 4, 32>::view_of(v, "w");
    CHECK(m.view().values == v.values);
    CHECK(error_of([&] { (void)sparse::BlockSparseMatrix<quant::Q4_0, 32, 1024, 16, 64>::view_of(v, "w"); })
              .find("expected 32 x 1024 in 16 x 64 blocks, found 32 x 1024 in 4 x 32 blocks") != std::string::npos);
}
