#pragma once
// ulk::Llama<Config>: the Llama architecture (RMSNorm, RoPE, grouped-query attention, SwiGLU FFN)
// with every dimension fixed by Config (model/config.hpp). Weights are zero-copy views of the
// mapped GGUF file; the KV cache, activations and scratch are allocated once, at load, with sizes
// that are compile-time constants. Decode allocates nothing.
//
//   auto model = ulk::Llama<ulk::presets::KoChatTiny>::load("model.gguf", {.threads = 2});
//   std::span<const float> logits = model.prefill(prompt_ids);   // (vocab), last token's
//   logits = model.decode(next_id);                              // one more token
#include <cstddef>
#include <cstdint>
#include <array>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>
#include <span>
#include <string>
#include <utility>

#include "ulk/attention/attention.hpp"
#include "ulk/attention/kv_cache.hpp"
#include "ulk/attention/rope.hpp"
#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/error.hpp"
#include "ulk/base/thread_pool.hpp"
#include "ulk/gguf/file.hpp"
#include "ulk/gguf/llama_names.hpp"
#include "ulk/model/config.hpp"
#include "ulk/model/file_check.hpp"
#include "ulk/model/linear.hpp"
#include "ulk/ops/activation.hpp"
#include "ulk/ops/norm.hpp"
#include "ulk/quant/packed_matrix.hpp"

namespace ulk {

using Token = std::int32_t;

namespace model {
struct LoadOptions {
    unsigned threads = 0;  // 0: all hardware threads (at most the config's kMaxThreads)
};
}  // namespace model

template <model::LlamaConfig C>
class Llama {
    using T = model::ConfigTraits<C>;
    template <model::LayerTensor L>
    using Fmt = model::LayerFormat<C, L>;
    using LT = model::LayerTensor;

public:
    using Config = C;
    static constexpr std::size_t kVocab = C::kVocab, kDim = C::kDim, kLayers = C::kLayers, kHeads = C::kHeads,
                                 kKvHeads = C::kKvHeads, kFfn = C::kFfn, kContext = C::kContext;
    static constexpr std::size_t kHeadDim = T::kHeadDim, kQDim = T::kQDim, kKvDim = T::kKvDim;
    static constexpr std::size_t kMaxBatch = model::max_batch<C>();
    static constexpr unsigned kMaxThreads = model::max_threads<C>();

    // The weight matrices of one layer and of the model, as bound views.
    struct LayerWeights {
        const float* attn_norm = nullptr;                                                // (kDim)
        model::Linear<Fmt<LT::AttnQ>, kQDim, kDim, T::kAttnSparsity> q;                  // (kQDim, kDim)
        model::Linear<Fmt<LT::AttnK>, kKvDim, kDim, T::kAttnSparsity> k;                 // (kKvDim, kDim)
        model::Linear<Fmt<LT::AttnV>, kKvDim, kDim, T::kAttnSparsity> v;                 // (kKvDim, kDim)
        model::Linear<Fmt<LT::AttnOutput>, kDim, kQDim, T::kAttnSparsity> o;             // (kDim, kQDim)
        const float* ffn_norm = nullptr;                                                 // (kDim)
        model::Linear<Fmt<LT::FfnGate>, kFfn, kDim, T::kFfnSparsity> gate;               // (kFfn, kDim)
        model::Linear<Fmt<LT::FfnUp>, kFfn, kDim, T::kFfnSparsity> up;                   // (kFfn, kDim)
        model::Linear<Fmt<LT::FfnDown>, kDim, kFfn, T::kFfnSparsity> down;               // (kDim, kFfn)
    };
    using Embedding = quant::MatrixView<typename C::EmbeddingFormat>;                    // (kVocab, kDim)
    using Output = model::Linear<typename C::OutputFormat, kVocab, kDim>;                // (kVocab, kDim)
    using Cache = attention::KVCache<attention::KVDims<kLayers, kKvHeads, kHeadDim, kContext>, typename C::KvCacheElement>;
    using Rope = attention::RopeTable<kHeadDim, kContext>;

