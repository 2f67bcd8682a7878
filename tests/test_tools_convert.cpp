// ulk-convert's library half: a tiny random Hugging Face checkpoint becomes a GGUF file with
// llama.cpp's names, shapes, metadata and tokenizer; broken checkpoints give clear errors.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "common/hf_to_gguf.hpp"
#include "hf_checkpoint.hpp"
#include "test_util.hpp"
#include "ulk/gguf/file.hpp"

namespace fs = std::filesystem;
using ulk::gguf::GgufFile;

namespace {
using ulk::test::error_of;
struct Scratch {
    fs::path dir = fs::temp_directory_path() / ("ulk_convert_test_" + std::to_string(::getpid()));
    Scratch() { fs::create_directories(dir); }
    ~Scratch() { fs::remove_all(dir); }
};
float f32_at(const ulk::gguf::TensorInfo& t, std::size_t i) {
    float v;
    std::memcpy(&v, t.data.data() + 4 * i, 4);
    return v;
}
}  // namespace

TEST_CASE("a Hugging Face Llama checkpoint converts to llama.cpp's layout") {
    Scratch s;
    ulk::test::TinyLlama c;
    c.bf16 = true;
    ulk::test::write_tiny_llama_checkpoint(s.dir / "ck", c);
    const auto out = (s.dir / "m.gguf").string();
    const auto summary = ulk::tools::convert_hf_llama({(s.dir / "ck").string(), out, "F32", "tiny"});
    CHECK(summary.tensors == 3 + 9 * c.layers);
    const auto f = GgufFile::open(out);
    CHECK(f.get_string("general.architecture") == "llama");
    CHECK(f.get_string("general.name") == "tiny");
    CHECK(f.get_as<std::uint32_t>("llama.embedding_length") == c.dim);
    CHECK(f.get_as<std::uint32_t>("llama.block_count") == c.layers);
    CHECK(f.get_as<std::uint32_t>("llama.attention.head_count_kv") == c.kv_heads);
    CHECK(f.get_as<std::uint32_t>("llama.rope.dimension_count") == c.dim / c.heads);
    CHECK(f.get_as<float>("llama.attention.layer_norm_rms_epsilon") == doctest::Approx(1e-5));
    const auto& tokens = f.get("tokenizer.ggml.tokens").as_strings("");
    REQUIRE(tokens.size() == c.vocab);
    CHECK(tokens[0] == "<unk>");
    CHECK(tokens[3] == "<0x00>");
    CHECK(tokens[260] == "▁안녕");
    CHECK(f.get("tokenizer.ggml.token_type").as_vector<int>("")[3] == 6);
    CHECK(f.get_as<std::uint32_t>("tokenizer.ggml.bos_token_id") == 1);
    CHECK(f.get_as<std::uint32_t>("tokenizer.ggml.unknown_token_id") == 0);
    // The SentencePiece model travels byte for byte.
    const std::string spm = ulk::test::tiny_sentencepiece_model(c.vocab);
    CHECK(f.get("ulk.tokenizer.sentencepiece_model").raw_bytes() == spm);

    const auto& emb = f.tensor("token_embd.weight");
    CHECK(emb.dims == std::vector<std::uint64_t>{c.dim, c.vocab});
    CHECK(f.tensor("blk.1.attn_k.weight").dims == std::vector<std::uint64_t>{c.dim, c.dim / c.heads * c.kv_heads});
    CHECK(f.tensor("blk.0.ffn_down.weight").dims == std::vector<std::uint64_t>{c.ffn, c.dim});
    CHECK(f.tensor("output_norm.weight").type.id == 0);
    CHECK(f.find_tensor("output.weight") != nullptr);

    // Values: BF16 widened exactly; q and k rows permuted to ggml's RoPE pair order, v not.
    const ulk::tools::SafetensorsFile st((s.dir / "ck" / "model.safetensors").string());
    const auto src_emb = st.tensors().at("model.embed_tokens.weight").to_float();
    for (std::size_t i : {0u, 1u, 777u, 256u * 319u + 255u}) CHECK(f32_at(emb, i) == src_emb[i]);
    const auto src_q = st.tensors().at("model.layers.0.self_attn.q_proj.weight").to_float();
    const auto& q = f.tensor("blk.0.attn_q.weight");
    const std::size_t d = c.dim / c.heads, cols = c.dim;
    for (std::size_t h = 0; h < c.heads; ++h)
        for (std::size_t j = 0; j < d / 2; ++j) {
            CHECK(f32_at(q, (h * d + 2 * j) * cols + 3) == src_q[(h * d + j) * cols + 3]);
            CHECK(f32_at(q, (h * d + 2 * j + 1) * cols + 3) == src_q[(h * d + d / 2 + j) * cols + 3]);
        }
    const auto src_v = st.tensors().at("model.layers.1.self_attn.v_proj.weight").to_float();
    CHECK(f32_at(f.tensor("blk.1.attn_v.weight"), 5 * cols + 7) == src_v[5 * cols + 7]);
}

TEST_CASE("F16 and BF16 outputs, and tied embeddings") {
    Scratch s;
    ulk::test::TinyLlama c;
    c.tied = true;
    c.bf16 = false;
    ulk::test::write_tiny_llama_checkpoint(s.dir / "ck", c);
    for (const char* type : {"F16", "BF16"}) {
        const auto out = (s.dir / (std::string(type) + ".gguf")).string();
        ulk::tools::convert_hf_llama({(s.dir / "ck").string(), out, type, ""});
        const auto f = GgufFile::open(out);
        CHECK(f.tensor("blk.0.ffn_up.weight").type.name == type);
        CHECK(f.tensor("blk.0.ffn_norm.weight").type.name == "F32");
        CHECK(f.find_tensor("output.weight") == nullptr);
        CHECK(f.get_as<std::uint32_t>("general.file_type") == (std::string(type) == "F16" ? 1u : 32u));
    }
}

