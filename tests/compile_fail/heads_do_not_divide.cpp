// Must not compile: 12 heads do not divide a model dimension of 1000.
#include "ulk/model/llama.hpp"
#include "ulk/presets/bench_246m.hpp"

struct BadHeads : ulk::presets::Bench246M<ulk::presets::AllOf<ulk::quant::F32>> {
    static constexpr std::size_t kDim = 1000, kHeads = 12, kKvHeads = 4;
};

int main() { return ulk::Llama<BadHeads>::kHeadDim > 0 ? 0 : 1; }
