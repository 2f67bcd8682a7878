// Block-sparse matrices: for every format x block shape x density, the sparse GEMV/GEMM equals the
// dense one on the matrix with the pruned blocks zeroed (the scalar references bit for bit, the
// SIMD kernels within float reassociation); empty rows, a fully pruned matrix, pruning choices,
// and malformed index data.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "ulk/ops/bsr_gemv.hpp"
#include "ulk/ops/gemv.hpp"
#include "ulk/quant/all_formats.hpp"
#include "ulk/sparse/prune.hpp"

using namespace ulk;

namespace {

constexpr std::size_t kRows = 32, kCols = 2560;  // 2560 = 10 blocks of 256, 80 of 32

// y = dense(W') x through the dense kernels, W' = W with the pruned blocks zeroed, quantized in F.
template <class F>
quant::PackedMatrix<F, kRows, kCols> dense_zeroed(std::vector<float> w, const sparse::BlockMask& m) {
    sparse::zero_pruned(w.data(), m);
    return quant::PackedMatrix<F, kRows, kCols>::quantize(w);
}

// |a - b| allowed between two float sums of the same products in different orders.
double reassociation_bound(const std::vector<float>& w, const std::vector<float>& x, std::size_t r) {
    double s = 0;
    for (std::size_t c = 0; c < kCols; ++c) s += std::fabs(double(w[r * kCols + c]) * x[c]);
    return 2e-5 * s + 1e-6;
}

template <class F>
void check_format() {
    const auto w = test::normal_vector(kRows * kCols, 11);
    const auto x = test::normal_vector(kCols, 12);
    const std::size_t bw = F::kBlockWeights;
    const std::size_t shapes[][2] = {{1, std::max<std::size_t>(32, bw)}, {4, std::max<std::size_t>(32, bw)}, {16, std::max<std::size_t>(64, bw)}};
    ThreadPool pool(2);
    for (const auto& shape : shapes)
        for (double density : {1.0, 0.75, 0.5, 0.25, 0.10}) {
            CAPTURE(shape[0]);
            CAPTURE(shape[1]);
            CAPTURE(density);
            const auto mask = sparse::choose_blocks(w.data(), kRows, kCols, shape[0], shape[1], density,
                                                    sparse::PruneMethod::Magnitude);
            const auto bsr = sparse::pack_block_sparse<F>(w.data(), mask);
            const auto view = bsr.view();
            const std::size_t blocks = (kRows / shape[0]) * (kCols / shape[1]);
            CHECK(view.nnz() == sparse::kept_blocks(density, kRows / shape[0], kCols / shape[1]));
            CHECK(std::fabs(double(view.nnz()) - density * double(blocks)) <= std::max(0.5, double(kRows / shape[0]) - density * double(blocks)));
            const auto dense = dense_zeroed<F>(w, mask);

            std::vector<float> y_ref(kRows), y_dense_ref(kRows), y(kRows), y_dense(kRows);
            ops::bsr_gemv_ref<F>(view, x.data(), y_ref.data());
            ops::gemv_ref<F>(dense.view(), x.data(), y_dense_ref.data());
            CHECK(y_ref == y_dense_ref);  // bit for bit

            AlignedBuffer<ops::ActivationBlock<F>> scratch(
                ops::bsr_scratch_blocks<F>(kCols, 1, ops::bsr_range_count(view.block_row_count(), pool.size())));
            ops::bsr_gemv<F>(view, x.data(), y.data(), scratch.span(), &pool);
            ops::gemv<F>(dense.view(), x.data(), y_dense.data(), &pool);
            std::vector<float> wz = w;
            sparse::zero_pruned(wz.data(), mask);
            for (std::size_t r = 0; r < kRows; ++r) {
                CAPTURE(r);
                REQUIRE(std::fabs(double(y[r]) - y_dense[r]) <= reassociation_bound(wz, x, r));
            }
        }
}

}  // namespace

TEST_CASE_TEMPLATE("block-sparse GEMV equals dense GEMV with the pruned blocks zeroed", F, quant::F32, quant::F16,
                   quant::BF16, quant::Q8_0, quant::Q4_0, quant::Q4_K, quant::Q6_K, quant::Q3_K, quant::Q2_K,
                   quant::Q2Planar, quant::Grouped<4, 64>, quant::Grouped<2, 64>) {
    check_format<F>();
}

