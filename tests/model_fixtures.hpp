#pragma once
// Random Llama models for the model tests: an F32 GGUF written in memory with llama.cpp's names,
// and test configurations over a few shapes and format recipes.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "ulk/gguf/llama_names.hpp"
#include "ulk/gguf/writer.hpp"
#include "ulk/model/config.hpp"
#include "ulk/presets/recipes.hpp"

namespace ulk::test {

struct RandomLlama {
    std::uint32_t vocab = 320, dim = 256, layers = 2, heads = 4, kv_heads = 2, ffn = 512, context = 128;
    double rope_base = 10000;
    float eps = 1e-5f;
    bool tied = false;
    std::uint64_t seed = 7;
    float embedding_scale = 1;  // standard deviation of the token embedding
    std::string sentencepiece_model;  // embedded as ulk.tokenizer.sentencepiece_model when not empty
};

// GGUF bytes of a random F32 Llama: matrices ~ N(0, 1/cols) so that activations stay near unit
// scale through the layers, norms near 1, embeddings ~ N(0, 1).
inline std::vector<std::byte> random_llama_gguf(const RandomLlama& m) {
    namespace key = gguf::llama::key;
    gguf::GgufWriter w;
    w.set(std::string(key::architecture), "llama");
    w.set(std::string(key::name), "random test llama");
    w.set(std::string(key::context_length), m.context);
    w.set(std::string(key::embedding_length), m.dim);
    w.set(std::string(key::block_count), m.layers);
    w.set(std::string(key::feed_forward_length), m.ffn);
    w.set(std::string(key::head_count), m.heads);
    w.set(std::string(key::head_count_kv), m.kv_heads);
    w.set(std::string(key::rope_dimension_count), m.dim / m.heads);
    w.set(std::string(key::rope_freq_base), float(m.rope_base));
    w.set(std::string(key::rms_epsilon), m.eps);
    w.set(std::string(key::file_type), std::uint32_t(0));
    if (!m.sentencepiece_model.empty())
        w.set(std::string(key::sentencepiece_model), gguf::Value::scalar_array(gguf::ValueType::U8, m.sentencepiece_model));
    std::uint64_t seed = m.seed;
    std::vector<std::vector<std::byte>> keep;  // the writer holds spans until to_bytes()
    auto add = [&](const std::string& name, std::uint64_t cols, std::uint64_t rows, float scale, float offset) {
        auto v = normal_vector(cols * (rows ? rows : 1), ++seed, scale);
        for (auto& x : v) x += offset;
        std::vector<std::uint64_t> dims = rows ? std::vector<std::uint64_t>{cols, rows} : std::vector<std::uint64_t>{cols};
        auto& bytes = keep.emplace_back(v.size() * 4);
        std::memcpy(bytes.data(), v.data(), bytes.size());
        w.add_tensor(name, 0, dims, std::span<const std::byte>(bytes));
    };
    const std::uint32_t hd = m.dim / m.heads;
    auto mat = [&](const std::string& name, std::uint64_t cols, std::uint64_t rows) {
        add(name, cols, rows, float(1.0 / std::sqrt(double(cols))), 0.f);
    };
    add(std::string(gguf::llama::kTokenEmbedding), m.dim, m.vocab, m.embedding_scale, 0.f);
    add(std::string(gguf::llama::kOutputNorm), m.dim, 0, 0.1f, 1.f);
    if (!m.tied) mat(std::string(gguf::llama::kOutput), m.dim, m.vocab);
    for (std::uint32_t l = 0; l < m.layers; ++l) {
        auto n = [l](const char* what) { return gguf::llama::block_tensor(int(l), what); };
        add(n("attn_norm"), m.dim, 0, 0.1f, 1.f);
        mat(n("attn_q"), m.dim, m.heads * hd);
        mat(n("attn_k"), m.dim, m.kv_heads * hd);
        mat(n("attn_v"), m.dim, m.kv_heads * hd);
        mat(n("attn_output"), m.heads * hd, m.dim);
        add(n("ffn_norm"), m.dim, 0, 0.1f, 1.f);
        mat(n("ffn_gate"), m.dim, m.ffn);
        mat(n("ffn_up"), m.dim, m.ffn);
        mat(n("ffn_down"), m.ffn, m.dim);
    }
    return w.to_bytes();
}

inline void write_bytes(const std::filesystem::path& p, const std::vector<std::byte>& b) {
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

// The default RandomLlama's shape as a configuration, with a format recipe.
template <class Recipe, class Kv = quant::F32, model::Sparsity S = model::kDense>
struct TestLlama : Recipe {
    static constexpr std::string_view kName = "test-llama";
    static constexpr std::size_t kVocab = 320, kDim = 256, kLayers = 2, kHeads = 4, kKvHeads = 2, kFfn = 512, kContext = 128;
    static constexpr double kRopeBase = 10000;
    static constexpr float kNormEps = 1e-5f;
    static constexpr bool kTiedOutput = false;
    using KvCacheElement = Kv;
    static constexpr model::Sparsity kAttentionSparsity = S, kFfnSparsity = S;
    static constexpr std::size_t kMaxBatch = 16;  // small, so that prompts in tests span several chunks
};

// A chat model for the generation tests: the project's 16k vocabulary (with the chat tokens) over
// a small random F32 Llama, so that a test runs hundreds of tokens in milliseconds.
struct ChatTestLlama : presets::AllOf<quant::F32> {
    static constexpr std::string_view kName = "chat-test-llama";
    static constexpr std::size_t kVocab = 16000, kDim = 64, kLayers = 2, kHeads = 2, kKvHeads = 1, kFfn = 128, kContext = 256;
    static constexpr double kRopeBase = 10000;
    static constexpr float kNormEps = 1e-5f;
    static constexpr bool kTiedOutput = true;
    using KvCacheElement = quant::F32;
};

inline RandomLlama chat_test_llama_shape(std::string sentencepiece_model) {
    RandomLlama m{.vocab = 16000, .dim = 64, .layers = 2, .heads = 2, .kv_heads = 1, .ffn = 128, .context = 256};
    m.tied = true;
    m.sentencepiece_model = std::move(sentencepiece_model);
    return m;
}

}  // namespace ulk::test
