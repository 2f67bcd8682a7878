// Must not compile: the 246M shape in F32 (about 1 GB of weights) under a 512 MiB budget.
#include "ulk/model/llama.hpp"
#include "ulk/presets/bench_246m.hpp"

struct OverBudget : ulk::presets::Bench246M<ulk::presets::AllOf<ulk::quant::F32>> {
    static constexpr std::size_t kMemoryBudget = std::size_t(512) << 20;
};

int main() { return ulk::Llama<OverBudget>::weight_bytes > 0 ? 0 : 1; }