TEST_CASE_TEMPLATE("block-sparse GEMM equals one GEMV per token", F, quant::Q4_0, quant::Q8_0, quant::Q2Planar, quant::F16) {
    const auto w = test::normal_vector(kRows * kCols, 21);
    const std::size_t tokens = 5;
    const auto x = test::normal_vector(tokens * kCols, 22);
    const std::size_t bc = std::max<std::size_t>(32, F::kBlockWeights);
    const auto mask = sparse::choose_blocks(w.data(), kRows, kCols, 4, bc, 0.5, sparse::PruneMethod::Magnitude);
    const auto bsr = sparse::pack_block_sparse<F>(w.data(), mask);
    ThreadPool pool(2);
    std::vector<float> y(tokens * kRows), y1(kRows);
    ops::bsr_gemm<F>(bsr.view(), x.data(), tokens, y.data(), &pool);
    for (std::size_t t = 0; t < tokens; ++t) {
        ops::bsr_gemm<F>(bsr.view(), x.data() + t * kCols, 1, y1.data(), nullptr);
        for (std::size_t r = 0; r < kRows; ++r) CHECK(y[t * kRows + r] == y1[r]);
    }
}

TEST_CASE("empty block-rows give zeros, and a fully pruned matrix gives all zeros") {
    const auto w = test::normal_vector(kRows * kCols, 31);
    const auto x = test::normal_vector(kCols, 32);
    auto none = sparse::choose_blocks(w.data(), kRows, kCols, 4, 32, 0.0, sparse::PruneMethod::Magnitude);
    CHECK(none.col_idx.empty());
    const auto empty = sparse::pack_block_sparse<quant::Q4_0>(w.data(), none);
    std::vector<float> y(kRows, 7.f);
    ops::bsr_gemm<quant::Q4_0>(empty.view(), x.data(), 1, y.data());
    CHECK(y == std::vector<float>(kRows, 0.f));

    // Block-rows 1 and 5 keep nothing, the others keep two blocks.
    sparse::BlockMask m{kRows, kCols, 4, 32, {0}, {}};
    for (std::size_t R = 0; R < kRows / 4; ++R) {
        if (R != 1 && R != 5) m.col_idx.insert(m.col_idx.end(), {3u, 70u});
        m.row_ptr.push_back(std::uint32_t(m.col_idx.size()));
    }
    const auto bsr = sparse::pack_block_sparse<quant::Q4_0>(w.data(), m);
    ThreadPool pool(2);
    ops::bsr_gemm<quant::Q4_0>(bsr.view(), x.data(), 1, y.data(), &pool);
    std::vector<float> y_ref(kRows);
    ops::bsr_gemv_ref<quant::Q4_0>(bsr.view(), x.data(), y_ref.data());
    for (std::size_t r = 4; r < 8; ++r) CHECK(y[r] == 0.f);
    for (std::size_t r = 20; r < 24; ++r) CHECK(y[r] == 0.f);
    for (std::size_t r = 0; r < 4; ++r) CHECK(std::fabs(y[r] - y_ref[r]) < 0.1f);  // Q8 activations: ~1% error
    for (std::size_t r = 8; r < 12; ++r) CHECK(y[r] != 0.f);
}

