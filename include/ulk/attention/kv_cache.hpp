#pragma once
// KVCache<Dims, Elem>: the keys and values of every past position, for every layer and KV head,
// sized at compile time and allocated once; decode never allocates.
//
// Elem is a block format: F32, F16 (half the bytes, exact enough for attention) or Q8_0 (a
// quarter of F32, 32-value blocks with one f16 scale). A position's row is the head vector of
// HeadDim values, so HeadDim must be a whole number of Elem blocks.
//
// Layout, keys and values alike: (layer, kv_head, position, HeadDim / Elem::kBlockWeights) blocks,
// so that attention over one head streams its positions contiguously.
#include <cstddef>
#include <string>
#include <type_traits>

#include "ulk/base/aligned_buffer.hpp"
#include "ulk/base/error.hpp"
#include "ulk/base/fp16.hpp"
#include "ulk/quant/f16.hpp"
#include "ulk/quant/format.hpp"

namespace ulk::attention {

template <std::size_t Layers, std::size_t KvHeads, std::size_t HeadDim, std::size_t Context>
struct KVDims {
    static constexpr std::size_t kLayers = Layers, kKvHeads = KvHeads, kHeadDim = HeadDim, kContext = Context;
};

template <class Dims, quant::BlockFormat Elem>
class KVCache {
    static_assert(Dims::kHeadDim % Elem::kBlockWeights == 0,
                  "KVCache: the head dimension must be a whole number of the cache element's blocks "
                  "(Q8_0 needs head_dim % 32 == 0; use F16 otherwise)");

public:
    using Element = Elem;
    using Block = typename Elem::Block;
    static constexpr std::size_t kLayers = Dims::kLayers, kKvHeads = Dims::kKvHeads, kHeadDim = Dims::kHeadDim,
                                 kContext = Dims::kContext;
    static constexpr std::size_t kRowBlocks = kHeadDim / Elem::kBlockWeights;
    static constexpr std::size_t kBlocks = kLayers * kKvHeads * kContext * kRowBlocks;  // keys; values the same
    static constexpr std::size_t kBytes = 2 * kBlocks * sizeof(Block);

    KVCache() : keys_(kBlocks), values_(kBlocks) {}

    // Stores one position's keys and values. k, v: (kKvHeads, kHeadDim) floats.
    void store(std::size_t layer, std::size_t pos, const float* k, const float* v) {
        if (pos >= kContext) [[unlikely]]
            throw Error({"position past the context length", "KV cache, layer " + std::to_string(layer),
                         "a position below " + std::to_string(kContext), std::to_string(pos),
                         "the conversation must drop old turns (or the model needs a longer context)"});
        for (std::size_t h = 0; h < kKvHeads; ++h) {
            round(k + h * kHeadDim, key_row(layer, h, pos));
            round(v + h * kHeadDim, value_row(layer, h, pos));
        }
    }

    // (kContext, kRowBlocks) blocks: head kv_head's rows of layer `layer`.
    const Block* keys(std::size_t layer, std::size_t kv_head) const noexcept { return keys_.data() + offset(layer, kv_head, 0); }
    const Block* values(std::size_t layer, std::size_t kv_head) const noexcept { return values_.data() + offset(layer, kv_head, 0); }

private:
    // One head vector into Elem. F16 uses the hardware conversion (F16C; bit-exact with the
    // reference except for NaN payloads), the others their reference quantizer.
    static void round(const float* x, Block* out) noexcept {
        if constexpr (std::is_same_v<Elem, quant::F16>)
            for (std::size_t i = 0; i < kHeadDim; ++i) out[i] = f32_to_f16(x[i]);
        else
            Elem::quantize_ref(x, out, kHeadDim);
    }
    static constexpr std::size_t offset(std::size_t layer, std::size_t kv_head, std::size_t pos) noexcept {
        return ((layer * kKvHeads + kv_head) * kContext + pos) * kRowBlocks;
    }
    Block* key_row(std::size_t l, std::size_t h, std::size_t p) noexcept { return keys_.data() + offset(l, h, p); }
    Block* value_row(std::size_t l, std::size_t h, std::size_t p) noexcept { return values_.data() + offset(l, h, p); }

    AlignedBuffer<Block> keys_;    // (kLayers, kKvHeads, kContext, kRowBlocks)
    AlignedBuffer<Block> values_;  // (kLayers, kKvHeads, kContext, kRowBlocks)
};

}  // namespace ulk::attention
