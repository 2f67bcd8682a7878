#pragma once
// A model configuration is a type: every dimension, hyper-parameter and weight format of a Llama
// model, fixed at build time. ulk::Llama<Config> sizes every buffer from it, and the loader checks
// the file against it. Presets live in configs/ulk/presets/; configs/README.md says how to add one.
//
//   struct MyModel {
//     static constexpr std::string_view kName = "my-model";
//     static constexpr std::size_t kVocab = 32000, kDim = 1024, kLayers = 16, kHeads = 16, kKvHeads = 4,
//                                  kFfn = 2816, kContext = 2048;
//     static constexpr double kRopeBase = 10000;
//     static constexpr float kNormEps = 1e-5f;
//     static constexpr bool kTiedOutput = false;          // output projection = token embedding
//     using EmbeddingFormat = quant::Q8_0;                // token_embd
//     using AttentionFormat = quant::Q4_0;                // attn_q, attn_k, attn_v, attn_output
//     using FfnFormat = quant::Q4_0;                      // ffn_gate, ffn_up, ffn_down
//     using OutputFormat = quant::Q6_K;                   // output (when not tied)
//     using KvCacheElement = quant::F16;                  // F32, F16 or Q8_0
//     // optional:
//     using AttnVFormat = quant::Q6_K;                    // per-tensor override inside a family
//                                                         // (AttnQ, AttnK, AttnV, AttnOutput,
//                                                         //  FfnGate, FfnUp, FfnDown)
//     static constexpr model::Sparsity kFfnSparsity{16, 64, 0.5};  // block-sparse FFN (also
//                                                         // kAttentionSparsity); dense by default
//     static constexpr std::size_t kMemoryBudget = 3ull << 30;  // static_assert'ed, bytes
//     static constexpr std::size_t kMaxBatch = 64;        // prefill chunk (tokens per GEMM)
//     static constexpr unsigned kMaxThreads = 16;
//   };
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "ulk/quant/format.hpp"

