#pragma once
// A Hugging Face Llama checkpoint (config.json, *.safetensors, tokenizer.model) to a GGUF file
// with llama.cpp's tensor names and metadata (gguf/llama_names.hpp), the SentencePiece
// vocabulary as tokenizer.ggml.* arrays, and the SentencePiece model bytes under our own key.
// Tensors are converted while the file is written, one at a time, so memory stays at one tensor.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "safetensors.hpp"
#include "ulk/base/error.hpp"
#include "ulk/base/fp16.hpp"
#include "ulk/gguf/llama_names.hpp"
#include "ulk/gguf/writer.hpp"
#include "ulk/text/spm_model_proto.hpp"  // protobuf only: no SentencePiece needed

namespace ulk::tools {

struct LlamaHyperParams {
    std::uint32_t vocab = 0, dim = 0, layers = 0, heads = 0, kv_heads = 0, ffn = 0, context = 0;
    float rms_eps = 1e-5f, rope_base = 10000.f;
    bool tied_output = false;
    std::int64_t bos = -1, eos = -1;
};

inline LlamaHyperParams read_hf_config(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error({"cannot open config.json", path, "", "", "pass the checkpoint's directory"});
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        throw Error({"config.json is not valid JSON", path, "", e.what(), ""});
    }
    auto where = [&](const char* key) { return path + ", key '" + std::string(key) + "'"; };
    auto need_u32 = [&](const char* key) -> std::uint32_t {
        require(j.contains(key) && j[key].is_number_unsigned() && j[key].get<std::uint64_t>() > 0 &&
                    j[key].get<std::uint64_t>() < (1u << 31),
                {"config.json lacks a required positive integer", where(key), "a positive integer",
                 j.contains(key) ? j[key].dump() : "nothing", "is this a Llama checkpoint?"});
        return j[key].get<std::uint32_t>();
    };
    const std::string model_type = j.value("model_type", std::string());
    bool llama_arch = model_type == "llama";
    if (j.contains("architectures") && j["architectures"].is_array())
        for (const auto& a : j["architectures"]) llama_arch |= a.is_string() && a.get<std::string>() == "LlamaForCausalLM";
    require(llama_arch, {"checkpoint is not a Llama model", where("model_type"), "llama / LlamaForCausalLM",
                         model_type.empty() ? "nothing" : model_type, "ulk-convert converts Llama-architecture models only"});
    LlamaHyperParams h;
    h.vocab = need_u32("vocab_size");
    h.dim = need_u32("hidden_size");
    h.layers = need_u32("num_hidden_layers");
    h.heads = need_u32("num_attention_heads");
    h.kv_heads = j.contains("num_key_value_heads") ? need_u32("num_key_value_heads") : h.heads;
    h.ffn = need_u32("intermediate_size");
    h.context = j.contains("max_position_embeddings") ? need_u32("max_position_embeddings") : 2048;
    if (j.contains("rms_norm_eps") && j["rms_norm_eps"].is_number()) h.rms_eps = j["rms_norm_eps"].get<float>();
    if (j.contains("rope_theta") && j["rope_theta"].is_number()) h.rope_base = j["rope_theta"].get<float>();
    h.tied_output = j.value("tie_word_embeddings", false);
    if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) h.bos = j["bos_token_id"].get<std::int64_t>();
    if (j.contains("eos_token_id") && j["eos_token_id"].is_number_integer()) h.eos = j["eos_token_id"].get<std::int64_t>();
    require(h.dim % h.heads == 0 && h.heads % h.kv_heads == 0 && (h.dim / h.heads) % 2 == 0,
            {"attention heads do not divide the model", path,
             "heads dividing hidden_size into even head dims, and kv heads dividing heads",
             "hidden_size " + std::to_string(h.dim) + ", heads " + std::to_string(h.heads) + ", kv heads " +
                 std::to_string(h.kv_heads), ""});
    if (j.contains("head_dim") && j["head_dim"].is_number_unsigned())
        require(j["head_dim"].get<std::uint32_t>() == h.dim / h.heads,
                {"head_dim differs from hidden_size / heads", where("head_dim"), std::to_string(h.dim / h.heads),
                 j["head_dim"].dump(), "such models are not supported"});
    require(!j.contains("rope_scaling") || j["rope_scaling"].is_null(),
            {"RoPE scaling is not supported", where("rope_scaling"), "null", j.contains("rope_scaling") ? j["rope_scaling"].dump() : "",
             "convert a model without rope_scaling"});
    return h;
}

