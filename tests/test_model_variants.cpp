// Quantized variants of one random model against its F32 original: files written by ulk-quantize's
// logic, loaded with the matching configuration; top-1 agreement and KL(F32 || variant) over 48
// positions. Random weights have no learned structure, so these bound the kernels and formats,
// not the quality of a trained model (docs/benchmarks.md has both).
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <vector>

#include "common/quantize_model.hpp"
#include "model_fixtures.hpp"
#include "ulk/model/llama.hpp"

using namespace ulk;
using test::TestLlama;
namespace fs = std::filesystem;

namespace {

struct Files {
    fs::path dir = fs::temp_directory_path() / ("ulk_model_variants_" + std::to_string(::getpid()));
    fs::path f32 = dir / "f32.gguf";
    Files() {
        fs::create_directories(dir);
        test::write_bytes(f32, test::random_llama_gguf({}));
    }
    ~Files() { fs::remove_all(dir); }
    fs::path quantize(const std::string& name, const std::string& preset, std::vector<std::pair<std::string, std::string>> types,
                      tools::SparseOptions sparse = {}) {
        const fs::path out = dir / (name + ".gguf");
        tools::QuantizeOptions o{f32.string(), out.string(), preset, std::move(types), 2};
        o.sparse = sparse;
        tools::quantize_model(o);
        return out;
    }
};
Files& files() {
    static Files f;
    return f;
}

std::vector<Token> tokens() {
    test::Rng r(11);
    std::vector<Token> t(48);
    for (auto& x : t) x = Token(r.next() % 320);
    return t;
}

template <class C>
std::vector<std::vector<float>> logits_of(const fs::path& file) {
    auto m = Llama<C>::load(file.string(), {.threads = 2});
    std::vector<std::vector<float>> out;
    m.prefill_all(tokens(), [&](std::size_t, std::span<const float> l) { out.emplace_back(l.begin(), l.end()); });
    return out;
}

struct Agreement {
    double top1 = 0, kl = 0;
};
Agreement compare(const std::vector<std::vector<float>>& ref, const std::vector<std::vector<float>>& q) {
    Agreement a;
    for (std::size_t i = 0; i < ref.size(); ++i) {
        const auto& p = ref[i];
        const auto& r = q[i];
        a.top1 += std::max_element(p.begin(), p.end()) - p.begin() == std::max_element(r.begin(), r.end()) - r.begin();
        auto log_softmax = [](const std::vector<float>& l) {
            const double m = *std::max_element(l.begin(), l.end());
            double s = 0;
            for (float v : l) s += std::exp(v - m);
            std::vector<double> o(l.size());
            for (std::size_t k = 0; k < l.size(); ++k) o[k] = l[k] - m - std::log(s);
            return o;
        };
        const auto lp = log_softmax(p), lq = log_softmax(r);
        for (std::size_t k = 0; k < lp.size(); ++k) a.kl += std::exp(lp[k]) * (lp[k] - lq[k]);
    }
    a.top1 /= double(ref.size());
    a.kl /= double(ref.size());
    return a;
}

const std::vector<std::vector<float>>& reference() {
    static const auto r = logits_of<TestLlama<presets::AllOf<quant::F32>>>(files().f32);
    return r;
}

template <class C>
Agreement variant(const std::string& name, const std::string& preset, std::vector<std::pair<std::string, std::string>> types,
                  tools::SparseOptions sparse = {}) {
    const auto a = compare(reference(), logits_of<C>(files().quantize(name, preset, std::move(types), sparse)));
    MESSAGE(name << ": top-1 agreement with F32 " << a.top1 * 100 << "%, mean KL(F32 || " << name << ") " << a.kl << " nats");
    return a;
}

}  // namespace

TEST_CASE("quantized variants stay close to F32: top-1 agreement and KL") {
    using namespace presets;
    const auto q8 = variant<TestLlama<AllOf<quant::Q8_0>>>("Q8_0", "Q8_0", {});
    CHECK(q8.top1 >= 0.95);
    CHECK(q8.kl < 0.002);
    const auto f16kv = compare(reference(), logits_of<TestLlama<AllOf<quant::F32>, quant::F16>>(files().f32));
    MESSAGE("F32 weights, F16 KV cache: top-1 " << f16kv.top1 * 100 << "%, KL " << f16kv.kl);
    CHECK(f16kv.kl < 1e-4);
    const auto q4 = variant<TestLlama<Q4_0Mix>>("Q4_0", "Q4_0", {});
    CHECK(q4.top1 >= 0.6);  // random logits have near-ties: top-1 flips more than KL moves
    CHECK(q4.kl < 0.05);
    const auto q4k = variant<TestLlama<AllOf<quant::Q4_K>>>("Q4_K", "Q4_K_M", {{"*", "Q4_K"}});
    CHECK(q4k.top1 >= 0.6);
    CHECK(q4k.kl < 0.05);
    const auto q2k = variant<TestLlama<AllOf<quant::Q2_K>>>("Q2_K", "Q2_K", {{"*", "Q2_K"}});
    CHECK(q2k.kl < 1.0);
    const auto q2p = variant<TestLlama<Q2PMix>>("Q2P", "Q2P", {});
    CHECK(q2p.kl < 1.0);
    CHECK(q2p.kl < q2k.kl * 1.5);  // the fast 2-bit format is no worse than llama.cpp's Q2_K
}

TEST_CASE("a 50% block-sparse Q4_0 model loads, runs, and its decode equals its prefill") {
    using C = TestLlama<presets::AllOf<quant::Q4_0>, quant::F32, model::Sparsity{16, 64, 0.5}>;
    tools::SparseOptions sp;
    sp.density = 0.5;
    sp.block_rows = 16;
    sp.block_cols = 64;
    sp.tensors = "blk.*";
    const auto file = files().quantize("sparse", "Q4_0", {{"*", "Q4_0"}}, sp);
    const auto a = variant<C>("Q4_0 50% block-sparse", "Q4_0", {{"*", "Q4_0"}}, sp);
    CHECK(a.kl > 0.01);  // pruning half the blocks of a random model changes it: the blocks really are gone
    auto m = Llama<C>::load(file.string(), {.threads = 2});
    CHECK(m.loaded_bytes_per_token() < Llama<TestLlama<presets::AllOf<quant::Q4_0>>>::weight_bytes_per_token * 0.6);
    const auto t = tokens();
    std::vector<std::vector<float>> pre;
    m.prefill_all(t, [&](std::size_t, std::span<const float> l) { pre.emplace_back(l.begin(), l.end()); });
    m.reset();
    double worst = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const auto l = m.decode(t[i]);
        for (std::size_t k = 0; k < l.size(); ++k) worst = std::max(worst, double(std::fabs(l[k] - pre[i][k])));
    }
    MESSAGE("sparse Q4_0: max |decode - prefill| " << worst);
    CHECK(worst < 1e-3);
    // the same file does not load as a dense model, and says why
    CHECK_THROWS_WITH_AS(Llama<TestLlama<presets::AllOf<quant::Q4_0>>>::load(file.string()),
                         doctest::Contains("blk.0.attn_q.weight: expected Q4_0 [256, 256], found block-sparse"), Error);
}