TEST_CASE("broken checkpoints are rejected with what, where and what to do") {
    Scratch s;
    const fs::path ck = s.dir / "ck";
    auto convert = [&] { return error_of([&] { ulk::tools::convert_hf_llama({ck.string(), (s.dir / "o.gguf").string(), "F16", ""}); }); };
    auto fresh = [&](ulk::test::TinyLlama c = {}) {
        fs::remove_all(ck);
        ulk::test::write_tiny_llama_checkpoint(ck, c);
    };
    fresh();
    CHECK(error_of([&] { ulk::tools::convert_hf_llama({ck.string(), "o.gguf", "Q4_0", ""}); }).find("F32, F16 or BF16") != std::string::npos);

    fs::remove(ck / "tokenizer.model");
    CHECK(convert().find("tokenizer.model is missing") != std::string::npos);
    fresh();
    fs::remove(ck / "config.json");
    CHECK(convert().find("cannot open config.json") != std::string::npos);
    fresh();
    std::ofstream(ck / "config.json") << "{\"model_type\": \"gpt2\", \"vocab_size\": 10}";
    CHECK(convert().find("not a Llama model") != std::string::npos);
    std::ofstream(ck / "config.json") << "{\"model_type\": \"llama\", \"hidden_size\": 256";
    CHECK(convert().find("not valid JSON") != std::string::npos);
    std::ofstream(ck / "config.json") << "{\"model_type\": \"llama\", \"hidden_size\": 256}";
    CHECK(convert().find("'vocab_size'") != std::string::npos);

    ulk::test::TinyLlama big;
    big.vocab = 300;
    fresh(big);  // tokenizer with 300 pieces; config then claims fewer
    {
        std::ifstream in(ck / "config.json");
        auto j = nlohmann::json::parse(in);
        j["vocab_size"] = 290;
        std::ofstream(ck / "config.json") << j.dump();
    }
    CHECK(convert().find("more pieces than the model's vocabulary") != std::string::npos);

    fresh();
    {  // config disagrees with the weights
        std::ifstream in(ck / "config.json");
        auto j = nlohmann::json::parse(in);
        j["intermediate_size"] = 1024;
        std::ofstream(ck / "config.json") << j.dump();
    }
    const std::string shape = convert();
    CHECK(shape.find("tensor shape does not match config.json") != std::string::npos);
    CHECK(shape.find("mlp.gate_proj.weight") != std::string::npos);
    CHECK(shape.find("expected [1024, 256], found [512, 256]") != std::string::npos);

    fresh();
    {  // a safetensors file cut short
        const auto p = ck / "model.safetensors";
        fs::resize_file(p, fs::file_size(p) - 100);
    }
    CHECK(convert().find("outside the file") != std::string::npos);
    {
        std::ofstream out(ck / "model.safetensors", std::ios::binary);
        const std::uint64_t huge = 1ull << 60;
        out.write(reinterpret_cast<const char*>(&huge), 8);
        out << "{}";
    }
    CHECK(convert().find("header length is impossible") != std::string::npos);
    {
        std::ofstream out(ck / "model.safetensors", std::ios::binary);
        const std::string h = "{\"a\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}";
        const std::uint64_t n = h.size();
        out.write(reinterpret_cast<const char*>(&n), 8);
        out << h << "12345678";
    }
    CHECK(convert().find("unsupported tensor dtype") != std::string::npos);
    fs::remove(ck / "model.safetensors");
    CHECK(convert().find("no .safetensors files") != std::string::npos);
    CHECK(error_of([&] { ulk::tools::convert_hf_llama({(s.dir / "none").string(), "o.gguf", "F16", ""}); })
              .find("checkpoint directory not found") != std::string::npos);
}

TEST_CASE("a missing or extra tensor is named") {
    Scratch s;
    const fs::path ck = s.dir / "ck";
    ulk::test::write_tiny_llama_checkpoint(ck, {});
    const ulk::tools::SafetensorsFile st((ck / "model.safetensors").string());
    std::map<std::string, std::pair<std::vector<std::uint64_t>, std::vector<float>>> t;
    for (const auto& [name, x] : st.tensors())
        if (name != "model.layers.1.mlp.up_proj.weight") t[name] = {x.shape, x.to_float()};
    t["model.layers.0.mlp.extra.weight"] = {{4}, {1, 2, 3, 4}};
    fs::remove(ck / "model.safetensors");
    ulk::test::write_safetensors(ck / "model-00001-of-00001.safetensors", t, true);
    const std::string e = error_of([&] { ulk::tools::convert_hf_llama({ck.string(), (s.dir / "o.gguf").string(), "F16", ""}); });
    CHECK(e.find("checkpoint lacks a tensor") != std::string::npos);
    CHECK(e.find("model.layers.1.mlp.up_proj.weight") != std::string::npos);
}

TEST_CASE("a vocabulary-only file holds the metadata and tokenizer, and no tensors") {
    Scratch s;
    ulk::test::write_tiny_llama_checkpoint(s.dir / "ck", {});
    fs::remove(s.dir / "ck" / "model.safetensors");  // not needed
    const auto out = (s.dir / "vocab.gguf").string();
    ulk::tools::ConvertOptions o{(s.dir / "ck").string(), out, "F16", "vocab"};
    o.vocab_only = true;
    ulk::tools::convert_hf_llama(o);
    const auto f = GgufFile::open(out);
    CHECK(f.tensors().empty());
    CHECK(f.get("tokenizer.ggml.tokens").size() == 320);
    CHECK(f.get("tokenizer.ggml.scores").as_vector<float>("")[270] == -11.f);
}