TEST_CASE("pruning keeps the best blocks, the same number in every block-row where the density allows") {
    // Magnitude: block b of row-group R has norm growing with (b * 7 + R) % 10.
    const std::size_t rows = 8, cols = 320, br = 2, bc = 32;
    std::vector<float> w(rows * cols);
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < cols; ++c) w[r * cols + c] = float(((c / bc) * 7 + r / br) % 10 + 1);
    const auto m = sparse::choose_blocks(w.data(), rows, cols, br, bc, 0.3, sparse::PruneMethod::Magnitude);
    REQUIRE(m.row_ptr.size() == rows / br + 1);
    for (std::size_t R = 0; R < rows / br; ++R) {
        CHECK(m.row_ptr[R + 1] - m.row_ptr[R] == 3);
        for (std::uint32_t k = m.row_ptr[R]; k < m.row_ptr[R + 1]; ++k) CHECK((m.col_idx[k] * 7 + R) % 10 >= 7);
    }
    // 50% of 11 blocks per row: 5 or 6 per block-row, 50% of the matrix (not 6 everywhere, 54.5%).
    // Block-row R's blocks have values 1..11 in a rotated order, the 6th best (6) scaled by
    // 1 + R / 100: the rows with the highest 6th-best block (3, 4, 5) keep a 6th block.
    {
        const std::size_t rows11 = 6, cols11 = 11 * 32;
        std::vector<float> w11(rows11 * cols11);
        for (std::size_t R = 0; R < rows11; ++R)
            for (std::size_t c = 0; c < cols11; ++c) {
                const std::size_t rank = (c / 32 + 3 * R) % 11 + 1;  // 1..11
                const float scale = rank == 6 ? 1.f + float(R) / 100.f : 1.f;
                w11[R * cols11 + c] = float(rank) * scale;
            }
        const auto m11 = sparse::choose_blocks(w11.data(), rows11, cols11, 1, 32, 0.5, sparse::PruneMethod::Magnitude);
        REQUIRE(m11.row_ptr.size() == rows11 + 1);
        CHECK(m11.row_ptr.back() == 33);  // round(0.5 * 66)
        for (std::size_t R = 0; R < rows11; ++R) {
            CAPTURE(R);
            // 33 = 6 x 5 + 3: rows 3, 4 and 5 (the highest 6th-best scores) keep 6
            CHECK(m11.row_ptr[R + 1] - m11.row_ptr[R] == (R >= 3 ? 6u : 5u));
            for (std::uint32_t k = m11.row_ptr[R]; k < m11.row_ptr[R + 1]; ++k)
                CHECK((m11.col_idx[k] + 3 * R) % 11 + 1 >= (R >= 3 ? 6u : 7u));
        }
    }
    // Activation-aware: a small weight on a loud input column outranks a larger one on a quiet one.
    std::vector<float> w2(2 * 64, 1.f);
    for (std::size_t c = 0; c < 32; ++c) w2[c] = w2[64 + c] = 2.f;  // block 0 larger
    std::vector<float> norms(64, 1.f);
    for (std::size_t c = 32; c < 64; ++c) norms[c] = 10.f;  // block 1 sees a loud input
    CHECK(sparse::choose_blocks(w2.data(), 2, 64, 1, 32, 0.5, sparse::PruneMethod::Magnitude).col_idx ==
          std::vector<std::uint32_t>{0, 0});
    CHECK(sparse::choose_blocks(w2.data(), 2, 64, 1, 32, 0.5, sparse::PruneMethod::ActivationAware, norms).col_idx ==
          std::vector<std::uint32_t>{1, 1});
}

TEST_CASE("activation-aware pruning loses less of the output than magnitude pruning") {
    // Inputs with a few loud feature columns, as LLM activations have.
    const std::size_t rows = 64, cols = 1024, tokens = 64;
    const auto w = test::normal_vector(rows * cols, 41);
    auto x = test::normal_vector(tokens * cols, 42);
    for (std::size_t t = 0; t < tokens; ++t)
        for (std::size_t c = 0; c < cols; c += 37) x[t * cols + c] *= 20.f;
    const auto norms = sparse::input_column_norms(x.data(), tokens, cols);
    for (double density : {0.5, 0.25}) {
        double err[2];
        for (auto method : {sparse::PruneMethod::Magnitude, sparse::PruneMethod::ActivationAware}) {
            const auto m = sparse::choose_blocks(w.data(), rows, cols, 1, 32, density, method, norms);
            auto wp = w;
            sparse::zero_pruned(wp.data(), m);
            err[int(method)] = sparse::output_error(w.data(), wp.data(), rows, cols, x.data(), tokens);
        }
        MESSAGE("density " << density << ": output error magnitude " << err[0] << ", activation-aware " << err[1]);
        CHECK(err[1] < err[0]);
    }
}

TEST_CASE("malformed index data is rejected with a clear error") {
    const auto w = test::normal_vector(kRows * kCols, 51);
    const auto m = sparse::choose_blocks(w.data(), kRows, kCols, 4, 32, 0.5, sparse::PruneMethod::Magnitude);
    const auto s = sparse::pack_block_sparse<quant::Q4_0>(w.data(), m);
    auto check = [&](std::vector<std::uint32_t> row_ptr, std::vector<std::uint32_t> col_idx, std::size_t bytes,
                     const char* expect) {
        try {
            (void)sparse::BsrView<quant::Q4_0>::checked(kRows, kCols, 4, 32, row_ptr, col_idx, s.values.data(), bytes, "w");
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find(expect) != std::string::npos);
        }
    };
    const std::size_t bytes = s.values.size() * sizeof(quant::BlockQ4_0);
    auto rp = s.row_ptr, ci = s.col_idx;
    rp[4] = rp[3] - 1;
    check(rp, ci, bytes, "not a valid prefix count at block-row 3");
    rp = s.row_ptr;
    rp.pop_back();
    check(rp, ci, bytes, "row pointer array has the wrong length");
    rp = s.row_ptr;
    rp[0] = 1;
    check(rp, ci, bytes, "does not start at 0");
    ci[5] = 80;
    check(s.row_ptr, ci, bytes, "out of order or out of range");
    ci = s.col_idx;
    std::swap(ci[0], ci[1]);
    check(s.row_ptr, ci, bytes, "out of order or out of range at block-row 0");
    check(s.row_ptr, s.col_idx, bytes - 18, "value data size does not match");
    ci = s.col_idx;
    ci.pop_back();
    check(s.row_ptr, ci, bytes, "column index array has the wrong length");
}

