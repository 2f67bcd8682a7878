// The forward pass's small kernels against their scalar references: RMSNorm, SwiGLU, softmax,
// RoPE, and attention over F32, F16 and Q8_0 KV caches.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "test_util.hpp"
#include "ulk/attention/attention.hpp"
#include "ulk/attention/kv_cache.hpp"
#include "ulk/attention/rope.hpp"
#include "ulk/ops/activation.hpp"
#include "ulk/ops/norm.hpp"
#include "ulk/quant/f16.hpp"
#include "ulk/quant/q8_0.hpp"

using namespace ulk;

namespace {
double max_rel(const std::vector<float>& a, const std::vector<float>& b) {
    double m = 0;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])) / (1e-6 + std::fabs(double(b[i]))));
    return m;
}
}  // namespace

TEST_CASE("rms_norm, swiglu and softmax match their float64 references") {
    for (std::size_t n : {1, 7, 64, 1000, 2816}) {
        auto x = test::normal_vector(n, n, 3.f), w = test::normal_vector(n, n + 1);
        std::vector<float> y(n), r(n);
        ops::rms_norm(x.data(), w.data(), y.data(), n, 1e-5f);
        ops::rms_norm_ref(x.data(), w.data(), r.data(), n, 1e-5f);
        CHECK(max_rel(y, r) < 1e-5);
        auto g = test::normal_vector(n, n + 2, 4.f), g2 = g, up = test::normal_vector(n, n + 3);
        ops::swiglu(g.data(), up.data(), n);
        ops::swiglu_ref(g2.data(), up.data(), n);
        CHECK(max_rel(g, g2) < 1e-5);
        auto s = test::normal_vector(n, n + 4, 10.f), s2 = s;
        ops::softmax(s.data(), n);
        ops::softmax_ref(s2.data(), n);
        CHECK(max_rel(s, s2) < 1e-5);
    }
}

TEST_CASE("RoPE table equals the direct computation, and position 0 is the identity") {
    constexpr std::size_t D = 64, Ctx = 4096;
    attention::RopeTable<D, Ctx> rope(500000.0);
    for (std::size_t pos : {0, 1, 17, 4095}) {
        auto x = test::normal_vector(3 * D, pos + 1), r = x, orig = x;
        rope.apply(x.data(), 3, pos);
        attention::rope_ref(r.data(), 3, D, pos, 500000.0);
        double worst = 0;
        for (std::size_t i = 0; i < x.size(); ++i) worst = std::max(worst, double(std::fabs(x[i] - r[i])));
        CHECK(worst < 1e-5);
        if (pos == 0) CHECK(x == orig);
    }
}

TEST_CASE_TEMPLATE("attention over the KV cache matches the float64 reference", Elem, quant::F32, quant::F16, quant::Q8_0) {
    constexpr std::size_t Layers = 2, KvHeads = 2, Heads = 6, D = 64, Ctx = 40;
    using Cache = attention::KVCache<attention::KVDims<Layers, KvHeads, D, Ctx>, Elem>;
    Cache cache;
    const auto k = test::normal_vector(Ctx * KvHeads * D, 1), v = test::normal_vector(Ctx * KvHeads * D, 2);
    for (std::size_t p = 0; p < Ctx; ++p) cache.store(1, p, k.data() + p * KvHeads * D, v.data() + p * KvHeads * D);
    // the reference sees what the cache holds: the rows after rounding to Elem
    std::vector<float> kr(k.size()), vr(v.size());
    for (std::size_t i = 0; i < k.size(); i += D) {
        std::vector<typename Elem::Block> b(D / Elem::kBlockWeights);
        Elem::quantize_ref(k.data() + i, b.data(), D);
        Elem::dequantize_ref(b.data(), kr.data() + i, D);
        Elem::quantize_ref(v.data() + i, b.data(), D);
        Elem::dequantize_ref(b.data(), vr.data() + i, D);
    }
    constexpr std::size_t Tokens = 5, Pos0 = Ctx - Tokens;  // a prefill batch ending at the last position
    const auto q = test::normal_vector(Tokens * Heads * D, 3, 0.5f);
    std::vector<float> out(Tokens * Heads * D), scores(Heads * Ctx);
    ThreadPool pool(2);
    attention::attention<Heads>(cache, 1, q.data(), Tokens, Pos0, out.data(), scores.data(), &pool);
    double worst = 0;
    for (std::size_t t = 0; t < Tokens; ++t)
        for (std::size_t h = 0; h < Heads; ++h) {
            const std::size_t kvh = h / (Heads / KvHeads), n = Pos0 + t + 1;
            std::vector<float> kh(n * D), vh(n * D), ref(D);
            for (std::size_t p = 0; p < n; ++p)
                for (std::size_t d = 0; d < D; ++d) {
                    kh[p * D + d] = kr[(p * KvHeads + kvh) * D + d];
                    vh[p * D + d] = vr[(p * KvHeads + kvh) * D + d];
                }
            attention::attend_head_ref(q.data() + (t * Heads + h) * D, kh.data(), vh.data(), n, D, ref.data());
            for (std::size_t d = 0; d < D; ++d) worst = std::max(worst, double(std::fabs(out[(t * Heads + h) * D + d] - ref[d])));
        }
    INFO(Elem::kName << ": max |attention - reference| " << worst);
    CHECK(worst < 1e-5);
    CHECK_THROWS_WITH_AS(cache.store(0, Ctx, k.data(), v.data()), doctest::Contains("position past the context length"), Error);
}
