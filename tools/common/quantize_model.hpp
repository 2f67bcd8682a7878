#pragma once
// GGUF F32/F16/BF16 -> a GGUF file whose weights are in the packed formats, chosen per tensor by a
// preset and overrides. ggml formats are written with their ggml type (llama.cpp reads them);
// the library's own formats as I8 rows plus a ulk.format.<tensor> key (docs/formats.md).
// Quantization uses each format's reference quantizer (bit-exact with ggml's for ggml formats),
// rows spread over threads, while the output file is written.
#include <fnmatch.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "ulk/base/error.hpp"
#include "ulk/base/fp16.hpp"
#include "ulk/base/thread_pool.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/gguf/llama_names.hpp"
#include "ulk/gguf/writer.hpp"
#include "ulk/gguf/block_sparse_io.hpp"
#include "ulk/quant/all_formats.hpp"
#include "ulk/sparse/prune.hpp"

namespace ulk::tools {

// The formats a tensor can be quantized to, by the name used on the command line.
using QuantizeTargets = std::tuple<quant::F32, quant::F16, quant::BF16, quant::Q8_0, quant::Q4_0, quant::Q6_K,
                                   quant::Q4_K, quant::Q3_K, quant::Q2_K, quant::Q2Planar, quant::Grouped<4, 64>,
                                   quant::Grouped<2, 64>>;

// A pruned tensor, packed: written as three tensors (gguf/block_sparse_io.hpp).
struct SparseTensor {
    std::function<void(gguf::GgufWriter&, const std::string&)> add_to;  // keeps the storage alive
    std::uint64_t bytes = 0;
};

struct TargetFormat {
    std::string name;
    std::uint32_t ggml_type;  // I8 (24) for our own formats
    bool own = false;
    std::size_t block_weights = 1, block_bytes = 4;
    void (*quantize_row)(const float* x, void* out, std::size_t n) = nullptr;
    SparseTensor (*pack_sparse)(const float* w, const sparse::BlockMask& m) = nullptr;
};

inline std::vector<TargetFormat> target_formats() {
    std::vector<TargetFormat> v;
    std::apply([&]<class... F>(F...) {
        (v.push_back({std::string(F::kName), F::kGgmlType == quant::kNotGgml ? 24u : std::uint32_t(F::kGgmlType),
                      F::kGgmlType == quant::kNotGgml, F::kBlockWeights, sizeof(typename F::Block),
                      [](const float* x, void* out, std::size_t n) {
                          F::quantize_ref(x, static_cast<typename F::Block*>(out), n);
                      },
                      [](const float* w, const sparse::BlockMask& m) {
                          auto s = std::make_shared<sparse::BsrStorage<F>>(sparse::pack_block_sparse<F>(w, m));
                          const std::uint64_t bytes = s->bytes();
                          return SparseTensor{[s](gguf::GgufWriter& wr, const std::string& name) {
                                                  gguf::add_block_sparse(wr, name, *s);
                                              },
                                              bytes};
                      }}),
         ...);
    }, QuantizeTargets{});
    return v;
}

inline const TargetFormat& find_target(const std::string& name) {
    static const std::vector<TargetFormat> all = target_formats();
    for (const auto& f : all)
        if (f.name == name) return f;
    std::string names;
    for (const auto& f : all) names += (names.empty() ? "" : ", ") + f.name;
    throw Error({"unknown tensor format", "'" + name + "'", names, name, ""});
}

// A preset: the format of the 2-D weights, with exceptions by tensor name (fnmatch patterns).
// A rule's pattern may end in "@more_bits": it then applies only to the layers llama.cpp gives more
// bits in its k-quant mixes (the first and last eighth of the layers, and every third between);
// or in "@gqa4": only to models with 4 or more query heads per KV head. With them our k-quant mixes
// give every tensor the type llama.cpp gives it.
struct Preset {
    std::string name, description;
    std::string weights;
    std::vector<std::pair<std::string, std::string>> rules;  // first match wins
    gguf::llama::FileType file_type;
};

// llama.cpp's use_more_bits(i_layer, n_layers).
inline bool layer_gets_more_bits(int layer, int layers) {
    return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

// The layer index in "blk.N....", or -1.
inline int layer_of(const std::string& tensor) {
    if (tensor.rfind("blk.", 0) != 0) return -1;
    return std::atoi(tensor.c_str() + 4);
}

inline const std::vector<Preset>& presets() {
    using FT = gguf::llama::FileType;
    static const std::vector<Preset> p = {
        {"F16", "every 2-D weight in F16", "F16", {}, FT::MostlyF16},
        {"BF16", "every 2-D weight in BF16", "BF16", {}, FT::MostlyBF16},
        {"Q8_0", "8.5 bits per weight, near-lossless", "Q8_0", {}, FT::MostlyQ8_0},
        {"Q6_K", "6.56 bpw k-quant", "Q6_K", {}, FT::MostlyQ6_K},
        {"Q4_0", "4.5 bpw, fastest 4-bit; output in Q6_K as llama.cpp does", "Q4_0", {{"output.weight", "Q6_K"}}, FT::MostlyQ4_0},
        {"Q4_K_M", "4.5-bit k-quant mix as llama.cpp's: Q4_K; output, and attn_v and ffn_down of some layers, in Q6_K", "Q4_K",
         {{"output.weight", "Q6_K"}, {"*.attn_v.weight@more_bits", "Q6_K"}, {"*.ffn_down.weight@more_bits", "Q6_K"}},
         FT::MostlyQ4_K_M},
        {"Q3_K_M", "3.4-bit k-quant; attn_v, ffn_down in Q4_K, output in Q6_K", "Q3_K",
         {{"output.weight", "Q6_K"}, {"*.attn_v.weight", "Q4_K"}, {"*.ffn_down.weight", "Q4_K"}}, FT::MostlyQ3_K_M},
        {"Q2_K", "2.6 bpw k-quant mix as llama.cpp's: attn_v, attn_output, ffn_down in Q3_K, output in Q6_K", "Q2_K",
         {{"output.weight", "Q6_K"}, {"*.attn_v.weight@gqa4", "Q4_K"}, {"*.attn_v.weight", "Q3_K"},
          {"*.attn_output.weight", "Q3_K"}, {"*.ffn_down.weight", "Q3_K"}},
         FT::MostlyQ2_K},
        {"Q2P", "ulk's fast 2-bit format (Q2Planar, 2.375 bpw); embeddings and output at Q8_0 (ulk only)", "Q2Planar",
         {{"token_embd.weight", "Q8_0"}, {"output.weight", "Q8_0"}}, FT::MostlyQ2_K},
    };
    return p;
}

inline const Preset& find_preset(const std::string& name) {
    for (const auto& p : presets())
        if (p.name == name) return p;
    std::string names;
    for (const auto& p : presets()) names += (names.empty() ? "" : ", ") + p.name;
    throw Error({"unknown preset", "'" + name + "'", names, name, "see ulk-quantize --help"});
}

struct SparseOptions {
    double density = 1.0;                          // < 1 prunes
    std::size_t block_rows = 4, block_cols = 0;    // 0: the format's block, at least 32
    std::string tensors = "blk.*.ffn_*.weight";    // which tensors (shell pattern)
};

struct QuantizeOptions {
    std::string input, output, preset;
    std::vector<std::pair<std::string, std::string>> overrides;  // PATTERN=FORMAT, last match wins
    unsigned threads = 0;
    SparseOptions sparse;
};

struct QuantizedTensor {
    std::string name, format, note;
    std::uint64_t weights = 0, bytes = 0;
    double density = 1.0;
};

struct QuantizeSummary {
    std::vector<QuantizedTensor> tensors;
    std::uint64_t input_bytes = 0, output_bytes = 0, weights = 0, weight_bytes = 0;
};

// The format a tensor gets: 1-D tensors (norms) stay F32; 2-D ones follow the overrides (last
// match wins), then the preset's rules, then the preset's default; a format whose block does not
// divide the row falls back to Q8_0 (32) or F16, as llama.cpp does, and says so.
inline std::pair<std::string, std::string> choose_format(const gguf::TensorInfo& t, const Preset& preset,
                                                         const std::vector<std::pair<std::string, std::string>>& overrides,
                                                         int layers = 0, int gqa = 1) {
    if (t.dims.size() < 2) return {"F32", ""};
    std::string fmt = preset.weights;
    for (const auto& [rule, f] : preset.rules) {
        const auto at = rule.find('@');
        const std::string pattern = rule.substr(0, at);
        if (::fnmatch(pattern.c_str(), t.name.c_str(), 0) != 0) continue;
        const std::string condition = at == std::string::npos ? "" : rule.substr(at + 1);
        if (condition == "more_bits" && !layer_gets_more_bits(layer_of(t.name), layers)) continue;
        if (condition == "gqa4" && gqa < 4) continue;
        fmt = f;
        break;
    }
    for (const auto& [pattern, f] : overrides)
        if (::fnmatch(pattern.c_str(), t.name.c_str(), 0) == 0) fmt = f;
    const TargetFormat& target = find_target(fmt);
    if (t.dims[0] % target.block_weights == 0) return {fmt, ""};
    const std::string fallback = t.dims[0] % 32 == 0 ? "Q8_0" : "F16";
    return {fallback, "row length " + std::to_string(t.dims[0]) + " is not a multiple of " +
                          std::to_string(target.block_weights) + " (" + fmt + "): used " + fallback};
}

// Element i of an F32/F16/BF16 tensor.
inline float read_float(const gguf::TensorInfo& t, std::uint64_t i) {
    if (t.type.id == 0) {
        float v;
        std::memcpy(&v, t.data.data() + 4 * i, 4);
        return v;
    }
    std::uint16_t h;
    std::memcpy(&h, t.data.data() + 2 * i, 2);
    return t.type.id == 1 ? f16_to_f32(h) : bf16_to_f32(h);
}

inline QuantizeSummary quantize_model(const QuantizeOptions& o,
                                      const std::function<void(std::size_t, std::size_t, const std::string&)>& progress = {}) {
    using namespace gguf;
    const Preset& preset = find_preset(o.preset);
    for (const auto& [pattern, f] : o.overrides) (void)find_target(f);
    const GgufFile in = GgufFile::open(o.input);
    for (const TensorInfo& t : in.tensors())
        require(t.type.id == 0 || t.type.id == 1 || t.type.id == 30,
                {"input tensor is already quantized", in.name() + ", tensor '" + t.name + "'", "F32, F16 or BF16",
                 std::string(t.type.name), "quantize from the F32/F16/BF16 file ulk-convert writes: requantizing loses quality"});

    GgufWriter w(in.alignment());
    for (const auto& [key, value] : in.metadata())
        if (key != "general.alignment" && key.rfind("ulk.format.", 0) != 0) w.set(key, value);
    w.set(std::string(llama::key::file_type), std::uint32_t(preset.file_type));
    w.set(std::string(llama::key::quantization_version), std::uint32_t(2));

    const Value* block_count = in.find(llama::key::block_count);
    const int layers = block_count ? in.get_as<int>(llama::key::block_count) : 0;
    const int gqa = in.find(llama::key::head_count) && in.find(llama::key::head_count_kv)
                        ? in.get_as<int>(llama::key::head_count) / std::max(1, in.get_as<int>(llama::key::head_count_kv))
                        : 1;
    QuantizeSummary s;
    s.input_bytes = std::filesystem::file_size(o.input);
    auto pool = std::make_shared<ThreadPool>(o.threads);
    std::vector<std::function<void(GgufWriter&, const std::string&)>> sparse_keep;  // storage of pruned tensors
    require(o.sparse.density > 0.0 && o.sparse.density <= 1.0 && o.sparse.block_rows > 0,
            {"sparse density out of range", "--sparse", "a density in (0, 1]", std::to_string(o.sparse.density), ""});
    for (const TensorInfo& t : in.tensors()) {
        const auto [fmt, note] = choose_format(t, preset, o.overrides, layers, gqa);
        const TargetFormat& target = find_target(fmt);
        std::vector<std::uint64_t> dims = t.dims;
        const std::uint64_t rows = t.rows(), cols = t.cols();
        const std::uint64_t row_bytes = cols / target.block_weights * target.block_bytes;
        if (o.sparse.density < 1.0 && t.dims.size() == 2 && ::fnmatch(o.sparse.tensors.c_str(), t.name.c_str(), 0) == 0) {
            const std::size_t bc = o.sparse.block_cols ? o.sparse.block_cols : std::max<std::size_t>(32, target.block_weights);
            const std::string where = in.name() + ", tensor '" + t.name + "'";
            require(bc % target.block_weights == 0 && rows % o.sparse.block_rows == 0 && cols % bc == 0,
                    {"sparse block shape does not fit the tensor", where,
                     "blocks dividing " + std::to_string(rows) + " x " + std::to_string(cols) + " with columns a multiple of " +
                         std::to_string(target.block_weights) + " (" + fmt + ")",
                     std::to_string(o.sparse.block_rows) + " x " + std::to_string(bc), "choose another --sparse-block"});
            std::vector<float> dense(rows * cols);
            for (std::uint64_t i = 0; i < dense.size(); ++i) dense[i] = read_float(t, i);
            const auto mask = sparse::choose_blocks(dense.data(), rows, cols, o.sparse.block_rows, bc, o.sparse.density,
                                                    sparse::PruneMethod::Magnitude);
            SparseTensor packed = target.pack_sparse(dense.data(), mask);
            packed.add_to(w, t.name);
            sparse_keep.push_back(std::move(packed.add_to));
            QuantizedTensor q{t.name, fmt, "", t.elements, packed.bytes,
                              double(mask.col_idx.size()) / double(rows / o.sparse.block_rows * (cols / bc))};
            s.tensors.push_back(q);
            s.weights += t.elements;
            s.weight_bytes += packed.bytes;
            continue;
        }
        if (target.own) {
            w.set(own_format_key(t.name), target.name);
            dims = {row_bytes, rows};
        }
        const TensorInfo* src = &t;
        w.add_tensor(t.name, target.ggml_type, dims, GgufWriter::Producer([src, &target, rows, cols, row_bytes, pool](std::span<std::byte> out) {
            const std::size_t chunk = 16;
            pool->parallel_for(std::size_t((rows + chunk - 1) / chunk), [&](std::size_t task) {
                std::vector<float> row(cols);
                for (std::uint64_t r = task * chunk; r < std::min<std::uint64_t>(rows, (task + 1) * chunk); ++r) {
                    for (std::uint64_t c = 0; c < cols; ++c) row[c] = read_float(*src, r * cols + c);
                    target.quantize_row(row.data(), out.data() + r * row_bytes, cols);
                }
            });
        }));
        s.tensors.push_back({t.name, fmt, note, t.elements, rows * row_bytes});
        if (t.dims.size() >= 2) {
            s.weights += t.elements;
            s.weight_bytes += rows * row_bytes;
        }
    }
    s.output_bytes = w.file_size();
    w.write(o.output, [&](std::size_t done, std::size_t total) {
        if (progress) progress(done, total, s.tensors[done - 1].name);
    });
    return s;
}

}  // namespace ulk::tools