struct ConvertOptions {
    std::string checkpoint;       // directory with config.json, *.safetensors, tokenizer.model
    std::string output;           // .gguf path
    std::string out_type = "F16"; // F32, F16 or BF16 for 2-D weights (norms stay F32, as in llama.cpp)
    std::string name;             // general.name; default: the directory's name
    bool vocab_only = false;      // metadata and tokenizer only, no tensors (as llama.cpp's --vocab-only)
};

struct ConvertSummary {
    std::size_t tensors = 0;
    std::uint64_t parameters = 0, file_bytes = 0;
};

// HF stores q/k rows per head in rotate-half order (x[i] pairs with x[i + d/2]); ggml's RoPE pairs
// adjacent rows. Row h*d + 2j + s of the result is row h*d + s*d/2 + j of the input.
inline std::vector<float> permute_for_rope(const std::vector<float>& w, std::uint32_t heads, std::uint64_t cols) {
    const std::uint64_t rows = w.size() / cols, d = rows / heads;
    std::vector<float> out(w.size());
    for (std::uint64_t h = 0; h < heads; ++h)
        for (std::uint64_t j = 0; j < d / 2; ++j)
            for (std::uint64_t s = 0; s < 2; ++s)
                std::copy_n(w.begin() + std::ptrdiff_t((h * d + s * d / 2 + j) * cols), cols,
                            out.begin() + std::ptrdiff_t((h * d + 2 * j + s) * cols));
    return out;
}

