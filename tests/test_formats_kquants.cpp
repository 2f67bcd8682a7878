// The k-quants (Q8_K, Q6_K, Q4_K, Q3_K, Q2_K): round-trip error bounds, SIMD kernels against the
// scalar references, GEMV and GEMM against the reference (threads 1 and 2, odd shapes), the
// reference dot against the dequantized vectors, and Q8_K's fast quantizer against its reference
// byte for byte. Bit-exactness with ggml itself is checked by test_known_answers.cpp.
#include <cstring>

#include "format_checks.hpp"
#include "ulk/quant/q2_k.hpp"
#include "ulk/quant/q3_k.hpp"
#include "ulk/quant/q4_k.hpp"
#include "ulk/quant/q6_k.hpp"
#include "ulk/quant/q8_k.hpp"

using namespace ulk::quant;

// Stated bounds: relative RMS error of quantize -> dequantize on N(0, 1) data. Measured with
// ggml's reference quantizers (no importance matrix), worst of 20 seeds and two lengths:
// Q8_K 0.0078, Q6_K 0.018, Q4_K 0.075, Q3_K 0.157, Q2_K 0.305. Bounds leave about 20% margin.
TEST_CASE("k-quants: round trip within stated error bounds") {
    ulk::test::check_roundtrip<Q8_K>(0.01);  // 255 levels per block of 256
    ulk::test::check_roundtrip<Q6_K>(0.022);  // 64 levels per 16, 8-bit scales
    ulk::test::check_roundtrip<Q4_K>(0.09);   // 16 levels per 32, 6-bit scales and mins
    ulk::test::check_roundtrip<Q3_K>(0.19);   // 8 levels per 16, 6-bit scales
    ulk::test::check_roundtrip<Q2_K>(0.37);   // 4 levels per 16, 4-bit scales and mins
}

TEST_CASE_TEMPLATE("k-quant kernels match the scalar reference", F, Q6_K, Q4_K, Q3_K, Q2_K) {
    ulk::test::check_all_arches<F>();
}

// dot_ref and dequantize_ref read the layout independently: their agreement checks both.
TEST_CASE_TEMPLATE("k-quant reference dot equals the dot of the dequantized vectors", F, Q6_K, Q4_K, Q3_K, Q2_K) {
    const std::size_t n = 256 * 5;
    auto w = ulk::test::normal_vector(n, 7), x = ulk::test::normal_vector(n, 8);
    std::vector<typename F::Block> q(n / 256);
    std::vector<BlockQ8_K> a(n / 256);
    F::quantize_ref(w.data(), q.data(), n);
    Q8_K::quantize_ref(x.data(), a.data(), n);
    std::vector<float> wd(n), xd(n);
    F::dequantize_ref(q.data(), wd.data(), n);
    Q8_K::dequantize_ref(a.data(), xd.data(), n);
    double exact = 0, scale = 0;
    for (std::size_t i = 0; i < n; ++i) {
        exact += double(wd[i]) * double(xd[i]);
        scale += std::fabs(double(wd[i]) * double(xd[i]));
    }
    const float ref = F::dot_ref(q.data(), a.data(), n);
    INFO(F::kName, " dot_ref=", ref, " dequantized dot=", exact);
    CHECK(std::fabs(ref - exact) <= 1e-5 * scale);
}

#if defined(ULK_HAVE_AVX512VNNI)
namespace {

bool same_bytes(const std::vector<BlockQ8_K>& a, const std::vector<BlockQ8_K>& b) {
    return std::memcmp(a.data(), b.data(), a.size() * sizeof(BlockQ8_K)) == 0;
}

// Inputs that stress the fast quantizer's agreement: rounding ties, the extreme value at either
// sign and position, equal magnitudes of both signs (the first one must win), zero blocks.
std::vector<float> stress_input(int kind, std::size_t n, std::uint64_t seed) {
    auto x = ulk::test::normal_vector(n, seed);
    ulk::test::Rng rng(seed * 7 + 1);
    for (std::size_t b = 0; b < n / 256; ++b) {
        float* v = x.data() + 256 * b;
        switch (kind) {
            case 0: break;
            case 1:  // scaled so that many products land on .5 exactly
                for (int i = 0; i < 256; ++i) v[i] = std::round(v[i] * 8) / 8;
                v[rng.next() % 256] = 127.f / 8;
                break;
            case 2: {  // +m and -m both present: the first in memory order sets the scale's sign
                const float m = 10.f;
                const int i = int(rng.next() % 256), j = int(rng.next() % 256);
                v[i] = -m;
                if (j != i) v[j] = m;
                break;
            }
            case 3:  // a zero block, and one with a single nonzero value
                for (int i = 0; i < 256; ++i) v[i] = 0;
                if (b % 2) v[rng.next() % 256] = -3.f;
                break;
            case 4:  // tiny and huge magnitudes
                for (int i = 0; i < 256; ++i) v[i] *= (b % 2) ? 1e-30f : 1e30f;
                break;
            default:  // all values equal
                for (int i = 0; i < 256; ++i) v[i] = 0.25f;
        }
    }
    return x;
}

}  // namespace

TEST_CASE("Q8_K fast quantize matches the reference byte for byte") {
    for (int kind = 0; kind < 6; ++kind) {
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            const std::size_t n = 256 * 6;
            const auto x = stress_input(kind, n, seed);
            std::vector<BlockQ8_K> ref(n / 256), fast(n / 256);
            std::memset(ref.data(), 0x5a, n / 256 * sizeof(BlockQ8_K));
            std::memset(fast.data(), 0xa5, n / 256 * sizeof(BlockQ8_K));
            Q8_K::quantize_ref(x.data(), ref.data(), n);
            Q8_K::quantize(ulk::simd::avx512vnni{}, x.data(), fast.data(), n);
            INFO("kind ", kind, " seed ", seed);
            REQUIRE(same_bytes(ref, fast));
        }
    }
}
#endif

TEST_CASE("Q8_K reference: scale sign, clamp and sums") {
    std::vector<float> x(256);
    for (int i = 0; i < 256; ++i) x[i] = float(i % 17) - 8.f;
    x[100] = 20.f;  // the extreme is positive: it maps to -127, d is negative
    BlockQ8_K q;
    Q8_K::quantize_ref(x.data(), &q, 256);
    CHECK(q.qs[100] == -127);
    CHECK(q.d == doctest::Approx(-20.f / 127));
    for (int g = 0; g < 16; ++g) {
        int sum = 0;
        for (int i = 0; i < 16; ++i) sum += q.qs[16 * g + i];
        CHECK(q.bsums[g] == sum);
    }
    std::vector<float> zeros(256, 0.f);
    Q8_K::quantize_ref(zeros.data(), &q, 256);
    CHECK(q.d == 0.f);
    for (auto s : q.bsums) CHECK(s == 0);
}
