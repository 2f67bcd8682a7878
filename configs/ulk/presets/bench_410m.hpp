#pragma once
// A ~419M shape for the seeds' 2-bit claim: a model of this size in Q2P (about 130 MB) decodes
// on two cores within a 3 GB machine. d 1024, 26 layers, 16 / 4 heads, FFN 3584, vocab 32000.
#include <cstddef>
#include <string_view>

#include "ulk/model/config.hpp"
#include "ulk/presets/recipes.hpp"

namespace ulk::presets {

struct Bench410MShape {
    static constexpr std::string_view kName = "bench-410m";
    static constexpr std::size_t kVocab = 32000, kDim = 1024, kLayers = 26, kHeads = 16, kKvHeads = 4, kFfn = 3584,
                                 kContext = 2048;
    static constexpr double kRopeBase = 10000;
    static constexpr float kNormEps = 1e-5f;
    static constexpr bool kTiedOutput = false;
    static constexpr std::size_t kMemoryBudget = std::size_t(3) << 30;
};

template <class Recipe, class KvElement = quant::F16>
struct Bench410M : Bench410MShape, Recipe {
    using KvCacheElement = KvElement;
};

}  // namespace ulk::presets