    // ---- Compile-time sizes ----
    static constexpr std::size_t kLayerWeightBytes =
        decltype(LayerWeights::q)::kMaxBytes + decltype(LayerWeights::k)::kMaxBytes + decltype(LayerWeights::v)::kMaxBytes +
        decltype(LayerWeights::o)::kMaxBytes + decltype(LayerWeights::gate)::kMaxBytes +
        decltype(LayerWeights::up)::kMaxBytes + decltype(LayerWeights::down)::kMaxBytes + 2 * kDim * sizeof(float);
    static constexpr std::size_t kEmbeddingBytes = kVocab * quant::row_bytes<typename C::EmbeddingFormat>(kDim);
    // Weights: every matrix (sparse ones at their maximum density), norms, embedding, output.
    static constexpr std::size_t weight_bytes = kLayers * kLayerWeightBytes + kEmbeddingBytes + kDim * sizeof(float) +
                                                (C::kTiedOutput ? 0 : Output::kMaxBytes);
    // Weights one decoded token streams: all but the embedding table (one row of it).
    static constexpr std::size_t weight_bytes_per_token =
        kLayers * kLayerWeightBytes + kDim * sizeof(float) + (C::kTiedOutput ? kEmbeddingBytes : Output::kMaxBytes);
    static constexpr std::size_t kv_cache_bytes = Cache::kBytes;

private:
    static constexpr std::size_t max3(std::size_t a, std::size_t b, std::size_t c) { return std::max(a, std::max(b, c)); }
    static constexpr std::size_t scratch_bytes_for(std::size_t tokens) {
        const unsigned t = kMaxThreads;
        const std::size_t attn = max3(decltype(LayerWeights::q)::scratch_bytes(tokens, t), decltype(LayerWeights::k)::scratch_bytes(tokens, t),
                                      std::max(decltype(LayerWeights::v)::scratch_bytes(tokens, t), decltype(LayerWeights::o)::scratch_bytes(tokens, t)));
        const std::size_t ffn = max3(decltype(LayerWeights::gate)::scratch_bytes(tokens, t), decltype(LayerWeights::up)::scratch_bytes(tokens, t),
                                     decltype(LayerWeights::down)::scratch_bytes(tokens, t));
        return max3(attn, ffn, Output::scratch_bytes(1, t));
    }
    static constexpr std::size_t kScratchBytes = std::max(scratch_bytes_for(kMaxBatch), scratch_bytes_for(1));
    // Activations of one chunk of up to kMaxBatch tokens (see the buffers below).
    static constexpr std::size_t kActivationFloats =
        3 * kMaxBatch * kDim + 2 * kMaxBatch * kQDim + 2 * kMaxBatch * kKvDim + 2 * kMaxBatch * kFfn + kVocab + kHeads * kContext;

public:
    // Activations, scratch and the RoPE table: everything allocated at load besides the KV cache.
    static constexpr std::size_t activation_bytes = kActivationFloats * sizeof(float) + kScratchBytes + Rope::kBytes;

    static_assert(model::memory_budget<C>() == 0 || weight_bytes + kv_cache_bytes + activation_bytes <= model::memory_budget<C>(),
                  "config: weights + KV cache + activations exceed the configuration's kMemoryBudget");

    using Options = model::LoadOptions;

    // Opens, maps and checks `path`; throws ulk::Error listing every difference from Config.
    static Llama load(const std::string& path, Options options = {}) {
        return Llama(gguf::GgufFile::open(path), options);
    }
    // Takes a parsed file (from memory, in tests).
    static Llama from_file(gguf::GgufFile file, Options options = {}) { return Llama(std::move(file), options); }

    // Every difference between the file and Config (empty: the file fits). What a driver that
    // holds several presets asks of each.
    static std::vector<model::Mismatch> mismatches(const gguf::GgufFile& f) {
        model::FileCheck check(f);
        Weights w;
        bind(f, check, w);
        return check.mismatches();
    }

    Llama(Llama&&) noexcept = default;
    Llama& operator=(Llama&&) noexcept = default;

    // Runs `tokens` from the current position on; returns the last token's logits (kVocab).
    std::span<const float> prefill(std::span<const Token> tokens) {
        if (tokens.empty()) throw Error({"prefill of no tokens", std::string(C::kName), "at least one token", "0", ""});
        check_input(tokens);
        for (std::size_t i = 0; i < tokens.size(); i += kMaxBatch) forward(tokens.data() + i, std::min(kMaxBatch, tokens.size() - i));
        return logits_of_row(last_rows_ - 1);
    }
    // Like prefill, but calls on_logits(i, logits) for every token i of the batch (for scoring
    // text: perplexity, golden-logit tests). Slower: one output GEMV per token.
    template <class Fn>
    void prefill_all(std::span<const Token> tokens, Fn&& on_logits) {
        check_input(tokens);
        for (std::size_t i = 0; i < tokens.size(); i += kMaxBatch) {
            const std::size_t n = std::min(kMaxBatch, tokens.size() - i);
            forward(tokens.data() + i, n);
            for (std::size_t r = 0; r < n; ++r) on_logits(i + r, logits_of_row(r));
        }
    }
    // One token at the current position: the GEMV path. Allocates nothing.
    std::span<const float> decode(Token token) {
        check_input({&token, 1});
        forward(&token, 1);
        return logits_of_row(0);
    }

