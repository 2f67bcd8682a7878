// Grouped<Bits, GroupSize>: round-trip error bounds per (Bits, GroupSize), error monotone in both,
// the search beating plain min/max, the documented bit layouts, the dot formula against
// dequantized values, and the SIMD kernels / GEMV / GEMM against the scalar reference.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "format_checks.hpp"
#include "ulk/quant/grouped.hpp"

using namespace ulk::quant;

namespace {

template <int Bits, std::size_t G>
double roundtrip_error(const std::vector<float>& x) {
    using F = Grouped<Bits, G>;
    std::vector<typename F::Block> q(x.size() / G);
    std::vector<float> y(x.size());
    F::quantize_ref(x.data(), q.data(), x.size());
    F::dequantize_ref(q.data(), y.data(), x.size());
    return ulk::test::relative_rms(x, y);
}

// Plain min/max asymmetric quantization in float (no f16 rounding): the baseline the search beats.
double minmax_error(const std::vector<float>& x, int bits, std::size_t g) {
    const float levels = float((1 << bits) - 1);
    std::vector<float> y(x.size());
    for (std::size_t s = 0; s < x.size(); s += g) {
        const auto [lo, hi] = std::minmax_element(x.begin() + s, x.begin() + s + g);
        const float d = (*hi - *lo) / levels;
        for (std::size_t e = s; e < s + g; ++e)
            y[e] = *lo + d * std::clamp(std::nearbyint((x[e] - *lo) / d), 0.f, levels);
    }
    return ulk::test::relative_rms(x, y);
}

constexpr std::array<std::size_t, 4> kGroups = {32, 64, 128, 256};

// Relative RMS error for every (Bits, GroupSize): rows 2, 3, 4, 8 bits; columns groups 32..256.
std::array<std::array<double, 4>, 4> error_table(const std::vector<float>& x) {
    auto row = [&]<int Bits>() {
        return std::array<double, 4>{roundtrip_error<Bits, 32>(x), roundtrip_error<Bits, 64>(x),
                                     roundtrip_error<Bits, 128>(x), roundtrip_error<Bits, 256>(x)};
    };
    return {row.template operator()<2>(), row.template operator()<3>(), row.template operator()<4>(),
            row.template operator()<8>()};
}

}  // namespace

TEST_CASE("Grouped: names and block sizes") {
    CHECK(Grouped<4, 64>::kName == std::string_view("G4x64"));
    CHECK(Grouped<2, 256>::kName == std::string_view("G2x256"));
    CHECK(Grouped<3, 32>::kName == std::string_view("G3x32"));
    CHECK(Grouped<8, 128>::kName == std::string_view("G8x128"));
    CHECK(Grouped<4, 32>::kGgmlType == kNotGgml);
    CHECK(Grouped<2, 128>::kBlockWeights == 128);
    static_assert(sizeof(Grouped<4, 32>::Block) == 20);   // 5 bits per weight
    static_assert(sizeof(Grouped<2, 256>::Block) == 68);  // 2.125
    static_assert(sizeof(Grouped<3, 128>::Block) == 52);  // 3.25
    static_assert(sizeof(Grouped<8, 32>::Block) == 34);   // 8.5, Q8_0's size
    CHECK(bits_per_weight<Grouped<2, 256>>() == 2.125);
    static_assert(DotFormat<Grouped<3, 64>>);
}

// Stated bounds: relative RMS error of quantize -> dequantize on N(0, 1) data, measured (worst of
// check_roundtrip's two sizes) and given about 10% margin:
//
//   measured    G=32    G=64    G=128   G=256
//   2-bit      0.3015  0.3317  0.3502  0.3556
//   3-bit      0.1448  0.1719  0.1852  0.1958
//   4-bit      0.0703  0.0844  0.0948  0.1031
//   8-bit      0.0052  0.0060  0.0066  0.0078
TEST_CASE("Grouped: round trip within stated error bounds") {
    using ulk::test::check_roundtrip;
    check_roundtrip<Grouped<2, 32>>(0.33);
    check_roundtrip<Grouped<2, 64>>(0.36);
    check_roundtrip<Grouped<2, 128>>(0.38);
    check_roundtrip<Grouped<2, 256>>(0.39);
    check_roundtrip<Grouped<3, 32>>(0.16);
    check_roundtrip<Grouped<3, 64>>(0.19);
    check_roundtrip<Grouped<3, 128>>(0.20);
    check_roundtrip<Grouped<3, 256>>(0.215);
    check_roundtrip<Grouped<4, 32>>(0.078);
    check_roundtrip<Grouped<4, 64>>(0.093);
    check_roundtrip<Grouped<4, 128>>(0.104);
    check_roundtrip<Grouped<4, 256>>(0.113);
    check_roundtrip<Grouped<8, 32>>(0.0058);
    check_roundtrip<Grouped<8, 64>>(0.0066);
    check_roundtrip<Grouped<8, 128>>(0.0073);
    check_roundtrip<Grouped<8, 256>>(0.0086);
}