TEST_CASE("BlockSparseMatrix fixes the shape at compile time and checks storage against it") {
    const auto w = test::normal_vector(kRows * kCols, 61);
    const auto m = sparse::choose_blocks(w.data(), kRows, kCols, 4, 32, 0.5, sparse::PruneMethod::Magnitude);
    sparse::BlockSparseMatrix<quant::Q4_0, kRows, kCols, 4, 32> ok(sparse::pack_block_sparse<quant::Q4_0>(w.data(), m));
    CHECK(ok.view().density() == doctest::Approx(0.5));
    try {
        sparse::BlockSparseMatrix<quant::Q4_0, kRows, kCols, 16, 64> bad(sparse::pack_block_sparse<quant::Q4_0>(w.data(), m));
        FAIL("accepted");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("expected 32 x 2560 in 16 x 64 blocks, found 32 x 2560 in 4 x 32 blocks") !=
              std::string::npos);
    }
}

TEST_CASE_TEMPLATE("block-sparse GEMM with register tiles (8 rows x 8 tokens) matches per-token GEMV", F, quant::Q4_0,
                   quant::Q8_0) {
    const auto w = test::normal_vector(kRows * kCols, 71);
    const std::size_t tokens = 19;  // two full 8-token tiles and a remainder
    const auto x = test::normal_vector(tokens * kCols, 72);
    const auto mask = sparse::choose_blocks(w.data(), kRows, kCols, 16, 64, 0.5, sparse::PruneMethod::Magnitude);
    const auto bsr = sparse::pack_block_sparse<F>(w.data(), mask);
    ThreadPool pool(2);
    std::vector<float> y(tokens * kRows), y1(kRows);
    ops::bsr_gemm<F>(bsr.view(), x.data(), tokens, y.data(), &pool);
    auto wz = w;
    sparse::zero_pruned(wz.data(), mask);
    for (std::size_t t = 0; t < tokens; ++t) {
        ops::bsr_gemm<F>(bsr.view(), x.data() + t * kCols, 1, y1.data(), nullptr);
        std::vector<float> xt(x.begin() + std::ptrdiff_t(t * kCols), x.begin() + std::ptrdiff_t((t + 1) * kCols));
        for (std::size_t r = 0; r < kRows; ++r) CHECK(std::fabs(double(y[t * kRows + r]) - y1[r]) <= reassociation_bound(wz, xt, r));
    }
}

TEST_CASE("a panel holds its rows' F-blocks side by side (docs/formats.md)") {
    // Q4_0, 4x64 blocks: 2 F-blocks per kept block. F-block f = k * 2 + j of row i of panel R is
    // panel(R)[f * 4 + i]: the quantized weights of row R*4+i at columns col_idx[k]*64 + j*32.
    const auto w = test::normal_vector(kRows * kCols, 81);
    const auto m = sparse::choose_blocks(w.data(), kRows, kCols, 4, 64, 0.25, sparse::PruneMethod::Magnitude);
    const auto s = sparse::pack_block_sparse<quant::Q4_0>(w.data(), m);
    const auto v = s.view();
    std::size_t checked = 0;
    for (std::size_t R = 0; R < v.block_row_count(); ++R)
        for (std::size_t k = 0; k < v.kept(R); ++k)
            for (std::size_t j = 0; j < 2; ++j)
                for (std::size_t i = 0; i < 4; ++i) {
                    quant::BlockQ4_0 expect;
                    const std::size_t col = std::size_t(v.col_idx[v.row_ptr[R] + k]) * 64 + j * 32;
                    quant::Q4_0::quantize_ref(w.data() + (R * 4 + i) * kCols + col, &expect, 32);
                    const auto& got = v.panel(R)[(k * 2 + j) * 4 + i];
                    CHECK(std::memcmp(&got, &expect, sizeof expect) == 0);
                    ++checked;
                }
    CHECK(checked == v.value_blocks());
}