inline ConvertSummary convert_hf_llama(const ConvertOptions& o,
                                       const std::function<void(std::size_t, std::size_t, const std::string&)>& progress = {}) {
    namespace fs = std::filesystem;
    using namespace gguf;
    const fs::path dir(o.checkpoint);
    require(fs::is_directory(dir), {"checkpoint directory not found", o.checkpoint, "a directory", "no such directory", "pass the checkpoint's directory"});
    const std::uint32_t out_type = o.out_type == "F32" ? 0 : o.out_type == "F16" ? 1 : o.out_type == "BF16" ? 30 : 99;
    require(out_type != 99, {"unsupported output type", "--outtype", "F32, F16 or BF16", o.out_type, ""});
    const LlamaHyperParams h = read_hf_config((dir / "config.json").string());

    // Tokenizer.
    const fs::path spm_path = dir / "tokenizer.model";
    require(fs::is_regular_file(spm_path), {"tokenizer.model is missing", spm_path.string(), "a SentencePiece model", "", 
                                            "ulk-convert needs the SentencePiece tokenizer.model of the checkpoint"});
    std::string spm_bytes;
    {
        std::ifstream in(spm_path, std::ios::binary);
        spm_bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    text::SpmModelSummary vocab = text::read_spm_model_summary(spm_bytes, spm_path.string());
    require(!vocab.pieces.empty(), {"SentencePiece model has no pieces", spm_path.string(), "a vocabulary", "none",
                                    "pass the tokenizer.model that came with the checkpoint"});
    for (std::size_t i = 0; i < vocab.types.size(); ++i)  // llama.cpp's token types are the same numbers
        require(vocab.types[i] >= 1 && vocab.types[i] <= 6,
                {"SentencePiece piece has an unknown type", spm_path.string() + ", piece " + std::to_string(i), "1..6",
                 std::to_string(vocab.types[i]), "pass the tokenizer.model that came with the checkpoint"});
    require(vocab.pieces.size() <= h.vocab,
            {"tokenizer has more pieces than the model's vocabulary", spm_path.string(),
             "at most " + std::to_string(h.vocab) + " (config.json vocab_size)", std::to_string(vocab.pieces.size()),
             "the tokenizer does not belong to this checkpoint"});
    for (std::size_t i = vocab.pieces.size(); i < h.vocab; ++i) {  // as llama.cpp's converter pads
        vocab.pieces.push_back("[PAD" + std::to_string(i) + "]");
        vocab.scores.push_back(-1000.f);
        vocab.types.push_back(std::int32_t(llama::TokenType::UserDefined));
    }
    auto find_piece = [&](std::string_view p) -> std::int64_t {
        const auto it = std::find(vocab.pieces.begin(), vocab.pieces.end(), p);
        return it == vocab.pieces.end() ? -1 : it - vocab.pieces.begin();
    };
    const std::int64_t unk = std::find(vocab.types.begin(), vocab.types.end(), 2) - vocab.types.begin();
    const std::int64_t bos = h.bos >= 0 ? h.bos : find_piece("<s>");
    const std::int64_t eos = h.eos >= 0 ? h.eos : find_piece("</s>");

    // Weights from every shard.
    std::vector<fs::path> shards;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ".safetensors" && !o.vocab_only) shards.push_back(e.path());
    std::sort(shards.begin(), shards.end());
    require(o.vocab_only || !shards.empty(), {"no .safetensors files in the checkpoint", o.checkpoint, "model*.safetensors", "none",
                              "PyTorch .bin checkpoints are not supported: save the model with safetensors"});
    std::vector<std::unique_ptr<SafetensorsFile>> files;
    std::map<std::string, const SafeTensor*> by_name;
    for (const auto& p : shards) {
        files.push_back(std::make_unique<SafetensorsFile>(p.string()));
        for (const auto& [name, t] : files.back()->tensors())
            require(by_name.emplace(name, &t).second,
                    {"tensor appears in two shards", p.string() + ", tensor '" + name + "'", "once", "twice", ""});
    }

    struct Planned {
        std::string hf, gguf;
        std::vector<std::uint64_t> hf_shape;
        int permute_heads = 0;
    };
    const std::uint64_t hd = h.dim / h.heads, kv_dim = hd * h.kv_heads;
    std::vector<Planned> plan = {{"model.embed_tokens.weight", std::string(llama::kTokenEmbedding), {h.vocab, h.dim}}};
    for (std::uint32_t l = 0; l < h.layers; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".";
        auto blk = [&](const char* what) { return llama::block_tensor(int(l), what); };
        plan.push_back({p + "input_layernorm.weight", blk("attn_norm"), {h.dim}});
        plan.push_back({p + "self_attn.q_proj.weight", blk("attn_q"), {h.dim, h.dim}, int(h.heads)});
        plan.push_back({p + "self_attn.k_proj.weight", blk("attn_k"), {kv_dim, h.dim}, int(h.kv_heads)});
        plan.push_back({p + "self_attn.v_proj.weight", blk("attn_v"), {kv_dim, h.dim}});
        plan.push_back({p + "self_attn.o_proj.weight", blk("attn_output"), {h.dim, h.dim}});
        plan.push_back({p + "post_attention_layernorm.weight", blk("ffn_norm"), {h.dim}});
        plan.push_back({p + "mlp.gate_proj.weight", blk("ffn_gate"), {h.ffn, h.dim}});
        plan.push_back({p + "mlp.up_proj.weight", blk("ffn_up"), {h.ffn, h.dim}});
        plan.push_back({p + "mlp.down_proj.weight", blk("ffn_down"), {h.dim, h.ffn}});
    }
    plan.push_back({"model.norm.weight", std::string(llama::kOutputNorm), {h.dim}});
    const bool has_lm_head = by_name.count("lm_head.weight") > 0;
    if (o.vocab_only) plan.clear();
    else if (has_lm_head || !h.tied_output) plan.push_back({"lm_head.weight", std::string(llama::kOutput), {h.vocab, h.dim}});

    std::set<std::string> expected;
    for (const auto& p : plan) {
        expected.insert(p.hf);
        const auto it = by_name.find(p.hf);
        require(it != by_name.end(), {"checkpoint lacks a tensor", o.checkpoint + ", tensor '" + p.hf + "'", "present", "missing",
                                      "the checkpoint is incomplete or does not match config.json"});
        auto shape_str = [](const std::vector<std::uint64_t>& s) {
            std::string r = "[";
            for (std::size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
            return r + "]";
        };
        require(it->second->shape == p.hf_shape,
                {"tensor shape does not match config.json", it->second->file + ", tensor '" + p.hf + "'", shape_str(p.hf_shape),
                 shape_str(it->second->shape), "the checkpoint and its config.json disagree"});
    }
    for (const auto& [name, t] : by_name)
        require(expected.count(name) || name.find("rotary_emb.inv_freq") != std::string::npos,
                {"checkpoint has a tensor a Llama model does not", t->file + ", tensor '" + name + "'", "", "",
                 "this may be a different architecture"});

    GgufWriter w;
    w.set(std::string(llama::key::architecture), llama::kArchitecture);
    w.set(std::string(llama::key::name), o.name.empty() ? fs::absolute(dir).filename().string() : o.name);
    w.set(std::string(llama::key::file_type),
          std::uint32_t(out_type == 0 ? llama::FileType::AllF32 : out_type == 1 ? llama::FileType::MostlyF16 : llama::FileType::MostlyBF16));
    w.set(std::string(llama::key::context_length), h.context);
    w.set(std::string(llama::key::embedding_length), h.dim);
    w.set(std::string(llama::key::block_count), h.layers);
    w.set(std::string(llama::key::feed_forward_length), h.ffn);
    w.set(std::string(llama::key::head_count), h.heads);
    w.set(std::string(llama::key::head_count_kv), h.kv_heads);
    w.set(std::string(llama::key::rms_epsilon), h.rms_eps);
    w.set(std::string(llama::key::rope_freq_base), h.rope_base);
    w.set(std::string(llama::key::rope_dimension_count), std::uint32_t(hd));
    w.set(std::string(llama::key::vocab_size), h.vocab);
    w.set(std::string(llama::key::tokenizer_model), "llama");
    w.set(std::string(llama::key::tokens), Value::array(vocab.pieces));
    w.set(std::string(llama::key::scores), Value::array(vocab.scores));
    w.set(std::string(llama::key::token_type), Value::array(vocab.types));
    if (unk < std::int64_t(vocab.types.size())) w.set(std::string(llama::key::unk_id), std::uint32_t(unk));
    if (bos >= 0) w.set(std::string(llama::key::bos_id), std::uint32_t(bos));
    if (eos >= 0) w.set(std::string(llama::key::eos_id), std::uint32_t(eos));
    w.set(std::string(llama::key::add_bos), true);
    w.set(std::string(llama::key::add_eos), false);
    w.set(std::string(llama::key::sentencepiece_model), Value::scalar_array(ValueType::U8, spm_bytes));

    ConvertSummary summary;
    for (const auto& p : plan) {
        const SafeTensor* t = by_name.at(p.hf);
        const bool is_norm = p.hf_shape.size() == 1;
        const std::uint32_t type = is_norm ? 0 : out_type;
        std::vector<std::uint64_t> dims(p.hf_shape.rbegin(), p.hf_shape.rend());  // ggml order
        summary.parameters += t->elements();
        const int heads = p.permute_heads;
        w.add_tensor(p.gguf, type, dims, GgufWriter::Producer([t, type, heads, cols = p.hf_shape.back()](std::span<std::byte> out) {
            std::vector<float> v = t->to_float();
            if (heads) v = permute_for_rope(v, std::uint32_t(heads), cols);
            if (type == 0) {
                std::memcpy(out.data(), v.data(), out.size());
                return;
            }
            for (std::size_t i = 0; i < v.size(); ++i) {
                const std::uint16_t bits = type == 1 ? f32_to_f16(v[i]) : f32_to_bf16(v[i]);
                std::memcpy(out.data() + 2 * i, &bits, 2);
            }
        }));
    }
    summary.tensors = plan.size();
    summary.file_bytes = w.file_size();
    w.write(o.output, [&](std::size_t done, std::size_t total) {
        if (progress) progress(done, total, plan[done - 1].gguf);
    });
    return summary;
}

}  // namespace ulk::tools
