// Run-time views of packed bytes (as a mapped file will give them) reject every mismatch with an
// error that names the matrix, what was expected and what was found.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "test_util.hpp"
#include "ulk/quant/packed_matrix.hpp"
#include "ulk/quant/q4_0.hpp"

using ulk::quant::MatrixView;
using ulk::quant::Q4_0;

namespace {
using ulk::test::error_of;
}  // namespace

TEST_CASE("MatrixView::checked accepts a matching buffer and rejects mismatches clearly") {
    std::vector<ulk::quant::BlockQ4_0> blocks(4 * 2);  // (4, 64): 2 blocks per row
    const auto* bytes = reinterpret_cast<const unsigned char*>(blocks.data());
    const std::size_t nbytes = blocks.size() * sizeof(blocks[0]);

    const auto ok = MatrixView<Q4_0>::checked(bytes, nbytes, 4, 64, "blk.0.attn_q.weight");
    CHECK(ok.rows == 4);
    CHECK(ok.blocks_per_row() == 2);
    CHECK(ok.bytes() == nbytes);

    const std::string not_blocks = error_of([&] { (void)MatrixView<Q4_0>::checked(bytes, nbytes, 4, 60, "w"); });
    CHECK(not_blocks.find("whole number of blocks") != std::string::npos);
    CHECK(not_blocks.find("multiple of 32") != std::string::npos);
    CHECK(not_blocks.find("found 60") != std::string::npos);

    const std::string short_buffer =
        error_of([&] { (void)MatrixView<Q4_0>::checked(bytes, nbytes - 1, 4, 64, "blk.0.attn_q.weight"); });
    CHECK(short_buffer.find("blk.0.attn_q.weight") != std::string::npos);
    CHECK(short_buffer.find("expected 144 bytes, found 143 bytes") != std::string::npos);

    const std::string misaligned = error_of([&] { (void)MatrixView<Q4_0>::checked(bytes + 1, nbytes, 4, 64, "w"); });
    CHECK(misaligned.find("misaligned") != std::string::npos);

    // A row count whose size overflows is rejected before anything is multiplied out.
    const std::string huge = error_of([&] { (void)MatrixView<Q4_0>::checked(bytes, nbytes, SIZE_MAX / 2, 64, "w"); });
    CHECK(huge.find("overflows") != std::string::npos);
}

TEST_CASE("PackedMatrix::quantize rejects a dense matrix of the wrong size") {
    std::vector<float> dense(4 * 64 - 1);
    const std::string e = error_of([&] { (void)ulk::quant::PackedMatrix<Q4_0, 4, 64>::quantize(dense); });
    CHECK(e.find("expected 256, found 255") != std::string::npos);
}
