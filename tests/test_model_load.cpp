// Loading checks the file against the compile-time configuration and lists every difference;
// bad input at run time (token ids, a full context) is a clear error that leaves the model usable.
#include <doctest/doctest.h>

#include <string>

#include "model_fixtures.hpp"
#include "ulk/model/llama.hpp"
#include "ulk/model/preset_select.hpp"

using namespace ulk;
using test::TestLlama;
using F32Model = Llama<TestLlama<presets::AllOf<quant::F32>>>;

namespace {
gguf::GgufFile file_of(const test::RandomLlama& m) { return gguf::GgufFile::from_bytes(test::random_llama_gguf(m), "model.gguf"); }

std::string load_error(const test::RandomLlama& m) {
    try {
        F32Model::from_file(file_of(m));
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
}  // namespace

TEST_CASE("a file of another shape: every differing field is listed, expected vs found") {
    test::RandomLlama m;
    m.layers = 3;
    m.ffn = 768;
    m.rope_base = 500000;
    const std::string e = load_error(m);
    INFO(e);
    CHECK(e.find("does not match the compiled configuration 'test-llama") != std::string::npos);
    CHECK(e.find("model.gguf") != std::string::npos);
    CHECK(e.find("llama.block_count: expected 2, found 3") != std::string::npos);
    CHECK(e.find("llama.feed_forward_length: expected 512, found 768") != std::string::npos);
    CHECK(e.find("llama.rope.freq_base: expected 10000, found 500000") != std::string::npos);
    CHECK(e.find("blk.0.ffn_gate.weight: expected F32 [256, 512], found F32 [256, 768]") != std::string::npos);
    CHECK(e.find("blk.1.ffn_down.weight: expected F32 [512, 256], found F32 [768, 256]") != std::string::npos);
    CHECK(e.find("ulk-inspect --preset") != std::string::npos);  // and what to do
}

TEST_CASE("a file of other heads, vocabulary, context, epsilon or tying is refused with the field named") {
    auto has = [](const test::RandomLlama& m, const char* text) {
        const std::string e = load_error(m);
        INFO(e);
        CHECK(e.find(text) != std::string::npos);
    };
    test::RandomLlama m;
    m.kv_heads = 4;
    has(m, "llama.attention.head_count_kv: expected 2, found 4");
    m = {};
    m.vocab = 400;
    has(m, "token_embd.weight: expected F32 [256, 320], found F32 [256, 400]");
    m = {};
    m.context = 64;
    has(m, "llama.context_length: expected at least 128, found 64");
    m = {};
    m.eps = 1e-6f;
    has(m, "llama.attention.layer_norm_rms_epsilon: expected 9.99999975e-06, found 9.99999997e-07");
    m = {};
    m.tied = true;
    has(m, "output.weight: expected F32 [256, 320], found missing");
}

TEST_CASE("a file in another weight format names each tensor's format") {
    const std::string e = [] {
        try {
            Llama<TestLlama<presets::AllOf<quant::Q8_0>>>::from_file(file_of({}));
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string();
    }();
    INFO(e);
    CHECK(e.find("blk.0.attn_q.weight: expected Q8_0 [256, 256], found F32 [256, 256]") != std::string::npos);
    CHECK(e.find("token_embd.weight: expected Q8_0 [256, 320], found F32 [256, 320]") != std::string::npos);
    CHECK(e.find("(16 differences)") != std::string::npos);  // 2 x 7 matrices, embedding, output; nothing else
}

TEST_CASE("token ids out of range are refused before any state changes") {
    auto m = F32Model::from_file(file_of({}), {.threads = 1});
    m.decode(5);
    const std::vector<Token> bad = {1, 2, 320};
    CHECK_THROWS_WITH_AS(m.prefill(bad), doctest::Contains("token id out of range"), Error);
    CHECK_THROWS_WITH_AS(m.decode(-1), doctest::Contains("expected 0 .. 319, found -1"), Error);
    CHECK(m.position() == 1);
    CHECK_THROWS_AS(m.prefill(std::vector<Token>{}), Error);
}

TEST_CASE("the context is a hard limit: a clear error, the position unchanged, rewind to go on") {
    auto m = F32Model::from_file(file_of({}), {.threads = 2});
    std::vector<Token> prompt(100, 7);
    m.prefill(prompt);
    const std::vector<Token> too_many(29, 8);
    CHECK_THROWS_WITH_AS(m.prefill(too_many), doctest::Contains("the context is full"), Error);
    CHECK(m.position() == 100);
    for (int i = 0; i < 28; ++i) m.decode(9);
    CHECK(m.position() == 128);
    try {
        m.decode(9);
        FAIL("decode past the context did not throw");
    } catch (const Error& e) {
        const std::string s = e.what();
        CHECK(s.find("at most 0 more tokens (context 128, at position 128)") != std::string::npos);
        CHECK(s.find("drop old turns") != std::string::npos);
    }
    // Rewinding and running the same tokens again gives the same logits.
    m.rewind(100);
    const auto first = m.decode(9);
    const std::vector<float> a(first.begin(), first.end());
    m.rewind(100);
    const auto l = m.decode(9);
    CHECK(std::equal(a.begin(), a.end(), l.begin()));
    CHECK_THROWS_AS(m.rewind(200), Error);
}

TEST_CASE("PresetList loads the first preset the file matches, or lists each preset's differences") {
    using Q8 = TestLlama<presets::AllOf<quant::Q8_0>>;
    using F32 = TestLlama<presets::AllOf<quant::F32>>;
    using List = model::PresetList<Q8, F32>;
    const auto path = std::filesystem::temp_directory_path() / "ulk_preset_select.gguf";
    test::write_bytes(path, test::random_llama_gguf({}));
    std::size_t picked_dim = 0;
    std::string picked;
    List::load(path.string(), {.threads = 1}, [&](auto& model) {
        picked = std::string(std::remove_cvref_t<decltype(model)>::Config::AttentionFormat::kName);
        picked_dim = model.kDim;
        model.decode(3);
    });
    CHECK(picked == "F32");
    CHECK(picked_dim == 256);
    test::RandomLlama other;
    other.layers = 3;
    test::write_bytes(path, test::random_llama_gguf(other));
    try {
        List::load(path.string(), {}, [](auto&) {});
        FAIL("no preset should match");
    } catch (const Error& e) {
        const std::string s = e.what();
        INFO(s);
        CHECK(s.find("matches none of the presets") != std::string::npos);
        CHECK(s.find("attention Q8_0") != std::string::npos);
        CHECK(s.find("attention F32") != std::string::npos);
        CHECK(s.find("llama.block_count: expected 2, found 3") != std::string::npos);
    }
    std::filesystem::remove(path);
}

TEST_CASE("compile-time sizes follow the configuration") {
    using M = F32Model;
    // 2 layers x (q 256x256 + k, v 128x256 + o 256x256 + 3 FFN 512x256) + norms, embedding, output, all F32
    constexpr std::size_t layer = (256 * 256 * 2 + 128 * 256 * 2 + 3 * 512 * 256 + 2 * 256) * 4;
    static_assert(M::weight_bytes == 2 * layer + 320 * 256 * 4 * 2 + 256 * 4);
    static_assert(M::weight_bytes_per_token == M::weight_bytes - 320 * 256 * 4);
    static_assert(M::kv_cache_bytes == 2 * 2 * 2 * 128 * 64 * 4);  // K and V, layers, KV heads, context, head_dim, f32
    using Q8 = Llama<TestLlama<presets::AllOf<quant::Q8_0>, quant::Q8_0>>;
    static_assert(Q8::kv_cache_bytes == 2 * 2 * 2 * 128 * 2 * 34);  // head_dim 64 = two Q8_0 blocks
    auto m = M::from_file(file_of({}), {.threads = 1});
    CHECK(m.loaded_bytes_per_token() == M::weight_bytes_per_token);
}
