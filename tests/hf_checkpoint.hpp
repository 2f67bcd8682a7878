#pragma once
// Writes a tiny random Hugging Face Llama checkpoint (config.json, model.safetensors,
// tokenizer.model) for the converter's tests and the interoperability check (docs/interop.md).
// The tokenizer is a SentencePiece ModelProto written from arrays (text/spm_model_proto.hpp):
// <unk>, <s>, </s>, the 256 byte pieces, then Korean and filler pieces.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "ulk/base/fp16.hpp"
#include "ulk/text/spm_model_proto.hpp"

namespace ulk::test {

struct TinyLlama {
    std::uint32_t dim = 256, layers = 2, heads = 4, kv_heads = 2, ffn = 512, vocab = 320, context = 256;
    bool tied = false;
    bool bf16 = true;  // safetensors dtype: BF16 (as most checkpoints ship) or F32
    double rope_theta = 10000.0, rms_eps = 1e-5;  // written to config.json (rope_theta, rms_norm_eps)
    float weight_scale = 0.05f;  // standard deviation of the matrices' entries
    float norm_scale = 0.1f;     // norm weights are 1 + N(0, norm_scale^2)
    std::string tokenizer_model;  // a SentencePiece .model to ship (its size must be vocab); empty: a made-up one
};

inline std::string tiny_sentencepiece_model(std::size_t n_pieces) {
    std::vector<std::string> pieces = {"<unk>", "<s>", "</s>"};
    std::vector<float> scores = {0, 0, 0};
    std::vector<std::int32_t> types = {2, 3, 3};
    for (int b = 0; b < 256; ++b) {
        static const char* hex = "0123456789ABCDEF";
        pieces.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
        scores.push_back(0);
        types.push_back(6);
    }
    const char* words[] = {"▁", "▁안녕", "하세요", "▁한국", "어", "▁모델", "입니다", "ㅋㅋ", "▁the", "▁a", "e", "t"};
    for (std::size_t i = 0; pieces.size() < n_pieces; ++i) {
        pieces.push_back(i < 12 ? words[i] : "▁w" + std::to_string(i));
        scores.push_back(-float(i));
        types.push_back(1);
    }
    return text::write_spm_model_proto(pieces, scores, types);
}

// Writes safetensors from named float tensors (row-major shapes).
inline void write_safetensors(const std::filesystem::path& path,
                              const std::map<std::string, std::pair<std::vector<std::uint64_t>, std::vector<float>>>& tensors,
                              bool bf16) {
    nlohmann::json header = nlohmann::json::object();
    std::string data;
    for (const auto& [name, t] : tensors) {
        const std::size_t begin = data.size();
        for (float v : t.second) {
            if (bf16) {
                const std::uint16_t b = f32_to_bf16(v);
                data.append(reinterpret_cast<const char*>(&b), 2);
            } else {
                data.append(reinterpret_cast<const char*>(&v), 4);
            }
        }
        header[name] = {{"dtype", bf16 ? "BF16" : "F32"}, {"shape", t.first}, {"data_offsets", {begin, data.size()}}};
    }
    header["__metadata__"] = {{"format", "pt"}};
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    const std::uint64_t n = h.size();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << h << data;
}

inline void write_tiny_llama_checkpoint(const std::filesystem::path& dir, const TinyLlama& c, std::uint64_t seed = 1) {
    std::filesystem::create_directories(dir);
    nlohmann::json config = {{"architectures", {"LlamaForCausalLM"}}, {"model_type", "llama"},
                             {"hidden_size", c.dim}, {"intermediate_size", c.ffn}, {"num_hidden_layers", c.layers},
                             {"num_attention_heads", c.heads}, {"num_key_value_heads", c.kv_heads},
                             {"vocab_size", c.vocab}, {"max_position_embeddings", c.context},
                             {"rms_norm_eps", c.rms_eps}, {"rope_theta", c.rope_theta}, {"tie_word_embeddings", c.tied},
                             {"bos_token_id", 1}, {"eos_token_id", 2}, {"torch_dtype", c.bf16 ? "bfloat16" : "float32"}};
    std::ofstream(dir / "config.json") << config.dump(2);
    {
        if (c.tokenizer_model.empty()) {
            const std::string spm = tiny_sentencepiece_model(c.vocab);
            std::ofstream(dir / "tokenizer.model", std::ios::binary) << spm;
        } else {
            std::filesystem::copy_file(c.tokenizer_model, dir / "tokenizer.model",
                                       std::filesystem::copy_options::overwrite_existing);
        }
    }
    std::map<std::string, std::pair<std::vector<std::uint64_t>, std::vector<float>>> t;
    std::uint64_t s = seed;
    auto matrix = [&](std::uint64_t rows, std::uint64_t cols) {
        return std::make_pair(std::vector<std::uint64_t>{rows, cols}, normal_vector(rows * cols, s++, c.weight_scale));
    };
    auto norm = [&](std::uint64_t n) {
        auto v = normal_vector(n, s++, c.norm_scale);
        for (auto& x : v) x += 1.f;
        return std::make_pair(std::vector<std::uint64_t>{n}, v);
    };
    const std::uint64_t kv_dim = c.dim / c.heads * c.kv_heads;
    t["model.embed_tokens.weight"] = matrix(c.vocab, c.dim);
    for (std::uint32_t l = 0; l < c.layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        t[p + "input_layernorm.weight"] = norm(c.dim);
        t[p + "self_attn.q_proj.weight"] = matrix(c.dim, c.dim);
        t[p + "self_attn.k_proj.weight"] = matrix(kv_dim, c.dim);
        t[p + "self_attn.v_proj.weight"] = matrix(kv_dim, c.dim);
        t[p + "self_attn.o_proj.weight"] = matrix(c.dim, c.dim);
        t[p + "post_attention_layernorm.weight"] = norm(c.dim);
        t[p + "mlp.gate_proj.weight"] = matrix(c.ffn, c.dim);
        t[p + "mlp.up_proj.weight"] = matrix(c.ffn, c.dim);
        t[p + "mlp.down_proj.weight"] = matrix(c.dim, c.ffn);
    }
    t["model.norm.weight"] = norm(c.dim);
    if (!c.tied) t["lm_head.weight"] = matrix(c.vocab, c.dim);
    write_safetensors(dir / "model.safetensors", t, c.bf16);
}

}  // namespace ulk::test
