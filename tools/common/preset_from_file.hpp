#pragma once
// `ulk-inspect --preset FILE`: the C++ preset (model/config.hpp) that a GGUF file matches, to paste
// into configs/ulk/presets/. Where a tensor kind's format varies by layer (llama.cpp's Q4_K_M and
// Q2_K mixes), no compile-time preset fits: it says so and how to requantize.
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "ulk/gguf/block_sparse_io.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/gguf/llama_names.hpp"

namespace ulk::tools {

inline std::string format_of_tensor(const gguf::GgufFile& f, const std::string& name) {
    if (const gguf::TensorInfo* t = f.find_tensor(name)) {
        if (t->type.id == 24)
            if (const gguf::Value* v = f.find(gguf::own_format_key(name)); v && v->type() == gguf::ValueType::String) return v->as_string("");
        return std::string(t->type.name);
    }
    if (f.find_tensor(name + ".bsr_values")) return format_of_tensor(f, name + ".bsr_values");
    return "";
}

inline std::string preset_from_file(const gguf::GgufFile& f) {
    namespace key = gguf::llama::key;
    auto u = [&](std::string_view k, std::uint64_t fallback) { return f.find(k) ? f.get_as<std::uint64_t>(k) : fallback; };
    const std::uint64_t dim = u(key::embedding_length, 0), layers = u(key::block_count, 0), heads = u(key::head_count, 0);
    const std::uint64_t vocab = f.tensor(gguf::llama::kTokenEmbedding).rows();
    const bool tied = !f.find_tensor(std::string(gguf::llama::kOutput));
    auto type = [](const std::string& fmt) { return "ulk::quant::" + fmt; };
    // The format of each layer tensor kind, if the same in every layer.
    const char* kinds[] = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    const char* members[] = {"AttnQFormat", "AttnKFormat", "AttnVFormat", "AttnOutputFormat", "FfnGateFormat", "FfnUpFormat", "FfnDownFormat"};
    std::string fmt[7], notes;
    for (int k = 0; k < 7; ++k) {
        std::map<std::string, int> seen;
        for (std::uint64_t l = 0; l < layers; ++l) ++seen[format_of_tensor(f, gguf::llama::block_tensor(int(l), kinds[k]))];
        fmt[k] = seen.begin()->first;
        if (seen.size() > 1) {
            notes += "// " + std::string(kinds[k]) + " varies by layer (";
            for (const auto& [n, c] : seen) notes += n + " x" + std::to_string(c) + " ";
            notes += "): no compile-time preset fits; requantize with `ulk-quantize --type '*." + std::string(kinds[k]) + ".weight=" + fmt[k] + "'`\n";
        }
    }
    char real[64];
    std::string s = "// Preset for " + f.name() + ": add it to configs/ulk/presets/ and to a list in lists.hpp.\n" + notes;
    s += "struct MyModel {\n";
    const std::string name = f.find(key::name) && f.get(key::name).type() == gguf::ValueType::String ? f.get_string(key::name) : "my-model";
    s += "    static constexpr std::string_view kName = \"" + name + "\";\n";
    s += "    static constexpr std::size_t kVocab = " + std::to_string(vocab) + ", kDim = " + std::to_string(dim) + ", kLayers = " +
         std::to_string(layers) + ", kHeads = " + std::to_string(heads) + ", kKvHeads = " + std::to_string(u(key::head_count_kv, heads)) +
         ",\n                                 kFfn = " + std::to_string(u(key::feed_forward_length, 0)) + ", kContext = " +
         std::to_string(u(key::context_length, 2048)) + ";\n";
    std::snprintf(real, sizeof real, "%.9g", f.find(key::rope_freq_base) ? f.get_as<double>(key::rope_freq_base) : 10000.0);
    s += "    static constexpr double kRopeBase = " + std::string(real) + ";\n";
    std::snprintf(real, sizeof real, "%.9g", f.find(key::rms_epsilon) ? f.get_as<double>(key::rms_epsilon) : 1e-5);
    s += "    static constexpr float kNormEps = " + std::string(real) + "f;\n";
    s += std::string("    static constexpr bool kTiedOutput = ") + (tied ? "true" : "false") + ";\n";
    const std::string embedding = format_of_tensor(f, std::string(gguf::llama::kTokenEmbedding));
    s += "    using EmbeddingFormat = " + type(embedding) + ";\n";
    s += "    using AttentionFormat = " + type(fmt[0]) + ";\n";
    s += "    using FfnFormat = " + type(fmt[4]) + ";\n";
    s += "    using OutputFormat = " + type(tied ? embedding : format_of_tensor(f, std::string(gguf::llama::kOutput))) + ";\n";
    for (int k = 1; k < 7; ++k)
        if (k != 4 && fmt[k] != fmt[k < 4 ? 0 : 4]) s += "    using " + std::string(members[k]) + " = " + type(fmt[k]) + ";\n";
    s += "    using KvCacheElement = ulk::quant::F16;\n";
    // Block sparsity per family: the block shape of its first matrix, the highest density of any.
    auto density = [&](const std::string& m, const std::vector<std::uint64_t>& sh) {
        const gguf::TensorInfo* idx = f.find_tensor(m + ".bsr_col_idx");
        return double(idx ? idx->elements : 0) / double(sh[0] / sh[2] * (sh[1] / sh[3]));
    };
    const std::pair<const char*, std::vector<const char*>> families[] = {
        {"kAttentionSparsity", {"attn_q", "attn_k", "attn_v", "attn_output"}},
        {"kFfnSparsity", {"ffn_gate", "ffn_up", "ffn_down"}}};
    for (const auto& [member, tensors] : families) {
        std::vector<std::uint64_t> block;
        double max_density = 0;
        for (std::uint64_t l = 0; l < layers; ++l)
            for (const char* k : tensors) {
                const std::string m = gguf::llama::block_tensor(int(l), k);
                const gguf::Value* v = f.find(gguf::bsr_key(m));
                if (!v) continue;
                const auto sh = v->as_vector<std::uint64_t>(gguf::bsr_key(m));
                if (sh.size() < 4 || sh[2] == 0 || sh[3] == 0) continue;
                if (block.empty()) block = sh;
                max_density = std::max(max_density, density(m, sh));
            }
        if (block.empty()) continue;
        std::snprintf(real, sizeof real, "%.6g", std::ceil(max_density * 1e6) / 1e6);
        s += "    static constexpr ulk::model::Sparsity " + std::string(member) + "{" + std::to_string(block[2]) + ", " +
             std::to_string(block[3]) + ", " + real + "};\n";
    }
    return s + "};\n";
}

}  // namespace ulk::tools
