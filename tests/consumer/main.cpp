// Quantizes a small matrix, runs a GEMV, and checks it against the reference: proof that the
// headers, include paths and dependencies arrive through the CMake target.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "ulk/ulk.hpp"

int main() {
    constexpr std::size_t kRows = 8, kCols = 64;
    std::vector<float> w(kRows * kCols), x(kCols), y(kRows), y_ref(kRows);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.1f * float(i));
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.3f * float(i));
    auto m = ulk::quant::PackedMatrix<ulk::quant::Q8_0, kRows, kCols>::quantize(w);
    ulk::ops::gemv<ulk::quant::Q8_0>(m.view(), x.data(), y.data());
    ulk::ops::gemv_ref<ulk::quant::Q8_0>(m.view(), x.data(), y_ref.data());
    for (std::size_t r = 0; r < kRows; ++r)
        if (std::fabs(y[r] - y_ref[r]) > 0.05f) { std::printf("row %zu: %f vs %f\n", r, y[r], y_ref[r]); return 1; }
    std::printf("consumer ok (%s, kernels: %s)\n", ulk::kVersion, std::string(ulk::simd::native::name).c_str());
    return 0;
}
