#pragma once
// The preset lists the project's programs are built with. Each preset compiles its own forward
// pass, so each list stays short; a program picks the first preset its model file matches.
#include "ulk/model/preset_select.hpp"
#include "ulk/presets/bench_246m.hpp"
#include "ulk/presets/bench_410m.hpp"
#include "ulk/presets/ko_chat.hpp"

namespace ulk::presets {

// ulk-chat: the shipped models.
using ChatPresets = model::PresetList<KoChatTinyQ8, KoChatTinyQ2P, KoChatSmallQ4, KoChatTinyF32>;

// ulk-bench: the shipped models and the benchmark shapes in the formats docs/benchmarks.md compares.
using BenchPresets = model::PresetList<
    KoChatTinyQ8, KoChatTinyQ2P, KoChatSmallQ4,
    Bench246M<AllOf<quant::Q8_0>>, Bench246M<AllOf<quant::Q4_0>>, Bench246M<Q4_0Mix>, Bench246M<AllOf<quant::Q2_K>>,
    Bench246M<Q2PMix>, Bench246M<AllOf<quant::Q4_K>>, Bench246M<AllOf<quant::F32>>,
    Bench246M<AllOf<quant::Q4_0>, quant::F16, model::Sparsity{16, 64, 0.5}>,
    Bench246M<Q4_0Mix, quant::F16, model::Sparsity{16, 64, 0.5}>,
    Bench410M<Q2PMix>>;

}  // namespace ulk::presets