// On one 16k-element N(0,1) vector (measured: 2-bit 0.300 0.323 0.334 0.341; 3-bit 0.146 0.166
// 0.181 0.188; 4-bit 0.071 0.083 0.093 0.099; 8-bit 0.0052 0.0059 0.0064 0.0070).
TEST_CASE("Grouped: error shrinks with more bits and with smaller groups") {
    const auto x = ulk::test::normal_vector(256 * 64, 12345);
    const auto err = error_table(x);
    constexpr int kBits[4] = {2, 3, 4, 8};
    for (int b = 0; b < 4; ++b)
        for (int g = 0; g < 4; ++g) {
            INFO("bits=", kBits[b], " group=", kGroups[g], " error=", err[b][g]);
            if (b > 0) CHECK(err[b][g] < err[b - 1][g]);
            if (g > 0) CHECK(err[b][g - 1] < err[b][g]);
        }
}

TEST_CASE("Grouped: the range search beats plain min/max") {
    const auto x = ulk::test::normal_vector(256 * 64, 777);
    const auto err = error_table(x);
    for (int b = 0; b < 3; ++b)
        for (int g = 0; g < 4; ++g) {
            const double base = minmax_error(x, b + 2, kGroups[g]);
            INFO("bits=", b + 2, " group=", kGroups[g], " search=", err[b][g], " min/max=", base);
            CHECK(err[b][g] < 0.97 * base);
        }
}

// Inputs that lie on the integer grid quantize exactly (d = 1, m = 0, or zero point 128 for
// 8 bits), so the codes are known; each is then looked up where the layout comment says it is.
TEST_CASE_TEMPLATE("Grouped: codes sit where the layout comment says", F, Grouped<2, 32>, Grouped<2, 64>,
                   Grouped<2, 256>, Grouped<3, 32>, Grouped<3, 128>, Grouped<4, 32>, Grouped<4, 128>,
                   Grouped<8, 64>) {
    constexpr std::size_t G = F::kBlockWeights;
    constexpr int levels = F::kLevels;
    std::vector<int> code(2 * G);
    std::vector<float> x(2 * G);
    for (std::size_t e = 0; e < 2 * G; ++e) {
        // a scrambled walk over every level (8 bits: codes 1..255, so max|x| = 127 and d = 1);
        // both ends occur in each group
        code[e] = F::kSymmetric ? 1 + int((e * 7 + e / 5) % 255) : int((e * 7 + e / 5) % std::size_t(levels));
        if (e % G == 0) code[e] = F::kSymmetric ? 1 : 0;
        if (e % G == 1) code[e] = levels - 1;
        x[e] = F::kSymmetric ? float(code[e] - 128) : float(code[e]);
    }
    std::vector<typename F::Block> q(2);
    F::quantize_ref(x.data(), q.data(), 2 * G);
    std::vector<float> y(2 * G);
    F::dequantize_ref(q.data(), y.data(), 2 * G);
    for (std::size_t e = 0; e < 2 * G; ++e) REQUIRE(y[e] == x[e]);

    for (std::size_t gi = 0; gi < 2; ++gi) {
        const std::uint8_t* qs = q[gi].qs;
        for (std::size_t e = 0; e < G; ++e) {
            int found = 0;
            if constexpr (F::kCodeBytes == G) {  // 8 bits: one byte per element
                found = qs[e];
            } else if constexpr (F::kCodeBytes == G / 2) {  // 4 bits: low nibbles, then high nibbles
                found = e < G / 2 ? qs[e] & 15 : qs[e - G / 2] >> 4;
            } else {  // 2-bit plane: field k of byte i is element i + k*G/4
                found = (qs[e % (G / 4)] >> (2 * (e / (G / 4)))) & 3;
                if constexpr (F::kCodeBytes == 3 * G / 8)  // plus the bitmap of bit 2
                    found |= ((qs[G / 4 + e / 8] >> (e % 8)) & 1) << 2;
            }
            INFO(F::kName, " group ", gi, " element ", e);
            REQUIRE(found == code[gi * G + e]);
        }
    }
}

// The dot formula (the min term's sign, the 8-bit zero point) against dequantized operands.
TEST_CASE_TEMPLATE("Grouped: dot_ref equals the dot of the dequantized operands", F, Grouped<2, 64>,
                   Grouped<3, 32>, Grouped<4, 128>, Grouped<8, 256>) {
    const std::size_t n = F::kBlockWeights * 5;
    const auto w = ulk::test::normal_vector(n, 41), x = ulk::test::normal_vector(n, 42);
    std::vector<typename F::Block> q(n / F::kBlockWeights);
    F::quantize_ref(w.data(), q.data(), n);
    const auto a = ulk::test::quantize_act<F>(x);
    std::vector<float> wd(n), xd(n);
    F::dequantize_ref(q.data(), wd.data(), n);
    F::Activation::dequantize_ref(a.data(), xd.data(), n);
    double exact = 0, scale = 0;
    for (std::size_t i = 0; i < n; ++i) {
        exact += double(wd[i]) * double(xd[i]);
        scale += std::fabs(double(wd[i]) * double(xd[i]));
    }
    CHECK(std::fabs(F::dot_ref(q.data(), a.data(), n) - exact) <= 1e-5 * scale);
}

TEST_CASE_TEMPLATE("Grouped: kernels match the scalar reference", F,
                   Grouped<2, 32>, Grouped<3, 32>, Grouped<4, 32>, Grouped<8, 32>,
                   Grouped<2, 128>, Grouped<3, 128>, Grouped<4, 128>, Grouped<8, 128>,
                   Grouped<2, 64>, Grouped<2, 256>, Grouped<4, 256>) {
    ulk::test::check_all_arches<F>();
}
