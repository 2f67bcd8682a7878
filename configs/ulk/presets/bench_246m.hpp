#pragma once
// The 246M benchmark shape: llama.cpp's baseline in the design notes (d 1024, 16 layers, 16 heads
// / 4 KV heads, FFN 2816, vocab 32000). Random weights are fine for speed.
//   Bench246M<AllOf<quant::Q4_0>>                        every matrix Q4_0 (llama.cpp "pure")
//   Bench246M<Q2PMix>                                    ulk-quantize --preset Q2P
//   Bench246M<AllOf<quant::Q4_0>, quant::F16, {16, 64, 0.5}>  50% block-sparse attention + FFN
#include <cstddef>
#include <string_view>

#include "ulk/model/config.hpp"
#include "ulk/presets/recipes.hpp"

namespace ulk::presets {

struct Bench246MShape {
    static constexpr std::string_view kName = "bench-246m";
    static constexpr std::size_t kVocab = 32000, kDim = 1024, kLayers = 16, kHeads = 16, kKvHeads = 4, kFfn = 2816,
                                 kContext = 2048;
    static constexpr double kRopeBase = 10000;
    static constexpr float kNormEps = 1e-5f;
    static constexpr bool kTiedOutput = false;
    static constexpr std::size_t kMemoryBudget = std::size_t(3) << 30;  // the seeds' 3 GB machine
};

template <class Recipe, class KvElement = quant::F16, model::Sparsity S = model::kDense>
struct Bench246M : Bench246MShape, Recipe {
    using KvCacheElement = KvElement;
    static constexpr model::Sparsity kAttentionSparsity = S, kFfnSparsity = S;
};

}  // namespace ulk::presets