namespace ulk::model {

// Block sparsity of a tensor family: kept blocks of block_rows x block_cols weights, at most
// max_density of them (the bound weight_bytes is computed from). {} is dense.
struct Sparsity {
    std::size_t block_rows = 0, block_cols = 0;
    double max_density = 1.0;
    constexpr bool dense() const noexcept { return block_rows == 0; }
};
inline constexpr Sparsity kDense{};

// The weight matrices of one layer.
enum class LayerTensor { AttnQ, AttnK, AttnV, AttnOutput, FfnGate, FfnUp, FfnDown };

template <class C>
concept LlamaConfig = requires {
    { C::kName } -> std::convertible_to<std::string_view>;
    { C::kVocab } -> std::convertible_to<std::size_t>;
    { C::kDim } -> std::convertible_to<std::size_t>;
    { C::kLayers } -> std::convertible_to<std::size_t>;
    { C::kHeads } -> std::convertible_to<std::size_t>;
    { C::kKvHeads } -> std::convertible_to<std::size_t>;
    { C::kFfn } -> std::convertible_to<std::size_t>;
    { C::kContext } -> std::convertible_to<std::size_t>;
    { C::kRopeBase } -> std::convertible_to<double>;
    { C::kNormEps } -> std::convertible_to<float>;
    { C::kTiedOutput } -> std::convertible_to<bool>;
    typename C::EmbeddingFormat;
    typename C::AttentionFormat;
    typename C::FfnFormat;
    typename C::OutputFormat;
    typename C::KvCacheElement;
};

// The optional members, with their defaults.
template <class C>
constexpr Sparsity attention_sparsity() {
    if constexpr (requires { C::kAttentionSparsity; }) return C::kAttentionSparsity;
    else return kDense;
}
template <class C>
constexpr Sparsity ffn_sparsity() {
    if constexpr (requires { C::kFfnSparsity; }) return C::kFfnSparsity;
    else return kDense;
}
template <class C>
constexpr std::size_t memory_budget() {
    if constexpr (requires { C::kMemoryBudget; }) return C::kMemoryBudget;
    else return 0;
}
template <class C>
constexpr std::size_t max_batch() {
    if constexpr (requires { C::kMaxBatch; }) return C::kMaxBatch;
    else return 64;
}
template <class C>
constexpr unsigned max_threads() {
    if constexpr (requires { C::kMaxThreads; }) return C::kMaxThreads;
    else return 16;
}

namespace detail {
template <class C, LayerTensor T> struct LayerFormat;
#define ULK_LAYER_FORMAT(TENSOR, MEMBER, FAMILY)                                   \
    template <class C> struct LayerFormat<C, LayerTensor::TENSOR> {                \
        static auto pick() {                                                       \
            if constexpr (requires { typename C::MEMBER; }) return (typename C::MEMBER*)nullptr; \
            else return (typename C::FAMILY*)nullptr;                              \
        }                                                                          \
        using type = std::remove_pointer_t<decltype(pick())>;                      \
    };
ULK_LAYER_FORMAT(AttnQ, AttnQFormat, AttentionFormat)
ULK_LAYER_FORMAT(AttnK, AttnKFormat, AttentionFormat)
ULK_LAYER_FORMAT(AttnV, AttnVFormat, AttentionFormat)
ULK_LAYER_FORMAT(AttnOutput, AttnOutputFormat, AttentionFormat)
ULK_LAYER_FORMAT(FfnGate, FfnGateFormat, FfnFormat)
ULK_LAYER_FORMAT(FfnUp, FfnUpFormat, FfnFormat)
ULK_LAYER_FORMAT(FfnDown, FfnDownFormat, FfnFormat)
#undef ULK_LAYER_FORMAT
}  // namespace detail

// The format of a layer tensor: its override if the config has one, else its family's.
template <class C, LayerTensor T>
using LayerFormat = typename detail::LayerFormat<C, T>::type;

// Derived dimensions and the checks every configuration must pass, with messages that say which
// rule failed. Instantiated by Llama<C>.
template <LlamaConfig C>
struct ConfigTraits {
    static_assert(C::kVocab > 0 && C::kDim > 0 && C::kLayers > 0 && C::kFfn > 0 && C::kContext > 0,
                  "config: vocabulary, dimension, layers, FFN width and context must be positive");
    static_assert(C::kHeads > 0 && C::kKvHeads > 0, "config: heads and KV heads must be positive");
    static_assert(C::kDim % C::kHeads == 0, "config: the number of heads must divide the model dimension");
    static_assert(C::kHeads % C::kKvHeads == 0,
                  "config: KV heads must divide the query heads (grouped-query attention)");
    static constexpr std::size_t kHeadDim = C::kDim / C::kHeads;
    static constexpr std::size_t kQDim = C::kHeads * kHeadDim;     // = kDim
    static constexpr std::size_t kKvDim = C::kKvHeads * kHeadDim;
    static_assert(kHeadDim % 2 == 0, "config: the head dimension must be even (RoPE rotates pairs)");
    static_assert(C::kRopeBase > 1.0, "config: the RoPE base must be greater than 1");
    static_assert(C::kNormEps > 0.f, "config: the RMSNorm epsilon must be positive");

    static_assert(quant::BlockFormat<typename C::EmbeddingFormat>, "config: EmbeddingFormat is not a block format");
    static_assert(C::kDim % C::EmbeddingFormat::kBlockWeights == 0,
                  "config: embedding rows (the model dimension) must be a multiple of EmbeddingFormat's block size");
    static_assert(C::kDim % C::OutputFormat::kBlockWeights == 0,
                  "config: output rows (the model dimension) must be a multiple of OutputFormat's block size");
    static_assert(!C::kTiedOutput || std::is_same_v<typename C::OutputFormat, typename C::EmbeddingFormat>,
                  "config: a tied output reuses the embedding matrix, so OutputFormat must equal EmbeddingFormat");
    static_assert(quant::DotFormat<typename C::OutputFormat>, "config: OutputFormat has no dot-product kernel");
    static_assert(C::kDim % LayerFormat<C, LayerTensor::AttnQ>::kBlockWeights == 0 &&
                      C::kDim % LayerFormat<C, LayerTensor::AttnK>::kBlockWeights == 0 &&
                      C::kDim % LayerFormat<C, LayerTensor::AttnV>::kBlockWeights == 0,
                  "config: attn_q/k/v rows (the model dimension) must be a multiple of their format's block size");
    static_assert(kQDim % LayerFormat<C, LayerTensor::AttnOutput>::kBlockWeights == 0,
                  "config: attn_output rows (heads x head_dim) must be a multiple of its format's block size");
    static_assert(C::kDim % LayerFormat<C, LayerTensor::FfnGate>::kBlockWeights == 0 &&
                      C::kDim % LayerFormat<C, LayerTensor::FfnUp>::kBlockWeights == 0,
                  "config: ffn_gate/up rows (the model dimension) must be a multiple of their format's block size");
    static_assert(C::kFfn % LayerFormat<C, LayerTensor::FfnDown>::kBlockWeights == 0,
                  "config: ffn_down rows (the FFN width) must be a multiple of its format's block size "
                  "(256 for the k-quants and Q2Planar)");
    static_assert(kHeadDim % C::KvCacheElement::kBlockWeights == 0,
                  "config: the head dimension must be a multiple of the KV cache element's block size");

