// Decode must not touch the heap: GEMV and GEMM with caller-provided scratch allocate nothing,
// with and without the thread pool. A replaced global operator new counts every allocation.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "model_fixtures.hpp"
#include "test_util.hpp"
#include "ulk/model/llama.hpp"
#include "ulk/ops/bsr_gemv.hpp"
#include "ulk/ops/gemm.hpp"
#include "ulk/ops/gemv.hpp"
#include "ulk/quant/q4_0.hpp"
#include "ulk/quant/q8_0.hpp"
#include "ulk/sparse/prune.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n ? n : 1);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

TEST_CASE_TEMPLATE("GEMV and GEMM allocate nothing with caller scratch", F, ulk::quant::Q4_0, ulk::quant::Q8_0) {
    constexpr std::size_t kRows = 96, kCols = 256, kTokens = 5;
    auto wd = ulk::test::normal_vector(kRows * kCols, 1);
    std::vector<typename F::Block> q(kRows * kCols / F::kBlockWeights);
    F::quantize_ref(wd.data(), q.data(), wd.size());
    const ulk::quant::MatrixView<F> w{q.data(), kRows, kCols};
    auto x = ulk::test::normal_vector(kTokens * kCols, 2);
    std::vector<float> y(kTokens * kRows);
    ulk::AlignedBuffer<typename F::Activation::Block> scratch(ulk::ops::gemm_scratch_blocks<F>(kTokens, kCols));
    ulk::ThreadPool pool(2);
    ulk::ops::gemv<F>(w, x.data(), y.data(), scratch.span(), &pool);  // warm-up: threads started
    const long before = g_allocations.load();
    for (int i = 0; i < 20; ++i) {
        ulk::ops::gemv<F>(w, x.data(), y.data(), scratch.span(), &pool);
        ulk::ops::gemv<F>(w, x.data(), y.data(), scratch.span(), nullptr);
        ulk::ops::gemm<F>(w, x.data(), kTokens, y.data(), scratch.span(), &pool);
    }
    CHECK(g_allocations.load() == before);
    // and the check itself works: a vector allocates
    std::vector<int> v(3);
    CHECK(g_allocations.load() > before);
}

TEST_CASE_TEMPLATE("block-sparse GEMV and GEMM allocate nothing with caller scratch", F, ulk::quant::Q4_0, ulk::quant::Q8_0) {
    constexpr std::size_t kRows = 96, kCols = 256, kTokens = 5;
    auto wd = ulk::test::normal_vector(kRows * kCols, 1);
    const auto s = ulk::sparse::pack_block_sparse<F>(
        wd.data(), ulk::sparse::choose_blocks(wd.data(), kRows, kCols, 4, 32, 0.5, ulk::sparse::PruneMethod::Magnitude));
    auto x = ulk::test::normal_vector(kTokens * kCols, 2);
    std::vector<float> y(kTokens * kRows);
    ulk::ThreadPool pool(2);
    const std::size_t ranges = ulk::ops::bsr_range_count(kRows / 4, pool.size());
    ulk::AlignedBuffer<typename F::Activation::Block> scratch(ulk::ops::bsr_scratch_blocks<F>(kCols, kTokens, ranges));
    const auto view = s.view();
    ulk::ops::bsr_gemv<F>(view, x.data(), y.data(), scratch.span(), &pool);  // warm-up
    const long before = g_allocations.load();
    for (int i = 0; i < 20; ++i) {
        ulk::ops::bsr_gemv<F>(view, x.data(), y.data(), scratch.span(), &pool);
        ulk::ops::bsr_gemm<F>(view, x.data(), kTokens, y.data(), scratch.span(), &pool);
    }
    CHECK(g_allocations.load() == before);
}

TEST_CASE("Llama decode and prefill allocate nothing once loaded") {
    using M = ulk::Llama<ulk::test::TestLlama<ulk::presets::AllOf<ulk::quant::F32>, ulk::quant::Q8_0>>;
    for (unsigned threads : {1u, 2u}) {
        auto m = M::from_file(ulk::gguf::GgufFile::from_bytes(ulk::test::random_llama_gguf({}), "random.gguf"), {.threads = threads});
        const std::vector<ulk::Token> prompt = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
        m.decode(1);  // warm-up: worker threads started
        const long before = g_allocations.load();
        m.prefill(prompt);  // 20 tokens: two chunks of the test config's 16
        for (ulk::Token t = 0; t < 50; ++t) m.decode(t);
        const long after = g_allocations.load();
        INFO("threads " << threads);
        CHECK(after - before == 0);
        CHECK(m.position() == 71);
    }
}