    std::size_t position() const noexcept { return pos_; }
    // Forgets positions >= pos (their cache entries are overwritten later); 0 starts afresh.
    void rewind(std::size_t pos) {
        require(pos <= pos_, {"rewind past the current position", std::string(C::kName), "at most " + std::to_string(pos_), std::to_string(pos), ""});
        pos_ = pos;
    }
    void reset() noexcept { pos_ = 0; }

    const gguf::GgufFile& file() const noexcept { return *file_; }
    unsigned threads() const noexcept { return pool_ ? pool_->size() : 1; }
    // Weights this file's matrices stream per decoded token (exact, sparse ones at their real density).
    std::size_t loaded_bytes_per_token() const noexcept {
        std::size_t s = kLayers * 2 * kDim * sizeof(float) + kDim * sizeof(float);
        for (const auto& l : w_.layers)
            s += l.q.bytes() + l.k.bytes() + l.v.bytes() + l.o.bytes() + l.gate.bytes() + l.up.bytes() + l.down.bytes();
        return s + (C::kTiedOutput ? kEmbeddingBytes : w_.output.bytes());
    }

private:
    struct Weights {
        Embedding token_embd;                      // (kVocab, kDim)
        std::array<LayerWeights, kLayers> layers;  // views only: a few pointers per layer
        const float* output_norm = nullptr;        // (kDim)
        Output output;                             // (kVocab, kDim); unused when tied
    };

    Llama(gguf::GgufFile file, Options options)
        : file_(std::make_unique<gguf::GgufFile>(std::move(file))), rope_(C::kRopeBase),
          act_(kActivationFloats), scratch_(kScratchBytes), cache_(std::make_unique<Cache>()) {
        model::FileCheck check(*file_);
        bind(*file_, check, w_);
        if (!check.ok()) throw check.error(model::describe<C>());
        unsigned threads = options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
        require(threads <= kMaxThreads, {"too many threads for this configuration", std::string(C::kName),
                                         "at most " + std::to_string(kMaxThreads), std::to_string(threads),
                                         "use fewer threads, or raise kMaxThreads in the preset"});
        if (threads > 1) pool_ = std::make_unique<ThreadPool>(threads);
        // Carve the activation buffers out of one allocation.
        float* p = act_.data();
        auto take = [&p](std::size_t n) { float* q = p; p += n; return q; };
        x_ = take(kMaxBatch * kDim);
        xn_ = take(kMaxBatch * kDim);
        tmp_ = take(kMaxBatch * kDim);
        q_ = take(kMaxBatch * kQDim);
        att_ = take(kMaxBatch * kQDim);
        k_ = take(kMaxBatch * kKvDim);
        v_ = take(kMaxBatch * kKvDim);
        gate_ = take(kMaxBatch * kFfn);
        up_ = take(kMaxBatch * kFfn);
        logits_ = take(kVocab);
        scores_ = take(kHeads * kContext);
    }

