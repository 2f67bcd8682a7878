#pragma once
// The training smoke test's model (tests/train/smoke_test.sh): the 16k vocabulary, d 64, 2 layers;
// small enough that tools/train/ trains, exports and the C++ engine loads it within seconds.
// tools/train/train.py reads the k* constants of TrainSmokeShape with a regex, as it reads
// configs/ulk/presets/ko_chat.hpp: one source of truth for both sides.
#include <cstddef>
#include <string_view>

#include "ulk/presets/ko_chat.hpp"

namespace ulk::presets {

struct TrainSmokeShape {
    static constexpr std::string_view kName = "train-smoke";
    static constexpr std::size_t kVocab = 16000, kDim = 64, kLayers = 2, kHeads = 4, kKvHeads = 2, kFfn = 192,
                                 kContext = 128;
    static constexpr double kRopeBase = 10000;
    static constexpr float kNormEps = 1e-5f;
    static constexpr bool kTiedOutput = true;
    static constexpr std::size_t kMemoryBudget = std::size_t(1) << 30;
};

using TrainSmokeF32 = Preset<TrainSmokeShape, AllOf<quant::F32>>;
using TrainSmokeQ8 = Preset<TrainSmokeShape, AllOf<quant::Q8_0>>;

}  // namespace ulk::presets