    static constexpr Sparsity kAttnSparsity = attention_sparsity<C>(), kFfnSparsity = ffn_sparsity<C>();
    static constexpr bool sparse_fits(Sparsity s, std::size_t rows, std::size_t cols, std::size_t block) {
        return s.dense() || (s.block_rows > 0 && s.block_cols > 0 && rows % s.block_rows == 0 && cols % s.block_cols == 0 &&
                             s.block_cols % block == 0 && s.max_density > 0 && s.max_density <= 1);
    }
    static_assert(sparse_fits(kAttnSparsity, kQDim, C::kDim, LayerFormat<C, LayerTensor::AttnQ>::kBlockWeights) &&
                      sparse_fits(kAttnSparsity, kKvDim, C::kDim, LayerFormat<C, LayerTensor::AttnK>::kBlockWeights) &&
                      sparse_fits(kAttnSparsity, C::kDim, kQDim, LayerFormat<C, LayerTensor::AttnOutput>::kBlockWeights),
                  "config: the attention sparsity block must tile attn_q/k/v/output and be a multiple of their block size");
    static_assert(sparse_fits(kFfnSparsity, C::kFfn, C::kDim, LayerFormat<C, LayerTensor::FfnGate>::kBlockWeights) &&
                      sparse_fits(kFfnSparsity, C::kDim, C::kFfn, LayerFormat<C, LayerTensor::FfnDown>::kBlockWeights),
                  "config: the FFN sparsity block must tile ffn_gate/up/down and be a multiple of their block size");
    static_assert(max_batch<C>() >= 1 && max_threads<C>() >= 1, "config: kMaxBatch and kMaxThreads must be positive");
};

// "bench-246m: vocab 32000, dim 1024, 16 layers, 16/4 heads, FFN 2816, context 2048; weights
// embedding Q4_0, attention Q4_0, FFN Q4_0, output Q6_K; KV cache F16" (for messages and tools).
template <LlamaConfig C>
std::string describe() {
    auto n = [](std::size_t v) { return std::to_string(v); };
    auto sp = [](Sparsity s) {
        return s.dense() ? std::string() : " block-sparse " + std::to_string(s.block_rows) + "x" + std::to_string(s.block_cols);
    };
    std::string s = std::string(C::kName) + ": vocab " + n(C::kVocab) + ", dim " + n(C::kDim) + ", " + n(C::kLayers) + " layers, " +
                    n(C::kHeads) + "/" + n(C::kKvHeads) + " heads, FFN " + n(C::kFfn) + ", context " + n(C::kContext) +
                    (C::kTiedOutput ? ", tied output" : "") + "; weights embedding " + std::string(C::EmbeddingFormat::kName) +
                    ", attention " + std::string(C::AttentionFormat::kName) + sp(attention_sparsity<C>()) + ", FFN " +
                    std::string(C::FfnFormat::kName) + sp(ffn_sparsity<C>());
    if (!C::kTiedOutput) s += ", output " + std::string(C::OutputFormat::kName);
    return s + "; KV cache " + std::string(C::KvCacheElement::kName);
}

}  // namespace ulk::model