    // Binds every tensor of `w` that matches Config, recording each difference in `check`.
    static void bind(const gguf::GgufFile& f, model::FileCheck& check, Weights& w) {
        namespace key = gguf::llama::key;
        check.string(key::architecture, gguf::llama::kArchitecture);
        check.count(key::embedding_length, kDim);
        check.count(key::block_count, kLayers);
        check.count(key::head_count, kHeads);
        check.count(key::head_count_kv, kKvHeads, f.find(key::head_count) ? f.get_as<std::uint64_t>(key::head_count) : 0);
        check.count(key::feed_forward_length, kFfn);
        check.count(key::rope_dimension_count, kHeadDim, kHeadDim);
        check.real(key::rms_epsilon, C::kNormEps, 0.0);
        check.real(key::rope_freq_base, C::kRopeBase, 10000.0);
        if (const gguf::Value* ctx = f.find(key::context_length)) {
            std::uint64_t n = 0;
            try { n = ctx->as<std::uint64_t>(key::context_length); } catch (const Error&) {}
            if (n < kContext) check.add(std::string(key::context_length), "at least " + std::to_string(kContext), std::to_string(n));
        }
        using E = typename C::EmbeddingFormat;
        if (check.tensor<E>(gguf::llama::kTokenEmbedding, kDim, kVocab)) w.token_embd = f.matrix<E>(gguf::llama::kTokenEmbedding);
        if (check.tensor<quant::F32>(gguf::llama::kOutputNorm, kDim, 0)) w.output_norm = vector(f, gguf::llama::kOutputNorm);
        if constexpr (C::kTiedOutput) {
            if (f.find_tensor(gguf::llama::kOutput))
                check.add(std::string(gguf::llama::kOutput), "absent (the configuration ties the output to token_embd)", "present");
        } else {
            w.output.load(check, f, std::string(gguf::llama::kOutput));
        }
        for (std::size_t i = 0; i < kLayers; ++i) {
            auto& l = w.layers[i];
            auto name = [i](std::string_view what) { return gguf::llama::block_tensor(int(i), what); };
            if (check.tensor<quant::F32>(name("attn_norm"), kDim, 0)) l.attn_norm = vector(f, name("attn_norm"));
            if (check.tensor<quant::F32>(name("ffn_norm"), kDim, 0)) l.ffn_norm = vector(f, name("ffn_norm"));
            l.q.load(check, f, name("attn_q"));
            l.k.load(check, f, name("attn_k"));
            l.v.load(check, f, name("attn_v"));
            l.o.load(check, f, name("attn_output"));
            l.gate.load(check, f, name("ffn_gate"));
            l.up.load(check, f, name("ffn_up"));
            l.down.load(check, f, name("ffn_down"));
        }
    }
    static const float* vector(const gguf::GgufFile& f, std::string_view name) { return f.matrix<quant::F32>(name).data; }

    // Before any state changes: every id in range, and room in the context for all of them.
    void check_input(std::span<const Token> tokens) const {
        for (std::size_t t = 0; t < tokens.size(); ++t)
            if (tokens[t] < 0 || std::size_t(tokens[t]) >= kVocab) [[unlikely]]
                throw Error({"token id out of range", std::string(C::kName) + ", token " + std::to_string(t) + " of " + std::to_string(tokens.size()),
                             "0 .. " + std::to_string(kVocab - 1), std::to_string(tokens[t]),
                             "the tokenizer does not belong to this model"});
        if (tokens.size() > kContext - pos_) [[unlikely]]
            throw Error({"the context is full", std::string(C::kName),
                         "at most " + std::to_string(kContext - pos_) + " more tokens (context " + std::to_string(kContext) + ", at position " +
                             std::to_string(pos_) + ")",
                         std::to_string(tokens.size()) + " tokens",
                         "drop old turns of the conversation, or rewind(); the model cannot attend past its context"});
    }

    std::span<std::byte> scratch() noexcept { return scratch_.span(); }

    // Decode runs the matrices that read the same input in one fork-join (ops::gemv_fused) when
    // they are dense and share a format.
    static constexpr bool kFuseQkv = T::kAttnSparsity.dense() && std::is_same_v<Fmt<LT::AttnQ>, Fmt<LT::AttnK>> &&
                                     std::is_same_v<Fmt<LT::AttnQ>, Fmt<LT::AttnV>>;
    static constexpr bool kFuseGateUp = T::kFfnSparsity.dense() && std::is_same_v<Fmt<LT::FfnGate>, Fmt<LT::FfnUp>>;
    template <class View, std::size_t N>
    void fused(const std::array<View, N>& w, const std::array<float*, N>& y) {
        using F = typename View::Format;
        ops::gemv_fused<F, N>(w, xn_, y, activation_scratch<F>(), pool_.get());
    }
    // The scratch bytes as format F's activation blocks (the typed GEMV entry points take these).
    template <class F>
    std::span<ops::ActivationBlock<F>> activation_scratch() noexcept {
        using A = ops::ActivationBlock<F>;
        return {reinterpret_cast<A*>(scratch_.data()), kScratchBytes / sizeof(A)};
    }

