#pragma once
// The shipped Korean chat models' shapes (models/, the training issue). Vocabulary: the project's
// 32k SentencePiece model (models/ulk-ko-32k.model); output tied to the embedding, which saves
// 8-20M parameters at this size.
//   ko-chat-tiny   ~14.5M parameters: the demo's default, in Q8_0 and in Q2P
//   ko-chat-small  ~74M parameters, in Q4_0
#include <cstddef>
#include <string_view>

#include "ulk/model/config.hpp"
#include "ulk/presets/recipes.hpp"

namespace ulk::presets {

struct KoChatTinyShape {
    static constexpr std::string_view kName = "ko-chat-tiny";
    static constexpr std::size_t kVocab = 32000, kDim = 256, kLayers = 8, kHeads = 4, kKvHeads = 2, kFfn = 768,
                                 kContext = 1024;
    static constexpr double kRopeBase = 10000;
    static constexpr float kNormEps = 1e-5f;
    static constexpr bool kTiedOutput = true;
    static constexpr std::size_t kMemoryBudget = std::size_t(3) << 30;
};

struct KoChatSmallShape {
    static constexpr std::string_view kName = "ko-chat-small";
    static constexpr std::size_t kVocab = 32000, kDim = 640, kLayers = 12, kHeads = 10, kKvHeads = 2, kFfn = 1792,
                                 kContext = 2048;
    static constexpr double kRopeBase = 10000;
    static constexpr float kNormEps = 1e-5f;
    static constexpr bool kTiedOutput = true;
    static constexpr std::size_t kMemoryBudget = std::size_t(3) << 30;
};

template <class Shape, class Recipe, class KvElement = quant::F16>
struct Preset : Shape, Tied<Recipe> {
    using KvCacheElement = KvElement;
};

using KoChatTinyQ8 = Preset<KoChatTinyShape, AllOf<quant::Q8_0>>;
using KoChatTinyQ2P = Preset<KoChatTinyShape, Q2PMix>;
using KoChatTinyF32 = Preset<KoChatTinyShape, AllOf<quant::F32>>;
using KoChatSmallQ4 = Preset<KoChatSmallShape, AllOf<quant::Q4_0>>;

}  // namespace ulk::presets
