#pragma once
// Checks every format must pass; test files instantiate them over their formats.
//  - quantize -> dequantize error within the format's stated bound (relative RMS, normal data)
//  - every SIMD dot kernel equal to the scalar reference dot (tolerance: float summation order)
//  - GEMV and GEMM against the dequantized reference, with 1 and 2 threads, odd shapes
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <vector>

#include "test_util.hpp"
#include "ulk/base/thread_pool.hpp"
#include "ulk/ops/gemm.hpp"
#include "ulk/ops/gemv.hpp"

namespace ulk::test {

// The dot of the activation as the kernel sees it (after its own quantization): the reference.
template <class F>
double dot_scale(const typename F::Block* w, const std::vector<float>& x) {
    std::vector<float> wd(x.size());
    F::dequantize_ref(w, wd.data(), x.size());
    double s = 0;
    for (std::size_t i = 0; i < x.size(); ++i) s += std::fabs(double(wd[i]) * double(x[i]));
    return s;
}

template <class F>
void check_roundtrip(double max_relative_rms) {
    for (std::size_t n : {F::kBlockWeights * 8, F::kBlockWeights * 37}) {
        auto x = normal_vector(n, 11 + n);
        std::vector<typename F::Block> q(n / F::kBlockWeights);
        std::vector<float> y(n);
        F::quantize_ref(x.data(), q.data(), n);
        F::dequantize_ref(q.data(), y.data(), n);
        const double err = relative_rms(x, y);
        INFO(F::kName, " n=", n, " relative RMS error ", err);
        CHECK(err <= max_relative_rms);
    }
    // All-zero input must give zeros, not NaN.
    std::vector<float> z(F::kBlockWeights * 2, 0.f), y(z.size(), 1.f);
    std::vector<typename F::Block> q(2);
    F::quantize_ref(z.data(), q.data(), z.size());
    F::dequantize_ref(q.data(), y.data(), z.size());
    for (float v : y) REQUIRE(v == 0.f);
}

// The activation as quantized by the reference activation quantizer.
template <class F>
std::vector<typename F::Activation::Block> quantize_act(const std::vector<float>& x) {
    std::vector<typename F::Activation::Block> a(x.size() / F::Activation::kBlockWeights);
    F::Activation::quantize_ref(x.data(), a.data(), x.size());
    return a;
}

template <class F, class Arch>
void check_dot_against_ref(Arch arch) {
    for (std::size_t blocks : {std::size_t(1), std::size_t(2), std::size_t(3), std::size_t(8), std::size_t(41)}) {
        std::size_t n = F::kBlockWeights * blocks;
        const std::size_t ab = F::Activation::kBlockWeights;
        n = (n + ab - 1) / ab * ab;  // formats' block counts may differ; activation blocks must divide
        if (n % F::kBlockWeights) continue;
        auto w = normal_vector(n, 100 + blocks), x = normal_vector(n, 200 + blocks);
        std::vector<typename F::Block> q(n / F::kBlockWeights);
        F::quantize_ref(w.data(), q.data(), n);
        auto a = quantize_act<F>(x);
        // the fast activation quantizer must agree with the reference one
        std::vector<typename F::Activation::Block> a_fast(a.size());
        quant::quantize_activation<typename F::Activation>(arch, x.data(), a_fast.data(), n);
        std::vector<float> deq_ref(n), deq_fast(n);
        F::Activation::dequantize_ref(a.data(), deq_ref.data(), n);
        F::Activation::dequantize_ref(a_fast.data(), deq_fast.data(), n);
        for (std::size_t i = 0; i < n; ++i) REQUIRE(deq_ref[i] == deq_fast[i]);

        const float ref = F::dot_ref(q.data(), a.data(), n);
        const float fast = F::dot(arch, q.data(), a.data(), n);
        const double tol = 1e-5 * dot_scale<F>(q.data(), x) + 1e-6;
        INFO(F::kName, " arch=", Arch::name, " n=", n, " ref=", ref, " fast=", fast);
        CHECK(std::fabs(double(ref) - double(fast)) <= tol);
    }
}

template <class F, class Arch>
void check_gemv_gemm(Arch arch) {
    // Odd row counts (not a multiple of the task or tile size) and a few column counts.
    for (std::size_t rows : {std::size_t(1), std::size_t(7), std::size_t(45)}) {
        for (std::size_t col_blocks : {std::size_t(1), std::size_t(5)}) {
            std::size_t cols = F::kBlockWeights * col_blocks;
            const std::size_t ab = F::Activation::kBlockWeights;
            cols = (cols + ab - 1) / ab * ab;
            if (cols % F::kBlockWeights) continue;
            auto wd = normal_vector(rows * cols, rows * 31 + cols);
            std::vector<typename F::Block> q(rows * cols / F::kBlockWeights);
            for (std::size_t r = 0; r < rows; ++r)
                F::quantize_ref(wd.data() + r * cols, q.data() + r * (cols / F::kBlockWeights), cols);
            const quant::MatrixView<F> w{q.data(), rows, cols};
            constexpr std::size_t kTokens = 11;
            auto x = normal_vector(kTokens * cols, 5 + rows);
            // Reference: scalar reference dot per (token, row) on reference-quantized activations.
            std::vector<float> y_ref(kTokens * rows), scale(kTokens * rows);
            for (std::size_t t = 0; t < kTokens; ++t) {
                std::vector<float> xt(x.begin() + t * cols, x.begin() + (t + 1) * cols);
                auto a = quantize_act<F>(xt);
                for (std::size_t r = 0; r < rows; ++r) {
                    y_ref[t * rows + r] = F::dot_ref(w.row(r), a.data(), cols);
                    scale[t * rows + r] = float(dot_scale<F>(w.row(r), xt));
                }
            }
            for (unsigned threads : {1u, 2u}) {
                ThreadPool pool(threads);
                std::vector<float> y(rows), yg(kTokens * rows);
                ops::gemv<F>(w, x.data(), y.data(), &pool, arch);
                ops::gemm<F>(w, x.data(), kTokens, yg.data(), &pool, arch);
                for (std::size_t r = 0; r < rows; ++r) {
                    INFO(F::kName, " gemv arch=", Arch::name, " rows=", rows, " cols=", cols, " threads=", threads, " r=", r);
                    REQUIRE(std::fabs(y[r] - y_ref[r]) <= 1e-5 * scale[r] + 1e-6);
                }
                for (std::size_t i = 0; i < kTokens * rows; ++i) {
                    INFO(F::kName, " gemm arch=", Arch::name, " rows=", rows, " cols=", cols, " threads=", threads, " i=", i);
                    REQUIRE(std::fabs(yg[i] - y_ref[i]) <= 1e-5 * scale[i] + 1e-6);
                }
            }
        }
    }
}

// Runs the dot and GEMV/GEMM checks on every architecture tag this build can execute.
template <class F>
void check_all_arches() {
    check_dot_against_ref<F>(simd::portable{});
    check_gemv_gemm<F>(simd::portable{});
#if defined(ULK_HAVE_AVX2)
    check_dot_against_ref<F>(simd::avx2{});
    check_gemv_gemm<F>(simd::avx2{});
#endif
#if defined(ULK_HAVE_AVX512VNNI)
    check_dot_against_ref<F>(simd::avx512vnni{});
    check_gemv_gemm<F>(simd::avx512vnni{});
#endif
}

}  // namespace ulk::test
