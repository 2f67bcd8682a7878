// F32, F16, BF16, Q8_0, Q4_0: round-trip error bounds, SIMD kernels against the scalar
// references, GEMV and GEMM against the reference (threads 1 and 2, odd shapes).
#include "format_checks.hpp"
#include "ulk/quant/all_formats.hpp"

using namespace ulk::quant;

// Stated bounds: relative RMS error of quantize -> dequantize on N(0, 1) data.
TEST_CASE("round trip within stated error bounds") {
    ulk::test::check_roundtrip<F32>(0.0);
    ulk::test::check_roundtrip<F16>(4e-4);   // 11-bit mantissa: 2^-12 relative, RMS below that
    ulk::test::check_roundtrip<BF16>(3e-3);  // 8-bit mantissa
    ulk::test::check_roundtrip<Q8_0>(0.01);  // 255 levels per block of 32
    ulk::test::check_roundtrip<Q4_0>(0.12);  // 16 levels per block of 32
}

TEST_CASE_TEMPLATE("kernels match the scalar reference", F, F32, F16, BF16, Q8_0, Q4_0) {
    ulk::test::check_all_arches<F>();
}

TEST_CASE("known values: Q4_0 and Q8_0 of a ramp") {
    float x[32];
    for (int i = 0; i < 32; ++i) x[i] = float(i - 16);  // extreme -16 maps to code 0 (d = 2)
    BlockQ4_0 q4;
    Q4_0::quantize_ref(x, &q4, 32);
    CHECK(ulk::f16_to_f32(q4.d) == 2.f);
    CHECK((q4.qs[0] & 15) == 0);
    float y[32];
    Q4_0::dequantize_ref(&q4, y, 32);
    for (int i = 0; i < 32; ++i) CHECK(std::fabs(y[i] - x[i]) <= 1.f);
    BlockQ8_0 q8;
    Q8_0::quantize_ref(x, &q8, 32);
    CHECK(q8.qs[0] == -127);
    CHECK(q8.qs[16] == 0);
}

#if defined(ULK_HAVE_AVX512VNNI)
namespace {
template <int ZeroPoint>
void check_q8act_fast_quantize() {
    // Block counts 1 to 7 (odd ones run the last block without a partner); inputs: normal,
    // halves that land on .5 after scaling, a zero block, huge and tiny magnitudes.
    for (std::size_t nb = 1; nb <= 7; ++nb)
        for (int kind = 0; kind < 4; ++kind) {
            const std::size_t n = 32 * nb;
            auto x = ulk::test::normal_vector(n, 100 * nb + std::uint64_t(kind));
            for (std::size_t i = 0; i < n; ++i) {
                if (kind == 1) x[i] = std::round(x[i] * 4) / 4, x[i % 32] = 127.f / 4;
                if (kind == 2 && i / 32 == nb / 2) x[i] = 0;
                if (kind == 3) x[i] *= (i / 32) % 2 ? 1e-30f : 1e30f;
            }
            using Block = BlockQ8Act<ZeroPoint>;
            std::vector<Block> ref(nb), fast(nb);
            std::memset(ref.data(), 0x5a, nb * sizeof(Block));
            std::memset(fast.data(), 0x5a, nb * sizeof(Block));
            Q8Act<ZeroPoint>::quantize_ref(x.data(), ref.data(), n);
            Q8Act<ZeroPoint>::quantize(ulk::simd::avx512vnni{}, x.data(), fast.data(), n);
            INFO("zero point ", ZeroPoint, " blocks ", nb, " kind ", kind);
            REQUIRE(std::memcmp(ref.data(), fast.data(), nb * sizeof(Block)) == 0);
        }
}
}  // namespace

TEST_CASE("Q8Act fast quantize matches the reference byte for byte") {
    check_q8act_fast_quantize<1>();
    check_q8act_fast_quantize<8>();
    check_q8act_fast_quantize<128>();
}
#endif