    // The forward pass over n <= kMaxBatch tokens at positions pos_ .. pos_+n-1. Leaves the final
    // hidden states in x_ (n rows) and advances pos_.
    void forward(const Token* tokens, std::size_t n) {
        ThreadPool* pool = pool_.get();
        // x: (n, kDim) residual stream, starting as the tokens' embeddings.
        for (std::size_t t = 0; t < n; ++t) C::EmbeddingFormat::dequantize_ref(w_.token_embd.row(std::size_t(tokens[t])), x_ + t * kDim, kDim);

        for (std::size_t layer = 0; layer < kLayers; ++layer) {
            const LayerWeights& l = w_.layers[layer];
            // Attention block: x += Wo · attention(rope(Wq · norm(x)), rope(Wk · norm(x)), Wv · norm(x))
            for (std::size_t t = 0; t < n; ++t) ops::rms_norm(x_ + t * kDim, l.attn_norm, xn_ + t * kDim, kDim, C::kNormEps);
            bool qkv_done = false;
            if constexpr (kFuseQkv)
                if (n == 1) fused(std::array{l.q.dense(), l.k.dense(), l.v.dense()}, std::array{q_, k_, v_}), qkv_done = true;
            if (!qkv_done) {
                l.q.forward(xn_, n, q_, scratch(), pool);  // q: (n, kHeads, kHeadDim)
                l.k.forward(xn_, n, k_, scratch(), pool);  // k: (n, kKvHeads, kHeadDim)
                l.v.forward(xn_, n, v_, scratch(), pool);  // v: (n, kKvHeads, kHeadDim)
            }
            for (std::size_t t = 0; t < n; ++t) {
                rope_.apply(q_ + t * kQDim, kHeads, pos_ + t);
                rope_.apply(k_ + t * kKvDim, kKvHeads, pos_ + t);
                cache_->store(layer, pos_ + t, k_ + t * kKvDim, v_ + t * kKvDim);
            }
            attention::attention<kHeads>(*cache_, layer, q_, n, pos_, att_, scores_, pool);  // att: (n, kHeads, kHeadDim)
            l.o.forward(att_, n, tmp_, scratch(), pool);
            ops::add_into(x_, tmp_, n * kDim);

            // FFN block: x += Wdown · (silu(Wgate · norm(x)) * (Wup · norm(x)))
            for (std::size_t t = 0; t < n; ++t) ops::rms_norm(x_ + t * kDim, l.ffn_norm, xn_ + t * kDim, kDim, C::kNormEps);
            bool gate_up_done = false;
            if constexpr (kFuseGateUp)
                if (n == 1) fused(std::array{l.gate.dense(), l.up.dense()}, std::array{gate_, up_}), gate_up_done = true;
            if (!gate_up_done) {
                l.gate.forward(xn_, n, gate_, scratch(), pool);  // gate, up: (n, kFfn)
                l.up.forward(xn_, n, up_, scratch(), pool);
            }
            ops::swiglu(gate_, up_, n * kFfn);
            l.down.forward(gate_, n, tmp_, scratch(), pool);
            ops::add_into(x_, tmp_, n * kDim);
        }
        pos_ += n;
        last_rows_ = n;
    }

    // Final norm and output projection of row r of the last chunk's hidden states.
    std::span<const float> logits_of_row(std::size_t r) {
        ops::rms_norm(x_ + r * kDim, w_.output_norm, xn_, kDim, C::kNormEps);
        if constexpr (C::kTiedOutput)
            ops::gemv<typename C::EmbeddingFormat>(w_.token_embd, xn_, logits_, activation_scratch<typename C::EmbeddingFormat>(),
                                                   pool_.get());
        else
            w_.output.forward(xn_, 1, logits_, scratch(), pool_.get());
        return {logits_, kVocab};
    }

    std::unique_ptr<gguf::GgufFile> file_;  // the mapping every weight view points into
    Weights w_;
    Rope rope_;
    AlignedBuffer<float> act_;          // kActivationFloats, carved into the buffers below
    AlignedBuffer<std::byte> scratch_;  // kScratchBytes: quantized activations for the GEMV/GEMM
    std::unique_ptr<Cache> cache_;
    std::unique_ptr<ThreadPool> pool_;  // null for one thread
    float* x_ = nullptr;     // (kMaxBatch, kDim) residual stream
    float* xn_ = nullptr;    // (kMaxBatch, kDim) normalized
    float* tmp_ = nullptr;   // (kMaxBatch, kDim) block output before the residual add
    float* q_ = nullptr;     // (kMaxBatch, kHeads, kHeadDim)
    float* att_ = nullptr;   // (kMaxBatch, kHeads, kHeadDim) attention output
    float* k_ = nullptr;     // (kMaxBatch, kKvHeads, kHeadDim)
    float* v_ = nullptr;     // (kMaxBatch, kKvHeads, kHeadDim)
    float* gate_ = nullptr;  // (kMaxBatch, kFfn)
    float* up_ = nullptr;    // (kMaxBatch, kFfn)
    float* logits_ = nullptr;  // (kVocab)
    float* scores_ = nullptr;  // (kHeads, kContext) attention scores
    std::size_t pos_ = 0;        // next position
    std::size_t last_rows_ = 0;  // tokens in the last chunk
};

}  // namespace ulk
