// Q2Planar, our 2-bit format: layout, error bound, kernels against the scalar reference.
#include "format_checks.hpp"
#include "ulk/quant/q2_planar.hpp"

using namespace ulk::quant;

TEST_CASE("Q2Planar: round trip within the stated bound") {
    // 2.375 bits per weight: 4 levels per weight, 4-bit scale and min per 32. On N(0, 1) data the
    // relative RMS error is about 0.3 (Q2_K, at 2.625 bits, is about the same).
    ulk::test::check_roundtrip<Q2Planar>(0.36);
}

TEST_CASE("Q2Planar: planes hold weights i, i+64, i+128, i+192 of a block") {
    float x[256];
    for (int i = 0; i < 256; ++i) x[i] = float((i / 64 + i) % 4);  // codes 0..3 with scale 1, min 0
    BlockQ2Planar b;
    Q2Planar::quantize_ref(x, &b, 256);
    float y[256];
    Q2Planar::dequantize_ref(&b, y, 256);
    for (int i = 0; i < 256; ++i) REQUIRE(std::fabs(y[i] - x[i]) < 0.02f);
    for (int i = 0; i < 64; ++i)
        for (int k = 0; k < 4; ++k) REQUIRE(((b.qs[i] >> (2 * k)) & 3) == Q2Planar::code(b, i + 64 * k));
}

TEST_CASE("Q2Planar: kernels match the scalar reference") { ulk::test::check_all_arches<Q2Planar>(); }
