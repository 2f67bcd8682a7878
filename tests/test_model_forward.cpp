// The forward pass of ulk::Llama<Config> on random models: prefill equals decode step by step,
// quantized weights and KV caches stay close to F32, and every bad input is a clear error.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "model_fixtures.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/model/llama.hpp"
#include "ulk/quant/all_formats.hpp"

using namespace ulk;
using test::TestLlama;

namespace {

gguf::GgufFile random_file(const test::RandomLlama& m = {}) { return gguf::GgufFile::from_bytes(test::random_llama_gguf(m), "random.gguf"); }

std::vector<Token> some_tokens(std::size_t n, std::uint64_t seed) {
    test::Rng r(seed);
    std::vector<Token> t(n);
    for (auto& x : t) x = Token(r.next() % 320);
    return t;
}

// Logits at every position, by prefill (in chunks) or by decoding one token at a time.
template <class M>
std::vector<std::vector<float>> all_logits(M& model, const std::vector<Token>& tokens, bool by_decode) {
    std::vector<std::vector<float>> out;
    if (by_decode) {
        for (Token t : tokens) {
            auto l = model.decode(t);
            out.emplace_back(l.begin(), l.end());
        }
    } else {
        model.prefill_all(tokens, [&](std::size_t, std::span<const float> l) { out.emplace_back(l.begin(), l.end()); });
    }
    return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, double(std::fabs(a[i] - b[i])));
    return m;
}

}  // namespace

TEST_CASE("F32 model: prefill in chunks equals token-by-token decode") {
    using M = Llama<TestLlama<presets::AllOf<quant::F32>>>;
    const auto tokens = some_tokens(40, 1);  // 40 tokens: chunks of 16, 16 and 8
    for (unsigned threads : {1u, 2u}) {
        auto a = M::from_file(random_file(), {.threads = threads});
        auto b = M::from_file(random_file(), {.threads = threads});
        const auto pre = all_logits(a, tokens, false), dec = all_logits(b, tokens, true);
        double worst = 0;
        for (std::size_t i = 0; i < tokens.size(); ++i) worst = std::max(worst, max_abs_diff(pre[i], dec[i]));
        INFO("threads " << threads << ", max |prefill - decode| = " << worst);
        CHECK(worst < 1e-4);
        CHECK(a.position() == 40);
        // prefill() returns the last token's logits, the same as prefill_all's last row
        a.reset();
        const auto last = a.prefill(tokens);
        CHECK(max_abs_diff(std::vector<float>(last.begin(), last.end()), pre.back()) == 0.0);
    }
}

TEST_CASE_TEMPLATE("gemv_fused over several matrices equals one GEMV per matrix, bit for bit", F, quant::Q4_0, quant::Q8_0, quant::Q4_K, quant::F32) {
    constexpr std::size_t kCols = 512;
    const std::size_t rows[3] = {96, 32, 200};
    std::vector<std::vector<typename F::Block>> q(3);
    std::array<quant::MatrixView<F>, 3> w;
    for (int i = 0; i < 3; ++i) {
        const auto d = test::normal_vector(rows[i] * kCols, 10 + i);
        q[i].resize(rows[i] * kCols / F::kBlockWeights);
        F::quantize_ref(d.data(), q[i].data(), d.size());
        w[i] = {q[i].data(), rows[i], kCols};
    }
    const auto x = test::normal_vector(kCols, 5);
    std::vector<float> fused_out(96 + 32 + 200), separate(96 + 32 + 200);
    ThreadPool pool(2);
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        ops::gemv_fused<F, 3>(w, x.data(), {fused_out.data(), fused_out.data() + 96, fused_out.data() + 128},
                              [] { static AlignedBuffer<ops::ActivationBlock<F>> s(64); return s.span(); }(), p);
        for (int i = 0; i < 3; ++i) ops::gemv<F>(w[i], x.data(), separate.data() + (i == 0 ? 0 : i == 1 ? 96 : 128), p);
        CHECK(fused_out == separate);
    }
}
