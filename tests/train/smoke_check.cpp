// The C++ end of the training smoke test (smoke_test.sh): loads what tools/train/ exported and
// ulk-convert / ulk-quantize wrote, and checks it against the PyTorch model.
//   ulk-train-smoke-check F32.gguf Q8_0.gguf GOLDEN.bin
// 1. The F32 file's logits for the golden token sequence equal PyTorch's (golden.py) within
//    kF32Bound: same weights, same float32 arithmetic up to summation order.
// 2. The Q8_0 file loads, its logits stay within kQ8Bound of them, and it generates 8 tokens
//    (greedy) that its embedded tokenizer decodes.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "smoke_preset.hpp"
#include "ulk/model/llama.hpp"
#include "ulk/text/gguf_tokenizer.hpp"

namespace {

// Float32 on both sides; differences come from summation order and from exp/rsqrt
// implementations. Measured: 3.3e-5 on the smoke model; 1e-3 leaves room for other CPUs.
constexpr double kF32Bound = 1e-3;
// Q8_0 weights and activations: measured 0.0095 on the smoke model after its 40 + 10 steps.
constexpr double kQ8Bound = 0.1;

struct Golden {
    std::vector<std::int32_t> ids;
    std::size_t vocab = 0;
    std::vector<float> logits;  // (ids, vocab)
};

Golden read_golden(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    ulk::require(bool(f), {"cannot open golden logits", path, "golden.py output", "", ""});
    std::int32_t n = 0, vocab = 0;
    f.read(reinterpret_cast<char*>(&n), 4);
    f.read(reinterpret_cast<char*>(&vocab), 4);
    Golden g;
    g.ids.resize(std::size_t(n));
    g.vocab = std::size_t(vocab);
    g.logits.resize(std::size_t(n) * g.vocab);
    f.read(reinterpret_cast<char*>(g.ids.data()), std::streamsize(4 * g.ids.size()));
    f.read(reinterpret_cast<char*>(g.logits.data()), std::streamsize(4 * g.logits.size()));
    ulk::require(bool(f), {"golden logits file is short", path, "4 + 4 + 4n + 4n*vocab bytes", "", ""});
    return g;
}

template <class Model>
double max_abs_diff(Model& model, const Golden& g) {
    double worst = 0;
    model.reset();
    model.prefill_all(g.ids, [&](std::size_t i, std::span<const float> logits) {
        for (std::size_t v = 0; v < g.vocab; ++v)
            worst = std::max(worst, std::abs(double(logits[v]) - double(g.logits[i * g.vocab + v])));
    });
    return worst;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: ulk-train-smoke-check F32.gguf Q8_0.gguf GOLDEN.bin\n");
        return 2;
    }
    try {
        const Golden g = read_golden(argv[3]);
        using F32 = ulk::Llama<ulk::presets::TrainSmokeF32>;
        using Q8 = ulk::Llama<ulk::presets::TrainSmokeQ8>;
        ulk::require(g.vocab == F32::kVocab, {"golden vocabulary differs from the preset", argv[3],
                                              std::to_string(F32::kVocab), std::to_string(g.vocab), ""});
        auto f32 = F32::load(argv[1], {.threads = 2});
        const double d32 = max_abs_diff(f32, g);
        std::printf("F32 logits vs PyTorch: max abs diff %.3g over %zu tokens x %zu (bound %.0e)\n", d32, g.ids.size(), g.vocab,
                    kF32Bound);
        auto q8 = Q8::load(argv[2], {.threads = 2});
        const double d8 = max_abs_diff(q8, g);
        std::printf("Q8_0 logits vs PyTorch: max abs diff %.3g (bound %.2f)\n", d8, kQ8Bound);

        const auto file = ulk::gguf::GgufFile::open(argv[2]);
        const auto tok = ulk::text::tokenizer_from_gguf(file);
        std::vector<std::int32_t> prompt(g.ids.begin(), g.ids.begin() + std::min<std::size_t>(8, g.ids.size()));
        q8.reset();
        auto logits = q8.prefill(prompt);
        std::vector<std::int32_t> out;
        for (int i = 0; i < 8; ++i) {
            const auto next = std::int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
            out.push_back(next);
            logits = q8.decode(next);
        }
        std::printf("prompt: %s\ngenerated (greedy, Q8_0): %s\n", tok.decode(prompt).c_str(), tok.decode(out).c_str());
        const bool ok = d32 <= kF32Bound && d8 <= kQ8Bound;
        std::printf("%s\n", ok ? "smoke check passed" : "smoke check FAILED");
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ulk-train-smoke-check: %s\n", e.what());
        return 1;
    }
}
