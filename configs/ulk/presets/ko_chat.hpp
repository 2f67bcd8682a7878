#pragma once
// The shipped Korean chat models' shapes (models/, the training issue; docs/models.md). Output tied to
// the embedding, which saves 4-20M parameters at this size. tools/train/ reads these constants
// (kVocab ... kTiedOutput) with a regex: keep one constant per name, in this form.
//   ko-chat-tiny   ~10.4M parameters, 16k vocabulary (models/ulk-ko-16k.model: at 32k the
//                  embedding alone would be 8.2M of 14.5M): the demo's default, in Q8_0 and in Q2P
//   ko-chat-small  ~63M parameters, the same 16k vocabulary (the teacher that ko-chat-tiny is distilled
//                  from needs the student's vocabulary), in Q4_0
#include <cstddef>
#include <string_view>

#include "ulk/model/config.hpp"
#include "ulk/presets/recipes.hpp"

namespace ulk::presets {

struct KoChatTinyShape {
    static constexpr std::string_view kName = "ko-chat-tiny";
    static constexpr std::size_t kVocab = 16000, kDim = 256, kLayers = 8, kHeads = 4, kKvHeads = 2, kFfn = 768,
                                 kContext = 1024;
    static constexpr double kRopeBase = 10000;
    static constexpr float kNormEps = 1e-5f;
    static constexpr bool kTiedOutput = true;
    static constexpr std::size_t kMemoryBudget = std::size_t(3) << 30;
};

struct KoChatSmallShape {
    static constexpr std::string_view kName = "ko-chat-small";
    static constexpr std::size_t kVocab = 16000, kDim = 640, kLayers = 12, kHeads = 10, kKvHeads = 2, kFfn = 1792,
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
